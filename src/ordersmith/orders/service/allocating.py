"""Allocation: choosing the location each line ships from and holding the units there, and releasing backorders
when stock arrives.

Invariant: a line's `reserved` equals the sum of its active allocation parts, each of which is exactly one active
inventory reservation; `reserved + backordered + cancelled + shipped <= quantity`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import InsufficientStock
from ordersmith.kernel.events import Event
from ordersmith.orders import rules
from ordersmith.orders.service._common import fulfillment_status, record
from ordersmith.orders.tables import OrderLineRow, OrderRow
from ordersmith.platform.db import UnitOfWork, use_case

log = logging.getLogger(__name__)
_ATTEMPTS = 4  # plans that went stale under contention are re-made from a fresh picture this many times


@dataclass(frozen=True)
class Wanted:
    line: OrderLineRow
    quantity: int  # units to hold now
    backorderable: bool


@dataclass
class Outcome:
    explanation: list[str]
    reserved: dict[int, int]  # line_no -> units held now
    backordered: dict[int, int]  # line_no -> units left waiting


def item_refs(facts: dict[str, catalog.SellingFacts]) -> dict[str, catalog.ItemRef]:
    """The item references allocation needs, from the selling facts capture already read (by SKU key)."""
    return {key: catalog.ItemRef(id=f.id, sku=f.sku, kind=f.kind) for key, f in facts.items()}


def refs_for(uow: UnitOfWork, skus: list[str]) -> dict[str, catalog.ItemRef]:
    """Item references for these SKUs, in one query."""
    return item_refs(catalog.selling_facts(uow, skus=skus))


def _key(order_id: uuid.UUID, line_no: int, seq: int) -> str:
    return f"ord:{order_id.hex}:{line_no}:{seq}"


@dataclass
class Plan:
    """Where each wanted unit will come from, made from one stock picture; nothing is held yet."""

    picture: inventory.StockPicture | None
    holds: list[inventory.AllocatedHold]
    placed: list[tuple[OrderLineRow, str, int, str]]  # line, location, units, reservation key
    outcome: Outcome


def plan_stock(
    uow: UnitOfWork,
    *,
    order: OrderRow,
    wanted: Sequence[Wanted],
    items: dict[str, catalog.ItemRef],
    partial: bool = True,
    only_location: str | None = None,
    division: str | None = None,
) -> Plan:
    """Allocate `wanted` for the order's division, ship-to by ship-to (each prefers one location, then the fewest,
    then location priority), from a fresh stock picture; with `only_location` (a store's sale or pickup), from
    that location alone (and `division`: the store's own, which a web order collected there draws on).

    What no location has is backordered when the item allows it; otherwise InsufficientStock names the lines.
    With `partial=False` (releasing backorders), a line takes what there is.
    """
    wanted = [w for w in wanted if w.quantity > 0]
    if not wanted:
        return Plan(None, [], [], Outcome([], {}, {}))
    refs = {w.line.sku.upper(): items[w.line.sku.upper()] for w in wanted}
    picture = inventory.stock_picture(uow, items=list(refs.values()), division=division or order.division)
    available = picture.available()
    sources = [
        rules.Source(loc.code, loc.priority, dict(available.get(loc.code, {})))
        for loc in picture.locations()
        if only_location is None or loc.code == only_location
    ]
    explanation: list[str] = []
    parts: list[rules.Part] = []
    short: dict[str, int] = {}
    groups: dict[str, list[Wanted]] = {}
    for w in wanted:
        groups.setdefault(w.line.ship_to, []).append(w)
    for ship_to, group in groups.items():
        needs = [rules.Need(str(w.line.line_no), w.line.sku.upper(), w.quantity) for w in group]
        allocation = rules.allocate(needs, sources)
        prefix = f"ship-to {ship_to}: " if len(groups) > 1 else ""
        explanation += [prefix + e for e in allocation.explanation]
        parts += allocation.parts
        short.update(allocation.backordered)
        for part in allocation.parts:  # what this group took is gone for the next one
            source = next(s for s in sources if s.location == part.location)
            item = next(n.item for n in needs if n.line == part.line)
            source.available[item] -= part.quantity
    refused = [w for w in wanted if str(w.line.line_no) in short and not w.backorderable and partial]
    if refused:
        raise InsufficientStock(
            "not enough stock for line(s) " + ", ".join(str(w.line.line_no) for w in refused),
            lines=[
                {
                    "line": w.line.line_no,
                    "sku": w.line.sku,
                    "requested": w.quantity,
                    "available": w.quantity - short[str(w.line.line_no)],
                }
                for w in refused
            ],
            requested=sum(w.quantity for w in refused),
            available=sum(w.quantity - short[str(w.line.line_no)] for w in refused),
        )
    by_no = {w.line.line_no: w for w in wanted}
    holds: list[inventory.AllocatedHold] = []
    placed: list[tuple[OrderLineRow, str, int, str]] = []
    reserved: dict[int, int] = {}
    for part in parts:
        line = by_no[int(part.line)].line
        seq = len(line.allocations) + 1 + sum(1 for p in placed if p[0] is line)
        key = _key(order.id, line.line_no, seq)
        holds.append(
            inventory.AllocatedHold(key=key, sku=line.sku, location=part.location, quantity=part.quantity)
        )
        placed.append((line, part.location, part.quantity, key))
        reserved[line.line_no] = reserved.get(line.line_no, 0) + part.quantity
    return Plan(picture, holds, placed, Outcome(explanation, reserved, {int(n): q for n, q in short.items()}))


def apply_plan(plan: Plan) -> None:
    """Record the plan on the line rows (in memory): their allocation parts and reserved units."""
    for line, location, quantity, key in plan.placed:
        part = {"seq": len(line.allocations) + 1, "location": location, "quantity": quantity, "key": key,
                "status": "active"}  # fmt: skip
        line.allocations = [*line.allocations, part]
        line.reserved += quantity


def take_stock(uow: UnitOfWork, plan: Plan, *, locks_last: bool = False) -> None:
    """Hold what the plan chose. Raises inventory.StalePlan when stock moved since its picture (with
    `locks_last`, the transaction must then be rolled back: its rows were written before the stock rows)."""
    if plan.picture is not None and plan.holds:
        inventory.reserve_allocated(uow, picture=plan.picture, holds=plan.holds, locks_last=locks_last)


def hold_stock(
    uow: UnitOfWork,
    *,
    order: OrderRow,
    wanted: Sequence[Wanted],
    items: dict[str, catalog.ItemRef],
    partial: bool = True,
) -> Outcome:
    """Plan and hold `wanted` (see `plan_stock`), re-planning from a fresh picture when stock moved meanwhile;
    the line rows are updated in memory."""
    for _ in range(_ATTEMPTS):
        plan = plan_stock(uow, order=order, wanted=wanted, items=items, partial=partial)
        try:
            take_stock(uow, plan)
        except inventory.StalePlan as stale:
            log.debug("allocation of order %s went stale at %s/%s: re-planning", order.number, stale.sku,
                      stale.location)  # fmt: skip
            continue
        apply_plan(plan)
        return plan.outcome
    raise InsufficientStock(
        "stock kept moving while this order was allocated; try again", requested=0, available=0
    )


def release_holds(uow: UnitOfWork, line: OrderLineRow, units: int | None = None) -> int:
    """Give back up to `units` (all when None) of the line's held units, newest part first; returns how many."""
    left = line.reserved if units is None else min(units, line.reserved)
    released = 0
    parts = [dict(p) for p in line.allocations]
    keys: list[str] = []
    for part in sorted(parts, key=lambda p: -int(p["seq"])):
        if left == 0:
            break
        if part["status"] != "active":
            continue
        if part["quantity"] > left:
            break  # a reservation is released whole; a smaller cut keeps this part (rare: partial line cancels)
        keys.append(part["key"])
        part["status"] = "released"
        left -= part["quantity"]
        released += part["quantity"]
    inventory.release_all(uow, keys=keys)
    line.allocations = parts
    line.reserved -= released
    return released


# --- backorders -------------------------------------------------------------------------------------------------

_WAITING = (
    sa.select(
        OrderLineRow.order_id,
        OrderLineRow.line_no,
        OrderLineRow.backordered,
        OrderRow.priority,
        OrderRow.placed_at,
        OrderRow.number,
    )
    .join(OrderRow, OrderRow.id == OrderLineRow.order_id)
    .where(
        OrderLineRow.item_id.in_(sa.bindparam("items", expanding=True)),
        OrderLineRow.backordered > 0,
        OrderRow.status.in_(("pending", "on_hold", "released", "partially_shipped")),
    )
)


@use_case
def release_backorders(uow: UnitOfWork, *, item_id: uuid.UUID) -> int:
    """Give newly available stock of an item (or of a kit it is part of) to the lines waiting for it: highest
    priority first, then the oldest; each line takes what there is. Returns the units released."""
    candidates = [item_id, *catalog.kits_containing(uow, item_id=item_id)]
    rows = uow.session.execute(_WAITING, {"items": candidates}).all()
    if not rows:
        return 0
    waiting = [
        rules.Backorder(f"{r.order_id}/{r.line_no}", str(r.line_no), r.backordered, r.priority, r.placed_at)
        for r in rows
    ]
    released = 0
    # Each order in the release order, locked (fixed order within one call: the release order), then given what
    # its lines can have now.
    for backorder in sorted(waiting, key=lambda b: (-b.priority, b.placed_at, b.order)):
        order_id = uuid.UUID(backorder.order.split("/")[0])
        released += _fill(uow, order_id, int(backorder.line))
    return released


def _fill(uow: UnitOfWork, order_id: uuid.UUID, line_no: int) -> int:
    order = uow.session.scalar(sa.select(OrderRow).where(OrderRow.id == order_id).with_for_update())
    line = uow.session.scalar(
        sa.select(OrderLineRow)
        .where(OrderLineRow.order_id == order_id, OrderLineRow.line_no == line_no)
        .with_for_update()
    )
    if order is None or line is None or line.backordered == 0:
        return 0
    items = refs_for(uow, [line.sku])
    try:
        outcome = hold_stock(uow, order=order, wanted=[Wanted(line, line.backordered, True)], items=items)
    except InsufficientStock:
        return 0
    got = outcome.reserved.get(line.line_no, 0)
    if got == 0:
        return 0
    line.backordered -= got
    order.allocation = [
        *order.allocation,
        *(f"backorder released: line {line.line_no}: {e}" for e in outcome.explanation),
    ]
    order.fulfillment_status = fulfillment_status(
        list(uow.session.scalars(sa.select(OrderLineRow).where(OrderLineRow.order_id == order.id)))
    )
    order.version += 1
    order.updated_at = uow.now()
    record(
        uow,
        order,
        "order.allocated",
        {
            "line": line.line_no,
            "sku": line.sku,
            "quantity": got,
            "backordered": line.backordered,
            "reason": "backorder_released",
        },
    )
    uow.audit(
        "order.backorder_released",
        object_type="order",
        object_id=str(order.id),
        after={"line": line.line_no, "quantity": got, "still_backordered": line.backordered},
    )
    return got


_NEVER_ADD_STOCK = frozenset(
    {"reserved", "consumed", "short_pick"}
)  # causes of `stock.changed` that free no units


def may_release_backorders(event: Event) -> bool:
    """Whether a `stock.changed` event can free units for a backorder: some division has units available and
    the change was not a reservation or a shipment (which only ever take units away)."""
    available = event.payload.get("available") or {}
    return event.payload.get("cause") not in _NEVER_ADD_STOCK and any(
        units > 0 for units in available.values()
    )


def on_stock_changed(uow: UnitOfWork, event: Event) -> None:
    """Subscriber: stock became available somewhere — release what waits for it (cheap when nothing waits)."""
    if may_release_backorders(event):
        release_backorders(uow, item_id=uuid.UUID(event.payload["item_id"]))


_BACKORDERED_ITEMS = sa.select(OrderLineRow.item_id).where(OrderLineRow.backordered > 0).distinct()


@use_case
def release_all_backorders(uow: UnitOfWork) -> int:
    """Try every item that something waits for (the periodic sweep); returns the units released."""
    released = 0
    for item_id in list(uow.session.scalars(_BACKORDERED_ITEMS)):
        released += release_backorders(uow, item_id=item_id)
    return released
