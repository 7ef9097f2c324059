"""Pricing API: set up price lists, promotions, coupons, shipping methods and tax rates; quote a cart; redeem a
coupon."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from ordersmith.kernel.money import Money
from ordersmith.platform import sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, requires, unit_of_work
from ordersmith.platform.schemas import MoneyIn
from ordersmith.pricing import service
from ordersmith.pricing.rules import ShipTo
from ordersmith.pricing.schemas import (
    CouponIn,
    CouponOut,
    CouponPatch,
    PriceListIn,
    PriceListOut,
    PromotionIn,
    PromotionOut,
    PromotionPatch,
    QuoteIn,
    QuoteOut,
    RedemptionIn,
    RedemptionOut,
    ShippingMethodIn,
    ShippingMethodOut,
    TaxRateIn,
    TaxRateOut,
)

router = APIRouter(tags=["pricing"])
Auth = Annotated[Principal, Depends(authorize)]


@router.post(
    "/price-lists", status_code=201, response_model=PriceListOut, openapi_extra=requires("pricing:write")
)
def create_price_list(body: PriceListIn, principal: Auth, request: Request) -> Response:
    """A price list with quantity breaks; the highest-priority list that applies to a cart prices it."""
    prices = [service.PriceEntry(p.sku, p.unit_price.to_money(), p.min_quantity) for p in body.prices]
    fields = body.model_dump(exclude={"prices"})
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda uow: PriceListOut.model_validate(
            service.get_price_list(uow, code=service.create_price_list(uow, prices=prices, **fields))
        ),
    )


@router.post(
    "/promotions", status_code=201, response_model=PromotionOut, openapi_extra=requires("pricing:write")
)
def create_promotion(body: PromotionIn, principal: Auth, request: Request) -> Response:
    """A promotion: percent or amount off items (by SKU or style), amount off the order above a threshold, buy X get
    Y, spend-more-save-more tiers, free shipping or a gift; conditions on group, channel, division, dates, first
    order; `exclusive` applies alone, `stackable: false` allows one such promotion per cart."""
    fields = body.model_dump(exclude={"amount", "threshold", "tiers"})
    promotion = service.PromotionInput(
        **fields,
        amount=body.amount.to_money() if body.amount else None,
        threshold=body.threshold.to_money() if body.threshold else None,
        tiers=[(t.spend.to_money(), t.percent) for t in body.tiers],
    )
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda uow: PromotionOut.model_validate(
            service.get_promotion(uow, code=service.create_promotion(uow, promotion=promotion))
        ),
    )


@router.post("/coupons", status_code=201, response_model=CouponOut, openapi_extra=requires("pricing:write"))
def create_coupon(body: CouponIn, principal: Auth, request: Request) -> Response:
    """A code for a promotion: single-use (`max_uses: 1`), or multi-use with global and per-customer limits."""
    return created(
        request,
        principal,
        body.model_dump(),
        lambda uow: CouponOut.model_validate(
            service.get_coupon(uow, code=service.create_coupon(uow, **body.model_dump()))
        ),
    )


@router.post(
    "/coupons/{code}/redemptions",
    status_code=201,
    response_model=RedemptionOut,
    openapi_extra=requires("pricing:redeem"),
    responses={409: {"description": "coupon_exhausted: a limit is reached; nothing was counted"}},
)
def redeem_coupon(code: str, body: RedemptionIn, principal: Auth, request: Request) -> Response:
    """Count one use (an order placed with the coupon). Never beyond the limits, however many arrive at once; the
    same key counts once."""
    return created(
        request,
        principal,
        body.model_dump(),
        lambda uow: RedemptionOut.model_validate(
            service.redeem_coupon(uow, code=code, key=body.key, customer=body.customer)
        ),
    )


@router.post(
    "/shipping-methods",
    status_code=201,
    response_model=ShippingMethodOut,
    openapi_extra=requires("pricing:write"),
)
def create_shipping_method(body: ShippingMethodIn, principal: Auth, request: Request) -> Response:
    def money(value: MoneyIn | None) -> Money | None:
        return value.to_money() if value is not None else None

    def execute(uow: UnitOfWork) -> ShippingMethodOut:
        code = service.create_shipping_method(
            uow,
            code=body.code,
            name=body.name,
            kind=body.kind,
            currency=body.currency,
            flat=money(body.flat),
            weight_bands=[(b.up_to_g, b.charge.to_money()) for b in body.weight_bands],
            value_bands=[(b.up_to.to_money(), b.charge.to_money()) for b in body.value_bands],
            free_over=money(body.free_over),
            oversize_surcharge=money(body.oversize_surcharge),
        )
        return ShippingMethodOut.model_validate(service.get_shipping_method(uow, code=code))

    return created(request, principal, body.model_dump(mode="json"), execute)


@router.post(
    "/tax-rates", status_code=201, response_model=TaxRateOut, openapi_extra=requires("pricing:write")
)
def create_tax_rate(body: TaxRateIn, principal: Auth, request: Request) -> Response:
    """The most specific rate that fits a ship-to applies (postal prefix, then region, then class)."""
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda uow: TaxRateOut.model_validate(
            service.get_tax_rate(uow, id=service.create_tax_rate(uow, **body.model_dump()))
        ),
    )


@router.post("/pricing/quote", response_model=QuoteOut, openapi_extra=requires("pricing:quote"))
def quote(body: QuoteIn, principal: Auth, request: Request) -> QuoteOut:
    """A cart in, the priced cart out, with every adjustment and its source. Prices come from the price lists,
    never from the caller. A channel's key always quotes as its own channel; staff may name one."""
    uow = unit_of_work(request)
    channel = sales_channels.acting_channel(uow, principal, body.channel)
    priced = service.quote(
        uow,
        request=service.QuoteRequest(
            currency=body.currency,
            channel=channel,
            division=body.division,
            customer=body.customer,
            customer_group=body.customer_group,
            coupons=body.coupons,
            lines=[
                service.QuoteLine(line.sku, line.quantity, line.ship_to, line.personalization)
                for line in body.lines
            ],
            ship_tos=[ShipTo(s.ref, s.country, s.method, s.region, s.postal_code) for s in body.ship_tos],
        ),
    )
    return QuoteOut.model_validate(priced)


