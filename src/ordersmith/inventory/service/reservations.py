"""Reservations: all-or-nothing holds split across locations (kits hold all their components), released or
consumed at most once, expired by a job."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import rules
from ordersmith.inventory.service._common import (
    _LEVELS,
    _MOVEMENTS,
    LocRef,
    Reservation,
    ReservationLine,
    _availability,
    _hold_in_pools,
    _levels,
    _levels_of_many,
    _move,
    _stock_changed,
)
from ordersmith.inventory.tables import (
    LocationRow,
    ReservationLineRow,
    ReservationRow,
)
from ordersmith.kernel.errors import Conflict, InsufficientStock, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import UnitOfWork, use_case


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


_RESERVATIONS = ReservationRow.__table__
# The hot path's statements, built once (SQLAlchemy then only binds parameters).
_TAKE = (
    sa.update(_LEVELS)  # type: ignore[arg-type]
    .where(_LEVELS.c.item_id == sa.bindparam("b_item"), _LEVELS.c.location_id == sa.bindparam("b_location"))
    .where(_LEVELS.c.on_hand - _LEVELS.c.reserved - _LEVELS.c.safety_stock >= sa.bindparam("b_take"))
    .values(reserved=_LEVELS.c.reserved + sa.bindparam("b_take"), updated_at=sa.bindparam("b_now"))
    .returning(_LEVELS.c.on_hand, _LEVELS.c.reserved, _LEVELS.c.safety_stock, _LEVELS.c.pooled)
    .execution_options(independent_of_pending=True)  # stock levels never wait for the commit (pending_rows)
)
_INSERT_LINES = sa.insert(ReservationLineRow.__table__)  # type: ignore[arg-type]
_INSERT_MOVEMENTS = sa.insert(_MOVEMENTS)  # type: ignore[arg-type]
# Claim the key: a new reservation row, or nothing when the key exists (then the request is a repeat, or a clash).
# Plain SQL that SQLite (3.35+) and PostgreSQL both speak: SQLAlchemy's dialect-specific ON CONFLICT construct is
# recompiled on every call, this one is compiled once; the column types still convert UUIDs and times.
_CLAIM_COLUMNS = [c.name for c in _RESERVATIONS.columns]  # names from our own table, never from input
_CLAIM = sa.text(
    "INSERT INTO reservations (" + ", ".join(f'"{name}"' for name in _CLAIM_COLUMNS) + ") "
    "VALUES (" + ", ".join(f":{name}" for name in _CLAIM_COLUMNS) + ") "
    'ON CONFLICT ("key") DO NOTHING RETURNING id'
).bindparams(*(sa.bindparam(c.name, type_=c.type) for c in _RESERVATIONS.columns))


class _Short(Exception):
    """Not enough of one component: the whole reservation fails."""

    def __init__(self, taken: dict[uuid.UUID, int]) -> None:
        super().__init__("short")
        self.taken = taken  # what this item had already given before it ran out (rolled back with the rest)


def _take(
    uow: UnitOfWork, item: catalog.ItemRef, needed: int, division: str | None, now: datetime
) -> tuple[dict[uuid.UUID, int], list[tuple[LocRef, rules.LevelView]]]:
    """Hold `needed` units of one stocked item across serving locations; returns what each location gave and the
    levels as the UPDATEs left them. Raises _Short when the units are not there."""
    levels = _levels(uow, item.id, None)
    if any(view.pools for loc, view in levels if rules.serves(loc.division, division)):
        levels = _lock_pooled(uow, item.id, levels)
    taken: dict[uuid.UUID, int] = {}
    remaining = needed
    for _ in range(3):  # a plan can go stale under contention: re-plan with fresh figures
        serving = {loc.code: (loc, view) for loc, view in levels if rules.serves(loc.division, division)}
        for code, take in rules.split_plan([view for _, view in serving.values()], remaining, division):
            loc = serving[code][0]
            got = uow.execute_core(
                _TAKE, {"b_item": item.id, "b_location": loc.id, "b_take": take, "b_now": now}
            ).first()
            if got is not None:
                if got.pooled:  # as the UPDATE found the level, under its lock: the pools cannot change now
                    _hold_in_pools(uow, [(item.id, loc.id, division, take)])
                taken[loc.id] = taken.get(loc.id, 0) + take
                remaining -= take
                levels = [
                    (other, _after_take(view, got, division, take) if other.id == loc.id else view)
                    for other, view in levels
                ]
        if remaining == 0:
            return taken, levels
        levels = _levels(uow, item.id, None)
        if (
            sum(v.available_to(division) for loc, v in levels if rules.serves(loc.division, division))
            < remaining
        ):
            break
    raise _Short(taken)


def _lock_pooled(
    uow: UnitOfWork, item_id: uuid.UUID, levels: list[tuple[LocRef, rules.LevelView]]
) -> list[tuple[LocRef, rules.LevelView]]:
    """Lock the item's pooled levels (PostgreSQL `FOR UPDATE`, location-id order; SQLite's writer lock already
    serialises), then read the levels again. A pool's figure depends on other divisions' reservations, which one
    conditional UPDATE cannot see; under the lock, and with READ COMMITTED giving each statement a fresh snapshot,
    the re-read sees every earlier holder's commit, so the plan made from it cannot break a ring-fence."""
    pooled = sorted(loc.id for loc, view in levels if view.pools)
    uow.execute_core(
        sa.select(_LEVELS.c.location_id)
        .where(_LEVELS.c.item_id == item_id, _LEVELS.c.location_id.in_(pooled))
        .order_by(_LEVELS.c.location_id)
        .with_for_update()
    ).all()
    return _levels(uow, item_id, None)


