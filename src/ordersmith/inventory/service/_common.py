"""Shared pieces of the inventory use cases: result types, the ledger helpers and `stock.changed`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.catalog import service as catalog
from ordersmith.inventory import rules
from ordersmith.inventory.tables import (
    LocationRow,
    StockLevelRow,
    StockMovementRow,
    StockPoolRow,
)
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import UnitOfWork

_LEVELS = StockLevelRow.__table__

_MOVEMENTS = StockMovementRow.__table__


@dataclass(frozen=True)
class Location:
    id: uuid.UUID
    code: str
    name: str
    kind: str
    division: str | None
    priority: int
    active: bool


@dataclass(frozen=True)
class PoolStock:
    division: str
    ring_fence: int
    buffer: int
    reserved: int  # by that division at this location


@dataclass(frozen=True)
class LocationStock:
    location: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    pools: list[PoolStock]


@dataclass(frozen=True)
class Availability:
    sku: str
    division: str | None
    on_hand: int
    reserved: int
    available: int
    locations: list[LocationStock]


@dataclass(frozen=True)
class ReservationLine:
    location: str
    quantity: int
    sku: str  # the item held: the reserved item itself, or one of a kit's components


@dataclass(frozen=True)
class Reservation:
    key: str
    sku: str
    quantity: int
    division: str | None
    status: str
    expires_at: datetime | None
    created_at: datetime
    lines: list[ReservationLine]


@dataclass(frozen=True)
class Discrepancy:
    sku: str
    location: str
    field: str
    recorded: int
    expected: int


@dataclass(frozen=True)
class CountLine:
    sku: str
    counted: int
    on_hand_before: int
    variance: int


def _location(row: LocationRow) -> Location:
    return Location(id=row.id, code=row.code, name=row.name, kind=row.kind, division=row.division,
                    priority=row.priority, active=row.active)  # fmt: skip


def _location_by_code(uow: UnitOfWork, code: str) -> LocationRow:
    row = uow.session.scalar(sa.select(LocationRow).where(LocationRow.code == code))
    if row is None:
        raise NotFound(f"no location {code!r}")
    return row


def _ensure_level(uow: UnitOfWork, item_id: uuid.UUID, location_id: uuid.UUID) -> None:
    insert = postgresql_insert if uow.dialect == "postgresql" else sqlite_insert
    uow.execute_core(
        insert(_LEVELS)  # type: ignore[arg-type]
        .values(
            item_id=item_id,
            location_id=location_id,
            on_hand=0,
            reserved=0,
            safety_stock=0,
            updated_at=uow.now(),
        )
        .on_conflict_do_nothing(index_elements=["item_id", "location_id"])
    )


def _move(
    uow: UnitOfWork, *, item_id: uuid.UUID, location_id: uuid.UUID, on_hand: int, reserved: int, reason: str,
    reference: str,
) -> None:  # fmt: skip
    uow.execute_core(
        sa.insert(_MOVEMENTS),  # type: ignore[arg-type]
        {"id": new_id(), "item_id": item_id, "location_id": location_id, "on_hand_delta": on_hand,
         "reserved_delta": reserved, "reason": reason, "reference": reference, "at": uow.now(),
         "actor": uow.actor.label},
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class LocRef:
    """The few facts about a location that planning a reservation needs."""

    id: uuid.UUID
    code: str
    division: str | None
    priority: int


_LOCATIONS = LocationRow.__table__
# Built once: the hot path only binds the item id.
_LEVELS_OF_ITEM = (
    sa.select(_LOCATIONS.c.id, _LOCATIONS.c.code, _LOCATIONS.c.division, _LOCATIONS.c.priority, _LEVELS.c.on_hand,
              _LEVELS.c.reserved, _LEVELS.c.safety_stock, _LEVELS.c.pooled)
    .join(_LEVELS, _LEVELS.c.location_id == _LOCATIONS.c.id)
    .where(_LEVELS.c.item_id == sa.bindparam("item_id"), _LOCATIONS.c.active.is_(True))
)  # fmt: skip


def _levels(
    uow: UnitOfWork, item_id: uuid.UUID, division: str | None
) -> list[tuple[LocRef, rules.LevelView]]:
    """The item's levels at active locations serving `division` (all of them for `None`), with their pools."""
    rows = uow.execute_core(_LEVELS_OF_ITEM, {"item_id": item_id}).all()
    pooled = [r.id for r in rows if r.pooled]
    pools = _pools(uow, item_id, pooled) if pooled else {}
    return [
        (LocRef(r.id, r.code, r.division, r.priority),
         rules.LevelView(r.code, r.priority, r.on_hand, r.reserved, r.safety_stock, pools.get(r.id, ())))
        for r in rows
        if rules.serves(r.division, division)
    ]  # fmt: skip


