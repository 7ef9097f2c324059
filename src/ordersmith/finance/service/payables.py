"""Accounts payable, the bill side: vendor bills entered and matched three ways (the purchase order's lines, what was
received, the bill), an exception with its reasons put in the queue, and the reading of bills. The decisions on a
bill are `bill_decisions`', the queue and the tolerances `match_queue`'s, payments `vendor_payments`'.

The PO, its lines, receipts and the vendor's terms are purchasing's, read through `purchasing.service`. Invariants:
a bill changes status only along `matching.TRANSITIONS`, each move one conditional UPDATE (two approvals at once:
one wins, the other is a 409); `finance_po_line_billing` holds the units of each PO line on bills that are not
rejected, and its rows are locked while a bill is matched, so two bills for the same goods see each other.
Approving a bill emits `vendor_bill.approved`, which the posting rules turn into Dr GRNI (+ price variance) / Cr AP.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.finance import matching
from ordersmith.finance.tables import (
    MatchExceptionRow,
    MatchToleranceRow,
    PoLineBillingRow,
    VendorBillLineRow,
    VendorBillRow,
)
from ordersmith.kernel.errors import (
    AlreadyExists,
    FieldError,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money, exact_money
from ordersmith.kernel.pagination import Page, check_limit, decode_cursor, encode_cursor
from ordersmith.payments import rules as payment_rules
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number
from ordersmith.purchasing import service as purchasing

_BILLS = cast(sa.Table, VendorBillRow.__table__)
_LINES = cast(sa.Table, VendorBillLineRow.__table__)
_EXCEPTIONS = cast(sa.Table, MatchExceptionRow.__table__)
_TOLERANCES = cast(sa.Table, MatchToleranceRow.__table__)
_BILLED_TABLE = cast(sa.Table, PoLineBillingRow.__table__)
BILL_SERIES = "vendor_bill"
DEFAULT_AMOUNT_TOLERANCE = Decimal(
    "1.00"
)  # in the bill's currency, when the vendor has no tolerances of its own
_MAX_MINOR = 10**15  # a bill's total and each line's amount, in minor units (far inside BIGINT)
_NOT_BILLABLE = ("draft", "approved", "cancelled")  # the vendor has not been sent the PO

# Add units billed on a PO line and return the new total; with 0 it only locks the row and reads it. Plain SQL
# both databases speak (compiled once).
_BILLED = sa.text(
    "INSERT INTO finance_po_line_billing (purchase_order, line_no, billed_quantity) VALUES (:po, :line, :quantity) "
    "ON CONFLICT (purchase_order, line_no) DO UPDATE "
    "SET billed_quantity = finance_po_line_billing.billed_quantity + :quantity RETURNING billed_quantity"
)


CHARGE_KINDS = (
    "freight",
    "duty",
    "brokerage",
    "other",
)  # landed-cost lines: not goods, not matched (ADR 0041)
LINE_KINDS = ("goods", *CHARGE_KINDS)


@dataclass(frozen=True)
class NewBillLine:
    """A line of a vendor bill as entered: the PO line it bills, units and the unit price as typed (digits, in the
    PO's currency), and the SKU (optional; checked against the PO line when given). A charge line (`kind` freight,
    duty, brokerage, other) bills no PO line (`po_line` 0): its amount clears landed costs accrued."""

    po_line: int
    quantity: int
    unit_price: str
    sku: str | None = None
    kind: str = "goods"


@dataclass(frozen=True)
class BillLine:
    line: int
    po_line: int  # 0 on a charge line
    sku: str
    quantity: int
    unit_price: Money
    amount: Money
    unit_cost: Money  # the PO line's
    kind: str = "goods"


@dataclass(frozen=True)
class MatchReason:
    code: str  # not_received | quantity | price | amount
    line: int | None  # the bill's line, None for the bill as a whole
    detail: str


@dataclass(frozen=True)
class VendorBill:
    id: uuid.UUID
    number: str
    vendor: str
    vendor_invoice: str
    purchase_order: str
    currency: str
    billed_on: date
    due_on: date
    status: str
    total: Money
    receipt_value: Money  # the units billed at the PO's unit costs
    variance: Money  # total - charges - receipt_value: the purchase price variance
    paid: Money
    balance: Money  # what is still owed once approved: total - paid
    reasons: list[MatchReason]
    note: str
    source: str
    entered_by: str
    approved_by: str | None
    approved_at: datetime | None
    created_at: datetime
    version: int
    lines: list[BillLine]
    charges: Money  # the charge lines (freight, duty, …): landed costs, outside the match


# ---- reading ---------------------------------------------------------------------------------------------------


def _reasons(found: Sequence[dict[str, Any]]) -> list[MatchReason]:
    return [MatchReason(str(r["code"]), cast(int | None, r.get("line")), str(r["detail"])) for r in found]


def _bill(row: Any, lines: Sequence[Any]) -> VendorBill:
    c = row.currency

    def money(minor: int) -> Money:
        return Money.from_minor(minor, c)

    return VendorBill(
        id=row.id,
        number=row.number,
        vendor=row.vendor,
        vendor_invoice=row.vendor_invoice,
        purchase_order=row.purchase_order,
        currency=c,
        billed_on=row.billed_on,
        due_on=row.due_on,
        status=row.status,
        total=money(row.total_minor),
        receipt_value=money(row.receipt_value_minor),
        variance=money(row.total_minor - row.charges_minor - row.receipt_value_minor),
        paid=money(row.paid_minor),
        balance=money(row.total_minor - row.paid_minor),
        reasons=_reasons(row.reasons or []),
        note=row.note,
        source=row.source,
        entered_by=row.entered_by,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        created_at=row.created_at,
        version=row.version,
        lines=[
            BillLine(
                line=x.line_no,
                po_line=x.po_line,
                sku=x.sku,
                quantity=x.quantity,
                unit_price=money(x.unit_price_minor),
                amount=money(x.unit_price_minor * x.quantity),
                unit_cost=money(x.unit_cost_minor),
                kind=x.kind,
            )
            for x in lines
        ],
        charges=money(row.charges_minor),
    )


def _bill_row(uow: UnitOfWork, ref: str) -> Any:
    try:
        match = _BILLS.c.id == uuid.UUID(ref)
    except ValueError:
        match = _BILLS.c.number == ref.strip().upper()
    row = uow.execute_core(sa.select(_BILLS).where(match)).first()
    if row is None:
        raise NotFound(f"no vendor bill {ref!r}")
    return row


def _line_rows(uow: UnitOfWork, bill_id: uuid.UUID) -> list[Any]:
    query = sa.select(_LINES).where(_LINES.c.bill_id == bill_id).order_by(_LINES.c.line_no)
    return list(uow.execute_core(query).all())


def _load(uow: UnitOfWork, bill_id: uuid.UUID) -> VendorBill:
    row = uow.execute_core(sa.select(_BILLS).where(_BILLS.c.id == bill_id)).one()
    return _bill(row, _line_rows(uow, bill_id))


@use_case(readonly=True)
def get_vendor_bill(uow: UnitOfWork, *, ref: str) -> VendorBill:
    """A bill by its number (`VB-000001`) or id, with its lines and the reasons of its last match.

    Raises:
        NotFound: no such bill.
    """
    row = _bill_row(uow, ref)
    return _bill(row, _line_rows(uow, row.id))


@use_case(readonly=True)
def list_vendor_bills(
    uow: UnitOfWork,
    *,
    status: str | None = None,
    vendor: str | None = None,
    purchase_order: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[VendorBill]:
    """Bills newest first, filtered by status, vendor or purchase order (two reads a page).

    Raises:
        ValidationFailed: an unknown status, a malformed cursor or a limit out of range (naming the field).
    """
    check_limit(limit)
    query = sa.select(_BILLS)
    if status is not None:
        if status not in matching.BILL_STATUSES:
            raise ValidationFailed.on("status", f"one of {', '.join(matching.BILL_STATUSES)}")
        query = query.where(_BILLS.c.status == status)
    if vendor is not None:
        query = query.where(_BILLS.c.vendor == vendor.strip().upper())
    if purchase_order is not None:
        query = query.where(_BILLS.c.purchase_order == purchase_order.strip().upper())
    if cursor:
        query = query.where(_BILLS.c.id < _cursor_id(cursor))
    rows = uow.execute_core(query.order_by(_BILLS.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    lines: dict[uuid.UUID, list[Any]] = {}
    if rows:
        found = sa.select(_LINES).where(_LINES.c.bill_id.in_([r.id for r in rows]))
        for line in uow.execute_core(found.order_by(_LINES.c.bill_id, _LINES.c.line_no)):
            lines.setdefault(line.bill_id, []).append(line)
    return Page(
        [_bill(r, lines.get(r.id, [])) for r in rows], encode_cursor(str(rows[-1].id)) if more else None
    )


def _cursor_id(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(decode_cursor(cursor, 1)[0])
    except ValueError:
        raise ValidationFailed.on("cursor", "malformed cursor") from None


# ---- tolerances ------------------------------------------------------------------------------------------------


def _tolerance(uow: UnitOfWork, vendor: str, currency: str) -> matching.Tolerance:
    row = uow.execute_core(sa.select(_TOLERANCES).where(_TOLERANCES.c.vendor == vendor)).first()
    if row is None:
        return matching.Tolerance(
            quantity_pct=matching.DEFAULT_TOLERANCE.quantity_pct,
            price_pct=matching.DEFAULT_TOLERANCE.price_pct,
            amount_minor=Money(DEFAULT_AMOUNT_TOLERANCE, currency).minor,
        )
    return matching.Tolerance(
        quantity_pct=Decimal(row.quantity_bp) / 100,
        price_pct=Decimal(row.price_bp) / 100,
        amount_minor=row.amount_minor,
    )


# ---- entering and matching -------------------------------------------------------------------------------------


def _purchase_order(uow: UnitOfWork, number: str) -> purchasing.PurchaseOrder:
    if not number.strip():
        raise ValidationFailed.on("purchase_order", "the purchase order the bill is for")
    try:
        return purchasing.get_purchase_order(uow, number=number)
    except NotFound:
        raise ValidationFailed.on("purchase_order", f"no purchase order {number!r}") from None


def _detail(errors: Sequence[FieldError]) -> str:
    """A refusal's detail that names each field (the CLI prints only this line)."""
    return "; ".join(f"{e.field}: {e.message}" for e in errors)


