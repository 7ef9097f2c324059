"""Accounts receivable: invoices on account aged by days past due, customer statements (open items), and the
check that the AR subledger (payments' open invoices) equals the AR control account in the ledger.

The subledger is payments' own: invoices, what was paid on them, the customer's terms and credit limit are read
through `payments.service` and `customers.service`, never copied. Invariant: once the relay has posted every
event, Σ open invoice balances = the balance of the accounts receivable accounts, per currency (a refund on account
larger than what its invoices still owed leaves the difference as a credit the customer is owed; it shows here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.finance import rules
from ordersmith.finance.service._common import mappings
from ordersmith.finance.tables import PeriodBalanceRow
from ordersmith.kernel.money import Money
from ordersmith.payments import rules as payment_rules
from ordersmith.payments import service as payments
from ordersmith.platform.db import UnitOfWork, use_case

_BALANCES = cast(sa.Table, PeriodBalanceRow.__table__)

BUCKETS: tuple[str, ...] = tuple(name for name, _label, _low, _high in payment_rules.AGING_BUCKETS)


@dataclass(frozen=True)
class AgingRow:
    customer_number: str
    currency: str
    invoices: int
    buckets: tuple[
        Money, ...
    ]  # in `BUCKETS` order: current, 1-30, 31-60, 61-90, 91-120, over 120 days past due
    total: Money
    oldest_due_on: date


@dataclass(frozen=True)
class Reconciliation:
    """The AR subledger against the control account(s), in one currency."""

    currency: str
    subledger: Money  # Σ open invoice balances
    control: Money  # the balance (debit - credit) of the accounts receivable accounts, all periods
    difference: Money  # control - subledger: zero when every event is posted and no customer holds a credit


@dataclass(frozen=True)
class Aging:
    as_of: date
    buckets: tuple[str, ...]
    rows: list[AgingRow]
    totals: list[AgingRow]  # one per currency, customer_number ""
    reconciliation: list[Reconciliation]


def _receivable_accounts(uow: UnitOfWork) -> set[str]:
    mapped = mappings(uow)
    return {rules.resolve(mapped, "role", "receivable"), rules.resolve(mapped, "tender", "on_account")}


def _control(uow: UnitOfWork) -> dict[str, int]:
    query = (
        sa.select(_BALANCES.c.currency, sa.func.sum(_BALANCES.c.debit_minor - _BALANCES.c.credit_minor))
        .where(_BALANCES.c.account_code.in_(sorted(_receivable_accounts(uow))))
        .group_by(_BALANCES.c.currency)
    )
    return {currency: int(net) for currency, net in uow.execute_core(query).all()}


def _row(found: payments.CustomerReceivable) -> AgingRow:
    c = found.currency
    return AgingRow(
        customer_number=found.customer_number,
        currency=c,
        invoices=found.invoices,
        buckets=tuple([Money.from_minor(m, c) for m in found.buckets_minor]),
        total=Money.from_minor(found.total_minor, c),
        oldest_due_on=found.oldest_due_on,
    )


@use_case(readonly=True)
def ar_aging(uow: UnitOfWork, *, as_of: date) -> Aging:
    """What every customer owes on open invoices, by days past due as of `as_of` (current, 1-30, 31-60, 61-90,
    91-120, over 120), totals per currency, and the subledger reconciled to the AR control account.

    Two aggregating queries: payments' open invoices and the control accounts' period balances."""
    found = payments.receivables(uow, as_of=as_of)
    rows = [_row(r) for r in found]
    totals: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    oldest: dict[str, date] = {}
    for r in found:
        sums = totals.setdefault(r.currency, [0] * (len(BUCKETS) + 1))
        for n, amount in enumerate((*r.buckets_minor, r.total_minor)):
            sums[n] += amount
        counts[r.currency] = counts.get(r.currency, 0) + r.invoices
        oldest[r.currency] = min(oldest.get(r.currency, r.oldest_due_on), r.oldest_due_on)
    control = _control(uow)
    currencies = sorted(set(totals) | {c for c, net in control.items() if net})
    reconciliation = []
    for c in currencies:
        subledger = totals[c][-1] if c in totals else 0
        held = control.get(c, 0)
        reconciliation.append(
            Reconciliation(
                c,
                Money.from_minor(subledger, c),
                Money.from_minor(held, c),
                Money.from_minor(held - subledger, c),
            )
        )
    return Aging(
        as_of=as_of,
        buckets=BUCKETS,
        rows=rows,
        totals=[
            AgingRow(
                customer_number="",
                currency=c,
                invoices=counts[c],
                buckets=tuple(Money.from_minor(m, c) for m in sums[:-1]),
                total=Money.from_minor(sums[-1], c),
                oldest_due_on=oldest[c],
            )
            for c, sums in sorted(totals.items())
        ],
        reconciliation=reconciliation,
    )


@dataclass(frozen=True)
class StatementItem:
    invoice: str
    order: str
    issued_on: date
    due_on: date
    total: Money
    paid: Money
    balance: Money
    days_past_due: int  # 0 when not yet due


@dataclass(frozen=True)
class CustomerStatement:
    """An open-item statement: every invoice the customer still owes on, aged, with the credit standing."""

    customer_number: str
    as_of: date
    terms: str
    credit_limit: Money | None
    items: list[StatementItem]
    aging: list[AgingRow]  # one per currency the customer owes in
    credit_hold: bool  # a new order on account would be held: no limit, at or over it, or something past due
    credit_note: str


@use_case(readonly=True)
def customer_statement(uow: UnitOfWork, *, customer: str, as_of: date) -> CustomerStatement:
    """A customer's statement: open invoices oldest due first, aged as of `as_of`, the total due per currency and
    whether a new order on account would go on credit hold, and why (payments' `credit_standing`: no credit
    limit, owing the limit already, an invoice past due).

    Raises:
        NotFound: no such customer (by number or id).
    """
    buyer = customers.buyer_facts(uow, ref=customer)
    invoices = payments.open_invoices(uow, customer_id=buyer.id)
    aging = [_row(r) for r in payments.receivables(uow, as_of=as_of, customer_id=buyer.id)]
    items = [
        StatementItem(
            invoice=i.number,
            order=i.order_number,
            issued_on=i.issued_on,
            due_on=i.due_on,
            total=i.total,
            paid=i.paid,
            balance=i.balance,
            days_past_due=max((as_of - i.due_on).days, 0),
        )
        for i in invoices
        if not i.balance.is_zero()
    ]
    reasons = payments.credit_standing(uow, customer_id=buyer.id, as_of=as_of)
    return CustomerStatement(
        customer_number=buyer.number,
        as_of=as_of,
        terms=buyer.payment_terms,
        credit_limit=buyer.credit_limit,
        items=items,
        aging=aging,
        credit_hold=bool(reasons),
        credit_note="; ".join(reasons),
    )
