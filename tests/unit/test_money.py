from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersmith.kernel.money import Money, allocate_minor, currency_exponent, exact_money

currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD", "GBP"])


def test_amount_is_rounded_to_the_currency_exponent_half_even():
    assert Money("10.005", "USD").amount == Decimal("10.00")
    assert Money("10.015", "USD").amount == Decimal("10.02")
    assert Money("199.5", "JPY").amount == Decimal("200")
    assert Money("1.2345", "KWD").amount == Decimal("1.234")


def test_money_refuses_floats_everywhere():
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money("1.50", "USD") * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        allocate_minor(100, [0.5, 0.5])  # type: ignore[list-item]


def test_money_refuses_mixed_currencies():
    with pytest.raises(ValueError, match="USD with EUR"):
        Money("1", "USD") + Money("1", "EUR")
    with pytest.raises(ValueError):
        _ = Money("1", "USD") < Money("1", "EUR")


def test_money_refuses_bad_currency_codes_and_amounts():
    with pytest.raises(ValueError):
        Money("1", "usd")
    with pytest.raises(ValueError):
        Money("abc", "USD")
    with pytest.raises(ValueError):
        Money("Infinity", "USD")


def test_minor_units_round_trip_for_known_exponents():
    assert Money("19.99", "USD").minor == 1999
    assert Money.from_minor(1999, "USD") == Money("19.99", "USD")
    assert Money.from_minor(500, "JPY").amount == Decimal("500")
    assert Money.from_minor(1234, "KWD").amount == Decimal("1.234")
    assert currency_exponent("BHD") == 3


def test_split_of_one_cent_remainders_goes_to_largest_remainders_first():
    parts = Money("10.00", "USD").split([1, 1, 1])
    assert [p.amount for p in parts] == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]


def test_split_in_proportion_to_line_values():
    parts = Money("5.00", "USD").split([Decimal("19.99"), Decimal("5.01")])
    assert [p.amount for p in parts] == [Decimal("4.00"), Decimal("1.00")]


def test_split_with_all_zero_weights_spreads_evenly():
    assert allocate_minor(5, [0, 0]) == [3, 2]


@given(minor=st.integers(min_value=-(10**12), max_value=10**12), currency=currencies)
def test_minor_units_round_trip(minor: int, currency: str):
    assert Money.from_minor(minor, currency).minor == minor


@given(
    total=st.integers(min_value=-(10**9), max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30),
)
def test_split_parts_always_add_back_to_the_whole(total: int, weights: list[int]):
    parts = allocate_minor(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    if sum(weights) > 0:
        for part, weight in zip(parts, weights, strict=True):
            exact = Decimal(total) * weight / sum(weights)
            assert abs(Decimal(part) - exact) < 1


@given(
    a=st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    b=st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
)
def test_addition_is_exact_in_minor_units(a: Decimal, b: Decimal):
    assert (Money(a, "USD") + Money(b, "USD")).minor == Money(a, "USD").minor + Money(b, "USD").minor


def test_a_typed_amount_must_be_ascii_digits_and_exact_in_its_currency():
    # when amounts are typed exactly, too finely, or in another script's digits
    assert exact_money("10", "JPY") == Money(Decimal(10), "JPY")
    assert exact_money("12.50", "USD") == Money(Decimal("12.50"), "USD")
    for text, currency in (
        ("10.50", "JPY"),
        ("1.0005", "KWD"),
        ("\u0661\u0662.\u0660\u0660", "USD"),
        ("1e3", "USD"),
        ("12.", "USD"),
    ):
        # then the inexact and the non-ASCII are refused, never rounded
        with pytest.raises(ValueError):
            exact_money(text, currency)