def _check_lines(po: purchasing.PurchaseOrder, lines: Sequence[NewBillLine]) -> list[Money]:
    """Each line's unit price in the PO's currency; a refusal names every line that does not fit the PO."""
    if not lines:
        raise ValidationFailed.on("lines", "a bill needs at least one line")
    on_po = {line.line: line for line in po.lines}
    errors: list[FieldError] = []
    prices: list[Money] = []
    for n, line in enumerate(lines):
        found = on_po.get(line.po_line)
        if line.kind not in LINE_KINDS:
            errors.append(FieldError(f"lines.{n}.kind", f"one of {', '.join(LINE_KINDS)}"))
        elif line.kind != "goods":
            if line.po_line:
                errors.append(FieldError(f"lines.{n}.po_line", f"a {line.kind} line bills no PO line"))
        elif found is None:
            known = ", ".join(str(x) for x in sorted(on_po))
            errors.append(
                FieldError(
                    f"lines.{n}.po_line", f"{po.number} has no line {line.po_line} (its lines: {known})"
                )
            )
        elif line.sku is not None and line.sku.strip().upper() != found.sku.upper():
            errors.append(FieldError(f"lines.{n}.sku", f"{po.number} line {line.po_line} is {found.sku}"))
        if not 1 <= line.quantity <= 10_000_000:
            errors.append(FieldError(f"lines.{n}.quantity", "a whole number from 1 to 10,000,000"))
        try:
            price = exact_money(line.unit_price.strip(), po.currency)
        except ValueError as exc:
            errors.append(FieldError(f"lines.{n}.unit_price", str(exc)))
            continue
        if not 0 <= price.minor <= 10**12:
            errors.append(FieldError(f"lines.{n}.unit_price", "from 0 to 10,000,000,000"))
        elif price.minor * max(line.quantity, 0) > _MAX_MINOR:
            errors.append(
                FieldError(f"lines.{n}.unit_price", "the line's amount is larger than a bill may be")
            )
        prices.append(price)
    if not errors and sum(p.minor * x.quantity for p, x in zip(prices, lines, strict=True)) > _MAX_MINOR:
        errors.append(FieldError("lines", "the bill's total is larger than a bill may be"))
    if errors:
        raise ValidationFailed(_detail(errors), errors=errors)
    return prices


