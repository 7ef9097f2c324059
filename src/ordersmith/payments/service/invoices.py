"""Selling on account: an invoice for each shipment (number, terms, due date, lines, tax), and the customer's
payments applied to invoices (the credit limit and the open balance: `credit`).

Invariants: the open balance moves only by conditional UPDATEs (two orders at once cannot both pass a limit only
one of them fits); an invoice is never paid beyond its total; every payment applied lowers the open balance by the
same amount.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.kernel.errors import Conflict, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page
from ordersmith.orders import service as orders
from ordersmith.payments import rules
from ordersmith.payments.service.credit import release_credit
from ordersmith.payments.tables import InvoicePaymentRow, InvoiceRow, PaymentRow
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number
from ordersmith.platform.paging import keyset_page

_INVOICES = cast(sa.Table, InvoiceRow.__table__)


# --- invoices -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoicePayment:
    id: uuid.UUID
    amount: Money
    method: str
    reference: str
    received_on: date
    actor: str
    at: datetime


@dataclass(frozen=True)
class Invoice:
    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    order_number: str
    customer_id: uuid.UUID
    customer_number: str
    terms: str
    currency: str
    lines: list[dict[str, Any]]
    merchandise: Money
    shipping: Money
    tax: Money
    total: Money
    paid: Money
    balance: Money
    status: str
    issued_on: date
    due_on: date
    version: int
    payments: tuple[InvoicePayment, ...] = ()
    written_off: Money | None = None  # of `paid`, what was written off as a bad debt
    overdue_on: date | None = None  # the day the overdue job found it past due


def _invoice(row: InvoiceRow, paid: list[InvoicePaymentRow] | None = None) -> Invoice:
    def m(minor: int) -> Money:
        return Money.from_minor(minor, row.currency)

    return Invoice(
        id=row.id,
        number=row.number,
        order_id=row.order_id,
        order_number=row.order_number,
        customer_id=row.customer_id,
        customer_number=row.customer_number,
        terms=row.terms,
        currency=row.currency,
        lines=list(row.lines),
        merchandise=m(row.merchandise_minor),
        shipping=m(row.shipping_minor),
        tax=m(row.tax_minor),
        total=m(row.total_minor),
        paid=m(row.paid_minor),
        balance=m(row.total_minor - row.paid_minor),
        status=row.status,
        issued_on=row.issued_on,
        due_on=row.due_on,
        version=row.version,
        payments=tuple(
            InvoicePayment(p.id, m(p.amount_minor), p.method, p.reference, p.received_on, p.actor, p.at)
            for p in paid or ()
        ),
        written_off=m(row.written_off_minor or 0),
        overdue_on=row.overdue_on,
    )


def invoice_shipment(
    uow: UnitOfWork, *, payment: PaymentRow, order: orders.Order, amount_minor: int, shipped: dict[int, int]
) -> InvoiceRow:
    """The invoice for what one shipment made due on account (inside the caller's transaction)."""
    assert payment.customer_id is not None
    assert amount_minor > 0
    buyer = customers.buyer_facts(uow, ref=str(payment.customer_id))
    lines: list[dict[str, Any]] = []
    merchandise = tax = 0
    for line in order.lines:
        units = shipped.get(line.line_no, 0)
        open_units = line.quantity - line.cancelled
        if not units or not open_units:
            continue
        amount = (line.merchandise + line.surcharge - line.discount).minor * units // open_units
        line_tax = line.tax.minor * units // open_units
        merchandise += amount
        tax += line_tax
        lines.append(
            {
                "line": line.line_no,
                "sku": line.sku,
                "name": line.name,
                "quantity": units,
                "unit_price": str(line.unit_price.amount),
                "amount_minor": amount,
                "tax_minor": line_tax,
            }
        )
    shipping = max(amount_minor - merchandise - tax, 0)
    issued = uow.now().date()
    terms = buyer.payment_terms or "net30"
    row = InvoiceRow(
        id=new_id(),
        number=f"I-{next_number(uow, 'invoices'):06d}",
        order_id=order.id,
        order_number=order.number,
        payment_id=payment.id,
        customer_id=payment.customer_id,
        customer_number=buyer.number,
        terms=terms,
        currency=payment.currency,
        lines=lines,
        merchandise_minor=min(merchandise, amount_minor),
        shipping_minor=shipping,
        tax_minor=min(tax, amount_minor),
        total_minor=amount_minor,
        paid_minor=0,
        status="open",
        issued_on=issued,
        due_on=rules.due_on(issued, terms),
        created_at=uow.now(),
        updated_at=uow.now(),
        version=1,
    )
    uow.session.add(row)
    uow.session.flush()
    uow.emit(
        "invoice.issued",
        {
            "invoice_id": str(row.id),
            "number": row.number,
            "order_id": str(order.id),
            "customer_id": str(row.customer_id),
            "total": str(Money.from_minor(amount_minor, row.currency).amount),
            "currency": row.currency,
            "due_on": row.due_on.isoformat(),
        },
    )
    return row


def _invoice_row(uow: UnitOfWork, ref: str, *, lock: bool = False) -> InvoiceRow:
    query = sa.select(InvoiceRow)
    try:
        query = query.where(InvoiceRow.id == uuid.UUID(ref))
    except ValueError:
        query = query.where(InvoiceRow.number == ref.strip().upper())
    row = uow.session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no invoice {ref!r}")
    return row


@use_case
def apply_invoice_payment(
    uow: UnitOfWork,
    *,
    invoice: str,
    amount: Money,
    method: str,
    reference: str = "",
    received_on: date | None = None,
) -> Invoice:
    """Apply a customer's payment to an invoice (one conditional UPDATE: never beyond what is still owed).

    Raises:
        ValidationFailed: a non-positive amount or another currency.
        Conflict: more than the invoice's balance (409, with the balance), or a void invoice.
    """
    row = _invoice_row(uow, invoice)
    if amount.currency != row.currency or amount.minor <= 0:
        raise ValidationFailed.on("amount", f"a positive amount in {row.currency}")
    done = uow.session.execute(
        sa.update(_INVOICES)
        .where(
            _INVOICES.c.id == row.id,
            _INVOICES.c.status == "open",
            _INVOICES.c.paid_minor + amount.minor <= _INVOICES.c.total_minor,
        )
        .values(
            paid_minor=_INVOICES.c.paid_minor + amount.minor,
            version=_INVOICES.c.version + 1,
            updated_at=uow.now(),
            status=sa.case(
                (_INVOICES.c.paid_minor + amount.minor == _INVOICES.c.total_minor, "paid"), else_="open"
            ),
        )
    )
    uow.session.refresh(row)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        owed = Money.from_minor(row.total_minor - row.paid_minor, row.currency)
        raise Conflict(
            f"invoice {row.number} is {row.status} with {owed} still owed", balance=str(owed.amount)
        )
    applied = InvoicePaymentRow(
        invoice_id=row.id,
        id=new_id(),
        amount_minor=amount.minor,
        method=method,
        reference=reference[:100],
        received_on=received_on or uow.now().date(),
        actor=uow.actor.label,
        at=uow.now(),
    )
    uow.session.add(applied)
    release_credit(uow, customer_id=row.customer_id, amount_minor=amount.minor)
    uow.audit(
        "invoice.payment_applied",
        object_type="invoice",
        object_id=str(row.id),
        after={"amount_minor": amount.minor, "method": method, "reference": reference},
    )
    facts = {
        "invoice_id": str(row.id),
        "number": row.number,
        "order_id": str(row.order_id),
        "customer_id": str(row.customer_id),
        "currency": row.currency,
    }
    # Every payment applied says how much, by what means and on which day: the ledger posts collections from it
    # ("credit" is a refund on account credited to the invoice; the refund's own event moved the money).
    uow.emit(
        "invoice.payment_applied",
        {
            **facts,
            "invoice_payment_id": str(applied.id),
            "amount": str(amount.amount),
            "method": method,
            "received_on": applied.received_on.isoformat(),
            "balance": str(Money.from_minor(row.total_minor - row.paid_minor, row.currency).amount),
        },
    )
    if row.status == "paid":
        uow.emit(
            "invoice.paid",
            {**facts, "total": str(Money.from_minor(row.total_minor, row.currency).amount)},
        )
    return get_invoice(uow, ref=str(row.id))


def credit_invoices(uow: UnitOfWork, *, payment_id: uuid.UUID, amount_minor: int, note: str) -> int:
    """A refund of goods bought on account, as a credit on the payment's open invoices (oldest first), inside the
    caller's transaction; returns what no open invoice could take."""
    left = amount_minor
    rows = uow.session.scalars(sa.select(InvoiceRow).where(InvoiceRow.payment_id == payment_id,
                                                           InvoiceRow.status == "open")
                               .order_by(InvoiceRow.issued_on, InvoiceRow.number))  # fmt: skip
    for row in list(rows):
        take = min(left, row.total_minor - row.paid_minor)
        if take > 0:
            apply_invoice_payment(uow, invoice=str(row.id), amount=Money.from_minor(take, row.currency),
                                  method="credit", reference=f"credit: {note}"[:100])  # fmt: skip
            left -= take
    return left


@use_case
def write_off_invoice(uow: UnitOfWork, *, invoice: str, reason: str, amount: Money | None = None) -> Invoice:
    """Write off what a customer will not pay on an invoice (all of its balance, or `amount` of it) as a bad debt:
    one conditional UPDATE (never beyond the balance, whatever runs at once) settles it; the invoice is
    `written_off` when nothing is left; what the customer owes on account falls by as much; `invoice.written_off`
    carries the amount to the ledger (Dr bad debts / Cr receivables).

    Raises:
        ValidationFailed: no reason, a non-positive amount or another currency.
        NotFound: no such invoice.
        Conflict: the invoice is not open, or owes less than `amount` (409, with its balance); nothing changes.
    """
    if not reason.strip():
        raise ValidationFailed.on("reason", "say why the invoice will not be paid")
    row = _invoice_row(uow, invoice, lock=True)
    owed = row.total_minor - row.paid_minor
    wanted = owed if amount is None else amount.minor
    if amount is not None and (amount.currency != row.currency or amount.minor <= 0):
        raise ValidationFailed.on("amount", f"a positive amount in {row.currency}")
    done = uow.session.execute(
        sa.update(_INVOICES)
        .where(
            _INVOICES.c.id == row.id,
            _INVOICES.c.status == "open",
            _INVOICES.c.paid_minor + wanted <= _INVOICES.c.total_minor,
            sa.literal(wanted) > 0,
        )
        .values(
            paid_minor=_INVOICES.c.paid_minor + wanted,
            written_off_minor=_INVOICES.c.written_off_minor + wanted,
            version=_INVOICES.c.version + 1,
            updated_at=uow.now(),
            status=sa.case(
                (_INVOICES.c.paid_minor + wanted == _INVOICES.c.total_minor, "written_off"), else_="open"
            ),
        )
    )
    uow.session.refresh(row)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        left = Money.from_minor(row.total_minor - row.paid_minor, row.currency)
        raise Conflict(
            f"invoice {row.number} is {row.status} with {left} still owed", balance=str(left.amount)
        )
    uow.session.add(
        InvoicePaymentRow(
            invoice_id=row.id,
            id=new_id(),
            amount_minor=wanted,
            method="write_off",
            reference=reason.strip()[:100],
            received_on=uow.now().date(),
            actor=uow.actor.label,
            at=uow.now(),
        )
    )
    release_credit(uow, customer_id=row.customer_id, amount_minor=wanted)
    uow.emit(
        "invoice.written_off",
        {
            "invoice_id": str(row.id),
            "number": row.number,
            "order_id": str(row.order_id),
            "customer_id": str(row.customer_id),
            "amount": str(Money.from_minor(wanted, row.currency).amount),
            "currency": row.currency,
            "reason": reason.strip()[:500],
            "balance": str(Money.from_minor(row.total_minor - row.paid_minor, row.currency).amount),
        },
    )
    uow.audit(
        "invoice.written_off",
        object_type="invoice",
        object_id=str(row.id),
        before={"balance_minor": owed},
        after={"written_off_minor": wanted, "reason": reason.strip()[:500], "status": row.status},
    )
    return get_invoice(uow, ref=str(row.id))


@use_case
def mark_overdue(uow: UnitOfWork, *, today: date | None = None, limit: int = 1000) -> int:
    """Flag the open invoices that fell past due (`overdue_on`), at most `limit` a call, and emit
    `invoice.overdue` for each (dunning and channels listen). Reads only open invoices not flagged yet, by due
    date (`ix_invoices_due_unflagged`): never the invoicing history. Returns how many were flagged."""
    today = today or uow.now().date()
    rows = list(
        uow.session.scalars(
            sa.select(InvoiceRow)
            .where(InvoiceRow.status == "open", InvoiceRow.overdue_on.is_(None), InvoiceRow.due_on < today)
            .order_by(InvoiceRow.due_on, InvoiceRow.id)
            .limit(limit)
            .with_for_update()
        )
    )
    for row in rows:
        row.overdue_on = today
        uow.emit(
            "invoice.overdue",
            {
                "invoice_id": str(row.id),
                "number": row.number,
                "order_id": str(row.order_id),
                "customer_id": str(row.customer_id),
                "customer_number": row.customer_number,
                "due_on": row.due_on.isoformat(),
                "balance": str(Money.from_minor(row.total_minor - row.paid_minor, row.currency).amount),
                "currency": row.currency,
            },
        )
    uow.session.flush()
    return len(rows)


def overdue_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    while mark_overdue(uow) == 1000:
        pass


@use_case(readonly=True)
def open_invoices(uow: UnitOfWork, *, customer_id: uuid.UUID) -> list[Invoice]:
    """A customer's open invoices, oldest due first (`ix_invoices_customer_open`: open ones only)."""
    query = (
        sa.select(InvoiceRow)
        .where(InvoiceRow.customer_id == customer_id, InvoiceRow.status == "open")
        .order_by(InvoiceRow.due_on, InvoiceRow.number)
    )
    return [_invoice(r) for r in uow.session.scalars(query)]


@use_case(readonly=True)
def invoice_customers(uow: UnitOfWork, *, numbers: list[str]) -> dict[str, str]:
    """The customer number of each invoice number given (unknown numbers are left out): one indexed read."""
    if not numbers:
        return {}
    query = sa.select(InvoiceRow.number, InvoiceRow.customer_number).where(
        InvoiceRow.number.in_(sorted(set(numbers)))
    )
    return {number: customer for number, customer in uow.execute_core(query).all()}


@use_case(readonly=True)
def get_invoice(uow: UnitOfWork, *, ref: str, channel: str | None = None) -> Invoice:
    """By id or number. With `channel` (a channel-bound caller): only an invoice of one of its orders; any other
    answers NotFound exactly as an unknown one does."""
    row = _invoice_row(uow, ref)
    if channel is not None and not orders.order_in_channel(uow, order_id=row.order_id, channel=channel):
        raise NotFound(f"no invoice {ref!r}")
    paid = list(
        uow.session.scalars(
            sa.select(InvoicePaymentRow)
            .where(InvoicePaymentRow.invoice_id == row.id)
            .order_by(InvoicePaymentRow.at)
        )
    )
    return _invoice(row, paid)


@use_case(readonly=True)
def list_invoices(
    uow: UnitOfWork,
    *,
    customer_id: uuid.UUID | None = None,
    status: str | None = None,
    order_id: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
    channel: str | None = None,
) -> Page[Invoice]:
    """Newest first. With `channel` (a channel-bound caller): only the invoices of that channel's orders."""
    query = sa.select(InvoiceRow)
    if channel is not None:
        query = query.where(InvoiceRow.order_id.in_(orders.channel_order_ids(channel)))
    if customer_id is not None:
        query = query.where(InvoiceRow.customer_id == customer_id)
    if order_id is not None:
        query = query.where(InvoiceRow.order_id == order_id)
    if status:
        query = query.where(InvoiceRow.status == status)
    return keyset_page(
        uow, query, keys=[InvoiceRow.id], to_item=_invoice, cursor=cursor, limit=limit, descending=True
    )
