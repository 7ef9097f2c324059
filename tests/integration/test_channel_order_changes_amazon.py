"""Our cancellations and refunds of Amazon orders go out as order feeds, on SQLite and PostgreSQL, against a
loopback stub of the documented Feeds API 2021-06-30 (`createFeedDocument` with a pre-signed upload URL,
`createFeed`, `getFeed` from IN_QUEUE to DONE, `getFeedDocument` with a gzip processing report): an order we cancel
is acknowledged as failed with a reason on each item still to ship, and its money is not refunded again (Amazon
charges at shipment); a refund is an order adjustment allocated over the items' price and shipping, net of the tax
Amazon collects; errors in Amazon's processing report are dead-lettered and replayable; a refund whose submission
answer is lost, or whose worker died submitting it, is never submitted again by itself."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from ordersmith.channels import service as channels
from ordersmith.channels.connectors.amazon import AmazonConnector
from ordersmith.channels.connectors.amazon_feeds import processing_errors
from ordersmith.channels.service import order_changes_out
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderRow
from ordersmith.payments import service as payments
from ordersmith.platform import jobs
from ordersmith.platform.db import UnitOfWork
from tests.integration.test_channels_amazon import START, AmazonStub, _drain, _orders, _relay
from tests.integration.test_channels_amazon import clock as clock  # fixtures
from tests.integration.test_channels_amazon import shop as shop
from tests.support.http_stub import Answer, Seen, serving

FEEDS = "/feeds/2021-06-30"
ORDER_ID = "333-0000000-0000001"


class AmazonFeedsStub(AmazonStub):
    """The SP-API stub with the Feeds API: documents uploaded to a pre-signed URL (this stub under `localhost`),
    feeds processed on the second `getFeed`, a gzip XML processing report; a processed acknowledgement cancels the
    order's items, a processed adjustment records its components."""

    def __init__(self) -> None:
        super().__init__()
        self.api.route("POST", f"{FEEDS}/documents", self.create_document)
        self.api.route("GET", rf"{FEEDS}/documents/([\w.-]+)", self.get_document)
        self.api.route("POST", f"{FEEDS}/feeds", self.create_feed)
        self.api.route("GET", rf"{FEEDS}/feeds/(\d+)", self.get_feed)
        self.api.route("PUT", r"/storage/in/([\w.-]+)", self.upload)
        self.api.route("GET", r"/storage/out/([\w.-]+)", self.download)

    def reset(self) -> None:
        super().reset()
        self.uploads: dict[str, bytes] = {}
        self.feeds: dict[str, dict[str, Any]] = {}
        self.reports: dict[str, bytes] = {}
        self.cancelled: dict[str, list[tuple[str, str]]] = {}  # order -> (item, reason)
        self.acknowledged: dict[str, list[str]] = {}  # order -> each acknowledgement's StatusCode
        self.adjustments: list[dict[str, Any]] = []
        self.refunded: dict[tuple[str, str], Decimal] = {}  # (item, component) -> refunded so far
        self.refuse: str = ""  # the next feed's report carries this error
        self.lose_feed_answers = 0  # make the feed, then answer 500

    def create_document(self, seen: Seen) -> Answer:
        if refused := self._refused(seen, rate="0.5"):
            return refused
        assert seen.json == {"contentType": "text/xml; charset=UTF-8"}
        doc = f"amzn1.tortuga.4.na.in-{len(self.uploads) + 1}"
        self.uploads[doc] = b""
        return Answer(201, {"feedDocumentId": doc, "url": f"{seen.storage_url}/storage/in/{doc}"})

    def upload(self, seen: Seen) -> Answer:
        doc = seen.path.rsplit("/", 1)[1]
        assert "x-amz-access-token" not in seen.headers  # a pre-signed URL takes no SP-API token
        assert seen.headers["content-type"] == "text/xml; charset=UTF-8"
        self.uploads[doc] = seen.body
        return Answer(200, b"", content_type="text/plain")

    def create_feed(self, seen: Seen) -> Answer:
        if refused := self._refused(seen, rate="0.0083"):
            return refused
        body = seen.json
        assert body["marketplaceIds"] == ["ATVPDKIKX0DER"]
        assert body["feedType"] in ("POST_ORDER_ACKNOWLEDGEMENT_DATA", "POST_PAYMENT_ADJUSTMENT_DATA")
        if not self.uploads.get(body["inputFeedDocumentId"]):
            return Answer(
                400, {"errors": [{"code": "InvalidInput", "message": "Invalid input feed document"}]}
            )
        feed_id = str(50000 + len(self.feeds) + 1)
        self.feeds[feed_id] = {"type": body["feedType"], "document": body["inputFeedDocumentId"], "reads": 0}
        if self.lose_feed_answers:
            self.lose_feed_answers -= 1
            self._process(feed_id)
            return Answer(
                500, {"errors": [{"code": "InternalFailure", "message": "We encountered an error"}]}
            )
        return Answer(202, {"feedId": feed_id}, headers={"x-amzn-RateLimit-Limit": "0.0083"})

    def get_feed(self, seen: Seen) -> Answer:
        if refused := self._refused(seen, rate="2.0"):
            return refused
        feed_id = seen.path.rsplit("/", 1)[1]
        feed = self.feeds[feed_id]
        feed["reads"] += 1
        answer: dict[str, Any] = {"feedId": feed_id, "feedType": feed["type"], "marketplaceIds": ["ATVPDKIKX0DER"],
                                  "createdTime": "2026-12-01T12:00:00Z", "processingStatus": "IN_QUEUE"}  # fmt: skip
        if feed["reads"] >= 2:
            self._process(feed_id)
            answer |= {
                "processingStatus": "DONE",
                "resultFeedDocumentId": f"amzn1.tortuga.4.na.out-{feed_id}",
            }
        return Answer(200, answer, headers={"x-amzn-RateLimit-Limit": "2.0"})

    def get_document(self, seen: Seen) -> Answer:
        if refused := self._refused(seen, rate="0.0222"):
            return refused
        doc = seen.path.rsplit("/", 1)[1]
        url = f"{seen.storage_url}/storage/out/{doc}"
        return Answer(200, {"feedDocumentId": doc, "url": url, "compressionAlgorithm": "GZIP"})

    def download(self, seen: Seen) -> Answer:
        feed_id = seen.path.rsplit("-", 1)[1]
        return Answer(200, gzip.compress(self.reports[feed_id]), content_type="application/octet-stream")

    def _process(self, feed_id: str) -> None:
        feed = self.feeds[feed_id]
        if feed_id in self.reports:
            return
        root = ET.fromstring(self.uploads[feed["document"]])
        assert root.findtext("Header/MerchantIdentifier") == "A2SELLER0001"
        error, self.refuse = self.refuse, ""
        if not error and feed["type"] == "POST_ORDER_ACKNOWLEDGEMENT_DATA":
            ack = root.find("Message/OrderAcknowledgement")
            assert ack is not None and ack.findtext("StatusCode") in ("Failure", "Success")
            order = str(ack.findtext("AmazonOrderID"))
            self.acknowledged.setdefault(order, []).append(str(ack.findtext("StatusCode")))
            self.cancelled.setdefault(order, []).extend(
                (str(i.findtext("AmazonOrderItemCode")), str(i.findtext("CancelReason")))
                for i in ack.iter("Item")
            )
        elif not error:
            adjustment = root.find("Message/OrderAdjustment")
            assert adjustment is not None
            error = self._over_refunded(adjustment)
            if not error:
                self.adjustments.append(_adjustment(adjustment))
        self.reports[feed_id] = _report(error)

    def _over_refunded(self, adjustment: ET.Element) -> str:
        """Amazon refuses an adjustment that asks an item for more of a component than it charged, less what was
        refunded of it before."""
        order = str(adjustment.findtext("AmazonOrderID"))
        fields = {"Principal": "ItemPrice", "Shipping": "ShippingPrice", "Tax": "ItemTax"}
        items = {i["OrderItemId"]: i for i in self.items[order]}
        asked: dict[tuple[str, str], Decimal] = {}
        for adjusted in adjustment.iter("AdjustedItem"):
            item = str(adjusted.findtext("AmazonOrderItemCode"))
            for component in adjusted.iter("Component"):
                name = str(component.findtext("Type"))
                asked[item, name] = asked.get((item, name), Decimal(0)) + Decimal(
                    str(component.findtext("Amount"))
                )
        for (item, name), amount in asked.items():
            charged = Decimal(items[item].get(fields[name], {}).get("Amount", "0"))
            done = self.refunded.get((item, name), Decimal(0))
            if done + amount > charged:
                return f"The adjustment of {name} on item {item} exceeds the amount charged"
        for key, amount in asked.items():
            self.refunded[key] = self.refunded.get(key, Decimal(0)) + amount
        return ""


