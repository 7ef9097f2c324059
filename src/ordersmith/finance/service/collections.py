"""Collections on accounts receivable: write-offs, unapplied cash (a customer's payment held as a credit and
applied to invoices later), the gift-card and store-credit liabilities against the cards' balances, and dunning
letters.

Invariants: unapplied cash is never applied beyond what was received (one conditional UPDATE, and a CHECK); an
application and the invoice payment it makes commit together or not at all; the AR subledger still equals the AR
control account (unapplied cash sits on its own liability account until applied).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import cast

import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.finance import dunning, rules
from ordersmith.finance.service._common import mappings
from ordersmith.finance.service.receivables import customer_statement
from ordersmith.finance.tables import PeriodBalanceRow, UnappliedCashRow
from ordersmith.fulfillment import documents
from ordersmith.kernel.errors import Conflict, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.payments import service as payments
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number

_UNAPPLIED = cast(sa.Table, UnappliedCashRow.__table__)
_BALANCES = cast(sa.Table, PeriodBalanceRow.__table__)
METHODS = ("check", "transfer", "card", "cash")


@use_case
def write_off_invoice(
    uow: UnitOfWork, *, invoice: str, reason: str, amount: Money | None = None
) -> payments.Invoice:
    """Write off what the customer will not pay on an invoice (its whole balance, or `amount`) as a bad debt:
    payments settles the invoice and lowers what the customer owes on account, and the ledger posts
    Dr bad debts / Cr accounts receivable from `invoice.written_off`.

    Raises:
        ValidationFailed: no reason, a non-positive amount or another currency.
        NotFound: no such invoice.
        Conflict: the invoice is not open or owes less than `amount`; nothing changes.
    """
    return payments.write_off_invoice(uow, invoice=invoice, reason=reason, amount=amount)


@dataclass(frozen=True)
class UnappliedCash:
    id: uuid.UUID
    number: str
    customer_number: str
    amount: Money
    applied: Money
    remaining: Money
    method: str
    reference: str
    received_on: date


def _unapplied(row: UnappliedCashRow) -> UnappliedCash:
    def m(minor: int) -> Money:
        return Money.from_minor(minor, row.currency)

    return UnappliedCash(
        row.id,
        row.number,
        row.customer_number,
        m(row.amount_minor),
        m(row.applied_minor),
        m(row.amount_minor - row.applied_minor),
        row.method,
        row.reference,
        row.received_on,
    )


@use_case
def receive_unapplied_cash(
    uow: UnitOfWork,
    *,
    customer: str,
    amount: Money,
    method: str,
    reference: str = "",
    received_on: date | None = None,
) -> UnappliedCash:
    """Record a customer's payment that is not (yet) applied to an invoice: it is held as a credit on the
    customer's account (`U-000001`) and posted Dr the means of payment / Cr unapplied customer cash.

    Raises:
        ValidationFailed: a non-positive amount, an unknown method, a day in the future.
        NotFound: no such customer.
    """
    if amount.minor <= 0:
        raise ValidationFailed.on("amount", "a positive amount")
    if method not in METHODS:
        raise ValidationFailed.on("method", f"one of {', '.join(METHODS)}")
    today = uow.now().date()
    if received_on is not None and received_on > today:
        raise ValidationFailed.on("received_on", "cannot be in the future")
    buyer = customers.buyer_facts(uow, ref=customer)
    now = uow.now()
    row = UnappliedCashRow(
        id=new_id(),
        number=f"U-{next_number(uow, 'unapplied_cash'):06d}",
        customer_id=buyer.id,
        customer_number=buyer.number,
        currency=amount.currency,
        amount_minor=amount.minor,
        applied_minor=0,
        method=method,
        reference=reference.strip()[:100],
        received_on=received_on or today,
        created_by=uow.actor.label,
        created_at=now,
        updated_at=now,
        version=1,
    )
    uow.session.add(row)
    uow.session.flush()
    uow.emit(
        "unapplied_cash.received",
        {
            "receipt": row.number,
            "receipt_id": str(row.id),
            "customer_id": str(buyer.id),
            "customer_number": buyer.number,
            "amount": str(amount.amount),
            "currency": amount.currency,
            "method": method,
            "received_on": row.received_on.isoformat(),
        },
    )
    uow.audit(
        "unapplied_cash.received",
        object_type="unapplied_cash",
        object_id=str(row.id),
        after={"amount_minor": amount.minor, "method": method, "customer": buyer.number},
    )
    return _unapplied(row)


def _receipt(uow: UnitOfWork, ref: str) -> UnappliedCashRow:
    query = sa.select(UnappliedCashRow)
    try:
        query = query.where(UnappliedCashRow.id == uuid.UUID(ref))
    except ValueError:
        query = query.where(UnappliedCashRow.number == ref.strip().upper())
    row = uow.session.scalar(query)
    if row is None:
        raise NotFound(f"no unapplied cash {ref!r}")
    return row


@use_case
def apply_unapplied_cash(
    uow: UnitOfWork, *, receipt: str, invoice: str, amount: Money | None = None
) -> UnappliedCash:
    """Apply a customer's unapplied cash to one of their invoices (`amount`, or as much as both allow): one
    conditional UPDATE takes it from the credit (never past what was received, whatever runs at once), and the
    invoice payment (method `unapplied_cash`) is made in the same transaction — the ledger posts it Dr unapplied
    customer cash / Cr accounts receivable.

    Raises:
        NotFound: no such receipt or invoice.
        ValidationFailed: the invoice is another customer's or in another currency; a non-positive amount.
        Conflict: the credit or the invoice holds less than `amount` (nothing changes).
    """
    row = _receipt(uow, receipt)
    found = payments.get_invoice(uow, ref=invoice)
    if found.customer_id != row.customer_id or found.currency != row.currency:
        raise ValidationFailed.on(
            "invoice", f"not an invoice of customer {row.customer_number} in {row.currency}"
        )
    if amount is not None and (amount.currency != row.currency or amount.minor <= 0):
        raise ValidationFailed.on("amount", f"a positive amount in {row.currency}")
    wanted = (
        min(row.amount_minor - row.applied_minor, found.balance.minor) if amount is None else amount.minor
    )
    done = uow.execute_core(
        sa.update(_UNAPPLIED)
        .where(
            _UNAPPLIED.c.id == row.id,
            _UNAPPLIED.c.applied_minor + wanted <= _UNAPPLIED.c.amount_minor,
            sa.literal(wanted) > 0,
        )
        .values(
            applied_minor=_UNAPPLIED.c.applied_minor + wanted,
            version=_UNAPPLIED.c.version + 1,
            updated_at=uow.now(),
        )
    )
    if done.rowcount != 1:
        uow.session.refresh(row)
        left = Money.from_minor(row.amount_minor - row.applied_minor, row.currency)
        raise Conflict(f"{row.number} holds {left} unapplied", remaining=str(left.amount))
    payments.apply_invoice_payment(
        uow,
        invoice=invoice,
        amount=Money.from_minor(wanted, row.currency),
        method="unapplied_cash",
        reference=row.number,
    )
    uow.audit(
        "unapplied_cash.applied",
        object_type="unapplied_cash",
        object_id=str(row.id),
        after={"invoice": found.number, "amount_minor": wanted},
    )
    uow.session.refresh(row)
    return _unapplied(row)


@use_case(readonly=True)
def customer_credits(uow: UnitOfWork, *, customer: str) -> list[UnappliedCash]:
    """A customer's unapplied cash still open, oldest first (reads only open credits)."""
    buyer = customers.buyer_facts(uow, ref=customer)
    query = (
        sa.select(UnappliedCashRow)
        .where(
            UnappliedCashRow.customer_id == buyer.id,
            UnappliedCashRow.applied_minor < UnappliedCashRow.amount_minor,
        )
        .order_by(UnappliedCashRow.received_on, UnappliedCashRow.number)
    )
    return [_unapplied(r) for r in uow.session.scalars(query)]


