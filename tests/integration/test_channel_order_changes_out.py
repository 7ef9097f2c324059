"""What we cancel or refund of a channel's order goes out to the channel, on SQLite and PostgreSQL, through the
Shopify and WooCommerce connectors' loopback stubs: an order we cancel is cancelled there once (no refund, no
restock on the channel's side), the money the channel collected is refunded through it once — a lost answer
retried finds the refund made under our key instead of making a second — and the channel's own cancellations
and refunds are never sent back. A connector that takes no cancellations (the generic one) dead-letters ours at
once with what to do; a refund the channel refuses is dead-lettered and replayable. Amazon's feeds:
test_channel_order_changes_amazon."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.channels import rules
from ordersmith.channels import service as channels
from ordersmith.channels.connectors import shopify_order_changes
from ordersmith.channels.service import order_changes_out
from ordersmith.channels.tables import ChannelOrderRow, ConnectorRow
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import sales_channels
from ordersmith.platform.db import UnitOfWork
from tests.integration.test_channel_changes import (
    EXTERNAL,
    _cancelled,
    _drain,
    _order,
    _refund,
    _refunded,
    _relay,
    _shopify,
    _woo,
)
from tests.integration.test_channel_changes import clock as clock  # fixtures
from tests.integration.test_channel_changes import shop as shop
from tests.integration.test_channel_changes import shopify as shopify
from tests.integration.test_channel_changes import woo as woo
from tests.integration.test_channels_shopify import ORDER, ShopifyStub
from tests.integration.test_channels_woocommerce import START, WooStub, woo_order

ORDER_GID = f"gid://shopify/Order/{EXTERNAL}"


def _settle(shop: UnitOfWork) -> None:
    for _ in range(3):
        _relay(shop)
        _drain(shop.db)


def _imported(shop: UnitOfWork) -> orders.Order:
    _shopify(shop, "orders/create", ORDER)
    _settle(shop)
    return _order(shop, EXTERNAL)


def test_an_order_we_cancel_is_cancelled_on_shopify_once_and_its_money_refunded_there_once(
    shop: UnitOfWork, shopify: ShopifyStub
) -> None:
    # given an imported Shopify order whose money Shopify collected
    order = _imported(shop)
    # when we cancel it (a customer called)
    orders.cancel_order(shop, ref=order.number, reason="customer called to cancel")
    _settle(shop)
    # then Shopify is told once: cancelled with no refund and no restock there, and the money refunded by itself
    assert list(shopify.cancelled) == [ORDER_GID]
    sent = shopify.cancelled[ORDER_GID]
    assert (sent["reason"], sent["staffNote"]) == ("OTHER", "customer called to cancel")
    assert "refund: false, restock: false" in shopify.calls("orderCancel(")[0]["query"]
    (refund,) = shopify.refunds
    assert [(t["amount"], t["parentId"], t["kind"]) for t in refund["transactions"]] == [
        ("49.00", "gid://shopify/OrderTransaction/71", "REFUND")
    ]
    assert "[ordersmith:refund:" in refund["note"]
    assert _refunded(shop, _order(shop, EXTERNAL)) == Money(Decimal("49.00"), "USD")
    health = channels.connector_health(shop, code="shop")
    assert health.dead_letters_open == 0 and health.last_success_at is not None
    # when the channel then reports the cancellation and the refund it made on our word
    _shopify(shop, "orders/cancelled", _cancelled(ORDER))
    _shopify(shop, "refunds/create", _refund(901, "49.00"))
    _settle(shop)
    # then nothing more goes out, and nothing more is refunded here
    assert len(shopify.calls("orderCancel(")) == 1 and len(shopify.refunds) == 1
    assert _refunded(shop, _order(shop, EXTERNAL)) == Money(Decimal("49.00"), "USD")


def test_the_channel_s_own_cancellation_and_refund_are_never_sent_back(
    shop: UnitOfWork, shopify: ShopifyStub
) -> None:
    # given an imported order
    _imported(shop)
    # when Shopify refunds part of it, then cancels it
    _shopify(shop, "refunds/create", _refund(902, "10.00"))
    _settle(shop)
    _shopify(shop, "orders/cancelled", _cancelled(ORDER))
    _settle(shop)
    # then the order is cancelled and refunded here, and nothing was sent to Shopify
    order = _order(shop, EXTERNAL)
    assert order.status == "cancelled" and _refunded(shop, order) == Money(Decimal("49.00"), "USD")
    assert shopify.calls("orderCancel(") == [] and shopify.calls("refundCreate(") == []
    assert shopify.refunds == []


def test_a_refund_whose_answer_was_lost_is_found_on_shopify_when_retried_and_not_made_twice(
    shop: UnitOfWork, shopify: ShopifyStub
) -> None:
    # given an imported order, and Shopify losing the answer to the first refund it takes
    order = _imported(shop)
    shopify.lose_refund_answers = 1
    # when we give back 12.00 of it (goodwill)
    payments.refund_order(shop, order_id=order.id, amount=Money(Decimal("12.00"), "USD"), reason="goodwill")
    _settle(shop)
    shop.db.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]  # the retry's back-off
    _settle(shop)
    # then Shopify holds one refund of 12.00, and the retry read it instead of refunding again
    assert [[t["amount"] for t in r["transactions"]] for r in shopify.refunds] == [["12.00"]]
    assert len(shopify.calls("refundCreate(")) == 1
    assert channels.connector_health(shop, code="shop").dead_letters_open == 0


def test_a_refund_shopify_refuses_is_dead_lettered_and_replayed_after_the_fix(
    shop: UnitOfWork, shopify: ShopifyStub
) -> None:
    # given an imported order of which Shopify shows less captured than we refund
    order = _imported(shop)
    shopify.captured = "5.00"
    # when we refund 12.00
    payments.refund_order(shop, order_id=order.id, amount=Money(Decimal("12.00"), "USD"), reason="goodwill")
    _settle(shop)
    # then it is dead-lettered with Shopify's reason, nothing refunded there
    (letter,) = channels.list_dead_letters(shop, connector="shop").items
    assert letter.operation == "push_order_change" and letter.reference == EXTERNAL
    assert "less still refundable" in letter.error and shopify.refunds == []
    # and replayed once Shopify holds the money, it goes out
    shopify.captured = "49.00"
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _settle(shop)
    assert [[t["amount"] for t in r["transactions"]] for r in shopify.refunds] == [["12.00"]]


def test_an_order_we_cancel_is_cancelled_on_woocommerce_and_refunded_through_its_gateway_once(
    shop: UnitOfWork, woo: WooStub
) -> None:
    # given an imported WooCommerce order
    _woo(shop, woo_order(701, modified=START - timedelta(minutes=30)))
    _settle(shop)
    order = _order(shop, "701")
    # when we cancel it
    orders.cancel_order(shop, ref=order.number, reason="out of stock at the supplier")
    _settle(shop)
    # then WooCommerce has it cancelled with a private note, and one refund through its gateway
    assert woo.statuses["701"] == "cancelled"
    assert any(
        "out of stock at the supplier" in n["note"] and not n["customer_note"] for n in woo.notes["701"]
    )
    (refund,) = woo.refunds["701"]
    assert (refund["amount"], refund["refunded_payment"]) == ("49.00", True)
    key = re.search(r"\[ordersmith:(refund:[^\]]+)\]", refund["reason"])
    assert key is not None
    # when the same refund goes out again (its answer lost, a replay), it is found there and not made twice
    woo_id = str(_connector_id(shop, "woo"))
    with shop:
        order_changes_out.requeue(shop, {"connector_id": woo_id, "external_id": "701", "kind": "refund",
                                         "amount": "49.00", "currency": "USD", "reason": "again",
                                         "key": key.group(1)})  # fmt: skip
    _settle(shop)
    assert len(woo.refunds["701"]) == 1
    # and the cancellation sent again leaves the cancelled order as it is (no second note)
    notes = len(woo.notes["701"])
    with shop:
        order_changes_out.requeue(shop, {"connector_id": woo_id, "external_id": "701", "kind": "cancel",
                                         "reason": "again"})  # fmt: skip
    _settle(shop)
    assert len(woo.notes["701"]) == notes


def test_a_connector_that_takes_no_cancellations_dead_letters_ours_with_what_to_do(shop: UnitOfWork) -> None:
    # given a generic connector (inbound only) and an order it sent us (recorded as the channel's)
    sales_channels.create_sales_channel(
        shop, code="mkt", name="Market", kind="marketplace", division="web", currency="USD"
    )
    channels.create_connector(
        shop, code="market", kind="generic", sales_channel="mkt", name="Market",
        config={"shipping_method": "ground"}, credentials={},
    )  # fmt: skip
    order = _imported(shop)
    _rehome(shop, order, connector="market", external_id="M-0000001")
    # when we cancel it
    orders.cancel_order(shop, ref=order.number, reason="fraud")
    _settle(shop)
    # then the cancellation and the refund are dead-lettered for a person, naming what to do on the channel
    letters = channels.list_dead_letters(shop, connector="market").items
    assert sorted(letter.payload["kind"] for letter in letters) == ["cancel", "refund"]
    assert all("on the channel's own site" in letter.error for letter in letters)
    assert channels.connector_health(shop, code="market").dead_letters_open == 2


def _connector_id(shop: UnitOfWork, code: str) -> uuid.UUID:
    with shop:
        found = shop.session.scalar(sa.select(ConnectorRow.id).where(ConnectorRow.code == code))
    assert found is not None
    return found


def _rehome(shop: UnitOfWork, order: orders.Order, *, connector: str, external_id: str) -> None:
    """Record the order as imported by another connector."""
    target = _connector_id(shop, connector)
    with shop:
        shop.session.execute(
            sa.update(ChannelOrderRow)
            .where(ChannelOrderRow.order_id == order.id)
            .values(connector_id=target, external_id=external_id)
        )


def test_our_refund_reported_back_by_shopify_is_not_refunded_again_here(
    shop: UnitOfWork, shopify: ShopifyStub
) -> None:
    # given an imported order and a goodwill refund of ours that went out to Shopify
    order = _imported(shop)
    payments.refund_order(shop, order_id=order.id, amount=Money(Decimal("12.00"), "USD"), reason="goodwill")
    _settle(shop)
    (made,) = shopify.refunds
    # when Shopify reports that refund back (refunds/create, its note carrying our mark)
    echo = _refund(903, "12.00") | {"note": made["note"]}
    assert _shopify(shop, "refunds/create", echo).changes == 0
    _settle(shop)
    # then nothing more is refunded here, and nothing more goes out
    assert _refunded(shop, _order(shop, EXTERNAL)) == Money(Decimal("12.00"), "USD")
    assert (
        len(shopify.refunds) == 1
        and channels.list_changes(shop, connector="shop", external_id=EXTERNAL) == []
    )


def test_the_echo_of_our_cancellation_arriving_first_does_not_keep_its_refund_from_going_out(
    shop: UnitOfWork, shopify: ShopifyStub
) -> None:
    # given an imported order that we cancel, and Shopify's orders/cancelled for it recorded before the relay ran
    order = _imported(shop)
    orders.cancel_order(shop, ref=order.number, reason="fraud")
    _shopify(shop, "orders/cancelled", _cancelled(ORDER))
    # when everything is relayed and run
    _settle(shop)
    # then the cancellation and the whole refund went to Shopify once each
    assert len(shopify.calls("orderCancel(")) <= 1
    assert [[t["amount"] for t in r["transactions"]] for r in shopify.refunds] == [["49.00"]]


def test_an_order_cancelled_by_the_channel_s_own_edit_is_not_cancelled_or_refunded_back_on_it(
    shop: UnitOfWork, woo: WooStub
) -> None:
    # given an imported WooCommerce order
    _woo(shop, woo_order(701, modified=START - timedelta(minutes=30)))
    _settle(shop)
    order = _order(shop, "701")
    # when its units are all cancelled for the channel's own edit (as changes.py records a reduction)
    orders.cancel_order(shop, ref=order.number, reason=f"{rules.REDUCED_ON_CHANNEL}WC-TEE reduced to 0")
    _settle(shop)
    # then its money is given back here, and nothing is cancelled or refunded back on WooCommerce
    assert _refunded(shop, _order(shop, "701")) == Money(Decimal("49.00"), "USD")
    assert woo.statuses.get("701") != "cancelled" and woo.refunds.get("701", []) == []


def test_a_second_refund_takes_only_what_the_capture_still_holds_on_shopify(
    shop: UnitOfWork, shopify: ShopifyStub
) -> None:
    # given an imported order (49.00 captured on Shopify) of which we refunded 30.00
    order = _imported(shop)
    payments.refund_order(shop, order_id=order.id, amount=Money(Decimal("30.00"), "USD"), reason="first")
    _settle(shop)
    # when we refund 19.00 more (the rest), then 1.00 more than Shopify still holds is refused here already
    payments.refund_order(shop, order_id=order.id, amount=Money(Decimal("19.00"), "USD"), reason="second")
    _settle(shop)
    # then Shopify holds both refunds against its capture, 49.00 in all, each sent in the order's currency
    assert [[t["amount"] for t in r["transactions"]] for r in shopify.refunds] == [["30.00"], ["19.00"]]
    assert {r["currency"] for r in shopify.refunds} == {"USD"}
    assert channels.connector_health(shop, code="shop").dead_letters_open == 0


def test_a_push_for_a_connector_switched_off_is_dead_lettered_not_dropped(
    shop: UnitOfWork, shopify: ShopifyStub
) -> None:
    # given an imported order whose connector is then switched off
    order = _imported(shop)
    with shop:
        shop.session.execute(sa.update(ConnectorRow).where(ConnectorRow.code == "shop").values(active=False))
    # when we cancel the order
    orders.cancel_order(shop, ref=order.number, reason="customer called")
    _settle(shop)
    # then nothing went to Shopify, and both the cancellation and its refund wait on the dead-letter list
    assert shopify.calls("orderCancel(") == [] and shopify.refunds == []
    letters = channels.list_dead_letters(shop, connector="shop").items
    assert sorted(letter.payload["kind"] for letter in letters) == ["cancel", "refund"]
    assert all("inactive" in letter.error for letter in letters)


def test_shopifys_cancellation_job_is_waited_for_and_one_that_cancels_nothing_is_dead_lettered(
    shop: UnitOfWork, shopify: ShopifyStub
) -> None:
    # given an imported order, and Shopify's cancellation job finishing at the second look without cancelling it
    order = _imported(shop)
    shopify.cancel_job_looks, shopify.cancel_without_effect = 2, True
    # when we cancel it here
    orders.cancel_order(shop, ref=order.number, reason="customer called to cancel")
    _settle(shop)
    # then the job was looked at until done, the order read again, and the cancellation dead-lettered for a person
    assert len(shopify.calls("job(id:")) == 2
    letters = [letter for letter in channels.list_dead_letters(shop, connector="shop").items
               if letter.payload["kind"] == "cancel"]  # fmt: skip
    (letter,) = letters
    assert "finished without cancelling it" in letter.error
    # and replayed once Shopify cancels, it is done (the order found cancelled)
    shopify.cancel_without_effect = False
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _settle(shop)
    assert ORDER_GID in shopify.cancelled


def test_a_shopify_cancellation_job_still_running_after_the_waits_is_looked_at_again_later(
    shop: UnitOfWork, shopify: ShopifyStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an imported order whose cancellation job is not done within the call's (here shortened) waits
    order = _imported(shop)
    shopify.cancel_job_looks = 99
    monkeypatch.setattr(shopify_order_changes, "CANCEL_JOB_WAITS_S", (0.01, 0.01))
    # when we cancel it, and the push comes back after its back-off
    orders.cancel_order(shop, ref=order.number, reason="customer called to cancel")
    _settle(shop)
    shop.db.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    _settle(shop)
    # then the second attempt finds the order cancelled on Shopify and asks nothing again
    assert len(shopify.calls("orderCancel(")) == 1
    assert [letter for letter in channels.list_dead_letters(shop, connector="shop").items
            if letter.payload["kind"] == "cancel"] == []  # fmt: skip


# --- a cancellation of some lines (the rest of the order goes on) -------------------------------------------------


def test_units_we_cancel_of_a_shopify_order_are_taken_off_it_once_by_their_line_item_and_no_money_moves(
    shop: UnitOfWork, shopify: ShopifyStub
) -> None:
    # given an imported Shopify order of two tees (its line item 1)
    order = _imported(shop)
    with shop:
        kept = shop.session.scalar(
            sa.select(ChannelOrderRow.line_ids).where(ChannelOrderRow.order_id == order.id)
        )
    assert kept == ["1"]
    # when we cancel one of them (the other still ships)
    orders.cancel_order(shop, ref=order.number, reason="one tee damaged in the warehouse", lines={1: 1})
    _settle(shop)
    # then Shopify gets one refund of that unit of the line item, with no transaction and no restock
    (refund,) = shopify.refunds
    assert refund["refundLineItems"] == [
        {"lineItemId": "gid://shopify/LineItem/1", "quantity": 1, "restockType": "NO_RESTOCK"}
    ]
    assert refund["transactions"] == [] and refund["notify"] is False
    assert "one tee damaged in the warehouse" in refund["note"] and "[ordersmith:lines:" in refund["note"]
    assert shopify.calls("orderCancel(") == []
    assert channels.connector_health(shop, code="shop").dead_letters_open == 0
    # when it goes out again (a lost answer, a replay): found by our key, not made twice
    key = re.search(r"\[ordersmith:(lines:[^\]]+)\]", refund["note"])
    assert key is not None
    with shop:
        order_changes_out.requeue(shop, {"connector_id": str(_connector_id(shop, "shop")), "external_id": EXTERNAL,
                                         "kind": "cancel_lines", "key": key.group(1), "reason": "again",
                                         "lines": [{"line": 1, "line_id": "1", "quantity": 1}]})  # fmt: skip
    _settle(shop)
    assert len(shopify.refunds) == 1


def test_units_we_cancel_of_a_woocommerce_order_go_as_a_refund_of_nothing_naming_its_line_items_once(
    shop: UnitOfWork, woo: WooStub
) -> None:
    # given an imported WooCommerce order of three tees (its line item 1)
    _woo(shop, woo_order(705, modified=START - timedelta(minutes=30), quantity=3))
    _settle(shop)
    order = _order(shop, "705")
    # when we cancel two of them
    orders.cancel_order(shop, ref=order.number, reason="two tees out of stock", lines={1: 2})
    _settle(shop)
    # then WooCommerce has one refund of 0.00 naming two units of line item 1, through no gateway, restocking
    # nothing (our stock pushes set its figure); the order is not cancelled there
    (refund,) = woo.refunds["705"]
    assert (refund["amount"], refund["refunded_payment"], refund["restocked"]) == ("0.00", False, False)
    assert refund["line_items"] == [{"id": 1, "quantity": 2, "refund_total": "0.00"}]
    assert "[ordersmith:lines:" in refund["reason"]
    assert woo.statuses.get("705") != "cancelled"
    # when the same units are cancelled again by a replay, nothing more is made
    key = refund["reason"].split("[ordersmith:")[1].rstrip("]")
    again = {"connector_id": str(_connector_id(shop, "woo")), "external_id": "705", "kind": "cancel_lines",
             "key": key, "reason": "again", "lines": [{"line": 1, "line_id": "1", "quantity": 2}]}  # fmt: skip
    with shop:
        order_changes_out.requeue(shop, again)
    _settle(shop)
    assert len(woo.refunds["705"]) == 1


def test_units_the_channel_took_off_are_not_sent_back_and_an_order_imported_without_line_ids_goes_to_a_person(
    shop: UnitOfWork, woo: WooStub
) -> None:
    # given an imported WooCommerce order of three tees
    _woo(shop, woo_order(706, modified=START - timedelta(minutes=30), quantity=3))
    _settle(shop)
    order = _order(shop, "706")
    # when the shop lowers it to two on its side (applied here as the channel's reduction)
    _woo(shop, woo_order(706, modified=START - timedelta(minutes=10), quantity=2))
    _settle(shop)
    # then that unit is cancelled here and nothing is sent back to WooCommerce
    assert woo.refunds.get("706", []) == []
    # and given its line ids unknown (an order imported before they were kept)
    with shop:
        shop.session.execute(
            sa.update(ChannelOrderRow).where(ChannelOrderRow.order_id == order.id).values(line_ids=None)
        )
    # when we cancel one more unit
    orders.cancel_order(shop, ref=order.number, reason="damaged", lines={1: 1})
    _settle(shop)
    # then nothing goes out: a person is told to take it off on the channel's own site
    assert woo.refunds.get("706", []) == []
    (letter,) = channels.list_dead_letters(shop, connector="woo").items
    assert letter.payload["kind"] == "cancel_lines" and "channel's own site" in letter.error


def test_units_we_cancel_of_an_ebay_like_connector_that_takes_none_are_dead_lettered_with_what_to_do(
    shop: UnitOfWork,
) -> None:
    # given a generic connector (it takes no cancellations) and a two-unit order recorded as its own
    sales_channels.create_sales_channel(
        shop, code="mkt", name="Market", kind="marketplace", division="web", currency="USD"
    )
    channels.create_connector(
        shop, code="market", kind="generic", sales_channel="mkt", name="Market",
        config={"shipping_method": "ground"}, credentials={},
    )  # fmt: skip
    order = _imported(shop)
    _rehome(shop, order, connector="market", external_id="M-0000002")
    # when we cancel one unit
    orders.cancel_order(shop, ref=order.number, reason="damaged", lines={1: 1})
    _settle(shop)
    # then it is dead-lettered, naming what to do
    (letter,) = channels.list_dead_letters(shop, connector="market").items
    assert letter.payload["kind"] == "cancel_lines"
    assert "cancellation of some lines" in letter.error and "M-0000002" in letter.error


def _one_tee_returned(shop: UnitOfWork, order: orders.Order) -> orders.Return:
    """The order shipped, then one tee (our line 1) returned and received (restocked)."""
    orders.record_shipment(shop, ref=order.number)
    rma = orders.authorize_return(
        shop, order_ref=order.number, lines=[orders.ReturnLineRequest(1, 1, "damaged")]
    )
    return orders.receive_return(
        shop, ref=rma.number, location="WEST", lines=[orders.ReceivedLine(1, 1, "restock")]
    )


def test_a_returns_refund_names_the_returned_units_on_shopify_as_many_as_it_still_counts_refundable(
    shop: UnitOfWork, shopify: ShopifyStub
) -> None:
    # given an imported Shopify order of two tees (its line item 1), shipped, one tee returned and received
    order = _imported(shop)
    returned = _one_tee_returned(shop, order)
    # when that return's money is given back
    payments.refund_order(shop, order_id=order.id, amount=Money(Decimal("20.00"), "USD"), reason="customer return",
                          return_id=returned.id)  # fmt: skip
    _settle(shop)
    # then Shopify's refund moves the money and names the returned unit of its line item (no restock there: our
    # stock pushes set its figure)
    (refund,) = shopify.refunds
    assert [t["amount"] for t in refund["transactions"]] == ["20.00"]
    assert refund["refundLineItems"] == [
        {"lineItemId": "gid://shopify/LineItem/1", "quantity": 1, "restockType": "NO_RESTOCK"}
    ]
    assert channels.connector_health(shop, code="shop").dead_letters_open == 0
    # when the second tee comes back too, but a person had refunded it on Shopify already (nothing refundable
    # left there): its refund still moves the money, naming no unit Shopify would refuse
    shopify.refunded_elsewhere = {"gid://shopify/LineItem/1": 1}
    rma = orders.authorize_return(
        shop, order_ref=order.number, lines=[orders.ReturnLineRequest(1, 1, "damaged")]
    )
    second = orders.receive_return(shop, ref=rma.number, location="WEST",
                                   lines=[orders.ReceivedLine(1, 1, "restock")])  # fmt: skip
    payments.refund_order(shop, order_id=order.id, amount=Money(Decimal("20.00"), "USD"), reason="customer return",
                          return_id=second.id)  # fmt: skip
    _settle(shop)
    _first, later = shopify.refunds
    assert [t["amount"] for t in later["transactions"]] == ["20.00"] and "refundLineItems" not in later
    assert channels.connector_health(shop, code="shop").dead_letters_open == 0


def test_a_goodwill_refund_on_shopify_names_no_line_item(shop: UnitOfWork, shopify: ShopifyStub) -> None:
    order = _imported(shop)
    payments.refund_order(
        shop, order_id=order.id, amount=Money(Decimal("5.00"), "USD"), reason="late delivery"
    )
    _settle(shop)
    (refund,) = shopify.refunds
    assert [t["amount"] for t in refund["transactions"]] == ["5.00"] and "refundLineItems" not in refund


def test_a_returns_refund_names_the_returned_units_on_woocommerce(shop: UnitOfWork, woo: WooStub) -> None:
    # given an imported WooCommerce order of three tees (its line item 1), shipped, one tee returned
    _woo(shop, woo_order(706, modified=START - timedelta(minutes=30), quantity=3))
    _settle(shop)
    order = _order(shop, "706")
    returned = _one_tee_returned(shop, order)
    # when that return's money is given back
    payments.refund_order(shop, order_id=order.id, amount=Money(Decimal("15.00"), "USD"), reason="customer return",
                          return_id=returned.id)  # fmt: skip
    _settle(shop)
    # then WooCommerce refunds the money through its gateway and shows the returned unit of line item 1 refunded,
    # restocking nothing (our stock pushes set its figure)
    (refund,) = woo.refunds["706"]
    assert (refund["amount"], refund["refunded_payment"], refund["restocked"]) == ("15.00", True, False)
    assert refund["line_items"] == [{"id": 1, "quantity": 1, "refund_total": "0.00"}]
    assert channels.connector_health(shop, code="woo").dead_letters_open == 0
