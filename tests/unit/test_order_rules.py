"""Pure order rules: the status table, hold rules, allocation and backorder release order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersmith.kernel.money import Money
from ordersmith.orders import rules
from ordersmith.orders.rules import Backorder, HoldPolicy, Need, OrderFacts, Source


def usd(amount: int | str) -> Money:
    return Money(Decimal(amount), "USD")


def test_orders_move_only_along_the_table():
    assert rules.next_status("pending", "release") == "released"
    assert rules.next_status("on_hold", "release") == "released"
    assert rules.next_status("released", "ship_part") == "partially_shipped"
    assert rules.next_status("partially_shipped", "ship_all") == "shipped"
    for status, action in (
        ("shipped", "cancel"),
        ("cancelled", "release"),
        ("completed", "hold"),
        ("pending", "ship_all"),
    ):
        with pytest.raises(rules.IllegalMove) as refused:
            rules.next_status(status, action)
        assert refused.value.status == status


POLICY = HoldPolicy(high_value=usd(500), first_order_limit=usd(1000))


def facts(**overrides: object) -> OrderFacts:
    fields: dict[str, object] = dict(total=usd(120), billing_country="US", ship_countries=("US",), first_order=False,
                                     on_account=False, credit_limit=None, open_balance=usd(0),
                                     recent_orders_same_card=0, recent_orders_same_address=0)  # fmt: skip
    return OrderFacts(**{**fields, **overrides})  # type: ignore[arg-type]


def test_an_ordinary_order_is_not_held():
    assert rules.holds(facts(), POLICY) == []


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"total": usd(800), "ship_countries": ("US", "NG")}, "fraud_country_mismatch"),
        ({"recent_orders_same_card": 3}, "fraud_velocity"),
        ({"recent_orders_same_address": 4}, "fraud_velocity"),
        ({"first_order": True, "total": usd(1500)}, "fraud_first_order"),
        ({"on_account": True, "credit_limit": usd(1000), "open_balance": usd(950)}, "credit_limit"),
        ({"on_account": True}, "credit_limit"),
        ({"undeliverable": ("gift",)}, "undeliverable"),
        ({"personalization_review": True}, "personalization_review"),
    ],
)
def test_each_hold_rule_names_its_reason(overrides: dict, reason: str):
    assert [h.reason for h in rules.holds(facts(**overrides), POLICY)] == [reason]


def test_a_cheap_foreign_shipment_and_an_on_account_order_within_its_limit_are_not_held():
    assert rules.holds(facts(ship_countries=("CA",)), POLICY) == []
    assert rules.holds(facts(on_account=True, credit_limit=usd(1000), open_balance=usd(100)), POLICY) == []


def test_allocation_prefers_one_complete_shipment_then_fewest_then_priority():
    needs = [Need("1", "TEE", 2), Need("2", "MUG", 1)]
    east = Source("EAST", 10, {"TEE": 5})
    west = Source("WEST", 20, {"TEE": 2, "MUG": 3})
    store = Source("STORE", 5, {"MUG": 1})
    whole = rules.allocate(needs, [east, west, store])
    assert [(p.line, p.location, p.quantity) for p in whole.parts] == [("1", "WEST", 2), ("2", "WEST", 1)]
    assert whole.shipments == 1 and "one shipment" in whole.explanation[0]
    split = rules.allocate([Need("1", "TEE", 4), Need("2", "MUG", 1)], [east, west, store])
    assert split.shipments == 2 and split.backordered == {}
    assert sorted((p.location, p.quantity) for p in split.parts) == [("EAST", 4), ("STORE", 1)]


def test_what_no_location_has_is_backordered():
    result = rules.allocate(
        [Need("1", "TEE", 7)], [Source("EAST", 10, {"TEE": 3}), Source("WEST", 20, {"TEE": 2})]
    )
    assert sorted((p.location, p.quantity) for p in result.parts) == [("EAST", 3), ("WEST", 2)]
    assert result.backordered == {"1": 2} and "backordered" in result.explanation[-1]


@given(
    needs=st.lists(st.tuples(st.sampled_from("ABC"), st.integers(1, 9)), min_size=1, max_size=5),
    stock=st.lists(st.dictionaries(st.sampled_from("ABC"), st.integers(0, 9)), min_size=1, max_size=4),
)
def test_an_allocation_gives_each_line_exactly_its_quantity_and_takes_no_more_than_is_there(needs, stock):
    lines = [Need(str(n), item, q) for n, (item, q) in enumerate(needs)]
    sources = [Source(f"L{n}", n * 10, available) for n, available in enumerate(stock)]
    result = rules.allocate(lines, sources)
    for line in lines:
        given = sum(p.quantity for p in result.parts if p.line == line.line)
        assert given + result.backordered.get(line.line, 0) == line.quantity
    for source in sources:
        for item in "ABC":
            taken = sum(p.quantity for p in result.parts if p.location == source.location
                        and next(n for n in lines if n.line == p.line).item == item)  # fmt: skip
            assert taken <= source.available.get(item, 0)
    everywhere = {item: sum(s.available.get(item, 0) for s in sources) for item in "ABC"}
    wanted = {item: sum(n.quantity for n in lines if n.item == item) for item in "ABC"}
    assert sum(result.backordered.values()) == sum(max(wanted[i] - everywhere[i], 0) for i in "ABC")


def test_backorders_are_released_by_priority_then_oldest_first():
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    waiting = [Backorder("O-3", "1", 2, 0, t0 + timedelta(days=3)), Backorder("O-1", "1", 4, 0, t0),
               Backorder("O-2", "1", 3, 5, t0 + timedelta(days=5))]  # fmt: skip
    released = rules.release_order(waiting, arrived=8)
    assert [(b.order, n) for b, n in released] == [("O-2", 3), ("O-1", 4), ("O-3", 1)]


def test_a_customer_with_terms_but_no_credit_limit_is_told_what_to_do():
    # given an order on account for a customer with payment terms but no credit limit
    on_terms = facts(on_account=True, credit_limit=None, total=usd("15.94"), customer_number="C-100009")
    # when the hold rules look at it
    found = rules.holds(on_terms, POLICY)
    # then the hold says what the rule is and what to do about it
    assert [(h.reason, h.detail) for h in found] == [
        (
            "credit_limit",
            "customer C-100009 has payment terms but no credit limit: set a credit limit on the customer "
            "(customers:credit) or release the hold",
        )
    ]


def test_an_order_beyond_the_credit_limit_says_how_far_over_and_what_to_do():
    # given an order on account that takes the customer past the limit
    over = facts(on_account=True, credit_limit=usd(1000), open_balance=usd(950), customer_number="C-100010")
    # when the hold rules look at it
    [hold] = rules.holds(over, POLICY)
    # then the detail names the customer, the sums and the ways out
    assert hold.detail == (
        "customer C-100010 would owe 1070.00 USD on account (950.00 USD open + 120.00 USD this order), over the "
        "credit limit of 1000.00 USD: raise the limit (customers:write), take another payment, or release the hold"
    )
