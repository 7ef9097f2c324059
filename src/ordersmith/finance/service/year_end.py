"""Fiscal years and the year-end close (ADR 0039): closing a year posts its closing entry — every revenue and
expense account of the year into retained earnings, one entry per currency, in the year's closing period
`YYYY-13` — and reopening it reverses that entry.

Rules: a year closes only when its twelve months are closed and every earlier year that has a period is closed;
it is closed once (the conditional change of its row to `closed` is in the same transaction as the entry, so two
closes at once post one entry); its closing entry is reversed only by reopening the year (never through
`reverse_entry`), which needs a note and is refused while the next year is closed; a month of a closed year cannot
be reopened. Years are locked in ascending order (earlier years, then this one, then the next), so two of these at
once wait for each other instead of deadlocking.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import sqlalchemy as sa

from ordersmith.finance import closing, rules
from ordersmith.finance.service._common import Period, insert_ignoring_duplicates, mappings
from ordersmith.finance.service.journal import NewEntry, as_rule_lines, get_entry, write_entries
from ordersmith.finance.tables import (
    AccountRow,
    DimensionBalanceRow,
    FiscalYearRow,
    JournalEntryRow,
    PeriodBalanceRow,
    PeriodRow,
)
from ordersmith.kernel.errors import Conflict, FieldError, ValidationFailed
from ordersmith.platform.db import UnitOfWork, use_case

_YEARS = cast(sa.Table, FiscalYearRow.__table__)
_PERIODS = cast(sa.Table, PeriodRow.__table__)
_ENTRIES = cast(sa.Table, JournalEntryRow.__table__)
_ACCOUNTS = cast(sa.Table, AccountRow.__table__)
_BALANCES = cast(sa.Table, PeriodBalanceRow.__table__)
_DIMENSIONS = cast(sa.Table, DimensionBalanceRow.__table__)


class FiscalYearClosed(Conflict):
    code = "fiscal_year_closed"
    title = "Fiscal year closed"


class PeriodsOpen(Conflict):
    code = "periods_open"
    title = "Periods still open"


@dataclass(frozen=True)
class FiscalYear:
    year: int
    status: str  # open | closed
    closings: int  # times it was closed (each reopening reversed one)
    closed_by: str | None
    closed_at: datetime | None
    reopened_by: str | None
    reopened_at: datetime | None
    note: str  # why it was last reopened
    periods: list[Period]  # its twelve months; a month nothing was posted in and nobody closed is open
    closing_entries: list[uuid.UUID]  # its closing entries in force (one per currency), none while open

    @property
    def open_periods(self) -> list[str]:
        return [p.code for p in self.periods if p.status != "closed"]


def _check_year(year: int) -> None:
    try:
        closing.check_year(year)
    except ValueError as exc:
        raise ValidationFailed.on("year", str(exc)) from None


def _months(uow: UnitOfWork, year: int, *, lock: bool = False) -> list[Period]:
    """The year's twelve months as periods (a month without a row is open), locked FOR UPDATE when asked."""
    query = (
        sa.select(PeriodRow).where(PeriodRow.code.in_(closing.year_periods(year))).order_by(PeriodRow.code)
    )
    rows = {r.code: r for r in uow.session.scalars(query.with_for_update() if lock else query)}
    out = []
    for code in closing.year_periods(year):
        starts_on, ends_on = rules.period_bounds(code)
        row = rows.get(code)
        if row is None:
            out.append(Period(code, starts_on, ends_on, "open", None, None))
        else:
            out.append(Period(code, starts_on, ends_on, row.status, row.closed_by, row.closed_at))
    return out


def _in_force(uow: UnitOfWork, year: int) -> list[uuid.UUID]:
    """The year's closing entries not reversed (read through the period index: a handful of rows)."""
    period = closing.closing_period(year)
    reversal = _ENTRIES.alias("reversal")
    query = (
        sa.select(_ENTRIES.c.id)
        .where(_ENTRIES.c.period == period, _ENTRIES.c.rule == closing.CLOSING_RULE)
        .where(~sa.exists().where(reversal.c.reverses_id == _ENTRIES.c.id))
        .order_by(_ENTRIES.c.id)
    )
    return list(uow.execute_core(query).scalars())


def _fiscal_year(uow: UnitOfWork, year: int) -> FiscalYear:
    row = uow.execute_core(sa.select(_YEARS).where(_YEARS.c.year == year)).first()
    return FiscalYear(
        year=year,
        status=row.status if row else "open",
        closings=row.closings if row else 0,
        closed_by=row.closed_by if row and row.status == "closed" else None,
        closed_at=row.closed_at if row and row.status == "closed" else None,
        reopened_by=row.reopened_by if row else None,
        reopened_at=row.reopened_at if row else None,
        note=row.note if row else "",
        periods=_months(uow, year),
        closing_entries=_in_force(uow, year),
    )


