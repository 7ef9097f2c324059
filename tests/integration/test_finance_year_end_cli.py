"""`ordersmith finance close-year | reopen-year | fiscal-years` and the statements' `--division` / `--channel`
against real databases (ADR 0039): a refusal is one line on stderr, a non-zero exit and no change."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork
from tests.integration.test_cli import run


def test_a_year_is_closed_and_reopened_from_the_command_line(db_url: str, uow: UnitOfWork):
    # given a web sale of 80.00 in June 2026, with June still open
    finance.ensure_chart(uow)
    money = Money(Decimal("80.00"), "USD")
    finance.post_manual_entry(
        uow,
        posted_on=date(2026, 6, 3),
        currency="USD",
        memo="web sale",
        division="web",
        lines=[finance.ManualLine("1000", debit=money), finance.ManualLine("4010", credit=money)],
    )
    # when the year is closed with its months open: one line, exit 2, nothing closed
    refused = run(db_url, "finance", "close-year", "2026")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("error: close every month of 2026 first: 2026-01")
    assert finance.get_fiscal_year(uow, year=2026).status == "open"
    # when every month is closed and the year closed
    for month in range(1, 13):
        finance.close_period(uow, period=f"2026-{month:02d}")
    closed = run(db_url, "finance", "close-year", "2026")
    listed = run(db_url, "finance", "fiscal-years")
    # then the year is closed with its one closing entry, and listed so
    assert closed.returncode == 0, closed.stderr
    (entry_id,) = finance.get_fiscal_year(uow, year=2026).closing_entries
    assert closed.stdout.split("\n")[:2] == ["2026 closed: 1 closing entry in force", f"  {entry_id}"]
    assert listed.returncode == 0 and "2026" in listed.stdout and "closed" in listed.stdout
    # and the trial balance of the closing period and the web division's balance sheet after it
    trial = run(db_url, "finance", "trial-balance", "2026-13", "--division", "web")
    sheet = run(db_url, "finance", "balance-sheet", "2026-13", "--division", "web")
    assert trial.returncode == 0 and "2026-13 (division web): balanced, 2 account(s)" in trial.stdout
    assert sheet.returncode == 0 and "Balance sheet at 2026-12-31 (division web)" in sheet.stdout
    assert "Retained earnings" in sheet.stdout
    # when it is closed again, or reopened without a note: refused in one line, nothing changes
    again = run(db_url, "finance", "close-year", "2026")
    assert again.returncode == 2 and again.stderr.strip() == "error: fiscal year 2026 is closed already"
    no_note = run(db_url, "finance", "reopen-year", "2026", "--note", " ")
    assert no_note.returncode == 2 and no_note.stderr.startswith("error: note:")
    assert finance.get_fiscal_year(uow, year=2026).closing_entries == [entry_id]
    # when it is reopened with a note
    opened = run(db_url, "finance", "reopen-year", "2026", "--note", "late vendor bill")
    assert (opened.returncode, opened.stdout.strip()) == (0, "2026 open: 0 closing entries in force")


def test_an_unknown_division_fails_in_one_line(db_url: str, uow: UnitOfWork):
    finance.ensure_chart(uow)
    bad = run(db_url, "finance", "income-statement", "2026-01", "--division", "wholesale")
    assert bad.returncode == 2 and bad.stderr.strip() == "error: no division 'wholesale'"
