"""Line offers in the pure pricing pipeline: a line from another source code's offer is priced with that offer's
price list and promotions, in the same single pass as the rest of the cart (ADR 0038)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ordersmith.kernel.money import Money
from ordersmith.pricing import rules
from ordersmith.pricing.rules import (
    CartLine,
    Context,
    PriceBreak,
    PriceList,
    Promotion,
    ShippingMethod,
    ShipTo,
)

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
HOME = ShipTo("home", "US", "flat", region="CA")
FLAT = ShippingMethod("flat", "flat", flat=Money(Decimal("5.00"), "USD"))


def usd(amount: str | int) -> Money:
    return Money(Decimal(amount), "USD")


RETAIL = PriceList("RETAIL", "USD", 0, {"TEE": (PriceBreak(1, usd(20)),), "MUG": (PriceBreak(1, usd(10)),)})
FALL = PriceList("FALL", "USD", -5, {"TEE": (PriceBreak(1, usd(18)),)}, offer_only=True)
GIFTS = PriceList("GIFTS", "USD", -5, {"TEE": (PriceBreak(1, usd(15)),), "MUG": (PriceBreak(1, usd(8)),)},
                  offer_only=True)  # fmt: skip


def ctx(offer_price_list: str | None = None) -> Context:
    return Context("USD", "phone", "catalog", "retail", NOW, offer_price_list=offer_price_list)


def price(lines: list[CartLine], promotions: list[Promotion], context: Context) -> rules.Quote:
    return rules.price_cart(context, lines, [HOME], [RETAIL, FALL, GIFTS], promotions, [FLAT], ())


def test_a_line_from_another_offer_is_priced_by_that_offers_list_and_the_rest_by_the_orders():
    # given an order keyed with the fall book (its list prices tees at 18) and a mug and a tee from the gift book
    lines = [
        CartLine("0", "TEE", 1, "home"),
        CartLine("1", "MUG", 1, "home", offer="GIFT1", offer_price_list="GIFTS"),
        CartLine("2", "TEE", 2, "home", offer="GIFT1", offer_price_list="GIFTS"),
        CartLine("3", "MUG", 1, "home"),
    ]
    # when it is priced once
    quote = price(lines, [], ctx("FALL"))
    # then each line takes its own offer's list first; what a list does not price falls back to retail, and an
    # offer-only list never prices a line whose offer does not name it (the mug under the fall book is retail)
    assert [(p.unit_price, p.price_list) for p in quote.lines] == [
        (usd(18), "FALL"),
        (usd(8), "GIFTS"),
        (usd(15), "GIFTS"),
        (usd(10), "RETAIL"),
    ]
    assert quote.merchandise == usd(18 + 8 + 30 + 10)


def test_a_line_with_its_own_offer_and_no_list_does_not_take_the_orders_list():
    # given the order's offer prices tees at 18, and a tee whose own offer names no price list
    lines = [CartLine("0", "TEE", 1, "home"), CartLine("1", "TEE", 1, "home", offer="WEB1")]
    # then that tee is at retail: it came from the other offer, not from the book
    assert [p.price_list for p in price(lines, [], ctx("FALL")).lines] == ["FALL", "RETAIL"]


def test_an_offers_promotion_reaches_only_its_lines_and_its_threshold_counts_only_theirs():
    # given 10 % off brought in by the gift book's code (a line's) and 5.00 off 30.00 by the order's code
    ten = Promotion("GIFT10", "percent_off_items", percent=Decimal(10), offers=frozenset({"GIFT1"}))
    five = Promotion("FIVE", "order_amount_off", amount=usd(5), threshold=usd(30), offers=frozenset({""}))
    lines = [
        CartLine("0", "TEE", 1, "home"),  # the order's: 20.00
        CartLine("1", "MUG", 3, "home", offer="GIFT1"),  # the gift book's: 30.00
    ]
    # when priced
    quote = price(lines, [ten, five], ctx())
    # then only the mugs get 10 % (3.00); the order's own lines hold 20.00 < 30.00, so FIVE does not apply though
    # the cart holds 50.00
    assert [(p.ref, p.discount) for p in quote.lines] == [("0", usd(0)), ("1", usd("3.00"))]
    assert quote.applied_promotions == ["GIFT10"]
    # and a promotion both offers name reaches both
    both = dataclasses.replace(ten, offers=frozenset({"", "GIFT1"}))
    assert [p.discount for p in price(lines, [both], ctx()).lines] == [usd("2.00"), usd("3.00")]


PROMOTIONS = [
    Promotion("P10", "percent_off_items", percent=Decimal(10)),
    Promotion("O15", "order_amount_off", amount=usd(15), threshold=usd(40), stackable=False),
    Promotion("B2G1", "buy_x_get_y", buy=2, get=1, priority=3),
    Promotion("FS", "free_shipping", threshold=usd(60)),
]


@settings(max_examples=100, deadline=None)
@given(
    spec=st.lists(st.tuples(st.sampled_from(["TEE", "MUG"]), st.integers(1, 6)), min_size=1, max_size=5),
    chosen=st.sets(st.sampled_from(range(len(PROMOTIONS)))),
)
def test_without_line_offers_an_offers_promotion_prices_exactly_as_an_unscoped_one(spec, chosen):
    # given a cart with no line offer of its own, and the order's offer bringing in some promotions
    lines = [CartLine(str(n), sku, quantity, "home") for n, (sku, quantity) in enumerate(spec)]
    plain = [PROMOTIONS[i] for i in sorted(chosen)]
    scoped = [dataclasses.replace(p, offers=frozenset({""})) for p in plain]
    # then scoping them to the order's own offer changes nothing
    a, b = price(lines, plain, ctx("FALL")), price(lines, scoped, ctx("FALL"))
    assert (a.total, a.discounts, a.shipping, a.applied_promotions) == (
        b.total,
        b.discounts,
        b.shipping,
        b.applied_promotions,
    )


def test_an_offer_with_no_line_in_the_cart_gives_nothing_not_even_free_shipping():
    # given free shipping brought in by the order's code, and every line keyed with another code
    free = Promotion("SHIPFREE", "free_shipping", offers=frozenset({""}))
    lines = [CartLine("0", "TEE", 1, "home", offer="GIFT1", offer_price_list="GIFTS")]
    # then shipping is charged; with one line under the order's code it is free
    assert price(lines, [free], ctx()).shipping == {"home": usd("5.00")}
    assert price([*lines, CartLine("1", "MUG", 1, "home")], [free], ctx()).shipping == {"home": usd(0)}
