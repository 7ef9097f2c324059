"""Console screen for accounting periods and fiscal years: each month with its status (close it: later postings
dated in it go to the next open month, with a note; reopen it), and each fiscal year with the months still open,
closed and reopened by whom — close a year once its months are closed (its closing entry moves revenue and expenses
into retained earnings, once), reopen it with a note (its closing entry reversed), under the rules the API keeps
(ADR 0039): a month of a closed year stays closed; years close in order and reopen from the latest.

Closing and reopening months need `finance:write`; years `finance:year_end`. A refusal is shown with its reason
beside the form, and nothing changed.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._books import NO_REFUSAL, Refusal, current_period, page, refusal
from ordersmith.console._pages import check_form_csrf, principal_for
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import OrdersmithError, ValidationFailed
from ordersmith.platform.access import Principal
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    principal: Principal,
    *,
    refused: Refusal = NO_REFUSAL,
    failed: str = "",
    typed: dict[str, str] | None = None,
) -> Response:
    uow = unit_of_work(request)
    years = finance.list_fiscal_years(uow)
    today = uow.now().date()
    if not any(y.year == today.year for y in years):
        years.insert(0, finance.get_fiscal_year(uow, year=today.year))
    return page(
        request,
        "books/periods.html",
        principal,
        refused=refused,
        years=years,
        failed=failed,
        typed=typed or {"period": current_period(today)},
        current=current_period(today),
        may_close=principal.can("finance:write"),
        may_close_years=principal.can("finance:year_end"),
        done=request.query_params.get("done", ""),
    )


@router.get("/finance/periods")
def periods(request: Request) -> Response:
    return _page(request, principal_for(request, "finance:read"))


def _period_form(value: str) -> str:
    text = value.strip()
    if len(text) != 7:
        raise ValidationFailed.on("period", "a period is written YYYY-MM")
    return text


@router.post("/finance/periods/close")
def close_period(
    request: Request, period: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Close a month: postings dated in it go to the next open month from now on."""
    return _month(request, period, csrf_token, close=True)


@router.post("/finance/periods/reopen")
def reopen_period(
    request: Request, period: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Reopen a closed month (not one of a closed year)."""
    return _month(request, period, csrf_token, close=False)


def _month(request: Request, period: str, csrf_token: str, *, close: bool) -> Response:
    principal = principal_for(request, "finance:write")
    check_form_csrf(principal, csrf_token)
    uow = unit_of_work(request)
    try:
        code = _period_form(period)
        found = finance.close_period(uow, period=code) if close else finance.reopen_period(uow, period=code)
    except OrdersmithError as exc:
        return _page(
            request, principal, refused=refusal(exc), failed=period[:7], typed={"period": period[:7]}
        )
    done = quote(f"{found.code} {'closed' if close else 'reopened'}")
    return RedirectResponse(f"/finance/periods?done={done}#year-{found.code[:4]}", status_code=303)


def _year(value: str) -> int:
    if not (value.isdigit() and len(value) == 4):
        raise ValidationFailed.on("year", "a year, e.g. 2026")
    return int(value)


@router.post("/finance/fiscal-years/{year}/close")
def close_year(request: Request, year: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Close a fiscal year: its closing entry is posted, once."""
    principal = principal_for(request, "finance:year_end")
    check_form_csrf(principal, csrf_token)
    try:
        closed = finance.close_fiscal_year(unit_of_work(request), year=_year(year))
    except OrdersmithError as exc:
        return _page(request, principal, refused=refusal(exc), failed=f"year-{year[:4]}")
    entries = len(closed.closing_entries)
    done = quote(f"{closed.year} closed: {entries} closing entr{'y' if entries == 1 else 'ies'} posted")
    return RedirectResponse(f"/finance/periods?done={done}#year-{closed.year}", status_code=303)


@router.post("/finance/fiscal-years/{year}/reopen")
def reopen_year(
    request: Request, year: str, note: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Reopen a fiscal year, saying why: its closing entry is reversed."""
    principal = principal_for(request, "finance:year_end")
    check_form_csrf(principal, csrf_token)
    try:
        if len(note) > 500:
            raise ValidationFailed.on("note", "at most 500 characters")
        opened = finance.reopen_fiscal_year(unit_of_work(request), year=_year(year), note=note)
    except OrdersmithError as exc:
        typed = {"note": note[:500]}
        return _page(request, principal, refused=refusal(exc), failed=f"year-{year[:4]}", typed=typed)
    done = quote(f"{opened.year} reopened")
    return RedirectResponse(f"/finance/periods?done={done}#year-{opened.year}", status_code=303)
