"""Stock on hand: adjustments, transfers, cycle counts, availability and the ledger verifier."""

from __future__ import annotations

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import rules
from ordersmith.inventory.service._common import (
    _LEVELS,
    Availability,
    CountLine,
    Discrepancy,
    _availability,
    _ensure_level,
    _levels,
    _location_by_code,
    _move,
    _stock_changed,
    _stocked_item,
)
from ordersmith.inventory.tables import (
    LocationRow,
    ReservationLineRow,
    ReservationRow,
    StockLevelRow,
    StockMovementRow,
    StockPoolRow,
)
from ordersmith.kernel.errors import InsufficientStock, NegativeStock, ValidationFailed
from ordersmith.platform.db import UnitOfWork, use_case


@use_case
def adjust_stock(
    uow: UnitOfWork,
    *,
    sku: str,
    location: str,
    quantity: int,
    reason: str = "adjustment",
    reference: str = "",
) -> Availability:
    """Add (positive) or remove (negative) units at a location, with a movement row and a reason code.

    Raises:
        NotFound: unknown SKU or location.
        ValidationFailed: a zero quantity or an unknown reason.
        NegativeStock: the change would take on-hand below zero or below what is reserved (409).
    """
    if quantity == 0:
        raise ValidationFailed.on("quantity", "must not be zero")
    known = rules.adjustment_reason(reason)
    if known is None:
        raise ValidationFailed.on("reason", f"must be one of {', '.join(rules.ADJUSTMENT_REASONS)}")
    reason = known
    item = _stocked_item(uow, sku)
    loc = _location_by_code(uow, location)
    _ensure_level(uow, item.id, loc.id)
    changed = uow.execute_core(
        sa.update(_LEVELS)  # type: ignore[arg-type]
        .where(_LEVELS.c.item_id == item.id, _LEVELS.c.location_id == loc.id)
        .where(_LEVELS.c.on_hand + quantity >= _LEVELS.c.reserved)
        .values(on_hand=_LEVELS.c.on_hand + quantity, updated_at=uow.now())
        .returning(_LEVELS.c.on_hand)
    ).first()
    if changed is None:
        raise NegativeStock(f"{item.sku} at {location}: removing {-quantity} would leave less than is on hand "
                            "and reserved")  # fmt: skip
    _move(
        uow,
        item_id=item.id,
        location_id=loc.id,
        on_hand=quantity,
        reserved=0,
        reason=reason,
        reference=reference,
    )
    uow.audit(
        "stock.adjusted",
        object_type="item",
        object_id=str(item.id),
        after={"location": location, "quantity": quantity, "reason": reason, "on_hand": changed[0]},
    )
    _stock_changed(uow, item, cause=reason, on_hand_delta=quantity, location=loc.code)
    return _availability(uow, item.sku, item.id, None)


@use_case
def transfer_stock(
    uow: UnitOfWork, *, sku: str, from_location: str, to_location: str, quantity: int, reference: str = ""
) -> Availability:
    """Move free units between locations: one conditional UPDATE out, one UPDATE in, two movements.

    Raises:
        ValidationFailed: a quantity that is not positive, or the same location twice.
        NotFound: unknown SKU or location.
        InsufficientStock: fewer free (unreserved, above safety stock) units at the source (409).
    """
    if quantity <= 0:
        raise ValidationFailed.on("quantity", "must be greater than zero")
    if from_location == to_location:
        raise ValidationFailed.on("to_location", "must differ from from_location")
    item = _stocked_item(uow, sku)
    source, target = _location_by_code(uow, from_location), _location_by_code(uow, to_location)
    _ensure_level(uow, item.id, source.id)
    _ensure_level(uow, item.id, target.id)
    # Lock order by location id, so two opposite transfers cannot deadlock.
    for loc, delta in sorted(((source, -quantity), (target, quantity)), key=lambda p: p[0].id):
        statement = (
            sa.update(_LEVELS)  # type: ignore[arg-type]
            .where(_LEVELS.c.item_id == item.id, _LEVELS.c.location_id == loc.id)
            .values(on_hand=_LEVELS.c.on_hand + delta, updated_at=uow.now())
            .returning(_LEVELS.c.on_hand)
        )
        if delta < 0:
            statement = statement.where(
                _LEVELS.c.on_hand - _LEVELS.c.reserved - _LEVELS.c.safety_stock >= quantity
            )
        if uow.execute_core(statement).first() is None:
            here = next((v.free for loc, v in _levels(uow, item.id, None) if loc.id == source.id), 0)
            raise InsufficientStock(f"only {here} of {item.sku} free at {from_location}", available=here)
        _move(uow, item_id=item.id, location_id=loc.id, on_hand=delta, reserved=0, reason="transfer",
              reference=reference or f"{from_location}->{to_location}")  # fmt: skip
    uow.audit("stock.transferred", object_type="item", object_id=str(item.id),
              after={"from": from_location, "to": to_location, "quantity": quantity})  # fmt: skip
    _stock_changed(
        uow, item, cause="transfer", transfer={"from": source.code, "to": target.code, "quantity": quantity}
    )
    return _availability(uow, item.sku, item.id, None)


