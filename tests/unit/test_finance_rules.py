"""Finance rules, pure: balancing, mapping, periods, moving-average cost and each posting rule by example."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersmith.finance import rules
from ordersmith.finance.rules import Line
from ordersmith.finance.rules.core import _minor
from ordersmith.kernel.money import Money

MAPPINGS = {(kind, key): code for kind, key, code in rules.DEFAULT_MAPPINGS}


def lines_of(posting: rules.Posting | None) -> list[tuple[str, int, int]]:
    assert posting is not None
    rules.check_balanced(posting.lines)
    return [(line.account, line.debit_minor, line.credit_minor) for line in posting.lines]


def test_a_balanced_entry_passes_and_an_unbalanced_one_is_refused_by_the_cent():
    rules.check_balanced([Line("1000", debit_minor=100), Line("3000", credit_minor=100)])
    with pytest.raises(rules.Unbalanced, match="differ by 1"):
        rules.check_balanced([Line("1000", debit_minor=101), Line("3000", credit_minor=100)])


@pytest.mark.parametrize(
    "lines",
    [
        [Line("1000", debit_minor=100)],
        [Line("1000", debit_minor=100, credit_minor=100), Line("3000")],
        [Line("1000", debit_minor=-5), Line("3000", credit_minor=-5)],
    ],
)
def test_one_line_a_two_sided_line_or_a_negative_amount_is_refused(lines: list[Line]):
    with pytest.raises(rules.Unbalanced):
        rules.check_balanced(lines)


@given(
    st.lists(st.tuples(st.sampled_from(["1000", "1100", "2300", "4000"]), st.integers(1, 10**9)), min_size=1)
)
def test_any_lines_with_their_reversal_net_to_nothing(parts: list[tuple[str, int]]):
    # given balanced lines: each debit matched by a credit on the suspense account
    lines = [Line(account, debit_minor=amount) for account, amount in parts]
    lines.append(Line("9999", credit_minor=sum(amount for _, amount in parts)))
    rules.check_balanced(lines)
    # then their reversal balances, and both together compact to nothing
    rules.check_balanced(rules.reversal(lines))
    assert rules.compact([*lines, *rules.reversal(lines)]) == ()


def test_a_mapping_falls_back_to_its_kind_s_default_and_an_unmapped_kind_is_refused():
    assert rules.resolve(MAPPINGS, "revenue", "store", "pos") == "4020"
    assert rules.resolve(MAPPINGS, "revenue", "wholesale", "trade") == "4000"
    assert rules.resolve(MAPPINGS, "tender", "venmo") == "1190"
    with pytest.raises(rules.UnmappedAccount):
        rules.resolve({}, "role", "grni")


def test_a_posting_dated_in_a_closed_period_moves_to_the_next_open_one_with_a_note():
    assert rules.open_period_for(date(2026, 12, 31), set()) == ("2026-12", "")
    assert rules.open_period_for(date(2026, 12, 31), {"2026-12", "2027-01"}) == (
        "2027-02",
        "dated 2026-12-31 in closed period 2026-12: posted in 2027-02",
    )


@pytest.mark.parametrize("code", ["2026-13", "2026-1", "26-01", "2026/01", "abcd-ef"])
def test_a_malformed_period_is_refused(code: str):
    with pytest.raises(ValueError, match="YYYY-MM"):
        rules.period_bounds(code)


def test_a_period_runs_from_the_first_to_the_last_day_of_its_month():
    assert rules.period_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert rules.period_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    assert rules.period_bounds("9999-12") == (date(9999, 12, 1), date(9999, 12, 31))


def test_the_moving_average_weighs_the_stock_on_hand_and_the_receipt():
    # 10 at 2.00 and 30 at 3.00 → 2.75; 3 at 1.00 and 1 at 2.00 → 1.25 (exact); 2 at 0.01 and 1 at 0.02 rounds
    assert rules.moving_average(10, 200, 30, 300) == 275
    assert rules.moving_average(3, 100, 1, 200) == 125
    assert rules.moving_average(2, 1, 1, 2) == 1
    assert rules.moving_average(0, 500, 4, 300) == 300
    assert rules.moving_average(-2, 500, 4, 300) == 300


def test_a_card_capture_debits_card_clearing_and_credits_deferred_revenue():
    payload = {"method": "card", "amount": "40.00", "currency": "USD", "payment_id": "p1"}
    assert lines_of(rules.post_payment_captured(payload, {}, MAPPINGS)) == [
        ("1100", 4000, 0),
        ("2300", 0, 4000),
    ]


def test_a_gift_card_redemption_debits_the_gift_card_liability():
    payload = {"method": "gift_card", "amount": "15.00", "currency": "USD"}
    assert lines_of(rules.post_payment_captured(payload, {}, MAPPINGS)) == [
        ("2200", 1500, 0),
        ("2300", 0, 1500),
    ]


def test_an_invoice_on_account_debits_receivables_against_deferred_revenue():
    payload = {"method": "on_account", "amount": "99.99", "currency": "USD", "invoice": "I-1001"}
    posting = rules.post_payment_captured(payload, {}, MAPPINGS)
    assert lines_of(posting) == [("1200", 9999, 0), ("2300", 0, 9999)]
    assert posting is not None and posting.reference == "I-1001"


def test_a_capture_of_nothing_posts_nothing():
    assert (
        rules.post_payment_captured({"method": "card", "amount": "0.00", "currency": "USD"}, {}, MAPPINGS)
        is None
    )


def test_a_refund_after_shipment_is_a_return_and_before_it_gives_the_deposit_back():
    payload = {"method": "card", "amount": "20.00", "currency": "USD"}
    shipped = rules.post_payment_refunded(payload, {"shipped": True}, MAPPINGS)
    unshipped = rules.post_payment_refunded(payload, {"shipped": False}, MAPPINGS)
    assert lines_of(shipped) == [("4300", 2000, 0), ("1100", 0, 2000)]
    assert lines_of(unshipped) == [("2300", 2000, 0), ("1100", 0, 2000)]


def test_a_refund_to_store_credit_credits_the_store_credit_liability():
    payload = {"method": "card", "amount": "20.00", "currency": "USD", "to": "store_credit"}
    assert lines_of(rules.post_payment_refunded(payload, {"shipped": True}, MAPPINGS)) == [
        ("4300", 2000, 0),
        ("2210", 0, 2000),
    ]


def test_a_shipped_order_recognises_revenue_shipping_discount_tax_and_cost():
    # given a web order: 100.00 of goods, 5.00 surcharge, 10.00 off, 7.95 shipping, 8.25 tax, 111.20 in all
    facts = {
        "currency": "USD",
        "merchandise": "100.00",
        "surcharges": "5.00",
        "discounts": "10.00",
        "shipping": "7.95",
        "tax": "8.25",
        "total": "111.20",
        "division": "web",
        "channel": "web",
        "jurisdiction": "CA",
        "cost_minor": 4100,
    }
    # then
    assert lines_of(rules.post_order_shipped({"number": "100234"}, facts, MAPPINGS)) == [
        ("2300", 11120, 0),
        ("4200", 1000, 0),
        ("4010", 0, 10500),
        ("4100", 0, 795),
        ("2100", 0, 825),
        ("5000", 4100, 0),
        ("1300", 0, 4100),
    ]


def test_a_shipped_order_s_tax_goes_to_its_jurisdiction_s_account_when_one_is_mapped():
    facts = {
        "currency": "USD",
        "merchandise": "10.00",
        "surcharges": "0",
        "discounts": "0",
        "shipping": "0",
        "tax": "1.00",
        "total": "11.00",
        "division": "store",
        "channel": "store-1",
        "jurisdiction": "NY",
    }
    mapped = {**MAPPINGS, ("tax", "NY"): "2101"}
    assert lines_of(rules.post_order_shipped({}, facts, mapped)) == [
        ("2300", 1100, 0),
        ("4020", 0, 1000),
        ("2101", 0, 100),
    ]


def test_a_po_receipt_debits_inventory_and_credits_goods_received_not_invoiced_at_the_po_cost():
    payload = {
        "number": "P-2041",
        "lines": [{"line": 1, "sku": "MUG", "quantity": 3}, {"line": 2, "sku": "TEE", "quantity": 2}],
    }
    facts = {"currency": "USD", "unit_cost_minor": {1: 250, 2: 1000}}
    assert lines_of(rules.post_po_received(payload, facts, MAPPINGS)) == [
        ("1300", 2750, 0),
        ("2050", 0, 2750),
    ]


def test_every_rule_is_in_the_table_the_subscriber_reads():
    assert set(rules.RULES) == {
        "payment.captured",
        "payment.refunded",
        "order.shipped",
        "po.received",
        "invoice.payment_applied",
        "vendor_bill.approved",
        "vendor_payment.made",
        "order.shipped_in_part",
        "return.received",
        "gift_card.issued",
        "gift_card.reloaded",
        "gift_card.activated",
        "gift_card.expired",
        "payment.failed",
        "invoice.written_off",
        "unapplied_cash.received",
        "settlement.imported",
        "stock.changed",
        "dispute.opened",
        "dispute.won",
        "dispute.lost",
        "landed_cost.recorded",
    }


@pytest.mark.parametrize(
    ("method", "account"), [("check", "1020"), ("transfer", "1000"), ("card", "1100"), ("wire", "1190")]
)
def test_a_payment_on_an_invoice_debits_its_means_of_payment_and_credits_receivables(method, account):
    payload = {"number": "I-000007", "amount": "60.00", "currency": "USD", "method": method}
    posting = rules.post_invoice_payment_applied(payload, {}, MAPPINGS)
    assert lines_of(posting) == [(account, 6000, 0), ("1200", 0, 6000)]
    assert posting is not None and posting.reference == "I-000007"


def test_a_refund_credited_to_an_invoice_posts_nothing_the_refund_posted_it():
    payload = {"number": "I-000007", "amount": "10.00", "currency": "USD", "method": "credit"}
    assert rules.post_invoice_payment_applied(payload, {}, MAPPINGS) is None


def test_a_balance_sheet_from_unbalanced_sums_says_so_and_contra_accounts_show_negative():
    # given sums that do not balance (a bug upstream), and a discount posted against revenue
    balances = [
        rules.AccountBalance("1000", "Cash", "asset", "USD", 100_00),
        rules.AccountBalance("3000", "Capital", "equity", "USD", -90_00),
        rules.AccountBalance("4010", "Web sales", "revenue", "USD", -20_00, -20_00),
        rules.AccountBalance("4200", "Discounts", "revenue", "USD", 5_00, 5_00),
    ]
    # when the statements are built
    (sheet,) = rules.balance_sheet(balances)
    (income,) = rules.income_statement(balances)
    # then the sheet is not balanced (100.00 against 90.00 + 15.00) and the discount reduces revenue
    assert (sheet.total_assets_minor, sheet.total_equity_minor, sheet.balanced) == (100_00, 105_00, False)
    assert [(x.account_code, x.amount_minor) for x in income.revenue] == [("4010", 20_00), ("4200", -5_00)]
    assert income.net_income_minor == 15_00


def test_a_payout_goes_to_the_bank_and_its_fees_to_expense_out_of_card_clearing():
    payload = {
        "currency": "USD",
        "net_minor": 9560,
        "fees_minor": 440,
        "processor": "stripe",
        "number": "ST-1",
    }
    assert lines_of(rules.post_settlement_imported(payload, {}, MAPPINGS)) == [
        ("1000", 9560, 0),
        ("6100", 440, 0),
        ("1100", 0, 10000),
    ]
    # a payout that took money back (more refunds than sales) credits the bank; a fee refund credits fees
    back = {"currency": "USD", "net_minor": -1000, "fees_minor": -50}
    assert lines_of(rules.post_settlement_imported(back, {}, MAPPINGS)) == [
        ("1000", 0, 1000),
        ("6100", 0, 50),
        ("1100", 1050, 0),
    ]
    assert (
        rules.post_settlement_imported({"currency": "USD", "net_minor": 0, "fees_minor": 0}, {}, MAPPINGS)
        is None
    )


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False, places=6),
    st.sampled_from(["USD", "JPY", "BHD", "EUR"]),
)
def test_an_events_amount_in_minor_units_is_what_money_makes_of_it(amount, currency):
    text = str(amount)
    assert _minor(text, currency) == Money(Decimal(text), currency).minor


@pytest.mark.parametrize(
    ("text", "currency"), [("x", "USD"), ("Infinity", "USD"), ("NaN", "USD"), ("1", "usd")]
)
def test_an_events_amount_that_is_no_amount_is_refused_as_money_refuses_it(text, currency):
    with pytest.raises(ValueError):
        _minor(text, currency)