def _adjustment(adjustment: ET.Element) -> dict[str, Any]:
    return {
        "order": adjustment.findtext("AmazonOrderID"),
        "items": [
            {
                "item": a.findtext("AmazonOrderItemCode"),
                "mark": a.findtext("MerchantAdjustmentItemID"),
                "reason": a.findtext("AdjustmentReason"),
                "components": {
                    str(c.findtext("Type")): (
                        Decimal(str(c.findtext("Amount"))),
                        c.find("Amount").get("currency"),  # type: ignore[union-attr]
                    )
                    for c in a.iter("Component")
                },
            }
            for a in adjustment.iter("AdjustedItem")
        ],
    }


def _report(error: str) -> bytes:
    result = (
        "<Result><MessageID>1</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>18028</ResultMessageCode>"
        f"<ResultDescription>{error}</ResultDescription></Result>"
        if error
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header><DocumentVersion>1.02</DocumentVersion>'
        "<MerchantIdentifier>A2SELLER0001</MerchantIdentifier></Header><MessageType>ProcessingReport</MessageType>"
        "<Message><MessageID>1</MessageID><ProcessingReport><DocumentTransactionID>1</DocumentTransactionID>"
        "<StatusCode>Complete</StatusCode><ProcessingSummary><MessagesProcessed>1</MessagesProcessed>"
        f"<MessagesSuccessful>{0 if error else 1}</MessagesSuccessful>"
        f"<MessagesWithError>{1 if error else 0}</MessagesWithError>"
        f"<MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>{result}</ProcessingReport></Message>"
        "</AmazonEnvelope>"
    ).encode()