def _after_take(
    view: rules.LevelView,
    got: tuple[int, int, int, bool] | sa.Row[tuple[int, int, int, bool]],
    division: str | None,
    take: int,
) -> rules.LevelView:
    """The level as the UPDATE left it: its new figures, and `division`'s pool holding `take` more."""
    pools = tuple(
        rules.Pool(
            p.division, p.ring_fence, p.buffer, p.reserved + take if p.division == division else p.reserved
        )
        for p in view.pools
    )
    on_hand, reserved, safety, _ = got
    return rules.LevelView(view.location_code, view.priority, on_hand, reserved, safety, pools)


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
    now = uow.now()
    # Everything that needs no lock on the hot stock rows happens first, so the rows stay locked (PostgreSQL)
    # only for the few inserts between the conditional UPDATEs and the commit.
    row_id = new_id()
    expires_at = now + expires_in if expires_in else None
    claimed = uow.execute_core(_CLAIM, {
        "id": row_id, "key": key, "item_id": item.id, "quantity": quantity, "division": division, "status": "active",
        "expires_at": expires_at, "created_at": now, "ended_at": None}).first()  # fmt: skip
    if claimed is None:
        existing = uow.session.scalar(sa.select(ReservationRow).where(ReservationRow.key == key))
        assert existing is not None  # keys are never deleted
        if (existing.item_id, existing.quantity, existing.division) != (item.id, quantity, division):
            raise Conflict(f"reservation key {key!r} was used for another request")
        return _reservation(uow, existing, item.sku)
    uow.audit("stock.reserved", object_type="reservation", object_id=key,
              after={"sku": item.sku, "quantity": quantity, "division": division})  # fmt: skip
    divisions = catalog.division_codes(uow)
    held: list[tuple[catalog.ItemRef, dict[uuid.UUID, int], list[tuple[LocRef, rules.LevelView]]]] = []
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
        _INSERT_LINES,
        [{"reservation_id": row_id, "item_id": c.id, "location_id": lid, "quantity": q}
         for c, taken, _ in held for lid, q in taken.items()],
    )  # fmt: skip
    uow.execute_core(
        _INSERT_MOVEMENTS,
        [{"id": new_id(), "item_id": c.id, "location_id": lid, "on_hand_delta": 0, "reserved_delta": q,
          "reason": "reservation", "reference": key, "at": now, "actor": uow.actor.label}
         for c, taken, _ in held for lid, q in taken.items()],
    )  # fmt: skip
    lines: list[ReservationLine] = []
    for component, taken, levels in held:
        _stock_changed(uow, component, levels, divisions, cause="reserved")
        by_id = {loc.id: loc for loc, _ in levels}
        ordered = sorted(
            ((by_id[lid], q) for lid, q in taken.items()), key=lambda p: (p[0].priority, p[0].code)
        )
        lines += [ReservationLine(loc.code, q, component.sku) for loc, q in ordered]
    lines.sort(key=lambda line: line.sku)
    return Reservation(key=key, sku=item.sku, quantity=quantity, division=division, status="active",
                       expires_at=expires_at, created_at=now, lines=lines)  # fmt: skip


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
        pooled = uow.execute_core(
            sa.update(_LEVELS)  # type: ignore[arg-type]
            .where(_LEVELS.c.item_id == line.item_id, _LEVELS.c.location_id == line.location_id)
            .values(reserved=_LEVELS.c.reserved - line.quantity,
                    on_hand=_LEVELS.c.on_hand + on_hand_factor * line.quantity, updated_at=uow.now())
            .returning(_LEVELS.c.pooled)
        ).scalar_one()  # fmt: skip
        if pooled:
            _hold_in_pools(uow, [(line.item_id, line.location_id, row.division, -line.quantity)])
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
        _stock_changed(uow, ref, cause=status)
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


