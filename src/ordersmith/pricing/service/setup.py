"""Setting up pricing: price lists with quantity breaks, promotions, coupons, shipping methods and tax rates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money, currency_exponent
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number
from ordersmith.pricing import rules
from ordersmith.pricing.tables import (
    CouponRow,
    PriceListPriceRow,
    PriceListRow,
    PromotionRow,
    ShippingMethodRow,
    TaxRateRow,
)

RULES_SERIES = (
    "pricing_rules"  # bumped by every change to the rules: quoting processes reload their cached set
)


def _rules_changed(uow: UnitOfWork) -> None:
    # noted for the rest of this request too: a quote after the change must not trust the version read before it
    uow.versions[RULES_SERIES] = next_number(uow, RULES_SERIES)


def _currency(currency: str) -> str:
    try:
        currency_exponent(currency)
    except ValueError as exc:
        raise ValidationFailed.on("currency", str(exc)) from None
    return currency


def _money(value: Money | None, currency: str, field_name: str) -> int | None:
    if value is None:
        return None
    if value.currency != currency:
        raise ValidationFailed.on(f"{field_name}.currency", f"must be {currency}")
    if value.amount < 0:
        raise ValidationFailed.on(f"{field_name}.amount", "cannot be negative")
    return value.minor


def _dates(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise ValidationFailed.on("ends_at", "must be after starts_at")


@dataclass(frozen=True)
class PriceEntry:
    sku: str
    unit_price: Money
    min_quantity: int = 1


@use_case
def create_price_list(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    currency: str,
    prices: Sequence[PriceEntry],
    priority: int = 0,
    customer_groups: Sequence[str] = (),
    channels: Sequence[str] = (),
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    offer_only: bool = False,
) -> str:
    """A price list: higher priority wins among the lists that apply to a cart (currency, group, channel, dates).
    `offer_only`: it prices only orders whose source code's offer names it, and then before any other list."""
    _currency(currency)
    _dates(starts_at, ends_at)
    row = PriceListRow(
        id=new_id(),
        code=code.upper(),
        name=name,
        currency=currency,
        priority=priority,
        customer_groups=sorted(set(customer_groups)),
        channels=sorted(set(channels)),
        starts_at=starts_at,
        ends_at=ends_at,
        active=True,
        offer_only=offer_only,
        created_at=uow.now(),
    )
    uow.insert_unique(PriceListRow, row, f"price list {row.code!r} exists")
    seen: set[tuple[str, int]] = set()
    for n, entry in enumerate(prices):
        if entry.min_quantity < 1:
            raise ValidationFailed.on(f"prices.{n}.min_quantity", "must be at least 1")
        item = catalog.get_item_ref(uow, sku=entry.sku)
        if (item.sku, entry.min_quantity) in seen:
            raise ValidationFailed.on(f"prices.{n}", f"{item.sku} from {entry.min_quantity} is priced twice")
        seen.add((item.sku, entry.min_quantity))
        minor = _money(entry.unit_price, currency, f"prices.{n}.unit_price")
        assert minor is not None
        uow.session.add(
            PriceListPriceRow(
                price_list_id=row.id, item_id=item.id, min_quantity=entry.min_quantity, unit_price_minor=minor
            )
        )
    uow.session.flush()
    _rules_changed(uow)
    uow.audit(
        "price_list.created",
        object_type="price_list",
        object_id=row.code,
        after={"currency": currency, "priority": priority, "prices": len(prices)},
    )
    return row.code


@dataclass
class PromotionInput:
    code: str
    name: str
    kind: str
    currency: str = "USD"
    priority: int = 0
    percent: Decimal = Decimal(0)
    amount: Money | None = None
    threshold: Money | None = None
    buy: int = 0
    get: int = 0
    tiers: list[tuple[Money, Decimal]] = field(default_factory=list)
    gift_sku: str | None = None
    exclusive: bool = False
    stackable: bool = True
    coupon_required: bool = False
    skus: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    customer_groups: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    divisions: list[str] = field(default_factory=list)
    first_order_only: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@use_case
def create_promotion(uow: UnitOfWork, *, promotion: PromotionInput) -> str:
    """A promotion of one of the pipeline's kinds, with its targets, conditions, dates and stacking rules."""
    p = promotion
    if p.kind not in rules.PROMOTION_KINDS:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(rules.PROMOTION_KINDS)}")
    _currency(p.currency)
    _dates(p.starts_at, p.ends_at)
    if p.kind == "percent_off_items" and not 0 < p.percent <= 100:
        raise ValidationFailed.on("percent", "must be above 0 and at most 100")
    if p.kind in ("amount_off_items", "order_amount_off") and p.amount is None:
        raise ValidationFailed.on("amount", f"a {p.kind} promotion needs an amount")
    if p.kind == "buy_x_get_y" and (p.buy < 1 or p.get < 1):
        raise ValidationFailed.on("buy", "buy and get must both be at least 1")
    if p.kind == "tiered_percent" and not p.tiers:
        raise ValidationFailed.on("tiers", "a tiered promotion needs at least one tier")
    if p.kind == "gift_with_purchase":
        if not p.gift_sku:
            raise ValidationFailed.on("gift_sku", "a gift-with-purchase promotion names the gift")
        catalog.get_item_ref(uow, sku=p.gift_sku)
    skus = sorted({catalog.get_item_ref(uow, sku=s).sku.upper() for s in p.skus})
    row = PromotionRow(
        id=new_id(),
        code=p.code.upper(),
        name=p.name,
        kind=p.kind,
        currency=p.currency,
        priority=p.priority,
        percent=p.percent,
        amount_minor=_money(p.amount, p.currency, "amount"),
        threshold_minor=_money(p.threshold, p.currency, "threshold"),
        buy=p.buy,
        get=p.get,
        tiers=[[_money(spend, p.currency, f"tiers.{n}"), str(pct)] for n, (spend, pct) in enumerate(p.tiers)],
        gift_sku=p.gift_sku,
        exclusive=p.exclusive,
        stackable=p.stackable,
        coupon_required=p.coupon_required,
        targets={"skus": skus, "styles": sorted({s.upper() for s in p.styles})},
        conditions={
            "customer_groups": sorted(set(p.customer_groups)),
            "channels": sorted(set(p.channels)),
            "divisions": sorted(set(p.divisions)),
            "first_order_only": p.first_order_only,
        },
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        active=True,
        created_at=uow.now(),
    )
    uow.insert_unique(PromotionRow, row, f"promotion {row.code!r} exists")
    _rules_changed(uow)
    uow.audit("promotion.created", object_type="promotion", object_id=row.code, after={"kind": p.kind})
    return row.code


