"""The pricing pipeline, pure: examples for each step and Hypothesis properties of the whole."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
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
    TaxRate,
)

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def usd(amount: str | int) -> Money:
    return Money(Decimal(amount), "USD")


def ctx(**overrides: object) -> Context:
    fields: dict[str, object] = {"currency": "USD", "channel": "web", "division": "web", "customer_group": "retail",
                                 "at": NOW}  # fmt: skip
    return Context(**{**fields, **overrides})  # type: ignore[arg-type]


DEFAULT = PriceList("USD-DEFAULT", "USD", 0, {
    "TEE": (PriceBreak(1, usd("20.00")), PriceBreak(10, usd("18.00"))),
    "MUG": (PriceBreak(1, usd("12.50")),),
    "THROW": (PriceBreak(1, usd("89.00")),),
})  # fmt: skip
WHOLESALE = PriceList("WHOLESALE", "USD", 10, {"TEE": (PriceBreak(1, usd("11.00")),)},
                      customer_groups=frozenset({"wholesale"}))  # fmt: skip
GROUND = ShippingMethod("ground", "weight_bands", weight_bands=((1000, usd("6.95")), (5000, usd("12.95")),
                        (100_000, usd("24.95"))), free_over=usd("150"), oversize_surcharge=usd("15"))  # fmt: skip
FLAT = ShippingMethod("flat", "flat", flat=usd("7.50"))
TAXES = (
    TaxRate("US", Decimal("0.0725"), region="CA", name="CA state", on_shipping=False),
    TaxRate(
        "US", Decimal("0.08625"), region="CA", postal_prefix="941", name="San Francisco", on_shipping=False
    ),
    TaxRate("US", Decimal("0.04"), region="NY", name="NY state", on_shipping=True),
    TaxRate("US", Decimal("0"), region="NY", tax_class="clothing", name="NY clothing exemption"),
)
HOME = ShipTo("home", "US", "ground", region="CA", postal_code="94105")
MUM = ShipTo("mum", "US", "flat", region="NY", postal_code="10001")


def line(ref: str, sku: str, qty: int, ship_to: str = "home", **kw: object) -> CartLine:
    return CartLine(ref=ref, sku=sku, quantity=qty, ship_to=ship_to, **kw)  # type: ignore[arg-type]


def quote(lines: list[CartLine], promotions: tuple[Promotion, ...] = (), context: Context | None = None,
          ship_tos: tuple[ShipTo, ...] = (HOME, MUM)) -> rules.Quote:  # fmt: skip
    return rules.price_cart(
        context or ctx(), lines, ship_tos, [DEFAULT, WHOLESALE], promotions, [GROUND, FLAT], TAXES
    )


def test_the_highest_priority_list_that_applies_prices_each_line_at_its_quantity_break():
    q = quote([line("1", "TEE", 2), line("2", "TEE", 12, weight_g=200)])
    assert [(p.unit_price, p.price_list) for p in q.lines] == [(usd("20.00"), "USD-DEFAULT"),
                                                               (usd("18.00"), "USD-DEFAULT")]  # fmt: skip
    wholesale = quote([line("1", "TEE", 2)], context=ctx(customer_group="wholesale"))
    assert (wholesale.lines[0].unit_price, wholesale.lines[0].price_list) == (usd("11.00"), "WHOLESALE")
    with pytest.raises(rules.Unpriced):
        quote([line("1", "SOCK", 1)])


def test_surcharges_shipping_and_tax_per_ship_to_add_up_with_their_sources():
    cart = [
        line("1", "TEE", 2, tax_class="clothing", weight_g=200, surcharge=usd("7.50")),
        line("2", "MUG", 1, ship_to="mum", weight_g=400),
        line("3", "TEE", 1, ship_to="mum", tax_class="clothing"),
    ]
    q = quote(cart)
    home, mum_mug, mum_tee = q.lines
    assert home.surcharge == usd("15.00") and home.tax == usd("4.74")  # (40 + 15) x 8.625 %, San Francisco
    assert mum_mug.tax == usd("0.50") and mum_tee.tax == usd("0.00")  # NY, clothing exempt
    assert q.shipping == {"home": usd("6.95"), "mum": usd("7.50")}
    assert q.shipping_tax == {"home": usd("0.00"), "mum": usd("0.30")}  # NY taxes shipping
    assert q.total == q.merchandise + q.surcharges - q.discounts + q.shipping_total + q.tax == usd("107.49")
    assert {a.source for a in q.adjustments if a.kind == "tax"} == {
        "San Francisco",
        "NY state",
        "NY clothing exemption",
    }


def test_free_shipping_over_a_threshold_and_oversize_surcharges():
    q = quote([line("1", "THROW", 2, weight_g=1200, oversize=True)])
    assert q.shipping["home"] == usd("15.00") * 2  # 178 >= 150: free, but two oversize units
    assert "oversize" in next(a.note for a in q.adjustments if a.kind == "shipping")


def test_an_expired_or_exhausted_coupon_is_refused_and_the_quote_goes_on_without_it():
    expired = Promotion("FALL10", "percent_off_items", percent=Decimal(10), coupon="FALL10",
                        ends_at=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    capped = Promotion("WELCOME5", "order_amount_off", amount=usd(5), coupon="WELCOME5")
    q = quote([line("1", "MUG", 2)], (expired, capped),
              ctx(coupons=("fall10", "WELCOME5", "NOPE"), exhausted_coupons=frozenset({"WELCOME5"})))  # fmt: skip
    assert q.rejected_coupons == {
        "FALL10": "coupon_expired",
        "WELCOME5": "coupon_exhausted",
        "NOPE": "coupon_unknown",
    }
    assert q.discounts == usd(0) and q.applied_promotions == []


def test_exclusive_promotions_apply_alone_and_stacking_follows_priority():
    big = Promotion("VIP20", "percent_off_items", priority=10, percent=Decimal(20), exclusive=True,
                    customer_groups=frozenset({"vip"}))  # fmt: skip
    small = Promotion("MUGS10", "percent_off_items", priority=5, percent=Decimal(10), skus=frozenset({"MUG"}))
    other = Promotion("ORDER5", "order_amount_off", priority=1, amount=usd(5), stackable=False)
    another = Promotion("ORDER3", "order_amount_off", priority=0, amount=usd(3), stackable=False)
    vip = quote([line("1", "MUG", 2)], (big, small, other, another), ctx(customer_group="vip"))
    assert vip.applied_promotions == ["VIP20"] and vip.discounts == usd("5.00")
    retail = quote([line("1", "MUG", 2)], (big, small, other, another))
    assert retail.applied_promotions == ["MUGS10", "ORDER5"]  # one non-stackable only
    assert retail.discounts == usd("2.50") + usd(5)


def test_buy_two_get_one_gives_the_cheapest_unit_and_tiers_reward_spending_more():
    b2g1 = Promotion("B2G1", "buy_x_get_y", buy=2, get=1)
    q = quote([line("1", "TEE", 2), line("2", "MUG", 1)], (b2g1,))
    assert q.discounts == usd("12.50")
    tiers = Promotion("SPEND", "tiered_percent", tiers=((usd(50), Decimal(5)), (usd(100), Decimal(10))))
    assert quote([line("1", "TEE", 3)], (tiers,)).discounts == usd("3.00")
    assert quote([line("1", "TEE", 5)], (tiers,)).discounts == usd("10.00")
    assert quote([line("1", "MUG", 1)], (tiers,)).discounts == usd(0)


def test_an_order_discount_is_split_over_lines_by_largest_remainder_and_never_makes_a_line_negative():
    off = Promotion("TENOFF", "order_amount_off", amount=usd(10))
    q = quote([line("1", "MUG", 1), line("2", "MUG", 1), line("3", "MUG", 1)], (off,))
    assert [p.discount for p in q.lines] == [usd("3.34"), usd("3.33"), usd("3.33")]
    huge = Promotion("HUGE", "order_amount_off", amount=usd(1000))
    q = quote([line("1", "MUG", 1)], (huge,))
    assert q.lines[0].net == usd(0) and q.total >= usd(0)


def test_a_tax_exempt_customer_pays_no_tax():
    assert quote([line("1", "MUG", 2, ship_to="mum")], context=ctx(tax_exempt=True)).tax == usd(0)


def test_gift_with_purchase_and_free_shipping_promotions():
    gift = Promotion("TOTE", "gift_with_purchase", gift_sku="TOTE-CANVAS", threshold=usd(50))
    ship = Promotion("SHIPFREE", "free_shipping", coupon="SHIPFREE")
    q = quote([line("1", "TEE", 3, weight_g=200)], (gift, ship), ctx(coupons=("shipfree",)))
    assert q.gifts == ["TOTE-CANVAS"] and q.shipping["home"] == usd(0)
    assert quote([line("1", "MUG", 1)], (gift,)).gifts == []


# --- properties ------------------------------------------------------------------------------------------------

SKUS = ["TEE", "MUG", "THROW"]
PROMOS = [
    Promotion("P10", "percent_off_items", percent=Decimal(10)),
    Promotion("A2", "amount_off_items", amount=usd(2), skus=frozenset({"MUG"})),
    Promotion("O15", "order_amount_off", amount=usd(15), stackable=False),
    Promotion("B2G1", "buy_x_get_y", buy=2, get=1, priority=3),
    Promotion("TIER", "tiered_percent", tiers=((usd(30), Decimal(5)), (usd(200), Decimal(15)))),
    Promotion("WEB5", "order_amount_off", amount=usd(5), channels=frozenset({"web"})),
    Promotion("FS", "free_shipping", threshold=usd(75)),
    Promotion("X", "percent_off_items", percent=Decimal(50), exclusive=True, priority=1, coupon="HALF"),
]

carts = st.lists(
    st.tuples(st.sampled_from(SKUS), st.integers(1, 12), st.sampled_from(["home", "mum"]), st.booleans(),
              st.sampled_from(["standard", "clothing"])),
    min_size=1, max_size=6,
)  # fmt: skip


def _lines(spec: list[tuple[str, int, str, bool, str]]) -> list[CartLine]:
    return [line(str(n), sku, qty, ship_to=ship, weight_g=300, surcharge=usd("2.50") if personal else None,
                 tax_class=tax_class) for n, (sku, qty, ship, personal, tax_class) in enumerate(spec)]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    spec=carts, promos=st.sets(st.sampled_from(range(len(PROMOS)))), coupons=st.sampled_from([(), ("HALF",)])
)
def test_totals_always_add_up_and_nothing_goes_negative(spec, promos, coupons):
    q = quote(_lines(spec), tuple(PROMOS[i] for i in sorted(promos)), ctx(coupons=coupons))
    assert q.total == q.merchandise + q.surcharges - q.discounts + q.shipping_total + q.tax
    assert all(p.net >= usd(0) and p.tax >= usd(0) for p in q.lines) and q.total >= usd(0)
    assert q.discounts <= q.merchandise + q.surcharges
    charged = ("price", "surcharge", "discount", "shipping", "tax")
    explained = sum((a.amount for a in q.adjustments if a.kind in charged), usd(0))
    assert explained == q.total  # every cent has a source


@settings(max_examples=100, deadline=None)
@given(spec=carts, promos=st.sets(st.sampled_from(range(len(PROMOS)))),
       channel=st.sampled_from(["call-center", "amazon-us", "store-pos"]))  # fmt: skip
def test_the_channel_changes_nothing_unless_a_rule_names_it(spec, promos, channel):
    chosen = tuple(PROMOS[i] for i in sorted(promos) if not PROMOS[i].channels)
    web = quote(_lines(spec), chosen, ctx(channel="web"))
    elsewhere = quote(_lines(spec), chosen, ctx(channel=channel))
    assert (web.total, web.discounts, web.applied_promotions) == (elsewhere.total, elsewhere.discounts,
                                                                  elsewhere.applied_promotions)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(spec=carts, amount=st.integers(1, 500))
def test_an_order_discount_splits_back_to_the_whole(spec, amount):
    q = quote(_lines(spec), (Promotion("OFF", "order_amount_off", amount=usd(amount)),))
    given_total = sum((-a.amount for a in q.adjustments if a.source == "OFF"), usd(0))
    assert given_total == min(usd(amount), q.merchandise + q.surcharges)


def test_tax_comes_through_a_provider_port_so_an_external_service_can_replace_the_table():
    class FlatTenPercent:
        def rate(self, ship_to: ShipTo, tax_class: str) -> TaxRate | None:
            return (
                TaxRate(ship_to.country, Decimal("0.10"), name="external")
                if tax_class != "shipping"
                else None
            )

    q = rules.price_cart(ctx(), [line("1", "MUG", 2)], [HOME], [DEFAULT], [], [GROUND], FlatTenPercent())
    assert q.tax == usd("2.50") and {a.source for a in q.adjustments if a.kind == "tax"} == {"external"}
