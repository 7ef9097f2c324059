"""Drop-ship purchase orders: the vendor ships a sales order's units straight to its customer.

A drop-ship PO (`kind = 'drop_ship'`) carries the customer's address (`ship_to`), the sales order it serves and,
on each line, the sales order's line. It is approved and sent at once: the sale already decided what is bought,
and the vendor's listed cost decides the price, so there is no buyer's decision left to wait for (a stock PO stays
a draft until a manager approves it). It keeps the buying location every PO has (the first warehouse, whose books
carry its cost) rather than a nullable one: making the column nullable would rebuild `purchase_orders` on SQLite,
and with foreign keys on, dropping the old table cascades to its lines. Nothing is ever received there: receiving
refuses a drop-ship PO, and what the vendor confirms shipped counts as the line's `received` (its cost is the
line's unit cost) without a stock movement. The PO closes when every line is confirmed or cancelled.

Invariant: confirmed + cancelled <= ordered on every line, each change one conditional UPDATE under the PO's row
lock (taken by a conditional UPDATE of its status first), so racing confirmations confirm each unit once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import Conflict, FieldError, IllegalTransition, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number
from ordersmith.purchasing import rules
from ordersmith.purchasing.service._common import (
    PO_SERIES,
    PurchaseOrder,
    _figures,
    _line_rows,
    _po_row,
    _purchase_order,
    _vendor_by_code,
)
from ordersmith.purchasing.service.orders import NewLine, _new_lines
from ordersmith.purchasing.tables import PurchaseOrderLineRow, PurchaseOrderRow, VendorItemRow, VendorRow

_ORDERS: sa.Table = PurchaseOrderRow.__table__  # type: ignore[assignment]
_LINES: sa.Table = PurchaseOrderLineRow.__table__  # type: ignore[assignment]
_ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")


@use_case(readonly=True)
def drop_ship_sources(uow: UnitOfWork, *, item_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """For each item that can be drop-shipped now, its vendor's code: the item's default vendor, active and
    listing a cost for it. Items left out cannot be bought yet (no vendor, an inactive one, no listed cost)."""
    defaults = {i: v for i, v in catalog.default_vendors(uow, ids=item_ids).items() if v is not None}
    if not defaults:
        return {}
    rows = uow.session.execute(
        sa.select(VendorItemRow.item_id, VendorItemRow.vendor_id, VendorRow.code)
        .join(VendorRow, VendorRow.id == VendorItemRow.vendor_id)
        .where(VendorItemRow.item_id.in_(sorted(defaults)), VendorRow.active.is_(True))
    )
    return {item_id: code for item_id, vendor_id, code in rows if defaults[item_id] == vendor_id}


@use_case
def create_drop_ship_order(
    uow: UnitOfWork, *, vendor: str, ship_to: dict[str, Any], sales_order: str, lines: Sequence[NewLine]
) -> PurchaseOrder:
    """A drop-ship PO to `vendor` for `sales_order`, shipping to the customer's `ship_to` address, approved and
    sent at once (see the module docstring). Costs default to the vendor's list; each line names the sales line
    it serves (`NewLine.sales_line`).

    Raises:
        NotFound: unknown vendor or SKU.
        ValidationFailed: no lines, a quantity below 1, an item that is not drop-shipped, a cost the vendor does
            not list, an address without name, line1, city or country, no warehouse to carry the cost.
    """
    if not lines:
        raise ValidationFailed.on("lines", "a purchase order needs at least one line")
    for name in ("name", "line1", "city", "country"):
        if not str(ship_to.get(name) or "").strip():
            raise ValidationFailed.on(f"ship_to.{name}", "the vendor needs it to ship to the customer")
    if not sales_order.strip():
        raise ValidationFailed.on("sales_order", "name the sales order this PO serves")
    seller = _vendor_by_code(uow, vendor.upper())
    if not seller.active:
        raise ValidationFailed.on("vendor", f"{seller.code} is inactive")
    books = next(
        (loc for loc in inventory.list_locations(uow) if loc.active and loc.kind == "warehouse"), None
    )
    if books is None:
        raise ValidationFailed.on("location", "a drop-ship PO's cost is booked at a warehouse: there is none")
    rows = _new_lines(uow, seller, lines, drop_ship=True)
    now, actor = uow.now(), uow.actor.label
    number = f"PO-{next_number(uow, PO_SERIES):06d}"
    address = {name: str(ship_to.get(name) or "") for name in _ADDRESS_FIELDS}
    po = PurchaseOrderRow(
        id=new_id(),
        number=number,
        vendor_id=seller.id,
        location_id=books.id,
        status="sent",
        kind="drop_ship",
        ship_to=address,
        sales_order=sales_order.strip()[:20],
        currency=seller.currency,
        notes=f"drop-ship for sales order {sales_order.strip()}",
        created_by=actor,
        created_at=now,
        approved_by=actor,
        approved_at=now,
        sent_at=now,
        version=1,
    )
    uow.session.add(po)
    uow.session.flush()
    for n, line in enumerate(rows, start=1):
        line.purchase_order_id, line.line_no = po.id, n
        uow.session.add(line)
    uow.session.flush()
    uow.audit(
        "purchase_order.created",
        object_type="purchase_order",
        object_id=number,
        after={
            "vendor": seller.code,
            "kind": "drop_ship",
            "sales_order": po.sales_order,
            "ship_to": address,
            "lines": len(rows),
            "status": "sent",
        },
    )
    for event in ("po.created", "po.approved", "po.sent"):
        uow.emit(
            event,
            {"number": number, "vendor": seller.code, "kind": "drop_ship", "sales_order": po.sales_order},
        )
    return _purchase_order(uow, po)


def _lock_drop_ship(uow: UnitOfWork, number: str, action: str) -> PurchaseOrderRow:
    """The drop-ship PO, its row locked by a conditional UPDATE that also checks it is still open."""
    po = _po_row(uow, number)
    if po.kind != "drop_ship":
        raise Conflict(f"{po.number} is not a drop-ship PO: receive it into stock instead", kind=po.kind)
    sources = sorted(rules.TRANSITIONS["receive"][0])
    locked = uow.execute_core(
        sa.update(_ORDERS)
        .where(_ORDERS.c.id == po.id, _ORDERS.c.status.in_(sources))
        .values(version=_ORDERS.c.version + 1)
        .returning(_ORDERS.c.id)
    ).first()
    uow.session.refresh(po)
    if locked is None:
        raise IllegalTransition(f"{po.number} is {po.status}: cannot {action} it", state=po.status)
    return po


def _wanted(
    po: PurchaseOrderRow, lines: list[PurchaseOrderLineRow], asked: dict[int, int] | None
) -> dict[int, int]:
    by_no = {line.line_no: line for line in lines}
    if asked is None:
        wanted = {n: _figures(line).open for n, line in by_no.items() if _figures(line).open}
    else:
        wanted = dict(asked)
    if not wanted:
        raise Conflict(f"{po.number} has nothing open: every line is confirmed or cancelled")
    for n, units in sorted(wanted.items()):
        line = by_no.get(n)
        if line is None:
            raise ValidationFailed.on(f"lines.{n}", f"no line {n} on {po.number}")
        if units < 1:
            raise ValidationFailed.on(f"lines.{n}", "must be at least 1")
        if units > _figures(line).open:
            raise Conflict(
                f"{po.number} line {n}: {units} unit(s) asked, {_figures(line).open} still open",
                errors=[FieldError(f"lines.{n}", f"at most {_figures(line).open}")],
            )
    return wanted


def _settle(uow: UnitOfWork, po: PurchaseOrderRow) -> str:
    """The PO's status from its lines: closed once nothing is open (cancelled when nothing was confirmed)."""
    figures = [_figures(line) for line in _line_rows(uow, po.id)]
    if all(f.open == 0 for f in figures):
        status = rules.status_after_cancel(figures)
    else:
        status = "partially_received" if any(f.received for f in figures) else "sent"
    uow.execute_core(
        sa.update(_ORDERS)
        .where(_ORDERS.c.id == po.id)
        .values(status=status, ended_at=uow.now() if status in ("closed", "cancelled") else None)
    )
    uow.session.refresh(po)
    return status


