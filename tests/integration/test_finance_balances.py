"""The per-period balances the trial balance and the statements read, against the journal's lines they summarise,
on real SQLite and PostgreSQL: whatever posts them (the relay's batches of order events, a batch of captures with
fees over several months with one month closed, a manual entry for a division, a reversal, redeliveries), every
period's balance rows, cumulative and per dimension, equal the lines summed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from ordersmith.finance import service as finance
from ordersmith.kernel.events import Event
from ordersmith.payments import service as payments
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import make_order_shop
from tests.integration.test_finance_dimensions import two_sales, usd

LINES_BY_PERIOD = sa.text(
    "SELECT e.period, l.account_code, e.currency, SUM(l.debit_minor), SUM(l.credit_minor) FROM journal_lines l "
    "JOIN journal_entries e ON e.id = l.entry_id GROUP BY e.period, l.account_code, e.currency"
)
BALANCES = sa.text(
    "SELECT period, account_code, currency, debit_minor, credit_minor FROM finance_period_balances"
)
LINES_BY_DIMENSION = sa.text(
    "SELECT e.period, l.account_code, e.currency, l.division, l.channel, SUM(l.debit_minor), SUM(l.credit_minor) "
    "FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id WHERE l.division <> '' OR l.channel <> '' "
    "GROUP BY e.period, l.account_code, e.currency, l.division, l.channel"
)
DIMENSION_BALANCES = sa.text(
    "SELECT period, account_code, currency, division, channel, debit_minor, credit_minor "
    "FROM finance_dimension_balances"
)


@pytest.fixture
def shop(uow: UnitOfWork, db: Database, settings: Settings) -> Iterator[UnitOfWork]:
    finance.ensure_chart(uow)
    payments.setup_payments(db, settings)
    make_order_shop(uow)
    finance.register()
    yield uow
    finance.unregister()


def captured(amount: str, *, on: date, fee: str = "", method: str = "card") -> Event:
    return Event(
        type="payment.captured",
        payload={
            "payment_id": str(uuid.uuid4()),
            "order_id": str(uuid.uuid4()),
            "method": method,
            "amount": amount,
            "currency": "USD",
            **({"fee": fee} if fee else {}),
        },
        occurred_at=datetime(on.year, on.month, on.day, 12, tzinfo=UTC),
    )


def rows(db: Database, statement: sa.TextClause) -> set[tuple[object, ...]]:
    with db.engine.connect() as conn:
        return {tuple(int(v) if isinstance(v, int) else v for v in r) for r in conn.execute(statement)}


def lines_summed(db: Database, *, period: str, cumulative: bool) -> dict[str, tuple[int, int]]:
    where = "e.period <= :p" if cumulative else "e.period = :p"
    query = sa.text(
        "SELECT l.account_code, SUM(l.debit_minor), SUM(l.credit_minor) FROM journal_lines l "
        f"JOIN journal_entries e ON e.id = l.entry_id WHERE {where} GROUP BY l.account_code"
    )
    with db.engine.connect() as conn:
        return {str(a): (int(d), int(c)) for a, d, c in conn.execute(query, {"p": period})}


def test_the_balances_the_trial_balance_reads_equal_the_journal_lines_summed(shop: UnitOfWork, db: Database):
    # given order events posted by the relay (a till sale and an invoiced phone order: their lines carry the
    # orders' divisions and channels), captures with and without a processor fee over three months, October closed
    two_sales(shop, db)
    finance.close_period(shop, period="2026-10")
    batch = [
        captured("40.00", on=date(2026, 9, 30), fee="1.46"),
        captured("12.34", on=date(2026, 10, 2), method="paypal"),  # October is closed: posted in November
        captured("0.01", on=date(2026, 11, 15), method="cash"),
        captured("999.99", on=date(2026, 11, 30), fee="29.30"),
    ]
    assert finance.post_events(shop, [*batch, batch[0]]) == 4  # an event twice in a batch posts once
    # and a manual entry for a division, reversed in another month
    manual = finance.post_manual_entry(
        shop,
        posted_on=date(2026, 11, 3),
        currency="USD",
        memo="till shortage",
        division="store",
        lines=[finance.ManualLine("6100", debit=usd("3.00")), finance.ManualLine("1010", credit=usd("3.00"))],
    )
    finance.reverse_entry(shop, entry_id=manual.id, posted_on=date(2026, 12, 1))
    # when everything is delivered again
    assert finance.post_events(shop, batch) == 0
    # then the period balances are exactly the lines summed, per period, account and currency, and per dimension
    assert rows(db, BALANCES) == rows(db, LINES_BY_PERIOD)
    assert rows(db, DIMENSION_BALANCES) == rows(db, LINES_BY_DIMENSION)
    assert any(division == "store" for _p, _a, _c, division, *_ in rows(db, DIMENSION_BALANCES))
    # and each period's trial balance, alone and cumulative, is the lines' sums account by account, and balances
    periods = sorted({str(p) for p, *_ in rows(db, BALANCES)})
    assert {"2026-09", "2026-11", "2026-12"} <= set(periods) and "2026-10" not in periods
    for period in periods:
        for cumulative in (False, True):
            trial = finance.trial_balance(shop, period=period, cumulative=cumulative)
            found = {r.account_code: (r.debit.minor, r.credit.minor) for r in trial.rows}
            assert found == lines_summed(db, period=period, cumulative=cumulative)
            assert trial.balanced