@pytest.fixture(scope="module")
def amazon() -> Iterator[AmazonFeedsStub]:
    stub = AmazonFeedsStub()
    with serving(stub.api):
        yield stub


@pytest.fixture(autouse=True)
def _cancelled_money_goes_back() -> None:
    payments.register()  # a cancelled order's money goes back (its refund is what Amazon must not be sent)


def _imported(shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock) -> OrderRow:
    amazon.add(ORDER_ID, updated=START + timedelta(seconds=30))
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    (row,) = _orders(shop)
    amazon.api.seen.clear()
    return row


def _settle(shop: UnitOfWork, clock: FixedClock, *, minutes: int = 2) -> None:
    """Relay events and run jobs while the clock moves on past each feed check."""
    for _ in range(minutes):
        _relay(shop)
        _drain(shop.db)
        clock.advance(timedelta(seconds=61))
    _relay(shop)
    _drain(shop.db)


def _feed_calls(amazon: AmazonFeedsStub) -> list[Seen]:
    return amazon.calls(f"{FEEDS}/feeds")


def test_an_order_we_cancel_is_cancelled_on_amazon_by_acknowledgement_and_not_refunded_again(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock
) -> None:
    # given an Amazon order we imported (its money recorded as collected by Amazon)
    row = _imported(shop, amazon, clock)
    # when we cancel it because the stock never came
    orders.cancel_order(shop, ref=row.number, reason="out of stock at the supplier")
    _settle(shop, clock)
    # then one acknowledgement feed cancels the item still to ship (not the one the buyer cancelled), with Amazon's
    # reason; no adjustment feed goes out: Amazon never charged the buyer for an order it did not ship
    assert amazon.cancelled == {ORDER_ID: [("0000101", "NoInventory")]}
    assert [f["type"] for f in amazon.feeds.values()] == ["POST_ORDER_ACKNOWLEDGEMENT_DATA"]
    assert amazon.adjustments == []
    health = channels.connector_health(shop, code="amz")
    assert health.dead_letters_open == 0 and health.last_success_at is not None
    # and the refund of its money is recorded here (the marketplace's tender)
    (tender,) = payments.order_payments(shop, order_id=row.id)
    assert tender.refunded == tender.captured


