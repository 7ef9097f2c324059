"""Read models other contexts plan from: stock positions per level and recent demand (shipments)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory.tables import LocationRow, StockLevelRow, StockMovementRow
from ordersmith.platform.db import UnitOfWork, use_case


@dataclass(frozen=True)
class LevelPosition:
    on_hand: int
    reserved: int
    safety_stock: int


@use_case(readonly=True)
def stock_positions(
    uow: UnitOfWork, *, pairs: list[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], LevelPosition]:
    """On hand, reserved and safety stock for each (item id, location id); a level never stocked is absent."""
    if not pairs:
        return {}
    items = sorted({item for item, _ in pairs})
    rows = uow.session.execute(
        sa.select(StockLevelRow.item_id, StockLevelRow.location_id, StockLevelRow.on_hand, StockLevelRow.reserved,
                  StockLevelRow.safety_stock).where(StockLevelRow.item_id.in_(items))
    ).all()  # fmt: skip
    wanted = set(pairs)
    return {(r.item_id, r.location_id): LevelPosition(r.on_hand, r.reserved, r.safety_stock)
            for r in rows if (r.item_id, r.location_id) in wanted}  # fmt: skip


@use_case(readonly=True)
def shipped_since(
    uow: UnitOfWork, *, since: datetime, item_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """Units shipped (consumed reservations) per (item id, location id) since `since`, from the ledger."""
    if not item_ids:
        return {}
    rows = uow.session.execute(
        sa.select(StockMovementRow.item_id, StockMovementRow.location_id,
                  sa.func.sum(-StockMovementRow.on_hand_delta))
        .where(StockMovementRow.reason == "shipment", StockMovementRow.at >= since,
               StockMovementRow.item_id.in_(sorted(set(item_ids))))
        .group_by(StockMovementRow.item_id, StockMovementRow.location_id)
    ).all()  # fmt: skip
    return {(item, location): int(units) for item, location, units in rows}


def _running_low(threshold: int) -> sa.ColumnElement[bool]:
    free = StockLevelRow.on_hand - StockLevelRow.reserved
    return sa.or_(sa.and_(StockLevelRow.safety_stock > 0, free <= StockLevelRow.safety_stock),
                  sa.and_(StockLevelRow.safety_stock == 0, free < threshold))  # fmt: skip


@use_case(readonly=True)
def low_stock_count(uow: UnitOfWork, *, threshold: int = 5) -> int:
    """Stock levels whose free units (on hand - reserved) are at or below their safety stock, or below
    `threshold` where no safety stock is set — what a manager's barometer counts as running low."""
    return int(uow.session.scalar(sa.select(sa.func.count()).where(_running_low(threshold))) or 0)


@dataclass(frozen=True)
class LowLevel:
    sku: str
    location: str
    on_hand: int
    reserved: int
    safety_stock: int

    @property
    def free(self) -> int:
        return self.on_hand - self.reserved


@use_case(readonly=True)
def low_stock_levels(uow: UnitOfWork, *, threshold: int = 5, limit: int = 100) -> list[LowLevel]:
    """The levels `low_stock_count` counts, fewest free units first (then by SKU and location), at most `limit`:
    the list behind the barometer. One read of the levels (as many as the catalog has, never history) and one of
    their SKUs."""
    from ordersmith.inventory.tables import LocationRow

    free = StockLevelRow.on_hand - StockLevelRow.reserved
    rows = uow.session.execute(
        sa.select(StockLevelRow, LocationRow.code).join(LocationRow, LocationRow.id == StockLevelRow.location_id)
        .where(_running_low(threshold)).order_by(free, StockLevelRow.item_id, LocationRow.code).limit(limit)
    ).all()  # fmt: skip
    skus = catalog.item_refs(uow, ids=sorted({level.item_id for level, _ in rows}))
    found = [LowLevel(skus[level.item_id].sku, code, level.on_hand, level.reserved, level.safety_stock)
             for level, code in rows]  # fmt: skip
    return sorted(found, key=lambda low: (low.free, low.sku, low.location))


@dataclass(frozen=True)
class Movement:
    location: str
    on_hand_delta: int
    reserved_delta: int
    reason: str
    reference: str
    actor: str
    at: datetime


@use_case(readonly=True)
def recent_movements(uow: UnitOfWork, *, item_id: uuid.UUID, limit: int = 50) -> list[Movement]:
    """An item's newest ledger rows, with the location's code."""
    from ordersmith.inventory.tables import LocationRow

    rows = uow.session.execute(
        sa.select(StockMovementRow, LocationRow.code).join(LocationRow, LocationRow.id == StockMovementRow.location_id)
        .where(StockMovementRow.item_id == item_id).order_by(StockMovementRow.at.desc()).limit(limit)
    ).all()  # fmt: skip
    return [
        Movement(code, m.on_hand_delta, m.reserved_delta, m.reason, m.reference, m.actor, m.at)
        for m, code in rows
    ]


@use_case(readonly=True)
def on_hand_by_location(uow: UnitOfWork, *, item_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Units on hand of each item per location code (levels never stocked, or at zero, are absent), in one query:
    what finance values per location (ADR 0041)."""
    if not item_ids:
        return {}
    rows = uow.session.execute(
        sa.select(StockLevelRow.item_id, LocationRow.code, StockLevelRow.on_hand)
        .join(LocationRow, LocationRow.id == StockLevelRow.location_id)
        .where(StockLevelRow.item_id.in_(sorted(set(item_ids))), StockLevelRow.on_hand > 0)
    ).all()
    found: dict[uuid.UUID, dict[str, int]] = {}
    for item_id, code, units in rows:
        found.setdefault(item_id, {})[code] = int(units)
    return found
