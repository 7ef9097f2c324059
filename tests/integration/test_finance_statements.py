"""Financial statements against real SQLite and PostgreSQL, checked against a hand computation: the income statement
over one period and a range, the balance sheet at a period's end (earnings of earlier years and of this one shown
apart), currencies kept apart; through the service, the API and the CLI."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ordersmith.finance import service as finance
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork
from tests.integration.test_cli import run

# (day, currency, debit account, credit account, amount) — a small business's first three months.
ENTRIES = [
    (date(2025, 12, 10), "USD", "1000", "3000", "1000.00"),  # the owner puts money in
    (date(2025, 12, 20), "USD", "1000", "4010", "300.00"),  # a sale last year
    (date(2026, 1, 5), "USD", "1300", "2000", "400.00"),  # stock bought on account
    (date(2026, 1, 15), "USD", "1100", "4010", "190.00"),  # a web sale of 200.00 with 10.00 off …
    (date(2026, 1, 15), "USD", "4200", "4010", "10.00"),  # … the discount
    (date(2026, 1, 15), "USD", "5000", "1300", "120.00"),  # its cost
    (date(2026, 2, 3), "USD", "6100", "1100", "5.50"),  # processor fees
    (date(2026, 2, 10), "USD", "1000", "4020", "80.00"),  # a store sale
    (date(2026, 1, 20), "EUR", "1000", "3000", "50.00"),  # a euro account opened
]


def post_the_quarter(uow: UnitOfWork) -> None:
    for day, currency, debit, credit, amount in ENTRIES:
        money = Money(Decimal(amount), currency)
        finance.post_manual_entry(
            uow,
            posted_on=day,
            currency=currency,
            memo="hand computed",
            lines=[finance.ManualLine(debit, debit=money), finance.ManualLine(credit, credit=money)],
        )


def amounts(lines: tuple[finance.rules.StatementLine, ...]) -> list[tuple[str, int]]:
    return [(line.account_code, line.amount_minor) for line in lines]


def test_the_income_statement_of_a_period_and_of_a_range_match_the_hand_computation(uow: UnitOfWork):
    # given the quarter posted
    post_the_quarter(uow)
    # when January alone, and January to February, are asked for in dollars
    january = finance.income_statement(uow, from_period="2026-01", to_period="2026-01", currency="USD")
    both = finance.income_statement(uow, from_period="2026-01", to_period="2026-02", currency="USD")
    # then January: revenue 200.00 less the 10.00 discount, cost 120.00, net 70.00
    (jan,) = january.currencies
    assert amounts(jan.revenue) == [("4010", 200_00), ("4200", -10_00)]
    assert amounts(jan.expenses) == [("5000", 120_00)]
    assert (jan.total_revenue_minor, jan.total_expenses_minor, jan.net_income_minor) == (
        190_00,
        120_00,
        70_00,
    )
    # and January to February adds the store sale and the fees: net 144.50; last year's sale is not in it
    (two,) = both.currencies
    assert amounts(two.revenue) == [("4010", 200_00), ("4020", 80_00), ("4200", -10_00)]
    assert amounts(two.expenses) == [("5000", 120_00), ("6100", 5_50)]
    assert (two.total_revenue_minor, two.total_expenses_minor, two.net_income_minor) == (
        270_00,
        125_50,
        144_50,
    )
    assert (both.starts_on, both.ends_on) == (date(2026, 1, 1), date(2026, 2, 28))


def test_the_balance_sheet_balances_with_earnings_of_earlier_years_and_of_this_one_apart(uow: UnitOfWork):
    # given the quarter posted
    post_the_quarter(uow)
    # when the balance sheet at the end of February is asked for, in every currency
    sheet = finance.balance_sheet(uow, period="2026-02")
    # then dollars: cash 1,380.00, clearing 184.50, stock 280.00 = payables 400.00 + capital 1,000.00 + last
    # year's 300.00 + this year's 144.50; and the euro account on its own
    eur, usd = sheet.currencies
    assert amounts(usd.assets) == [("1000", 1380_00), ("1100", 184_50), ("1300", 280_00)]
    assert amounts(usd.liabilities) == [("2000", 400_00)]
    assert amounts(usd.equity) == [("3000", 1000_00)]
    assert (usd.earlier_earnings_minor, usd.current_earnings_minor) == (300_00, 144_50)
    assert (usd.total_assets_minor, usd.total_liabilities_minor, usd.total_equity_minor) == (
        1844_50,
        400_00,
        1444_50,
    )
    assert usd.balanced and eur.balanced
    assert (eur.currency, amounts(eur.assets), amounts(eur.equity)) == (
        "EUR",
        [("1000", 50_00)],
        [("3000", 50_00)],
    )
    # and at the end of last year, the year's sale is this year's earnings
    (december,) = finance.balance_sheet(uow, period="2025-12").currencies
    assert (
        december.earlier_earnings_minor,
        december.current_earnings_minor,
        december.total_assets_minor,
    ) == (
        0,
        300_00,
        1300_00,
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"from_period": "2026-13", "to_period": "2026-12"}, "from_period"),
        ({"from_period": "2026-02", "to_period": "2026-01"}, "to_period"),
        ({"from_period": "2026-01", "to_period": "2026-01", "currency": "usd"}, "currency"),
    ],
)
def test_a_malformed_statement_request_is_refused_naming_its_field(uow: UnitOfWork, kwargs, field):
    with pytest.raises(ValidationFailed) as refused:
        finance.income_statement(uow, **kwargs)
    assert [e.field for e in refused.value.errors] == [field]


def test_the_statements_are_printed_by_the_cli(db_url: str, uow: UnitOfWork):
    # given the quarter posted
    post_the_quarter(uow)
    # when both statements are printed in dollars
    income = run(db_url, "finance", "income-statement", "2026-01", "2026-02", "--currency", "USD")
    sheet = run(db_url, "finance", "balance-sheet", "2026-02", "--currency", "USD")
    bad = run(db_url, "finance", "balance-sheet", "February")
    # then the figures of the hand computation are there
    assert income.returncode == 0, income.stderr
    assert "Income statement 2026-01-01 to 2026-02-28" in income.stdout
    assert "Net income (USD): 144.50" in income.stdout
    assert sheet.returncode == 0, sheet.stderr
    assert "1844.50" in sheet.stdout and "Earnings this year" in sheet.stdout
    assert "USD: assets = liabilities + equity" in sheet.stdout
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "YYYY-MM" in bad.stderr
