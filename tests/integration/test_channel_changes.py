"""Cancellations and refunds a channel reports after an order was imported, on SQLite and PostgreSQL, through the
Shopify and WooCommerce connectors' signed webhooks (loopback stubs of their APIs for what goes out): an open order
is cancelled once (payments gives the marketplace's money back), a refund is given back once per refund id, in
whatever order and however often they arrive; a cancellation that comes before the order keeps it from being
imported; a shipped order is never cancelled — the change is flagged with the reason, dead-lettered, and applied
again when replayed."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from ordersmith.channels import service as channels
from ordersmith.channels.connectors.shopify import webhook_signature
from ordersmith.channels.connectors.woocommerce import webhook_signature as woo_signature
from ordersmith.channels.service import changes, inbound
from ordersmith.fulfillment import service as fulfillment
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderRow
from ordersmith.payments import service as payments
from ordersmith.platform import jobs, outbox, sales_channels
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow
from tests.builders import make_order_shop
from tests.integration.test_channels_shopify import ORDER, SECRET, START, TOKEN, VERSION, ShopifyStub
from tests.integration.test_channels_shopify import shopify as shopify  # the module-scoped stub fixture
from tests.integration.test_channels_woocommerce import HOOK_SECRET, KEY, WooStub, woo_order
from tests.integration.test_channels_woocommerce import SECRET as WOO_SECRET
from tests.integration.test_channels_woocommerce import woo as woo  # the module-scoped stub fixture

EXTERNAL = str(ORDER["id"])


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def _drain(db: Database) -> int:
    total = 0
    while (ran := jobs.run_due_jobs(db, worker="test")) > 0:
        total += ran
    return total


def _relay(uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(uow):
        pass


@pytest.fixture
def shop(
    db: Database, settings: Settings, clock: FixedClock, shopify: ShopifyStub, woo: WooStub
) -> Iterator[UnitOfWork]:
    shopify.reset()
    woo.reset()
    db.set_clock(clock)
    wired = payments.setup_payments(db, settings)
    payments.register()  # a cancelled order's money goes back
    channels.register()
    channels.setup_channels(db, settings)
    uow = db.unit_of_work(Actor.system("test"))
    make_order_shop(uow)
    # Marketplaces: the channel collected the money, recorded as a captured `marketplace` payment
    for code in ("sh-market", "woo-market"):
        sales_channels.create_sales_channel(
            uow, code=code, name=code, kind="marketplace", division="web", currency="USD"
        )
    channels.create_connector(
        uow,
        code="shop",
        kind="shopify",
        sales_channel="sh-market",
        name="Acme on Shopify",
        config={"shipping_method": "ground", "shop_url": shopify.api.url(), "api_version": VERSION},
        credentials={"access_token": TOKEN, "webhook_secret": SECRET},
    )
    channels.create_connector(
        uow,
        code="woo",
        kind="woocommerce",
        sales_channel="woo-market",
        name="Acme on WooCommerce",
        config={"shipping_method": "ground", "store_url": woo.api.url()},
        credentials={"consumer_key": KEY, "consumer_secret": WOO_SECRET, "webhook_secret": HOOK_SECRET},
    )
    channels.map_sku(uow, connector="shop", channel_sku="SH-TEE", sku="TEE")
    channels.map_sku(uow, connector="woo", channel_sku="WC-TEE", sku="TEE")
    _relay(uow)
    _drain(db)
    yield uow
    wired.vault.dispose()


def _shopify(shop: UnitOfWork, topic: str, payload: dict[str, Any]) -> channels.WebhookOutcome:
    body = json.dumps(payload).encode()
    headers = {"x-shopify-hmac-sha256": webhook_signature(SECRET, body), "x-shopify-topic": topic}
    return channels.receive_webhook(shop, connector="shop", headers=headers, body=body)


def _woo(shop: UnitOfWork, payload: dict[str, Any]) -> channels.WebhookOutcome:
    body = json.dumps(payload).encode()
    headers = {
        "x-wc-webhook-signature": woo_signature(HOOK_SECRET, body),
        "x-wc-webhook-topic": "order.updated",
        "x-wc-webhook-resource": "order",
        "x-wc-webhook-event": "updated",
    }
    return channels.receive_webhook(shop, connector="woo", headers=headers, body=body)


def _cancelled(order: dict[str, Any], at: str = "2026-12-01T07:00:00-05:00") -> dict[str, Any]:
    found = copy.deepcopy(order)
    found.update(cancelled_at=at, cancel_reason="customer", updated_at=at)
    return found


def _refund(refund_id: int, amount: str, *, status: str = "success") -> dict[str, Any]:
    """A Refund as Shopify's `refunds/create` webhook sends it."""
    return {
        "id": refund_id,
        "order_id": ORDER["id"],
        "created_at": "2026-12-01T08:00:00-05:00",
        "note": "damaged in transit",
        "restock": False,
        "refund_line_items": [],
        "transactions": [
            {"id": refund_id * 10, "kind": "refund", "status": status, "amount": amount, "currency": "USD"},
            {
                "id": refund_id * 10 + 1,
                "kind": "refund",
                "status": "failure",
                "amount": "99.00",
                "currency": "USD",
            },
        ],
    }


