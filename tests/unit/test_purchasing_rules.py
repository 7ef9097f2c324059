"""Pure purchasing rules: the life-cycle table, tolerance, order rounding and replenishment needs."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ordersmith.purchasing import rules
from ordersmith.purchasing.rules import LineFigures, Position, Rule


def test_the_life_cycle_table_allows_only_the_documented_moves():
    assert rules.allowed("approve", "draft") and not rules.allowed("approve", "approved")
    assert rules.allowed("send", "approved") and not rules.allowed("send", "draft")
    assert {s for s in rules.STATUSES if rules.allowed("receive", s)} == {"sent", "partially_received"}
    assert {s for s in rules.STATUSES if rules.allowed("cancel", s)} == {
        "draft", "approved", "sent", "partially_received"}  # fmt: skip
    assert not rules.allowed("cancel", "closed") and not rules.allowed("cancel", "received")


def test_status_follows_the_lines():
    assert rules.status_after_receipt([LineFigures(10, 10, 0), LineFigures(5, 6, 0)]) == "received"
    assert rules.status_after_receipt([LineFigures(10, 9, 0)]) == "partially_received"
    assert rules.status_after_cancel([LineFigures(10, 0, 0)]) == "cancelled"
    assert rules.status_after_cancel([LineFigures(10, 1, 0)]) == "closed"


def test_tolerance_rounds_down_and_zero_means_exactly_what_was_ordered():
    assert rules.receipt_limit(10, 10) == 11
    assert rules.receipt_limit(9, 10) == 9
    assert rules.receipt_limit(10, 0) == 10


@given(needed=st.integers(1, 10_000), minimum=st.integers(1, 500), pack=st.integers(1, 144))
def test_order_quantity_covers_the_need_the_minimum_and_whole_packs(needed: int, minimum: int, pack: int):
    quantity = rules.order_quantity(needed, minimum=minimum, pack_size=pack)
    assert quantity >= needed and quantity >= minimum and quantity % pack == 0
    assert quantity - pack < max(needed, minimum)  # never a whole pack more than needed


def test_min_max_orders_up_to_max_once_the_projected_position_reaches_min():
    rule = Rule("min_max", min_qty=5, max_qty=20)
    assert rules.need(rule, Position(10, 4, 0), demand_per_day=Decimal(0), lead_time_days=7) is None
    found = rules.need(rule, Position(8, 4, 1), demand_per_day=Decimal(0), lead_time_days=7)
    assert found is not None and found.quantity == 20 - 5 and found.trigger == 5


def test_reorder_point_covers_lead_time_demand_plus_safety_stock():
    # 1.5 a day for 10 days = 15, plus 3 safety: reorder at 18
    assert rules.reorder_point(Decimal("1.5"), 10, 3) == 18
    rule = Rule("reorder_point", reorder_qty=10)
    assert rules.need(rule, Position(19, 0, 0, 3), demand_per_day=Decimal("1.5"), lead_time_days=10) is None
    found = rules.need(rule, Position(12, 2, 4, 3), demand_per_day=Decimal("1.5"), lead_time_days=10)
    # projected 14 <= 18: order enough to reach the point plus one lead time of demand (18 + 15 - 14 = 19)
    assert found is not None and (found.quantity, found.trigger) == (19, 18)
    bigger = rules.need(Rule("reorder_point", reorder_qty=50), Position(12, 2, 4, 3),
                        demand_per_day=Decimal("1.5"), lead_time_days=10)  # fmt: skip
    assert bigger is not None and bigger.quantity == 50
