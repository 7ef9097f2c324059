"""Our cancellation of an eBay order goes out through the Post-Order API, on SQLite and PostgreSQL, against a
loopback stub of its documented cancellation calls (`POST /post-order/v2/cancellation` with the OAuth token as
`IAF`, the marketplace as `EBAY-US`, the seller's reason and the buyer's payment date; `…/{cancelId}/approve`):
cancelled there once — a lost answer retried finds the cancellation under way instead of asking again — with no
refund sent on top (eBay refunds the buyer when the cancellation closes); a buyer's open request is approved; an
order eBay shows shipped is dead-lettered for a person."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from ordersmith.channels import service as channels
from ordersmith.channels.connectors.ebay_post_order import SELLER_REASONS
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform.db import UnitOfWork
from tests.integration.test_channels_ebay import (
    JWE,
    ORDERS,
    EbayStub,
    _credentials,
    _drain,
    _imported,
    _relay,
    _signing_key,
)
from tests.integration.test_channels_ebay import clock as clock  # fixtures
from tests.integration.test_channels_ebay import shop as shop
from tests.support import ebay_signatures
from tests.support.http_stub import Answer, Seen, serving

CANCELLATION = "/post-order/v2/cancellation"
ORDER_ID = "26-09000-00001"
PAID_AT = "2026-12-01T09:00:00.000Z"


class EbayPostOrderStub(EbayStub):
    """The eBay stub with the Post-Order API's cancellations: a seller's cancellation is approved at once and
    closed with the buyer's full refund (listed under the order's `paymentSummary.refunds`); its token comes as
    `IAF`, its marketplace in the Post-Order spelling."""

    def __init__(self) -> None:
        super().__init__()
        self.api.route("POST", CANCELLATION, self.create_cancellation)
        self.api.route("POST", rf"{CANCELLATION}/(\d+)/approve", self.approve)

    def reset(self) -> None:
        super().reset()
        self.cancellations: list[dict[str, Any]] = []
        self.approved: list[str] = []
        self.lose_cancel_answers = 0

    def _post_order_refused(self, seen: Seen) -> Answer | None:
        scheme, _, token = seen.headers.get("authorization", "").partition(" ")
        if scheme != "IAF":
            return Answer(401, {"error": [{"errorId": 1001, "message": "Invalid access token"}]})
        seen.headers["authorization"] = f"Bearer {token}"
        if seen.headers.get("x-ebay-c-marketplace-id") != "EBAY-US":
            return Answer(400, {"error": [{"errorId": 1400, "message": "Invalid marketplace id"}]})
        if self.eu_seller_key is not None and (unsigned := ebay_signatures.refusal(seen, self.eu_seller_key)):
            return Answer(400, {"error": [{"errorId": unsigned[0], "message": unsigned[1]}]})
        return self._refused(seen)

    def create_cancellation(self, seen: Seen) -> Answer:
        if refused := self._post_order_refused(seen):
            return refused
        body = seen.json
        (order,) = [o for o in self.orders.values() if o["legacyOrderId"] == body["legacyOrderId"]]
        if body.get("cancelReason") not in SELLER_REASONS:
            return Answer(400, {"error": [{"errorId": 1700, "message": "Invalid cancel reason"}]})
        assert body["buyerPaid"] is (order["orderPaymentStatus"] == "PAID")
        if body["buyerPaid"]:
            assert body["buyerPaidDate"] == {"value": PAID_AT}
        if order["orderFulfillmentStatus"] == "FULFILLED":
            return Answer(
                200, {"orderEligibilityResult": {"eligible": False, "failureReason": ["ORDER_SHIPPED"]}}
            )
        cancel_id = str(5000000000 + len(self.cancellations) + 1)
        self.cancellations.append(body | {"cancelId": cancel_id})
        self._close(order, cancel_id, "SELLER")
        if self.lose_cancel_answers:
            self.lose_cancel_answers -= 1
            return Answer(500, {"error": [{"errorId": 1500, "message": "Internal error"}]})
        return Answer(201, {"cancelId": cancel_id})

    def approve(self, seen: Seen) -> Answer:
        if refused := self._post_order_refused(seen):
            return refused
        cancel_id = seen.path.split("/")[-2]
        for order in self.orders.values():
            requests = order["cancelStatus"]["cancelRequests"]
            if any(r["cancelRequestId"] == cancel_id for r in requests):
                self.approved.append(cancel_id)
                self._close(order, cancel_id, "BUYER")
                return Answer(200, b"", content_type="text/plain")
        return Answer(404, {"error": [{"errorId": 1404, "message": "Cancellation not found"}]})

    def _close(self, order: dict[str, Any], cancel_id: str, initiator: str) -> None:
        """The cancellation closed: the order cancelled, the buyer refunded what is left of the total."""
        order["cancelStatus"] = {
            "cancelState": "CANCELED",
            "cancelledDate": "2026-12-01T13:00:00.000Z",
            "cancelRequests": [
                {
                    "cancelRequestId": cancel_id,
                    "cancelInitiator": initiator,
                    "cancelRequestState": "COMPLETED",
                }
            ],
        }
        made = self.refunds.setdefault(order["orderId"], [])
        left = Decimal(order["pricingSummary"]["total"]["value"]) - sum(
            (Decimal(r["amount"]["value"]) for r in made), Decimal(0)
        )
        made.append({"refundId": f"6{len(made):09d}", "refundStatus": "REFUNDED",
                     "amount": {"value": str(left), "currency": "USD"}, "refundReferenceId": "",
                     "refundDate": "2026-12-01T13:00:00.000Z"})  # fmt: skip


@pytest.fixture(scope="module")
def ebay() -> Iterator[EbayPostOrderStub]:
    stub = EbayPostOrderStub()
    with serving(stub.api):
        yield stub


@pytest.fixture(autouse=True)
def _cancelled_money_goes_back() -> None:
    payments.register()  # a cancelled order's money goes back (its refund is what eBay must not be sent)


def _paid(ebay: EbayPostOrderStub, order_id: str) -> None:
    ebay.orders[order_id]["paymentSummary"]["payments"] = [
        {"paymentMethod": "EBAY", "paymentDate": PAID_AT, "paymentStatus": "PAID"}
    ]


def _settle(shop: UnitOfWork, clock: FixedClock) -> None:
    for _ in range(3):
        _relay(shop)
        _drain(shop.db)
        clock.advance(timedelta(minutes=5))  # a retry's back-off


def test_an_order_we_cancel_is_cancelled_on_ebay_once_and_its_money_not_refunded_again_by_us(
    shop: UnitOfWork, ebay: EbayPostOrderStub, clock: FixedClock
) -> None:
    # given an imported eBay order the buyer paid
    row = _imported(shop, ebay, clock, ORDER_ID)
    _paid(ebay, ORDER_ID)
    # when we cancel it because the stock never came
    orders.cancel_order(shop, ref=row.number, reason="out of stock at the supplier")
    _settle(shop, clock)
    # then eBay is asked once: the whole order, our reason in eBay's words, the buyer's payment date
    (sent,) = ebay.cancellations
    assert (sent["legacyOrderId"], sent["cancelReason"]) == (
        f"1105512{ORDER_ID[-5:]}-0",
        "OUT_OF_STOCK_OR_CANNOT_FULFILL",
    )
    # and no refund is issued by us on top: eBay refunded the buyer itself when the cancellation closed
    assert ebay.calls("POST", f"{ORDERS}/{ORDER_ID}/issue_refund") == []
    assert [r["refundStatus"] for r in ebay.refunds[ORDER_ID]] == ["REFUNDED"]
    (tender,) = payments.order_payments(shop, order_id=row.id)
    assert tender.refunded == tender.captured
    assert channels.connector_health(shop, code="ebay-us").dead_letters_open == 0


def test_a_cancellation_whose_answer_is_lost_is_found_under_way_when_retried_and_not_asked_again(
    shop: UnitOfWork, ebay: EbayPostOrderStub, clock: FixedClock
) -> None:
    # given an imported order, and eBay losing the answer to the next cancellation it makes
    row = _imported(shop, ebay, clock, ORDER_ID)
    _paid(ebay, ORDER_ID)
    ebay.lose_cancel_answers = 1
    # when a customer calls to cancel it
    orders.cancel_order(shop, ref=row.number, reason="customer called to cancel")
    _settle(shop, clock)
    # then the retry read the order cancelled on eBay and asked nothing more
    assert len(ebay.calls("POST", CANCELLATION)) == 1
    assert ebay.cancellations[0]["cancelReason"] == "BUYER_ASKED_CANCEL"
    assert channels.connector_health(shop, code="ebay-us").dead_letters_open == 0


def test_a_buyers_open_cancellation_request_is_approved_instead_of_a_second_one_made(
    shop: UnitOfWork, ebay: EbayPostOrderStub, clock: FixedClock
) -> None:
    # given an imported order whose buyer has asked eBay to cancel it
    row = _imported(shop, ebay, clock, ORDER_ID)
    ebay.orders[ORDER_ID]["cancelStatus"] = {
        "cancelState": "IN_PROGRESS",
        "cancelRequests": [
            {"cancelRequestId": "5000000777", "cancelInitiator": "BUYER", "cancelRequestState": "REQUESTED"}
        ],
    }
    # when we cancel it here
    orders.cancel_order(shop, ref=row.number, reason="customer asked")
    _settle(shop, clock)
    # then the buyer's request is approved, and no cancellation of ours is made
    assert ebay.approved == ["5000000777"] and ebay.cancellations == []
    assert ebay.orders[ORDER_ID]["cancelStatus"]["cancelState"] == "CANCELED"


def test_an_order_ebay_shows_shipped_is_dead_lettered_for_a_person_not_cancelled(
    shop: UnitOfWork, ebay: EbayPostOrderStub, clock: FixedClock
) -> None:
    # given an imported order that eBay shows fulfilled (shipped outside Ordersmith)
    row = _imported(shop, ebay, clock, ORDER_ID)
    ebay.orders[ORDER_ID]["orderFulfillmentStatus"] = "FULFILLED"
    # when we cancel it here
    orders.cancel_order(shop, ref=row.number, reason="fraud")
    _settle(shop, clock)
    # then nothing is asked of eBay's Post-Order API; a person is told to take it back as a return
    assert ebay.calls("POST", CANCELLATION) == []
    (letter,) = channels.list_dead_letters(shop, connector="ebay-us").items
    assert letter.payload["kind"] == "cancel" and "take it back as a return" in letter.error


def test_an_order_ebay_finds_ineligible_is_dead_lettered_with_ebays_reason(
    shop: UnitOfWork, ebay: EbayPostOrderStub, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an imported order eBay will refuse to cancel (its own eligibility check)
    row = _imported(shop, ebay, clock, ORDER_ID)
    original = ebay.create_cancellation

    def ineligible(seen: Seen) -> Answer:
        if refused := ebay._post_order_refused(seen):
            return refused
        return Answer(
            200, {"orderEligibilityResult": {"eligible": False, "failureReason": ["CANCEL_PERIOD_EXPIRED"]}}
        )

    # (for this test only: the stub serves the whole module)
    monkeypatch.setattr(
        ebay.api, "routes", [(m, p, ineligible if h == original else h) for m, p, h in ebay.api.routes]
    )
    # when we cancel it
    orders.cancel_order(shop, ref=row.number, reason="fraud")
    _settle(shop, clock)
    # then it is dead-lettered with eBay's reason
    (letter,) = channels.list_dead_letters(shop, connector="ebay-us").items
    assert "CANCEL_PERIOD_EXPIRED" in letter.error


def test_a_cancel_reason_ebay_does_not_take_is_refused_by_its_field_and_nothing_is_made(
    shop: UnitOfWork, ebay: EbayPostOrderStub
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        channels.create_connector(
            shop,
            code="ebay-2",
            kind="ebay",
            sales_channel="ebay",
            name="eBay 2",
            config={"shipping_method": "ground", "cancel_reason": "ORDER_MISTAKE"},
            credentials={"client_id": "c", "client_secret": "s", "refresh_token": "r"},
        )
    assert [e.field for e in refused.value.errors] == ["config.cancel_reason"]
    assert [c.code for c in channels.list_connectors(shop).items] == ["ebay-us"]


def test_an_eu_seller_s_cancellation_goes_out_signed_and_without_a_key_is_refused_by_ebay(
    shop: UnitOfWork, ebay: EbayPostOrderStub, clock: FixedClock
) -> None:
    # given two imported, paid orders of a UK seller, eBay checking signatures for that seller
    key, private = _signing_key()
    ebay.eu_seller_key = key.public_key()
    first, second = (_imported(shop, ebay, clock, n) for n in (ORDER_ID, "26-09000-00002"))
    for order_id in (ORDER_ID, "26-09000-00002"):
        _paid(ebay, order_id)
    # when we cancel the first while the connector holds no signing keypair
    orders.cancel_order(shop, ref=first.number, reason="out of stock")
    _settle(shop, clock)
    # then eBay refuses it and a person sees why; nothing is cancelled there
    assert ebay.cancellations == []
    (letter,) = channels.list_dead_letters(shop, connector="ebay-us").items
    assert "Signature validation failed" in letter.error
    # when the seller's keypair is put on the connector and the second is cancelled
    channels.set_credentials(shop, code="ebay-us", credentials=_credentials(signing_key_jwe=JWE,
                                                                             signing_private_key=private))  # fmt: skip
    orders.cancel_order(shop, ref=second.number, reason="out of stock")
    _settle(shop, clock)
    # then it went out signed and eBay cancelled it
    (made,) = ebay.cancellations
    assert made["legacyOrderId"] == ebay.orders["26-09000-00002"]["legacyOrderId"]
    (sent,) = ebay.calls("POST", CANCELLATION)[-1:]
    assert ebay_signatures.refusal(sent, key.public_key()) is None