@use_case
def enter_vendor_bill(
    uow: UnitOfWork,
    *,
    purchase_order: str,
    vendor_invoice: str,
    billed_on: date,
    lines: Sequence[NewBillLine],
    vendor: str | None = None,
    currency: str | None = None,
    source: str = "api",
) -> VendorBill:
    """Enter a vendor's bill against one purchase order and match it three ways at once: it becomes `matched`
    (ready for approval) or `exception` (in the queue, with its reasons). Due by the vendor's terms from
    `billed_on`.

    Raises:
        ValidationFailed: no such PO, a line naming a PO line that does not exist (or another SKU), a quantity
            below 1, a price in another currency, another vendor than the PO's (each naming its field).
        IllegalTransition: the PO was never sent to the vendor (draft, approved) or was cancelled.
        AlreadyExists: the vendor's invoice number was entered before (409 naming `vendor_invoice`).
    """
    invoice = vendor_invoice.strip()
    if not invoice or len(invoice) > 60 or "\x00" in invoice:
        raise ValidationFailed.on("vendor_invoice", "the vendor's invoice number, at most 60 characters")
    po = _purchase_order(uow, purchase_order)
    billed_by = _billed_by(uow, po, vendor, lines)
    if currency is not None and currency.strip().upper() != po.currency:
        raise ValidationFailed.on("currency", f"{po.number} is in {po.currency}: the bill must be too")
    if po.status in _NOT_BILLABLE:
        raise IllegalTransition(
            f"{po.number} is {po.status}: a vendor bills only a PO it was sent", state=po.status
        )
    prices = _check_lines(po, lines)
    duplicate = uow.execute_core(
        sa.select(_BILLS.c.number).where(_BILLS.c.vendor == billed_by, _BILLS.c.vendor_invoice == invoice)
    ).first()
    if duplicate is not None:
        raise AlreadyExists(
            f"{billed_by}'s invoice {invoice} was entered already as {duplicate.number}",
            errors=[FieldError("vendor_invoice", f"entered already as {duplicate.number}")],
        )
    terms = purchasing.get_vendor(uow, code=billed_by).terms
    now, bill_id = uow.now(), new_id()
    number = f"VB-{next_number(uow, BILL_SERIES):06d}"
    costs = {line.line: line for line in po.lines}
    uow.execute_core(
        sa.insert(_BILLS).values(
            id=bill_id,
            number=number,
            vendor=billed_by,
            vendor_invoice=invoice,
            purchase_order=po.number,
            po_kind=po.kind,
            currency=po.currency,
            billed_on=billed_on,
            due_on=payment_rules.due_on(billed_on, terms),
            status="entered",
            total_minor=sum(line.quantity * price.minor for line, price in zip(lines, prices, strict=True)),
            receipt_value_minor=0,
            charges_minor=0,
            paid_minor=0,
            reasons=[],
            note="",
            source=source,
            entered_by=uow.actor.label,
            created_at=now,
            updated_at=now,
            version=1,
        )
    )
    uow.execute_core(
        sa.insert(_LINES),
        [
            {
                "bill_id": bill_id,
                "line_no": n,
                "po_line": line.po_line if line.kind == "goods" else 0,
                "sku": costs[line.po_line].sku if line.kind == "goods" else "",
                "quantity": line.quantity,
                "unit_price_minor": price.minor,
                "unit_cost_minor": costs[line.po_line].unit_cost.minor if line.kind == "goods" else 0,
                "kind": line.kind,
            }
            for n, (line, price) in enumerate(zip(lines, prices, strict=True), start=1)
        ],
    )
    _count_billed(uow, po.number, lines, sign=1)
    uow.audit(
        "vendor_bill.entered",
        object_type="vendor_bill",
        object_id=number,
        after={
            "vendor": billed_by,
            "vendor_invoice": invoice,
            "purchase_order": po.number,
            "lines": len(lines),
            "source": source,
        },
    )
    uow.emit("vendor_bill.entered", {"number": number, "vendor": billed_by, "purchase_order": po.number})
    return _match(uow, bill_id, po)