# The clauses match the partial index's WHERE (status = 'active' AND expires_at IS NOT NULL) word for word.
_DUE = (
    sa.select(ReservationRow.key)
    .where(ReservationRow.status == "active", ReservationRow.expires_at.is_not(None))
    .where(ReservationRow.expires_at <= sa.bindparam("b_now"))
    .order_by(ReservationRow.expires_at)
)


@use_case
def release_expired(uow: UnitOfWork) -> int:
    """Release every active reservation past its expiry (a scheduled job); returns how many.

    Reads through the partial index `ix_reservations_expiring` (active reservations with an expiry), so a run
    costs what is due, never the reservations' history."""
    keys = list(uow.session.scalars(_DUE, {"b_now": uow.now()}))
    for key in keys:
        _end(uow, key, "released")
    return len(keys)


_END_MANY = (
    sa.update(_RESERVATIONS)  # type: ignore[arg-type]
    .where(_RESERVATIONS.c.key.in_(sa.bindparam("keys", expanding=True)), _RESERVATIONS.c.status == "active")
    .values(status=sa.bindparam("b_status"), ended_at=sa.bindparam("b_now"))
    .returning(_RESERVATIONS.c.id)
)
_LINES_OF_RESERVATIONS = ReservationLineRow.__table__
_ENDED_UNITS = (
    sa.select(_LINES_OF_RESERVATIONS.c.item_id, _LINES_OF_RESERVATIONS.c.location_id, _RESERVATIONS.c.division,
              sa.func.sum(_LINES_OF_RESERVATIONS.c.quantity))
    .join(_RESERVATIONS, _RESERVATIONS.c.id == _LINES_OF_RESERVATIONS.c.reservation_id)
    # Both sides named: PostgreSQL does not carry an IN list across the join, and a plan that guesses the
    # reservations few (statistics behind the history) would hash every reservation ever made.
    .where(_LINES_OF_RESERVATIONS.c.reservation_id.in_(sa.bindparam("ended", expanding=True)),
           _RESERVATIONS.c.id.in_(sa.bindparam("ended", expanding=True)))
    .group_by(_LINES_OF_RESERVATIONS.c.item_id, _LINES_OF_RESERVATIONS.c.location_id, _RESERVATIONS.c.division)
)  # fmt: skip
_SETTLE = (
    sa.update(_LEVELS)  # type: ignore[arg-type]
    .where(_LEVELS.c.item_id == sa.bindparam("b_item"), _LEVELS.c.location_id == sa.bindparam("b_location"))
    .values(reserved=_LEVELS.c.reserved - sa.bindparam("b_units"),
            on_hand=_LEVELS.c.on_hand + sa.bindparam("b_on_hand"), updated_at=sa.bindparam("b_now"))
)  # fmt: skip


def _end_many(uow: UnitOfWork, keys: list[str], status: str) -> None:
    """End several reservations at once (an order's parts): one status flip guards them all, as `_end` does for
    one; each level is then settled once, in the fixed (item, location) lock order."""
    if not keys:
        return
    now = uow.now()
    ended = [
        r.id
        for r in uow.execute_core(_END_MANY, {"keys": sorted(set(keys)), "b_status": status, "b_now": now})
    ]
    if len(ended) < len(set(keys)):
        found = uow.session.execute(
            sa.select(ReservationRow.key, ReservationRow.status).where(ReservationRow.key.in_(keys))
        )
        states: dict[str, str] = {key: state for key, state in found}
        wrong = sorted(k for k in set(keys) if states.get(k) not in (status, "active"))
        if wrong or len(states) < len(set(keys)):
            missing = sorted(set(keys) - set(states))
            if missing:
                raise NotFound(f"no reservation {missing[0]!r}")
            raise Conflict(f"reservation {wrong[0]!r} is already {states[wrong[0]]}")
    if not ended:
        return
    by_division = uow.execute_core(_ENDED_UNITS, {"ended": ended}).all()
    units: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    for item_id, location_id, _, quantity in by_division:
        units[item_id, location_id] = units.get((item_id, location_id), 0) + int(quantity)
    lines = sorted((item_id, location_id, q) for (item_id, location_id), q in units.items())  # the lock order
    factor = -1 if status == "consumed" else 0
    uow.execute_core(_SETTLE, [{"b_item": i, "b_location": loc, "b_units": int(q), "b_on_hand": factor * int(q),
                                "b_now": now} for i, loc, q in lines])  # fmt: skip
    # After the levels' UPDATEs (their locks held): the divisions' counters where those levels have pools.
    _hold_in_pools(uow, [(i, loc, division, -int(q)) for i, loc, division, q in by_division])
    reason = "shipment" if status == "consumed" else "release"
    uow.execute_core(_INSERT_MOVEMENTS, [
        {"id": new_id(), "item_id": i, "location_id": loc, "on_hand_delta": factor * int(q), "reserved_delta": -int(q),
         "reason": reason, "reference": keys[0] if len(keys) == 1 else f"{keys[0]} (+{len(keys) - 1})", "at": now,
         "actor": uow.actor.label} for i, loc, q in lines])  # fmt: skip
    uow.audit(f"stock.{status}", object_type="reservation", object_id=keys[0], after={"keys": sorted(keys)})
    divisions = catalog.division_codes(uow)
    item_ids = sorted({i for i, _, _ in lines})
    levels = _levels_of_many(uow, item_ids)  # one read for every item's `stock.changed`
    for ref in catalog.item_refs(uow, ids=item_ids).values():
        _stock_changed(uow, ref, levels[ref.id], divisions, cause=status)


