"""Financial statements: the income statement over a range of periods and the balance sheet at a period's end.

Each is one aggregating query over the per-period balances (one row per account, period and currency, written
with every entry), so its cost grows with accounts and periods, never with the number of journal lines; the
arithmetic is `rules.income_statement` / `rules.balance_sheet`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

import sqlalchemy as sa

from ordersmith.finance import rules
from ordersmith.finance.tables import AccountRow, PeriodBalanceRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.db import UnitOfWork, use_case

_BALANCES = cast(sa.Table, PeriodBalanceRow.__table__)
_ACCOUNTS = cast(sa.Table, AccountRow.__table__)


@dataclass(frozen=True)
class IncomeStatement:
    from_period: str
    to_period: str
    starts_on: date
    ends_on: date
    currencies: list[rules.IncomeStatementFigures]


@dataclass(frozen=True)
class BalanceSheet:
    period: str
    as_of: date
    currencies: list[rules.BalanceSheetFigures]


def _bounds(code: str, field: str) -> tuple[date, date]:
    try:
        return rules.period_bounds(code)
    except ValueError as exc:
        raise ValidationFailed.on(field, str(exc)) from None


def _currency_filter(
    query: sa.Select[tuple[object, ...]], currency: str | None
) -> sa.Select[tuple[object, ...]]:
    if currency is None:
        return query
    if len(currency) != 3 or not currency.isascii() or not currency.isupper():
        raise ValidationFailed.on("currency", "an ISO 4217 code, e.g. USD")
    return query.where(_BALANCES.c.currency == currency)


@use_case(readonly=True)
def income_statement(
    uow: UnitOfWork, *, from_period: str, to_period: str, currency: str | None = None
) -> IncomeStatement:
    """Revenue, expenses and net income per currency for the periods `from_period` to `to_period` (inclusive).

    Raises:
        ValidationFailed: a malformed period or currency, or a range that ends before it starts (naming the field).
    """
    starts_on, _ = _bounds(from_period, "from_period")
    _, ends_on = _bounds(to_period, "to_period")
    if to_period < from_period:
        raise ValidationFailed.on("to_period", f"ends before {from_period}")
    net = sa.func.sum(_BALANCES.c.debit_minor - _BALANCES.c.credit_minor).label("net")
    query = (
        sa.select(_BALANCES.c.account_code, _ACCOUNTS.c.name, _ACCOUNTS.c.type, _BALANCES.c.currency, net)
        .select_from(_BALANCES.join(_ACCOUNTS, _ACCOUNTS.c.code == _BALANCES.c.account_code))
        .where(
            _BALANCES.c.period.between(from_period, to_period),
            _ACCOUNTS.c.type.in_(["revenue", "expense"]),
        )
        .group_by(_BALANCES.c.account_code, _ACCOUNTS.c.name, _ACCOUNTS.c.type, _BALANCES.c.currency)
    )
    balances = [
        rules.AccountBalance(r.account_code, r.name, r.type, r.currency, int(r.net))
        for r in uow.execute_core(_currency_filter(query, currency))
    ]
    return IncomeStatement(from_period, to_period, starts_on, ends_on, rules.income_statement(balances))


@use_case(readonly=True)
def balance_sheet(uow: UnitOfWork, *, period: str, currency: str | None = None) -> BalanceSheet:
    """Assets, liabilities and equity per currency at the end of `period`, with the revenue and expenses not yet
    closed into equity shown as earnings (of earlier fiscal years and of this one; fiscal years are calendar years).

    Raises:
        ValidationFailed: a malformed period or currency (naming the field).
    """
    _, as_of = _bounds(period, "period")
    year_start = f"{period[:4]}-01"
    net = _BALANCES.c.debit_minor - _BALANCES.c.credit_minor
    query = (
        sa.select(
            _BALANCES.c.account_code,
            _ACCOUNTS.c.name,
            _ACCOUNTS.c.type,
            _BALANCES.c.currency,
            sa.func.sum(net).label("net"),
            sa.func.sum(sa.case((_BALANCES.c.period >= year_start, net), else_=0)).label("this_year"),
        )
        .select_from(_BALANCES.join(_ACCOUNTS, _ACCOUNTS.c.code == _BALANCES.c.account_code))
        .where(_BALANCES.c.period <= period)
        .group_by(_BALANCES.c.account_code, _ACCOUNTS.c.name, _ACCOUNTS.c.type, _BALANCES.c.currency)
    )
    balances = [
        rules.AccountBalance(r.account_code, r.name, r.type, r.currency, int(r.net), int(r.this_year))
        for r in uow.execute_core(_currency_filter(query, currency))
    ]
    return BalanceSheet(period, as_of, rules.balance_sheet(balances))
