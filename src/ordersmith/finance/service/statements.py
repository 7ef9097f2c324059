"""Financial statements: the income statement over a range of periods and the balance sheet at a period's end.

Each is one aggregating query over the per-period balances (one row per account, period and currency, written
with every entry) — or, filtered by division and/or channel, over the dimension balances (ADR 0039) — so its cost
grows with accounts and periods, never with the number of journal lines; the arithmetic is
`rules.income_statement` / `rules.balance_sheet`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

import sqlalchemy as sa

from ordersmith.finance import closing, rules
from ordersmith.finance.service.balances import balances_table, dimension_filter
from ordersmith.finance.tables import AccountRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.db import UnitOfWork, use_case

_ACCOUNTS = cast(sa.Table, AccountRow.__table__)


@dataclass(frozen=True)
class IncomeStatement:
    from_period: str
    to_period: str
    starts_on: date
    ends_on: date
    currencies: list[rules.IncomeStatementFigures]
    division: str = ""  # the filter (ADR 0039), "" for every line
    channel: str = ""


@dataclass(frozen=True)
class BalanceSheet:
    period: str
    as_of: date
    currencies: list[rules.BalanceSheetFigures]
    division: str = ""
    channel: str = ""


def _bounds(code: str, field: str, *, closing_allowed: bool = False) -> tuple[date, date]:
    year = closing.closing_year(code)
    if year is not None and not closing_allowed:
        raise ValidationFailed.on(
            field, f"{code} is the closing period of {year}: it holds only the year-end closing entry"
        )
    if year is not None:
        try:
            closing.check_year(year)
        except ValueError as exc:
            raise ValidationFailed.on(field, str(exc)) from None
        return closing.closing_day(year), closing.closing_day(year)
    try:
        return rules.period_bounds(code)
    except ValueError as exc:
        raise ValidationFailed.on(field, str(exc)) from None


def _currency_filter(
    query: sa.Select[tuple[object, ...]], table: sa.Table, currency: str | None
) -> sa.Select[tuple[object, ...]]:
    if currency is None:
        return query
    if len(currency) != 3 or not currency.isascii() or not currency.isupper():
        raise ValidationFailed.on("currency", "an ISO 4217 code, e.g. USD")
    return query.where(table.c.currency == currency)


@use_case(readonly=True)
def income_statement(
    uow: UnitOfWork,
    *,
    from_period: str,
    to_period: str,
    currency: str | None = None,
    division: str | None = None,
    channel: str | None = None,
) -> IncomeStatement:
    """Revenue, expenses and net income per currency for the periods `from_period` to `to_period` (inclusive) —
    with `division` and/or `channel`, of the lines that carry them. A year's closing entry is never in it (it sits
    in the closing period `YYYY-13`, which is not a month).

    Raises:
        ValidationFailed: a malformed period or currency, a closing period, an unknown division or channel, or a
            range that ends before it starts (naming the field).
    """
    starts_on, _ = _bounds(from_period, "from_period")
    _, ends_on = _bounds(to_period, "to_period")
    if to_period < from_period:
        raise ValidationFailed.on("to_period", f"ends before {from_period}")
    table, tagged = balances_table(uow, division, channel)
    net = sa.func.sum(table.c.debit_minor - table.c.credit_minor).label("net")
    closings = _closings(from_period, to_period)
    query = (
        sa.select(table.c.account_code, _ACCOUNTS.c.name, _ACCOUNTS.c.type, table.c.currency, net)
        .select_from(table.join(_ACCOUNTS, _ACCOUNTS.c.code == table.c.account_code))
        .where(
            table.c.period.between(from_period, to_period),
            table.c.period.not_in(closings) if closings else sa.true(),
            _ACCOUNTS.c.type.in_(["revenue", "expense"]),
            *dimension_filter(table, tagged),
        )
        .group_by(table.c.account_code, _ACCOUNTS.c.name, _ACCOUNTS.c.type, table.c.currency)
    )
    balances = [
        rules.AccountBalance(r.account_code, r.name, r.type, r.currency, int(r.net))
        for r in uow.execute_core(_currency_filter(query, table, currency))
    ]
    return IncomeStatement(
        from_period,
        to_period,
        starts_on,
        ends_on,
        rules.income_statement(balances),
        division=tagged.division,
        channel=tagged.channel,
    )


def _closings(from_period: str, to_period: str) -> list[str]:
    """The closing periods inside a range of months (a range over a year's end holds that year's `YYYY-13`)."""
    return [closing.closing_period(year) for year in range(int(from_period[:4]), int(to_period[:4]))]


@use_case(readonly=True)
def balance_sheet(
    uow: UnitOfWork,
    *,
    period: str,
    currency: str | None = None,
    division: str | None = None,
    channel: str | None = None,
) -> BalanceSheet:
    """Assets, liabilities and equity per currency at the end of `period`, with the revenue and expenses not yet
    closed into equity shown as earnings (of earlier fiscal years and of this one; fiscal years are calendar years).
    A closed year's revenue and expenses are in retained earnings from its closing period on; `period` may be that
    closing period (`YYYY-13`: the sheet at the year's last day, after the close). With `division` and/or `channel`,
    only the lines that carry them (ADR 0039).

    Raises:
        ValidationFailed: a malformed period or currency, an unknown division or channel (naming the field).
    """
    _, as_of = _bounds(period, "period", closing_allowed=True)
    table, tagged = balances_table(uow, division, channel)
    year_start = f"{period[:4]}-01"
    net = table.c.debit_minor - table.c.credit_minor
    query = (
        sa.select(
            table.c.account_code,
            _ACCOUNTS.c.name,
            _ACCOUNTS.c.type,
            table.c.currency,
            sa.func.sum(net).label("net"),
            sa.func.sum(sa.case((table.c.period >= year_start, net), else_=0)).label("this_year"),
        )
        .select_from(table.join(_ACCOUNTS, _ACCOUNTS.c.code == table.c.account_code))
        .where(table.c.period <= period, *dimension_filter(table, tagged))
        .group_by(table.c.account_code, _ACCOUNTS.c.name, _ACCOUNTS.c.type, table.c.currency)
    )
    balances = [
        rules.AccountBalance(r.account_code, r.name, r.type, r.currency, int(r.net), int(r.this_year))
        for r in uow.execute_core(_currency_filter(query, table, currency))
    ]
    return BalanceSheet(
        period, as_of, rules.balance_sheet(balances), division=tagged.division, channel=tagged.channel
    )
