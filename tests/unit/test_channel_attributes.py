"""A channel order's free-form attributes, pure: read from each platform's own place for them (Shopify's
`note_attributes`, WooCommerce's `meta_data` without its hidden `_` keys, the generic shape's `attributes`, the
CSV feed's `attr.<name>` columns, Amazon's and eBay's own top-level fields), never refusing an order for a malformed
one; and mapped to our custom fields by the connector's map."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ordersmith.channels import rules
from ordersmith.channels.connectors import csv_feed, fields
from ordersmith.channels.connectors.amazon import AmazonConnector
from ordersmith.channels.connectors.ebay import EbayConnector
from tests.integration.test_channels_amazon import START, amazon_items, amazon_order
from tests.integration.test_channels_ebay import ebay_order
from tests.unit.test_channel_csv_feed import HEADER, _file


def test_list_attributes_keep_scalars_as_text_and_leave_out_what_is_malformed_or_hidden() -> None:
    raw = [
        {"name": "Gift", "value": "Yes"},
        {"name": "Count", "value": 3},
        {"name": "Rush", "value": True},
        {"name": "_hidden", "value": "x"},
        {"name": "Nested", "value": {"a": 1}},
        {"name": "", "value": "no name"},
        {"name": "x" * 101, "value": "too long a name"},
        "not an object",
        {"name": "Gift", "value": "second"},
    ]
    assert fields.attributes(raw, name_key="name", value_key="value", private_prefix="_") == {
        "Gift": "Yes",
        "Count": "3",
        "Rush": "true",
    }
    assert fields.attributes("not a list", name_key="name", value_key="value") == {}
    assert fields.object_attributes(
        {"attributes": {"po": "PO-1", "n": Decimal("2.5"), "l": [1]}}, "attributes"
    ) == {
        "po": "PO-1",
        "n": "2.5",
    }


def test_amazon_and_ebay_orders_offer_their_own_top_level_fields() -> None:
    amazon = amazon_order("111-0000000-0000001", updated=START) | {
        "PurchaseOrderNumber": "PO-9",
        "IsBusinessOrder": True,
    }
    parsed = AmazonConnector().parse_order(amazon | {"OrderItems": amazon_items("111-0000000-0000001")})
    assert (parsed.attributes["PurchaseOrderNumber"], parsed.attributes["IsBusinessOrder"]) == (
        "PO-9",
        "true",
    )
    assert parsed.attributes["SalesChannel"] == "Amazon.com" and "ShippingAddress" not in parsed.attributes
    ebay = ebay_order("26-01000-00001", updated=START + timedelta(minutes=1)) | {
        "buyerCheckoutNotes": "Leave at door"
    }
    assert EbayConnector().parse_order(ebay).attributes["buyerCheckoutNotes"] == "Leave at door"


def test_csv_feed_attribute_columns_are_read_from_the_orders_first_row() -> None:
    data = _file(
        "A,2026-12-01T10:00:00Z,USD,Ann,1 Main,SF,US,S1,2,10.00,0.80,PO-77,",
        "A,,,,,,,S3,1,5.50,0.44,,",
        header=HEADER + ",attr.po,attr.gift",
    )
    (payload,) = csv_feed.read_orders("in.csv", data)
    assert csv_feed.parse_order(payload).attributes == {"po": "PO-77"}
    (refused,) = csv_feed.read_orders("in.csv", _file(header=HEADER + ",attr."))
    assert "unknown column" in refused["problem"]


def test_the_connector_map_fills_each_field_once_from_the_first_attribute_it_names_that_has_a_value() -> None:
    attributes = {"PO": "PO-1", "Purchase order": "PO-2", "Note": " ", "Rush": "yes"}
    mapped = {
        "Note": "gift_note",
        "PO": "po_number",
        "Purchase order": "po_number",
        "Rush": "rush",
        "Gone": "x",
    }
    assert rules.custom_values(attributes, mapped) == {"po_number": ("PO", "PO-1"), "rush": ("Rush", "yes")}