@use_case
def confirm_drop_ship(uow: UnitOfWork, *, number: str, lines: dict[int, int] | None = None) -> PurchaseOrder:
    """The vendor shipped `lines` (PO line -> units; everything still open when None) to the customer: those units
    count as received at the line's unit cost (the PO's cost), with no stock movement; the PO closes when nothing
    is left open. All lines or none.

    Raises:
        NotFound: no such PO.
        Conflict: not a drop-ship PO; more units than are open on a line, or nothing open at all.
        IllegalTransition: the PO is closed or cancelled (409, with its `state`).
        ValidationFailed: a line not on the PO, a quantity below 1.
    """
    po = _lock_drop_ship(uow, number, "confirm")
    po_lines = _line_rows(uow, po.id)
    wanted = _wanted(po, po_lines, lines)
    by_no = {line.line_no: line for line in po_lines}
    confirmed: list[dict[str, Any]] = []
    for n, units in sorted(wanted.items()):
        took = uow.execute_core(
            sa.update(_LINES)
            .where(
                _LINES.c.id == by_no[n].id,
                _LINES.c.received + _LINES.c.cancelled + units <= _LINES.c.ordered,
            )
            .values(received=_LINES.c.received + units)
            .returning(_LINES.c.received)
        ).first()
        assert took is not None, "the PO's row lock keeps its lines as read"
        uow.session.refresh(by_no[n])
        confirmed.append(
            {
                "line": n,
                "sales_line": by_no[n].sales_line,
                "quantity": units,
                "cost_minor": by_no[n].unit_cost_minor * units,
            }
        )
    status = _settle(uow, po)
    cost = sum(int(c["cost_minor"]) for c in confirmed)
    detail = {
        "number": po.number,
        "sales_order": po.sales_order,
        "status": status,
        "lines": confirmed,
        "cost_minor": cost,
        "currency": po.currency,
    }
    uow.audit(
        "purchase_order.drop_ship_confirmed", object_type="purchase_order", object_id=po.number, after=detail
    )
    uow.emit("po.drop_ship_confirmed", detail)
    return _purchase_order(uow, po)


