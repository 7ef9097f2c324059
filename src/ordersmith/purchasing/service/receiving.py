"""Receiving against a purchase order: partial receipts into a location, each unit a `receipt` movement in the
stock ledger, the PO's status following its lines, and `po.received` for whoever waits on the stock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import Conflict, FieldError, IllegalTransition, OverReceipt, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.purchasing import rules
from ordersmith.purchasing.service._common import (
    PurchaseOrder,
    _figures,
    _line_rows,
    _location_codes,
    _po_row,
    _purchase_order,
)
from ordersmith.purchasing.tables import (
    PurchaseOrderLineRow,
    PurchaseOrderRow,
    ReceiptLineRow,
    ReceiptRow,
    VendorRow,
)

_ORDERS = PurchaseOrderRow.__table__
_LINES = PurchaseOrderLineRow.__table__


@dataclass(frozen=True)
class ReceivedLine:
    sku: str
    quantity: int
    line: int | None = None  # the PO line number, when the SKU is on more than one line


@use_case
def receive(
    uow: UnitOfWork, *, number: str, lines: Sequence[ReceivedLine], location: str | None = None,
    reference: str = "",
) -> PurchaseOrder:  # fmt: skip
    """Receive some or all of a sent PO into `location` (default: the PO's own). All lines or none.

    Raises:
        NotFound: unknown PO, location or SKU.
        ValidationFailed: no lines, a quantity below 1, a SKU not on the PO (or on several lines without `line`).
        IllegalTransition: the PO is not sent or partially received (409, with its `state`).
        OverReceipt: a line would exceed what was ordered plus the vendor's tolerance (409, with `allowed`).
        Conflict: a drop-ship PO (its vendor ships to the customer: nothing enters our stock).
    """
    if not lines:
        raise ValidationFailed.on("lines", "a receipt needs at least one line")
    po = _po_row(uow, number)
    if po.kind == "drop_ship":
        raise Conflict(
            f"{po.number} is a drop-ship PO: its vendor ships to the customer and nothing enters our stock "
            "(confirm what the vendor shipped instead)",
            kind=po.kind,
        )
    # Lock the PO (and check its state) first: receipts and cancellations of one PO take turns.
    sources = sorted(rules.TRANSITIONS["receive"][0])
    locked = uow.execute_core(
        sa.update(_ORDERS).where(_ORDERS.c.id == po.id, _ORDERS.c.status.in_(sources))  # type: ignore[arg-type]
        .values(version=_ORDERS.c.version + 1).returning(_ORDERS.c.id)
    ).first()  # fmt: skip
    if locked is None:
        uow.session.refresh(po)
        raise IllegalTransition(f"{po.number} is {po.status}: cannot receive against it", state=po.status)
    vendor = uow.session.get(VendorRow, po.vendor_id)
    assert vendor is not None
    into = inventory.get_location(uow, code=location) if location else None
    location_code = into.code if into else next(
        loc.code for loc in inventory.list_locations(uow) if loc.id == po.location_id)  # fmt: skip
    po_lines = _line_rows(uow, po.id)
    refs = catalog.item_refs(uow, ids=[line.item_id for line in po_lines])
    receipt = ReceiptRow(id=new_id(), purchase_order_id=po.id, location_id=into.id if into else po.location_id,
                         reference=reference, received_at=uow.now(), received_by=uow.actor.label)  # fmt: skip
    uow.session.add(receipt)
    uow.session.flush()
    received: list[dict[str, object]] = []
    for n, wanted in enumerate(lines):
        line = _match(wanted, n, po_lines, refs)
        limit = rules.receipt_limit(line.ordered, vendor.over_receipt_pct)
        took = uow.execute_core(
            sa.update(_LINES).where(_LINES.c.id == line.id,  # type: ignore[arg-type]
                                    _LINES.c.received + wanted.quantity <= limit - _LINES.c.cancelled)
            .values(received=_LINES.c.received + wanted.quantity).returning(_LINES.c.received)
        ).first()  # fmt: skip
        if took is None:
            uow.session.refresh(line)
            allowed = max(limit - line.cancelled - line.received, 0)
            raise OverReceipt(
                f"{po.number} line {line.line_no} ({refs[line.item_id].sku}): receiving {wanted.quantity} would "
                f"exceed the {line.ordered} ordered plus {vendor.over_receipt_pct}% tolerance; at most {allowed} more",
                errors=[FieldError(f"lines.{n}.quantity", f"at most {allowed} more")],
                allowed=allowed,
                ordered=line.ordered,
                received=line.received,
            )
        uow.session.add(ReceiptLineRow(receipt_id=receipt.id, line_id=line.id, quantity=wanted.quantity))
        inventory.adjust_stock(uow, sku=refs[line.item_id].sku, location=location_code, quantity=wanted.quantity,
                               reason="receipt", reference=po.number)  # fmt: skip
        received.append({"line": line.line_no, "sku": refs[line.item_id].sku, "quantity": wanted.quantity})
    uow.session.flush()
    for line in po_lines:
        uow.session.refresh(line)
    status = rules.status_after_receipt([_figures(line) for line in po_lines])
    uow.execute_core(
        sa.update(_ORDERS).where(_ORDERS.c.id == po.id)  # type: ignore[arg-type]
        .values(status=status, ended_at=uow.now() if status == "received" else None)
    )  # fmt: skip
    uow.audit("purchase_order.received", object_type="purchase_order", object_id=po.number,
              after={"receipt": str(receipt.id), "location": location_code, "lines": received,
                     "status": status})  # fmt: skip
    uow.emit("po.received", {"number": po.number, "vendor": vendor.code, "location": location_code,
                             "receipt_id": str(receipt.id), "reference": reference, "status": status,
                             "lines": received})  # fmt: skip
    return _purchase_order(uow, po)


def _match(
    wanted: ReceivedLine, n: int, po_lines: list[PurchaseOrderLineRow], refs: dict[uuid.UUID, catalog.ItemRef]
) -> PurchaseOrderLineRow:
    if wanted.quantity < 1:
        raise ValidationFailed.on(f"lines.{n}.quantity", "must be at least 1")
    candidates = [
        line for line in po_lines
        if refs[line.item_id].sku.upper() == wanted.sku.upper() and wanted.line in (None, line.line_no)
    ]  # fmt: skip
    if not candidates:
        raise ValidationFailed.on(f"lines.{n}.sku", f"{wanted.sku} is not on this purchase order")
    if len(candidates) > 1:
        raise ValidationFailed.on(f"lines.{n}.line", f"{wanted.sku} is on several lines: say which")
    return candidates[0]


@dataclass(frozen=True)
class ReceiptLine:
    line: int
    sku: str
    quantity: int


@dataclass(frozen=True)
class Receipt:
    """One delivery received against a PO: where, when, by whom, its delivery note, and the units per line."""

    id: uuid.UUID
    location: str
    reference: str
    received_at: datetime
    received_by: str
    lines: list[ReceiptLine]


@use_case(readonly=True)
def receipts_of(uow: UnitOfWork, *, number: str) -> list[Receipt]:
    """The PO's receipts, oldest first, each with its lines (two reads, whatever the PO's size).

    Raises:
        NotFound: no such PO.
    """
    po = _po_row(uow, number)
    receipts = list(
        uow.session.scalars(
            sa.select(ReceiptRow)
            .where(ReceiptRow.purchase_order_id == po.id)
            .order_by(ReceiptRow.received_at, ReceiptRow.id)
        )
    )
    if not receipts:
        return []
    rows = uow.session.execute(
        sa.select(ReceiptLineRow.receipt_id, PurchaseOrderLineRow.line_no, PurchaseOrderLineRow.item_id,
                  ReceiptLineRow.quantity)
        .join(PurchaseOrderLineRow, PurchaseOrderLineRow.id == ReceiptLineRow.line_id)
        .where(ReceiptLineRow.receipt_id.in_([r.id for r in receipts]))
        .order_by(PurchaseOrderLineRow.line_no)
    ).all()  # fmt: skip
    refs = catalog.item_refs(uow, ids=sorted({r.item_id for r in rows}))
    codes = _location_codes(uow)
    lines: dict[uuid.UUID, list[ReceiptLine]] = {}
    for receipt_id, line_no, item_id, quantity in rows:
        lines.setdefault(receipt_id, []).append(ReceiptLine(line_no, refs[item_id].sku, quantity))
    return [
        Receipt(id=r.id, location=codes[r.location_id], reference=r.reference, received_at=r.received_at,
                received_by=r.received_by, lines=lines.get(r.id, []))
        for r in receipts
    ]  # fmt: skip


@dataclass(frozen=True)
class CostedReceiptLine:
    line: int
    sku: str
    quantity: int
    unit_cost_minor: int  # the PO line's unit cost, in the PO's currency


@dataclass(frozen=True)
class CostedReceipt:
    """A receipt with what finance allocates landed costs by: its PO, currency, location and lines at cost."""

    id: uuid.UUID
    purchase_order: str
    currency: str
    location: str
    received_at: datetime
    lines: list[CostedReceiptLine]


@use_case(readonly=True)
def costed_receipts(uow: UnitOfWork, *, ids: list[uuid.UUID]) -> dict[uuid.UUID, CostedReceipt]:
    """These receipts (those that exist) with their PO's number and currency and each line's units and unit cost,
    in two reads whatever their number."""
    if not ids:
        return {}
    heads = uow.session.execute(
        sa.select(
            ReceiptRow.id,
            ReceiptRow.location_id,
            ReceiptRow.received_at,
            PurchaseOrderRow.number,
            PurchaseOrderRow.currency,
        )
        .join(PurchaseOrderRow, PurchaseOrderRow.id == ReceiptRow.purchase_order_id)
        .where(ReceiptRow.id.in_(sorted(set(ids))))
    ).all()
    if not heads:
        return {}
    rows = uow.session.execute(
        sa.select(
            ReceiptLineRow.receipt_id,
            PurchaseOrderLineRow.line_no,
            PurchaseOrderLineRow.item_id,
            ReceiptLineRow.quantity,
            PurchaseOrderLineRow.unit_cost_minor,
        )
        .join(PurchaseOrderLineRow, PurchaseOrderLineRow.id == ReceiptLineRow.line_id)
        .where(ReceiptLineRow.receipt_id.in_([h.id for h in heads]))
        .order_by(ReceiptLineRow.receipt_id, PurchaseOrderLineRow.line_no)
    ).all()
    refs = catalog.item_refs(uow, ids=sorted({r.item_id for r in rows}))
    codes = _location_codes(uow)
    lines: dict[uuid.UUID, list[CostedReceiptLine]] = {}
    for receipt_id, line_no, item_id, quantity, cost in rows:
        lines.setdefault(receipt_id, []).append(CostedReceiptLine(line_no, refs[item_id].sku, quantity, cost))
    return {
        h.id: CostedReceipt(
            h.id, h.number, h.currency, codes[h.location_id], h.received_at, lines.get(h.id, [])
        )
        for h in heads
    }