_LEVELS_OF_MANY = (
    sa.select(_LEVELS.c.item_id, _LOCATIONS.c.id, _LOCATIONS.c.code, _LOCATIONS.c.division, _LOCATIONS.c.priority,
              _LEVELS.c.on_hand, _LEVELS.c.reserved, _LEVELS.c.safety_stock, _LEVELS.c.pooled)
    .join(_LEVELS, _LEVELS.c.location_id == _LOCATIONS.c.id)
    .where(_LEVELS.c.item_id.in_(sa.bindparam("items", expanding=True)), _LOCATIONS.c.active.is_(True))
)  # fmt: skip


def _levels_of_many(
    uow: UnitOfWork, item_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[LocRef, rules.LevelView]]]:
    """`_levels(…, None)` of several items in one read (and one more for their pools when any level is pooled)."""
    rows = uow.execute_core(_LEVELS_OF_MANY, {"items": item_ids}).all()
    pooled = sorted({(r.item_id, r.id) for r in rows if r.pooled})
    pools: dict[tuple[uuid.UUID, uuid.UUID], list[rules.Pool]] = {}
    if pooled:
        found = uow.execute_core(_POOLS_OF_ITEMS, {"items": sorted({i for i, _ in pooled})}).all()
        for item_id, location_id, division, fence, buffer, reserved in sorted(
            found, key=lambda r: r.division
        ):
            pools.setdefault((item_id, location_id), []).append(rules.Pool(division, fence, buffer, reserved))
    levels: dict[uuid.UUID, list[tuple[LocRef, rules.LevelView]]] = {item_id: [] for item_id in item_ids}
    for r in rows:
        view = rules.LevelView(r.code, r.priority, r.on_hand, r.reserved, r.safety_stock,
                               tuple(pools.get((r.item_id, r.id), ())) if r.pooled else ())  # fmt: skip
        levels[r.item_id].append((LocRef(r.id, r.code, r.division, r.priority), view))
    return levels


_POOLS = StockPoolRow.__table__
_POOLS_OF_ITEMS = sa.select(
    _POOLS.c.item_id,
    _POOLS.c.location_id,
    _POOLS.c.division,
    _POOLS.c.ring_fence,
    _POOLS.c.buffer,
    _POOLS.c.reserved,
).where(_POOLS.c.item_id.in_(sa.bindparam("items", expanding=True)))
# Built once: the pools of an item's pooled levels, each with the units its division holds reserved there (a
# counter kept by the statements that reserve and release, so this reads one row per division, never the
# reservations themselves: ADR 0016).
_POOLS_OF_LEVELS = sa.select(
    _POOLS.c.location_id, _POOLS.c.division, _POOLS.c.ring_fence, _POOLS.c.buffer, _POOLS.c.reserved
).where(
    _POOLS.c.item_id == sa.bindparam("item_id"),
    _POOLS.c.location_id.in_(sa.bindparam("locations", expanding=True)),
)
# Keep a division's counter at one level: run after the level's own UPDATE in the same transaction, so the
# level's row lock (PostgreSQL) or the writer lock (SQLite) is held and the pools cannot be replaced in between.
# A level without a pool for that division matches no row.
_POOL_HOLD = (
    sa.update(_POOLS)  # type: ignore[arg-type]
    .where(
        _POOLS.c.item_id == sa.bindparam("b_item"),
        _POOLS.c.location_id == sa.bindparam("b_location"),
        _POOLS.c.division == sa.bindparam("b_division"),
    )
    .values(reserved=_POOLS.c.reserved + sa.bindparam("b_units"))
    .execution_options(independent_of_pending=True)
)


