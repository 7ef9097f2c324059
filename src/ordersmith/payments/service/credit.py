"""The credit limit of customers buying on account, checked atomically against what each owes (the open balance);
what they owe on open invoices, aged; and why a new order on account would be held.

Invariant: the open balance moves only by conditional UPDATEs: two orders at once cannot both pass a limit only one
of them fits, and a payment or credit applied lowers it by its own amount, never below zero.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.kernel.money import Money
from ordersmith.payments import rules
from ordersmith.payments.tables import AccountBalanceRow, InvoiceRow
from ordersmith.platform.db import UnitOfWork, use_case

_BALANCES = cast(sa.Table, AccountBalanceRow.__table__)
_INVOICES = cast(sa.Table, InvoiceRow.__table__)


def _ensure_balance(uow: UnitOfWork, customer_id: uuid.UUID, currency: str) -> None:
    if uow.session.get(AccountBalanceRow, customer_id) is not None:
        return
    insert: Any
    if uow.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    uow.session.execute(
        insert(_BALANCES)
        .values(customer_id=customer_id, currency=currency, open_minor=0, updated_at=uow.now())
        .on_conflict_do_nothing()
    )


def reserve_credit(uow: UnitOfWork, *, customer_id: uuid.UUID, amount: Money, limit: Money | None) -> bool:
    """Add `amount` to what the customer owes if it stays within `limit` (None: no limit), in one statement: an
    upsert whose update is conditional on the limit (a first balance row is written only when the amount fits).
    Returns False — and changes nothing — when it would not."""
    if limit is not None and amount.minor > limit.minor:
        return False  # not even a first order of this size fits
    insert: Any
    if uow.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(_BALANCES).values(
        customer_id=customer_id, currency=amount.currency, open_minor=amount.minor, updated_at=uow.now()
    )
    fits = _BALANCES.c.open_minor + amount.minor <= limit.minor if limit is not None else sa.true()
    done = uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=[_BALANCES.c.customer_id],
            set_={"open_minor": _BALANCES.c.open_minor + amount.minor, "updated_at": uow.now()},
            where=fits,
        ).returning(_BALANCES.c.open_minor)
    )
    return done.first() is not None


def owe(uow: UnitOfWork, *, customer_id: uuid.UUID, amount: Money) -> None:
    """Record an amount owed on account regardless of the limit (an order held for credit review still owes it
    if released; cancelling it releases it)."""
    _ensure_balance(uow, customer_id, amount.currency)
    uow.session.execute(
        sa.update(_BALANCES)
        .where(_BALANCES.c.customer_id == customer_id)
        .values(open_minor=_BALANCES.c.open_minor + amount.minor, updated_at=uow.now())
    )


def release_credit(uow: UnitOfWork, *, customer_id: uuid.UUID, amount_minor: int) -> None:
    """Lower what the customer owes (an order cancelled, an invoice paid); never below zero."""
    uow.session.execute(
        sa.update(_BALANCES)
        .where(_BALANCES.c.customer_id == customer_id)
        .values(
            open_minor=sa.case(
                (_BALANCES.c.open_minor >= amount_minor, _BALANCES.c.open_minor - amount_minor), else_=0
            ),
            updated_at=uow.now(),
        )
    )


@use_case(readonly=True)
def open_balance(uow: UnitOfWork, *, customer_id: uuid.UUID) -> Money | None:
    row = uow.session.get(AccountBalanceRow, customer_id)
    return None if row is None else Money.from_minor(row.open_minor, row.currency)


@dataclass(frozen=True)
class CustomerReceivable:
    """What one customer owes on open invoices in one currency, by aging bucket (`rules.AGING_BUCKETS` order)."""

    customer_id: uuid.UUID
    customer_number: str
    currency: str
    invoices: int
    buckets_minor: tuple[int, ...]
    total_minor: int
    oldest_due_on: date


@use_case(readonly=True)
def receivables(
    uow: UnitOfWork, *, as_of: date, customer_id: uuid.UUID | None = None
) -> list[CustomerReceivable]:
    """Open invoice balances per customer and currency, aged by days past due as of `as_of`, in one aggregating
    query over open invoices only (`ix_invoices_status`; a customer's: `ix_invoices_customer_open`), so it grows
    with what is owed, never with invoicing history. Largest total first."""
    balance = _INVOICES.c.total_minor - _INVOICES.c.paid_minor
    buckets = []
    for name, earliest, latest in rules.aging_due_bounds(as_of):
        inside: list[sa.ColumnElement[bool]] = [sa.true()]
        if earliest is not None:
            inside.append(_INVOICES.c.due_on >= earliest)
        if latest is not None:
            inside.append(_INVOICES.c.due_on <= latest)
        buckets.append(sa.func.sum(sa.case((sa.and_(*inside), balance), else_=0)).label(name))
    query = (
        sa.select(
            _INVOICES.c.customer_id,
            _INVOICES.c.customer_number,
            _INVOICES.c.currency,
            sa.func.count().label("invoices"),
            sa.func.min(_INVOICES.c.due_on).label("oldest"),
            sa.func.sum(balance).label("total"),
            *buckets,
        )
        .where(_INVOICES.c.status == "open", _INVOICES.c.total_minor > _INVOICES.c.paid_minor)
        .group_by(_INVOICES.c.customer_id, _INVOICES.c.customer_number, _INVOICES.c.currency)
        .order_by(sa.desc("total"), _INVOICES.c.customer_number)
    )
    if customer_id is not None:
        query = query.where(_INVOICES.c.customer_id == customer_id)
    # By position (the buckets follow the six columns above): thousands of rows, read as plain tuples.
    return [
        CustomerReceivable(
            customer_id=r[0],
            customer_number=r[1],
            currency=r[2],
            invoices=int(r[3]),
            buckets_minor=tuple(int(x or 0) for x in r[6:]),
            total_minor=int(r[5]),
            oldest_due_on=r[4],
        )
        for r in uow.execute_core(query).tuples()
    ]


def overdue_grace_days(uow: UnitOfWork) -> int:
    """Days past due an invoice may be before the customer's new orders on account are held (the policy,
    `ORDERSMITH_CREDIT_HOLD_OVERDUE_DAYS`; 0: any day past due)."""
    wired = uow.db.caches.get("payments")
    return int(getattr(wired, "credit_hold_overdue_days", 0) or 0)


def oldest_past_due(uow: UnitOfWork, *, customer_id: uuid.UUID, today: date) -> tuple[str, date] | None:
    """The customer's open invoice longest past due beyond the credit-hold policy's grace days (number, due date),
    or None when nothing is."""
    latest_due = today - timedelta(days=overdue_grace_days(uow))
    query = (
        sa.select(_INVOICES.c.number, _INVOICES.c.due_on)
        .where(
            _INVOICES.c.customer_id == customer_id,
            _INVOICES.c.status == "open",
            _INVOICES.c.due_on < latest_due,
        )
        .order_by(_INVOICES.c.due_on, _INVOICES.c.number)
        .limit(1)
    )
    row = uow.execute_core(query).first()
    return None if row is None else (row.number, row.due_on)


@use_case(readonly=True)
def credit_standing(uow: UnitOfWork, *, customer_id: uuid.UUID, as_of: date) -> list[str]:
    """Why a new order on account from this customer would be held as of `as_of` (empty: it would not) — the
    credit decision's tests without an order: no credit limit, owing the limit or more already, an invoice past
    due."""
    buyer = customers.buyer_facts(uow, ref=str(customer_id))
    reasons = []
    past_due = oldest_past_due(uow, customer_id=customer_id, today=as_of)
    if past_due is not None:
        number, due_on = past_due
        reasons.append(f"invoice {number} is {(as_of - due_on).days} day(s) past due")
    limit, owed = buyer.credit_limit, open_balance(uow, customer_id=customer_id)
    if limit is None:
        reasons.append("no credit limit is set: every order on account is held until one is")
    elif owed is not None and owed.currency == limit.currency and owed.minor >= limit.minor:
        reasons.append(f"owes {owed} on account, at or over the credit limit of {limit}")
    return reasons