@router.get("/price-lists", response_model=list[PriceListOut], openapi_extra=requires("pricing:quote"))
def list_price_lists(principal: Auth, request: Request) -> list[PriceListOut]:
    return [PriceListOut.model_validate(v) for v in service.list_price_lists(unit_of_work(request))]


@router.get("/promotions", response_model=list[PromotionOut], openapi_extra=requires("pricing:quote"))
def list_promotions(principal: Auth, request: Request) -> list[PromotionOut]:
    return [PromotionOut.model_validate(v) for v in service.list_promotions(unit_of_work(request))]


@router.get("/coupons", response_model=list[CouponOut], openapi_extra=requires("pricing:write"))
def list_coupons(principal: Auth, request: Request) -> list[CouponOut]:
    """Coupons with their use counts (staff who set up pricing only: codes are not for everyone's eyes)."""
    return [CouponOut.model_validate(v) for v in service.list_coupons(unit_of_work(request))]


@router.get(
    "/shipping-methods", response_model=list[ShippingMethodOut], openapi_extra=requires("pricing:quote")
)
def list_shipping_methods(principal: Auth, request: Request) -> list[ShippingMethodOut]:
    return [ShippingMethodOut.model_validate(v) for v in service.list_shipping_methods(unit_of_work(request))]


@router.get("/tax-rates", response_model=list[TaxRateOut], openapi_extra=requires("pricing:quote"))
def list_tax_rates(principal: Auth, request: Request) -> list[TaxRateOut]:
    return [TaxRateOut.model_validate(v) for v in service.list_tax_rates(unit_of_work(request))]


@router.patch("/promotions/{code}", response_model=PromotionOut, openapi_extra=requires("pricing:write"))
def change_promotion(code: str, body: PromotionPatch, principal: Auth, request: Request) -> PromotionOut:
    """Rename, reprioritise, re-date or switch a promotion on or off; its offer itself is not changed (make a new
    promotion), so orders priced by it keep their explanation."""
    sent = body.model_fields_set
    keep = service.Keep.KEEP
    dates = (
        service.Dates(
            body.starts_at if "starts_at" in sent else keep, body.ends_at if "ends_at" in sent else keep
        )
        if sent & {"starts_at", "ends_at"}
        else None
    )
    return PromotionOut.model_validate(
        service.change_promotion(
            unit_of_work(request), code=code, name=body.name, priority=body.priority, dates=dates,
            active=body.active,
        )
    )  # fmt: skip


@router.patch("/coupons/{code}", response_model=CouponOut, openapi_extra=requires("pricing:write"))
def change_coupon(code: str, body: CouponPatch, principal: Auth, request: Request) -> CouponOut:
    """Change a coupon's limit of uses (never below the uses it has had; null lifts it) or switch it on or off."""
    lifted = "max_uses" in body.model_fields_set and body.max_uses is None
    return CouponOut.model_validate(
        service.change_coupon(
            unit_of_work(request), code=code, max_uses=body.max_uses, no_limit=lifted, active=body.active
        )
    )
