"""Accounts payable rules, pure: the three-way match (quantity against receipts, price against the PO, the bill's
amount) with tolerances, payment status, AP aging buckets, and the two AP posting rules by example."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ordersmith.finance import matching, rules
from ordersmith.finance.matching import BilledLine, OrderedLine, Tolerance

MAPPINGS = {(kind, key): code for kind, key, code in rules.DEFAULT_MAPPINGS}
STRICT = Tolerance(Decimal("0"), Decimal("0"), 0)


def po_line(
    received: int = 10, cost: int = 200, elsewhere: int = 0, ordered: int = 10
) -> dict[int, OrderedLine]:
    return {1: OrderedLine(1, "MUG", ordered, received, cost, elsewhere)}


def codes(found: matching.Match) -> list[tuple[str, int | None]]:
    return [(r.code, r.line) for r in found.reasons]


def test_a_bill_for_what_was_received_at_the_po_s_price_matches():
    found = matching.three_way_match([BilledLine(1, 10, 200)], po_line(), STRICT)
    assert (found.matched, found.billed_minor, found.receipt_value_minor, found.variance_minor) == (
        True,
        2000,
        2000,
        0,
    )


def test_billing_more_than_was_received_is_a_quantity_reason_naming_the_figures():
    found = matching.three_way_match([BilledLine(1, 10, 200)], po_line(received=8), STRICT)
    assert codes(found) == [("quantity", 1)]
    assert (
        found.reasons[0].detail == "PO line 1 (MUG): 10 billed, 8 received; at most 8 within the 0% tolerance"
    )


def test_units_on_other_bills_count_against_what_was_received():
    found = matching.three_way_match([BilledLine(1, 4, 200)], po_line(received=10, elsewhere=7), STRICT)
    assert codes(found) == [("quantity", 1)]
    assert "11 billed (7 on other bills), 10 received" in found.reasons[0].detail


def test_two_lines_of_one_bill_on_the_same_po_line_add_up():
    found = matching.three_way_match([BilledLine(1, 6, 200), BilledLine(1, 6, 200)], po_line(), STRICT)
    assert codes(found) == [("quantity", 2)]


def test_a_quantity_tolerance_allows_that_share_over_what_was_received_rounded_down():
    loose = Tolerance(Decimal("10"), Decimal("0"), 10_000)
    assert matching.three_way_match([BilledLine(1, 11, 200)], po_line(received=10), loose).matched
    assert not matching.three_way_match([BilledLine(1, 12, 200)], po_line(received=10), loose).matched
    assert matching.allowed_units(15, Decimal("10")) == 16  # 16.5 rounded down


def test_nothing_received_is_its_own_reason():
    found = matching.three_way_match([BilledLine(1, 1, 200)], po_line(received=0), STRICT)
    assert codes(found) == [("not_received", 1)]


def test_a_price_outside_its_tolerance_either_way_is_a_price_reason():
    one_pct = Tolerance(Decimal("0"), Decimal("1"), 10_000)
    assert matching.three_way_match([BilledLine(1, 1, 202)], po_line(), one_pct).matched  # exactly 1 %
    assert codes(matching.three_way_match([BilledLine(1, 1, 203)], po_line(), one_pct)) == [("price", 1)]
    assert codes(matching.three_way_match([BilledLine(1, 1, 197)], po_line(), one_pct)) == [("price", 1)]


def test_the_bill_s_amount_must_lie_within_the_amount_tolerance_of_the_units_at_cost():
    # 1 % price tolerance per line passes, but 100 units 2 cents over is 2.00 on the bill (tolerance 1.00)
    tolerance = Tolerance(Decimal("0"), Decimal("1"), 100)
    found = matching.three_way_match([BilledLine(1, 100, 202)], po_line(received=100, ordered=100), tolerance)
    assert codes(found) == [("amount", None)]
    assert found.variance_minor == 200


@given(
    received=st.integers(0, 500),
    billed=st.integers(1, 500),
    price=st.integers(0, 10_000),
    cost=st.integers(0, 10_000),
)
def test_a_strict_match_passes_exactly_when_units_and_price_agree(received, billed, price, cost):
    found = matching.three_way_match([BilledLine(1, billed, price)], po_line(received, cost), STRICT)
    assert found.matched == (received > 0 and billed <= received and price == cost)
    assert found.variance_minor == billed * (price - cost)


def test_a_bill_is_paid_when_its_payments_reach_its_total():
    assert matching.status_after_payment(1000, 400) == "partially_paid"
    assert matching.status_after_payment(1000, 1000) == "paid"


def test_aging_buckets_go_by_days_past_the_due_date():
    as_of = date(2026, 12, 6)
    assert [
        matching.bucket_of(due, as_of)
        for due in (
            date(2026, 12, 6),
            date(2026, 12, 5),
            date(2026, 11, 6),
            date(2026, 11, 5),
            date(2026, 9, 7),
            date(2026, 9, 6),
            date(2026, 1, 1),
        )
    ] == ["current", "days_1_30", "days_1_30", "days_31_60", "days_61_90", "over_90", "over_90"]


@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
def test_each_due_date_falls_in_exactly_the_bucket_its_bounds_say(due):
    as_of = date(2026, 12, 6)
    inside = [
        name
        for name, earliest, latest in matching.bucket_bounds(as_of)
        if (earliest is None or due >= earliest) and (latest is None or due <= latest)
    ]
    assert inside == [matching.bucket_of(due, as_of)]


# ---- posting rules -----------------------------------------------------------------------------------------------


def lines_of(posting: rules.Posting | None) -> list[tuple[str, int, int]]:
    assert posting is not None
    rules.check_balanced(posting.lines)
    return [(line.account, line.debit_minor, line.credit_minor) for line in posting.lines]


def approved(total: str, receipt_value: str, kind: str = "stock") -> dict[str, str]:
    return {
        "number": "VB-000001",
        "vendor": "ACME",
        "vendor_invoice": "INV-1",
        "purchase_order": "PO-000001",
        "kind": kind,
        "currency": "USD",
        "total": total,
        "receipt_value": receipt_value,
    }


def test_an_approved_bill_at_the_po_s_cost_posts_grni_against_accounts_payable():
    posting = rules.post_vendor_bill_approved(approved("16.00", "16.00"), {}, MAPPINGS)
    assert lines_of(posting) == [("2050", 1600, 0), ("2000", 0, 1600)]
    assert (posting and posting.rule, posting and posting.reference) == ("vendor_bill.approved", "VB-000001")


def test_an_approved_bill_above_the_po_s_cost_debits_the_price_variance():
    posting = rules.post_vendor_bill_approved(approved("20.20", "20.00"), {}, MAPPINGS)
    assert lines_of(posting) == [("2050", 2000, 0), ("5200", 20, 0), ("2000", 0, 2020)]


def test_an_approved_bill_below_the_po_s_cost_credits_the_price_variance():
    posting = rules.post_vendor_bill_approved(approved("58.00", "60.00"), {}, MAPPINGS)
    assert lines_of(posting) == [("2050", 6000, 0), ("5200", 0, 200), ("2000", 0, 5800)]


def test_an_approved_drop_ship_bill_goes_to_cost_of_goods_sold_not_grni():
    posting = rules.post_vendor_bill_approved(approved("120.00", "120.00", kind="drop_ship"), {}, MAPPINGS)
    assert lines_of(posting) == [("5000", 12000, 0), ("2000", 0, 12000)]


def test_a_zero_bill_posts_nothing():
    assert rules.post_vendor_bill_approved(approved("0.00", "0.00"), {}, MAPPINGS) is None


def test_a_vendor_payment_posts_accounts_payable_against_the_bank():
    payload = {"number": "VP-000001", "vendor": "ACME", "amount": "10.00", "currency": "USD", "method": "ach"}
    assert lines_of(rules.post_vendor_payment_made(payload, {}, MAPPINGS)) == [
        ("2000", 1000, 0),
        ("1000", 0, 1000),
    ]
    assert rules.RULES["vendor_payment.made"] is rules.post_vendor_payment_made
    assert rules.RULES["vendor_bill.approved"] is rules.post_vendor_bill_approved


@given(total=st.integers(0, 10**9), receipt=st.integers(0, 10**9))
def test_every_approved_bill_posts_a_balanced_entry(total, receipt):
    payload = approved(f"{total // 100}.{total % 100:02d}", f"{receipt // 100}.{receipt % 100:02d}")
    posting = rules.post_vendor_bill_approved(payload, {}, MAPPINGS)
    if posting is not None:
        rules.check_balanced(posting.lines)
        assert sum(line.credit_minor for line in posting.lines if line.account == "2000") == total
