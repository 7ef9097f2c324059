"""The ledger's invariants under random operations, on SQLite and PostgreSQL: manual entries (balanced or not),
reversals (first or repeated), captures posted (and posted again), period closes — after every step
each period's trial balance nets to zero, each account's balance is the model's, the per-period balances equal the
journal's lines summed, and no event posted twice."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ordersmith.finance import service as finance
from ordersmith.kernel.errors import Conflict, ValidationFailed
from ordersmith.kernel.events import Event
from ordersmith.kernel.money import Money
from ordersmith.platform.db import Actor, Database

BALANCES = "SELECT period, account_code, currency, debit_minor, credit_minor FROM finance_period_balances"
SUMMED_LINES = (
    "SELECT e.period, l.account_code, e.currency, SUM(l.debit_minor), SUM(l.credit_minor) FROM journal_lines l"
    " JOIN journal_entries e ON e.id = l.entry_id GROUP BY e.period, l.account_code, e.currency"
)
ACCOUNTS = ["1000", "1100", "2300", "3000", "4000", "6100"]
DAYS = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 4, 30))
AMOUNTS = st.integers(min_value=1, max_value=10**9)


def _machine(db: Database) -> type[RuleBasedStateMachine]:
    class Ledger(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.uow = db.unit_of_work(Actor.system("property"))
            self.balances: dict[str, int] = {}
            self.entries: list[uuid.UUID] = []
            self.events: list[Event] = []
            self.closed: set[str] = set()

        @initialize()
        def seed(self) -> None:
            finance.ensure_chart(self.uow)
            # the database outlives examples: start from what is there
            for period in finance.list_periods(self.uow):
                self.closed |= {period.code} if period.status == "closed" else set()
            for row in finance.trial_balance(self.uow, period="9999-12", cumulative=True).rows:
                self.balances[row.account_code] = row.balance.minor

        def _add(self, lines: list[tuple[str, int]]) -> None:
            for account, amount in lines:
                self.balances[account] = self.balances.get(account, 0) + amount

        @rule(
            day=DAYS,
            debit=st.sampled_from(ACCOUNTS),
            credit=st.sampled_from(ACCOUNTS),
            amount=AMOUNTS,
            off_by=st.sampled_from([0, 0, 0, 1]),
        )
        def manual(self, day: date, debit: str, credit: str, amount: int, off_by: int) -> None:
            lines = [
                finance.ManualLine(debit, debit=Money.from_minor(amount + off_by, "USD")),
                finance.ManualLine(credit, credit=Money.from_minor(amount, "USD")),
            ]
            closed = f"{day.year:04d}-{day.month:02d}" in self.closed
            try:
                entry = finance.post_manual_entry(
                    self.uow, posted_on=day, currency="USD", lines=lines, memo="m"
                )
            except ValidationFailed:
                assert off_by
                return
            except finance.PeriodClosed:
                assert closed
                return
            assert not off_by and not closed
            self.entries.append(entry.id)
            self._add([(debit, amount), (credit, -amount)])

        @rule(pick=st.integers(min_value=0), day=DAYS)
        def reverse(self, pick: int, day: date) -> None:
            if not self.entries:
                return
            entry = finance.get_entry(self.uow, entry_id=self.entries[pick % len(self.entries)])
            try:
                finance.reverse_entry(self.uow, entry_id=entry.id, posted_on=day)
            except Conflict:
                return
            self._add([(line.account_code, line.credit.minor - line.debit.minor) for line in entry.lines])

        @rule(day=DAYS, amount=AMOUNTS, method=st.sampled_from(["card", "paypal", "cash"]))
        def capture(self, day: date, amount: int, method: str) -> None:
            event = Event(
                type="payment.captured",
                payload={
                    "payment_id": str(uuid.uuid4()),
                    "order_id": str(uuid.uuid4()),
                    "method": method,
                    "amount": str(Money.from_minor(amount, "USD").amount),
                    "currency": "USD",
                },
                occurred_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
            )
            assert finance.post_event(self.uow, event) is True
            self.events.append(event)
            clearing = {"card": "1100", "paypal": "1110", "cash": "1010"}[method]
            self._add([(clearing, amount), ("2300", -amount)])

        @rule(pick=st.integers(min_value=0))
        def replay(self, pick: int) -> None:
            if self.events:
                assert finance.post_event(self.uow, self.events[pick % len(self.events)]) is False

        @rule(month=st.integers(min_value=1, max_value=4))
        def close(self, month: int) -> None:
            period = f"2026-{month:02d}"
            if period in self.closed:
                return
            finance.close_period(self.uow, period=period)
            self.closed.add(period)

        @invariant()
        def books_balance(self) -> None:
            periods = [p.code for p in finance.list_periods(self.uow)]
            for period in periods:
                assert finance.trial_balance(self.uow, period=period).balanced
            if periods:
                cumulative = finance.trial_balance(self.uow, period=max(periods), cumulative=True)
                found = {row.account_code: row.balance.minor for row in cumulative.rows}
                assert {k: v for k, v in found.items() if v} == {k: v for k, v in self.balances.items() if v}
            assert finance.unposted_amount(self.uow, currency="USD") == Money(Decimal(0), "USD")
            with db.engine.connect() as conn:
                kept = set(conn.execute(sa.text(BALANCES)).all())
                summed = set(conn.execute(sa.text(SUMMED_LINES)).all())
            assert kept == summed

    return Ledger


def test_random_ledger_operations_keep_the_books_balanced(db: Database, db_url: str):
    machine = _machine(db)
    examples = 20 if db_url.startswith("sqlite") else 10
    machine.TestCase.settings = settings(
        max_examples=examples,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine.TestCase().runTest()


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
