"""Console screens for campaigns: the campaigns with their drops (a new one with its first drop), and a campaign's
own page — renamed, annotated, switched off at the version read; more drops (in-home date, quantity mailed, cost
per piece, creative/catalog version); its key codes drop by drop, and a new key code with its offer (a price list
and/or promotions), valid dates and expected response.

Every form is checked by the API's own input model and made by the same use case as the API's
(`POST /api/v1/campaigns`, `…/drops`, `PATCH …`, `POST /api/v1/source-codes`); a refusal shows the form again
with the problem's reason and each field it names beside that field, with its status, and nothing is written.
Reading needs `marketing:read`; writing `marketing:write` and the session's CSRF token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._forms import Refusal, posted, refused
from ordersmith.console._pages import principal_for, render
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.marketing import service as marketing
from ordersmith.marketing.schemas import CampaignIn, CampaignPatch, DropsIn, SourceCodeIn
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import validated
from ordersmith.pricing import service as pricing

router = APIRouter(include_in_schema=False)
READ, WRITE = "marketing:read", "marketing:write"
SHOWN = 200  # campaigns on the list, codes on a campaign's page (a season's book has a few dozen)
KINDS = {
    "catalog": "catalog mailing",
    "email": "e-mail",
    "web": "web",
    "space_ad": "space ad",
    "marketplace": "marketplace promotion",
}
# The API's field paths → the inputs of the drop forms (a new campaign's first drop, or another drop).
DROP_INPUTS = {
    "drops": "drop_code",
    "drops.0.code": "drop_code",
    "drops.0.in_home_on": "in_home_on",
    "drops.0.quantity_mailed": "quantity_mailed",
    "drops.0.cost_per_piece": "cost_per_piece",
    "drops.0.creative": "creative",
}


def _drop(typed: dict[str, str], currency: str) -> dict[str, Any]:
    return {
        "code": typed.get("drop_code", ""),
        "in_home_on": typed.get("in_home_on", ""),
        "quantity_mailed": typed.get("quantity_mailed", ""),
        "cost_per_piece": {"amount": typed.get("cost_per_piece", ""), "currency": currency},
        "creative": typed.get("creative", ""),
    }


def _new_drops(drops: list[Any]) -> list[marketing.NewDrop]:
    return [
        marketing.NewDrop(d.code, d.in_home_on, d.quantity_mailed, d.cost_per_piece.to_money(), d.creative)
        for d in drops
    ]


# --- the campaigns -------------------------------------------------------------------------------------------------


def _list_page(request: Request, refusal: Refusal | None = None, done: str = "") -> Response:
    principal = principal_for(request, READ)
    page = marketing.list_campaigns(unit_of_work(request), limit=SHOWN)
    return render(
        request,
        "marketing/campaigns.html",
        principal,
        status=refusal.status if refusal else 200,
        campaigns=page.items,
        more=page.next_cursor is not None,
        kinds=KINDS,
        refusal=refusal,
        done=done,
        can_write=principal.can(WRITE),
    )


@router.get("/campaigns")
def campaigns(request: Request, done: str = "") -> Response:
    return _list_page(request, done=done[:200])


@router.post("/campaigns")
async def new_campaign(request: Request) -> Response:
    """A campaign and, when its fields are typed, its first drop: checked by `CampaignIn`, made by
    `create_campaign` (all or nothing)."""
    _, _, typed = await posted(request, WRITE)
    currency = typed.get("currency", "").upper() or "USD"
    first_drop = any(typed.get(k) for k in ("drop_code", "in_home_on", "quantity_mailed", "cost_per_piece"))
    try:
        body = validated(
            CampaignIn,
            {
                "code": typed.get("code", ""),
                "name": typed.get("name", ""),
                "kind": typed.get("kind", ""),
                "currency": currency,
                "notes": typed.get("notes", ""),
                "drops": [_drop(typed, currency)] if first_drop else [],
            },
        )
        made = marketing.create_campaign(
            unit_of_work(request), drops=_new_drops(body.drops), **body.model_dump(exclude={"drops"})
        )
    except OrdersmithError as exc:
        return _list_page(request, refused(exc, form="new-campaign", typed=typed, names=DROP_INPUTS))
    return RedirectResponse(f"/campaigns/{made.code}?done=campaign+{made.code}+made", status_code=303)


# --- one campaign ----------------------------------------------------------------------------------------------------


def _campaign_page(request: Request, code: str, refusal: Refusal | None = None, done: str = "") -> Response:
    principal = principal_for(request, READ)
    uow = unit_of_work(request)
    try:
        campaign = marketing.get_campaign(uow, code=code)
    except NotFound as exc:
        return render(request, "error.html", principal, status=404, title="Not found", detail=exc.detail)
    codes = marketing.list_source_codes(uow, campaign=campaign.code, limit=SHOWN)
    by_drop: dict[str, list[marketing.SourceCode]] = {d.code: [] for d in campaign.drops}
    for source_code in codes.items:
        by_drop.setdefault(source_code.drop, []).append(source_code)
    can_write = principal.can(WRITE)
    price_lists, promotions = _offers(uow, campaign.currency) if can_write else ([], [])
    return render(
        request,
        "marketing/campaign.html",
        principal,
        status=refusal.status if refusal else 200,
        campaign=campaign,
        kinds=KINDS,
        by_drop=by_drop,
        more_codes=codes.next_cursor is not None,
        coded={d: sum(c.quantity_mailed for c in listed) for d, listed in by_drop.items()},
        price_lists=price_lists,
        promotions=promotions,
        refusal=refusal,
        done=done,
        can_write=can_write,
    )


def _offers(uow: UnitOfWork, currency: str) -> tuple[list[Any], list[Any]]:
    """The price lists in the campaign's currency and the promotions a code may offer (reference data: a few)."""
    lists = [p for p in pricing.list_price_lists(uow) if p.currency == currency]
    return lists, pricing.list_promotions(uow)