@use_case(readonly=True)
def open_unapplied_cash(uow: UnitOfWork, *, limit: int = 200) -> list[UnappliedCash]:
    """Every customer's unapplied cash still open, oldest first, at most `limit` (the books' cash screen; a few
    dozen at a time in practice: cash is applied within days). Reads only open credits."""
    query = (
        sa.select(UnappliedCashRow)
        .where(UnappliedCashRow.applied_minor < UnappliedCashRow.amount_minor)
        .order_by(UnappliedCashRow.received_on, UnappliedCashRow.number)
        .limit(limit)
    )
    return [_unapplied(r) for r in uow.session.scalars(query)]


# --- gift cards and store credit against their liabilities ---------------------------------------------------------


@dataclass(frozen=True)
class CardLiability:
    """Outstanding card balances of one kind against the liability account(s) they are mapped to."""

    kind: str  # gift_card | store_credit (gift_card+store_credit when both are mapped to one account)
    currency: str
    outstanding: Money  # Σ balances of cards that hold value and were issued or paid for
    liability: Money  # the liability account's balance (credit - debit), all periods
    difference: Money  # liability - outstanding: zero once every event is posted


def _liabilities(uow: UnitOfWork, accounts: dict[str, str]) -> dict[tuple[str, str], int]:
    """Each liability account's balance (credit - debit) per currency, keyed by the kind(s) mapped to it."""
    query = (
        sa.select(
            _BALANCES.c.account_code,
            _BALANCES.c.currency,
            sa.func.sum(_BALANCES.c.credit_minor - _BALANCES.c.debit_minor),
        )
        .where(_BALANCES.c.account_code.in_(sorted(accounts)))
        .group_by(_BALANCES.c.account_code, _BALANCES.c.currency)
    )
    found: dict[tuple[str, str], int] = {}
    for code, currency, net in uow.execute_core(query):
        key = (accounts[code], currency)
        found[key] = found.get(key, 0) + int(net)
    return found


