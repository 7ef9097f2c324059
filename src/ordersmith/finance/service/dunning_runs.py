"""Dunning runs: every customer with something past due as of a day gets the letter their oldest past-due invoice
calls for (`dunning.STAGES`), and the run records who was dunned with which letter.

Invariant: a customer gets a given stage's letter at most once on a day — the unique `(customer_id, as_of, stage)`
row is inserted or skipped in one statement, so a run repeated, or two runs at once, record each letter once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.finance.dunning_tables import DunningLetterRow
from ordersmith.finance.service._common import insert_ignoring_duplicates
from ordersmith.finance.service.collections import dunning_letter
from ordersmith.finance.service.receivables import ar_aging, customer_statement
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page, check_limit, decode_cursor, encode_cursor
from ordersmith.platform.db import UnitOfWork, use_case

_LETTERS = DunningLetterRow.__table__


@dataclass(frozen=True)
class DunningLetterSent:
    id: uuid.UUID
    customer_number: str
    as_of: date
    stage: str  # reminder | second_notice | final_notice
    subject: str
    total: Money
    invoices: int
    oldest_days_past_due: int
    sent_by: str
    sent_at: datetime


@dataclass(frozen=True)
class DunningRun:
    as_of: date
    sent: list[DunningLetterSent]  # recorded by this run
    already: list[str]  # customers who had this day's letter from an earlier run


def _sent(row: sa.Row[tuple[object, ...]] | DunningLetterRow) -> DunningLetterSent:
    return DunningLetterSent(
        row.id,
        row.customer_number,
        row.as_of,
        row.stage,
        row.subject,
        Money.from_minor(row.total_minor, row.currency),
        row.invoices,
        row.oldest_days_past_due,
        row.sent_by,
        row.sent_at,
    )


@dataclass(frozen=True)
class DunningDue:
    """The letter a customer's past-due invoices call for on a day (what a run would send them)."""

    customer_number: str
    stage: str
    subject: str
    text: str
    total: Money
    invoices: int
    oldest_days_past_due: int


def _due(uow: UnitOfWork, as_of: date, retailer: str) -> list[DunningDue]:
    aging = ar_aging(uow, as_of=as_of)
    late = sorted({r.customer_number for r in aging.rows if any(not b.is_zero() for b in r.buckets[1:])})
    found = []
    for number in late:
        letter = dunning_letter(uow, customer=number, as_of=as_of, retailer=retailer)
        if letter is None:
            continue
        past = [
            i
            for i in customer_statement(uow, customer=number, as_of=as_of).items
            if i.days_past_due > 0 and i.balance.currency == letter.currency
        ]
        found.append(
            DunningDue(
                number,
                letter.stage,
                letter.subject,
                letter.text,
                Money.from_minor(letter.total_minor, letter.currency),
                len(past),
                max(i.days_past_due for i in past),
            )
        )
    return found


def _check_day(uow: UnitOfWork, as_of: date) -> None:
    if as_of > uow.now().date():
        raise ValidationFailed.on("as_of", "a day that has come (today or before)")


@use_case(readonly=True)
def preview_dunning(uow: UnitOfWork, *, as_of: date, retailer: str = "") -> list[DunningDue]:
    """The letters a dunning run on `as_of` would send, by customer number (nothing is recorded). One aging read,
    then a statement per customer past due.

    Raises:
        ValidationFailed: `as_of` after today (naming `as_of`).
    """
    _check_day(uow, as_of)
    return _due(uow, as_of, retailer)


@use_case
def run_dunning(uow: UnitOfWork, *, as_of: date, retailer: str = "") -> DunningRun:
    """Dun every customer with an invoice past due as of `as_of`: each gets the letter their oldest past-due
    invoice calls for (reminder, second or final notice), recorded once per customer, stage and day; a customer who
    had it from an earlier run that day is listed in `already`, not dunned twice.

    Raises:
        ValidationFailed: `as_of` after today (naming `as_of`).
    """
    _check_day(uow, as_of)
    sent: list[DunningLetterSent] = []
    already: list[str] = []
    for due in _due(uow, as_of, retailer):
        row = {
            "id": new_id(),
            "customer_id": customers.buyer_facts(uow, ref=due.customer_number).id,
            "customer_number": due.customer_number,
            "as_of": as_of,
            "stage": due.stage,
            "subject": due.subject[:200],
            "currency": due.total.currency,
            "total_minor": due.total.minor,
            "invoices": due.invoices,
            "oldest_days_past_due": due.oldest_days_past_due,
            "sent_by": uow.actor.label,
            "sent_at": uow.now(),
        }
        statement = insert_ignoring_duplicates(uow, _LETTERS).values(**row)
        inserted = uow.execute_core(
            statement.on_conflict_do_nothing(index_elements=["customer_id", "as_of", "stage"]).returning(
                _LETTERS.c.id
            )
        ).first()
        if inserted is None:
            already.append(due.customer_number)
            continue
        uow.audit(
            "dunning_letter.sent",
            object_type="customer",
            object_id=due.customer_number,
            after={"stage": due.stage, "as_of": as_of.isoformat(), "total_minor": due.total.minor},
        )
        sent.append(_sent(DunningLetterRow(**row)))
    return DunningRun(as_of, sent, already)


@use_case(readonly=True)
def list_dunning_letters(
    uow: UnitOfWork, *, customer: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page[DunningLetterSent]:
    """Who was dunned, newest first, optionally one customer (one read a page).

    Raises:
        ValidationFailed: a malformed cursor or a limit out of range (naming the field).
    """
    check_limit(limit)
    query = sa.select(_LETTERS)
    if customer is not None:
        query = query.where(_LETTERS.c.customer_number == customer.strip().upper())
    if cursor:
        try:
            after = uuid.UUID(decode_cursor(cursor, 1)[0])
        except ValueError:
            raise ValidationFailed.on("cursor", "malformed cursor") from None
        query = query.where(_LETTERS.c.id < after)
    rows = uow.execute_core(query.order_by(_LETTERS.c.id.desc()).limit(limit + 1)).all()
    more, rows = len(rows) > limit, rows[:limit]
    return Page([_sent(r) for r in rows], encode_cursor(str(rows[-1].id)) if more else None)
