"""Inventory costing's pure rules (ADR 0041): landed-cost allocation by largest remainder, the split of a charge
between stock and goods sold, the value-tracked moving average (receipts, issues, transfers, per-location rows that
always add up to the item's), the seeding of per-location rows, and the postings of a charge and of a bill's charge
lines."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersmith.finance import costing, rules
from ordersmith.finance.costing import ChargeLine, CostState, ItemBook

MAPPINGS = {(kind, key): code for kind, key, code in rules.DEFAULT_MAPPINGS}


def lines_of(posting: rules.Posting | None) -> list[tuple[str, int, int]]:
    assert posting is not None
    rules.check_balanced(posting.lines)
    return [(x.account, x.debit_minor, x.credit_minor) for x in posting.lines]


# ---- allocation ------------------------------------------------------------------------------------------------


def test_the_cents_left_over_go_to_the_largest_remainders_and_a_tie_to_the_earlier_line():
    # 10.01 by value 20.00 : 30.00 → 400.4 and 600.6: the cent to the second
    assert costing.allocate(1001, [2000, 3000]) == [400, 601]
    # equal weights: 500.5 each, the cent to the first
    assert costing.allocate(1001, [2000, 2000]) == [501, 500]
    # three equal thirds of 1.00: 34, 33, 33
    assert costing.allocate(100, [1, 1, 1]) == [34, 33, 33]
    # a line that weighs nothing gets nothing, even of the remainder
    assert costing.allocate(5, [0, 3, 0, 3]) == [0, 3, 0, 2]
    assert costing.allocate(0, [1, 2]) == [0, 0]


def test_an_allocation_refuses_what_cannot_be_shared():
    with pytest.raises(ValueError, match="zero"):
        costing.allocate(100, [0, 0])
    with pytest.raises(ValueError, match="negative"):
        costing.allocate(-1, [1])
    with pytest.raises(ValueError, match="negative"):
        costing.allocate(1, [2, -1])


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=40).filter(
        lambda w: sum(w) > 0
    ),
)
def test_an_allocation_always_adds_up_to_the_charge_and_each_part_is_within_a_cent_of_its_share(
    amount: int, weights: list[int]
):
    parts = costing.allocate(amount, weights)
    assert sum(parts) == amount
    total = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(amount * weight, total)
        assert exact - 1 < part < exact + 1
        assert part >= 0
        if weight == 0:
            assert part == 0
    assert costing.allocate(amount, weights) == parts  # deterministic


def test_a_charge_splits_between_the_units_still_in_stock_and_those_sold():
    assert costing.split_charge(500, 10, 6) == (300, 200)
    assert costing.split_charge(500, 10, 25) == (500, 0)  # more in stock than received: all of it on stock
    assert costing.split_charge(500, 10, 0) == (0, 500)
    assert costing.split_charge(500, 10, -3) == (0, 500)  # more issued than costed in
    assert costing.split_charge(100, 3, 1) == (33, 67)


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    received=st.integers(min_value=1, max_value=10**6),
    in_stock=st.integers(min_value=-(10**6), max_value=10**7),
)
def test_a_charge_s_two_parts_always_add_up(amount: int, received: int, in_stock: int):
    inventory, cogs = costing.split_charge(amount, received, in_stock)
    assert inventory + cogs == amount
    assert 0 <= inventory <= amount


# ---- the moving average ----------------------------------------------------------------------------------------


def test_the_average_follows_the_value_and_stock_below_zero_takes_the_receipt_s_cost():
    # 10 at 2.00 and 30 at 3.00 → 2.75; 2 at 0.01 and 1 at 0.02 → 0.0133 → 0.01
    assert costing.receive(CostState(10, 2000, 200), 30, 9000) == CostState(40, 11000, 275)
    assert costing.receive(CostState(2, 2, 1), 1, 2) == CostState(3, 4, 1)
    # nothing in stock but a cent left: the new average takes it in
    assert costing.receive(CostState(0, 1, 500), 4, 1200) == CostState(4, 1201, 300)
    # below zero: the receipt's own cost
    assert costing.receive(CostState(-2, -1000, 500), 4, 1200) == CostState(2, 200, 300)


def test_an_issue_takes_the_average_and_the_last_unit_takes_what_is_left():
    state = CostState(3, 400, 133)
    cost, state = costing.issue(state, 2)
    assert (cost, state) == (266, CostState(1, 134, 133))
    cost, state = costing.issue(state, 1)
    assert (cost, state) == (134, CostState(0, 0, 133))
    # units never costed in leave at the last average
    assert costing.issue(state, 2) == (266, CostState(-2, -266, 133))
    # more than is left: what is left, then the rest at the average
    assert costing.issue(CostState(2, 250, 125), 3) == (375, CostState(-1, -125, 125))
    # a rounded-up average never takes more than the value left
    assert costing.issue(CostState(5, 3, 1), 4) == (3, CostState(1, 0, 1))


def test_a_landed_cost_raises_the_average_of_the_units_in_stock():
    assert costing.capitalise(CostState(6, 1200, 200), 300) == CostState(6, 1500, 250)
    assert costing.capitalise(CostState(0, 0, 200), 0) == CostState(0, 0, 200)


def test_per_location_rows_are_seeded_in_proportion_to_the_units_on_hand_at_the_item_s_average():
    item = CostState(24, 7205, 300)
    assert costing.seed_locations(item, {"EAST": 9, "WEST": 15, "SHUT": 0}) == {
        "EAST": CostState(9, 2702, 300),
        "WEST": CostState(15, 4503, 300),
    }
    # no stock anywhere: the value left stays with the fallback; nothing left, no rows
    assert costing.seed_locations(CostState(0, 3, 300), {}, fallback="") == {"": CostState(0, 3, 300)}
    assert costing.seed_locations(CostState(0, 0, 300), {"EAST": 0}) == {}
    # more units costed than on hand, or fewer (negative): still split exactly
    assert costing.seed_locations(CostState(-3, -900, 300), {"EAST": 1, "WEST": 2}) == {
        "EAST": CostState(-1, -300, 300),
        "WEST": CostState(-2, -600, 300),
    }


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["receive", "issue", "transfer", "restock", "charge"]),
        st.sampled_from(["EAST", "WEST", "STORE"]),
        st.sampled_from(["EAST", "WEST", "STORE"]),
        st.integers(min_value=1, max_value=50),
        st.integers(min_value=0, max_value=100_000),
    ),
    max_size=60,
)


@given(operations=OPERATIONS, by_location=st.booleans())
def test_an_item_s_book_always_equals_what_was_posted_to_inventory_and_its_locations_add_up(
    operations: list[tuple[str, str, str, int, int]], by_location: bool
):
    book = ItemBook("MUG", "USD", by_location, CostState())
    posted = 0  # what the ledger debited (credited) to inventory
    for kind, here, there, units, amount in operations:
        if kind == "receive":
            book.receive(here, units, amount)
            posted += amount
        elif kind == "issue":
            posted -= book.issue(here, units)
        elif kind == "transfer":
            book.transfer(here, there, units)
        elif kind == "restock":
            posted += book.restock(here, units)
        else:
            inventory, cogs, _before, _after = book.capitalise(here, units, amount)
            assert inventory + cogs == amount
            posted += inventory
        assert book.item.value_minor == posted
        assert book.item.average_minor >= 0
        if by_location:
            assert book.item.units == sum(s.units for s in book.locations.values())
            assert book.item.value_minor == sum(s.value_minor for s in book.locations.values())
        else:
            assert book.locations == {}


def test_a_charge_is_capitalised_per_item_and_location_and_its_parts_go_back_to_its_lines():
    # mugs costed per location: 4 at EAST (2 in stock now), 4 at WEST (all in stock); tees per item (none left)
    mugs = ItemBook(
        "MUG",
        "USD",
        True,
        CostState(6, 1800, 300),
        {"EAST": CostState(2, 600, 300), "WEST": CostState(4, 1200, 300)},
    )
    tees = ItemBook("TEE", "USD", False, CostState(0, 0, 500))
    lines = [
        ChargeLine(1, "MUG", "EAST", 4, 400),
        ChargeLine(2, "MUG", "WEST", 4, 400),
        ChargeLine(3, "TEE", "EAST", 2, 200),
        ChargeLine(4, "LAMP", "EAST", 1, 100),  # never costed: all cost of goods sold
    ]
    splits = costing.apply_charge({"MUG": mugs, "TEE": tees}, lines)
    assert [
        (s.line, s.inventory_minor, s.cogs_minor, s.average_before_minor, s.average_after_minor)
        for s in splits
    ] == [
        (1, 200, 200, 300, 400),
        (2, 400, 0, 300, 400),
        (3, 0, 200, 500, 500),
        (4, 0, 100, 0, 0),
    ]
    assert (mugs.locations["EAST"], mugs.locations["WEST"]) == (
        CostState(2, 800, 400),
        CostState(4, 1600, 400),
    )
    assert mugs.item == CostState(6, 2400, 400)


# ---- postings ----------------------------------------------------------------------------------------------------


def test_a_landed_cost_posts_inventory_and_cost_of_goods_sold_against_landed_costs_accrued():
    payload = {"number": "LC-000001", "kind": "duty", "purchase_orders": ["P-000001"]}
    posting = rules.RULES["landed_cost.recorded"](
        payload, {"currency": "USD", "inventory_minor": 300, "cogs_minor": 200}, MAPPINGS
    )
    assert lines_of(posting) == [("1300", 300, 0), ("5000", 200, 0), ("2060", 0, 500)]
    assert posting is not None and (posting.reference, posting.memo) == (
        "LC-000001",
        "duty LC-000001 on P-000001",
    )
    only_sold = rules.post_landed_cost_recorded(
        payload, {"currency": "USD", "inventory_minor": 0, "cogs_minor": 75}, MAPPINGS
    )
    assert lines_of(only_sold) == [("5000", 75, 0), ("2060", 0, 75)]


def test_a_bill_s_charge_lines_clear_landed_costs_accrued_and_stay_out_of_the_price_variance():
    payload = {
        "currency": "USD",
        "total": "26.50",
        "receipt_value": "20.00",
        "charges": "6.00",
        "number": "VB-1",
    }
    assert lines_of(rules.post_vendor_bill_approved(payload, {}, MAPPINGS)) == [
        ("2050", 2000, 0),
        ("2060", 600, 0),
        ("5200", 50, 0),
        ("2000", 0, 2650),
    ]
    carrier = {
        "currency": "USD",
        "total": "4.00",
        "receipt_value": "0.00",
        "charges": "4.00",
        "number": "VB-2",
    }
    assert lines_of(rules.post_vendor_bill_approved(carrier, {}, MAPPINGS)) == [
        ("2060", 400, 0),
        ("2000", 0, 400),
    ]


def test_a_shipment_and_a_loss_post_the_cost_costing_gave_them():
    facts = {
        "currency": "USD",
        "final": False,
        "totals": {},
        "shipping_minor": 0,
        "shipping_tax_minor": 0,
        "lines": {
            1: {
                "sku": "TEE",
                "quantity": 3,
                "cancelled": 0,
                "merchandise_minor": 0,
                "surcharge_minor": 0,
                "discount_minor": 0,
                "tax_minor": 0,
                "unit_cost_minor": 133,
                "cost_minor": 400,
            }
        },
    }
    shipped = rules.post_order_shipped_in_part({"lines": {"1": 3}, "shipped_before": {}}, facts, MAPPINGS)
    assert lines_of(shipped) == [("5000", 400, 0), ("1300", 0, 400)]
    loss = {"sku": "TEE", "cause": "damaged", "on_hand_delta": -3, "location": "EAST"}
    stock = {"currency": "USD", "unit_cost_minor": 133, "value_minor": 400}
    assert lines_of(rules.post_stock_changed(loss, stock, MAPPINGS)) == [("5100", 400, 0), ("1300", 0, 400)]
    transfer = {"sku": "TEE", "cause": "transfer", "transfer": {"from": "EAST", "to": "WEST", "quantity": 3}}
    assert rules.posts("stock.changed", transfer) is True
    assert (
        rules.post_stock_changed(transfer, {"currency": "USD", "transfer_value_minor": 400}, MAPPINGS) is None
    )
    assert rules.posts("stock.changed", {"sku": "TEE", "cause": "transfer"}) is False


def test_units_that_leave_no_named_location_of_an_item_costed_per_location_are_kept_apart_and_still_add_up():
    book = ItemBook("MUG", "USD", True, CostState(4, 1200, 300), {"EAST": CostState(4, 1200, 300)})
    assert book.issue(None, 1) == 300  # an old shipment event naming no location: at the item's average
    assert book.locations == {"EAST": CostState(4, 1200, 300), "": CostState(-1, -300, 300)}
    assert book.item == CostState(3, 900, 300)
    assert (book.dirty, book.touched) == (True, {""})