def _order(uow: UnitOfWork, external_id: str) -> orders.Order:
    with uow:
        found = uow.session.scalars(sa.select(OrderRow).where(OrderRow.external_id == external_id)).all()
    (row,) = found
    return orders.get_order(uow, ref=str(row.id))


def _refunded(uow: UnitOfWork, order: orders.Order) -> Money:
    (tender,) = payments.order_payments(uow, order_id=order.id)
    assert tender.method == "marketplace"
    return tender.refunded


def _events(uow: UnitOfWork, kind: str) -> int:
    with uow:
        return int(
            uow.session.scalar(
                sa.select(sa.func.count()).select_from(OutboxRow).where(OutboxRow.type == kind)
            )
            or 0
        )


def test_a_shopify_cancellation_cancels_the_open_order_once_and_a_later_refund_is_covered_by_it(
    shop: UnitOfWork,
) -> None:
    # given an imported order
    _shopify(shop, "orders/create", ORDER)
    _drain(shop.db)
    order = _order(shop, EXTERNAL)
    assert order.status == "released"
    # when Shopify cancels it: orders/cancelled twice, and an orders/updated that shows the cancellation too
    answers = [_shopify(shop, "orders/cancelled", _cancelled(ORDER)) for _ in range(2)]
    answers.append(_shopify(shop, "orders/updated", _cancelled(ORDER)))
    _relay(shop)
    _drain(shop.db)
    _relay(shop)
    _drain(shop.db)
    # then: cancelled once; the marketplace's money given back by payments with the cancellation
    assert [a.changes for a in answers] == [1, 0, 0]
    order = _order(shop, EXTERNAL)
    assert order.status == "cancelled"
    assert _refunded(shop, order) == order_total(shop, order)
    (change,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    assert (change.kind, change.status, change.deliveries) == ("cancel", "applied", 3)
    assert change.detail == f"order {order.number} cancelled"
    assert _events(shop, "channel.order_cancelled") == 1
    # when the refund Shopify made with the cancellation arrives
    _shopify(shop, "refunds/create", _refund(901, "48.30"))
    _drain(shop.db)
    # then: nothing more is refunded
    assert _refunded(shop, _order(shop, EXTERNAL)) == order_total(shop, order)
    refund = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)[1]
    assert (refund.kind, refund.key, refund.status, refund.detail) == (
        "refund",
        "901",
        "applied",
        "refunded by the cancellation",
    )


def order_total(uow: UnitOfWork, order: orders.Order) -> Money:
    (tender,) = payments.order_payments(uow, order_id=order.id)
    return tender.captured


