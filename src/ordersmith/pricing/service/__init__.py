"""Pricing use cases: setting up price lists, promotions, coupons, shipping methods and tax rates; quoting a cart
through the pure pipeline in `rules.py`; redeeming coupons within their limits under any concurrency."""

from ordersmith.pricing.service.quoting import (
    CouponExhausted,
    QuoteLine,
    QuoteRequest,
    Redemption,
    quote,
    redeem_coupon,
)
from ordersmith.pricing.service.setup import (
    PriceEntry,
    PromotionInput,
    create_coupon,
    create_price_list,
    create_promotion,
    create_shipping_method,
    create_tax_rate,
)

__all__ = [
    "CouponExhausted",
    "PriceEntry",
    "PromotionInput",
    "QuoteLine",
    "QuoteRequest",
    "Redemption",
    "create_coupon",
    "create_price_list",
    "create_promotion",
    "create_shipping_method",
    "create_tax_rate",
    "quote",
    "redeem_coupon",
]