def _billed_by(
    uow: UnitOfWork, po: purchasing.PurchaseOrder, vendor: str | None, lines: Sequence[NewBillLine]
) -> str:
    """The vendor billing: the PO's; a bill of charge lines only (a carrier's freight, a broker's duty) may come
    from another vendor (ADR 0041).

    Raises:
        ValidationFailed: another vendor on a bill for goods, or an unknown vendor (naming `vendor`).
    """
    if vendor is None or vendor.strip().upper() == po.vendor:
        return po.vendor
    if not lines or any(line.kind == "goods" for line in lines):
        raise ValidationFailed.on("vendor", f"{po.number} is from {po.vendor}")
    try:
        return purchasing.get_vendor(uow, code=vendor.strip()).code
    except NotFound:
        raise ValidationFailed.on("vendor", f"no vendor {vendor!r}") from None


def _count_billed(
    uow: UnitOfWork, po_number: str, lines: Sequence[NewBillLine] | Sequence[Any], *, sign: int
) -> None:
    """Add (sign 1) or take back (sign -1) a bill's units on its PO lines, in line order (one lock order)."""
    units: dict[int, int] = {}
    for line in lines:
        if line.kind == "goods":  # charge lines bill no PO line
            units[line.po_line] = units.get(line.po_line, 0) + line.quantity
    for po_line in sorted(units):
        if sign > 0:
            uow.execute_core(_BILLED, {"po": po_number, "line": po_line, "quantity": units[po_line]})
        else:  # the row exists (the bill counted its units); an INSERT of a negative count would fail its CHECK
            uow.execute_core(
                sa.update(_BILLED_TABLE)
                .where(_BILLED_TABLE.c.purchase_order == po_number, _BILLED_TABLE.c.line_no == po_line)
                .values(billed_quantity=_BILLED_TABLE.c.billed_quantity - units[po_line])
            )


