"""Pricing on SQLite and PostgreSQL: a cart quoted from stored price lists, promotions, coupons, shipping and tax;
coupon limits counted atomically."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from ordersmith.catalog import personalization
from ordersmith.catalog import service as catalog
from ordersmith.customers import service as customers
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.pricing import service as pricing
from ordersmith.pricing.rules import ShipTo
from ordersmith.pricing.service import PriceEntry, PromotionInput, QuoteLine, QuoteRequest


def usd(amount: str | int) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def shop(uow: UnitOfWork) -> UnitOfWork:
    personalization.create_template(uow, code="mono", name="Monogram", currency="USD", non_returnable=True, fields=[
        {"name": "initials", "kind": "text", "label": "Initials", "required": True, "max_length": 3,
         "characters": "monogram", "options": [], "surcharge": None, "per_character": "2.50"}])  # fmt: skip
    catalog.create_item(uow, sku="TEE", name="Tee", divisions=["web"], weight_g=200, tax_class="clothing")
    catalog.create_item(uow, sku="MUG", name="Mug", divisions=["web"], weight_g=400)
    catalog.create_item(uow, sku="TOTE-MONO", name="Tote", divisions=["web"], weight_g=300,
                        personalization_template="mono")  # fmt: skip
    pricing.create_price_list(uow, code="usd", name="Default", currency="USD", prices=[
        PriceEntry("TEE", usd("20.00")), PriceEntry("TEE", usd("18.00"), 10), PriceEntry("MUG", usd("12.50")),
        PriceEntry("TOTE-MONO", usd("30.00"))])  # fmt: skip
    pricing.create_price_list(uow, code="trade", name="Trade", currency="USD", priority=10,
                              customer_groups=["wholesale"], prices=[PriceEntry("TEE", usd("11.00"))])  # fmt: skip
    bands = [(1000, usd("6.95")), (100_000, usd("14.95"))]
    pricing.create_shipping_method(uow, code="ground", name="Ground", kind="weight_bands", weight_bands=bands,
                                   free_over=usd(100))  # fmt: skip
    pricing.create_tax_rate(uow, name="CA", country="US", region="CA", rate=Decimal("0.0725"))
    pricing.create_promotion(uow, promotion=PromotionInput(code="MUGS10", name="Mugs 10 %", kind="percent_off_items",
                                                           percent=Decimal(10), skus=["MUG"]))  # fmt: skip
    pricing.create_promotion(uow, promotion=PromotionInput(code="WELCOME", name="$5 off", kind="order_amount_off",
                                                           amount=usd(5), coupon_required=True))  # fmt: skip
    pricing.create_coupon(uow, code="welcome5", promotion="WELCOME", max_uses=10, per_customer_limit=1)
    return uow


HOME = ShipTo("main", "US", "ground", region="CA", postal_code="94105")


def request(*lines: QuoteLine, **kw: object) -> QuoteRequest:
    fields: dict[str, object] = {"currency": "USD", "channel": "web", "division": "web", "lines": list(lines),
                                 "ship_tos": [HOME]}  # fmt: skip
    return QuoteRequest(**{**fields, **kw})  # type: ignore[arg-type]


def test_a_cart_is_priced_from_stored_rules_with_every_adjustment_explained(shop: UnitOfWork):
    q = pricing.quote(shop, request=request(QuoteLine("TEE", 2), QuoteLine("MUG", 2),
                                            QuoteLine("TOTE-MONO", 1, personalization={"initials": "JD"}),
                                            coupons=["WELCOME5"]))  # fmt: skip
    tee, mug, tote = q.lines
    assert (tee.unit_price, mug.unit_price, tote.surcharge) == (usd(20), usd("12.50"), usd("5.00"))
    assert q.applied_promotions == ["MUGS10", "WELCOME"] and q.rejected_coupons == {}
    assert q.shipping["main"] == usd("14.95")  # 1,500 g: the second band
    assert q.total == q.merchandise + q.surcharges - q.discounts + q.shipping_total + q.tax
    assert {a.source for a in q.adjustments} >= {
        "USD",
        "MUGS10",
        "WELCOME",
        "ground",
        "CA",
        "personalization",
    }


def test_a_customer_group_gets_its_list_and_an_exempt_customer_pays_no_tax(shop: UnitOfWork):
    trade = customers.create_customer(shop, details=customers.Details(company="Acme", kind="business",
                                                                      customer_group="wholesale", tax_exempt=True,
                                                                      tax_certificate="EX-1"))  # fmt: skip
    q = pricing.quote(shop, request=request(QuoteLine("TEE", 3), customer=trade.number))
    assert (q.lines[0].unit_price, q.lines[0].price_list, q.tax) == (usd(11), "TRADE", usd(0))


def test_bad_carts_name_the_line(shop: UnitOfWork):
    catalog.create_item(shop, sku="SOCK", name="Sock", divisions=["web"])
    cases = [
        (request(QuoteLine("SOCK", 1)), "lines.0.sku"),
        (request(QuoteLine("MUG", 0)), "lines.0.quantity"),
        (
            request(QuoteLine("TOTE-MONO", 1, personalization={"initials": "TOOLONG"})),
            "lines.0.personalization.initials",
        ),
        (request(QuoteLine("MUG", 1), ship_tos=[ShipTo("main", "US", "teleport")]), "ship_tos"),
    ]
    for bad, field in cases:
        with pytest.raises(ValidationFailed) as refused:
            pricing.quote(shop, request=bad)
        assert refused.value.errors[0].field == field
    with pytest.raises(NotFound):
        pricing.quote(shop, request=request(QuoteLine("NOPE", 1)))


def test_coupons_count_each_use_once_and_stop_at_their_limits(shop: UnitOfWork):
    jane = customers.create_customer(shop, details=customers.Details(first_name="Jane", last_name="Doe"))
    first = pricing.redeem_coupon(shop, code="welcome5", key="order-1", customer=jane.number)
    assert first.uses == 1
    assert (
        pricing.redeem_coupon(shop, code="WELCOME5", key="order-1", customer=jane.number).uses == 1
    )  # a repeat
    with pytest.raises(pricing.CouponExhausted):
        pricing.redeem_coupon(shop, code="WELCOME5", key="order-2", customer=jane.number)  # one per customer
    again = pricing.quote(
        shop, request=request(QuoteLine("MUG", 1), coupons=["WELCOME5"], customer=jane.number)
    )
    assert (
        again.rejected_coupons == {"WELCOME5": "coupon_exhausted"}
        and "WELCOME" not in again.applied_promotions
    )
    assert (
        pricing.redeem_coupon(shop, code="WELCOME5", key="order-3").uses == 2
    )  # anonymous: global limit only


def test_an_expired_coupon_is_refused_with_its_reason_and_the_quote_goes_on(shop: UnitOfWork):
    pricing.create_promotion(shop, promotion=PromotionInput(
        code="SUMMER", name="Summer", kind="percent_off_items", percent=Decimal(20), coupon_required=True,
        starts_at=shop.now() - timedelta(days=90), ends_at=shop.now() - timedelta(days=1)))  # fmt: skip
    pricing.create_coupon(shop, code="SUMMER20", promotion="SUMMER")
    q = pricing.quote(shop, request=request(QuoteLine("TEE", 1), coupons=["summer20", "BOGUS"]))
    assert q.rejected_coupons == {"SUMMER20": "coupon_expired", "BOGUS": "coupon_unknown"}
    assert q.discounts == usd(0) and q.lines[0].unit_price == usd(20)


def test_fifty_concurrent_redemptions_of_a_ten_use_coupon_count_exactly_ten(shop: UnitOfWork, db: Database):
    barrier = threading.Barrier(50)
    outcomes: list[str] = []

    def redeem(n: int) -> None:
        barrier.wait()
        try:
            pricing.redeem_coupon(db.unit_of_work(Actor.system("t")), code="WELCOME5", key=f"order-{n}")
            outcomes.append("ok")
        except pricing.CouponExhausted:
            outcomes.append("exhausted")

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (outcomes.count("ok"), outcomes.count("exhausted")) == (10, 40)


def test_a_rule_changed_elsewhere_is_seen_by_the_next_quote(shop: UnitOfWork, db_url: str):
    from ordersmith.platform.db import Database

    before = pricing.quote(shop, request=request(QuoteLine("MUG", 1)))  # fills this process's cache
    other_process = Database(db_url)  # another process: its own engine and cache
    try:
        pricing.create_promotion(other_process.unit_of_work(Actor.system("other")), promotion=PromotionInput(
            code="MUGS50", name="Half-price mugs", kind="percent_off_items", percent=Decimal(50), skus=["MUG"],
            priority=20))  # fmt: skip
    finally:
        other_process.dispose()
    after = pricing.quote(shop, request=request(QuoteLine("MUG", 1)))
    assert "MUGS50" in after.applied_promotions and after.discounts > before.discounts
