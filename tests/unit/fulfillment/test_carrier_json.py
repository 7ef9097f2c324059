"""The carriers' request bodies carry Decimals as their own digits: never through a float."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from ordersmith.fulfillment.carriers.http import encode_json


def test_a_decimal_is_written_as_its_own_digits_and_reads_back_exactly():
    body = {
        "parcel": {"weight": Decimal("42.40"), "length": Decimal("11.9")},
        "n": [1, Decimal("0.1"), None],
        "insured": Decimal("12345678901234567.89"),  # a float would send 12345678901234568
        "name": 'Ann "A" Buyer',
        "async": False,
    }
    text = encode_json(body)
    assert text == (
        '{"parcel":{"weight":42.40,"length":11.9},"n":[1,0.1,null],"insured":12345678901234567.89,'
        '"name":"Ann \\"A\\" Buyer","async":false}'
    )
    assert json.loads(text, parse_float=Decimal)["insured"] == Decimal("12345678901234567.89")
    assert encode_json(Decimal("1E+2")) == "100" and encode_json(Decimal("-0.50")) == "-0.50"


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), float("nan"), {1, 2}, b"x"])
def test_what_json_cannot_carry_is_refused(value: object):
    with pytest.raises((TypeError, ValueError)):
        encode_json({"value": value})