def test_a_refund_is_an_adjustment_over_price_and_shipping_net_of_the_tax_amazon_collects(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock
) -> None:
    # given an imported order: 40.00 for two tees, 4.00 shipping, 3.30 tax Amazon collected (47.30)
    row = _imported(shop, amazon, clock)
    # when we give back 23.65 for one returned tee (half the order, its tax included)
    payments.refund_order(
        shop, order_id=row.id, amount=Money(Decimal("23.65"), "USD"), reason="customer return"
    )
    _settle(shop, clock)
    # then one adjustment: 22.00 of price and shipping (Amazon refunds the 1.65 tax with it), as a customer return
    (adjustment,) = amazon.adjustments
    (item,) = adjustment["items"]
    assert (adjustment["order"], item["item"], item["reason"]) == (ORDER_ID, "0000101", "CustomerReturn")
    assert item["components"] == {"Principal": (Decimal("22.00"), "USD")}
    assert item["mark"].startswith("os-")
    assert len(_feed_calls(amazon)) == 1
    assert channels.connector_health(shop, code="amz").dead_letters_open == 0


def test_partial_refunds_each_take_the_next_stretch_of_the_items_so_amazon_takes_them_all(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock
) -> None:
    # given an imported order (40.00 price, 4.00 shipping, 3.30 tax Amazon collects)
    row = _imported(shop, amazon, clock)
    # when we refund 23.65, then 23.65 again (all of it, in two refunds queued before either goes out)
    for reason in ("first return", "second return"):
        payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("23.65"), "USD"), reason=reason)
    _settle(shop, clock, minutes=3)
    # then the second starts where the first stopped: Amazon takes both, 40.00 of price and 4.00 of shipping (the
    # two jobs may go out in either order: each stretch was fixed when its refund was queued)
    sent = [[i["components"] for i in a["items"]] for a in amazon.adjustments]
    assert sorted(sent, key=repr) == sorted(
        [
            [{"Principal": (Decimal("22.00"), "USD")}],
            [{"Principal": (Decimal("18.00"), "USD"), "Shipping": (Decimal("4.00"), "USD")}],
        ],
        key=repr,
    )
    assert channels.connector_health(shop, code="amz").dead_letters_open == 0


def _two_items(shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock) -> OrderRow:
    """An imported order of two tees (item 0000101, our line 1) and a mug (item 0000102, our line 2)."""
    amazon.add(ORDER_ID, updated=START + timedelta(seconds=30))
    mug = amazon.items[ORDER_ID][1]
    mug.update(QuantityOrdered=1, ItemPrice={"CurrencyCode": "USD", "Amount": "12.00"})
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    (row,) = _orders(shop)
    amazon.api.seen.clear()
    return row


def test_a_line_we_cancel_whole_is_cancelled_on_amazon_by_its_item_and_the_order_goes_on(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock
) -> None:
    # given an imported order of two tees and a mug
    row = _two_items(shop, amazon, clock)
    # when we cancel the mug (out of stock), the tees still to ship
    orders.cancel_order(shop, ref=row.number, reason="out of stock at the supplier", lines={2: 1})
    _settle(shop, clock)
    # then one acknowledgement that succeeds for the order and cancels the mug's item only, with Amazon's reason
    assert amazon.acknowledged == {ORDER_ID: ["Success"]}
    assert amazon.cancelled == {ORDER_ID: [("0000102", "NoInventory")]}
    assert amazon.adjustments == []
    assert channels.connector_health(shop, code="amz").dead_letters_open == 0


