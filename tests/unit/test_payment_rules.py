"""Pure payment rules: card checks, masking and redaction, gift-card codes, split tender, refund plans, status."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersmith.kernel.money import Money
from ordersmith.payments import rules

TODAY = date(2026, 11, 28)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4111 1111 1111 1111", "visa"),
        ("5555-5555-5555-4444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("3530111333300000", "jcb"),
        ("36227206271667", "diners"),
        ("6200000000000005", "unionpay"),
    ],
)
def test_the_test_numbers_of_each_brand_are_valid_and_recognised(number: str, brand: str) -> None:
    digits, facts = rules.check_card(number, 12, 2030, TODAY)
    assert facts.brand == brand and facts.last_four == digits[-4:]
    assert facts.masked == digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


@pytest.mark.parametrize(
    ("number", "month", "year", "reason"),
    [
        ("4111 1111 1111 1112", 12, 2030, "number_invalid"),  # Luhn fails
        ("4111-1111-abcd-1111", 12, 2030, "number_invalid"),
        ("9999999999999995", 12, 2030, "brand_unknown"),  # Luhn-valid, no brand
        ("4111111111111111", 10, 2026, "expired"),
        ("4111111111111111", 13, 2030, "expiry_invalid"),
    ],
)
def test_a_bad_card_is_refused_with_a_reason_that_never_holds_the_number(
    number: str, month: int, year: int, reason: str
) -> None:
    with pytest.raises(rules.CardInvalid) as refused:
        rules.check_card(number, month, year, TODAY)
    assert refused.value.reason == reason and "1111" not in str(refused.value)


def test_a_card_expiring_this_month_is_still_good() -> None:
    assert rules.check_card("4111111111111111", 11, 2026, TODAY)[1].exp_month == 11


def test_redaction_masks_card_numbers_in_free_text_and_leaves_other_numbers() -> None:
    text = "paid with 4111 1111 1111 1111, order 100234, phone 4155550132, ref 4111111111111112"
    assert (
        rules.redact(text)
        == "paid with 411111******1111, order 100234, phone 4155550132, ref 4111111111111112"
    )
    assert rules.redact(rules.redact(text)) == rules.redact(text)
    assert rules.contains_card_number(text) and not rules.contains_card_number(rules.redact(text))


@given(st.integers(min_value=10**14, max_value=10**15 - 1))
def test_any_luhn_completed_number_is_redacted(body: int) -> None:
    digits = str(body)
    check = next(str(d) for d in range(10) if rules.luhn_valid(digits + str(d)))
    number = digits + check
    assert number not in rules.redact(f"card {number} used")


def test_gift_card_codes_carry_a_check_symbol_that_catches_typos() -> None:
    code = rules.gift_card_code(os.urandom(15))
    assert len(code) == 16 and rules.normalize_gift_code(code) == code
    assert rules.normalize_gift_code(rules.format_gift_code(code).lower()) == code
    # every single-symbol change is caught
    for position in range(16):
        for symbol in rules.GIFT_ALPHABET:
            if symbol != code[position]:
                typo = code[:position] + symbol + code[position + 1 :]
                assert rules.normalize_gift_code(typo) is None
    assert rules.normalize_gift_code("0000-1111-OOOO-IIII") is None  # symbols outside the alphabet


@given(st.binary(min_size=15, max_size=15))
def test_adjacent_swaps_in_a_gift_code_are_caught(random_bytes: bytes) -> None:
    code = rules.gift_card_code(random_bytes)
    blind_spot = {
        rules.GIFT_ALPHABET[0],
        rules.GIFT_ALPHABET[-1],
    }  # Luhn mod N's one undetected swap ("09" in mod 10)
    for i in range(15):
        if code[i] != code[i + 1] and {code[i], code[i + 1]} != blind_spot:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            assert rules.normalize_gift_code(swapped) is None


def test_split_tender_gives_the_open_tender_the_rest() -> None:
    parts = rules.split_tender(usd("100.00"), [rules.TenderRequest("gift_card", usd("25.00")),
                                              rules.TenderRequest("card", None)])  # fmt: skip
    assert parts == [usd("25.00"), usd("75.00")]


@pytest.mark.parametrize(
    "tenders",
    [
        [],
        [rules.TenderRequest("card", None), rules.TenderRequest("paypal", None)],
        [rules.TenderRequest("gift_card", usd("120.00")), rules.TenderRequest("card", None)],
        [rules.TenderRequest("check", usd("60.00"))],
        [rules.TenderRequest("check", usd("-1.00")), rules.TenderRequest("card", None)],
    ],
)
def test_split_tender_refuses_what_does_not_add_up(tenders: list[rules.TenderRequest]) -> None:
    with pytest.raises(ValueError):
        rules.split_tender(usd("100.00"), tenders)


AT = datetime(2026, 11, 1, tzinfo=UTC)


def test_a_refund_comes_from_the_newest_capture_first() -> None:
    captures = [rules.Captured("card", usd("70.00"), usd("0.00"), AT),
                rules.Captured("gift", usd("30.00"), usd("0.00"), AT + timedelta(minutes=1))]  # fmt: skip
    assert rules.refund_plan(usd("40.00"), captures) == [("gift", usd("30.00")), ("card", usd("10.00"))]
    with pytest.raises(ValueError):
        rules.refund_plan(usd("100.01"), captures)


@given(
    st.lists(st.tuples(st.integers(1, 10_000), st.integers(0, 10_000)), min_size=1, max_size=5),
    st.integers(1, 60_000),
)
def test_a_refund_plan_never_gives_back_more_than_is_refundable(
    caps: list[tuple[int, int]], cents: int
) -> None:
    captures = [rules.Captured(f"p{n}", Money.from_minor(c, "USD"), Money.from_minor(min(r, c), "USD"),
                               AT + timedelta(minutes=n)) for n, (c, r) in enumerate(caps)]  # fmt: skip
    amount = Money.from_minor(cents, "USD")
    available = sum((c.refundable for c in captures), Money.zero("USD"))
    if amount > available:
        with pytest.raises(ValueError):
            rules.refund_plan(amount, captures)
        return
    plan = rules.refund_plan(amount, captures)
    assert sum((m for _, m in plan), Money.zero("USD")) == amount
    by_payment = {c.payment: c for c in captures}
    assert all(Money.zero("USD") < m <= by_payment[p].refundable for p, m in plan)


@pytest.mark.parametrize(
    ("authorized", "captured", "refunded", "failed", "status"),
    [
        ("0", "0", "0", False, "pending"),
        ("0", "0", "0", True, "failed"),
        ("100", "0", "0", False, "authorized"),
        ("100", "40", "0", False, "partially_captured"),
        ("100", "100", "0", False, "captured"),
        ("100", "100", "30", False, "partially_refunded"),
        ("100", "100", "100", False, "refunded"),
    ],
)
def test_the_payment_status_follows_the_tenders(
    authorized: str, captured: str, refunded: str, failed: bool, status: str
) -> None:
    assert rules.payment_status(usd("100"), usd(authorized), usd(captured), usd(refunded), failed) == status


def test_no_log_record_carries_a_card_number(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from ordersmith.platform.logs import install_card_redaction

    install_card_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("ordersmith.test").info(
            "gateway said %s for card %s", "declined", "4111-1111-1111-1111"
        )
        logging.getLogger("ordersmith.test").warning("raw 5555555555554444 in a message")
    assert [r.getMessage() for r in caplog.records] == ["gateway said declined for card 411111******1111",
                                                        "raw 555555******4444 in a message"]  # fmt: skip
