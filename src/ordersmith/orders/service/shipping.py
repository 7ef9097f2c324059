"""Shipping an order's units: the warehouse (fulfillment's shipments, or the plain order endpoint) names what
left, its reservations are consumed once, and the order moves to partially shipped or shipped; a picker who finds
fewer units than were held shortens the hold and the line is allocated again; units of an item that keeps no
stock (drop-shipped by its vendor, non-inventory) ship by line, with no reservation to consume.

Invariant: an allocation part ships at most once (its status flips from active under the order's lock, and its
reservation is consumed in the same transaction); `reserved + backordered + cancelled + shipped <= quantity`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.catalog import rules as catalog_rules
from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import Conflict, IllegalTransition, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.orders import rules
from ordersmith.orders.service._common import (
    Order,
    fulfillment_status,
    lines_of,
    load,
    move,
    order_row,
    record,
    shipped_from,
)
from ordersmith.orders.service.allocating import Wanted, hold_stock, refs_for
from ordersmith.orders.service.changes import locked
from ordersmith.orders.tables import OrderEventRow, OrderLineRow, OrderRow
from ordersmith.platform.db import UnitOfWork, use_case


@use_case
def record_shipment(
    uow: UnitOfWork, *, ref: str, lines: dict[int, int] | None = None, tracking: str = ""
) -> Order:
    """The warehouse shipped `lines` (line -> units; all that is held when None): their reservations are consumed
    (stock leaves on hand) and the order moves to partially shipped or shipped. Units ship as whole allocation
    parts, oldest first (fulfillment's shipments name the parts themselves: `ship_allocations`).

    Raises:
        IllegalTransition: the order is not released (held, pending, cancelled, shipped).
        ValidationFailed: more units than are held for a line.
    """
    row = locked(uow, ref)
    rows = lines_of(uow, row.id, lock=True)
    by_no = {line.line_no: line for line in rows}
    wanted = (
        {n: line.reserved for n, line in by_no.items() if line.reserved} if lines is None else dict(lines)
    )
    if not wanted:
        raise ValidationFailed.on("lines", "nothing is held for this order yet")
    keys: list[str] = []
    for n, units in sorted(wanted.items()):
        line = by_no.get(n)
        if line is None:
            raise ValidationFailed.on(f"lines.{n}", f"no line {n} in order {row.number}")
        if units <= 0 or units > line.reserved:
            raise ValidationFailed.on(f"lines.{n}", f"{line.reserved} unit(s) of line {n} are held to ship")
        left = units
        for part in sorted(line.allocations, key=lambda p: int(p["seq"])):
            if left == 0 or part["status"] != "active":
                continue
            if part["quantity"] > left:
                raise ValidationFailed.on(
                    f"lines.{n}",
                    f"ship a whole allocation: {part['quantity']} unit(s) from {part['location']}",
                )
            keys.append(part["key"])
            left -= part["quantity"]
    _ship_parts(uow, row, rows, keys, {"tracking": tracking})
    return load(uow, row)


# Fulfillment's ship step reads the order and its lines in one statement under the order's lock (PostgreSQL
# `FOR UPDATE` takes the order's row and its lines' rows, as `locked` and `lines_of(lock=True)` do; SQLite's writer
# lock is already held) and writes them back with prebuilt Core statements: no ORM objects on the hot path.
_ORDERS = OrderRow.__table__
_LINES = OrderLineRow.__table__
_ORDER_AND_LINES = (
    sa.select(_ORDERS.c.number, _ORDERS.c.channel, _ORDERS.c.status, _ORDERS.c.version, _LINES.c.line_no,
              _LINES.c.quantity, _LINES.c.cancelled, _LINES.c.shipped, _LINES.c.reserved, _LINES.c.backordered,
              _LINES.c.allocations)
    .select_from(_ORDERS.join(_LINES, _LINES.c.order_id == _ORDERS.c.id))
    .where(_ORDERS.c.id == sa.bindparam("order_id"))
    .order_by(_LINES.c.line_no)
    .with_for_update()
)  # fmt: skip
_SHIP_LINE = (
    sa.update(_LINES)  # type: ignore[arg-type]
    .where(_LINES.c.order_id == sa.bindparam("b_order"), _LINES.c.line_no == sa.bindparam("b_line"))
    .values(reserved=sa.bindparam("b_reserved"), shipped=sa.bindparam("b_shipped"),
            allocations=sa.bindparam("b_allocations"))
)  # fmt: skip
_SHIP_ORDER = (
    sa.update(_ORDERS)  # type: ignore[arg-type]
    .where(_ORDERS.c.id == sa.bindparam("b_id"))
    .values(status=sa.bindparam("b_status"), fulfillment_status=sa.bindparam("b_fulfillment"),
            updated_at=sa.bindparam("b_now"), version=sa.bindparam("b_version"))
)  # fmt: skip
_INSERT_EVENT = sa.insert(OrderEventRow.__table__)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class _Counts:
    """A line's units after the shipment, as `fulfillment_status` reads them."""

    quantity: int
    cancelled: int
    shipped: int
    backordered: int


@use_case
def ship_allocations(
    uow: UnitOfWork, *, ref: str, keys: list[str], tracking: str = "", shipment: str = ""
) -> dict[int, int]:
    """Ship exactly these allocation parts (by their reservation keys): each is consumed once — a part already
    shipped or given back refuses the whole call, so two confirmations of one shipment never ship twice. Returns
    line -> units shipped. The order's lock orders racing calls. (Used by fulfillment's ship step only.)

    Raises:
        NotFound: no such order.
        Conflict: a part is not held any more (shipped, released); nothing changes.
        IllegalTransition: the order cannot ship (held, cancelled).
    """
    try:
        order_id = uuid.UUID(ref)
    except ValueError:
        order_id = order_row(uow, ref).id  # raises NotFound
    rows = uow.execute_core(_ORDER_AND_LINES, {"order_id": order_id}).all()
    if not rows:
        locked(uow, str(order_id))  # raises NotFound (every order has lines)
        raise Conflict("the order has no lines to ship")
    head = rows[0]
    chosen = set(keys)
    active = {p["key"] for r in rows for p in r.allocations if p["status"] == "active"}
    gone = [key for key in keys if key not in active]
    if gone or not keys:
        raise Conflict(
            f"order {head.number} no longer holds {len(gone) or 'any'} of these units: shipped, cancelled or "
            "re-allocated meanwhile",
            keys=gone,
        )
    shipped: dict[int, int] = {}
    for r in rows:
        for part in r.allocations:
            if part["key"] in chosen and part["status"] == "active":
                shipped[r.line_no] = shipped.get(r.line_no, 0) + int(part["quantity"])
    where = shipped_from({r.line_no: r.allocations for r in rows}, chosen)
    open_after = sum(r.quantity - r.cancelled - r.shipped - shipped.get(r.line_no, 0) for r in rows)
    action = "ship_all" if open_after == 0 else "ship_part"
    try:
        target = rules.next_status(head.status, action)
    except rules.IllegalMove as exc:
        raise IllegalTransition(str(exc), state=head.status, action=action) from None
    now = uow.now()
    counts = [
        _Counts(r.quantity, r.cancelled, r.shipped + shipped.get(r.line_no, 0), r.backordered) for r in rows
    ]
    uow.execute_core(_SHIP_LINE, [
        {"b_order": order_id, "b_line": r.line_no, "b_reserved": r.reserved - shipped[r.line_no],
         "b_shipped": r.shipped + shipped[r.line_no],
         "b_allocations": [{**p, "status": "shipped"} if p["key"] in chosen and p["status"] == "active" else dict(p)
                           for p in r.allocations]}
        for r in rows if r.line_no in shipped
    ])  # fmt: skip
    uow.execute_core(_SHIP_ORDER, {"b_id": order_id, "b_status": target, "b_now": now, "b_version": head.version + 1,
                                   "b_fulfillment": fulfillment_status(cast(list[OrderLineRow], counts))})  # fmt: skip
    detail: dict[str, Any] = {"tracking": tracking, "shipment": shipment}
    # What each line had shipped before: the ledger recognises each shipment's share of the order (ADR 0030).
    before = {r.line_no: r.shipped for r in rows}
    # Where each line's units left from: finance costs them at that location's average (ADR 0041).
    event = {"from": head.status, "to": target, "lines": shipped, "shipped_before": before, **detail}
    event["locations"] = where
    kind = f"order.{'shipped' if action == 'ship_all' else 'shipped_in_part'}"
    uow.execute_core(_INSERT_EVENT, {"order_id": order_id, "id": new_id(), "kind": kind, "detail": event,
                                     "actor": uow.actor.label, "at": now})  # fmt: skip
    uow.emit(kind, {"order_id": str(order_id), "number": head.number, "channel": head.channel, **event})
    inventory.consume_all(uow, keys=sorted(chosen))
    uow.audit(
        "order.shipped", object_type="order", object_id=str(order_id), after={"lines": shipped, **detail}
    )
    return shipped


def _ship_parts(
    uow: UnitOfWork, row: OrderRow, rows: list[OrderLineRow], keys: list[str], detail: dict[str, Any]
) -> dict[int, int]:
    chosen = set(keys)
    shipped: dict[int, int] = {}
    for line in rows:
        for part in line.allocations:
            if part["key"] in chosen and part["status"] == "active":
                shipped[line.line_no] = shipped.get(line.line_no, 0) + int(part["quantity"])
    open_after = sum(
        line.quantity - line.cancelled - line.shipped - shipped.get(line.line_no, 0) for line in rows
    )
    before = {line.line_no: line.shipped for line in rows}  # for the ledger's share per shipment (ADR 0030)
    where = shipped_from({line.line_no: line.allocations for line in rows}, chosen)  # costed there (ADR 0041)
    move(
        uow,
        row,
        "ship_all" if open_after == 0 else "ship_part",
        {"lines": shipped, "shipped_before": before, "locations": where, **detail},
    )
    for line in rows:
        if line.line_no not in shipped:
            continue
        line.allocations = [
            {**p, "status": "shipped"} if p["key"] in chosen and p["status"] == "active" else dict(p)
            for p in line.allocations
        ]
        line.reserved -= shipped[line.line_no]
        line.shipped += shipped[line.line_no]
    row.fulfillment_status = fulfillment_status(
        rows
    )  # before stock is consumed: the order's row written once
    inventory.consume_all(uow, keys=sorted(chosen))
    uow.audit("order.shipped", object_type="order", object_id=str(row.id), after={"lines": shipped, **detail})
    uow.session.flush()
    return shipped


@use_case
def ship_unstocked(
    uow: UnitOfWork, *, ref: str, lines: dict[int, int], tracking: str = "", shipment: str = ""
) -> dict[int, int]:
    """Units of lines whose item keeps no stock left (a vendor drop-shipped them, a non-inventory item was
    delivered): `lines` is line -> units, each within what is open and not held (`quantity - cancelled - shipped
    - reserved - backordered`). The order moves to partially shipped or shipped with `order.shipped` /
    `order.shipped_in_part` naming `shipment` (payments capture from it). Returns line -> units shipped. All or
    nothing; the order's lock orders racing calls.

    Raises:
        NotFound: no such order.
        ValidationFailed: no lines, a line that does not exist, units below 1.
        Conflict: a line's item keeps stock (or is a kit), or the units are not open (shipped or cancelled
            meanwhile); nothing changes.
        IllegalTransition: the order cannot ship (held, pending, cancelled).
    """
    if not lines:
        raise ValidationFailed.on("lines", "name the lines that shipped")
    row = locked(uow, ref)
    rows = lines_of(uow, row.id, lock=True)
    by_no = {line.line_no: line for line in rows}
    facts = catalog.selling_facts(uow, skus=sorted({line.sku for line in rows}))
    for n, units in sorted(lines.items()):
        line = by_no.get(n)
        if line is None:
            raise ValidationFailed.on(f"lines.{n}", f"no line {n} in order {row.number}")
        if units < 1:
            raise ValidationFailed.on(f"lines.{n}", "must be at least 1")
        kind = facts[catalog_rules.sku_key(line.sku)].kind
        if kind in catalog_rules.STOCK_KEEPING_KINDS or kind == "kit":
            raise Conflict(f"line {n} ({line.sku}) keeps stock: it ships from its allocation", line=n)
        open_units = line.quantity - line.cancelled - line.shipped - line.reserved - line.backordered
        if units > open_units:
            raise Conflict(
                f"order {row.number} line {n}: {units} unit(s) to ship, {max(open_units, 0)} open (shipped or "
                "cancelled meanwhile)",
                line=n,
                open=max(open_units, 0),
            )
    shipped = dict(sorted(lines.items()))
    open_after = sum(
        line.quantity - line.cancelled - line.shipped - shipped.get(line.line_no, 0) for line in rows
    )
    detail: dict[str, Any] = {"lines": shipped, "tracking": tracking, "shipment": shipment, "unstocked": True}
    before = {line.line_no: line.shipped for line in rows}  # for the ledger's share per shipment (ADR 0030)
    move(uow, row, "ship_all" if open_after == 0 else "ship_part", {**detail, "shipped_before": before})
    for n, units in shipped.items():
        by_no[n].shipped += units
    row.fulfillment_status = fulfillment_status(rows)
    uow.audit("order.shipped", object_type="order", object_id=str(row.id), after=detail)
    uow.session.flush()
    return shipped


@use_case
def short_pick(uow: UnitOfWork, *, ref: str, key: str, found: int, note: str = "") -> dict[str, int]:
    """The picker found only `found` of the units an allocation part holds: the part keeps what was found (the
    missing units leave stock as a short pick, to be counted), and the line's missing units are allocated again
    — from another location, or backordered. Returns {"reserved": units held anew, "backordered": units waiting}.

    Raises:
        NotFound: no such order.
        Conflict: the part is not held any more, or holds a kit (count its components instead).
        ValidationFailed: `found` is not fewer than the units held.
    """
    row = locked(uow, ref)
    rows = lines_of(uow, row.id, lock=True)
    line, part = next(
        ((ln, p) for ln in rows for p in ln.allocations if p["key"] == key and p["status"] == "active"),
        (None, None),
    )
    if line is None or part is None:
        raise Conflict(f"order {row.number} no longer holds these units (shipped, cancelled or re-allocated)")
    missing = int(part["quantity"]) - found
    inventory.shorten_reservation(uow, key=key, found=found, reference=f"order {row.number}")
    line.allocations = [
        ({**p, "quantity": found, "status": "active" if found else "short"} if p["key"] == key else dict(p))
        for p in line.allocations
    ]
    line.reserved -= missing
    outcome = hold_stock(
        uow, order=row, wanted=[Wanted(line, missing, True)], items=refs_for(uow, [line.sku])
    )
    waiting = outcome.backordered.get(line.line_no, 0)
    line.backordered += waiting
    row.allocation = [
        *row.allocation,
        *(f"short pick: line {line.line_no}: {e}" for e in outcome.explanation),
    ]
    row.fulfillment_status = fulfillment_status(rows)
    row.version += 1
    row.updated_at = uow.now()
    detail: dict[str, Any] = {"line": line.line_no, "sku": line.sku, "found": found, "missing": missing,
                              "reserved": outcome.reserved.get(line.line_no, 0), "backordered": waiting,
                              "reason": "short_pick", "note": note}  # fmt: skip
    record(uow, row, "order.allocated", detail)
    uow.audit("order.short_picked", object_type="order", object_id=str(row.id), after=detail)
    uow.session.flush()
    return {"reserved": outcome.reserved.get(line.line_no, 0), "backordered": waiting}