@use_case
def record_count(
    uow: UnitOfWork, *, location: str, counts: dict[str, int], reference: str = ""
) -> list[CountLine]:
    """Apply a cycle count: each counted SKU's on-hand becomes the count, the variance a `count` movement.

    All lines or none: a count below what is reserved, an unknown SKU or a negative count refuses the sheet.

    Raises:
        ValidationFailed: an empty sheet or a negative count.
        NotFound: unknown location or SKU.
        NegativeStock: a count below the units reserved there (release or move those first) (409).
    """
    if not counts:
        raise ValidationFailed.on("lines", "a count sheet needs at least one line")
    if any(n < 0 for n in counts.values()):
        raise ValidationFailed.on("lines", "counts cannot be negative")
    loc = _location_by_code(uow, location)
    result: list[CountLine] = []
    for sku, counted in sorted(counts.items()):
        item = _stocked_item(uow, sku)
        _ensure_level(uow, item.id, loc.id)
        # Lock the level (PostgreSQL; SQLite's writer lock already serialises), then set it: nothing slips in
        # between the figure the variance is computed from and the write. Lines go in SKU order: no deadlocks.
        before = uow.execute_core(
            sa.select(_LEVELS.c.on_hand, _LEVELS.c.reserved)
            .where(_LEVELS.c.item_id == item.id, _LEVELS.c.location_id == loc.id)
            .with_for_update()
        ).one()
        if counted < before.reserved:
            raise NegativeStock(
                f"{item.sku} at {location}: counted {counted}, but {before.reserved} are reserved"
            )
        variance = counted - before.on_hand
        if variance:
            uow.execute_core(
                sa.update(_LEVELS)  # type: ignore[arg-type]
                .where(_LEVELS.c.item_id == item.id, _LEVELS.c.location_id == loc.id)
                .values(on_hand=counted, updated_at=uow.now())
            )
            _move(uow, item_id=item.id, location_id=loc.id, on_hand=variance, reserved=0, reason="count",
                  reference=reference or f"count at {location}")  # fmt: skip
            _stock_changed(uow, item, cause="count", on_hand_delta=variance, location=loc.code)
        result.append(
            CountLine(sku=item.sku, counted=counted, on_hand_before=before.on_hand, variance=variance)
        )
    uow.audit(
        "stock.counted",
        object_type="location",
        object_id=str(loc.id),
        after={"lines": [{"sku": r.sku, "counted": r.counted, "variance": r.variance} for r in result]},
    )
    return result