def test_part_of_an_amazon_item_s_units_cancelled_goes_to_a_person_and_nothing_is_sent(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock
) -> None:
    # given an imported order of two tees and a mug
    row = _two_items(shop, amazon, clock)
    # when we cancel one of the two tees
    orders.cancel_order(shop, ref=row.number, reason="one damaged", lines={1: 1})
    _settle(shop, clock)
    # then nothing is submitted (the acknowledgement cancels whole items): a dead letter says what to do
    assert amazon.feeds == {} and amazon.cancelled == {}
    (letter,) = channels.list_dead_letters(shop, connector="amz").items
    assert letter.payload["kind"] == "cancel_lines"
    assert "whole items only" in letter.error and "Seller Central" in letter.error


def _returned(shop: UnitOfWork, row: OrderRow, clock: FixedClock, *, line: int) -> orders.Return:
    """The order shipped, then one unit of our line `line` returned and received (restocked)."""
    orders.record_shipment(shop, ref=row.number)
    clock.advance(timedelta(days=3))
    rma = orders.authorize_return(
        shop, order_ref=row.number, lines=[orders.ReturnLineRequest(line, 1, "damaged")]
    )
    return orders.receive_return(
        shop, ref=rma.number, location="WEST", lines=[orders.ReceivedLine(line, 1, "restock")]
    )


def test_a_return_s_refund_goes_to_the_item_returned_even_after_an_earlier_refund_took_from_the_first(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock
) -> None:
    # given an imported order of two tees (40.00, 4.00 shipping, 3.30 tax Amazon collects) and a mug (12.00, no
    # tax), and a goodwill refund of 10.00 already sent (it takes from the tees, the first item)
    row = _two_items(shop, amazon, clock)
    payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("10.00"), "USD"), reason="goodwill")
    _settle(shop, clock)
    # when the mug comes back and its refund is made for that return
    returned = _returned(shop, row, clock, line=2)
    payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("12.00"), "USD"), reason="customer return",
                          return_id=returned.id)  # fmt: skip
    _settle(shop, clock)
    # then the first adjustment took 9.30 of the tees' price (Amazon adds its tax), the second all of the mug's
    # price from the mug — not from the tees, which Amazon would refuse once they had nothing left — as a return
    goodwill, mug = amazon.adjustments
    assert [(i["item"], i["components"]) for i in goodwill["items"]] == [
        ("0000101", {"Principal": (Decimal("9.30"), "USD")})
    ]
    assert [(i["item"], i["reason"], i["components"]) for i in mug["items"]] == [
        ("0000102", "CustomerReturn", {"Principal": (Decimal("12.00"), "USD")})
    ]
    assert channels.connector_health(shop, code="amz").dead_letters_open == 0


def test_a_return_s_refund_beyond_the_returned_units_goes_on_over_the_items_in_amazon_s_order(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock
) -> None:
    # given an imported order of two tees and a mug, one tee returned
    row = _two_items(shop, amazon, clock)
    returned = _returned(shop, row, clock, line=1)
    # when its refund is 23.65 plus 12.00 more (a mug the customer kept, refunded with it)
    payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("35.65"), "USD"), reason="customer return",
                          return_id=returned.id)  # fmt: skip
    _settle(shop, clock)
    # then one adjustment: the returned tee's share of its item (20.00 price and 2.00 shipping, which with Amazon's
    # tax make 23.65), the rest from the items in Amazon's order: what the tees have left first
    (adjustment,) = amazon.adjustments
    assert [(i["item"], i["components"]) for i in adjustment["items"]] == [
        ("0000101", {"Principal": (Decimal("31.16"), "USD"), "Shipping": (Decimal("2.00"), "USD")}),
    ]
    assert channels.connector_health(shop, code="amz").dead_letters_open == 0


def test_amazon_reasons_and_feed_checks_in_the_config_are_checked_and_a_bad_one_changes_nothing(
    shop: UnitOfWork,
) -> None:
    config = dict(channels.get_connector(shop, code="amz").config)
    credentials = {"client_id": "c", "client_secret": "s", "refresh_token": "r"}
    for key, value in (("cancel_reason", "Whim"), ("refund_reason", "NoInventoryy"), ("feed_check_s", 0)):
        with pytest.raises(ValidationFailed) as refused:
            channels.create_connector(shop, code="amz-2", kind="amazon", sales_channel="amazon", name="Amazon 2",
                                      config=config | {key: value}, credentials=credentials)  # fmt: skip
        assert [e.field for e in refused.value.errors] == [f"config.{key}"]
    assert [c.code for c in channels.list_connectors(shop).items] == ["amz"]
    made = channels.create_connector(shop, code="amz-2", kind="amazon", sales_channel="amazon", name="Amazon 2",
                                     config=config | {"cancel_reason": "CustomerExchange", "feed_check_s": 5},
                                     credentials=credentials)  # fmt: skip
    assert (made.config["cancel_reason"], made.config["feed_check_s"]) == ("CustomerExchange", 5)


