"""Reading eBay's Fulfillment API orders into our terms, without a database: unit prices from line costs, eBay's
collected tax counted once though eBay repeats it under `taxes`, a seller-collected tax as the line's tax, the
marketplace fee and earliest ship-by date kept, a line without a SKU known by its item id, the orders wanted (paid,
open, not cancelled); a bad field is refused by its path."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ordersmith.channels import connectors
from ordersmith.kernel.errors import ValidationFailed
from tests.integration.test_channels_ebay import ebay_order

EBAY = connectors.for_kind("ebay")
UPDATED = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)


def order(**changes: Any) -> dict[str, Any]:
    return ebay_order("26-00000-00001", updated=UPDATED, quantity=3) | changes


def test_an_ebay_order_reads_unit_prices_and_keeps_collected_tax_fees_and_ship_by() -> None:
    # given: a second line without a SKU, its tax the seller's, shipping by an earlier date
    raw = order()
    raw["lineItems"].append(
        {
            "lineItemId": "2",
            "legacyItemId": "110550000002",
            "title": "Mug",
            "quantity": 2,
            "lineItemCost": {"value": "25.00", "currency": "USD"},
            "taxes": [{"amount": {"value": "1.50", "currency": "USD"}, "taxType": "STATE_SALES_TAX"}],
            "lineItemFulfillmentInstructions": {"shipByDate": "2026-12-02T23:59:59.000Z"},
        }
    )
    # when
    parsed = EBAY.parse_order(raw)
    # then
    assert (parsed.external_id, parsed.number, parsed.updated_at, parsed.currency) == (
        "26-00000-00001",
        "110551200001-0",
        UPDATED,
        "USD",
    )
    assert [(line.channel_sku, line.quantity, line.unit_price, line.tax) for line in parsed.lines] == [
        ("EB-TEE", 3, Decimal("20.0000"), Decimal("3.30")),
        ("item:110550000002", 2, Decimal("12.5000"), Decimal("1.50")),
    ]
    assert (parsed.subtotal, parsed.shipping, parsed.total_tax, parsed.total) == (
        Decimal("60.00"),
        Decimal("4.00"),
        Decimal("3.30"),
        Decimal("67.30"),
    )
    assert (parsed.tax_collected_by, parsed.marketplace_fees, parsed.ship_by) == (
        "marketplace",
        Decimal("6.15"),
        datetime(2026, 12, 2, 23, 59, 59, tzinfo=UTC),
    )
    assert (parsed.ship_to.name, parsed.ship_to.region, parsed.ship_to.phone, parsed.email) == (
        "Ann Buyer",
        "CA",
        "4155550100",
        "7f3a9c@members.ebay.com",
    )
    assert parsed.shipping_code == "USPSPriority"


def _without(path: str) -> dict[str, Any]:
    raw = order()
    target: Any = raw
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    del target[last]
    return raw


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (
            _without("fulfillmentStartInstructions.0.shippingStep.shipTo.contactAddress.addressLine1"),
            "fulfillmentStartInstructions.0.shippingStep.shipTo.contactAddress.addressLine1",
        ),
        (_without("lineItems.0.quantity"), "lineItems.0.quantity"),
        (_without("lastModifiedDate"), "lastModifiedDate"),
        (order(lineItems=[]), "lineItems"),
        (order(totalMarketplaceFee={"value": 6.15, "currency": "USD"}), "totalMarketplaceFee.value"),
    ],
)
def test_a_bad_ebay_field_is_refused_by_its_path(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        EBAY.parse_order(raw)
    assert refused.value.errors[0].field == field


def test_only_a_paid_open_uncancelled_ebay_order_is_wanted() -> None:
    assert EBAY.wanted(order())
    assert EBAY.wanted(order(orderFulfillmentStatus="IN_PROGRESS"))
    assert not EBAY.wanted(order(orderPaymentStatus="PENDING"))
    assert not EBAY.wanted(order(orderPaymentStatus="FULLY_REFUNDED"))
    assert not EBAY.wanted(order(orderFulfillmentStatus="FULFILLED"))
    assert not EBAY.wanted(order(cancelStatus={"cancelState": "CANCELED", "cancelRequests": []}))
