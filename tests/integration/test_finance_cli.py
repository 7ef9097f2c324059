"""`ordersmith finance …` against real databases: the chart, the trial balance of a period, closing it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork
from tests.integration.test_cli import run


def test_the_trial_balance_of_a_period_is_printed_and_a_period_is_closed(db_url: str, uow: UnitOfWork):
    # given opening cash posted in November
    finance.ensure_chart(uow)
    finance.post_manual_entry(
        uow,
        posted_on=date(2026, 11, 3),
        currency="USD",
        memo="opening cash",
        lines=[
            finance.ManualLine("1000", debit=Money(Decimal("500.00"), "USD")),
            finance.ManualLine("3000", credit=Money(Decimal("500.00"), "USD")),
        ],
    )
    # when its trial balance is asked for, and the period closed
    shown = run(db_url, "finance", "trial-balance", "2026-11")
    closed = run(db_url, "finance", "close", "2026-11")
    again = run(db_url, "finance", "close", "2026-11")
    # then each account's sums are printed and the period balances; closing twice fails in one line
    assert shown.returncode == 0, shown.stderr
    assert "Cash in bank" in shown.stdout and "-500.00" in shown.stdout
    assert "2026-11: balanced, 2 account(s)" in shown.stdout
    assert (closed.returncode, closed.stdout.strip()) == (0, "2026-11 closed (2026-11-01 to 2026-11-30)")
    assert again.returncode != 0 and again.stderr.count("\n") == 1
    assert [p.status for p in finance.list_periods(uow)] == ["closed"]


def test_a_malformed_period_fails_in_one_line(db_url: str):
    bad = run(db_url, "finance", "trial-balance", "November")
    assert bad.returncode != 0
    assert bad.stderr.strip().startswith("error:") and "YYYY-MM" in bad.stderr