@use_case(readonly=True)
def get_fiscal_year(uow: UnitOfWork, *, year: int) -> FiscalYear:
    """A fiscal year: whether it is closed, by whom, its months and its closing entries.

    Raises:
        ValidationFailed: a year out of range (naming `year`).
    """
    _check_year(year)
    return _fiscal_year(uow, year)


def _years_with_periods(uow: UnitOfWork) -> list[int]:
    codes = uow.execute_core(sa.select(_PERIODS.c.code)).scalars()  # one row a month: a few hundred at most
    return sorted({int(code[:4]) for code in codes})


@use_case(readonly=True)
def list_fiscal_years(uow: UnitOfWork) -> list[FiscalYear]:
    """Every year that has a period or was ever closed, the latest first."""
    closed = set(uow.execute_core(sa.select(_YEARS.c.year)).scalars())
    return [_fiscal_year(uow, y) for y in sorted(set(_years_with_periods(uow)) | closed, reverse=True)]


def _lock_years(uow: UnitOfWork, years: list[int]) -> dict[int, str]:
    """Lock these years' rows (those that exist) in ascending order; their statuses."""
    if not years:
        return {}
    query = (
        sa.select(_YEARS.c.year, _YEARS.c.status)
        .where(_YEARS.c.year.in_(years))
        .order_by(_YEARS.c.year)
        .with_for_update()
    )
    return {r.year: r.status for r in uow.execute_core(query)}


def _retained_earnings(uow: UnitOfWork) -> str:
    try:
        code = rules.resolve(mappings(uow), "role", "retained_earnings")
    except rules.UnmappedAccount:
        raise Conflict(
            "no account is mapped for role retained_earnings: map it to an equity account",
            errors=[FieldError("retained_earnings", "map role retained_earnings to an equity account")],
        ) from None
    account = uow.execute_core(
        sa.select(_ACCOUNTS.c.type, _ACCOUNTS.c.active).where(_ACCOUNTS.c.code == code)
    ).first()
    if account is None or account.type != "equity" or not account.active:
        raise Conflict(
            f"retained earnings ({code}) must be an active equity account",
            errors=[FieldError("retained_earnings", f"account {code} is not an active equity account")],
        )
    return code


def _year_balances(uow: UnitOfWork, year: int) -> list[closing.YearBalance]:
    """Each revenue and expense account's year per currency and dimension: two aggregating reads over the year's
    period and dimension balances (one row per account, month and dimension)."""
    months = closing.year_periods(year)
    kinds = _ACCOUNTS.c.type.in_(["revenue", "expense"])

    def net(table: sa.Table) -> sa.ColumnElement[int]:
        return sa.func.sum(table.c.debit_minor - table.c.credit_minor).label("net")

    totals_query = (
        sa.select(_BALANCES.c.account_code, _BALANCES.c.currency, net(_BALANCES))
        .select_from(_BALANCES.join(_ACCOUNTS, _ACCOUNTS.c.code == _BALANCES.c.account_code))
        .where(_BALANCES.c.period.in_(months), kinds)
        .group_by(_BALANCES.c.account_code, _BALANCES.c.currency)
    )
    totals = {(r.account_code, r.currency): int(r.net) for r in uow.execute_core(totals_query)}
    dims = _DIMENSIONS
    tagged_query = (
        sa.select(dims.c.account_code, dims.c.currency, dims.c.division, dims.c.channel, net(dims))
        .select_from(dims.join(_ACCOUNTS, _ACCOUNTS.c.code == dims.c.account_code))
        .where(dims.c.period.in_(months), kinds)
        .group_by(dims.c.account_code, dims.c.currency, dims.c.division, dims.c.channel)
    )
    tagged = [
        closing.YearBalance(r.account_code, r.currency, r.division, r.channel, int(r.net))
        for r in uow.execute_core(tagged_query)
    ]
    return closing.with_untagged(totals, tagged)


