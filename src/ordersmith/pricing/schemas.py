"""Pricing API models. Money crosses the API as `{amount: "12.50", currency: "USD"}`; rates and percentages as
decimal strings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.platform.schemas import Input, MoneyIn, MoneyOut, Output

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class PriceIn(Input):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    unit_price: MoneyIn
    min_quantity: Annotated[int, Field(ge=1, le=1_000_000)] = 1


class PriceListIn(Input):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    currency: Currency = "USD"
    priority: Annotated[int, Field(ge=-1000, le=1000)] = 0
    customer_groups: list[Annotated[str, Field(max_length=40)]] = []
    channels: list[Annotated[str, Field(max_length=60)]] = []
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    offer_only: bool = False  # only for orders whose source code's offer names this list
    prices: Annotated[list[PriceIn], Field(min_length=1, max_length=50_000)]


class TierIn(Input):
    spend: MoneyIn
    percent: Annotated[Decimal, Field(gt=0, le=100)]


class PromotionIn(Input):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["percent_off_items", "amount_off_items", "order_amount_off", "buy_x_get_y", "tiered_percent",
                  "free_shipping", "gift_with_purchase"]  # fmt: skip
    currency: Currency = "USD"
    priority: Annotated[int, Field(ge=-1000, le=1000)] = 0
    percent: Annotated[Decimal, Field(ge=0, le=100)] = Decimal(0)
    amount: MoneyIn | None = None
    threshold: MoneyIn | None = None
    buy: Annotated[int, Field(ge=0, le=100)] = 0
    get: Annotated[int, Field(ge=0, le=100)] = 0
    tiers: list[TierIn] = []
    gift_sku: Annotated[str | None, Field(max_length=64)] = None
    exclusive: bool = False
    stackable: bool = True
    coupon_required: bool = False
    skus: list[Annotated[str, Field(max_length=64)]] = []
    styles: list[Annotated[str, Field(max_length=40)]] = []
    customer_groups: list[Annotated[str, Field(max_length=40)]] = []
    channels: list[Annotated[str, Field(max_length=60)]] = []
    divisions: list[Annotated[str, Field(max_length=40)]] = []
    first_order_only: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class CouponIn(Input):
    code: Code
    promotion: Code
    max_uses: Annotated[int | None, Field(ge=1, le=1_000_000_000)] = None
    per_customer_limit: Annotated[int | None, Field(ge=1, le=1_000_000_000)] = None


class RedemptionIn(Input):
    key: Annotated[
        str, Field(min_length=1, max_length=200, description="your order's key; repeats count once")
    ]
    customer: Annotated[str | None, Field(max_length=40)] = None


class RedemptionOut(Output):
    code: str
    key: str
    uses: int
    max_uses: int | None


class WeightBandIn(Input):
    up_to_g: Annotated[int, Field(ge=1, le=10_000_000)]
    charge: MoneyIn


class ValueBandIn(Input):
    up_to: MoneyIn
    charge: MoneyIn


class ShippingMethodIn(Input):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["flat", "weight_bands", "value_bands"]
    currency: Currency = "USD"
    flat: MoneyIn | None = None
    weight_bands: list[WeightBandIn] = []
    value_bands: list[ValueBandIn] = []
    free_over: MoneyIn | None = None
    oversize_surcharge: MoneyIn | None = None


class TaxRateIn(Input):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
    region: Annotated[str, Field(max_length=40)] = ""
    postal_prefix: Annotated[str, Field(max_length=20)] = ""
    tax_class: Annotated[str, Field(min_length=1, max_length=40)] = "*"
    rate: Annotated[Decimal, Field(ge=0, lt=1, description="0.0825 for 8.25 %")]
    on_shipping: bool = False


class QuoteLineIn(Input):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(gt=0, le=100_000)]
    ship_to: Annotated[str, Field(min_length=1, max_length=40)] = "main"
    personalization: dict[str, Annotated[str, Field(max_length=200)]] = {}


class ShipToIn(Input):
    ref: Annotated[str, Field(min_length=1, max_length=40)] = "main"
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
    region: Annotated[str, Field(max_length=40)] = ""
    postal_code: Annotated[str, Field(max_length=20)] = ""
    method: Annotated[str, Field(min_length=1, max_length=40)]


class QuoteIn(Input):
    currency: Currency = "USD"
    channel: Annotated[
        str | None, Field(max_length=60, description="staff only; a channel key's own is used")
    ] = None
    division: Annotated[str, Field(max_length=40)] = "web"
    customer: Annotated[str | None, Field(max_length=40)] = None
    customer_group: Annotated[str, Field(max_length=40)] = "retail"
    lines: Annotated[list[QuoteLineIn], Field(min_length=1, max_length=500)]
    ship_tos: Annotated[list[ShipToIn], Field(min_length=1, max_length=50)]
    coupons: list[Annotated[str, Field(max_length=40)]] = []


class AdjustmentOut(Output):
    kind: str
    source: str
    amount: MoneyOut
    line: str | None
    ship_to: str | None
    note: str


class QuotedLineOut(Output):
    ref: str
    sku: str
    quantity: int
    unit_price: MoneyOut
    price_list: str
    merchandise: MoneyOut
    surcharge: MoneyOut
    discount: MoneyOut
    tax: MoneyOut
    net: MoneyOut
    total: MoneyOut


class QuoteOut(Output):
    currency: str
    lines: list[QuotedLineOut]
    shipping: dict[str, MoneyOut]
    shipping_tax: dict[str, MoneyOut]
    merchandise: MoneyOut
    surcharges: MoneyOut
    discounts: MoneyOut
    shipping_total: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    adjustments: list[AdjustmentOut]
    applied_promotions: list[str]
    rejected_coupons: dict[str, str]
    gifts: list[str]


class PriceListOut(Output):
    code: str
    name: str
    currency: str
    priority: int
    customer_groups: list[str]
    channels: list[str]
    starts_at: datetime | None
    ends_at: datetime | None
    prices: int
    offer_only: bool


class PromotionOut(Output):
    code: str
    name: str
    kind: str
    priority: int
    exclusive: bool
    stackable: bool
    coupon_required: bool
    starts_at: datetime | None
    ends_at: datetime | None
    running: bool = Field(description="on and within its dates now")
    active: bool = Field(description="switched on (it may still wait for its start, or have ended)")


class CouponOut(Output):
    code: str
    promotion: str
    uses: int
    max_uses: int | None
    per_customer_limit: int | None
    active: bool


class PromotionPatch(Input):
    """What may change on a promotion; send `starts_at` and/or `ends_at` (null: open-ended) to re-date it."""

    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    priority: Annotated[int | None, Field(ge=-1_000_000, le=1_000_000)] = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool | None = None


class PriceListPatch(Input):
    """What may change on a price list (its code and currency stay); empty groups and channels mean everyone;
    send `starts_at` and/or `ends_at` (null: open-ended) to re-date it."""

    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    priority: Annotated[int | None, Field(ge=-1000, le=1000)] = None
    customer_groups: list[Annotated[str, Field(max_length=40)]] | None = None
    channels: list[Annotated[str, Field(max_length=60)]] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class CouponPatch(Input):
    """`max_uses` null lifts the limit; leave it out to keep it."""

    max_uses: Annotated[int | None, Field(ge=1, le=2_000_000_000)] = None
    active: bool | None = None


class ShippingMethodOut(Output):
    code: str
    name: str
    kind: str
    currency: str
    free_over: MoneyOut | None


class TaxRateOut(Output):
    id: str
    name: str
    country: str
    region: str
    postal_prefix: str
    tax_class: str
    rate: Decimal
    on_shipping: bool