def _pools(
    uow: UnitOfWork, item_id: uuid.UUID, location_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[rules.Pool, ...]]:
    """Each pooled level's division pools, with the units each division holds reserved there right now."""
    rows = uow.execute_core(_POOLS_OF_LEVELS, {"item_id": item_id, "locations": location_ids}).all()
    found: dict[uuid.UUID, list[rules.Pool]] = {}
    for location_id, division, fence, buffer, reserved in sorted(rows, key=lambda r: r.division):
        found.setdefault(location_id, []).append(rules.Pool(division, fence, buffer, reserved))
    return {location_id: tuple(pools) for location_id, pools in found.items()}


def _hold_in_pools(uow: UnitOfWork, changes: list[tuple[uuid.UUID, uuid.UUID, str | None, int]]) -> None:
    """Add (reserve) or subtract (release, consume) units on the pool counters of (item, location, division);
    changes without a division touch no pool. Call after the levels' UPDATEs (see `_POOL_HOLD`)."""
    params = [
        {"b_item": item_id, "b_location": location_id, "b_division": division, "b_units": units}
        for item_id, location_id, division, units in changes
        if division is not None and units
    ]
    if params:
        uow.execute_core(_POOL_HOLD, params)


def _availability(uow: UnitOfWork, sku: str, item_id: uuid.UUID, division: str | None) -> Availability:
    views = [v for _, v in _levels(uow, item_id, division)]
    views.sort(key=lambda v: (v.priority, v.location_code))
    return Availability(
        sku=sku, division=division, on_hand=sum(v.on_hand for v in views), reserved=sum(v.reserved for v in views),
        available=sum(v.available_to(division) for v in views),
        locations=[LocationStock(v.location_code, v.on_hand, v.reserved, v.safety_stock, v.available_to(division),
                                 [PoolStock(p.division, p.ring_fence, p.buffer, p.reserved) for p in v.pools])
                   for v in views],
    )  # fmt: skip


def _stock_changed(
    uow: UnitOfWork,
    item: catalog.ItemRef,
    levels: list[tuple[LocRef, rules.LevelView]] | None = None,
    divisions: list[str] | None = None,
    cause: str = "adjustment",
    on_hand_delta: int | None = None,
    location: str | None = None,
    transfer: dict[str, object] | None = None,
) -> None:
    """Emit `stock.changed` with the available units per division (from `levels` when the caller has them) and
    its `cause` (reserved, consumed, released, receipt, adjustment, transfer, count, …): a consumer waiting for
    stock to appear can skip the causes that never add any (reserved, consumed). An adjustment or a count also
    says by how many units on-hand moved and where (`on_hand_delta`, `location`): the ledger values a loss or a
    gain from it (ADR 0030). A transfer says from where to where and how many (`transfer`): finance moves the
    units' cost between the locations of an item costed per location (ADR 0041)."""
    if levels is None:
        levels = _levels(uow, item.id, None)  # one read; each division's figure is summed from it
    if divisions is None:
        divisions = catalog.division_codes(uow)
    by_division = {
        code: sum(view.available_to(code) for loc, view in levels if rules.serves(loc.division, code))
        for code in divisions
    }
    payload: dict[str, object] = {
        "sku": item.sku,
        "item_id": str(item.id),
        "available": by_division,
        "cause": cause,
    }
    if on_hand_delta is not None:
        payload["on_hand_delta"], payload["location"] = on_hand_delta, location
    if transfer is not None:
        payload["transfer"] = transfer
    uow.emit("stock.changed", payload)


def _stocked_item(uow: UnitOfWork, sku: str) -> catalog.ItemRef:
    item = catalog.get_item_ref(uow, sku=sku)
    if not item.keeps_stock:
        raise ValidationFailed.on("sku", f"{item.sku} is a {item.kind} item and keeps no stock of its own")
    return item
