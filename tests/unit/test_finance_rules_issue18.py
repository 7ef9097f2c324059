"""The posting rules added for issue 18, each by example (pure): revenue per shipment, returns received, gift
cards and store credit, a bounced check, write-offs, unapplied cash, stock gains and losses, processor fees."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersmith.finance import rules
from ordersmith.kernel.money import Money

MAPPINGS = {(kind, key): code for kind, key, code in rules.DEFAULT_MAPPINGS}


def lines_of(posting: rules.Posting | None) -> list[tuple[str, int, int]]:
    assert posting is not None
    rules.check_balanced(posting.lines)
    return [(line.account, line.debit_minor, line.credit_minor) for line in posting.lines]


def order_facts(**over: object) -> dict[str, object]:
    """A web order: line 1 is 3 mugs at 10.00 (1.00 off in all, 2.40 tax), line 2 a 25.00 gift card (no tax),
    7.95 shipping with 0.65 tax on it. Totals: 55.00 goods, 1.00 off, 7.95 shipping, 3.05 tax = 65.00."""
    facts: dict[str, object] = {
        "currency": "USD",
        "division": "web",
        "channel": "web",
        "jurisdiction": "CA",
        "totals": {
            "merchandise": "55.00",
            "surcharges": "0",
            "discounts": "1.00",
            "shipping": "7.95",
            "tax": "3.05",
            "total": "65.00",
        },
        "shipping_minor": 795,
        "shipping_tax_minor": 65,
        "lines": {
            1: {
                "sku": "MUG",
                "quantity": 3,
                "cancelled": 0,
                "merchandise_minor": 3000,
                "surcharge_minor": 0,
                "discount_minor": 100,
                "tax_minor": 240,
                "gift_card": False,
                "unit_cost_minor": 400,
            },
            2: {
                "sku": "GIFT25",
                "quantity": 1,
                "cancelled": 0,
                "merchandise_minor": 2500,
                "surcharge_minor": 0,
                "discount_minor": 0,
                "tax_minor": 0,
                "gift_card": True,
                "unit_cost_minor": 0,
            },
        },
    }
    facts.update(over)
    return facts


def test_a_first_partial_shipment_recognises_its_units_share_and_the_order_s_shipping():
    # given 1 of the 3 mugs ships first (JSON turned the line numbers into strings)
    payload = {
        "number": "100234",
        "shipment": "100234-1",
        "lines": {"1": 1},
        "shipped_before": {"1": 0, "2": 0},
    }
    # when
    posting = rules.post_order_shipped_in_part(payload, order_facts(), MAPPINGS)
    # then a third of the mug line (10.00 less 0.33 off, 0.80 tax), all the shipping and its tax, and one mug's cost
    assert lines_of(posting) == [
        ("2300", 1000 - 33 + 795 + 80 + 65, 0),
        ("4200", 33, 0),
        ("4010", 0, 1000),
        ("4100", 0, 795),
        ("2100", 0, 145),
        ("5000", 400, 0),
        ("1300", 0, 400),
    ]
    assert posting is not None and posting.rule == "order.shipped_in_part" and posting.reference == "100234-1"


def test_the_shipment_that_completes_the_order_takes_what_is_left_and_leaves_the_gift_card_out_of_revenue():
    # given one mug shipped before; the other two and the gift card complete the order
    payload = {
        "number": "100234",
        "shipment": "100234-2",
        "lines": {"1": 2, "2": 1},
        "shipped_before": {"1": 1},
    }
    # when
    posting = rules.post_order_shipped(payload, order_facts(), MAPPINGS)
    # then the rest of the mug line (20.00, 0.67 off, 1.60 tax), no shipping again, and not the card's 25.00
    assert lines_of(posting) == [
        ("2300", 2000 - 67 + 160, 0),
        ("4200", 67, 0),
        ("4010", 0, 2000),
        ("2100", 0, 160),
        ("5000", 800, 0),
        ("1300", 0, 800),
    ]
    assert posting is not None and posting.rule == "order.shipped"


def test_two_shipments_together_recognise_the_order_exactly_once():
    # given an order shipped in two parts
    first = {"lines": {"1": 1}, "shipped_before": {}}
    last = {"lines": {"1": 2, "2": 1}, "shipped_before": {"1": 1}}
    both = [
        *lines_of(rules.post_order_shipped_in_part(first, order_facts(), MAPPINGS)),
        *lines_of(rules.post_order_shipped(last, order_facts(), MAPPINGS)),
    ]
    # then revenue, discounts, shipping and tax add up to the order's, less the gift card (its liability's)
    net = {account: 0 for account, _, _ in both}
    for account, debit, credit in both:
        net[account] += credit - debit
    assert net["4010"] == 3000 and net["4200"] == -100 and net["4100"] == 795 and net["2100"] == 305
    assert net["2300"] == -(6500 - 2500)


def test_an_order_shipped_whole_in_one_shipment_recognises_it_all():
    payload = {"lines": {"1": 3, "2": 1}, "shipped_before": {"1": 0, "2": 0}}
    assert lines_of(rules.post_order_shipped(payload, order_facts(), MAPPINGS)) == [
        ("2300", 4000, 0),
        ("4200", 100, 0),
        ("4010", 0, 3000),
        ("4100", 0, 795),
        ("2100", 0, 305),
        ("5000", 1200, 0),
        ("1300", 0, 1200),
    ]


def test_a_partial_shipment_event_from_before_shipped_before_existed_posts_nothing():
    assert rules.post_order_shipped_in_part({"lines": {"1": 1}}, {}, MAPPINGS) is None


def test_restocked_returns_go_back_to_inventory_and_scrapped_ones_to_shrinkage_both_out_of_cogs():
    payload = {
        "return": "R-000012",
        "lines": [
            {"line": 1, "sku": "MUG", "quantity": 2, "disposition": "restock"},
            {"line": 2, "sku": "TEE", "quantity": 1, "disposition": "scrap"},
            {"line": 3, "sku": "KIT", "quantity": 1, "disposition": "restock"},
        ],
    }
    facts = {"currency": "USD", "unit_cost_minor": {"MUG": 400, "TEE": 900}}
    posting = rules.post_return_received(payload, facts, MAPPINGS)
    assert lines_of(posting) == [("1300", 800, 0), ("5100", 900, 0), ("5000", 0, 1700)]
    assert posting is not None and posting.reference == "R-000012"


def test_a_return_of_goods_without_a_cost_posts_nothing():
    payload = {"lines": [{"line": 1, "sku": "KIT", "quantity": 1, "disposition": "restock"}]}
    assert rules.post_return_received(payload, {"currency": "USD", "unit_cost_minor": {}}, MAPPINGS) is None


@pytest.mark.parametrize(
    ("kind", "debit", "credit"), [("gift_card", "6300", "2200"), ("store_credit", "4300", "2210")]
)
def test_a_card_staff_issue_is_given_value_against_the_card_s_liability(kind, debit, credit):
    payload = {"kind": kind, "amount": "20.00", "currency": "USD", "funded_by": "issuer", "last_four": "QR7K"}
    assert lines_of(rules.post_gift_card_issued(payload, {}, MAPPINGS)) == [
        (debit, 2000, 0),
        (credit, 0, 2000),
    ]


@pytest.mark.parametrize("funded_by", ["order", "refund", None])
def test_a_card_sold_on_an_order_or_given_as_a_refund_posts_nothing_at_issue(funded_by):
    payload = {"kind": "store_credit", "amount": "20.00", "currency": "USD", "funded_by": funded_by}
    assert rules.post_gift_card_issued(payload, {}, MAPPINGS) is None


def test_a_staff_reload_posts_like_a_card_they_issue():
    payload = {"kind": "gift_card", "amount": "5.00", "currency": "USD", "funded_by": "issuer"}
    posting = rules.post_gift_card_reloaded(payload, {}, MAPPINGS)
    assert lines_of(posting) == [("6300", 500, 0), ("2200", 0, 500)]
    assert posting is not None and posting.rule == "gift_card.reloaded"


def test_a_card_sold_on_an_order_moves_its_value_from_deferred_revenue_to_the_liability_when_activated():
    payload = {"gift_card_id": "c1", "kind": "gift_card", "amount": "25.00", "currency": "USD"}
    assert lines_of(rules.post_gift_card_activated(payload, {}, MAPPINGS)) == [
        ("2300", 2500, 0),
        ("2200", 0, 2500),
    ]
    assert rules.post_gift_card_activated({"gift_card_id": "c1"}, {}, MAPPINGS) is None


def test_an_expired_card_s_value_goes_to_breakage_or_where_the_policy_maps_it():
    payload = {"kind": "gift_card", "amount": "7.50", "currency": "USD", "last_four": "QR7K"}
    assert lines_of(rules.post_gift_card_expired(payload, {}, MAPPINGS)) == [
        ("2200", 750, 0),
        ("4500", 0, 750),
    ]
    escheat = {**MAPPINGS, ("role", "breakage"): "2220"}
    assert lines_of(rules.post_gift_card_expired(payload, {}, escheat)) == [
        ("2200", 750, 0),
        ("2220", 0, 750),
    ]
    assert rules.post_gift_card_expired({**payload, "amount": "0.00"}, {}, MAPPINGS) is None


def test_a_bounced_check_undoes_what_its_deposit_posted():
    payload = {
        "method": "check",
        "operation": "check",
        "reason_code": "check_bounced",
        "amount": "80.00",
        "reversed": "80.00",
        "currency": "USD",
        "check": "1042",
    }
    assert lines_of(rules.post_payment_failed(payload, {}, MAPPINGS)) == [
        ("2300", 8000, 0),
        ("1020", 0, 8000),
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"reason_code": "check_bounced", "reversed": "0.00", "currency": "USD", "method": "check"},
        {"reason_code": "card_declined", "amount": "80.00", "currency": "USD", "method": "card"},
    ],
)
def test_a_check_bounced_before_deposit_or_a_declined_card_posts_nothing(payload):
    assert rules.post_payment_failed(payload, {}, MAPPINGS) is None


def test_a_written_off_invoice_is_a_bad_debt_against_receivables():
    payload = {"number": "I-000009", "amount": "120.00", "currency": "USD"}
    posting = rules.post_invoice_written_off(payload, {}, MAPPINGS)
    assert lines_of(posting) == [("6200", 12000, 0), ("1200", 0, 12000)]
    assert posting is not None and posting.reference == "I-000009"


def test_unapplied_cash_is_held_as_a_liability_and_applying_it_clears_receivables():
    received = {"receipt": "U-000001", "amount": "50.00", "currency": "USD", "method": "check"}
    assert lines_of(rules.post_unapplied_cash_received(received, {}, MAPPINGS)) == [
        ("1020", 5000, 0),
        ("2400", 0, 5000),
    ]
    applied = {"number": "I-000009", "amount": "30.00", "currency": "USD", "method": "unapplied_cash"}
    assert lines_of(rules.post_invoice_payment_applied(applied, {}, MAPPINGS)) == [
        ("2400", 3000, 0),
        ("1200", 0, 3000),
    ]


@pytest.mark.parametrize(
    ("cause", "delta", "expected"),
    [
        ("count", -2, [("5100", 800, 0), ("1300", 0, 800)]),
        ("damaged", -1, [("5100", 400, 0), ("1300", 0, 400)]),
        ("adjustment", 3, [("1300", 1200, 0), ("5100", 0, 1200)]),
        ("short_pick", -1, [("5100", 400, 0), ("1300", 0, 400)]),
    ],
)
def test_stock_lost_or_found_is_shrinkage_at_moving_average_cost(cause, delta, expected):
    payload = {"sku": "MUG", "cause": cause, "on_hand_delta": delta, "location": "EAST"}
    assert lines_of(
        rules.post_stock_changed(payload, {"currency": "USD", "unit_cost_minor": 400}, MAPPINGS)
    ) == (expected)


@pytest.mark.parametrize(
    "payload",
    [
        {"sku": "MUG", "cause": "reserved"},
        {"sku": "MUG", "cause": "receipt", "on_hand_delta": 5},
        {"sku": "MUG", "cause": "return", "on_hand_delta": 1},
        {"sku": "MUG", "cause": "transfer"},
    ],
)
def test_stock_changes_posted_elsewhere_or_moving_no_value_are_not_for_the_ledger(payload):
    assert not rules.posts("stock.changed", payload)
    assert rules.post_stock_changed(payload, {"currency": "USD", "unit_cost_minor": 400}, MAPPINGS) is None


def test_stock_of_an_item_never_costed_posts_nothing():
    payload = {"sku": "NEW", "cause": "count", "on_hand_delta": -1}
    assert rules.post_stock_changed(payload, {"currency": "", "unit_cost_minor": 0}, MAPPINGS) is None


def test_a_capture_that_reports_the_processor_s_fee_expenses_it_out_of_clearing():
    payload = {"method": "card", "amount": "100.00", "currency": "USD", "fee": "3.20"}
    assert lines_of(rules.post_payment_captured(payload, {}, MAPPINGS)) == [
        ("1100", 10000, 0),
        ("2300", 0, 10000),
        ("6100", 320, 0),
        ("1100", 0, 320),
    ]


@st.composite
def orders_shipped_in_parts(draw: st.DrawFn) -> tuple[dict[str, object], list[dict[int, int]]]:
    """An order of 1-4 lines with any money figures (the order's totals their sums, as pricing makes them) and a
    way to ship every unit in 1-4 shipments."""
    count = draw(st.integers(1, 4))
    lines: dict[int, dict[str, object]] = {}
    for n in range(1, count + 1):
        quantity = draw(st.integers(1, 6))
        merchandise = draw(st.integers(0, 100_000))
        lines[n] = {
            "sku": f"S{n}",
            "quantity": quantity,
            "cancelled": 0,
            "merchandise_minor": merchandise,
            "surcharge_minor": draw(st.integers(0, 1_000)),
            "discount_minor": draw(st.integers(0, merchandise)),
            "tax_minor": draw(st.integers(0, 10_000)),
            "gift_card": draw(st.booleans()),
            "unit_cost_minor": draw(st.integers(0, 5_000)),
        }
    shipping, shipping_tax = draw(st.integers(0, 2_000)), draw(st.integers(0, 200))

    def total(part: str) -> int:
        return sum(int(line[f"{part}_minor"]) for line in lines.values())

    tax = total("tax") + shipping_tax
    grand = total("merchandise") + total("surcharge") - total("discount") + shipping + tax
    facts: dict[str, object] = {
        "currency": "USD",
        "division": "web",
        "channel": "web",
        "jurisdiction": "CA",
        "totals": {
            "merchandise": str(Money.from_minor(total("merchandise"), "USD").amount),
            "surcharges": str(Money.from_minor(total("surcharge"), "USD").amount),
            "discounts": str(Money.from_minor(total("discount"), "USD").amount),
            "shipping": str(Money.from_minor(shipping, "USD").amount),
            "tax": str(Money.from_minor(tax, "USD").amount),
            "total": str(Money.from_minor(grand, "USD").amount),
        },
        "shipping_minor": shipping,
        "shipping_tax_minor": shipping_tax,
        "lines": lines,
    }
    shipments = draw(st.integers(1, 4))
    plan: list[dict[int, int]] = [{} for _ in range(shipments)]
    for n, line in lines.items():
        left = int(line["quantity"])
        for k in range(shipments):
            units = left if k == shipments - 1 else draw(st.integers(0, left))
            if units:
                plan[k][n] = units
                left -= units
    return facts, [p for p in plan if p] or [{1: int(lines[1]["quantity"])}]


@given(orders_shipped_in_parts())
def test_any_split_into_shipments_recognises_the_order_exactly_once(case):
    # given an order and a way to ship it in parts
    facts, plan = case
    before: dict[int, int] = {}
    net: dict[str, int] = {}
    # when each shipment posts (the last one completes the order)
    for k, shipment in enumerate(plan):
        payload = {"lines": {str(n): u for n, u in shipment.items()}, "shipped_before": dict(before)}
        last = k == len(plan) - 1
        rule = rules.post_order_shipped if last else rules.post_order_shipped_in_part
        posting = rule(payload, facts, MAPPINGS)
        if posting is not None:
            rules.check_balanced(posting.lines)
            for line in posting.lines:
                net[line.account] = net.get(line.account, 0) + line.credit_minor - line.debit_minor
        for n, u in shipment.items():
            before[n] = before.get(n, 0) + u
    # then revenue, discounts, shipping and tax add up to the order's (gift-card lines left out), and so does
    # deferred revenue, and the cost of every unit went to COGS
    lines = facts["lines"]
    gift = [line for line in lines.values() if line["gift_card"]]
    goods = [line for line in lines.values() if not line["gift_card"]]
    revenue = sum(line["merchandise_minor"] + line["surcharge_minor"] for line in goods)
    discounts = sum(line["discount_minor"] for line in goods)
    gift_net = sum(
        line["merchandise_minor"] + line["surcharge_minor"] - line["discount_minor"] for line in gift
    )
    tax = sum(line["tax_minor"] for line in lines.values()) + facts["shipping_tax_minor"]
    cost = sum(line["unit_cost_minor"] * line["quantity"] for line in lines.values())
    assert net.get("4010", 0) == revenue
    assert net.get("4200", 0) == -discounts
    assert net.get("4100", 0) == facts["shipping_minor"]
    assert net.get("2100", 0) == tax
    assert net.get("2300", 0) == -(revenue - discounts + facts["shipping_minor"] + tax)
    assert -net.get("2300", 0) + gift_net == Money(Decimal(facts["totals"]["total"]), "USD").minor
    assert net.get("5000", 0) == -cost
