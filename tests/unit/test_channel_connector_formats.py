"""Reading WooCommerce's and Amazon's orders into our terms, without a database: the fields each format names, the
timestamps WooCommerce writes without an offset, a line known by its product when it has no SKU, Amazon's item
totals turned into unit prices, an item the buyer cancelled left out, the marketplace's tax collection and ship-by
date kept; a bad field is refused by its path."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ordersmith.channels import connectors
from ordersmith.channels.connectors.http import exact_json
from ordersmith.kernel.errors import ValidationFailed


def woo(**changes: Any) -> dict[str, Any]:
    order = {
        "id": 42,
        "number": "42",
        "status": "processing",
        "currency": "usd",
        "date_created_gmt": "2026-12-01T09:00:00",
        "date_modified_gmt": "2026-12-01T09:05:00",
        "billing": {
            "first_name": "Ann",
            "last_name": "Buyer",
            "address_1": "9 Billing Rd",
            "city": "Oakland",
            "state": "CA",
            "postcode": "94607",
            "country": "us",
            "email": "ann@example.com",
            "phone": "+14155550100",
        },
        "shipping": {"first_name": "", "last_name": "", "address_1": "", "city": "", "country": ""},
        "line_items": [
            {
                "name": "Lamp",
                "product_id": 703,
                "variation_id": 7031,
                "quantity": 1,
                "sku": "",
                "price": 80.5,
                "total_tax": "8.05",
            }
        ],
        "shipping_lines": [{"method_id": "flat_rate", "total": "5.00"}],
        "tax_lines": [{"label": "CA", "rate_percent": 10, "tax_total": "8.05", "shipping_tax_total": "0.50"}],
    }
    return order | changes


def test_a_woocommerce_order_reads_its_gmt_stamps_as_utc_and_a_skuless_variation_by_its_id() -> None:
    parsed = connectors.for_kind("woocommerce").parse_order(woo())
    assert (parsed.external_id, parsed.currency, parsed.shipping_code) == ("42", "USD", "flat_rate")
    assert parsed.updated_at == datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
    assert parsed.placed_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    (line,) = parsed.lines
    assert (line.channel_sku, line.quantity, line.unit_price, line.tax) == (
        "variation:7031",
        1,
        Decimal("80.5"),
        Decimal("8.05"),
    )
    # no shipping address (a virtual order): the billing one ships, with its phone
    assert (parsed.ship_to.name, parsed.ship_to.line1, parsed.ship_to.country, parsed.ship_to.phone) == (
        "Ann Buyer",
        "9 Billing Rd",
        "US",
        "+14155550100",
    )
    (tax,) = parsed.taxes
    assert (tax.rate, tax.amount) == (Decimal("0.1"), Decimal("8.55"))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"date_modified_gmt": "yesterday"}, "date_modified_gmt"),
        ({"line_items": [{"product_id": 0, "quantity": 1}]}, "line_items.0.sku"),
        ({"line_items": [{"sku": "A", "quantity": 0}]}, "line_items.0.quantity"),
        (
            {"billing": {"first_name": "Ann\x00", "address_1": "x", "city": "y", "country": "US"}},
            "billing.first_name",
        ),
    ],
)
def test_a_bad_woocommerce_field_is_refused_by_its_path(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        connectors.for_kind("woocommerce").parse_order(woo(**changes))
    assert refused.value.errors[0].field == field


def test_only_a_paid_woocommerce_order_is_wanted() -> None:
    woocommerce = connectors.for_kind("woocommerce")
    assert [woocommerce.wanted(woo(status=s)) for s in ("pending", "on-hold", "processing", "cancelled")] == [
        False,
        False,
        True,
        False,
    ]


def amazon(**changes: Any) -> dict[str, Any]:
    def money(amount: str) -> dict[str, str]:
        return {"CurrencyCode": "USD", "Amount": amount}

    order = {
        "AmazonOrderId": "113-1234567-7654321",
        "PurchaseDate": "2026-12-01T08:00:00Z",
        "LastUpdateDate": "2026-12-01T08:30:00Z",
        "OrderStatus": "Unshipped",
        "FulfillmentChannel": "MFN",
        "ShipmentServiceLevelCategory": "Expedited",
        "OrderTotal": money("65.00"),
        "LatestShipDate": "2026-12-02T07:59:59Z",
        "BuyerInfo": {"BuyerEmail": "q1@marketplace.amazon.com"},
        "ShippingAddress": {
            "Name": "Ann Buyer",
            "AddressLine1": "1 Market St",
            "AddressLine2": "Apt 4",
            "AddressLine3": "Rear",
            "City": "San Francisco",
            "StateOrRegion": "CA",
            "PostalCode": "94105",
            "CountryCode": "US",
        },
        "OrderItems": [
            {
                "SellerSKU": "AZ-MUG",
                "OrderItemId": "1",
                "QuantityOrdered": 3,
                "ItemPrice": money("30.00"),
                "ItemTax": money("2.48"),
                "ShippingPrice": money("5.00"),
                "ShippingTax": money("0.41"),
                "TaxCollection": {
                    "Model": "MarketplaceFacilitator",
                    "ResponsibleParty": "Amazon Services, Inc.",
                },
            },
            {"SellerSKU": "AZ-TEE", "OrderItemId": "2", "QuantityOrdered": 0, "ItemPrice": money("0.00")},
        ],
    }
    return order | changes


def test_an_amazon_order_reads_unit_prices_from_item_totals_and_keeps_tax_collection_and_ship_by() -> None:
    parsed = connectors.for_kind("amazon").parse_order(amazon())
    (line,) = parsed.lines  # the cancelled tee is not shipped
    assert (line.channel_sku, line.quantity, line.unit_price, line.tax) == (
        "AZ-MUG",
        3,
        Decimal("10.0000"),
        Decimal("2.89"),
    )
    assert (parsed.subtotal, parsed.shipping, parsed.total_tax, parsed.total) == (
        Decimal("30.00"),
        Decimal("5.00"),
        Decimal("2.89"),
        Decimal("65.00"),
    )
    assert (parsed.tax_collected_by, parsed.ship_by) == (
        "marketplace",
        datetime(2026, 12, 2, 7, 59, 59, tzinfo=UTC),
    )
    assert (parsed.ship_to.line2, parsed.shipping_code, parsed.email) == (
        "Apt 4 Rear",
        "Expedited",
        "q1@marketplace.amazon.com",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ShippingAddress": {"City": "San Francisco", "CountryCode": "US"}}, "ShippingAddress.Name"),
        ({"OrderItems": [{"SellerSKU": "AZ-TEE", "QuantityOrdered": 0}]}, "OrderItems"),
        (
            {"OrderItems": [{"SellerSKU": "A", "QuantityOrdered": 1, "ItemPrice": {"Amount": 1.5}}]},
            "OrderItems.0.ItemPrice.Amount",
        ),
        ({"LastUpdateDate": "2026-12-01T08:30:00"}, "LastUpdateDate"),
    ],
)
def test_a_bad_amazon_field_is_refused_by_its_path(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        connectors.for_kind("amazon").parse_order(amazon(**changes))
    assert refused.value.errors[0].field == field


def test_pending_and_amazon_fulfilled_orders_are_not_wanted() -> None:
    connector = connectors.for_kind("amazon")
    assert connector.wanted(amazon())
    assert not connector.wanted(amazon(OrderStatus="Pending"))
    assert not connector.wanted(amazon(FulfillmentChannel="AFN"))


def test_exact_json_writes_a_decimal_as_its_own_literal_and_refuses_a_float() -> None:
    # given: amounts a float would change (a trailing zero, more digits than a double holds)
    body = {
        "value_with_tax": Decimal("21.50"),
        "big": Decimal("98765432109876.54"),
        "n": [1, "a", None, True],
    }
    # when / then
    assert exact_json(body) == b'{"value_with_tax":21.50,"big":98765432109876.54,"n":[1,"a",null,true]}'
    with pytest.raises(TypeError):
        exact_json({"price": 19.99})
    with pytest.raises(ValueError):
        exact_json({"price": Decimal("NaN")})