def test_shopify_refunds_are_given_back_once_per_refund_id_and_one_beyond_what_is_left_is_flagged(
    shop: UnitOfWork,
) -> None:
    # given an imported order whose marketplace payment is captured
    _shopify(shop, "orders/create", ORDER)
    _drain(shop.db)
    order = _order(shop, EXTERNAL)
    captured = order_total(shop, order)
    # when refund 901 (10.00) arrives three times and refund 902 (5.50) once
    for refund in (_refund(901, "10.00"), _refund(901, "10.00"), _refund(902, "5.50"), _refund(901, "10.00")):
        _shopify(shop, "refunds/create", refund)
    _drain(shop.db)
    # then: 15.50 given back, in two refunds; the order stays open
    assert _refunded(shop, order) == Money(Decimal("15.50"), "USD")
    changes = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    assert [(c.key, c.status, c.deliveries, c.detail) for c in changes] == [
        ("901", "applied", 3, "refunded 10.00 USD"),
        ("902", "applied", 1, "refunded 5.50 USD"),
    ]
    assert _order(shop, EXTERNAL).status == "released"
    # when a refund for more than is left arrives
    _shopify(shop, "refunds/create", _refund(903, str(captured.amount)))
    _drain(shop.db)
    # then: nothing refunded, the change flagged and dead-lettered with the reason
    assert _refunded(shop, order) == Money(Decimal("15.50"), "USD")
    flagged = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)[2]
    assert flagged.status == "flagged"
    assert (flagged.detail or "").startswith("not refunded:")
    (letter,) = channels.list_dead_letters(shop, connector="shop").items
    assert (letter.operation, letter.reference) == ("apply_change", EXTERNAL)
    # and a refund whose transactions all failed moves no money
    _shopify(shop, "refunds/create", _refund(904, "3.00", status="failure"))
    _drain(shop.db)
    assert channels.list_changes(shop, connector="shop", external_id=EXTERNAL)[3].detail == (
        "no money moved on the channel"
    )
    assert _refunded(shop, order) == Money(Decimal("15.50"), "USD")