@use_case
def close_fiscal_year(uow: UnitOfWork, *, year: int) -> FiscalYear:
    """Close a fiscal year: post its closing entry — each revenue and expense account's balance for the year (per
    division and channel) moved to retained earnings, one entry per currency, dated the year's last day in its
    closing period `YYYY-13` — and mark the year closed. A year with nothing to close is closed with no entry.

    Raises:
        ValidationFailed: a year out of range (naming `year`).
        FiscalYearClosed: the year is closed already (another close won).
        PeriodsOpen: a month of the year is open, or an earlier year with periods is not closed (naming them).
        Conflict: no active equity account is mapped for role `retained_earnings`.
    """
    _check_year(year)
    earlier = [y for y in _years_with_periods(uow) if y < year]
    statuses = _lock_years(uow, earlier)
    not_closed = [y for y in earlier if statuses.get(y) != "closed"]
    if not_closed:
        raise PeriodsOpen(
            f"close fiscal year {not_closed[0]} first",
            errors=[FieldError("year", f"fiscal year {y} is not closed") for y in not_closed],
        )
    # Claim the year: a second close at the same moment waits on this row, then finds it closed.
    uow.execute_core(
        insert_ignoring_duplicates(uow, _YEARS)
        .values(year=year, status="open", closings=0, note="", version=1)
        .on_conflict_do_nothing(index_elements=["year"])
    )
    claimed = uow.execute_core(
        sa.update(_YEARS)
        .where(_YEARS.c.year == year, _YEARS.c.status == "open")
        .values(
            status="closed",
            closings=_YEARS.c.closings + 1,
            closed_by=uow.actor.label,
            closed_at=uow.now(),
            version=_YEARS.c.version + 1,
        )
    )
    if claimed.rowcount != 1:
        raise FiscalYearClosed(
            f"fiscal year {year} is closed already", errors=[FieldError("year", f"{year} is closed already")]
        )
    still_open = [p.code for p in _months(uow, year, lock=True) if p.status != "closed"]
    if still_open:
        raise PeriodsOpen(
            f"close every month of {year} first: {', '.join(still_open)} open",
            errors=[FieldError("periods", f"{code} is open") for code in still_open],
        )
    retained = _retained_earnings(uow)
    planned = [
        NewEntry(
            lines=lines,
            currency=currency,
            posted_on=closing.closing_day(year),
            rule=closing.CLOSING_RULE,
            memo=f"year-end close of {year}: revenue and expenses to retained earnings",
            reference=f"FY{year}",
            source_type=closing.CLOSING_SOURCE,
            period=closing.closing_period(year),
        )
        for currency, lines in closing.closing_lines(_year_balances(uow, year), retained, year).items()
    ]
    ids = write_entries(uow, planned)
    uow.emit(
        "fiscal_year.closed",
        {"year": year, "entries": [str(i) for i in ids], "currencies": [e.currency for e in planned]},
    )
    uow.audit(
        "finance.fiscal_year_closed",
        object_type="fiscal_year",
        object_id=str(year),
        after={"status": "closed", "entries": [str(i) for i in ids]},
    )
    return _fiscal_year(uow, year)


@use_case
def reopen_fiscal_year(uow: UnitOfWork, *, year: int, note: str) -> FiscalYear:
    """Reopen a closed fiscal year: its closing entries are reversed (in the same closing period, so the year's
    revenue and expenses leave retained earnings again) and its months may then be reopened one by one.

    Raises:
        ValidationFailed: a year out of range, or no note saying why (naming the field).
        Conflict: the year is not closed, or the next year is closed (reopen that first).
    """
    _check_year(year)
    if not note.strip():
        raise ValidationFailed.on(
            "note", "say why the year is reopened (it is kept with the year and audited)"
        )
    claimed = uow.execute_core(
        sa.update(_YEARS)
        .where(_YEARS.c.year == year, _YEARS.c.status == "closed")
        .values(
            status="open",
            reopened_by=uow.actor.label,
            reopened_at=uow.now(),
            note=note.strip()[:500],
            version=_YEARS.c.version + 1,
        )
    )
    if claimed.rowcount != 1:
        raise Conflict(f"fiscal year {year} is not closed", errors=[FieldError("year", f"{year} is open")])
    if _lock_years(uow, [year + 1]).get(year + 1) == "closed":
        raise Conflict(
            f"fiscal year {year + 1} is closed and stands on {year}: reopen {year + 1} first",
            errors=[FieldError("year", f"fiscal year {year + 1} is closed")],
        )
    reversals = []
    for entry_id in _in_force(uow, year):
        original = get_entry(uow, entry_id=entry_id)
        reversals.append(
            NewEntry(
                lines=rules.reversal(as_rule_lines(original)),
                currency=original.currency,
                posted_on=closing.closing_day(year),
                rule="reversal",
                memo=f"fiscal year {year} reopened: {note.strip()}",
                reference=original.reference,
                source_type=closing.CLOSING_SOURCE,
                reverses_id=entry_id,
                period=closing.closing_period(year),
            )
        )
    ids = write_entries(uow, reversals)
    uow.emit(
        "fiscal_year.reopened", {"year": year, "reversals": [str(i) for i in ids], "note": note.strip()[:500]}
    )
    uow.audit(
        "finance.fiscal_year_reopened",
        object_type="fiscal_year",
        object_id=str(year),
        before={"status": "closed"},
        after={"status": "open", "note": note.strip()[:500], "reversals": [str(i) for i in ids]},
    )
    return _fiscal_year(uow, year)