def test_a_change_amazon_refuses_in_its_report_is_dead_lettered_and_replayed_as_a_new_feed(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock
) -> None:
    # given an imported order, and Amazon's processing refusing the next feed
    row = _imported(shop, amazon, clock)
    amazon.refuse = "The order has already been shipped"
    # when we refund 10.00 of it
    payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("10.00"), "USD"), reason="goodwill")
    _settle(shop, clock)
    # then it is dead-lettered with Amazon's words, nothing refunded there
    (letter,) = channels.list_dead_letters(shop, connector="amz").items
    assert letter.operation == "push_order_change" and letter.reference == ORDER_ID
    assert "18028 The order has already been shipped" in letter.error and amazon.adjustments == []
    # and a replay submits a fresh feed that goes through
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _settle(shop, clock)
    (adjustment,) = amazon.adjustments
    assert adjustment["items"][0]["components"] == {"Principal": (Decimal("9.30"), "USD")}
    assert adjustment["items"][0]["reason"] == "GeneralAdjustment"
    assert len(_feed_calls(amazon)) == 2


def test_a_refund_whose_submission_answer_is_lost_is_never_submitted_again_by_itself(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock
) -> None:
    # given an imported order, and Amazon taking the next feed but answering 500
    row = _imported(shop, amazon, clock)
    amazon.lose_feed_answers = 1
    # when we refund 10.00 and the jobs run on for a while
    payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("10.00"), "USD"), reason="goodwill")
    _settle(shop, clock, minutes=10)
    # then Amazon was asked once (and refunded once); a person is told to check Seller Central before replaying
    assert len(_feed_calls(amazon)) == 1 and len(amazon.adjustments) == 1
    (letter,) = channels.list_dead_letters(shop, connector="amz").items
    assert "check its refunds on Seller Central before replaying" in letter.error


def test_a_cancellation_throttled_or_unavailable_at_submission_is_sent_again_and_done_once(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock
) -> None:
    # given an imported order, and Amazon answering 503 to the next feed submission
    row = _imported(shop, amazon, clock)
    amazon.unavailable = {f"{FEEDS}/feeds": 1}
    # when we cancel it
    orders.cancel_order(shop, ref=row.number, reason="customer called to cancel")
    _settle(shop, clock, minutes=12)
    # then the submission is retried after its back-off and the order cancelled on Amazon once
    assert amazon.cancelled == {ORDER_ID: [("0000101", "BuyerCanceled")]}
    assert len(_feed_calls(amazon)) == 2 and len(amazon.feeds) == 1
    assert channels.connector_health(shop, code="amz").dead_letters_open == 0


def test_a_worker_dying_while_submitting_a_refund_leaves_it_for_a_person_not_for_a_second_refund(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an imported order whose refund job's worker dies inside the submission
    row = _imported(shop, amazon, clock)

    def dies(self: AmazonConnector, access: Any, step: Any) -> Any:
        raise KeyboardInterrupt  # the process stops: nothing after this line runs, no transaction records it

    monkeypatch.setattr(AmazonConnector, "submit_change", dies)
    payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("10.00"), "USD"), reason="goodwill")
    _relay(shop)
    with pytest.raises(KeyboardInterrupt):
        _drain(shop.db)
    monkeypatch.undo()
    # when the job's lease and the push's claim lapse and another worker picks the job up
    clock.advance(timedelta(minutes=30))
    _settle(shop, clock)
    # then nothing is submitted: the push is dead-lettered for a person to check on Amazon first
    assert _feed_calls(amazon) == []
    (letter,) = channels.list_dead_letters(shop, connector="amz").items
    assert letter.error == order_changes_out.UNCERTAIN


