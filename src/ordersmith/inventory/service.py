"""Inventory use cases: locations, adjustments, reservations (reserve / release / consume), availability, verify.

Invariants: every change to a stock level is one conditional UPDATE (atomic on SQLite and PostgreSQL) plus its
append-only movement row in the same transaction; `on_hand` equals the sum of its movements and `reserved` the
sum of its active reservation lines (`verify` proves it); nothing ever goes negative or oversells. Every change
emits `stock.changed` with the new availability per division.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.catalog import service as catalog
from ordersmith.inventory import rules
from ordersmith.inventory.tables import (
    LocationRow,
    ReservationLineRow,
    ReservationRow,
    StockLevelRow,
    StockMovementRow,
)
from ordersmith.kernel.errors import Conflict, InsufficientStock, NegativeStock, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import UnitOfWork, use_case

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
class LocationStock:
    location: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int


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


def _location(row: LocationRow) -> Location:
    return Location(id=row.id, code=row.code, name=row.name, kind=row.kind, division=row.division,
                    priority=row.priority, active=row.active)  # fmt: skip


# --- locations ---------------------------------------------------------------------------------------------


@use_case
def create_location(
    uow: UnitOfWork, *, code: str, name: str, kind: str, division: str | None = None, priority: int = 100
) -> Location:
    """Create a warehouse or store, optionally dedicated to one division; lower priority ships first."""
    if kind not in rules.LOCATION_KINDS:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(rules.LOCATION_KINDS)}")
    if division is not None and division not in {d.code for d in catalog.list_divisions(uow)}:
        raise ValidationFailed.on("division", f"unknown division {division!r}")
    row = LocationRow(id=new_id(), code=code, name=name, kind=kind, division=division, priority=priority,
                      active=True, created_at=uow.now())  # fmt: skip
    uow.insert_unique(LocationRow, row, f"location {code!r} exists")
    uow.audit("location.created", object_type="location", object_id=str(row.id),
              after={"code": code, "kind": kind, "division": division, "priority": priority})  # fmt: skip
    return _location(row)


@use_case(readonly=True)
def list_locations(uow: UnitOfWork) -> list[Location]:
    rows = uow.session.scalars(sa.select(LocationRow).order_by(LocationRow.priority, LocationRow.code))
    return [_location(r) for r in rows]


def _location_by_code(uow: UnitOfWork, code: str) -> LocationRow:
    row = uow.session.scalar(sa.select(LocationRow).where(LocationRow.code == code))
    if row is None:
        raise NotFound(f"no location {code!r}")
    return row


# --- the ledger ----------------------------------------------------------------------------------------------


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


def _levels(
    uow: UnitOfWork, item_id: uuid.UUID, division: str | None
) -> list[tuple[LocationRow, rules.LevelView]]:
    rows = uow.session.execute(
        sa.select(LocationRow, StockLevelRow)
        .join(StockLevelRow, StockLevelRow.location_id == LocationRow.id)
        .where(StockLevelRow.item_id == item_id, LocationRow.active.is_(True))
    ).all()
    return [
        (loc, rules.LevelView(loc.code, loc.priority, lvl.on_hand, lvl.reserved, lvl.safety_stock))
        for loc, lvl in rows
        if rules.serves(loc.division, division)
    ]


def _availability(uow: UnitOfWork, sku: str, item_id: uuid.UUID, division: str | None) -> Availability:
    views = [v for _, v in _levels(uow, item_id, division)]
    views.sort(key=lambda v: (v.priority, v.location_code))
    return Availability(
        sku=sku, division=division, on_hand=sum(v.on_hand for v in views), reserved=sum(v.reserved for v in views),
        available=sum(v.available for v in views),
        locations=[LocationStock(v.location_code, v.on_hand, v.reserved, v.safety_stock, v.available) for v in views],
    )  # fmt: skip


def _stock_changed(
    uow: UnitOfWork,
    item: catalog.ItemRef,
    levels: list[tuple[LocationRow, rules.LevelView]] | None = None,
    divisions: list[str] | None = None,
) -> None:
    """Emit `stock.changed` with the available units per division (from `levels` when the caller has them)."""
    if levels is None:
        levels = _levels(uow, item.id, None)  # one read; each division's figure is summed from it
    if divisions is None:
        divisions = [d.code for d in catalog.list_divisions(uow)]
    by_division = {
        code: sum(view.available for loc, view in levels if rules.serves(loc.division, code))
        for code in divisions
    }
    uow.emit("stock.changed", {"sku": item.sku, "item_id": str(item.id), "available": by_division})


def _stocked_item(uow: UnitOfWork, sku: str) -> catalog.ItemRef:
    item = catalog.get_item_ref(uow, sku=sku)
    if not item.keeps_stock:
        raise ValidationFailed.on("sku", f"{item.sku} is a {item.kind} item and keeps no stock of its own")
    return item


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
    if reason not in rules.ADJUSTMENT_REASONS:
        raise ValidationFailed.on("reason", f"must be one of {', '.join(rules.ADJUSTMENT_REASONS)}")
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
    _stock_changed(uow, item)
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
            free = _availability(uow, item.sku, item.id, None)
            here = next((x.available for x in free.locations if x.location == from_location), 0)
            raise InsufficientStock(f"only {here} of {item.sku} free at {from_location}", available=here)
        _move(uow, item_id=item.id, location_id=loc.id, on_hand=delta, reserved=0, reason="transfer",
              reference=reference or f"{from_location}->{to_location}")  # fmt: skip
    uow.audit("stock.transferred", object_type="item", object_id=str(item.id),
              after={"from": from_location, "to": to_location, "quantity": quantity})  # fmt: skip
    _stock_changed(uow, item)
    return _availability(uow, item.sku, item.id, None)


@dataclass(frozen=True)
class CountLine:
    sku: str
    counted: int
    on_hand_before: int
    variance: int


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
            _stock_changed(uow, item)
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


def _reservation(uow: UnitOfWork, row: ReservationRow, sku: str) -> Reservation:
    found = uow.session.execute(
        sa.select(
            LocationRow.code, LocationRow.priority, ReservationLineRow.item_id, ReservationLineRow.quantity
        )
        .join(LocationRow, LocationRow.id == ReservationLineRow.location_id)
        .where(ReservationLineRow.reservation_id == row.id)
    ).all()
    skus = {i: ref.sku for i, ref in catalog.item_refs(uow, ids=list({r.item_id for r in found})).items()}
    lines = sorted(found, key=lambda r: (skus[r.item_id], r.priority, r.code))
    return Reservation(key=row.key, sku=sku, quantity=row.quantity, division=row.division, status=row.status,
                       expires_at=row.expires_at, created_at=row.created_at,
                       lines=[ReservationLine(r.code, r.quantity, skus[r.item_id]) for r in lines])  # fmt: skip


class _Short(Exception):
    """Not enough of one component: the whole reservation fails."""

    def __init__(self, taken: dict[uuid.UUID, int]) -> None:
        super().__init__("short")
        self.taken = taken  # what this item had already given before it ran out (rolled back with the rest)


def _take(
    uow: UnitOfWork, item: catalog.ItemRef, needed: int, division: str | None, now: datetime
) -> tuple[dict[uuid.UUID, int], list[tuple[LocationRow, rules.LevelView]]]:
    """Hold `needed` units of one stocked item across serving locations; returns what each location gave and the
    levels as the UPDATEs left them. Raises _Short when the units are not there."""
    levels = _levels(uow, item.id, None)
    taken: dict[uuid.UUID, int] = {}
    remaining = needed
    for _ in range(3):  # a plan can go stale under contention: re-plan with fresh figures
        serving = {loc.code: (loc, view) for loc, view in levels if rules.serves(loc.division, division)}
        for code, take in rules.split_plan([view for _, view in serving.values()], remaining):
            loc = serving[code][0]
            got = uow.execute_core(
                sa.update(_LEVELS)  # type: ignore[arg-type]
                .where(_LEVELS.c.item_id == item.id, _LEVELS.c.location_id == loc.id)
                .where(_LEVELS.c.on_hand - _LEVELS.c.reserved - _LEVELS.c.safety_stock >= take)
                .values(reserved=_LEVELS.c.reserved + take, updated_at=now)
                .returning(_LEVELS.c.on_hand, _LEVELS.c.reserved, _LEVELS.c.safety_stock)
            ).first()
            if got is not None:
                taken[loc.id] = taken.get(loc.id, 0) + take
                remaining -= take
                levels = [
                    (other, rules.LevelView(other.code, other.priority, *got) if other.id == loc.id else view)
                    for other, view in levels
                ]
        if remaining == 0:
            return taken, levels
        levels = _levels(uow, item.id, None)
        if sum(v.available for loc, v in levels if rules.serves(loc.division, division)) < remaining:
            break
    raise _Short(taken)


@use_case
def reserve(
    uow: UnitOfWork, *, key: str, sku: str, quantity: int, division: str | None = None,
    expires_in: timedelta | None = None,
) -> Reservation:  # fmt: skip
    """Hold `quantity` units (or kits) for `division`, taken from the serving locations in priority order.

    A kit holds its components — all of them or none — in one transaction, components in a fixed order so that
    kits sharing a component never deadlock. Idempotent by `key`. Each part is one conditional UPDATE, so two
    racing callers can never both get the last unit.

    Raises:
        InsufficientStock: fewer units (kits) are available (409, with `available`); nothing is held.
        Conflict: the key was used for another request.
    """
    if quantity <= 0:
        raise ValidationFailed.on("quantity", "must be greater than zero")
    item = catalog.get_item_ref(uow, sku=sku)
    if item.kind == "kit":
        parts = [(c, per_kit * quantity) for c, per_kit in catalog.kit_components(uow, kit_id=item.id)]
    elif item.keeps_stock:
        parts = [(item, quantity)]
    else:
        raise ValidationFailed.on("sku", f"{item.sku} is a {item.kind} item and keeps no stock")
    existing = uow.session.scalar(sa.select(ReservationRow).where(ReservationRow.key == key))
    if existing is not None:
        if (existing.item_id, existing.quantity, existing.division) != (item.id, quantity, division):
            raise Conflict(f"reservation key {key!r} was used for another request")
        return _reservation(uow, existing, item.sku)
    now = uow.now()
    # Everything that needs no lock on the hot stock rows happens first, so the rows stay locked (PostgreSQL)
    # only for the few inserts between the conditional UPDATEs and the commit.
    row = ReservationRow(id=new_id(), key=key, item_id=item.id, quantity=quantity, division=division,
                         status="active", expires_at=now + expires_in if expires_in else None,
                         created_at=now)  # fmt: skip
    uow.insert_unique(ReservationRow, row, f"reservation key {key!r} exists")
    uow.audit("stock.reserved", object_type="reservation", object_id=key,
              after={"sku": item.sku, "quantity": quantity, "division": division})  # fmt: skip
    divisions = [d.code for d in catalog.list_divisions(uow)]
    held: list[tuple[catalog.ItemRef, dict[uuid.UUID, int], list[tuple[LocationRow, rules.LevelView]]]] = []
    try:
        for component, needed in parts:
            taken, levels = _take(uow, component, needed, division, now)
            held.append((component, taken, levels))
    except _Short as short:
        # Raising rolls back the parts already taken: a reservation is all or nothing. What the caller could have
        # had is counted without this request's own (rolled-back) holds.
        own = {c.id: sum(taken.values()) for c, taken, _ in held}
        failing = parts[len(held)][0]
        own[failing.id] = own.get(failing.id, 0) + sum(short.taken.values())
        available = min(
            (_availability(uow, c.sku, c.id, division).available + own.get(c.id, 0)) // (needed // quantity)
            for c, needed in parts
        )
        raise InsufficientStock(
            f"only {available} of {item.sku} available", available=available, requested=quantity
        ) from None
    uow.execute_core(
        sa.insert(ReservationLineRow.__table__),  # type: ignore[arg-type]
        [{"reservation_id": row.id, "item_id": c.id, "location_id": lid, "quantity": q}
         for c, taken, _ in held for lid, q in taken.items()],
    )  # fmt: skip
    uow.execute_core(
        sa.insert(_MOVEMENTS),  # type: ignore[arg-type]
        [{"id": new_id(), "item_id": c.id, "location_id": lid, "on_hand_delta": 0, "reserved_delta": q,
          "reason": "reservation", "reference": key, "at": now, "actor": uow.actor.label}
         for c, taken, _ in held for lid, q in taken.items()],
    )  # fmt: skip
    lines: list[ReservationLine] = []
    for component, taken, levels in held:
        _stock_changed(uow, component, levels, divisions)
        by_id = {loc.id: loc for loc, _ in levels}
        ordered = sorted(
            ((by_id[lid], q) for lid, q in taken.items()), key=lambda p: (p[0].priority, p[0].code)
        )
        lines += [ReservationLine(loc.code, q, component.sku) for loc, q in ordered]
    lines.sort(key=lambda line: line.sku)
    return Reservation(key=key, sku=item.sku, quantity=quantity, division=division, status="active",
                       expires_at=row.expires_at, created_at=now, lines=lines)  # fmt: skip


def _end(uow: UnitOfWork, key: str, status: str) -> Reservation:
    row = uow.session.scalar(sa.select(ReservationRow).where(ReservationRow.key == key))
    if row is None:
        raise NotFound(f"no reservation {key!r}")
    sku = catalog.item_refs(uow, ids=[row.item_id])[row.item_id].sku
    # The status flip is the guard: only the caller that moves it from active does the stock work, so a
    # reservation is released (or consumed) at most once however many requests race.
    ended = uow.execute_core(
        sa.update(ReservationRow.__table__)  # type: ignore[arg-type]
        .where(ReservationRow.__table__.c.id == row.id, ReservationRow.__table__.c.status == "active")
        .values(status=status, ended_at=uow.now())
        .returning(ReservationRow.__table__.c.id)
    ).first()
    if ended is None:
        uow.session.refresh(row)
        if row.status != status:
            raise Conflict(f"reservation {key!r} is already {row.status}")
        return _reservation(uow, row, sku)  # a repeat of the same request: nothing more to do
    lines = list(
        uow.session.scalars(
            sa.select(ReservationLineRow)
            .where(ReservationLineRow.reservation_id == row.id)
            .order_by(ReservationLineRow.item_id, ReservationLineRow.location_id)  # the fixed lock order
        )
    )
    on_hand_factor = -1 if status == "consumed" else 0
    for line in lines:
        uow.execute_core(
            sa.update(_LEVELS)  # type: ignore[arg-type]
            .where(_LEVELS.c.item_id == line.item_id, _LEVELS.c.location_id == line.location_id)
            .values(reserved=_LEVELS.c.reserved - line.quantity,
                    on_hand=_LEVELS.c.on_hand + on_hand_factor * line.quantity, updated_at=uow.now())
        )  # fmt: skip
        _move(
            uow,
            item_id=line.item_id,
            location_id=line.location_id,
            on_hand=on_hand_factor * line.quantity,
            reserved=-line.quantity,
            reason="shipment" if status == "consumed" else "release",
            reference=key,
        )
    uow.audit(f"stock.{status}", object_type="reservation", object_id=key)
    for ref in catalog.item_refs(uow, ids=sorted({line.item_id for line in lines})).values():
        _stock_changed(uow, ref)
    uow.session.refresh(row)
    return _reservation(uow, row, sku)


@use_case
def release(uow: UnitOfWork, *, key: str) -> Reservation:
    """Give the reserved units back to availability. Repeating it changes nothing."""
    return _end(uow, key, "released")


@use_case
def consume(uow: UnitOfWork, *, key: str) -> Reservation:
    """The reserved units leave the building (shipped): on hand and reserved both go down."""
    return _end(uow, key, "consumed")


@use_case(readonly=True)
def get_reservation(uow: UnitOfWork, *, key: str) -> Reservation:
    row = uow.session.scalar(sa.select(ReservationRow).where(ReservationRow.key == key))
    if row is None:
        raise NotFound(f"no reservation {key!r}")
    return _reservation(uow, row, catalog.item_refs(uow, ids=[row.item_id])[row.item_id].sku)


@use_case
def release_expired(uow: UnitOfWork) -> int:
    """Release every active reservation past its expiry (a scheduled job); returns how many."""
    keys = list(uow.session.scalars(
        sa.select(ReservationRow.key).where(ReservationRow.status == "active", ReservationRow.expires_at <= uow.now())
    ))  # fmt: skip
    for key in keys:
        _end(uow, key, "released")
    return len(keys)


# --- verification -------------------------------------------------------------------------------------------------


@use_case(readonly=True)
def verify(uow: UnitOfWork) -> list[Discrepancy]:
    """Every stock level whose on-hand differs from its movements, or reserved from its active reservations."""
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
            sku = catalog.get_item_by_id(uow, item_id=item_id).sku
            if on_hand != expected_on_hand:
                found.append(Discrepancy(sku, code, "on_hand", on_hand, int(expected_on_hand)))
            if reserved != expected_reserved:
                found.append(Discrepancy(sku, code, "reserved", reserved, int(expected_reserved)))
    return found


def describe(discrepancy: Discrepancy) -> dict[str, Any]:
    return {"sku": discrepancy.sku, "location": discrepancy.location, "field": discrepancy.field,
            "recorded": discrepancy.recorded, "expected": discrepancy.expected}  # fmt: skip
