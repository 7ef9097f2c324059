"""Year-end closing against real SQLite and PostgreSQL (ADR 0039): closing a fiscal year posts one closing entry per
currency into its closing period `YYYY-13` (revenue and expenses into retained earnings, per division and channel),
once; it is refused while a month of the year, or an earlier year, is open; the entry is undone only by reopening
the year (with a note), and a month of a closed year cannot be reopened. Refusals change nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.finance import closing
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import Conflict, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.db import Database, UnitOfWork
from tests.integration.test_finance_statements import post_the_quarter


def close_months(uow: UnitOfWork, year: int) -> None:
    closed = {p.code for p in finance.list_periods(uow) if p.status == "closed"}
    for code in closing.year_periods(year):
        if code not in closed:
            finance.close_period(uow, period=code)


def journal_state(db: Database) -> tuple[int, int, list[tuple[object, ...]]]:
    with db.engine.connect() as conn:
        entries = conn.execute(sa.text("SELECT COUNT(*) FROM journal_entries")).scalar_one()
        lines = conn.execute(sa.text("SELECT COUNT(*) FROM journal_lines")).scalar_one()
        years = [
            tuple(r) for r in conn.execute(sa.text("SELECT year, status, closings FROM finance_fiscal_years"))
        ]
    return int(entries), int(lines), years


def lines_of(entry: finance.JournalEntry) -> list[tuple[str, int, int]]:
    return [(x.account_code, x.debit.minor, x.credit.minor) for x in entry.lines]


@pytest.fixture
def books(uow: UnitOfWork) -> UnitOfWork:
    """The quarter of tests/integration/test_finance_statements.py (December 2025 to February 2026, USD and EUR),
    with 2025 closed: its sale of 300.00 is in retained earnings."""
    finance.ensure_chart(uow)
    post_the_quarter(uow)
    close_months(uow, 2025)
    finance.close_fiscal_year(uow, year=2025)
    return uow


def test_closing_a_year_moves_its_revenue_and_expenses_to_retained_earnings_once(
    books: UnitOfWork, db: Database
):
    # given 2025 closed: one entry, the 300.00 sale to retained earnings
    year_2025 = finance.get_fiscal_year(books, year=2025)
    (first,) = year_2025.closing_entries
    assert lines_of(finance.get_entry(books, entry_id=first)) == [("4010", 30000, 0), ("3900", 0, 30000)]
    # when every month of 2026 is closed and the year is closed
    close_months(books, 2026)
    closed = finance.close_fiscal_year(books, year=2026)
    # then one entry per currency that had revenue or expenses (the euros had none), in the closing period
    assert (closed.status, closed.closings, closed.open_periods) == ("closed", 1, [])
    (entry_id,) = closed.closing_entries
    entry = finance.get_entry(books, entry_id=entry_id)
    assert (entry.period, entry.posted_on, entry.rule, entry.reference) == (
        "2026-13",
        date(2026, 12, 31),
        "year_end.close",
        "FY2026",
    )
    assert lines_of(entry) == [
        ("4010", 20000, 0),
        ("4020", 8000, 0),
        ("4200", 0, 1000),
        ("5000", 0, 12000),
        ("6100", 0, 550),
        ("3900", 0, 14450),
    ]
    # and the year's income statement is untouched, while the sheet after the close holds it in retained earnings
    (usd,) = finance.income_statement(
        books, from_period="2026-01", to_period="2026-12", currency="USD"
    ).currencies
    assert usd.net_income_minor == 14450
    for period in ("2026-13", "2027-01"):
        (sheet,) = finance.balance_sheet(books, period=period, currency="USD").currencies
        assert (sheet.earlier_earnings_minor, sheet.current_earnings_minor, sheet.balanced) == (0, 0, True)
        assert ("3900", 30000 + 14450) in [(x.account_code, x.amount_minor) for x in sheet.equity]
    (before,) = finance.balance_sheet(books, period="2026-12", currency="USD").currencies
    assert (before.current_earnings_minor, before.balanced) == (14450, True)
    # and the trial balance after the close has no revenue or expense left
    after = finance.trial_balance(books, period="2026-13", cumulative=True)
    assert after.balanced and not [
        r for r in after.rows if r.type in ("revenue", "expense") and r.balance.minor
    ]
    # when it is closed a second time: refused, nothing changes
    state = journal_state(db)
    with pytest.raises(finance.FiscalYearClosed):
        finance.close_fiscal_year(books, year=2026)
    assert journal_state(db) == state


def test_a_year_with_an_open_month_or_an_earlier_open_year_is_not_closed_and_nothing_changes(
    books: UnitOfWork, db: Database
):
    # given 2026 with March to December still open
    finance.close_period(books, period="2026-01")
    finance.close_period(books, period="2026-02")
    state = journal_state(db)
    # when it is closed: refused naming every open month
    with pytest.raises(finance.PeriodsOpen) as refused:
        finance.close_fiscal_year(books, year=2026)
    assert [e.message for e in refused.value.errors] == [f"2026-{m:02d} is open" for m in range(3, 13)]
    # and 2027 cannot close before 2026 (whose months have periods)
    close_months(books, 2027)
    state = journal_state(db)
    with pytest.raises(finance.PeriodsOpen) as refused:
        finance.close_fiscal_year(books, year=2027)
    assert [e.message for e in refused.value.errors] == ["fiscal year 2026 is not closed"]
    assert journal_state(db) == state
    assert finance.get_fiscal_year(books, year=2026).status == "open"
    # and a year out of range is a refusal naming it
    with pytest.raises(ValidationFailed) as bad:
        finance.close_fiscal_year(books, year=99999)
    assert [e.field for e in bad.value.errors] == ["year"]


def test_the_closing_entry_is_undone_only_by_reopening_the_year_with_a_note(books: UnitOfWork, db: Database):
    # given 2026 closed
    close_months(books, 2026)
    (entry_id,) = finance.close_fiscal_year(books, year=2026).closing_entries
    state = journal_state(db)
    # then its entry cannot be reversed as an entry, nor a month of it reopened, nor the year reopened without a
    # note — nothing changes
    with pytest.raises(Conflict, match="reopen the year"):
        finance.reverse_entry(books, entry_id=entry_id, posted_on=date(2027, 1, 5))
    with pytest.raises(Conflict, match="fiscal year 2026 is closed"):
        finance.reopen_period(books, period="2026-11")
    with pytest.raises(ValidationFailed) as no_note:
        finance.reopen_fiscal_year(books, year=2026, note="  ")
    assert [e.field for e in no_note.value.errors] == ["note"]
    # and 2025 cannot reopen while 2026, which stands on it, is closed
    with pytest.raises(Conflict, match="reopen 2026 first"):
        finance.reopen_fiscal_year(books, year=2025, note="audit adjustment")
    assert journal_state(db) == state
    # when 2026 is reopened with a note
    opened = finance.reopen_fiscal_year(books, year=2026, note="auditor's adjustment to November")
    # then its closing entry is reversed in the closing period, revenue and expenses are back as this year's
    assert (opened.status, opened.closing_entries, opened.note) == (
        "open",
        [],
        "auditor's adjustment to November",
    )
    (reversal,) = finance.list_journal(books, period="2026-13", rule="reversal").items
    assert (reversal.reverses_id, reversal.period) == (entry_id, "2026-13")
    (sheet,) = finance.balance_sheet(books, period="2026-13", currency="USD").currencies
    assert sheet.current_earnings_minor == 14450
    # and November may be reopened, adjusted, closed, and the year closed again with the adjustment in it
    finance.reopen_period(books, period="2026-11")
    finance.post_manual_entry(
        books,
        posted_on=date(2026, 11, 30),
        currency="USD",
        memo="accrued fees",
        lines=[
            finance.ManualLine("6100", debit=Money(Decimal("4.50"), "USD")),
            finance.ManualLine("2000", credit=Money(Decimal("4.50"), "USD")),
        ],
    )
    finance.close_period(books, period="2026-11")
    again = finance.close_fiscal_year(books, year=2026)
    (second,) = again.closing_entries
    assert again.closings == 2 and second != entry_id
    assert lines_of(finance.get_entry(books, entry_id=second))[-1] == ("3900", 0, 14000)
    # and a year that is open cannot be reopened
    with pytest.raises(Conflict, match="not closed"):
        finance.reopen_fiscal_year(books, year=2027, note="x")


def test_the_closing_entry_closes_each_division_and_channel_into_its_own_retained_earnings(
    books: UnitOfWork, db: Database
):
    # given web revenue of 50.00 and store revenue of 30.00 posted as manual entries naming their divisions
    for division, amount in (("web", "50.00"), ("store", "30.00")):
        finance.post_manual_entry(
            books,
            posted_on=date(2026, 6, 1),
            currency="EUR",
            memo=f"{division} sale",
            division=division,
            lines=[
                finance.ManualLine("1000", debit=Money(Decimal(amount), "EUR")),
                finance.ManualLine("4000", credit=Money(Decimal(amount), "EUR")),
            ],
        )
    # when 2026 is closed
    close_months(books, 2026)
    closed = finance.close_fiscal_year(books, year=2026)
    # then the euro entry closes each division's revenue into retained earnings of the same division
    euro = [finance.get_entry(books, entry_id=i) for i in closed.closing_entries]
    (entry,) = [e for e in euro if e.currency == "EUR"]
    assert [(x.account_code, x.debit.minor, x.credit.minor, x.division) for x in entry.lines] == [
        ("4000", 3000, 0, "store"),
        ("4000", 5000, 0, "web"),
        ("3900", 0, 3000, "store"),
        ("3900", 0, 5000, "web"),
    ]
    # and the web division's balance sheet in 2027 shows its earnings retained, none left unclosed
    (web,) = finance.balance_sheet(books, period="2027-01", division="web").currencies
    assert web.balanced and (web.earlier_earnings_minor, web.current_earnings_minor) == (0, 0)
    assert [(x.account_code, x.amount_minor) for x in web.equity] == [("3900", 5000)]


def test_a_year_with_nothing_to_close_is_closed_without_an_entry(uow: UnitOfWork, db: Database):
    finance.ensure_chart(uow)
    close_months(uow, 2030)
    closed = finance.close_fiscal_year(uow, year=2030)
    assert (closed.status, closed.closing_entries) == ("closed", [])
    assert journal_state(db)[0] == 0
    assert [y.year for y in finance.list_fiscal_years(uow)] == [2030]
