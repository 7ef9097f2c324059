"""Purchase orders: drafted, approved, sent to the vendor, cancelled or closed. Every state change is one
conditional UPDATE on the order's status, so two people acting at once cannot both move it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import AlreadyExists, FieldError, IllegalTransition, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number
from ordersmith.platform.paging import keyset_page
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
from ordersmith.purchasing.tables import PurchaseOrderLineRow, PurchaseOrderRow, VendorItemRow, VendorRow

_ORDERS = PurchaseOrderRow.__table__
_LINES = PurchaseOrderLineRow.__table__


@dataclass(frozen=True)
class NewLine:
    sku: str
    quantity: int
    unit_cost: Money | None = None  # None: the vendor's listed cost
    expected_on: date | None = None  # None: today plus the vendor's lead time
    sales_line: int | None = None  # a drop-ship PO: the sales order's line these units are


@use_case
def create_purchase_order(
    uow: UnitOfWork,
    *,
    vendor: str,
    location: str,
    lines: Sequence[NewLine],
    notes: str = "",
    source_reference: str | None = None,
) -> PurchaseOrder:
    """A draft PO to `vendor`, to be received at `location`. Costs default to the vendor's list; each line's
    expected date to today plus the vendor's lead time. `source_reference` is its number in the system it was
    imported from: one PO per reference, ever (kept in upper case).

    Raises:
        AlreadyExists: a PO with this `source_reference` exists (naming it in `source_reference`).
        NotFound: unknown vendor, location or SKU.
        ValidationFailed: no lines, a quantity below 1, an item that keeps no stock, a cost the vendor does not
            list and the caller did not give, a cost in another currency (each naming `lines.N.…`).
    """
    if not lines:
        raise ValidationFailed.on("lines", "a purchase order needs at least one line")
    reference = source_reference.strip().upper() if source_reference else None
    if reference is not None:
        if len(reference) > 60:
            raise ValidationFailed.on("source_reference", "must be at most 60 characters")
        earlier = find_purchase_order(uow, source_reference=reference)
        if earlier is not None:
            raise _reference_taken(reference, earlier.number)
    seller = _vendor_by_code(uow, vendor.upper())
    if not seller.active:
        raise ValidationFailed.on("vendor", f"{seller.code} is inactive")
    ship_to = inventory.get_location(uow, code=location)
    rows = _new_lines(uow, seller, lines)
    now = uow.now()
    number = f"PO-{next_number(uow, PO_SERIES):06d}"
    po = PurchaseOrderRow(id=new_id(), number=number, vendor_id=seller.id, location_id=ship_to.id, status="draft",
                          currency=seller.currency, notes=notes, created_by=uow.actor.label, created_at=now,
                          version=1, source_reference=reference)  # fmt: skip
    uow.session.add(po)
    uow.flush_unique(f"purchase order {reference} was created at the same moment by another caller")
    for n, line in enumerate(rows, start=1):
        line.purchase_order_id, line.line_no = po.id, n
        uow.session.add(line)
    uow.session.flush()
    uow.audit("purchase_order.created", object_type="purchase_order", object_id=number,
              after={"vendor": seller.code, "location": ship_to.code, "lines": len(rows)})  # fmt: skip
    uow.emit("po.created", {"number": number, "vendor": seller.code, "location": ship_to.code})
    return _purchase_order(uow, po)


def _reference_taken(reference: str, number: str) -> AlreadyExists:
    message = f"{reference} is purchase order {number} already"
    return AlreadyExists(message, errors=[FieldError("source_reference", message)], number=number)


@use_case(readonly=True)
def find_purchase_order(uow: UnitOfWork, *, source_reference: str) -> PurchaseOrder | None:
    """The PO imported under `source_reference` (any letter case), or None."""
    row = uow.session.scalar(
        sa.select(PurchaseOrderRow).where(
            PurchaseOrderRow.source_reference == source_reference.strip().upper()
        )
    )
    return _purchase_order(uow, row) if row is not None else None


def _new_lines(
    uow: UnitOfWork, seller: VendorRow, lines: Sequence[NewLine], *, drop_ship: bool = False
) -> list[PurchaseOrderLineRow]:
    today = uow.now().date()
    rows: list[PurchaseOrderLineRow] = []
    for n, line in enumerate(lines):
        if line.quantity < 1:
            raise ValidationFailed.on(f"lines.{n}.quantity", "must be at least 1")
        item = catalog.get_item_ref(uow, sku=line.sku)
        if drop_ship and item.kind != "drop_ship":
            raise ValidationFailed.on(f"lines.{n}.sku", f"{item.sku} is a {item.kind} item, not drop-shipped")
        if not drop_ship and not item.keeps_stock:
            raise ValidationFailed.on(
                f"lines.{n}.sku", f"{item.sku} is a {item.kind} item: it cannot be bought for stock"
            )
        listed = uow.session.get(VendorItemRow, (seller.id, item.id))
        if line.unit_cost is not None:
            if line.unit_cost.currency != seller.currency:
                raise ValidationFailed.on(
                    f"lines.{n}.unit_cost.currency", f"{seller.code} invoices in {seller.currency}"
                )
            if line.unit_cost.amount < 0:
                raise ValidationFailed.on(f"lines.{n}.unit_cost.amount", "cannot be negative")
            cost = line.unit_cost.minor
        elif listed is not None:
            cost = listed.cost_minor
        else:
            raise ValidationFailed.on(
                f"lines.{n}.unit_cost", f"{seller.code} lists no cost for {item.sku}: give one"
            )
        rows.append(PurchaseOrderLineRow(
            id=new_id(), item_id=item.id, vendor_sku=listed.vendor_sku if listed else "", ordered=line.quantity,
            received=0, cancelled=0, unit_cost_minor=cost,
            expected_on=line.expected_on or today + timedelta(days=_lead_time(seller, listed)),
            sales_line=line.sales_line if drop_ship else None))  # fmt: skip
    return rows


def _lead_time(seller: VendorRow, listed: VendorItemRow | None) -> int:
    """The item's own lead time from this vendor, else the vendor's."""
    if listed is not None and listed.lead_time_days is not None:
        return listed.lead_time_days
    return seller.lead_time_days


def _move(uow: UnitOfWork, number: str, action: str, values: dict[str, Any]) -> PurchaseOrderRow:
    """Move the PO from a state `action` allows, with one conditional UPDATE; 409 with the current state else."""
    row = _po_row(uow, number)
    sources, target = rules.TRANSITIONS[action]
    moved = uow.execute_core(
        sa.update(_ORDERS)  # type: ignore[arg-type]
        .where(_ORDERS.c.id == row.id, _ORDERS.c.status.in_(sorted(sources)))
        .values(status=values.pop("status", target), version=_ORDERS.c.version + 1, **values)
        .returning(_ORDERS.c.status)
    ).first()
    uow.session.refresh(row)
    if moved is None:
        raise IllegalTransition(f"{row.number} is {row.status}: cannot {action} it", state=row.status)
    return row


@use_case
def approve(uow: UnitOfWork, *, number: str) -> PurchaseOrder:
    """draft → approved (a manager's decision; the API requires `purchasing:approve`)."""
    row = _move(uow, number, "approve", {"approved_by": uow.actor.label, "approved_at": uow.now()})
    uow.audit("purchase_order.approved", object_type="purchase_order", object_id=row.number)
    uow.emit("po.approved", {"number": row.number})
    return _purchase_order(uow, row)


@use_case
def send(uow: UnitOfWork, *, number: str) -> PurchaseOrder:
    """approved → sent: the vendor has it; from now on it can be received."""
    row = _move(uow, number, "send", {"sent_at": uow.now()})
    uow.audit("purchase_order.sent", object_type="purchase_order", object_id=row.number)
    uow.emit("po.sent", {"number": row.number})
    return _purchase_order(uow, row)


@use_case
def cancel(uow: UnitOfWork, *, number: str, reason: str = "") -> PurchaseOrder:
    """Cancel what is still open on every line. Nothing received yet: the PO is `cancelled`; something received:
    it is `closed` with the remainder cancelled."""
    row = _po_row(uow, number)
    target = rules.status_after_cancel([_figures(line) for line in _line_rows(uow, row.id)])
    row = _move(uow, number, "cancel", {"status": target, "ended_at": uow.now()})
    _cancel_open_lines(uow, row.id)
    uow.audit("purchase_order.cancelled", object_type="purchase_order", object_id=row.number,
              after={"status": row.status, "reason": reason})  # fmt: skip
    uow.emit("po.cancelled", {"number": row.number, "status": row.status})
    return _purchase_order(uow, row)


@use_case
def close(uow: UnitOfWork, *, number: str) -> PurchaseOrder:
    """received (or partially received, short-closing the remainder) → closed."""
    row = _move(uow, number, "close", {"ended_at": uow.now()})
    _cancel_open_lines(uow, row.id)
    uow.audit("purchase_order.closed", object_type="purchase_order", object_id=row.number)
    uow.emit("po.closed", {"number": row.number})
    return _purchase_order(uow, row)


def _cancel_open_lines(uow: UnitOfWork, po_id: uuid.UUID) -> None:
    # The PO's row is locked by the status UPDATE, so no receipt can slip in between: open = ordered - received -
    # cancelled, floored at zero for lines received beyond what was ordered (within tolerance).
    open_units = sa.case((_LINES.c.ordered > _LINES.c.received + _LINES.c.cancelled,
                          _LINES.c.ordered - _LINES.c.received - _LINES.c.cancelled), else_=0)  # fmt: skip
    uow.execute_core(
        sa.update(_LINES).where(_LINES.c.purchase_order_id == po_id)  # type: ignore[arg-type]
        .values(cancelled=_LINES.c.cancelled + open_units)
    )  # fmt: skip


@use_case(readonly=True)
def get_purchase_order(uow: UnitOfWork, *, number: str) -> PurchaseOrder:
    return _purchase_order(uow, _po_row(uow, number))


@use_case(readonly=True)
def list_purchase_orders(
    uow: UnitOfWork, *, status: str | None = None, vendor: str | None = None, cursor: str | None = None,
    limit: int = 50,
) -> Page[PurchaseOrder]:  # fmt: skip
    """Purchase orders, newest first, optionally by status and vendor."""
    query = sa.select(PurchaseOrderRow)
    if status is not None:
        if status not in rules.STATUSES:
            raise ValidationFailed.on("status", f"must be one of {', '.join(rules.STATUSES)}")
        query = query.where(PurchaseOrderRow.status == status)
    if vendor is not None:
        query = query.where(PurchaseOrderRow.vendor_id == _vendor_by_code(uow, vendor.upper()).id)
    return keyset_page(uow, query, keys=[PurchaseOrderRow.id], to_item=lambda r: _purchase_order(uow, r),
                       cursor=cursor, limit=limit, descending=True)  # fmt: skip