def test_a_defect_in_the_connector_is_retried_then_dead_lettered_never_left_claimed(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an imported order, and a connector whose preparation fails with something that is not a CallFailed
    row = _imported(shop, amazon, clock)

    def broken(self: AmazonConnector, access: Any, notice: Any) -> Any:
        raise KeyError("OrderItems")

    monkeypatch.setattr(AmazonConnector, "prepare_change", broken)
    # when we cancel it and the jobs run on through their back-off
    orders.cancel_order(shop, ref=row.number, reason="fraud")
    for _ in range(8):
        _settle(shop, clock, minutes=1)
        clock.advance(timedelta(minutes=30))
    # then it was tried five times and dead-lettered with the error, for a person (not left claimed, silently)
    (letter,) = channels.list_dead_letters(shop, connector="amz").items
    assert letter.payload["kind"] == "cancel" and "KeyError" in letter.error and letter.attempts == 5
    # and once the connector is fixed, the replay goes out
    monkeypatch.undo()
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _settle(shop, clock)
    assert ORDER_ID in amazon.cancelled


def test_a_defect_while_submitting_a_refund_leaves_it_for_a_person(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an imported order, and a submission failing with something that is not a CallFailed
    row = _imported(shop, amazon, clock)

    def broken(self: AmazonConnector, access: Any, step: Any) -> Any:
        raise ValueError("bad feed id")

    monkeypatch.setattr(AmazonConnector, "submit_change", broken)
    payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("10.00"), "USD"), reason="goodwill")
    _settle(shop, clock)
    # then it is dead-lettered at once as uncertain, never submitted again by itself
    (letter,) = channels.list_dead_letters(shop, connector="amz").items
    assert order_changes_out.UNCERTAIN in letter.error and "ValueError" in letter.error


def test_a_job_finding_the_push_held_comes_back_when_the_claim_lapses_and_takes_it_over(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock
) -> None:
    # given a cancellation whose push another worker claimed and then died holding (no outcome recorded)
    row = _imported(shop, amazon, clock)
    orders.cancel_order(shop, ref=row.number, reason="fraud")
    _relay(shop)
    (due,) = [j for j in jobs.list_jobs(shop, status="queued").items if j.kind == order_changes_out.JOB]
    assert order_changes_out._claim(shop, payload=dict(due.payload)) == "taken"  # the worker that died
    # when the queued job runs while that claim still holds
    _drain(shop.db)
    assert amazon.cancelled == {}
    # then it comes back once the claim lapses, and the cancellation goes out
    clock.advance(order_changes_out.CLAIM + timedelta(seconds=2))
    _settle(shop, clock)
    assert ORDER_ID in amazon.cancelled


def test_two_workers_running_the_same_refund_at_once_submit_one_feed(
    shop: UnitOfWork, amazon: AmazonFeedsStub, clock: FixedClock
) -> None:
    # given an imported order and its refund queued (the job's payload taken before any worker runs it)
    row = _imported(shop, amazon, clock)
    payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("10.00"), "USD"), reason="goodwill")
    _relay(shop)
    (due,) = [j for j in jobs.list_jobs(shop, status="queued").items if j.kind == order_changes_out.JOB]
    # when two workers run it at the same moment
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run() -> None:
        barrier.wait()
        outcomes.append(
            order_changes_out.push_order_change(shop.db.unit_of_work(shop.actor), dict(due.payload))
        )

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one of them submitted the feed, the other stood aside; the refund is made once
    assert sorted(outcomes) == ["later", "skipped"]
    assert len(_feed_calls(amazon)) == 1


def test_amazons_processing_report_names_each_error_and_ignores_warnings() -> None:
    warning = _report("").replace(
        b"<MessagesWithWarning>0</MessagesWithWarning>", b"<MessagesWithWarning>1</MessagesWithWarning>"
    )
    assert processing_errors(warning) == []
    assert processing_errors(_report("Invalid AmazonOrderItemCode")) == ["18028 Invalid AmazonOrderItemCode"]