@use_case
def cancel_drop_ship_units(
    uow: UnitOfWork, *, number: str, lines: dict[int, int] | None = None, reason: str = ""
) -> PurchaseOrder:
    """The sale no longer wants `lines` (PO line -> units; everything still open when None): they are cancelled
    on the PO, which ends once nothing is open (closed if something was confirmed, else cancelled).

    Raises:
        NotFound: no such PO.
        Conflict: not a drop-ship PO; more units than are open on a line.
        IllegalTransition: the PO has ended already.
        ValidationFailed: a line not on the PO, a quantity below 1.
    """
    po = _lock_drop_ship(uow, number, "cancel")
    po_lines = _line_rows(uow, po.id)
    wanted = _wanted(po, po_lines, lines)
    by_no = {line.line_no: line for line in po_lines}
    for n, units in sorted(wanted.items()):
        uow.execute_core(
            sa.update(_LINES).where(_LINES.c.id == by_no[n].id).values(cancelled=_LINES.c.cancelled + units)
        )
        uow.session.refresh(by_no[n])
    status = _settle(uow, po)
    detail = {
        "number": po.number,
        "status": status,
        "reason": reason,
        "lines": [{"line": n, "quantity": q} for n, q in sorted(wanted.items())],
    }
    uow.audit("purchase_order.cancelled", object_type="purchase_order", object_id=po.number, after=detail)
    uow.emit("po.cancelled", detail)
    return _purchase_order(uow, po)
