"""Console screen for continuity programs: the programs (items, rhythm, offer, terms version) and their members —
each subscription's customer, status, next shipment, card (brand and last four only), failures and last order —
filtered by program and status, a page at a time. Read-only: members are signed up and managed through the API
(`/api/v1/subscriptions`) or by the shop itself."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordersmith.console._pages import principal_for, render
from ordersmith.continuity import rules
from ordersmith.continuity import service as continuity
from ordersmith.kernel.errors import OrdersmithError
from ordersmith.kernel.pagination import Page
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)
SCOPE = "subscriptions:read"
PAGE = 50


@router.get("/continuity")
def members(request: Request, program: str = "", status: str = "", cursor: str = "") -> Response:
    principal = principal_for(request, SCOPE)
    uow = unit_of_work(request)
    error, code = "", 200
    programs = continuity.list_programs(uow, limit=200).items if principal.can("continuity:read") else []
    chosen_status = status if status in rules.STATUSES else None
    try:
        page = continuity.list_subscriptions(uow, program=program or None, status=chosen_status,
                                             cursor=cursor or None, limit=PAGE)  # fmt: skip
    except OrdersmithError as exc:  # an unknown program or a stale cursor: say so, list nothing
        page, error, code = Page([], None), exc.detail, exc.status
    return render(request, "continuity.html", principal, status=code, error=error, programs=programs,
                  members=page.items, next_cursor=page.next_cursor, program=program, chosen=chosen_status or "",
                  statuses=rules.STATUSES)  # fmt: skip
