"""Pricing an order request once: the items it names, the buyer, and the quote through the pricing pipeline —
for a quote, and for checkout to hand to `place_order(priced=…)` so an order is never priced twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ordersmith.catalog import service as catalog
from ordersmith.customers import service as customers
from ordersmith.kernel.errors import FieldError, NotFound, ValidationFailed
from ordersmith.marketing import service as marketing
from ordersmith.orders.service.requests import OrderRequest, check_shape
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.sales_channels import SalesChannel
from ordersmith.pricing import rules as pricing_rules
from ordersmith.pricing import service as pricing


@dataclass(frozen=True)
class Priced:
    """An order request priced once: the quote, the items it read and the buyer it priced for. Checkout prices
    before it authorizes a card and hands this to `place_order`, so the order is never priced twice."""

    quote: pricing_rules.Quote
    items: dict[str, catalog.SellingFacts]
    buyer: customers.BuyerFacts | None
    offer: marketing.Offer | None = None  # the source code the order keeps, and the offer it was priced with
    line_offers: LineOffers = ()


# Per request line: the line's own source code and offer (None: its order's). Empty when no line has a code.
LineOffers = tuple[marketing.Offer | None, ...]


def offer_of(uow: UnitOfWork, request: OrderRequest, channel: SalesChannel) -> marketing.Offer | None:
    """The source code the order keeps (checked against the master list on the day it is placed, or the channel's
    default for an unknown or expired one) and its offer. Raises ValidationFailed naming `source_code`."""
    on = (request.placed_at or uow.now()).date()
    return marketing.resolve_source_code(uow, code=request.source_code, channel=channel.code, on=on)


def line_offers_of(uow: UnitOfWork, request: OrderRequest, channel: SalesChannel) -> LineOffers:
    """Each line's own source code, checked exactly as the order's is (the master list on the day the order is
    placed, or the channel's default), each distinct code read once; () without reading anything when no line
    carries one, so an order without line codes costs what it always did.

    Raises:
        ValidationFailed: naming `lines.N.source_code`, for a code the channel neither accepts nor defaults.
    """
    if not any(line.source_code and line.source_code.strip() for line in request.lines):
        return ()
    on = (request.placed_at or uow.now()).date()
    resolved: dict[str, marketing.Offer | None] = {}
    offers: list[marketing.Offer | None] = []
    for n, line in enumerate(request.lines):
        code = (line.source_code or "").strip()
        if code.upper() not in resolved:
            resolved[code.upper()] = marketing.resolve_source_code(
                uow, code=code, channel=channel.code, on=on, field=f"lines.{n}.source_code"
            )
        offers.append(resolved[code.upper()])
    return tuple(offers)


def line_offer_for(offer: marketing.Offer | None, order: marketing.Offer | None) -> pricing.LineOffer | None:
    """What pricing gets for a line's own code: nothing when the line has none or the order's own (it is priced
    with the order's offer, as one group)."""
    if offer is None or (order is not None and offer.code == order.code):
        return None
    return pricing.LineOffer(key=offer.code, price_list=offer.price_list, promotions=offer.promotions)


def items_of(uow: UnitOfWork, request: OrderRequest) -> dict[str, catalog.SellingFacts]:
    """Every line's item facts in one query; an unknown SKU is a 422 naming its line."""
    try:
        return catalog.selling_facts(uow, skus=[line.sku for line in request.lines])
    except NotFound:
        for n, line in enumerate(request.lines):
            try:
                catalog.selling_facts(uow, skus=[line.sku])
            except NotFound:
                raise ValidationFailed.on(f"lines.{n}.sku", f"no item with SKU {line.sku!r}") from None
        raise


def buyer_of(
    uow: UnitOfWork, request: OrderRequest, channel: SalesChannel, offer: marketing.Offer | None = None
) -> customers.BuyerFacts | None:
    if request.customer:
        try:
            buyer = customers.buyer_facts(uow, ref=request.customer)
        except NotFound:
            raise ValidationFailed.on("customer", f"no customer {request.customer!r}") from None
        if buyer.anonymized:
            raise ValidationFailed.on("customer", f"customer {buyer.number} was anonymized")
        return buyer
    if request.new_customer is not None:
        new = request.new_customer
        address = request.billing or {}
        created = customers.create_customer(
            uow,
            details=customers.Details(
                first_name=new.first_name,
                last_name=new.last_name,
                company=new.company,
                kind="business" if new.company and not new.last_name else "consumer",
                emails=[new.email] if new.email else [],
                phones=[customers.Phone(new.phone)] if new.phone else [],
                addresses=[
                    customers.Address(
                        kind="bill_to",
                        line1=address["line1"],
                        city=address.get("city", ""),
                        country=address.get("country", "US"),
                        name=address.get("name", ""),
                        line2=address.get("line2", ""),
                        region=address.get("region", ""),
                        postal_code=address.get("postal_code", ""),
                        is_default=True,
                    )
                ]
                if address.get("line1")
                else [],
            ),
            created_channel=channel.code,
            source_code=offer.code if offer else "",
        )
        return customers.buyer_facts(uow, ref=str(created.id))
    return None


def quote_of(
    uow: UnitOfWork,
    request: OrderRequest,
    channel: SalesChannel,
    buyer: customers.BuyerFacts | None,
    items: dict[str, catalog.SellingFacts],
    offer: marketing.Offer | None = None,
    line_offers: LineOffers = (),
) -> pricing_rules.Quote:
    own = line_offers or (None,) * len(request.lines)
    quote = pricing.quote(
        uow,
        request=pricing.QuoteRequest(
            currency=channel.currency,
            channel=channel.code,
            division=channel.division,
            lines=[
                pricing.QuoteLine(
                    sku=line.sku,
                    quantity=line.quantity,
                    ship_to=line.ship_to,
                    personalization=dict(line.personalization),
                    offer=line_offer_for(line_offer, offer),
                )
                for line, line_offer in zip(request.lines, own, strict=True)
            ],
            ship_tos=[
                pricing_rules.ShipTo(
                    ref=s.ref,
                    country=s.country.upper(),
                    method=s.method.lower(),
                    region=s.region.upper(),
                    postal_code=s.postal_code.upper(),
                )
                for s in request.ship_tos
            ],
            coupons=tuple(request.coupons),
            buyer=buyer,
            items=items,
            offer_price_list=offer.price_list if offer else None,
            offer_promotions=offer.promotions if offer else (),
        ),
    )
    if quote.rejected_coupons:
        codes = [c.upper() for c in request.coupons]
        errors = [
            FieldError(f"coupons.{codes.index(code) if code in codes else 0}", reason)
            for code, reason in quote.rejected_coupons.items()
        ]
        raise ValidationFailed("a coupon cannot be used: " + ", ".join(quote.rejected_coupons), errors=errors)
    return quote


def explanation_of(quote: pricing_rules.Quote) -> dict[str, Any]:
    return {
        "adjustments": [
            {
                "kind": a.kind,
                "source": a.source,
                "amount": str(a.amount.amount),
                "line": a.line,
                "ship_to": a.ship_to,
                "note": a.note,
            }
            for a in quote.adjustments
        ],
        "applied_promotions": list(quote.applied_promotions),
        "gifts": list(quote.gifts),
    }


@use_case(readonly=True)
def price_order(
    uow: UnitOfWork, *, channel: SalesChannel, request: OrderRequest, customer_of: str | None = None
) -> Priced:
    """Price the request once (nothing held, counted or written), for `place_order(priced=…)` and quotes.
    `customer_of`: a channel-bound caller's channel — another channel's customer is answered as unknown.

    Raises:
        ValidationFailed: as `place_order` does for the request's shape, items, customer and coupons.
    """
    check_shape(request)
    facts = items_of(uow, request)
    offer = offer_of(uow, request, channel)
    line_offers = line_offers_of(uow, request, channel)
    buyer = None
    if request.customer:
        try:
            buyer = customers.buyer_facts(uow, ref=request.customer, visible_to=customer_of)
        except NotFound:
            raise ValidationFailed.on("customer", f"no customer {request.customer!r}") from None
        if buyer.anonymized:
            raise ValidationFailed.on("customer", f"customer {buyer.number} was anonymized")
    quote = quote_of(uow, request, channel, buyer, facts, offer, line_offers)
    return Priced(quote=quote, items=facts, buyer=buyer, offer=offer, line_offers=line_offers)


def quote_order(
    uow: UnitOfWork, *, channel: SalesChannel, request: OrderRequest, customer_of: str | None = None
) -> pricing_rules.Quote:
    """Price the same request without placing it: nothing is held, counted or written."""
    return price_order(uow, channel=channel, request=request, customer_of=customer_of).quote
