"""Amazon order adjustments (`amazon_feeds.adjustment`): refunds replayed one after another never ask an item for
more than it has left, sum exactly to what one refund of their total would send, and a return's refund goes to the
items returned."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from ordersmith.channels.connectors.amazon_feeds import adjustment
from ordersmith.channels.connectors.base import CallFailed, EarlierRefund, LineUnits, RefundNotice


def _money(amount: str) -> dict[str, str]:
    return {"CurrencyCode": "USD", "Amount": amount}


# Two tees (40.00, 4.00 shipping, 3.30 tax Amazon collects: 47.30) and a mug (12.00, no tax)
ITEMS: list[dict[str, Any]] = [
    {"OrderItemId": "01", "QuantityOrdered": 2, "ItemPrice": _money("40.00"), "ShippingPrice": _money("4.00"),
     "ItemTax": _money("3.30"), "ShippingTax": _money("0.00"),
     "TaxCollection": {"Model": "MarketplaceFacilitator"}},
    {"OrderItemId": "02", "QuantityOrdered": 1, "ItemPrice": _money("12.00")},
]  # fmt: skip


def _sent(
    amount: str,
    earlier: tuple[tuple[str, tuple[LineUnits, ...]], ...] | list[tuple[str, tuple[LineUnits, ...]]] = (),
    lines: tuple[LineUnits, ...] = (),
) -> dict[str, dict[str, Decimal]]:
    notice = RefundNotice(external_id="333-1", amount=Decimal(amount), currency="USD", reason="r", key="k",
                          lines=lines, earlier=tuple(EarlierRefund(Decimal(a), u) for a, u in earlier))  # fmt: skip
    root = ET.fromstring(adjustment("SELLER", notice, ITEMS, "CustomerReturn"))
    return {
        str(item.findtext("AmazonOrderItemCode")): {
            str(c.findtext("Type")): Decimal(str(c.findtext("Amount"))) for c in item.iter("Component")
        }
        for item in root.iter("AdjustedItem")
    }


def test_ten_refunds_of_four_dollars_send_exactly_what_one_of_forty_would() -> None:
    sent = [_sent("4.00", earlier=[("4.00", ())] * k) for k in range(10)]
    total = sum((v for s in sent for parts in s.values() for v in parts.values()), Decimal(0))
    assert total == sum((v for parts in _sent("40.00").values() for v in parts.values()), Decimal(0))
    assert total == Decimal("37.21")  # 40.00 x 44.00 / 47.30, rounded once


def test_refunds_of_everything_drain_every_item_to_the_cent_and_one_more_cent_is_refused() -> None:
    # 47.30 for the tees with Amazon's tax, 12.00 for the mug, in three refunds
    earlier = [("20.00", ()), ("20.00", ())]
    last = _sent("19.30", earlier=earlier)
    first, second = _sent("20.00"), _sent("20.00", earlier=earlier[:1])
    per_item: dict[str, Decimal] = {}
    for sent in (first, second, last):
        for item, parts in sent.items():
            per_item[item] = per_item.get(item, Decimal(0)) + sum(parts.values(), Decimal(0))
    assert per_item == {"01": Decimal("44.00"), "02": Decimal("12.00")}
    with pytest.raises(CallFailed):
        _sent("0.05", earlier=[*earlier, ("19.30", ())])


def test_a_return_s_refund_goes_to_the_units_returned_first() -> None:
    mug = (LineUnits(2, "02", 1),)
    assert _sent("12.00", earlier=[("10.00", ())], lines=mug) == {"02": {"Principal": Decimal("12.00")}}
    one_tee = (LineUnits(1, "01", 1),)
    assert _sent("23.65", lines=one_tee) == {
        "01": {"Principal": Decimal("20.00"), "Shipping": Decimal("2.00")}
    }
