"""Fiscal years API (ADR 0039): read them, close one (posting its closing entry into retained earnings) and reopen
it (reversing that entry). Closing and reopening need `finance:year_end`; staff only, like the rest of the ledger."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from ordersmith.finance import closing, service
from ordersmith.finance.year_end_schemas import FiscalYearOut, ReopenYearIn
from ordersmith.platform.access import Principal
from ordersmith.platform.http import authorize, requires, unit_of_work

router = APIRouter(tags=["finance"])
Auth = Annotated[Principal, Depends(authorize)]
Year = Annotated[int, Path(ge=closing.FIRST_YEAR, le=closing.LAST_YEAR, examples=[2026])]
_REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "`fiscal_year_closed`: closed already; `periods_open`: a month of the year, or an earlier "
        "year, is still open; `conflict`: not closed, or the next year is closed"
    }
}


@router.get("/fiscal-years", response_model=list[FiscalYearOut], openapi_extra=requires("finance:read"))
def list_fiscal_years(principal: Auth, request: Request) -> list[FiscalYearOut]:
    """Every year that has a period or was ever closed, the latest first, with its months and closing entries."""
    return [FiscalYearOut.of(y) for y in service.list_fiscal_years(unit_of_work(request))]


@router.get("/fiscal-years/{year}", response_model=FiscalYearOut, openapi_extra=requires("finance:read"))
def get_fiscal_year(year: Year, principal: Auth, request: Request) -> FiscalYearOut:
    return FiscalYearOut.of(service.get_fiscal_year(unit_of_work(request), year=year))


@router.post(
    "/fiscal-years/{year}/close",
    response_model=FiscalYearOut,
    openapi_extra=requires("finance:year_end"),
    responses=_REFUSALS,
)
def close_fiscal_year(year: Year, principal: Auth, request: Request) -> FiscalYearOut:
    """Close a fiscal year once every month of it (and every earlier year) is closed: its closing entry — each
    revenue and expense account's year, per division and channel, into retained earnings (role
    `retained_earnings`), one entry per currency — is posted in the closing period `YYYY-13`, exactly once."""
    return FiscalYearOut.of(service.close_fiscal_year(unit_of_work(request), year=year))


@router.post(
    "/fiscal-years/{year}/reopen",
    response_model=FiscalYearOut,
    openapi_extra=requires("finance:year_end"),
    responses=_REFUSALS,
)
def reopen_fiscal_year(year: Year, body: ReopenYearIn, principal: Auth, request: Request) -> FiscalYearOut:
    """Reopen a closed fiscal year, saying why: its closing entries are reversed and its months may be reopened.
    Refused while the next year is closed."""
    return FiscalYearOut.of(service.reopen_fiscal_year(unit_of_work(request), year=year, note=body.note))
