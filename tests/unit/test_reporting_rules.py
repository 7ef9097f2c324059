"""Reporting's pure rules: parameters checked against a report's spec, the AR aging buckets' due dates, ratios and
averages in minor units, and the export writers' exact amounts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersmith.data.exports.writers import amount_text
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.payments.rules import AGING_BUCKETS, aging_due_bounds
from ordersmith.reporting.catalogue import CATALOGUE
from ordersmith.reporting.rules import average_minor, parse_parameters, ratio

TODAY = date(2026, 3, 20)
SALES = CATALOGUE["sales_by_day_channel"].spec


def test_missing_parameters_take_their_defaults():
    assert parse_parameters(SALES, {}, today=TODAY) == {
        "from": date(2026, 2, 19),
        "to": TODAY,
        "grouping": "day",
        "channel": None,
        "division": None,
    }


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"from": "2026-02-30"}, "from"),
        ({"from": "2026-03-10", "to": "2026-03-09"}, "to"),
        ({"from": "9999-01-01", "to": "9999-12-31"}, "from"),  # its range would end past the last date
        ({"from": "0001-01-01", "to": "0001-12-31"}, "from"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
        ({"grouping": "year"}, "grouping"),
        ({"channel": "x" * 61}, "channel"),
        ({"channel": "web\tshop"}, "channel"),
        ({"location": "EAST"}, "location"),
    ],
)
def test_a_bad_or_unknown_parameter_is_refused_naming_it(raw, field):
    with pytest.raises(ValidationFailed) as refused:
        parse_parameters(SALES, raw, today=TODAY)
    assert refused.value.errors[0].field == field


def test_a_whole_number_parameter_is_bounded():
    top = CATALOGUE["top_items"].spec
    assert parse_parameters(top, {"limit": "5"}, today=TODAY)["limit"] == 5
    for bad in ("0", "1001", "-1", "five", "\uff11"):
        with pytest.raises(ValidationFailed):
            parse_parameters(top, {"limit": bad}, today=TODAY)


@given(st.integers(min_value=-400, max_value=400))
def test_every_due_date_falls_in_exactly_one_aging_bucket_by_its_days_past_due(days_past_due: int):
    due_on = TODAY - timedelta(days=days_past_due)
    holding = [
        name
        for name, earliest, latest in aging_due_bounds(TODAY)
        if (earliest is None or due_on >= earliest) and (latest is None or due_on <= latest)
    ]
    assert len(holding) == 1
    _name, _label, low, high = next(b for b in AGING_BUCKETS if b[0] == holding[0])
    assert (low is None or days_past_due >= low) and (high is None or days_past_due <= high)


def test_ratios_and_averages():
    assert ratio(1, 6) == Decimal("16.7") and ratio(3, 0) is None and ratio(0, 5) == Decimal("0.0")
    assert average_minor(1001, 2) == 501 and average_minor(1000, 3) == 333 and average_minor(5, 0) == 0


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["USD", "JPY", "BHD", "EUR"]))
def test_export_amounts_are_exactly_the_money_they_stand_for(minor: int, currency: str):
    assert Decimal(amount_text(minor, currency)) == Money.from_minor(minor, currency).amount
    assert amount_text(minor, currency) == str(Money.from_minor(minor, currency).amount)
