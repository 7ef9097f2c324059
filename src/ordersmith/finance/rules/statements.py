"""Financial statements (pure): the income statement and balance sheet as arithmetic on per-period balances already
summed by account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# ---- financial statements ------------------------------------------------------------------------------------
# Built from per-period balances already summed by account: the statements are arithmetic on those sums. Revenue,
# liabilities and equity are credit-normal (shown as credit minus debit); assets and expenses debit-normal.


@dataclass(frozen=True)
class AccountBalance:
    """One account's sums over the periods a statement covers, in minor units of `currency`."""

    account_code: str
    name: str
    type: str
    currency: str
    net_minor: int  # debits minus credits, over every period the statement reads
    this_year_minor: int = 0  # the part of `net_minor` posted in the fiscal year of the statement's date


@dataclass(frozen=True)
class StatementLine:
    account_code: str
    name: str
    amount_minor: int  # in the account's normal direction: a contra account (discounts, returns) is negative


@dataclass(frozen=True)
class IncomeStatementFigures:
    currency: str
    revenue: tuple[StatementLine, ...]
    expenses: tuple[StatementLine, ...]
    total_revenue_minor: int
    total_expenses_minor: int
    net_income_minor: int


@dataclass(frozen=True)
class BalanceSheetFigures:
    currency: str
    assets: tuple[StatementLine, ...]
    liabilities: tuple[StatementLine, ...]
    equity: tuple[StatementLine, ...]
    earlier_earnings_minor: int  # revenue less expenses of earlier fiscal years, not yet closed to equity
    current_earnings_minor: int  # revenue less expenses of this fiscal year up to the date
    total_assets_minor: int
    total_liabilities_minor: int
    total_equity_minor: int  # equity accounts plus both earnings
    balanced: bool  # assets = liabilities + equity


_CREDIT_NORMAL = {"liability", "equity", "revenue"}


def _line(balance: AccountBalance, amount_minor: int) -> StatementLine:
    sign = -1 if balance.type in _CREDIT_NORMAL else 1
    return StatementLine(balance.account_code, balance.name, sign * amount_minor)


def _by_currency(balances: Sequence[AccountBalance]) -> dict[str, list[AccountBalance]]:
    found: dict[str, list[AccountBalance]] = {}
    for balance in sorted(balances, key=lambda b: (b.currency, b.account_code)):
        found.setdefault(balance.currency, []).append(balance)
    return found


def income_statement(balances: Sequence[AccountBalance]) -> list[IncomeStatementFigures]:
    """Revenue, expenses and net income per currency from the revenue and expense accounts' sums over a range of
    periods (other account types are ignored; accounts netting to zero are left out)."""
    out = []
    for currency, group in _by_currency(balances).items():
        revenue = tuple(_line(b, b.net_minor) for b in group if b.type == "revenue" and b.net_minor)
        expenses = tuple(_line(b, b.net_minor) for b in group if b.type == "expense" and b.net_minor)
        total_revenue = sum(line.amount_minor for line in revenue)
        total_expenses = sum(line.amount_minor for line in expenses)
        out.append(
            IncomeStatementFigures(
                currency, revenue, expenses, total_revenue, total_expenses, total_revenue - total_expenses
            )
        )
    return out


def balance_sheet(balances: Sequence[AccountBalance]) -> list[BalanceSheetFigures]:
    """Assets, liabilities and equity per currency from every account's sums up to a date. Revenue and expenses not
    yet closed into equity show as earnings: of earlier fiscal years, and of this one (`this_year_minor`). On a
    balanced journal, assets always equal liabilities plus equity."""
    out = []
    for currency, group in _by_currency(balances).items():

        def section(kind: str, accounts: list[AccountBalance] = group) -> tuple[StatementLine, ...]:
            return tuple(_line(b, b.net_minor) for b in accounts if b.type == kind and b.net_minor)

        assets, liabilities, equity = section("asset"), section("liability"), section("equity")
        earnings = [b for b in group if b.type in ("revenue", "expense")]
        current = -sum(b.this_year_minor for b in earnings)
        earlier = -sum(b.net_minor for b in earnings) - current
        total_assets = sum(line.amount_minor for line in assets)
        total_liabilities = sum(line.amount_minor for line in liabilities)
        total_equity = sum(line.amount_minor for line in equity) + earlier + current
        out.append(
            BalanceSheetFigures(
                currency,
                assets,
                liabilities,
                equity,
                earlier,
                current,
                total_assets,
                total_liabilities,
                total_equity,
                total_assets == total_liabilities + total_equity,
            )
        )
    return out
