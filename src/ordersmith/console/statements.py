"""Console screens for the statements: the trial balance, the income statement and the balance sheet of any period
(a year's closing period `YYYY-13` too, where it makes sense), each for every line or filtered by division and/or
sales channel (ADR 0039). Each reads the period or dimension balances in one query, as the API does; a malformed
period or an unknown dimension is shown beside its field, never a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordersmith.catalog import service as catalog
from ordersmith.console._books import NO_REFUSAL, current_period, page, refusal
from ordersmith.console._pages import principal_for
from ordersmith.finance import closing
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import OrdersmithError, ValidationFailed
from ordersmith.platform.access import Principal
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.sales_channels import list_sales_channels

router = APIRouter(include_in_schema=False)
REPORTS = [
    ("Trial balance", "/finance/statements"),
    ("Income statement", "/finance/statements/income-statement"),
    ("Balance sheet", "/finance/statements/balance-sheet"),
]


def _choices(request: Request, principal: Principal) -> dict[str, Any]:
    """The periods to pick from (every month with a period, and each closed year's closing period), divisions and
    channels: reference data, a few rows each."""
    uow = unit_of_work(request)
    periods = [p.code for p in finance.list_periods(uow)]
    closed = [closing.closing_period(y.year) for y in finance.list_fiscal_years(uow) if y.closings]
    return {
        "periods": sorted({*periods, *closed}, reverse=True),
        "divisions": [d.code for d in catalog.list_divisions(uow)],
        "channels": [c.code for c in list_sales_channels(uow, principal=principal, limit=500).items],
        "reports": REPORTS,
    }


def _dimension(value: str, field: str) -> str | None:
    text = value.strip()
    if len(text) > 40:
        raise ValidationFailed.on(field, "at most 40 characters")
    return text or None


def _period(value: str, default: str) -> str:
    return value.strip()[:7] or default


@router.get("/finance/statements")
def trial_balance(
    request: Request, period: str = "", cumulative: str = "", division: str = "", channel: str = ""
) -> Response:
    principal = principal_for(request, "finance:read")
    uow = unit_of_work(request)
    typed: dict[str, Any] = {
        "period": _period(period, current_period(uow.now().date())),
        "cumulative": bool(cumulative),
        "division": division[:40],
        "channel": channel[:40],
    }
    refused, found = NO_REFUSAL, None
    try:
        found = finance.trial_balance(
            uow,
            period=str(typed["period"]),
            cumulative=bool(cumulative),
            division=_dimension(division, "division"),
            channel=_dimension(channel, "channel"),
        )
    except OrdersmithError as exc:
        refused = refusal(exc)
    return page(
        request,
        "books/trial_balance.html",
        principal,
        refused=refused,
        trial=found,
        typed=typed,
        totals=_totals(found),
        **_choices(request, principal),
    )


def _totals(found: finance.TrialBalance | None) -> list[tuple[str, Any, Any]]:
    """Σ debits and Σ credits per currency: the two columns a trial balance adds up."""
    if found is None:
        return []
    sums: dict[str, list[Any]] = {}
    for row in found.rows:
        if row.currency not in sums:
            sums[row.currency] = [row.debit, row.credit]
        else:
            sums[row.currency][0] += row.debit
            sums[row.currency][1] += row.credit
    return [(currency, debit, credit) for currency, (debit, credit) in sorted(sums.items())]


@router.get("/finance/statements/income-statement")
def income_statement(
    request: Request,
    from_period: str = "",
    to_period: str = "",
    currency: str = "",
    division: str = "",
    channel: str = "",
) -> Response:
    principal = principal_for(request, "finance:read")
    uow = unit_of_work(request)
    first = _period(from_period, f"{uow.now().year:04d}-01")
    typed = {
        "from_period": first,
        "to_period": _period(to_period, current_period(uow.now().date())),
        "currency": currency[:3],
        "division": division[:40],
        "channel": channel[:40],
    }
    refused, found = NO_REFUSAL, None
    try:
        found = finance.income_statement(
            uow,
            from_period=typed["from_period"],
            to_period=typed["to_period"],
            currency=currency.strip()[:3] or None,
            division=_dimension(division, "division"),
            channel=_dimension(channel, "channel"),
        )
    except OrdersmithError as exc:
        refused = refusal(exc)
    return page(
        request,
        "books/income_statement.html",
        principal,
        refused=refused,
        statement=found,
        typed=typed,
        **_choices(request, principal),
    )


@router.get("/finance/statements/balance-sheet")
def balance_sheet(
    request: Request, period: str = "", currency: str = "", division: str = "", channel: str = ""
) -> Response:
    principal = principal_for(request, "finance:read")
    uow = unit_of_work(request)
    typed = {
        "period": _period(period, current_period(uow.now().date())),
        "currency": currency[:3],
        "division": division[:40],
        "channel": channel[:40],
    }
    refused, found = NO_REFUSAL, None
    try:
        found = finance.balance_sheet(
            uow,
            period=typed["period"],
            currency=currency.strip()[:3] or None,
            division=_dimension(division, "division"),
            channel=_dimension(channel, "channel"),
        )
    except OrdersmithError as exc:
        refused = refusal(exc)
    return page(
        request,
        "books/balance_sheet.html",
        principal,
        refused=refused,
        sheet=found,
        typed=typed,
        **_choices(request, principal),
    )
