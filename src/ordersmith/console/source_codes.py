"""Console screens for the master list of source (key) codes: every code (or one campaign's) with its cell, offer,
validity and expected response, a page at a time; each channel's policy for an order's unknown or expired code
(refuse it, or key it to a default code); and a code's own page, where its validity is extended or ended, it is
switched off or on and its expected response revised at the version read (its offer and cell went to print: they do
not change).

Forms are checked by the API's input models (`SourceCodePatch`, `ChannelPolicyIn`) and made by the same use cases;
a refusal shows the form again with the problem's reason beside the fields it names, its status, nothing written.
Reading needs `marketing:read`; writing `marketing:write` and the session's CSRF token.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._forms import Refusal, posted, refused
from ordersmith.console._pages import principal_for, render
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.kernel.pagination import Page
from ordersmith.marketing import service as marketing
from ordersmith.marketing.schemas import ChannelPolicyIn, SourceCodePatch
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.sales_channels import list_sales_channels
from ordersmith.platform.schemas import validated

router = APIRouter(include_in_schema=False)
READ, WRITE = "marketing:read", "marketing:write"
PAGE = 100
CHANNELS_SHOWN = 200  # sales channels are reference data: a handful


def _list_page(
    request: Request,
    *,
    campaign: str = "",
    cursor: str = "",
    refusal: Refusal | None = None,
    done: str = "",
) -> Response:
    principal = principal_for(request, READ)
    uow = unit_of_work(request)
    status, error = refusal.status if refusal else 200, ""
    try:
        page = marketing.list_source_codes(uow, campaign=campaign or None, cursor=cursor or None, limit=PAGE)
    except OrdersmithError as exc:  # an unknown campaign or a stale cursor: say so, list nothing
        page, error, status = Page([], None), exc.detail, exc.status
    return render(
        request,
        "marketing/source_codes.html",
        principal,
        status=status,
        codes=page.items,
        next_cursor=page.next_cursor,
        campaign=campaign,
        campaigns=marketing.list_campaigns(uow, limit=200).items,
        policies=marketing.list_channel_policies(uow),
        channels=list_sales_channels(uow, principal=principal, limit=CHANNELS_SHOWN).items,
        error=error,
        refusal=refusal,
        done=done,
        can_write=principal.can(WRITE),
    )


@router.get("/source-codes")
def source_codes(request: Request, campaign: str = "", cursor: str = "", done: str = "") -> Response:
    return _list_page(request, campaign=campaign.strip()[:40], cursor=cursor[:200], done=done[:200])


@router.post("/source-code-policies")
async def set_policy(request: Request) -> Response:
    """What a channel does with an order whose code is unknown or expired (`ChannelPolicyIn`,
    `set_channel_policy`)."""
    _, _, typed = await posted(request, WRITE)
    channel = typed.get("channel", "")
    try:
        body = validated(
            ChannelPolicyIn,
            {"on_unknown": typed.get("on_unknown", ""), "default_code": typed.get("default_code") or None},
        )
        marketing.set_channel_policy(unit_of_work(request), channel=channel, **body.model_dump())
    except OrdersmithError as exc:
        return _list_page(request, refusal=refused(exc, form="policy", typed=typed))
    return RedirectResponse(f"/source-codes?done={channel}+policy+saved#policies-title", status_code=303)


def _code_page(request: Request, code: str, refusal: Refusal | None = None, done: str = "") -> Response:
    principal = principal_for(request, READ)
    try:
        found = marketing.get_source_code(unit_of_work(request), code=code)
    except NotFound as exc:
        return render(request, "error.html", principal, status=404, title="Not found", detail=exc.detail)
    return render(
        request,
        "marketing/source_code.html",
        principal,
        status=refusal.status if refusal else 200,
        code=found,
        refusal=refusal,
        done=done,
        can_write=principal.can(WRITE),
        reads_reports=principal.can("reports:read"),
    )


@router.get("/source-codes/{code}")
def source_code(request: Request, code: str, done: str = "") -> Response:
    return _code_page(request, code, done=done[:200])


@router.post("/source-codes/{code}")
async def change_source_code(request: Request, code: str) -> Response:
    """Validity (a blank end: open-ended), on/off and expected response at the version read (`SourceCodePatch`,
    as `PATCH /api/v1/source-codes/{code}` with If-Match)."""
    _, _, typed = await posted(request, WRITE)
    ends_on = typed.get("ends_on", "")
    try:
        patch = validated(
            SourceCodePatch,
            {
                "ends_on": ends_on or None,
                "open_ended": not ends_on,
                "active": "active" in typed,
                "expected_response_pct": typed.get("expected_response_pct") or None,
            },
        )
        version = int(typed["version"]) if typed.get("version", "").isdigit() else None
        changed = marketing.update_source_code(
            unit_of_work(request), code=code, version=version, **patch.model_dump()
        )
    except OrdersmithError as exc:
        return _code_page(request, code, refused(exc, form="edit-code", typed=typed))
    return RedirectResponse(f"/source-codes/{changed.code}?done=saved", status_code=303)
