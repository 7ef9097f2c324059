"""Cancellations and refunds as each channel documents them, read into `rules.ChannelChange` (pure), and what a
reported change does from where the order stands (`rules.change_outcome`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordersmith.channels import rules
from ordersmith.channels.connectors.amazon import AmazonConnector
from ordersmith.channels.connectors.ebay import EbayConnector
from ordersmith.channels.connectors.shopify import ShopifyConnector
from ordersmith.channels.connectors.woocommerce import WooCommerceConnector
from ordersmith.kernel.errors import ValidationFailed

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_an_ebay_order_with_its_cancel_state_and_refunds_reports_each_once() -> None:
    # given: getOrders' order, cancelled, with a completed refund, a pending one and a failed one
    order = {
        "orderId": "12-34567-89012",
        "lastModifiedDate": "2026-12-01T12:00:00.000Z",
        "cancelStatus": {"cancelState": "CANCELED", "cancelledDate": "2026-12-01T11:00:00.000Z"},
        "paymentSummary": {
            "refunds": [
                {"refundId": "R1", "refundStatus": "REFUNDED", "amount": {"value": "12.30", "currency": "USD"},
                 "refundDate": "2026-12-01T11:30:00.000Z"},
                {"refundId": "R2", "refundStatus": "PENDING", "amount": {"value": "1.00", "currency": "USD"}},
                {"refundReferenceId": "X9", "refundStatus": "REFUNDED", "amount": {"value": "2.00", "currency": "usd"}},
            ]
        },
    }  # fmt: skip
    # when
    found = EbayConnector().changes(None, order)
    # then
    assert found == [
        rules.ChannelChange("12-34567-89012", "cancel", "cancel", datetime(2026, 12, 1, 11, tzinfo=UTC),
                            "cancelled on eBay"),
        rules.ChannelChange("12-34567-89012", "refund", "R1", datetime(2026, 12, 1, 11, 30, tzinfo=UTC),
                            "refunded on eBay", Decimal("12.30"), "USD"),
        rules.ChannelChange("12-34567-89012", "refund", "X9", AT, "refunded on eBay", Decimal("2.00"), "USD"),
    ]  # fmt: skip


def test_an_open_order_reports_nothing_on_any_channel() -> None:
    assert (
        EbayConnector().changes(None, {"orderId": "1", "cancelStatus": {"cancelState": "NONE_REQUESTED"}})
        == []
    )
    assert AmazonConnector().changes(None, {"AmazonOrderId": "1", "OrderStatus": "Unshipped"}) == []
    assert WooCommerceConnector().changes(None, {"id": 1, "status": "processing"}) == []
    assert (
        ShopifyConnector().changes({"x-shopify-topic": "orders/updated"}, {"id": 1, "cancelled_at": None})
        == []
    )


def test_a_shopify_refund_counts_its_successful_refund_transactions_only() -> None:
    refund = {
        "id": 77,
        "order_id": 5,
        "created_at": "2026-12-01T07:00:00-05:00",
        "transactions": [
            {"kind": "refund", "status": "success", "amount": "4.00", "currency": "USD"},
            {"kind": "refund", "status": "success", "amount": "1.50", "currency": "USD"},
            {"kind": "refund", "status": "failure", "amount": "9.00", "currency": "USD"},
            {"kind": "sale", "status": "success", "amount": "9.00", "currency": "USD"},
        ],
    }
    (found,) = ShopifyConnector().changes({"x-shopify-topic": "refunds/create"}, refund)
    assert (found.external_id, found.kind, found.key, found.amount, found.currency, found.at) == (
        "5",
        "refund",
        "77",
        Decimal("5.50"),
        "USD",
        AT,
    )


def test_an_unreadable_refund_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationFailed, match=r"transactions\.0\.amount"):
        ShopifyConnector().changes(
            {"x-shopify-topic": "refunds/create"},
            {"id": 1, "order_id": 2, "created_at": "2026-12-01T07:00:00Z",
             "transactions": [{"kind": "refund", "status": "success", "amount": 4.5, "currency": "USD"}]},
        )  # fmt: skip
    with pytest.raises(ValidationFailed, match=r"refunds\.0\.id"):
        WooCommerceConnector().changes(
            None,
            {"id": 1, "status": "refunded", "currency": "USD", "date_modified_gmt": "2026-12-01T12:00:00",
             "refunds": [{"total": "-1.00"}]},
        )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "order_status", "inbox_status", "outcome"),
    [
        ("cancel", None, None, "wait"),
        ("cancel", None, "received", "drop_import"),
        ("cancel", None, "held", "drop_import"),
        ("cancel", None, "dead", "drop_import"),
        ("cancel", None, "cancelled", "done"),
        ("refund", None, "received", "wait"),
        ("refund", None, "cancelled", "done"),
        ("cancel", "released", "imported", "cancel"),
        ("cancel", "on_hold", "imported", "cancel"),
        ("cancel", "shipped", "imported", "flag"),
        ("cancel", "partially_shipped", "imported", "flag"),
        ("cancel", "completed", "imported", "flag"),
        ("cancel", "cancelled", "imported", "done"),
        ("refund", "shipped", "imported", "refund"),
        ("refund", "cancelled", "imported", "done"),
    ],
)
def test_what_a_reported_change_does_follows_where_the_order_stands(
    kind: str, order_status: str | None, inbox_status: str | None, outcome: str
) -> None:
    assert rules.change_outcome(kind=kind, order_status=order_status, inbox_status=inbox_status) == outcome


OLD = rules.ChannelAddress(name="Ann Buyer", line1="1 Market St", city="San Francisco", country="US")
NEW = rules.ChannelAddress(name="Ann Buyer", line1="77 Harbor Way", city="Sausalito", country="us")


def test_an_address_change_key_is_the_same_for_the_same_version_and_differs_for_a_return_to_an_old_address() -> (
    None
):
    # given the same address in two versions, and another address
    later = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    # then: same version -> same key; the same address at another time -> another key (A -> B -> A is two edits)
    assert rules.address_change_key(NEW, AT) == rules.address_change_key(NEW, AT)
    assert rules.address_change_key(NEW, AT) != rules.address_change_key(NEW, later)
    assert rules.address_change_key(NEW, AT).split("@")[0] != rules.address_change_key(OLD, AT).split("@")[0]
    assert (
        rules.address_change_key(NEW, AT)
        == f"{rules.address_fingerprint(rules.ship_to_fields(NEW))}@20261201T120000.000000Z"
    )
    # and case and outer blanks do not make a new address
    assert rules.address_fingerprint({"line1": " 77 harbor way ", "city": "SAUSALITO", "country": "US"}) == (
        rules.address_fingerprint({"line1": "77 Harbor Way", "city": "Sausalito", "country": "us"})
    )


@pytest.mark.parametrize(
    ("order_status", "inbox_status", "current", "packed", "latest", "outcome"),
    [
        (None, "received", None, False, NEW, "wait"),
        (None, None, None, False, None, "wait"),
        (None, "cancelled", None, False, NEW, "done"),
        ("cancelled", "imported", OLD, False, NEW, "done"),
        ("released", "imported", NEW, False, NEW, "done"),  # the import took it already
        ("shipped", "imported", NEW, True, NEW, "done"),
        (
            "released",
            "imported",
            OLD,
            False,
            OLD,
            "superseded",
        ),  # a later version went back: its change applies
        ("released", "imported", OLD, False, NEW, "edit"),
        ("on_hold", "imported", OLD, False, NEW, "edit"),
        ("released", "imported", OLD, True, NEW, "flag"),  # a packed shipment carries the old address
        ("partially_shipped", "imported", OLD, False, NEW, "flag"),
        ("shipped", "imported", OLD, False, NEW, "flag"),
    ],
)
def test_what_an_address_change_does_follows_the_order_its_shipments_and_the_latest_version(
    order_status: str | None,
    inbox_status: str | None,
    current: rules.ChannelAddress | None,
    packed: bool,
    latest: rules.ChannelAddress | None,
    outcome: str,
) -> None:
    key = rules.address_change_key(NEW, AT)
    assert (
        rules.address_outcome(
            key=key,
            latest=rules.ship_to_fields(latest) if latest else None,
            current=rules.ship_to_fields(current) if current else None,
            order_status=order_status,
            inbox_status=inbox_status,
            packed=packed,
        )
        == outcome
    )


def test_a_later_version_s_reductions_are_the_skus_with_fewer_units_and_removed_lines_go_to_zero() -> None:
    before = [
        rules.ChannelLine("A", 3),
        rules.ChannelLine("B", 2),
        rules.ChannelLine("A", 1),
        rules.ChannelLine("C", 1),
    ]
    after = [rules.ChannelLine("A", 2), rules.ChannelLine("B", 5), rules.ChannelLine("D", 1)]
    # A: 4 -> 2; B raised (not a reduction); C removed; D new (not a reduction)
    assert rules.reductions(before, after) == {"A": 2, "C": 0}
    assert rules.reductions(after, after) == {}


def test_a_quantity_change_key_names_the_sku_the_units_and_the_version_and_a_long_sku_by_fingerprint() -> (
    None
):
    key = rules.quantity_change_key("WC-TEE", 1, AT)
    assert key == "WC-TEE@1@20261201T120000.000000Z"
    assert rules.parse_quantity_key(key) == ("WC-TEE", 1)
    long = "X" * 100
    token, units = rules.parse_quantity_key(rules.quantity_change_key(long, 0, AT))
    assert (token, units) == (rules.sku_token(long), 0)
    assert len(rules.quantity_change_key(long, 999999, AT)) <= 100
    assert rules.sku_token("A@B").startswith("#")


@pytest.mark.parametrize(
    ("superseded", "target", "ordered", "open_units", "order_status", "inbox_status", "outcome"),
    [
        (False, 1, 3, 3, None, "received", "wait"),
        (False, 1, 3, 3, None, "cancelled", "done"),
        (False, 1, 3, 3, "cancelled", "imported", "done"),
        (True, 1, 3, 3, "released", "imported", "superseded"),
        (False, 1, 1, 1, "released", "imported", "done"),  # the import or an earlier change took it
        (False, 1, 3, 3, "released", "imported", "cut"),
        (False, 0, 3, 3, "on_hold", "imported", "cut"),
        (False, 1, 3, 1, "partially_shipped", "imported", "flag"),  # two would have to come off shipped units
        (False, 1, 3, 2, "partially_shipped", "imported", "cut"),
        (False, 1, 3, 0, "shipped", "imported", "flag"),
    ],
)
def test_what_a_quantity_reduction_does_follows_the_order_and_the_latest_version(
    superseded: bool,
    target: int,
    ordered: int,
    open_units: int,
    order_status: str | None,
    inbox_status: str,
    outcome: str,
) -> None:
    assert (
        rules.quantity_outcome(
            superseded=superseded,
            target=target,
            ordered=ordered,
            open_units=open_units,
            order_status=order_status,
            inbox_status=inbox_status,
        )
        == outcome
    )


def test_cuts_come_off_the_last_lines_first_and_only_off_open_units() -> None:
    assert rules.plan_cuts([(1, 2), (3, 1), (2, 0)], 2) == {3: 1, 1: 1}
    assert rules.plan_cuts([(1, 2)], 2) == {1: 2}
    with pytest.raises(AssertionError):
        rules.plan_cuts([(1, 1)], 2)
