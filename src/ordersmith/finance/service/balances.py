"""The trial balance, summed from the per-period balances (or the dimension balances when filtered by division or
channel, ADR 0039): one aggregating query however long the journal."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa

from ordersmith.finance.service._common import TrialBalance, TrialBalanceRow
from ordersmith.finance.service.dimensions import Dimensions, check_dimensions
from ordersmith.finance.service.journal import _check_period
from ordersmith.finance.tables import AccountRow, DimensionBalanceRow, PeriodBalanceRow
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork, use_case

_ACCOUNTS = cast(sa.Table, AccountRow.__table__)
_BALANCES = cast(sa.Table, PeriodBalanceRow.__table__)
_DIMENSIONS = cast(sa.Table, DimensionBalanceRow.__table__)


def balances_table(uow: UnitOfWork, division: str | None, channel: str | None) -> tuple[sa.Table, Dimensions]:
    """Where to sum from: the period balances, or — filtered by division and/or channel — the dimension balances
    (ADR 0039); and the dimensions, checked. A caller filters the dimension balances with `dimension_filter`."""
    tagged = check_dimensions(uow, division=division, channel=channel)
    return (_DIMENSIONS if tagged else _BALANCES), tagged


def dimension_filter(table: sa.Table, tagged: Dimensions) -> list[sa.ColumnElement[bool]]:
    """The WHERE terms that keep only the lines of `tagged` (none for the period balances)."""
    terms: list[sa.ColumnElement[bool]] = []
    if tagged.division:
        terms.append(table.c.division == tagged.division)
    if tagged.channel:
        terms.append(table.c.channel == tagged.channel)
    return terms


@use_case(readonly=True)
def trial_balance(
    uow: UnitOfWork,
    *,
    period: str,
    cumulative: bool = False,
    division: str | None = None,
    channel: str | None = None,
) -> TrialBalance:
    """Debits and credits per account and currency for one period (or, `cumulative`, everything up to and
    including it), in one aggregating query over the per-period balances (one row per account and period, however
    long the journal). With `division` and/or `channel`, only the lines that carry them (ADR 0039) — each entry
    tagged whole, so that trial balance balances too. `period` may be a year's closing period (`YYYY-13`:
    cumulative, the trial balance after the year-end close).

    Raises:
        ValidationFailed: a malformed period, an unknown division or channel (naming the field).
    """
    _check_period(period, closing_allowed=True)
    table, tagged = balances_table(uow, division, channel)
    debit = sa.func.sum(table.c.debit_minor).label("debit")
    credit = sa.func.sum(table.c.credit_minor).label("credit")
    query = (
        sa.select(table.c.account_code, _ACCOUNTS.c.name, _ACCOUNTS.c.type, table.c.currency, debit, credit)
        .select_from(table.join(_ACCOUNTS, _ACCOUNTS.c.code == table.c.account_code))
        .where(table.c.period <= period if cumulative else table.c.period == period)
        .where(*dimension_filter(table, tagged))
        .group_by(table.c.account_code, _ACCOUNTS.c.name, _ACCOUNTS.c.type, table.c.currency)
        .order_by(table.c.account_code, table.c.currency)
    )
    rows = [
        TrialBalanceRow(
            account_code=r.account_code,
            name=r.name,
            type=r.type,
            currency=r.currency,
            debit=Money.from_minor(int(r.debit), r.currency),
            credit=Money.from_minor(int(r.credit), r.currency),
            balance=Money.from_minor(int(r.debit) - int(r.credit), r.currency),
        )
        for r in uow.execute_core(query)
    ]
    net: dict[str, int] = {}
    for row in rows:
        net[row.currency] = net.get(row.currency, 0) + row.balance.minor
    return TrialBalance(
        period=period,
        rows=rows,
        balanced=not any(net.values()),
        division=tagged.division,
        channel=tagged.channel,
    )