def _match(uow: UnitOfWork, bill_id: uuid.UUID, po: purchasing.PurchaseOrder) -> VendorBill:
    """Run the three-way match of a bill whose row is locked (just written, or claimed by a conditional UPDATE)
    and record the outcome: matched, or an exception with its reasons in the queue."""
    bill = uow.execute_core(sa.select(_BILLS).where(_BILLS.c.id == bill_id)).one()
    every_line = _line_rows(uow, bill_id)
    lines = [x for x in every_line if x.kind == "goods"]
    charges = sum(x.quantity * x.unit_price_minor for x in every_line if x.kind != "goods")
    own: dict[int, int] = {}
    for line in lines:
        own[line.po_line] = own.get(line.po_line, 0) + line.quantity
    billed = {  # locks each PO line's counter until commit: a bill for the same goods waits for this one
        po_line: int(
            uow.execute_core(_BILLED, {"po": po.number, "line": po_line, "quantity": 0}).scalar_one()
        )
        for po_line in sorted(own)
    }
    ordered = {
        line.line: matching.OrderedLine(
            line=line.line,
            sku=line.sku,
            ordered=line.ordered,
            received=line.received,
            unit_cost_minor=line.unit_cost.minor,
            billed_elsewhere=billed[line.line] - own[line.line],
        )
        for line in po.lines
        if line.line in own
    }
    found = matching.three_way_match(
        [matching.BilledLine(x.po_line, x.quantity, x.unit_price_minor) for x in lines],
        ordered,
        _tolerance(uow, po.vendor, po.currency),
    )
    line_no = {n: x.line_no for n, x in enumerate(lines, start=1)}  # the bill's numbers, charge lines between
    reasons = [
        {"code": r.code, "line": line_no[r.line] if r.line is not None else None, "detail": r.detail}
        for r in found.reasons
    ]
    status = "matched" if found.matched else "exception"
    now = uow.now()
    uow.execute_core(
        sa.update(_BILLS)
        .where(_BILLS.c.id == bill_id)
        .values(
            status=status,
            reasons=reasons,
            receipt_value_minor=found.receipt_value_minor,
            total_minor=found.billed_minor + charges,
            charges_minor=charges,
            updated_at=now,
            version=_BILLS.c.version + 1,
        )
    )
    # the lines keep the unit costs they were matched against (the PO's cost may have been corrected since)
    for x in lines:
        cost = next(line.unit_cost.minor for line in po.lines if line.line == x.po_line)
        if cost != x.unit_cost_minor:
            uow.execute_core(
                sa.update(_LINES)
                .where(_LINES.c.bill_id == bill_id, _LINES.c.line_no == x.line_no)
                .values(unit_cost_minor=cost)
            )
    queued = uow.execute_core(
        sa.select(_EXCEPTIONS.c.id).where(_EXCEPTIONS.c.bill_id == bill_id, _EXCEPTIONS.c.status == "open")
    ).first()
    if status == "exception" and queued is not None:  # matched again, still failing: same place in the queue
        uow.execute_core(sa.update(_EXCEPTIONS).where(_EXCEPTIONS.c.id == queued.id).values(reasons=reasons))
    elif status == "exception":
        uow.execute_core(
            sa.insert(_EXCEPTIONS).values(
                id=new_id(), bill_id=bill_id, status="open", reasons=reasons, raised_at=now, note=""
            )
        )
    elif queued is not None:
        _resolve(uow, queued.id, "rematched", "")
    payload = {
        "number": bill.number,
        "vendor": bill.vendor,
        "purchase_order": bill.purchase_order,
        "total": str(Money.from_minor(found.billed_minor + charges, bill.currency).amount),
        "currency": bill.currency,
    }
    if status == "exception":
        uow.emit("vendor_bill.exception", {**payload, "reasons": [r["code"] for r in reasons]})
    else:
        uow.emit("vendor_bill.matched", payload)
    uow.audit(
        "vendor_bill.matched",
        object_type="vendor_bill",
        object_id=bill.number,
        before={"status": bill.status},
        after={"status": status, "reasons": reasons},
    )
    return _load(uow, bill_id)


def _resolve(uow: UnitOfWork, exception_id: uuid.UUID, resolution: str, note: str) -> None:
    uow.execute_core(
        sa.update(_EXCEPTIONS)
        .where(_EXCEPTIONS.c.id == exception_id, _EXCEPTIONS.c.status == "open")
        .values(
            status="resolved",
            resolved_at=uow.now(),
            resolved_by=uow.actor.label,
            resolution=resolution,
            note=note,
        )
    )
