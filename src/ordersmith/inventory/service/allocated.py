"""Reserving a whole order at the locations its allocation chose: one read of every line's levels (the stock
picture), then one conditional multi-row UPDATE for every (item, location) part and one multi-row INSERT each for
reservations, their lines and movements.

Invariant: as for every reservation, each part is a conditional UPDATE that fails rather than oversells; the batch
is all or nothing (when a part fails, the parts the statement did take are given back in this transaction, or the
caller rolls back) and the caller re-plans from a fresh picture.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import rules
from ordersmith.inventory.service._common import (
    _LEVELS,
    _LOCATIONS,
    LocRef,
    _hold_in_pools,
    _pools,
    _stock_changed,
)
from ordersmith.inventory.service.reservations import _TAKE, _after_take
from ordersmith.inventory.tables import ReservationLineRow, ReservationRow, StockMovementRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import UnitOfWork, use_case

_LEVELS_OF_ITEMS = (
    sa.select(_LEVELS.c.item_id, _LOCATIONS.c.id, _LOCATIONS.c.code, _LOCATIONS.c.division, _LOCATIONS.c.priority,
              _LEVELS.c.on_hand, _LEVELS.c.reserved, _LEVELS.c.safety_stock, _LEVELS.c.pooled)
    .join(_LEVELS, _LEVELS.c.location_id == _LOCATIONS.c.id)
    .where(_LEVELS.c.item_id.in_(sa.bindparam("items", expanding=True)), _LOCATIONS.c.active.is_(True))
)  # fmt: skip
_UNTAKE = (
    sa.update(_LEVELS)  # type: ignore[arg-type]
    .where(_LEVELS.c.item_id == sa.bindparam("b_item"), _LEVELS.c.location_id == sa.bindparam("b_location"))
    .values(reserved=_LEVELS.c.reserved - sa.bindparam("b_take"))
    .execution_options(independent_of_pending=True)
)
_RESERVATIONS: sa.Table = ReservationRow.__table__  # type: ignore[assignment]
_RESERVATION_LINES: sa.Table = ReservationLineRow.__table__  # type: ignore[assignment]
_MOVEMENTS: sa.Table = StockMovementRow.__table__  # type: ignore[assignment]


@dataclass
class StockPicture:
    """The levels of a set of sellable items (kits through their components) at the locations serving one
    division, as read at one moment. Allocation plans from it; `reserve_allocated` takes what the plan chose."""

    division: str | None
    items: dict[str, catalog.ItemRef]  # by SKU key (upper case): the sellable items asked about
    components: dict[
        str, list[tuple[catalog.ItemRef, int]]
    ]  # SKU key -> stocked items and units per sellable
    # stocked item -> its levels at every active location (those serving other divisions too: `stock.changed`
    # reports every division's figure)
    levels: dict[uuid.UUID, list[tuple[LocRef, rules.LevelView]]] = field(default_factory=dict)

    def locations(self) -> list[LocRef]:
        """The locations serving the picture's division, highest priority first."""
        seen: dict[str, LocRef] = {}
        for levels in self.levels.values():
            for loc, _ in levels:
                if rules.serves(loc.division, self.division):
                    seen.setdefault(loc.code, loc)
        return sorted(seen.values(), key=lambda loc: (loc.priority, loc.code))

    def available(self) -> dict[str, dict[str, int]]:
        """Location code -> SKU key -> sellable units there for the division (a kit: complete kits)."""
        per_location: dict[str, dict[str, int]] = {}
        for key, parts in self.components.items():
            for loc in self.locations():
                units = []
                for component, per_unit in parts:
                    view = next(
                        (v for lr, v in self.levels.get(component.id, []) if lr.code == loc.code), None
                    )
                    units.append(view.available_to(self.division) // per_unit if view is not None else 0)
                if units and min(units) > 0:
                    per_location.setdefault(loc.code, {})[key] = min(units)
        return per_location


@use_case(readonly=True)
def stock_picture(uow: UnitOfWork, *, items: Sequence[catalog.ItemRef], division: str | None) -> StockPicture:
    """Read the levels of these items (a kit: of its components) at the active locations serving `division`: one
    query, plus the pools where levels are pooled (whose rows are then locked, as a single reservation does)."""
    components: dict[str, list[tuple[catalog.ItemRef, int]]] = {}
    for item in items:
        key = item.sku.upper()
        if item.kind == "kit":
            components[key] = catalog.kit_components(uow, kit_id=item.id)
        elif item.keeps_stock:
            components[key] = [(item, 1)]
        else:
            raise ValidationFailed.on("sku", f"{item.sku} is a {item.kind} item and keeps no stock")
    stocked = sorted({c.id for parts in components.values() for c, _ in parts})
    rows = uow.execute_core(_LEVELS_OF_ITEMS, {"items": stocked}).all()
    pooled = sorted((r.item_id, r.id) for r in rows if r.pooled and rules.serves(r.division, division))
    if pooled:
        # Pools depend on other divisions' reservations: lock the pooled rows (fixed order) and read them again.
        uow.execute_core(
            sa.select(_LEVELS.c.item_id)
            .where(sa.tuple_(_LEVELS.c.item_id, _LEVELS.c.location_id).in_(pooled))
            .order_by(_LEVELS.c.item_id, _LEVELS.c.location_id)
            .with_for_update()
        ).all()
        rows = uow.execute_core(_LEVELS_OF_ITEMS, {"items": stocked}).all()
    every_pooled = sorted((r.item_id, r.id) for r in rows if r.pooled)
    pools: dict[uuid.UUID, dict[uuid.UUID, tuple[rules.Pool, ...]]] = {}
    for item_id in sorted({item_id for item_id, _ in every_pooled}):
        pools[item_id] = _pools(uow, item_id, [loc for i, loc in every_pooled if i == item_id])
    levels: dict[uuid.UUID, list[tuple[LocRef, rules.LevelView]]] = {item_id: [] for item_id in stocked}
    for r in rows:
        view = rules.LevelView(r.code, r.priority, r.on_hand, r.reserved, r.safety_stock,
                               pools.get(r.item_id, {}).get(r.id, ()))  # fmt: skip
        levels[r.item_id].append((LocRef(r.id, r.code, r.division, r.priority), view))
    return StockPicture(division=division, items={i.sku.upper(): i for i in items}, components=components,
                        levels=levels)  # fmt: skip


@dataclass(frozen=True)
class AllocatedHold:
    key: str  # the reservation's key, unique (e.g. the order line's part)
    sku: str  # a sellable item of the picture
    location: str  # a location code of the picture
    quantity: int  # sellable units (kits)


class StalePlan(Exception):
    """A part could not be taken: stock moved since the picture was read. Nothing of the batch is held."""

    def __init__(self, sku: str, location: str) -> None:
        super().__init__(f"{sku} at {location} moved")
        self.sku, self.location = sku, location


@use_case
def reserve_allocated(
    uow: UnitOfWork, *, picture: StockPicture, holds: Sequence[AllocatedHold], locks_last: bool = False
) -> None:
    """Reserve each hold at its location, for the picture's division: all or none.

    Parts are taken in (item, location) order, so two orders sharing items lock rows in the same order and
    never deadlock. With `locks_last` the reservation rows are written first and the stock rows updated last,
    so a hot item's row stays locked only from its UPDATE to the commit; a failure then leaves those rows
    behind and the caller must roll the transaction back (order capture does: it retries from scratch).

    Raises:
        StalePlan: a location no longer has what the plan took from it; nothing is held (re-plan from a new
            picture) — with `locks_last`, once the caller has rolled back.
    """
    if not holds:
        return
    if locks_last:
        _write_reservations(uow, picture, holds)
    _take_all(uow, picture, holds, undo=not locks_last)
    if not locks_last:
        _write_reservations(uow, picture, holds)


def _take_all(uow: UnitOfWork, picture: StockPicture, holds: Sequence[AllocatedHold], *, undo: bool) -> None:
    now = uow.now()
    locations = {loc.code: loc for loc in picture.locations()}
    takes: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    for hold in holds:
        loc = locations[hold.location]
        for component, per_unit in picture.components[hold.sku.upper()]:
            part = (component.id, loc.id)
            takes[part] = takes.get(part, 0) + per_unit * hold.quantity
    skus = {c.id: c for parts in picture.components.values() for c, _ in parts}
    wanted = sorted(takes.items())
    got = _take_many(uow, wanted, now)
    missing = [part for part, _ in wanted if part not in got]
    if missing:
        if undo and got:  # what the statement did take goes back (the caller goes on in this transaction)
            uow.execute_core(
                _UNTAKE,
                [{"b_item": i, "b_location": loc, "b_take": takes[(i, loc)]} for (i, loc) in got],
            )
        item_id, location_id = missing[0]
        raise StalePlan(skus[item_id].sku, next(c for c, loc in locations.items() if loc.id == location_id))
    # As the UPDATE found the levels, under their locks: the pools cannot change now.
    _hold_in_pools(
        uow, [(i, loc, picture.division, units) for (i, loc), units in wanted if got[(i, loc)].pooled]
    )
    for (item_id, location_id), units in wanted:
        row = got[(item_id, location_id)]
        picture.levels[item_id] = [
            (lr, _after_take(view, row, picture.division, units) if lr.id == location_id else view)
            for lr, view in picture.levels[item_id]
        ]
    taken = [part for part, _ in wanted]
    divisions = catalog.division_codes(uow)
    for item_id in sorted({item_id for item_id, _ in taken}):
        _stock_changed(uow, skus[item_id], picture.levels[item_id], divisions, cause="reserved")


class _Taken(NamedTuple):
    on_hand: int
    reserved: int
    safety_stock: int
    pooled: bool


def _take_many(
    uow: UnitOfWork, wanted: list[tuple[tuple[uuid.UUID, uuid.UUID], int]], now: datetime
) -> dict[tuple[uuid.UUID, uuid.UUID], _Taken]:
    """Take `units` at each (item, location) with conditional UPDATEs — one statement for all the parts (their
    rows locked in the parts' order on PostgreSQL) — and return the levels as left, by part; a part whose level
    has too few units is missing from the answer (and untouched)."""
    if len(wanted) == 1:
        ((item_id, location_id), units) = wanted[0]
        row = uow.execute_core(
            _TAKE, {"b_item": item_id, "b_location": location_id, "b_take": units, "b_now": now}
        ).first()
        return {} if row is None else {(item_id, location_id): _Taken(*row)}
    params: dict[str, object] = {"b_now": now}
    for n, ((item_id, location_id), units) in enumerate(wanted):
        params |= {f"i{n}": item_id, f"l{n}": location_id, f"t{n}": units}
    rows = uow.execute_core(_take_statement(len(wanted)), params).all()
    return {(r.item_id, r.location_id): _Taken(r.on_hand, r.reserved, r.safety_stock, r.pooled) for r in rows}


_TAKE_MANY: dict[int, sa.TextualSelect] = {}


def _take_statement(count: int) -> sa.TextualSelect:
    """`UPDATE … FROM (VALUES …)` for `count` parts, built once per count (plain SQL both databases speak: SQLite
    3.33+ and PostgreSQL; a VALUES list's columns are `column1…` in both)."""
    statement = _TAKE_MANY.get(count)
    if statement is None:
        item, location, units = _LEVELS.c.item_id.type, _LEVELS.c.location_id.type, sa.Integer()
        values = ", ".join(f"(:i{n}, :l{n}, :t{n})" for n in range(count))
        # Only placeholders numbered here go into the text: no input is ever part of it.
        sql = (
            "UPDATE stock_levels SET reserved = stock_levels.reserved + t.column3, updated_at = :b_now "  # noqa: S608
            "FROM (VALUES " + values + ") AS t "
            "WHERE stock_levels.item_id = t.column1 AND stock_levels.location_id = t.column2 "
            "AND stock_levels.on_hand - stock_levels.reserved - stock_levels.safety_stock >= t.column3 "
            "RETURNING stock_levels.item_id, stock_levels.location_id, stock_levels.on_hand, "
            "stock_levels.reserved, stock_levels.safety_stock, stock_levels.pooled"
        )
        statement = sa.text(sql).bindparams(
            sa.bindparam("b_now", type_=_LEVELS.c.updated_at.type),
            *(
                bind
                for n in range(count)
                for bind in (
                    sa.bindparam(f"i{n}", type_=item),
                    sa.bindparam(f"l{n}", type_=location),
                    sa.bindparam(f"t{n}", type_=units),
                )
            ),
        ).columns(
            _LEVELS.c.item_id, _LEVELS.c.location_id, _LEVELS.c.on_hand, _LEVELS.c.reserved,
            _LEVELS.c.safety_stock, _LEVELS.c.pooled,
        ).execution_options(independent_of_pending=True)  # fmt: skip
        _TAKE_MANY[count] = statement
    return statement


def _write_reservations(uow: UnitOfWork, picture: StockPicture, holds: Sequence[AllocatedHold]) -> None:
    now = uow.now()
    locations = {loc.code: loc for loc in picture.locations()}
    reservations, lines, movements = [], [], []
    for hold in holds:
        row_id = new_id()
        item = picture.items[hold.sku.upper()]
        reservations.append({"id": row_id, "key": hold.key, "item_id": item.id, "quantity": hold.quantity,
                             "division": picture.division, "status": "active", "expires_at": None,
                             "created_at": now, "ended_at": None})  # fmt: skip
        for component, per_unit in picture.components[hold.sku.upper()]:
            location_id = locations[hold.location].id
            units = per_unit * hold.quantity
            lines.append({"reservation_id": row_id, "item_id": component.id, "location_id": location_id,
                          "quantity": units})  # fmt: skip
            movements.append({"id": new_id(), "item_id": component.id, "location_id": location_id,
                              "on_hand_delta": 0, "reserved_delta": units, "reason": "reservation",
                              "reference": hold.key, "at": now, "actor": uow.actor.label})  # fmt: skip
    # Nothing reads them back before the commit: they go with the order's other rows (platform.pending_rows).
    uow.insert_at_commit(_RESERVATIONS, reservations)
    uow.insert_at_commit(_RESERVATION_LINES, lines)
    uow.insert_at_commit(_MOVEMENTS, movements)
    uow.audit("stock.reserved", object_type="reservation", object_id=holds[0].key,
              after={"holds": [{"key": h.key, "sku": h.sku, "location": h.location, "quantity": h.quantity}
                               for h in holds], "division": picture.division})  # fmt: skip