@use_case(readonly=True)
def get_availability(uow: UnitOfWork, *, sku: str, division: str | None = None) -> Availability:
    """On hand, reserved and available for an item, in total and per location serving `division`.

    A kit has no stock of its own: its figures are how many whole kits its components make (no per-location rows).
    """
    item = catalog.get_item_ref(uow, sku=sku)
    if item.kind != "kit":
        return _availability(uow, item.sku, item.id, division)
    parts = [
        (_availability(uow, c.sku, c.id, division), per_kit)
        for c, per_kit in catalog.kit_components(uow, kit_id=item.id)
    ]
    return Availability(
        sku=item.sku, division=division, on_hand=min(a.on_hand // q for a, q in parts),
        reserved=0, available=min(a.available // q for a, q in parts), locations=[],
    )  # fmt: skip


@use_case(readonly=True)
def verify(uow: UnitOfWork) -> list[Discrepancy]:
    """Every stock level whose on-hand differs from its movements, or reserved from its active reservations; and
    every division pool whose reserved counter differs from that division's active reservation lines there (field
    `reserved:<division>`)."""
    moved = (
        sa.select(StockMovementRow.item_id, StockMovementRow.location_id,
                  sa.func.sum(StockMovementRow.on_hand_delta).label("on_hand"))
        .group_by(StockMovementRow.item_id, StockMovementRow.location_id).subquery()
    )  # fmt: skip
    held = (
        sa.select(ReservationLineRow.item_id, ReservationLineRow.location_id,
                  sa.func.sum(ReservationLineRow.quantity).label("reserved"))
        .join(ReservationRow, ReservationRow.id == ReservationLineRow.reservation_id)
        .where(ReservationRow.status == "active")
        .group_by(ReservationLineRow.item_id, ReservationLineRow.location_id).subquery()
    )  # fmt: skip
    rows = uow.session.execute(
        sa.select(StockLevelRow.item_id, LocationRow.code, StockLevelRow.on_hand, StockLevelRow.reserved,
                  sa.func.coalesce(moved.c.on_hand, 0), sa.func.coalesce(held.c.reserved, 0))
        .join(LocationRow, LocationRow.id == StockLevelRow.location_id)
        .outerjoin(moved, sa.and_(moved.c.item_id == StockLevelRow.item_id,
                                  moved.c.location_id == StockLevelRow.location_id))
        .outerjoin(held, sa.and_(held.c.item_id == StockLevelRow.item_id,
                                 held.c.location_id == StockLevelRow.location_id))
    ).all()  # fmt: skip
    found: list[Discrepancy] = []
    for item_id, code, on_hand, reserved, expected_on_hand, expected_reserved in rows:
        if on_hand != expected_on_hand or reserved != expected_reserved:
            sku = catalog.item_refs(uow, ids=[item_id])[item_id].sku
            if on_hand != expected_on_hand:
                found.append(Discrepancy(sku, code, "on_hand", on_hand, int(expected_on_hand)))
            if reserved != expected_reserved:
                found.append(Discrepancy(sku, code, "reserved", reserved, int(expected_reserved)))
    return found + _pool_discrepancies(uow)


def _pool_discrepancies(uow: UnitOfWork) -> list[Discrepancy]:
    held = (
        sa.select(ReservationLineRow.item_id, ReservationLineRow.location_id, ReservationRow.division,
                  sa.func.sum(ReservationLineRow.quantity).label("reserved"))
        .join(ReservationRow, ReservationRow.id == ReservationLineRow.reservation_id)
        .where(ReservationRow.status == "active", ReservationRow.division.is_not(None))
        .group_by(ReservationLineRow.item_id, ReservationLineRow.location_id, ReservationRow.division).subquery()
    )  # fmt: skip
    rows = uow.session.execute(
        sa.select(StockPoolRow.item_id, LocationRow.code, StockPoolRow.division, StockPoolRow.reserved,
                  sa.func.coalesce(held.c.reserved, 0))
        .join(LocationRow, LocationRow.id == StockPoolRow.location_id)
        .outerjoin(held, sa.and_(held.c.item_id == StockPoolRow.item_id,
                                 held.c.location_id == StockPoolRow.location_id,
                                 held.c.division == StockPoolRow.division))
        .where(StockPoolRow.reserved != sa.func.coalesce(held.c.reserved, 0))
        .order_by(LocationRow.code, StockPoolRow.division)
    ).all()  # fmt: skip
    if not rows:
        return []
    skus = {i: ref.sku for i, ref in catalog.item_refs(uow, ids=sorted({r[0] for r in rows})).items()}
    return [
        Discrepancy(skus[item_id], code, f"reserved:{division}", recorded, int(expected))
        for item_id, code, division, recorded, expected in rows
    ]