def test_a_cancellation_that_arrives_before_its_order_keeps_the_order_from_being_imported(
    shop: UnitOfWork,
) -> None:
    # given: the cancellation comes first (out of order), then orders/create
    _shopify(shop, "orders/cancelled", _cancelled(ORDER))
    _drain(shop.db)
    (waiting,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    assert waiting.status == "waiting"
    # when
    received = _shopify(shop, "orders/create", ORDER).received
    _drain(shop.db)
    # then: kept as cancelled, never placed
    assert received is not None and received.status == "cancelled"
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(OrderRow)) == 0
    kept = channels.get_channel_order(shop, connector="shop", external_id=EXTERNAL)
    assert kept.status == "cancelled"
    (change,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    assert change.status == "applied"


def test_a_cancellation_of_an_order_received_but_not_yet_imported_stops_its_import(shop: UnitOfWork) -> None:
    # given an order received, its import not run yet
    _shopify(shop, "orders/create", ORDER)
    # when the cancellation arrives and is applied before the import job runs
    _shopify(shop, "orders/cancelled", _cancelled(ORDER))
    (change,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    assert channels.apply_change(shop, change_id=change.id) == "applied"
    _drain(shop.db)
    # then: the import job finds nothing to do
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(OrderRow)) == 0
    assert channels.get_channel_order(shop, connector="shop", external_id=EXTERNAL).status == "cancelled"


def test_a_shipped_order_is_not_cancelled_but_flagged_with_the_reason_and_applied_again_on_replay(
    shop: UnitOfWork,
) -> None:
    # given an imported order that has shipped
    _shopify(shop, "orders/create", ORDER)
    _drain(shop.db)
    order = _order(shop, EXTERNAL)
    orders.record_shipment(shop, ref=order.number, tracking="1Z999")
    # when Shopify cancels it
    _shopify(shop, "orders/cancelled", _cancelled(ORDER))
    _drain(shop.db)
    # then: still shipped, nothing refunded, the change flagged and dead-lettered
    order = _order(shop, EXTERNAL)
    assert order.status == "shipped"
    assert _refunded(shop, order) == Money(Decimal("0"), "USD")
    (change,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    assert (change.status, change.detail) == (
        "flagged",
        "the order has shipped: not cancelled; stop the parcel or take it back as a return",
    )
    (letter,) = channels.list_dead_letters(shop, connector="shop").items
    assert (letter.operation, letter.reference, letter.error) == ("apply_change", EXTERNAL, change.detail)
    assert channels.connector_health(shop, code="shop").dead_letters_open == 1
    # when the letter is replayed (the order still shipped): flagged again, nothing cancelled
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    assert _order(shop, EXTERNAL).status == "shipped"
    assert channels.list_changes(shop, connector="shop", external_id=EXTERNAL)[0].status == "flagged"


def test_a_woocommerce_order_updated_to_cancelled_or_with_refunds_is_applied_once(shop: UnitOfWork) -> None:
    # given two imported WooCommerce orders
    for number in (701, 702):
        _woo(shop, woo_order(number, modified=START - timedelta(minutes=30)))
    _drain(shop.db)
    # when 701 is cancelled (delivered twice) and 702 refunded in part, then in full (its refunds listed)
    cancelled = woo_order(701, modified=START - timedelta(minutes=10), status="cancelled")
    partly = woo_order(702, modified=START - timedelta(minutes=10))
    partly["refunds"] = [{"id": 7021, "reason": "late", "total": "-4.00"}]
    fully = woo_order(702, modified=START - timedelta(minutes=5), status="refunded")
    fully["refunds"] = [{"id": 7022, "reason": "", "total": "-45.00"}, *partly["refunds"]]
    for payload in (cancelled, partly, cancelled, fully, partly):
        _woo(shop, payload)
    _relay(shop)
    _drain(shop.db)
    # then
    assert _order(shop, "701").status == "cancelled"
    second = _order(shop, "702")
    assert second.status == "released"
    assert _refunded(shop, second) == Money(Decimal("49.00"), "USD")
    assert [
        (c.key, c.status, c.deliveries)
        for c in channels.list_changes(shop, connector="woo", external_id="702")
    ] == [("7021", "applied", 3), ("7022", "applied", 1)]


def test_a_cancellation_applied_while_checkout_places_the_order_cancels_the_order_once_placed(
    shop: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an order received and its cancellation, the import about to place it
    _shopify(shop, "orders/create", ORDER)
    _shopify(shop, "orders/cancelled", _cancelled(ORDER))
    (change,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    received = channels.get_channel_order(shop, connector="shop", external_id=EXTERNAL)
    place = inbound.checkout.place_order
    dropped: list[str] = []

    def cancellation_lands_first(uow: UnitOfWork, **kwargs: Any) -> Any:
        # the cancellation job runs (in its own unit of work) after the import planned, before it places
        dropped.append(
            channels.apply_change(shop.db.unit_of_work(Actor.system("other")), change_id=change.id)
        )
        return place(uow, **kwargs)

    monkeypatch.setattr(inbound.checkout, "place_order", cancellation_lands_first)
    # when the import places the order
    status = channels.import_channel_order(shop, channel_order_id=received.id)
    monkeypatch.undo()
    _relay(shop)
    _drain(shop.db)
    # then: the import was dropped, the order placed anyway, and the cancellation applied to it
    assert (dropped, status) == (["applied"], "imported")
    order = _order(shop, EXTERNAL)
    assert order.status == "cancelled"
    (change,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    assert (change.status, change.detail) == ("applied", f"order {order.number} cancelled")
    assert channels.get_channel_order(shop, connector="shop", external_id=EXTERNAL).status == "imported"


# --- ship-to edits --------------------------------------------------------------------------------------------

NEW_ADDRESS = {
    "first_name": "Ann",
    "last_name": "Buyer",
    "address1": "77 Harbor Way",
    "address2": "",
    "city": "Sausalito",
    "province_code": "CA",
    "zip": "94965",
    "country_code": "US",
    "phone": "+14155550100",
}


def _moved(order: dict[str, Any], at: str, address: dict[str, Any] | None = None) -> dict[str, Any]:
    """The order as Shopify's `orders/updated` sends it after the buyer's address was changed at `at`."""
    found = copy.deepcopy(order)
    found.update(updated_at=at, shipping_address=copy.deepcopy(address or NEW_ADDRESS))
    return found


def _ships_to(order: orders.Order) -> tuple[str, str, str, str]:
    (ship_to,) = order.ship_tos
    return (ship_to.line1, ship_to.line2, ship_to.city, ship_to.postal_code)


def test_a_shopify_ship_to_edit_is_applied_once_however_often_it_is_delivered(shop: UnitOfWork) -> None:
    # given an imported, released order
    _shopify(shop, "orders/create", ORDER)
    _drain(shop.db)
    before = _order(shop, EXTERNAL)
    assert _ships_to(before) == ("1 Market St", "Apt 4", "San Francisco", "94105")
    # when Shopify sends the edit three times, then a later update that leaves the address as it is (a tag)
    edited = _moved(ORDER, "2026-12-01T07:00:00-05:00")
    for _ in range(3):
        _shopify(shop, "orders/updated", edited)
    tagged = copy.deepcopy(edited)
    tagged.update(updated_at="2026-12-01T07:30:00-05:00", tags="vip")
    _shopify(shop, "orders/updated", tagged)
    _relay(shop)
    _drain(shop.db)
    _relay(shop)
    # then: one change, applied once through the order's address correction
    after = _order(shop, EXTERNAL)
    assert _ships_to(after) == ("77 Harbor Way", "", "Sausalito", "94965")
    assert (after.status, after.version) == ("released", before.version + 1)
    (change,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    assert (change.kind, change.status, change.deliveries) == ("address_changed", "applied", 1)
    assert change.detail == f"order {after.number} now ships to 77 Harbor Way, Sausalito"
    assert _events(shop, "channel.order_address_changed") == 1
    # and applying it again (a retried job) changes nothing more
    assert channels.apply_change(shop, change_id=change.id) == "skipped"
    assert _order(shop, EXTERNAL).version == after.version


def test_an_older_version_delivered_late_never_takes_the_order_back_to_its_old_address(
    shop: UnitOfWork,
) -> None:
    # given an imported order whose address was changed twice on Shopify
    _shopify(shop, "orders/create", ORDER)
    _drain(shop.db)
    first = _moved(ORDER, "2026-12-01T07:00:00-05:00")
    second = _moved(
        ORDER, "2026-12-01T08:00:00-05:00", NEW_ADDRESS | {"address1": "5 Bay St", "city": "Tiburon"}
    )
    # when the later edit arrives first, then the earlier one, then the original order again
    for payload in (second, first, ORDER):
        _shopify(shop, "orders/updated", payload)
    _relay(shop)
    _drain(shop.db)
    # then: the order ships to the latest address; nothing else was recorded
    assert _ships_to(_order(shop, EXTERNAL))[:3] == ("5 Bay St", "", "Tiburon")
    (change,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    assert change.status == "applied"


def test_a_ship_to_edit_of_a_shipped_order_is_flagged_and_dead_lettered_and_changes_nothing(
    shop: UnitOfWork,
) -> None:
    # given an imported order that has shipped
    _shopify(shop, "orders/create", ORDER)
    _drain(shop.db)
    order = _order(shop, EXTERNAL)
    orders.record_shipment(shop, ref=order.number, tracking="1Z999")
    shipped = _order(shop, EXTERNAL)
    # when Shopify reports a new address
    _shopify(shop, "orders/updated", _moved(ORDER, "2026-12-01T07:00:00-05:00"))
    _relay(shop)
    _drain(shop.db)
    # then: the order is as it was, the change flagged with the reason and dead-lettered
    after = _order(shop, EXTERNAL)
    assert (after.status, after.version, _ships_to(after)) == ("shipped", shipped.version, _ships_to(shipped))
    (change,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    assert (change.status, change.detail) == (
        "flagged",
        "a shipment is packed or shipped: the ship-to was not changed; re-route the parcel with the carrier",
    )
    (letter,) = channels.list_dead_letters(shop, connector="shop").items
    assert (letter.operation, letter.reference, letter.error) == ("apply_change", EXTERNAL, change.detail)
    assert _events(shop, "channel.order_address_changed") == 0
    # when the letter is replayed (still shipped): flagged again, nothing changed
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    assert _order(shop, EXTERNAL).version == shipped.version
    assert channels.list_changes(shop, connector="shop", external_id=EXTERNAL)[0].status == "flagged"


def test_a_ship_to_edit_arriving_before_the_import_waits_and_the_order_ships_to_the_new_address(
    shop: UnitOfWork,
) -> None:
    # given an order received, not imported yet, and its address edit
    _shopify(shop, "orders/create", ORDER)
    _shopify(shop, "orders/updated", _moved(ORDER, "2026-12-01T07:00:00-05:00"))
    (change,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    # when the edit's job runs first: it waits
    assert channels.apply_change(shop, change_id=change.id) == "waiting"
    # and then the import
    _relay(shop)
    _drain(shop.db)
    # then: one order, shipping to the new address, the change applied
    assert _ships_to(_order(shop, EXTERNAL))[0] == "77 Harbor Way"
    (change,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    assert change.status == "applied"


def test_a_ship_to_edit_landing_while_checkout_places_the_order_is_applied_to_the_order_once_placed(
    shop: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an order received, the import about to place it with the address it read
    _shopify(shop, "orders/create", ORDER)
    received = channels.get_channel_order(shop, connector="shop", external_id=EXTERNAL)
    place = inbound.checkout.place_order
    waited: list[str] = []

    def edit_lands_first(uow: UnitOfWork, **kwargs: Any) -> Any:
        # the edit arrives (its own unit of work) after the import planned, before it places; its job runs
        other = shop.db.unit_of_work(Actor.system("other"))
        _shopify(other, "orders/updated", _moved(ORDER, "2026-12-01T07:00:00-05:00"))
        (change,) = channels.list_changes(other, connector="shop", external_id=EXTERNAL)
        waited.append(channels.apply_change(other, change_id=change.id))
        return place(uow, **kwargs)

    monkeypatch.setattr(inbound.checkout, "place_order", edit_lands_first)
    # when the import places the order (with the old address)
    assert channels.import_channel_order(shop, channel_order_id=received.id) == "imported"
    monkeypatch.undo()
    _relay(shop)
    _drain(shop.db)
    # then: the waiting edit was applied to the placed order
    assert waited == ["waiting"]
    order = _order(shop, EXTERNAL)
    assert _ships_to(order)[0] == "77 Harbor Way"
    (change,) = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    assert (change.status, change.detail) == (
        "applied",
        f"order {order.number} now ships to 77 Harbor Way, Sausalito",
    )


def test_a_woocommerce_order_updated_with_another_shipping_address_is_applied_once(shop: UnitOfWork) -> None:
    # given an imported WooCommerce order
    _woo(shop, woo_order(703, modified=START - timedelta(minutes=30)))
    _drain(shop.db)
    # when order.updated brings a new shipping address, twice
    moved = woo_order(703, modified=START - timedelta(minutes=10))
    moved["shipping"] |= {
        "address_1": "77 Harbor Way",
        "address_2": "",
        "city": "Sausalito",
        "postcode": "94965",
    }
    for _ in range(2):
        _woo(shop, moved)
    _relay(shop)
    _drain(shop.db)
    # then
    assert _ships_to(_order(shop, "703")) == ("77 Harbor Way", "", "Sausalito", "94965")
    assert [(c.kind, c.status) for c in channels.list_changes(shop, connector="woo", external_id="703")] == [
        ("address_changed", "applied")
    ]


# --- quantity reductions --------------------------------------------------------------------------------------


def _units(order: orders.Order) -> list[tuple[int, int, int]]:
    return [(line.line_no, line.quantity, line.cancelled) for line in order.lines]


def test_a_woocommerce_order_updated_with_fewer_units_cancels_those_units_once(shop: UnitOfWork) -> None:
    # given an imported WooCommerce order of 3 tees
    _woo(shop, woo_order(704, modified=START - timedelta(minutes=30), quantity=3))
    _drain(shop.db)
    before = _order(shop, "704")
    assert _units(before) == [(1, 3, 0)]
    # when the shop lowers it to 1 (delivered twice), then updates something else
    fewer = woo_order(704, modified=START - timedelta(minutes=10), quantity=1)
    for _ in range(2):
        _woo(shop, fewer)
    _woo(shop, woo_order(704, modified=START - timedelta(minutes=5), quantity=1))
    for _ in range(2):  # the change's job, then what payments makes of the order's change
        _relay(shop)
        _drain(shop.db)
    # then: two units cancelled once through the lines' cancellation
    after = _order(shop, "704")
    assert (after.status, _units(after)) == ("released", [(1, 3, 2)])
    (change,) = channels.list_changes(shop, connector="woo", external_id="704")
    assert (change.kind, change.status, change.key.split("@")[:2]) == (
        "quantity_reduced",
        "applied",
        ["WC-TEE", "1"],
    )
    assert change.detail == f"order {after.number}: cancelled line 1: 2"
    # the order's total comes down; money moves only by the channel's own refund (a refund change), never twice
    assert before.total - after.total == Money(Decimal("44.00"), "USD")
    assert _refunded(shop, after) == Money(Decimal("0"), "USD")
    assert _events(shop, "channel.order_quantity_reduced") == 1
    assert channels.apply_change(shop, change_id=change.id) == "skipped"


def test_fewer_units_of_an_order_that_has_shipped_are_flagged_and_nothing_is_cancelled(
    shop: UnitOfWork,
) -> None:
    # given an imported WooCommerce order of 3 tees that has shipped
    _woo(shop, woo_order(705, modified=START - timedelta(minutes=30), quantity=3))
    _drain(shop.db)
    orders.record_shipment(shop, ref=_order(shop, "705").number, tracking="1Z999")
    shipped = _order(shop, "705")
    # when the shop lowers it to 1
    _woo(shop, woo_order(705, modified=START - timedelta(minutes=10), quantity=1))
    _relay(shop)
    _drain(shop.db)
    # then: nothing cancelled; the change flagged and dead-lettered
    after = _order(shop, "705")
    assert (after.status, after.version, _units(after)) == ("shipped", shipped.version, [(1, 3, 0)])
    (change,) = channels.list_changes(shop, connector="woo", external_id="705")
    assert (change.status, change.detail) == (
        "flagged",
        "units have shipped: not cancelled; take them back as a return",
    )
    (letter,) = channels.list_dead_letters(shop, connector="woo").items
    assert (letter.operation, letter.reference) == ("apply_change", "705")


def test_a_ship_to_edit_reaches_a_pending_shipment_and_is_flagged_once_the_shipment_is_packed(
    shop: UnitOfWork,
) -> None:
    # given an imported order with its pending shipment (what fulfillment's subscriber makes)
    _shopify(shop, "orders/create", ORDER)
    _drain(shop.db)
    order = _order(shop, EXTERNAL)
    fulfillment.sync_order(shop, order_id=order.id)
    # when Shopify reports a new address
    _shopify(shop, "orders/updated", _moved(ORDER, "2026-12-01T07:00:00-05:00"))
    _relay(shop)
    _drain(shop.db)
    fulfillment.sync_order(shop, order_id=order.id)
    # then the order and its shipment ship there
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    assert (_ships_to(_order(shop, EXTERNAL))[0], shipment.address["line1"]) == ("77 Harbor Way",) * 2
    # when the shipment is picked and packed, and Shopify moves the address again
    fulfillment.pick_shipment(shop, ref=shipment.number)
    fulfillment.pack_shipment(
        shop, ref=shipment.number, all_units=True, packages=[fulfillment.PackageSpec(900)]
    )
    packed = _order(shop, EXTERNAL)
    _shopify(
        shop,
        "orders/updated",
        _moved(ORDER, "2026-12-01T08:00:00-05:00", NEW_ADDRESS | {"address1": "5 Bay St"}),
    )
    _relay(shop)
    _drain(shop.db)
    # then: flagged and dead-lettered; the order and its packed shipment keep the address on the label
    after = _order(shop, EXTERNAL)
    assert (after.version, _ships_to(after)[0]) == (packed.version, "77 Harbor Way")
    assert fulfillment.order_shipments(shop, order_id=str(order.id))[0].address["line1"] == "77 Harbor Way"
    statuses = [c.status for c in channels.list_changes(shop, connector="shop", external_id=EXTERNAL)]
    assert statuses == ["applied", "flagged"]
    (letter,) = channels.list_dead_letters(shop, connector="shop").items
    assert letter.operation == "apply_change"


def test_an_address_left_and_come_back_to_is_applied_once_even_when_two_changes_race_to_it(
    shop: UnitOfWork,
) -> None:
    # given an imported order; Shopify moves it to B, then C, then back to B, all before any change is applied
    _shopify(shop, "orders/create", ORDER)
    _drain(shop.db)
    before = _order(shop, EXTERNAL)
    other = NEW_ADDRESS | {"address1": "5 Bay St", "city": "Tiburon"}
    for at, address in (("07:00", NEW_ADDRESS), ("08:00", other), ("09:00", NEW_ADDRESS)):
        _shopify(shop, "orders/updated", _moved(ORDER, f"2026-12-01T{at}:00-05:00", address))
    first, _, last = channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    # when the last change's job has planned the edit and the first change applies meanwhile (the race)
    planned = changes._plan(shop, change_id=last.id)
    assert planned is not None and planned.outcome == "edit"
    assert channels.apply_change(shop, change_id=first.id) == "applied"
    racing = changes._edit_address(
        shop, change_id=last.id, order_id=planned.order_id, address=planned.address
    )
    _relay(shop)
    _drain(shop.db)
    # then: the order moved once, to B; C was superseded
    after = _order(shop, EXTERNAL)
    assert (_ships_to(after)[0], after.version, racing) == ("77 Harbor Way", before.version + 1, "applied")
    assert [
        (c.status, c.detail) for c in channels.list_changes(shop, connector="shop", external_id=EXTERNAL)
    ] == [
        ("applied", f"order {after.number} now ships to 77 Harbor Way, Sausalito"),
        ("applied", "superseded: a later version of the order on the channel names another address"),
        ("applied", "nothing to change: the order already ships there"),
    ]
    assert _events(shop, "channel.order_address_changed") == 1
