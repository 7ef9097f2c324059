from decimal import Decimal

import pytest
from pydantic import ValidationError

from ordersmith.kernel.money import Money
from ordersmith.platform.schemas import MoneyIn, MoneyOut, SalesChannelIn


def test_money_crosses_the_api_as_a_string_with_its_currency():
    assert MoneyIn(amount="19.99", currency="USD").to_money() == Money(Decimal("19.99"), "USD")
    assert MoneyOut.of(Money("5", "JPY")).model_dump() == {"amount": "5", "currency": "JPY"}
    assert MoneyOut.of(Money("1.5", "USD")).model_dump() == {"amount": "1.50", "currency": "USD"}


@pytest.mark.parametrize("amount", [19.99, "19,99", "1e3", "", "12.34567", "abc"])
def test_money_amounts_that_are_not_decimal_strings_are_refused(amount: object):
    with pytest.raises(ValidationError) as caught:
        MoneyIn(amount=amount, currency="USD")  # type: ignore[arg-type]
    assert caught.value.errors()[0]["loc"] == ("amount",)


def test_inputs_refuse_unknown_fields_and_name_them():
    with pytest.raises(ValidationError) as caught:
        SalesChannelIn(code="web", name="Web", kind="web", division="web", colour="red")  # type: ignore[call-arg]
    assert caught.value.errors()[0]["loc"] == ("colour",)