@router.get("/campaigns/{code}")
def campaign(request: Request, code: str, done: str = "") -> Response:
    return _campaign_page(request, code, done=done[:200])


@router.post("/campaigns/{code}")
async def change_campaign(request: Request, code: str) -> Response:
    """Name, notes and on/off at the version the page was read at (`CampaignPatch`, as `PATCH` with If-Match)."""
    _, _, typed = await posted(request, WRITE)
    try:
        patch = validated(
            CampaignPatch,
            {"name": typed.get("name", ""), "notes": typed.get("notes", ""), "active": "active" in typed},
        )
        version = int(typed["version"]) if typed.get("version", "").isdigit() else None
        changed = marketing.update_campaign(
            unit_of_work(request), code=code, version=version, **patch.model_dump(exclude_unset=True)
        )
    except OrdersmithError as exc:
        return _campaign_page(request, code, refused(exc, form="edit-campaign", typed=typed))
    return RedirectResponse(f"/campaigns/{changed.code}?done=saved", status_code=303)


@router.post("/campaigns/{code}/drops")
async def add_drop(request: Request, code: str) -> Response:
    """Another drop, in the campaign's currency (`DropsIn`, `add_drops`)."""
    _, _, typed = await posted(request, WRITE)
    try:
        uow = unit_of_work(request)
        currency = marketing.get_campaign(uow, code=code).currency
        body = validated(DropsIn, {"drops": [_drop(typed, currency)]})
        changed = marketing.add_drops(uow, campaign=code, drops=_new_drops(body.drops))
    except OrdersmithError as exc:
        return _campaign_page(request, code, refused(exc, form="new-drop", typed=typed, names=DROP_INPUTS))
    drop = body.drops[0].code.upper()
    return RedirectResponse(f"/campaigns/{changed.code}?done=drop+{drop}+added#drop-{drop}", status_code=303)


@router.post("/campaigns/{code}/codes")
async def new_code(request: Request, code: str) -> Response:
    """A key code for one list/segment of a drop, with its offer (`SourceCodeIn`, `create_source_code`)."""
    _, form, typed = await posted(request, WRITE)
    promotions = [str(p) for p in form.getlist("promotions") if isinstance(p, str) and p.strip()]
    try:
        body = validated(
            SourceCodeIn,
            {
                "code": typed.get("code", ""),
                "campaign": code,
                "drop": typed.get("drop", ""),
                "segment": typed.get("segment", ""),
                "quantity_mailed": typed.get("quantity_mailed", "") or 0,
                "price_list": typed.get("price_list") or None,
                "promotions": promotions,
                "starts_on": typed.get("starts_on") or None,
                "ends_on": typed.get("ends_on") or None,
                "expected_response_pct": typed.get("expected_response_pct", "") or "0",
            },
        )
        made = marketing.create_source_code(unit_of_work(request), **body.model_dump())
    except OrdersmithError as exc:
        typed["promotions"] = ",".join(promotions)
        return _campaign_page(request, code, refused(exc, form="new-code", typed=typed))
    return RedirectResponse(
        f"/campaigns/{made.campaign}?done=key+code+{made.code}+made#drop-{made.drop}", status_code=303
    )