@use_case
def create_coupon(
    uow: UnitOfWork,
    *,
    code: str,
    promotion: str,
    max_uses: int | None = None,
    per_customer_limit: int | None = None,
) -> str:
    """A code customers enter: single-use (`max_uses=1`), or multi-use with a global and a per-customer limit."""
    found = uow.session.scalar(sa.select(PromotionRow).where(PromotionRow.code == promotion.upper()))
    if found is None:
        raise NotFound(f"no promotion {promotion!r}")
    for name, value in (("max_uses", max_uses), ("per_customer_limit", per_customer_limit)):
        if value is not None and value < 1:
            raise ValidationFailed.on(name, "must be at least 1 (leave it out for no limit)")
    row = CouponRow(
        code=code.upper(),
        promotion_id=found.id,
        max_uses=max_uses,
        per_customer_limit=per_customer_limit,
        uses=0,
        active=True,
        created_at=uow.now(),
    )
    uow.insert_unique(CouponRow, row, f"coupon {row.code!r} exists")
    _rules_changed(uow)
    uow.audit(
        "coupon.created",
        object_type="coupon",
        object_id=row.code,
        after={"promotion": found.code, "max_uses": max_uses, "per_customer_limit": per_customer_limit},
    )
    return row.code


@use_case
def create_shipping_method(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    kind: str,
    currency: str = "USD",
    flat: Money | None = None,
    weight_bands: Sequence[tuple[int, Money]] = (),
    value_bands: Sequence[tuple[Money, Money]] = (),
    free_over: Money | None = None,
    oversize_surcharge: Money | None = None,
) -> str:
    """Flat, by weight bands (grams) or by order-value bands; optionally free over a threshold; oversize surcharge."""
    if kind not in rules.SHIPPING_KINDS:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(rules.SHIPPING_KINDS)}")
    _currency(currency)
    if kind == "flat" and flat is None:
        raise ValidationFailed.on("flat", "a flat method needs its charge")
    if kind == "weight_bands" and not weight_bands:
        raise ValidationFailed.on("weight_bands", "give at least one band")
    if kind == "value_bands" and not value_bands:
        raise ValidationFailed.on("value_bands", "give at least one band")
    row = ShippingMethodRow(
        code=code.lower(),
        name=name,
        kind=kind,
        currency=currency,
        flat_minor=_money(flat, currency, "flat"),
        weight_bands=[
            [grams, _money(c, currency, f"weight_bands.{n}")]
            for n, (grams, c) in enumerate(sorted(weight_bands, key=lambda b: b[0]))
        ],
        value_bands=[
            [_money(v, currency, f"value_bands.{n}"), _money(c, currency, f"value_bands.{n}")]
            for n, (v, c) in enumerate(sorted(value_bands, key=lambda b: b[0].amount))
        ],
        free_over_minor=_money(free_over, currency, "free_over"),
        oversize_surcharge_minor=_money(oversize_surcharge, currency, "oversize_surcharge"),
        active=True,
    )
    uow.insert_unique(ShippingMethodRow, row, f"shipping method {row.code!r} exists")
    _rules_changed(uow)
    uow.audit(
        "shipping_method.created", object_type="shipping_method", object_id=row.code, after={"kind": kind}
    )
    return row.code


@use_case
def create_tax_rate(
    uow: UnitOfWork,
    *,
    name: str,
    country: str,
    rate: Decimal,
    region: str = "",
    postal_prefix: str = "",
    tax_class: str = "*",
    on_shipping: bool = False,
) -> str:
    """A rate for a country, optionally narrowed to a region, a postal-code prefix and a tax class; the most
    specific one that fits a ship-to applies."""
    if not Decimal(0) <= rate < Decimal(1):
        raise ValidationFailed.on("rate", "a rate is a fraction between 0 and 1 (0.0825 for 8.25 %)")
    row = TaxRateRow(
        id=new_id(),
        name=name,
        country=country.upper(),
        region=region.upper(),
        postal_prefix=postal_prefix.upper().replace(" ", ""),
        tax_class=tax_class,
        rate=rate,
        on_shipping=on_shipping,
    )
    uow.insert_unique(TaxRateRow, row, "a rate for that country, region, postal prefix and class exists")
    _rules_changed(uow)
    uow.audit(
        "tax_rate.created",
        object_type="tax_rate",
        object_id=str(row.id),
        after={"country": row.country, "region": row.region, "rate": str(rate)},
    )
    return str(row.id)