@use_case
def release_all(uow: UnitOfWork, *, keys: list[str]) -> None:
    """Release several reservations in one go (e.g. an order's parts). Repeating it changes nothing."""
    _end_many(uow, keys, "released")


@use_case
def consume_all(uow: UnitOfWork, *, keys: list[str]) -> None:
    """Consume several reservations in one go (e.g. a shipment of an order's parts)."""
    _end_many(uow, keys, "consumed")


@use_case
def shorten_reservation(uow: UnitOfWork, *, key: str, found: int, reference: str = "") -> Reservation:
    """A picker found only `found` of a reservation's units in its bin: the missing units leave on hand and the
    reservation at once (a `short_pick` movement: the count that follows corrects on hand either way), and the
    reservation keeps the units found (none found: it ends as `short`). Guarded like `_end`: only an active
    reservation of one stocked item at one location can be shortened, once per call under the level's lock.

    Raises:
        NotFound: no such reservation.
        Conflict: it is not active, or it holds a kit's components or units at several locations.
        ValidationFailed: `found` is negative or not fewer than the units held.
    """
    row = uow.session.scalar(sa.select(ReservationRow).where(ReservationRow.key == key).with_for_update())
    if row is None:
        raise NotFound(f"no reservation {key!r}")
    if row.status != "active":
        raise Conflict(f"reservation {key!r} is already {row.status}")
    lines = list(
        uow.session.scalars(sa.select(ReservationLineRow).where(ReservationLineRow.reservation_id == row.id))
    )
    if len(lines) != 1 or lines[0].item_id != row.item_id:
        raise Conflict(
            f"reservation {key!r} holds a kit or several locations: count the parts and adjust instead"
        )
    if found < 0 or found >= row.quantity:
        raise ValidationFailed.on("found", f"fewer than the {row.quantity} unit(s) held, and not negative")
    line, missing, now = lines[0], row.quantity - found, uow.now()
    pooled = uow.execute_core(
        sa.update(_LEVELS)  # type: ignore[arg-type]
        .where(_LEVELS.c.item_id == line.item_id, _LEVELS.c.location_id == line.location_id)
        .values(reserved=_LEVELS.c.reserved - missing, on_hand=_LEVELS.c.on_hand - missing, updated_at=now)
        .returning(_LEVELS.c.pooled)
    ).scalar_one()
    if pooled:
        _hold_in_pools(uow, [(line.item_id, line.location_id, row.division, -missing)])
    if found:
        row.quantity = line.quantity = found
    else:
        row.status, row.ended_at = "short", now
    _move(uow, item_id=line.item_id, location_id=line.location_id, on_hand=-missing, reserved=-missing,
          reason="short_pick", reference=reference or key)  # fmt: skip
    uow.audit("stock.short_picked", object_type="reservation", object_id=key,
              after={"found": found, "missing": missing})  # fmt: skip
    uow.session.flush()
    sku = catalog.item_refs(uow, ids=[row.item_id])[row.item_id]
    location = uow.session.get(LocationRow, line.location_id)
    _stock_changed(
        uow, sku, cause="short_pick", on_hand_delta=-missing, location=location.code if location else ""
    )
    return _reservation(uow, row, sku.sku)
