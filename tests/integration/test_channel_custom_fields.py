"""A channel order's attributes fill our order custom fields by the connector's `custom_fields` map, on SQLite and
PostgreSQL: Shopify's `note_attributes` and WooCommerce's `meta_data` (not its hidden `_` keys) through their
signed webhooks, checked by the custom fields' own rules; a value a field refuses is not kept — the order is
imported without it and its channel order says why — and a map naming a field that does not exist is refused when
the connector is made, changing nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ordersmith.channels import service as channels
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.platform import custom_fields, sales_channels
from ordersmith.platform.db import UnitOfWork
from tests.integration.test_channel_changes import EXTERNAL, _drain, _order, _relay, _shopify, _woo
from tests.integration.test_channel_changes import clock as clock  # fixtures
from tests.integration.test_channel_changes import shop as shop
from tests.integration.test_channel_changes import shopify as shopify
from tests.integration.test_channel_changes import woo as woo
from tests.integration.test_channels_shopify import ORDER
from tests.integration.test_channels_woocommerce import START, woo_order


def _fields(shop: UnitOfWork) -> None:
    custom_fields.create_definition(shop, kind="order", name="gift_note", label="Gift note", type="text",
                                    max_length=20)  # fmt: skip
    custom_fields.create_definition(shop, kind="order", name="po_number", label="PO number", type="text")
    custom_fields.create_definition(shop, kind="order", name="rush", label="Rush", type="boolean")
    custom_fields.create_definition(shop, kind="order", name="wrap", label="Wrap", type="choice",
                                    choices=["paper", "box"])  # fmt: skip


def _connect(shop: UnitOfWork, mapped: dict[str, str]) -> None:
    channels.create_connector(shop, code="market", kind="generic", sales_channel="market-1", name="Market",
                              config={"shipping_method": "ground", "custom_fields": mapped},
                              credentials={})  # fmt: skip


def _settle(shop: UnitOfWork) -> None:
    for _ in range(2):
        _relay(shop)
        _drain(shop.db)


def test_shopify_note_attributes_fill_the_mapped_fields_and_a_value_a_field_refuses_is_not_kept(
    shop: UnitOfWork, shopify: Any
) -> None:
    # given order fields, and the Shopify connector mapping four of the order's note attributes to them
    _fields(shop)
    mapped = {"Gift message": "gift_note", "PO": "po_number", "Rush": "rush", "Wrapping": "wrap"}
    with shop:
        from ordersmith.channels.tables import ConnectorRow

        row = shop.session.query(ConnectorRow).filter_by(code="shop").one()
        row.config = dict(row.config) | {"custom_fields": mapped}
    # when Shopify sends an order whose attributes carry a gift note too long for its field
    order = copy.deepcopy(ORDER)
    order["note_attributes"] = [
        {"name": "Gift message", "value": "Happy birthday, dear Ann, from all of us"},
        {"name": "PO", "value": "PO-7731"},
        {"name": "Rush", "value": "yes"},
        {"name": "Wrapping", "value": "box"},
        {"name": "Unmapped", "value": "ignored"},
    ]
    _shopify(shop, "orders/create", order)
    _settle(shop)
    # then the order is imported with the three values its fields take, typed as the fields say
    placed = _order(shop, EXTERNAL)
    assert orders.order_values(shop, order_id=placed.id) == {
        "po_number": "PO-7731",
        "rush": True,
        "wrap": "box",
    }
    # and its channel order says which attribute was not kept, and why
    inbox = channels.get_channel_order(shop, connector="shop", external_id=EXTERNAL)
    assert inbox.status == "imported"
    assert (
        inbox.last_error
        == "attribute 'Gift message' not kept in custom field 'gift_note': at most 20 characters"
    )


def test_woocommerce_meta_data_fills_the_mapped_fields_but_never_from_its_hidden_keys(
    shop: UnitOfWork, woo: Any
) -> None:
    _fields(shop)
    with shop:
        from ordersmith.channels.tables import ConnectorRow

        row = shop.session.query(ConnectorRow).filter_by(code="woo").one()
        row.config = dict(row.config) | {"custom_fields": {"_po": "po_number", "gift_note": "gift_note"}}
    order = woo_order(701, modified=START)
    order["meta_data"] = [
        {"id": 1, "key": "_po", "value": "hidden"},
        {"id": 2, "key": "gift_note", "value": "For Ann"},
        {"id": 3, "key": "_wc_order_attribution", "value": {"source": "direct"}},
    ]
    _woo(shop, order)
    _settle(shop)
    placed = _order(shop, "701")
    assert orders.order_values(shop, order_id=placed.id) == {"gift_note": "For Ann"}
    assert channels.get_channel_order(shop, connector="woo", external_id="701").last_error is None


def test_a_map_naming_a_field_that_does_not_exist_or_a_bad_name_is_refused_and_nothing_is_made(
    shop: UnitOfWork,
) -> None:
    _fields(shop)
    sales_channels.create_sales_channel(shop, code="market-1", name="Market", kind="marketplace", division="web",
                                        currency="USD")  # fmt: skip
    for mapped, field in (
        ({"PO": "purchase_order"}, "config.custom_fields.PO"),
        ({"PO": "Bad Name"}, "config.custom_fields.PO"),
        ({"": "po_number"}, "config.custom_fields"),
        ({f"a{n}": "po_number" for n in range(51)}, "config.custom_fields"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            _connect(shop, mapped)
        assert [e.field for e in refused.value.errors] == [field]
    assert "market" not in [c.code for c in channels.list_connectors(shop).items]
    _connect(shop, {"PO": "po_number"})
    assert channels.get_connector(shop, code="market").config["custom_fields"] == {"PO": "po_number"}
