"""Demo pricing: a retail and a trade price list for the whole catalog (with quantity breaks), shipping methods,
US tax rates, a few running promotions and coupons."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_CEILING, Decimal

from ordersmith.catalog import service as catalog
from ordersmith.demo._framework import DemoReport, loader
from ordersmith.kernel.money import Money
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.settings import Settings
from ordersmith.pricing import service as pricing
from ordersmith.pricing.service import PriceEntry, PromotionInput
from ordersmith.purchasing import service as purchasing


def usd(amount: str | int) -> Money:
    return Money(Decimal(amount), "USD")


def _retail(cost: Money) -> Money:
    """Cost x 2.4, up to the next whole dollar, minus a cent: 4.20 -> 10.99."""
    dollars = (cost.amount * Decimal("2.4")).to_integral_value(rounding=ROUND_CEILING)
    return Money(dollars - Decimal("0.01"), "USD")


@use_case
def _price_lists(uow: UnitOfWork) -> int:
    costs: dict[str, Money] = {}
    for vendor in purchasing.list_vendors(uow):
        for offer in purchasing.list_vendor_items(uow, vendor=vendor.code):
            costs.setdefault(offer.sku, offer.cost)
    # A kit costs what its components cost: it sells for its components' retail, less 10 % (rounded to .99).
    cursor = None
    while True:
        page = catalog.list_items(uow, limit=200, cursor=cursor)
        for item in page.items:
            if item.kind == "kit":
                parts = catalog.kit_components(uow, kit_id=item.id)
                if all(c.sku in costs for c, _ in parts):
                    costs[item.sku] = Money(
                        sum((costs[c.sku].amount * q for c, q in parts), Decimal(0)) * Decimal("0.9"), "USD"
                    )
        cursor = page.next_cursor
        if cursor is None:
            break
    retail, trade = [], []
    for sku, cost in sorted(costs.items()):
        price = _retail(cost)
        retail += [PriceEntry(sku, price), PriceEntry(sku, Money(price.amount * Decimal("0.9"), "USD"), 6)]
        trade.append(PriceEntry(sku, Money(cost.amount * Decimal("1.6"), "USD")))
    pricing.create_price_list(uow, code="USD-RETAIL", name="Retail (USD)", currency="USD", prices=retail)
    pricing.create_price_list(
        uow,
        code="USD-TRADE",
        name="Trade (USD)",
        currency="USD",
        priority=10,
        customer_groups=["wholesale"],
        prices=trade,
    )
    return len(costs)


@loader("pricing: price lists, shipping, tax, promotions and coupons", stage=40)
def _pricing(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    if pricing.list_price_lists(uow):
        return  # made in one transaction: all there or none
    priced, promotions = _set_up_pricing(uow)
    report.say(f"price lists USD-RETAIL (6+ units: 10 % off) and USD-TRADE (wholesale) for {priced} items")
    report.say(f"3 shipping methods, 8 tax rates, {promotions} promotions, coupons WELCOME10 and VIPNIGHT")


@use_case
def _set_up_pricing(uow: UnitOfWork) -> tuple[int, int]:
    """Everything in one transaction, so a load killed half-way leaves nothing to confuse the next one."""
    priced = _price_lists(uow)
    pricing.create_shipping_method(
        uow,
        code="ground",
        name="Ground (3-5 days)",
        kind="weight_bands",
        weight_bands=[(1000, usd("6.95")), (5000, usd("9.95")), (30_000, usd("19.95"))],
        free_over=usd(100),
        oversize_surcharge=usd(15),
    )
    pricing.create_shipping_method(
        uow,
        code="express",
        name="Express (next day)",
        kind="value_bands",
        value_bands=[(usd(50), usd("19.95")), (usd(10_000), usd("29.95"))],
    )
    pricing.create_shipping_method(uow, code="pickup", name="Pick up in store", kind="flat", flat=usd(0))
    for name, region, rate, on_shipping in (
        ("California", "CA", "0.0725", False),
        ("New York", "NY", "0.04", True),
        ("Texas", "TX", "0.0625", True),
        ("Washington", "WA", "0.065", True),
        ("Illinois", "IL", "0.0625", False),
        ("Massachusetts", "MA", "0.0625", False),
    ):
        pricing.create_tax_rate(
            uow, name=name, country="US", region=region, rate=Decimal(rate), on_shipping=on_shipping
        )
    pricing.create_tax_rate(
        uow, name="San Francisco", country="US", region="CA", postal_prefix="941", rate=Decimal("0.08625")
    )
    pricing.create_tax_rate(
        uow, name="NY clothing under $110", country="US", region="NY", tax_class="clothing", rate=Decimal("0")
    )
    now = uow.now()
    promotions = [
        PromotionInput(
            code="SWEATER-WEEK",
            name="Merino sweaters 15 % off",
            kind="percent_off_items",
            percent=Decimal(15),
            styles=["WOOL-SWTR"],
            priority=5,
            starts_at=now - timedelta(days=2),
            ends_at=now + timedelta(days=12),
        ),
        PromotionInput(
            code="CANDLES-3FOR2",
            name="Candles: buy 2, get 1 free",
            kind="buy_x_get_y",
            buy=2,
            get=1,
            skus=[
                "CANDLE-CEDAR",
                "CANDLE-FIG",
                "CANDLE-LINEN",
                "CANDLE-AMBER",
                "CANDLE-CITRUS",
                "CANDLE-PINE",
            ],
            priority=4,
        ),
        PromotionInput(
            code="SPEND-MORE",
            name="Spend $150 save 10 %, $300 save 15 %",
            kind="tiered_percent",
            tiers=[(usd(150), Decimal(10)), (usd(300), Decimal(15))],
            stackable=False,
            priority=2,
        ),
        PromotionInput(
            code="CATALOG-SHIP",
            name="Free ground shipping on catalog orders over $75",
            kind="free_shipping",
            threshold=usd(75),
            divisions=["catalog"],
        ),
        PromotionInput(
            code="WELCOME",
            name="$10 off a first order of $50",
            kind="order_amount_off",
            amount=usd(10),
            threshold=usd(50),
            first_order_only=True,
            coupon_required=True,
            stackable=False,
            priority=3,
        ),
        PromotionInput(
            code="VIP20",
            name="VIP evening: 20 % off everything",
            kind="percent_off_items",
            percent=Decimal(20),
            customer_groups=["vip"],
            exclusive=True,
            coupon_required=True,
            priority=10,
        ),
    ]
    for promotion in promotions:
        pricing.create_promotion(uow, promotion=promotion)
    pricing.create_coupon(uow, code="WELCOME10", promotion="WELCOME", max_uses=5000, per_customer_limit=1)
    pricing.create_coupon(uow, code="VIPNIGHT", promotion="VIP20", max_uses=200, per_customer_limit=1)
    return priced, len(promotions)
