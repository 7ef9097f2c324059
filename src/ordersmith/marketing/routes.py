"""Marketing API: campaigns and their drops, the master list of source (key) codes with their offers, what each
sales channel does with an order whose code is unknown or expired, how each currency's buyers are RFM-scored
(quintiles or configured cut-offs) and a customer's stored purchase facts with their scores (ADR 0037).

Staff only: `marketing:read` / `marketing:write` are never held by a channel-bound key, and no channel owns these
records, so to such a key every operation answers 404 as if nothing were there (`requires(…, no_channel=True)`),
never 403. Writing a code needs `marketing:write` because its offer prices every order that carries it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from ordersmith.kernel.money import Money
from ordersmith.marketing import service
from ordersmith.marketing.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    ChannelPolicyIn,
    ChannelPolicyOut,
    Code,
    CurrencyFactsOut,
    CutoffsOut,
    DropsIn,
    Kind,
    PurchaseFactsOut,
    RfmScoringIn,
    RfmScoringOut,
    SourceCodeIn,
    SourceCodeOut,
    SourceCodePatch,
)
from ordersmith.platform.access import Principal
from ordersmith.platform.http import authorize, created, etag, if_match_version, requires, unit_of_work
from ordersmith.platform.schemas import MoneyOut, PageOut, money_in

router = APIRouter(tags=["marketing"])
Auth = Annotated[Principal, Depends(authorize)]
Limit = Annotated[int, Query(ge=1, le=200)]
Currency = Annotated[str, Path(pattern=r"^[A-Za-z]{3}$", examples=["USD"])]
CustomerNumber = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,20}$")]


def _drops(body: DropsIn | CampaignIn) -> list[service.NewDrop]:
    return [
        service.NewDrop(
            code=d.code,
            in_home_on=d.in_home_on,
            quantity_mailed=d.quantity_mailed,
            cost_per_piece=d.cost_per_piece.to_money(),
            creative=d.creative,
        )
        for d in body.drops
    ]


@router.get(
    "/campaigns",
    response_model=PageOut[CampaignOut],
    openapi_extra=requires("marketing:read", no_channel=True),
)
def list_campaigns(
    principal: Auth, request: Request, kind: Kind | None = None, limit: Limit = 50, cursor: str | None = None
) -> dict[str, Any]:
    """Campaigns by code, each with its drops."""
    page = service.list_campaigns(unit_of_work(request), kind=kind, cursor=cursor, limit=limit)
    return {"items": [CampaignOut.model_validate(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/campaigns",
    status_code=201,
    response_model=CampaignOut,
    openapi_extra=requires("marketing:write", no_channel=True),
)
def create_campaign(body: CampaignIn, principal: Auth, request: Request) -> Response:
    """A campaign (catalog mailing, e-mail, web, space ad, marketplace promotion) with its drops: in-home date,
    quantity mailed, cost per piece and creative/catalog version."""
    drops = _drops(body)
    fields = body.model_dump(exclude={"drops"})
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda uow: CampaignOut.model_validate(service.create_campaign(uow, drops=drops, **fields)),
    )


@router.get(
    "/campaigns/{code}", response_model=CampaignOut, openapi_extra=requires("marketing:read", no_channel=True)
)
def get_campaign(code: Code, principal: Auth, request: Request, response: Response) -> CampaignOut:
    campaign = service.get_campaign(unit_of_work(request), code=code)
    response.headers["ETag"] = etag(campaign.version)
    return CampaignOut.model_validate(campaign)


@router.patch(
    "/campaigns/{code}",
    response_model=CampaignOut,
    openapi_extra=requires("marketing:write", no_channel=True),
)
def update_campaign(
    code: Code, body: CampaignPatch, principal: Auth, request: Request, response: Response
) -> CampaignOut:
    """Rename, annotate or (de)activate a campaign (`If-Match` honoured)."""
    campaign = service.update_campaign(
        unit_of_work(request),
        code=code,
        version=if_match_version(request),
        **body.model_dump(exclude_unset=True),
    )
    response.headers["ETag"] = etag(campaign.version)
    return CampaignOut.model_validate(campaign)


@router.post(
    "/campaigns/{code}/drops",
    status_code=201,
    response_model=CampaignOut,
    openapi_extra=requires("marketing:write", no_channel=True),
)
def add_drops(code: Code, body: DropsIn, principal: Auth, request: Request) -> Response:
    """More drops of a campaign (a remail, another in-home date), in the campaign's currency."""

    drops = _drops(body)
    return created(
        request,
        principal,
        {"campaign": code, **body.model_dump(mode="json")},
        lambda uow: CampaignOut.model_validate(service.add_drops(uow, campaign=code, drops=drops)),
    )