@use_case(readonly=True)
def card_liabilities(uow: UnitOfWork) -> list[CardLiability]:
    """The gift-card and store-credit liability accounts beside the cards' outstanding balances, per currency (one
    aggregating read each: cards holding value, and the accounts' period balances). Kinds mapped to one account
    are compared together (`gift_card+store_credit`)."""
    mapped = mappings(uow)
    kinds_of: dict[str, list[str]] = {}
    for kind in ("gift_card", "store_credit"):
        kinds_of.setdefault(rules.resolve(mapped, "tender", kind), []).append(kind)
    label = {code: "+".join(kinds) for code, kinds in kinds_of.items()}
    group = {kind: label[code] for code, kinds in kinds_of.items() for kind in kinds}
    outstanding: dict[tuple[str, str], int] = {}
    for (kind, currency), money in payments.outstanding_balances(uow).items():
        key = (group.get(kind, kind), currency)
        outstanding[key] = outstanding.get(key, 0) + money.minor
    held = _liabilities(uow, label)
    out = []
    for kind, currency in sorted(set(outstanding) | {k for k, net in held.items() if net}):
        have, owe = outstanding.get((kind, currency), 0), held.get((kind, currency), 0)
        out.append(
            CardLiability(
                kind,
                currency,
                Money.from_minor(have, currency),
                Money.from_minor(owe, currency),
                Money.from_minor(owe - have, currency),
            )
        )
    return out


# --- dunning -------------------------------------------------------------------------------------------------------


@use_case(readonly=True)
def dunning_letter(
    uow: UnitOfWork, *, customer: str, as_of: date, retailer: str = ""
) -> dunning.Letter | None:
    """The dunning letter a customer's past-due invoices call for as of a day (reminder from the first day past
    due, second notice after 30, final notice after 60: `dunning.STAGES`), as text and HTML; None when nothing is
    past due. Names any unapplied cash the customer holds.

    Raises:
        NotFound: no such customer.
    """
    statement = customer_statement(uow, customer=customer, as_of=as_of)
    person = customers.get_customer(uow, ref=customer)
    past = [i for i in statement.items if i.days_past_due > 0]
    if not past:
        return None
    currency = past[0].balance.currency
    items = [
        dunning.PastDue(i.invoice, i.order, i.due_on, i.days_past_due, str(i.balance), i.balance.minor)
        for i in past
        if i.balance.currency == currency
    ]
    credits = [c for c in customer_credits(uow, customer=customer) if c.remaining.currency == currency]
    credit = sum((c.remaining for c in credits), Money.zero(currency))
    return dunning.letter(
        retailer=retailer or "Accounts receivable",
        customer_name=person.display_name,
        customer_number=statement.customer_number,
        on=as_of,
        items=items,
        currency=currency,
        total=str(Money.from_minor(sum(i.balance_minor for i in items), currency).amount),
        credit=str(credit) if credit.minor else "",
    )


# --- the statement as PDF ------------------------------------------------------------------------------------------


@use_case(readonly=True)
def statement_pdf(uow: UnitOfWork, *, customer: str, as_of: date, retailer: str = "") -> bytes:
    """A customer's open-item statement as PDF (the documents package's renderer, the same canvas as invoices):
    open invoices aged as of `as_of`, balances by days past due, the total due and any unapplied cash, in the
    currency the customer owes most in (one statement per currency is the accountant's to ask for).

    Raises:
        NotFound: no such customer.
    """
    found = customer_statement(uow, customer=customer, as_of=as_of)
    person = customers.get_customer(uow, ref=customer)
    aging = max(found.aging, key=lambda row: row.total.minor, default=None)
    currency = aging.currency if aging is not None else (found.credit_limit or Money.zero("USD")).currency
    address = next(
        (a for a in person.addresses if a.kind == "bill_to" and a.is_default),
        next(
            (a for a in person.addresses if a.kind == "bill_to"),
            person.addresses[0] if person.addresses else None,
        ),
    )
    bill_to = documents.Party(
        name=person.display_name,
        lines=tuple(x for x in ((address.line1, address.line2) if address else ()) if x),
        city=address.city if address else "",
        postal_code=address.postal_code if address else "",
        country=address.country if address else "",
        region=(address.region or None) if address else None,
    )
    labels = ("Current", "1-30 days", "31-60 days", "61-90 days", "91-120 days", "Over 120 days")
    zero = Money.zero(currency)
    buckets = tuple(zip(labels, aging.buckets if aging is not None else (zero,) * len(labels), strict=True))
    credits = [
        c.remaining for c in customer_credits(uow, customer=customer) if c.remaining.currency == currency
    ]
    statement = documents.AccountStatement(
        retailer=documents.Party(
            name=retailer or "Accounts receivable", lines=(), city="", postal_code="", country=""
        ),
        customer=bill_to,
        customer_number=found.customer_number,
        as_of=as_of,
        terms=found.terms,
        invoices=tuple(
            documents.StatementInvoice(
                i.invoice, i.order, i.issued_on, i.due_on, i.total, i.paid, i.balance, i.days_past_due
            )
            for i in found.items
            if i.balance.currency == currency
        ),
        buckets=buckets,
        total_due=aging.total if aging is not None else zero,
        unapplied=sum(credits, zero),
        note=f"Credit hold: {found.credit_note}" if found.credit_hold and found.credit_note else "",
    )
    return documents.account_statement_pdf(statement)
