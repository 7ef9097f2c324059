"""Accounting periods: listed, closed (postings dated in a closed period go to the next open one, with a note;
manual entries into it are refused) and reopened (not while its fiscal year is closed, ADR 0039)."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa

from ordersmith.finance.service._common import Period
from ordersmith.finance.service.journal import _check_period, _ensure_period
from ordersmith.finance.tables import FiscalYearRow, PeriodRow
from ordersmith.kernel.errors import Conflict, FieldError, NotFound
from ordersmith.platform.db import UnitOfWork, use_case

_YEARS = cast(sa.Table, FiscalYearRow.__table__)


def _period(row: PeriodRow) -> Period:
    return Period(
        code=row.code,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        status=row.status,
        closed_by=row.closed_by,
        closed_at=row.closed_at,
    )


@use_case(readonly=True)
def list_periods(uow: UnitOfWork) -> list[Period]:
    return [_period(r) for r in uow.session.scalars(sa.select(PeriodRow).order_by(PeriodRow.code))]


@use_case
def close_period(uow: UnitOfWork, *, period: str) -> Period:
    """Close an accounting period: from now on, postings dated in it go to the next open period (with a note) and
    manual entries into it are refused.

    Raises:
        ValidationFailed: a malformed period (naming `period`).
        Conflict: the period is closed already.
    """
    _check_period(period)
    _ensure_period(uow, period)
    row = uow.session.get(PeriodRow, period, with_for_update=True)
    assert row is not None
    if row.status == "closed":
        raise Conflict(f"period {period} is closed already")
    row.status, row.closed_by, row.closed_at = "closed", uow.actor.label, uow.now()
    uow.audit("finance.period_closed", object_type="period", object_id=period, after={"status": "closed"})
    return _period(row)


@use_case
def reopen_period(uow: UnitOfWork, *, period: str) -> Period:
    """Open a closed period again (postings already moved to a later period stay where they are). A month of a
    closed fiscal year stays closed until the year is reopened (ADR 0039).

    Raises:
        NotFound: no such period.
        Conflict: the period is open, or its fiscal year is closed.
    """
    _check_period(period)
    row = uow.session.get(PeriodRow, period, with_for_update=True)
    if row is None:
        raise NotFound(f"no period {period}")
    if row.status == "open":
        raise Conflict(f"period {period} is open")
    # Read after the month's lock: a year being closed meanwhile has claimed its row first and then waits for this
    # month's lock, so it sees the month reopened and refuses (service/year_end.py takes them in that order).
    year_status = uow.execute_core(
        sa.select(_YEARS.c.status).where(_YEARS.c.year == int(period[:4]))
    ).scalar()
    if year_status == "closed":
        raise Conflict(
            f"fiscal year {period[:4]} is closed: reopen the year first",
            errors=[FieldError("period", f"fiscal year {period[:4]} is closed")],
        )
    row.status, row.closed_by, row.closed_at = "open", None, None
    uow.audit("finance.period_reopened", object_type="period", object_id=period, after={"status": "open"})
    return _period(row)