@router.get(
    "/source-codes",
    response_model=PageOut[SourceCodeOut],
    openapi_extra=requires("marketing:read", no_channel=True),
)
def list_source_codes(
    principal: Auth,
    request: Request,
    campaign: Code | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The master list of source (key) codes by code, optionally one campaign's."""
    page = service.list_source_codes(unit_of_work(request), campaign=campaign, cursor=cursor, limit=limit)
    return {"items": [SourceCodeOut.model_validate(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post(
    "/source-codes",
    status_code=201,
    response_model=SourceCodeOut,
    openapi_extra=requires("marketing:write", no_channel=True),
)
def create_source_code(body: SourceCodeIn, principal: Auth, request: Request) -> Response:
    """A key code for one list/segment of a drop, with its offer (a price list and/or promotions), validity dates
    (from the drop's in-home date unless given) and expected response."""
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda uow: SourceCodeOut.model_validate(service.create_source_code(uow, **body.model_dump())),
    )


@router.get(
    "/source-codes/{code}",
    response_model=SourceCodeOut,
    openapi_extra=requires("marketing:read", no_channel=True),
)
def get_source_code(code: Code, principal: Auth, request: Request, response: Response) -> SourceCodeOut:
    found = service.get_source_code(unit_of_work(request), code=code)
    response.headers["ETag"] = etag(found.version)
    return SourceCodeOut.model_validate(found)


@router.patch(
    "/source-codes/{code}",
    response_model=SourceCodeOut,
    openapi_extra=requires("marketing:write", no_channel=True),
)
def update_source_code(
    code: Code, body: SourceCodePatch, principal: Auth, request: Request, response: Response
) -> SourceCodeOut:
    """Extend or end a code's validity, switch it off or on, revise its expected response (`If-Match` honoured).
    Its offer and the cell mailed do not change."""
    found = service.update_source_code(
        unit_of_work(request),
        code=code,
        version=if_match_version(request),
        **body.model_dump(exclude_unset=True),
    )
    response.headers["ETag"] = etag(found.version)
    return SourceCodeOut.model_validate(found)


@router.get(
    "/source-code-policies",
    response_model=list[ChannelPolicyOut],
    openapi_extra=requires("marketing:read", no_channel=True),
)
def list_channel_policies(principal: Auth, request: Request) -> list[ChannelPolicyOut]:
    """Channels that map unknown or expired codes to a default (every other channel refuses such orders)."""
    return [ChannelPolicyOut.model_validate(p) for p in service.list_channel_policies(unit_of_work(request))]


@router.put(
    "/source-code-policies/{channel}",
    response_model=ChannelPolicyOut,
    openapi_extra=requires("marketing:write", no_channel=True),
)
def set_channel_policy(
    channel: Code, body: ChannelPolicyIn, principal: Auth, request: Request
) -> ChannelPolicyOut:
    """What `channel` does with an order whose source code is unknown or expired: `refuse` it (422 naming
    `source_code`) or key it to `default_code`."""
    return ChannelPolicyOut.model_validate(
        service.set_channel_policy(unit_of_work(request), channel=channel, **body.model_dump())
    )


def _scoring_out(found: service.RfmScoring) -> RfmScoringOut:
    cutoffs = found.cutoffs
    return RfmScoringOut(
        currency=found.currency,
        method=found.method,
        cutoffs=None
        if cutoffs is None
        else CutoffsOut(
            recency_days=list(cutoffs.recency_days),
            frequency_orders=list(cutoffs.frequency_orders),
            monetary=[MoneyOut.of(Money.from_minor(m, found.currency)) for m in cutoffs.monetary_minor],
        ),
        scored_customers=found.scored_customers,
        scored_at=found.scored_at,
        version=found.version,
    )


@router.get(
    "/rfm-scoring/{currency}",
    response_model=RfmScoringOut,
    openapi_extra=requires("marketing:read", no_channel=True),
)
def get_rfm_scoring(
    currency: Currency, principal: Auth, request: Request, response: Response
) -> RfmScoringOut:
    """How `currency`'s buyers are RFM-scored (quintiles when nobody configured it) and the last scoring run."""
    found = service.get_rfm_scoring(unit_of_work(request), currency=currency)
    response.headers["ETag"] = etag(found.version)
    return _scoring_out(found)


@router.put(
    "/rfm-scoring/{currency}",
    response_model=RfmScoringOut,
    openapi_extra=requires("marketing:write", no_channel=True),
)
def set_rfm_scoring(
    currency: Currency, body: RfmScoringIn, principal: Auth, request: Request, response: Response
) -> RfmScoringOut:
    """Score `currency`'s buyers by `quintiles` or by `cutoffs` (four increasing day counts, order counts and
    amounts in the currency; `If-Match` honoured). A scoring run is queued at once: the stored scores follow with
    the job runner's next pass."""
    cutoffs = None
    if body.cutoffs is not None:
        given = body.cutoffs
        monetary = [
            money_in(amount, currency.upper(), field=f"cutoffs.monetary.{n}").minor
            for n, amount in enumerate(given.monetary)
        ]
        cutoffs = service.check_cutoffs(
            given.recency_days,
            given.frequency_orders,
            monetary,
            fields=("cutoffs.recency_days", "cutoffs.frequency_orders", "cutoffs.monetary"),
        )
    found = service.set_rfm_scoring(
        unit_of_work(request),
        currency=currency,
        method=body.method,
        cutoffs=cutoffs,
        version=if_match_version(request),
    )
    response.headers["ETag"] = etag(found.version)
    return _scoring_out(found)


@router.get(
    "/purchase-facts/{customer}",
    response_model=PurchaseFactsOut,
    openapi_extra=requires("marketing:read", no_channel=True),
)
def get_purchase_facts(customer: CustomerNumber, principal: Auth, request: Request) -> PurchaseFactsOut:
    """A customer's stored purchase facts (kept by the relay from their orders): orders, divisions, styles and
    categories bought, and per currency orders, spend, returns, lifetime value and RFM scores (as of the last
    scoring run, or placed among its quintile boundaries when the customer changed since). A customer merged away
    or anonymized is not found."""
    found = service.get_purchase_facts(unit_of_work(request), customer_number=customer)
    return PurchaseFactsOut(
        customer_number=found.customer_number,
        orders=found.orders,
        last_order_at=found.last_order_at,
        divisions=found.divisions,
        styles=found.styles,
        categories=found.categories,
        currencies=[
            CurrencyFactsOut(
                currency=c.currency,
                first_order_at=c.first_order_at,
                last_order_at=c.last_order_at,
                orders=c.orders,
                spent=MoneyOut.of(c.monetary),
                returned=MoneyOut.of(c.returned),
                lifetime_value=MoneyOut.of(c.lifetime_value),
                recency=c.recency,
                frequency=c.frequency,
                monetary=c.monetary_score,
                cell=c.cell,
                updated_at=c.updated_at,
            )
            for c in found.currencies
        ],
    )
