"""The eBay connector on SQLite and PostgreSQL, against a loopback stub of eBay's documented REST APIs (OAuth's
`/identity/v1/oauth2/token` refresh-token grant with Basic client credentials, the Fulfillment API's `getOrders`
with its `lastmodifieddate`/`orderfulfillmentstatus` filter and `limit`/`offset`/`total`/`next` pages, `getOrder`,
`getShippingFulfillments` and `createShippingFulfillment`, the Inventory API's `getOffers` and
`bulkUpdatePriceQuantity` (per-SKU and per-offer `responses`, 207 when some failed); errors as
`{"errors": [{"errorId", "message"}]}`, 401 for an expired token, 429 when throttled): paid open orders become
orders exactly once under duplicate pages, overlapping windows, out-of-order versions and a window that shifts
while it is read; eBay's collected tax and fees are kept for finance; quantities go out 25 SKUs a call at the
connector's pace; prices go to each SKU's published offer as decimal strings, a refused one dead-lettered alone and
replayed; shipments are confirmed once, retried when eBay fails, dead-lettered when refused and replayed."""

from __future__ import annotations

import base64
import copy
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec as ec_keys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ordersmith.catalog import service as catalog
from ordersmith.channels import connectors, rules
from ordersmith.channels import service as channels
from ordersmith.channels.connectors.ebay_api import TOKENS
from ordersmith.channels.tables import PendingPriceRow, PendingStockRow, PollStateRow
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderRow
from ordersmith.payments import service as payments
from ordersmith.platform import jobs, outbox, sales_channels
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow
from ordersmith.pricing import service as pricing
from tests.builders import make_order_shop, stock
from tests.support import ebay_signatures
from tests.support.http_stub import Answer, Seen, StubApi, serving

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CLIENT_ID, CLIENT_SECRET, REFRESH = "Ordersmi-app-PRD-1a2b3c4d5", "PRD-secret-0001", "v^1.1#i^1#r^1#refresh"
ORDERS = "/sell/fulfillment/v1/order"
TOKEN = "/identity/v1/oauth2/token"
BULK = "/sell/inventory/v1/bulk_update_price_quantity"
OFFERS = "/sell/inventory/v1/offer"
_PRICE = re.compile(r"^\d+\.\d{2}$")
SKUS = {"TEE": "EB-TEE", "MUG": "EB-MUG", "LAMP": "EB-LAMP"}
_FILTER = re.compile(r"^lastmodifieddate:\[([^\]]+)\.\.([^\]]+)\],orderfulfillmentstatus:\{([A-Z_|]+)\}$")


def _z(stamp: datetime) -> str:
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _amount(value: str) -> dict[str, str]:
    return {"value": value, "currency": "USD"}


def _error(error_id: int, message: str, *, category: str = "REQUEST") -> dict[str, Any]:
    return {
        "errors": [
            {"errorId": error_id, "domain": "API_FULFILLMENT", "category": category, "message": message}
        ]
    }


def ebay_order(
    order_id: str,
    *,
    updated: datetime,
    quantity: int = 2,
    sku: str = "EB-TEE",
    payment: str = "PAID",
    fulfillment: str = "NOT_STARTED",
    created: datetime | None = None,
) -> dict[str, Any]:
    """An order as the Fulfillment API's getOrders answers it (a US order, sales tax collected by eBay)."""
    return {
        "orderId": order_id,
        "legacyOrderId": f"1105512{order_id[-5:]}-0",
        "creationDate": _z(created or START - timedelta(hours=3)),
        "lastModifiedDate": _z(updated),
        "orderFulfillmentStatus": fulfillment,
        "orderPaymentStatus": payment,
        "sellerId": "ordersmith_seller",
        "buyer": {
            "username": "ann_buyer",
            "buyerRegistrationAddress": {"fullName": "Ann Buyer", "email": "ann@example.com"},
        },
        "pricingSummary": {
            "priceSubtotal": _amount(f"{20 * quantity}.00"),
            "deliveryCost": _amount("4.00"),
            "tax": _amount("3.30"),
            "total": _amount(f"{20 * quantity + 7}.30"),
        },
        "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
        "paymentSummary": {"totalDueSeller": _amount(f"{20 * quantity + 4}.00")},
        "fulfillmentStartInstructions": [
            {
                "fulfillmentInstructionsType": "SHIP_TO",
                "ebaySupportedFulfillment": False,
                "shippingStep": {
                    "shipTo": {
                        "fullName": "Ann Buyer",
                        "contactAddress": {
                            "addressLine1": "1 Market St",
                            "addressLine2": "Apt 4",
                            "city": "San Francisco",
                            "stateOrProvince": "CA",
                            "postalCode": "94105",
                            "countryCode": "US",
                        },
                        "primaryPhone": {"phoneNumber": "4155550100"},
                        "email": "7f3a9c@members.ebay.com",
                    },
                    "shippingCarrierCode": "USPS",
                    "shippingServiceCode": "USPSPriority",
                },
            }
        ],
        "lineItems": [
            {
                "lineItemId": f"{order_id[-5:]}01",
                "legacyItemId": "110551234567",
                "sku": sku,
                "title": "Tee",
                "quantity": quantity,
                "lineItemCost": _amount(f"{20 * quantity}.00"),
                "deliveryCost": {"shippingCost": _amount("4.00")},
                "total": _amount(f"{20 * quantity + 7}.30"),
                "taxes": [{"amount": _amount("3.30"), "taxType": "STATE_SALES_TAX"}],
                "ebayCollectAndRemitTaxes": [
                    {"taxType": "STATE_SALES_TAX", "amount": _amount("3.30"), "collectionMethod": "NET"}
                ],
                "lineItemFulfillmentStatus": "NOT_STARTED",
                "lineItemFulfillmentInstructions": {
                    "shipByDate": "2026-12-03T07:59:59.000Z",
                    "guaranteedDelivery": False,
                },
            }
        ],
        "totalFeeBasisAmount": _amount(f"{20 * quantity + 7}.30"),
        "totalMarketplaceFee": _amount("6.15"),
    }


class EbayStub:
    """Answers as eBay's REST APIs document: tokens from the refresh-token grant (Basic client credentials), the
    user token as `Authorization: Bearer`, getOrders by filter and offset with `total` and `next`, errors as
    `{"errors": [{"errorId", ...}]}`, 401 for an expired token, 429 when the call limit is reached."""

    def __init__(self) -> None:
        self.api = StubApi()
        self.api.route("POST", TOKEN, self.token)
        self.api.route("GET", ORDERS, self.get_orders)
        self.api.route("GET", rf"{ORDERS}/([\w!%-]+)", self.get_order)
        self.api.route("GET", rf"{ORDERS}/([\w!%-]+)/shipping_fulfillment", self.fulfillments)
        self.api.route("POST", rf"{ORDERS}/([\w!%-]+)/shipping_fulfillment", self.fulfil)
        self.api.route("POST", rf"{ORDERS}/([\w!%-]+)/issue_refund", self.issue_refund)
        self.api.route("POST", BULK, self.bulk)
        self.api.route("GET", OFFERS, self.get_offers)
        self.reset()

    def reset(self) -> None:
        self.api.seen.clear()
        self.tokens: set[str] = set()
        self.issued = 0
        self.orders: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, list[dict[str, Any]]] = {}  # order id -> refunds made
        self.lose_refund_answers = 0
        # An EU or UK seller: eBay refuses a money-moving call without a valid digital signature by this key
        self.eu_seller_key: Any = None
        self.repeat_on_next_page = False
        self.stale: list[dict[str, Any]] = []  # old copies a lagging replica serves on the next first page
        self.after_page: Callable[[], None] | None = None  # the world changing between two pages
        self.throttle: list[str] = []  # answer the next calls 429, each with this Retry-After ("" for none)
        self.expire = 0  # answer this many calls 401 (and forget the tokens issued)
        self.failing: dict[str, int] = {}  # "METHOD path-ending" -> answer this many with 500
        self.known_skus = set(SKUS.values())
        self.quantities: dict[str, int] = {}
        self.prices: dict[str, tuple[str, str]] = {}  # offer id -> (value, currency) as sent
        self.unpublished: set[str] = set()  # SKUs whose offer is not published yet
        self.below_minimum: set[str] = set()  # offer ids whose price eBay refuses
        self.bulk_at: list[float] = []
        self.shipped: dict[str, list[dict[str, Any]]] = {}
        self.delay_s = 0.0
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    # --- OAuth ----------------------------------------------------------------------------------------------

    def token(self, seen: Seen) -> Answer:
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = dict(parse_qsl(seen.body.decode()))
        if seen.headers.get("authorization") != f"Basic {basic}" or not seen.headers.get(
            "content-type", ""
        ).startswith("application/x-www-form-urlencoded"):
            return Answer(
                401, {"error": "invalid_client", "error_description": "client authentication failed"}
            )
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != REFRESH:
            return Answer(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "the provided authorization refresh token is invalid or was issued to "
                    "another client",
                },
            )
        self.issued += 1
        token = f"v^1.1#i^1#p^3#access-{self.issued}"
        self.tokens.add(token)
        return Answer(200, {"access_token": token, "expires_in": 7200, "token_type": "User Access Token"})

    def _refused(self, seen: Seen) -> Answer | None:
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if self.expire:
            self.expire -= 1
            self.tokens.clear()
        if token not in self.tokens:
            return Answer(
                401,
                {
                    "errors": [
                        {
                            "errorId": 1001,
                            "domain": "OAuth",
                            "category": "REQUEST",
                            "message": "Invalid access token",
                            "longMessage": "Invalid access token. Check the value of the Authorization HTTP "
                            "request header.",
                        }
                    ]
                },
            )
        if self.throttle:
            wait = self.throttle.pop(0)
            return Answer(
                429,
                {
                    "errors": [
                        {
                            "errorId": 2001,
                            "domain": "ACCESS",
                            "category": "REQUEST",
                            "message": "Too many requests. The request limit has been reached for the resource.",
                        }
                    ]
                },
                headers={"Retry-After": wait} if wait else {},
            )
        for key, count in self.failing.items():
            method, ending = key.split(" ", 1)
            if count and seen.method == method and seen.path.endswith(ending):
                self.failing[key] -= 1
                problem = "There was a problem with an eBay internal system or process."
                return Answer(500, _error(2003, problem, category="APPLICATION"))
        return None

    # --- Fulfillment API ------------------------------------------------------------------------------------

    def get_orders(self, seen: Seen) -> Answer:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            return self._get_orders(seen)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _get_orders(self, seen: Seen) -> Answer:
        if refused := self._refused(seen):
            return refused
        matched = _FILTER.match(seen.query.get("filter", ""))
        if matched is None:
            return Answer(400, _error(30700, "Invalid filter name or value"))
        after, before = (datetime.fromisoformat(matched.group(n)) for n in (1, 2))
        statuses = matched.group(3).split("|")
        limit, offset = int(seen.query.get("limit", "50")), int(seen.query.get("offset", "0"))
        if not 1 <= limit <= 200:
            return Answer(400, _error(30820, "Invalid value for limit"))
        found = sorted(
            (
                o
                for o in self.orders.values()
                if after <= datetime.fromisoformat(o["lastModifiedDate"]) <= before
                and o["orderFulfillmentStatus"] in statuses
            ),
            key=lambda o: (o["creationDate"], o["orderId"]),
            reverse=True,  # newest first, as eBay lists them
        )
        size = limit
        page = found[offset : offset + size]
        if offset == 0 and self.stale:
            page, self.stale = [*self.stale, *page], []
        if self.repeat_on_next_page and offset > 0:
            page = [found[offset - 1], *page]  # eBay repeating the last order of the page before
        body: dict[str, Any] = {
            "href": f"{self.api.url()}{ORDERS}?limit={limit}&offset={offset}",
            "total": len(found),
            "limit": limit,
            "offset": offset,
            "orders": copy.deepcopy(page),  # as it stood when answered
        }
        if offset + size < len(found):
            body["next"] = f"{self.api.url()}{ORDERS}?limit={limit}&offset={offset + limit}"
        if self.after_page is not None:
            self.after_page()
        return Answer(200, body)

    def get_order(self, seen: Seen) -> Answer:
        if refused := self._refused(seen):
            return refused
        order_id = seen.path.rsplit("/", 1)[1]
        order = self.orders.get(order_id)
        if not order:
            return Answer(404, _error(32100, "Invalid order ID"))
        refunds = self.refunds.get(order_id, [])
        return Answer(200, order | {"paymentSummary": order["paymentSummary"] | {"refunds": refunds}})

    def issue_refund(self, seen: Seen) -> Answer:
        """An order-level refund: PENDING, listed under the order's `paymentSummary.refunds` at once; never more
        than the order's total less its refunds. The answer is lost (503) for `lose_refund_answers` refunds."""
        if refused := self._refused(seen):
            return refused
        if self.eu_seller_key is not None and (unsigned := ebay_signatures.refusal(seen, self.eu_seller_key)):
            return Answer(400, _error(*unsigned))
        order_id = seen.path.split("/")[-2]
        order, body = self.orders.get(order_id), seen.json
        if order is None:
            return Answer(404, _error(32100, "Invalid order ID"))
        if body.get("reasonForRefund") not in ("BUYER_CANCEL", "BUYER_RETURN", "ITEM_NOT_RECEIVED",
                                               "SELLER_WRONG_ITEM", "SELLER_OUT_OF_STOCK",
                                               "SELLER_FOUND_CHEAPER_PRICE", "OTHER"):  # fmt: skip
            return Answer(400, _error(32800, "Invalid reason for refund"))
        if len(body.get("comment") or "") > 100:
            return Answer(400, _error(32801, "The comment is longer than 100 characters"))
        asked = body["orderLevelRefundAmount"]
        made = self.refunds.setdefault(order_id, [])
        total = Decimal(order["pricingSummary"]["total"]["value"])
        if Decimal(asked["value"]) + sum(Decimal(r["amount"]["value"]) for r in made) > total:
            return Answer(400, _error(32803, "The refund amount exceeds the order total"))
        refund = {"refundId": f"5{len(made):09d}", "refundStatus": "PENDING", "amount": dict(asked),
                  "refundReferenceId": "", "refundDate": "2026-12-01T12:00:00.000Z"}  # fmt: skip
        made.append(refund)
        if self.lose_refund_answers:
            self.lose_refund_answers -= 1
            return Answer(503, _error(2003, "Internal error"))
        return Answer(200, {"refundId": refund["refundId"], "refundStatus": "PENDING"})

    def fulfillments(self, seen: Seen) -> Answer:
        if refused := self._refused(seen):
            return refused
        sent = self.shipped.get(seen.path.split("/")[-2], [])
        return Answer(200, {"fulfillments": sent, "total": len(sent)})

    def fulfil(self, seen: Seen) -> Answer:
        if refused := self._refused(seen):
            return refused
        order_id = seen.path.split("/")[-2]
        order, body = self.orders.get(order_id), seen.json
        if order is None:
            return Answer(404, _error(32100, "Invalid order ID"))
        lines = {i["lineItemId"]: i for i in order["lineItems"]}
        if not body.get("shippingCarrierCode") or not body.get("trackingNumber"):
            return Answer(400, _error(32400, "Invalid shipping carrier or tracking number"))
        if not body.get("lineItems") or any(i["lineItemId"] not in lines for i in body["lineItems"]):
            return Answer(400, _error(32210, "Invalid line item ID"))
        datetime.fromisoformat(body["shippedDate"])  # eBay refuses a malformed date
        fulfillment_id = body["trackingNumber"]
        self.shipped.setdefault(order_id, []).append(
            {
                "fulfillmentId": fulfillment_id,
                "shipmentTrackingNumber": body["trackingNumber"],
                "shippingCarrierCode": body["shippingCarrierCode"],
                "shippedDate": body["shippedDate"],
                "lineItems": body["lineItems"],
            }
        )
        for item in body["lineItems"]:
            lines[item["lineItemId"]]["lineItemFulfillmentStatus"] = "FULFILLED"
        order["orderFulfillmentStatus"] = "FULFILLED"
        return Answer(201, b"", headers={"Location": f"{self.api.url()}{seen.path}/{fulfillment_id}"})

    # --- Inventory API --------------------------------------------------------------------------------------

    def bulk(self, seen: Seen) -> Answer:
        self.bulk_at.append(time.monotonic())
        if refused := self._refused(seen):
            return refused
        requests = seen.json["requests"]
        if len(requests) > 25:
            return Answer(400, _error(25709, "Invalid request: at most 25 SKUs can be updated in one call"))
        responses = []
        for request in requests:
            sku = request["sku"]
            if "offers" in request:  # a price (this connector sends offers without a quantity)
                responses += [self._offer_price(sku, offer) for offer in request["offers"]]
                continue
            if sku not in self.known_skus:
                responses.append(
                    {
                        "statusCode": 404,
                        "sku": sku,
                        "errors": [{"errorId": 25702, "message": f"SKU {sku} not found"}],
                    }
                )
                continue
            self.quantities[sku] = request["shipToLocationAvailability"]["quantity"]
            responses.append({"statusCode": 200, "sku": sku})
        failed = any(r["statusCode"] != 200 for r in responses)
        return Answer(207 if failed else 200, {"responses": responses})

    def _offer_price(self, sku: str, offer: dict[str, Any]) -> dict[str, Any]:
        offer_id, price = offer["offerId"], offer["price"]
        if offer_id != f"OF-{sku}" or sku not in self.known_skus or sku in self.unpublished:
            problem = {"errorId": 25713, "message": "This Offer is not available."}
            return {"statusCode": 404, "sku": sku, "offerId": offer_id, "errors": [problem]}
        if not (
            isinstance(price["value"], str) and _PRICE.match(price["value"]) and price["currency"] == "USD"
        ):
            problem = {"errorId": 25709, "message": "Invalid value for price"}
            return {"statusCode": 400, "sku": sku, "offerId": offer_id, "errors": [problem]}
        if offer_id in self.below_minimum:
            problem = {"errorId": 25021, "message": "The price is below the minimum for this category"}
            return {"statusCode": 400, "sku": sku, "offerId": offer_id, "errors": [problem]}
        self.prices[offer_id] = (price["value"], price["currency"])
        return {"statusCode": 200, "sku": sku, "offerId": offer_id}

    def get_offers(self, seen: Seen) -> Answer:
        if refused := self._refused(seen):
            return refused
        sku = seen.query["sku"]
        if sku not in self.known_skus:
            return Answer(404, _error(25713, "This Offer is not available."))
        offer = {
            "offerId": f"OF-{sku}",
            "sku": sku,
            "marketplaceId": "EBAY_US",
            "format": "FIXED_PRICE",
            "status": "UNPUBLISHED" if sku in self.unpublished else "PUBLISHED",
        }
        if seen.query.get("marketplace_id", "EBAY_US") != "EBAY_US":
            return Answer(200, {"href": seen.path, "limit": 100, "offers": [], "size": 0, "total": 0})
        return Answer(200, {"href": seen.path, "limit": 100, "offers": [offer], "size": 1, "total": 1})

    # --- the seller's side ----------------------------------------------------------------------------------

    def add(self, order_id: str, **kwargs: Any) -> dict[str, Any]:
        self.orders[order_id] = ebay_order(order_id, **kwargs)
        return self.orders[order_id]

    def calls(self, method: str, path: str) -> list[Seen]:
        return self.api.requests(method, path)


@pytest.fixture(scope="module")
def ebay() -> Iterator[EbayStub]:
    stub = EbayStub()
    with serving(stub.api):
        yield stub


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


def connect(uow: UnitOfWork, stub: EbayStub, **config: Any) -> None:
    """The eBay sales channel and its connector against `stub`, the tee, mug and lamp mapped."""
    sales_channels.create_sales_channel(
        uow, code="ebay", name="eBay US", kind="marketplace", division="web", currency="USD", bills_later=True
    )
    channels.create_connector(
        uow,
        code="ebay-us",
        kind="ebay",
        sales_channel="ebay",
        name="eBay US",
        config={
            "shipping_method": "ground",
            "endpoint": stub.api.url(),
            "max_calls_per_s": 20,
            "page_size": 2,
            **config,
        },
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH},
    )
    for sku, channel_sku in SKUS.items():
        channels.map_sku(uow, connector="ebay-us", channel_sku=channel_sku, sku=sku, listing_id=channel_sku)


@pytest.fixture
def shop(db: Database, settings: Settings, clock: FixedClock, ebay: EbayStub) -> Iterator[UnitOfWork]:
    ebay.reset()
    TOKENS.clear()
    db.set_clock(clock)
    wired = payments.setup_payments(db, settings)
    channels.register()
    channels.setup_channels(db, settings)
    uow = db.unit_of_work(Actor.system("test"))
    make_order_shop(uow)
    connect(uow, ebay, stock_window_s=5, price_list="usd")
    _relay(uow)
    clock.advance(timedelta(seconds=5))
    _drain(db)  # the first stock and price pushes, and the first poll (the day before: nothing)
    ebay.api.seen.clear()
    ebay.quantities.clear()
    ebay.prices.clear()
    ebay.bulk_at.clear()
    yield uow
    wired.vault.dispose()


def _orders(uow: UnitOfWork) -> list[OrderRow]:
    with uow:
        return list(uow.session.scalars(sa.select(OrderRow).order_by(OrderRow.external_id)))


def _count(uow: UnitOfWork, table: Any) -> int:
    with uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def _connector_id(uow: UnitOfWork) -> Any:
    return channels.get_connector(uow, code="ebay-us").id


def _cursor(uow: UnitOfWork) -> dict[str, Any]:
    health = channels.connector_health(uow, code="ebay-us")
    assert health.polling is not None
    return health.polling.cursor


def test_paid_open_orders_become_one_order_each_with_ebays_collected_tax_and_fees(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given (the set-up's poll read the day before it): three paid orders over two pages, page two repeating the
    # last of page one; one awaiting payment, one cancelled, one shipped already
    for n in range(3):
        ebay.add(
            f"26-01000-0000{n}",
            updated=START + timedelta(seconds=30 + n),
            created=START + timedelta(seconds=n),
        )
    ebay.add("26-01000-00007", updated=START + timedelta(seconds=40), payment="PENDING")
    ebay.add("26-01000-00008", updated=START + timedelta(seconds=41))["cancelStatus"]["cancelState"] = (
        "CANCELED"
    )
    ebay.add("26-01000-00009", updated=START + timedelta(seconds=42), fulfillment="FULFILLED")
    ebay.repeat_on_next_page = True
    clock.advance(timedelta(minutes=5))
    # when
    _drain(shop.db)
    # then: each paid open order once
    assert [o.external_id for o in _orders(shop)] == [f"26-01000-0000{n}" for n in range(3)]
    order = orders.get_order(shop, ref=_orders(shop)[0].number)
    assert [(line.sku, line.quantity) for line in order.lines] == [("TEE", 2)]
    (ship_to,) = order.ship_tos
    assert (ship_to.name, ship_to.line1, ship_to.line2, ship_to.city, ship_to.postal_code) == (
        "Ann Buyer",
        "1 Market St",
        "Apt 4",
        "San Francisco",
        "94105",
    )
    kept = channels.get_channel_order(shop, connector="ebay-us", external_id="26-01000-00001")
    assert kept.deliveries == 2  # the repeated one: counted, not placed twice
    assert {
        k: kept.reported[k]
        for k in (
            "subtotal",
            "shipping",
            "total_tax",
            "total",
            "tax_collected_by",
            "ship_by",
            "marketplace_fees",
        )
    } == {
        "subtotal": "40.00",
        "shipping": "4.00",
        "total_tax": "3.30",
        "total": "47.30",
        "tax_collected_by": "marketplace",
        "ship_by": "2026-12-03T07:59:59+00:00",
        "marketplace_fees": "6.15",
    }
    for unwanted in ("26-01000-00007", "26-01000-00008", "26-01000-00009"):
        with pytest.raises(NotFound):
            channels.get_channel_order(shop, connector="ebay-us", external_id=unwanted)
    # and: the set-up's token served the poll (no refresh), the window's filter went with every page
    assert (ebay.issued, ebay.calls("POST", TOKEN)) == (1, [])
    first, *others = ebay.calls("GET", ORDERS)
    assert first.query == {
        "filter": f"lastmodifieddate:[{_z(START + timedelta(seconds=5) - timedelta(minutes=1))}.."
        f"{_z(clock.now())}],orderfulfillmentstatus:{{NOT_STARTED|IN_PROGRESS}}",
        "limit": "2",
        "offset": "0",
    }
    # five open orders on eBay's side (the unpaid and the cancelled are filtered here): three pages of two
    assert [s.query for s in others] == [first.query | {"offset": "2"}, first.query | {"offset": "4"}]
    assert first.headers["authorization"] == "Bearer v^1.1#i^1#p^3#access-1"
    assert _cursor(shop) == {"after": (clock.now() - timedelta(minutes=1)).isoformat()}


def test_overlapping_windows_and_out_of_order_versions_make_no_second_order(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given: an order polled and imported
    ebay.add("26-02000-00001", updated=START + timedelta(seconds=30), quantity=1)
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    # when: the next window overlaps the last by a minute and eBay reports the order again in the overlap
    ebay.orders["26-02000-00001"]["lastModifiedDate"] = _z(datetime.fromisoformat(_cursor(shop)["after"]))
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    # then
    assert [o.external_id for o in _orders(shop)] == ["26-02000-00001"]
    assert channels.get_channel_order(shop, connector="ebay-us", external_id="26-02000-00001").deliveries == 2
    # given an order whose newer version (3 tees) is polled first, and an older copy (1 tee) a lagging replica serves
    ebay.add("26-02000-00002", updated=clock.now() - timedelta(seconds=30), quantity=3)
    stale = ebay_order("26-02000-00002", updated=clock.now() - timedelta(seconds=50), quantity=1)
    clock.advance(timedelta(minutes=5))
    connector_id = _connector_id(shop)
    assert channels.poll_orders(shop, connector_id=connector_id, worker="w").recorded == 1
    ebay.stale = [stale]
    clock.advance(timedelta(minutes=5))
    assert channels.poll_orders(shop, connector_id=connector_id, worker="w").recorded == 0
    _drain(shop.db)
    # then: the newer version is the one placed
    placed = orders.get_order(shop, ref=_orders(shop)[1].number)
    assert (placed.external_id, [line.quantity for line in placed.lines]) == ("26-02000-00002", [3])


def test_an_order_leaving_the_window_between_pages_makes_the_poll_read_it_again_and_lose_nothing(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given: five orders on pages of two (newest first); after the first page, the newest ships on eBay (a label
    # bought there): it leaves the open orders, and every order after it moves one offset down
    for n in range(5):
        ebay.add(
            f"26-03000-0000{n}", updated=START + timedelta(seconds=30), created=START + timedelta(seconds=n)
        )
    served = 0

    def ship_the_newest() -> None:
        nonlocal served
        served += 1
        if served == 1:
            ebay.orders["26-03000-00004"]["orderFulfillmentStatus"] = "FULFILLED"
            ebay.orders["26-03000-00004"]["lastModifiedDate"] = _z(clock.now() + timedelta(seconds=1))

    ebay.after_page = ship_the_newest
    clock.advance(timedelta(minutes=5))
    # when
    _drain(shop.db)
    # then: the total changed (5 → 4), so the window was read again from its start; no order slipped through
    assert [(s.query["offset"], s.query["limit"]) for s in ebay.calls("GET", ORDERS)] == [
        ("0", "2"),
        ("2", "2"),
        ("0", "2"),
        ("2", "2"),
    ]
    assert sorted(o.external_id for o in _orders(shop)) == [f"26-03000-0000{n}" for n in range(5)]
    assert _cursor(shop) == {"after": (clock.now() - timedelta(minutes=1)).isoformat()}


def test_an_unknown_sku_holds_the_order_until_it_is_mapped(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given: an order for a second listing of the mug, its SKU not mapped
    ebay.add("26-04000-00001", updated=START + timedelta(seconds=30), sku="EB-MUG-BLUE")
    clock.advance(timedelta(minutes=5))
    # when
    _drain(shop.db)
    # then
    held = channels.get_channel_order(shop, connector="ebay-us", external_id="26-04000-00001")
    assert (held.status, held.hold_reason, held.unmapped_skus) == (
        "held",
        rules.HOLD_UNMAPPED,
        ["EB-MUG-BLUE"],
    )
    assert _orders(shop) == []
    # when it is mapped
    assert channels.map_sku(shop, connector="ebay-us", channel_sku="EB-MUG-BLUE", sku="MUG").released == 1
    _drain(shop.db)
    (placed,) = _orders(shop)
    assert [(line.sku, line.quantity) for line in orders.get_order(shop, ref=placed.number).lines] == [
        ("MUG", 2)
    ]


def test_throttling_is_waited_out_briefly_or_the_poll_comes_back_when_ebay_allows_and_a_failure_backs_off(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given
    ebay.add("26-05000-00001", updated=START + timedelta(seconds=30))
    clock.advance(timedelta(minutes=5))
    connector_id = _connector_id(shop)
    # when: a 429 asking for a second is waited out in the call
    ebay.throttle = ["1"]
    assert channels.poll_orders(shop, connector_id=connector_id, worker="w").outcome == "done"
    # when: one asking for five minutes, then one with no Retry-After
    ebay.add("26-05000-00002", updated=clock.now() - timedelta(seconds=30))
    clock.advance(timedelta(minutes=5))
    cursor = _cursor(shop)
    ebay.throttle = ["300"]
    assert channels.poll_orders(shop, connector_id=connector_id, worker="w").outcome == "throttled"
    # then: the poll waits as eBay asked, the cursor unmoved, not a failure
    health = channels.connector_health(shop, code="ebay-us")
    assert health.polling is not None
    assert (
        health.polling.next_poll_at,
        health.polling.failures,
        health.polling.cursor,
        health.last_failure_at,
    ) == (
        clock.now() + timedelta(seconds=300),
        0,
        cursor,
        None,
    )
    ebay.throttle = [""]
    clock.advance(timedelta(seconds=300))
    assert channels.poll_orders(shop, connector_id=connector_id, worker="w").outcome == "throttled"
    health = channels.connector_health(shop, code="ebay-us")
    assert health.polling is not None and health.polling.next_poll_at == clock.now() + timedelta(seconds=60)
    # when: eBay fails (500): the poll backs off, then goes through
    ebay.failing = {f"GET {ORDERS}": 1}
    clock.advance(timedelta(seconds=60))
    assert channels.poll_orders(shop, connector_id=connector_id, worker="w").outcome == "retrying"
    health = channels.connector_health(shop, code="ebay-us")
    assert health.polling is not None and health.polling.failures == 1
    assert health.last_error is not None and "2003" in health.last_error
    clock.advance(timedelta(seconds=120))
    _drain(shop.db)
    assert [o.external_id for o in _orders(shop)] == ["26-05000-00001", "26-05000-00002"]


def test_an_expired_token_is_refreshed_once_and_a_refused_refresh_token_pauses_polling_until_replayed(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given: the token eBay issued has expired
    ebay.add("26-06000-00001", updated=START + timedelta(seconds=30))
    ebay.expire = 1
    clock.advance(timedelta(minutes=5))
    # when
    _drain(shop.db)
    # then: one refresh with the app's Basic credentials, and the poll went through
    assert len(_orders(shop)) == 1
    (refresh,) = ebay.calls("POST", TOKEN)
    assert dict(parse_qsl(refresh.body.decode())) == {"grant_type": "refresh_token", "refresh_token": REFRESH}
    assert [s.headers["authorization"] for s in ebay.calls("GET", ORDERS)] == [
        "Bearer v^1.1#i^1#p^3#access-1",
        "Bearer v^1.1#i^1#p^3#access-2",
    ]
    # given: the seller revoked the app (its refresh token is refused)
    channels.set_credentials(
        shop,
        code="ebay-us",
        credentials={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": "v^1.1#revoked",
        },
    )
    ebay.add("26-06000-00002", updated=clock.now() - timedelta(seconds=30))
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    (letter,) = channels.list_dead_letters(shop, connector="ebay-us").items
    assert (letter.operation, letter.reference, letter.payload) == (
        "poll_orders",
        "ebay-us",
        {"cursor": _cursor(shop)},
    )
    assert "invalid_grant" in letter.error
    health = channels.connector_health(shop, code="ebay-us")
    assert health.polling is not None and health.polling.paused
    # when the app is authorised again and the letter replayed
    channels.set_credentials(
        shop,
        code="ebay-us",
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH},
    )
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    assert len(_orders(shop)) == 2
    assert channels.connector_health(shop, code="ebay-us").dead_letters_open == 0


def _latest_available(uow: UnitOfWork) -> dict[str, int]:
    with uow:
        rows = uow.session.scalars(
            sa.select(OutboxRow).where(OutboxRow.type == "stock.changed").order_by(OutboxRow.id)
        )
        return {r.payload["sku"]: int(r.payload["available"]["web"]) for r in rows}


def test_quantities_go_out_25_skus_a_call_at_the_connectors_pace_and_wait_when_throttled(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given: sixty listed items whose stock changed within one window
    skus = [f"BULK{n:02}" for n in range(60)]
    for sku in skus:
        catalog.create_item(shop, sku=sku, name=sku, divisions=["web"], weight_g=100)
        channels.map_sku(shop, connector="ebay-us", channel_sku=f"EB-{sku}", sku=sku, listing_id=f"EB-{sku}")
        ebay.known_skus.add(f"EB-{sku}")
        stock(shop, sku=sku, location="EAST", quantity=3)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    ebay.throttle = ["30"]  # the first call: come back in half a minute
    # when
    _drain(shop.db)
    assert channels.connector_health(shop, code="ebay-us").stock_push_due_at == clock.now() + timedelta(
        seconds=30
    )
    clock.advance(timedelta(seconds=30))
    _drain(shop.db)
    # then: the throttled call, then 25 + 25 + 10, each SKU's latest figure, the calls spaced at 20 a second
    sent = [s.json["requests"] for s in ebay.calls("POST", BULK)]
    assert [len(batch) for batch in sent] == [25, 25, 25, 10]
    latest = _latest_available(shop)
    assert ebay.quantities == {f"EB-{sku}": latest[sku] for sku in skus}
    assert sent[1][0] == {"sku": "EB-BULK00", "shipToLocationAvailability": {"quantity": latest["BULK00"]}}
    gaps = [b - a for a, b in zip(ebay.bulk_at[1:], ebay.bulk_at[2:], strict=False)]
    assert len(gaps) == 2 and min(gaps) >= 0.045
    assert _count(shop, PendingStockRow) == 0


def test_a_sku_ebay_refuses_is_dead_lettered_with_its_error_and_replayed_after_the_fix(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given: the lamp has no inventory item on eBay yet
    ebay.known_skus.discard("EB-LAMP")
    for sku in ("TEE", "MUG", "LAMP"):
        stock(shop, sku=sku, location="EAST", quantity=1)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    # when
    _drain(shop.db)
    # then: tee and mug set, the lamp's refusal dead-lettered with eBay's error
    latest = _latest_available(shop)
    assert ebay.quantities == {"EB-MUG": latest["MUG"], "EB-TEE": latest["TEE"]}
    (letter,) = channels.list_dead_letters(shop, connector="ebay-us").items
    assert letter.operation == "push_stock"
    assert "EB-LAMP: 25702 SKU EB-LAMP not found" in letter.error
    # when the inventory item exists and the letter is replayed
    ebay.known_skus.add("EB-LAMP")
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    assert ebay.quantities == {"EB-MUG": latest["MUG"], "EB-TEE": latest["TEE"], "EB-LAMP": latest["LAMP"]}
    assert _count(shop, PendingStockRow) == 0
    assert channels.connector_health(shop, code="ebay-us").dead_letters_open == 0


def _price(shop: UnitOfWork, sku: str, amount: str) -> None:
    pricing.set_list_price(shop, code="usd", entry=pricing.PriceEntry(sku, Money(Decimal(amount), "USD")))


def test_prices_reach_each_skus_published_offer_once_as_decimal_strings_and_a_throttled_call_waits(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given: three price changes in one window (the tee twice); eBay throttles the first call for 30 s
    for sku, amount in (("TEE", "22.00"), ("MUG", "9.50"), ("TEE", "21.99")):
        _price(shop, sku, amount)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    ebay.throttle = ["30"]
    # when
    _drain(shop.db)
    # then: nothing set yet; the push comes back when eBay said
    assert ebay.prices == {}
    waiting = channels.connector_health(shop, code="ebay-us").rate_limit["waiting_until"]
    assert waiting == (clock.now() + timedelta(seconds=30)).isoformat()
    # when
    clock.advance(timedelta(seconds=30))
    _drain(shop.db)
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    # then: one bulkUpdatePriceQuantity with each SKU's latest price on its offer, as strings
    (sent,) = [s.json for s in ebay.calls("POST", BULK)]
    assert sent == {
        "requests": [
            {
                "sku": "EB-MUG",
                "offers": [{"offerId": "OF-EB-MUG", "price": {"value": "9.50", "currency": "USD"}}],
            },
            {
                "sku": "EB-TEE",
                "offers": [{"offerId": "OF-EB-TEE", "price": {"value": "21.99", "currency": "USD"}}],
            },
        ]
    }
    assert ebay.prices == {"OF-EB-MUG": ("9.50", "USD"), "OF-EB-TEE": ("21.99", "USD")}
    assert [s.query for s in ebay.calls("GET", OFFERS)][-2:] == [
        {"sku": "EB-MUG", "marketplace_id": "EBAY_US"},
        {"sku": "EB-TEE", "marketplace_id": "EBAY_US"},
    ]
    assert _count(shop, PendingPriceRow) == 0
    assert channels.list_dead_letters(shop, connector="ebay-us").items == []


def test_a_price_ebay_refuses_for_one_sku_is_dead_lettered_alone_and_replayed_after_the_fix(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given: the lamp has no offer on eBay; the mug's price is below the category's minimum
    ebay.known_skus.discard("EB-LAMP")
    ebay.below_minimum.add("OF-EB-MUG")
    for sku, amount in (("TEE", "19.99"), ("MUG", "1.00"), ("LAMP", "79.00")):
        _price(shop, sku, amount)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    # when
    _drain(shop.db)
    # then: the tee is set; the lamp and the mug are dead-lettered together with eBay's reasons
    assert ebay.prices == {"OF-EB-TEE": ("19.99", "USD")}
    (letter,) = channels.list_dead_letters(shop, connector="ebay-us").items
    assert (letter.operation, letter.reference) == ("push_prices", "2 price(s)")
    assert letter.payload == {
        "updates": [
            {"sku": "LAMP", "price": "79.00", "currency": "USD"},
            {"sku": "MUG", "price": "1.00", "currency": "USD"},
        ]
    }
    assert "EB-LAMP: no offer" in letter.error and "25713" in letter.error
    assert "EB-MUG: offer OF-EB-MUG: 25021 The price is below the minimum" in letter.error
    assert _count(shop, PendingPriceRow) == 0
    # when: the lamp is listed, the minimum no longer applies, and the letter is replayed
    ebay.known_skus.add("EB-LAMP")
    ebay.below_minimum.clear()
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    # then: both set, once; nothing left open
    assert ebay.prices == {
        "OF-EB-TEE": ("19.99", "USD"),
        "OF-EB-MUG": ("1.00", "USD"),
        "OF-EB-LAMP": ("79.00", "USD"),
    }
    assert channels.connector_health(shop, code="ebay-us").dead_letters_open == 0
    assert _count(shop, PendingPriceRow) == 0


def test_a_price_of_an_unmapped_item_is_not_sent_until_the_item_is_mapped_as_for_stock(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given: the towel is on the price list but not mapped to an eBay listing
    _price(shop, "TOWEL", "16.00")
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    # when
    _drain(shop.db)
    # then: nothing recorded, nothing sent
    assert _count(shop, PendingPriceRow) == 0
    assert ebay.calls("GET", OFFERS) == [] and ebay.calls("POST", BULK) == []
    # when: it is mapped and its price changes again
    channels.map_sku(shop, connector="ebay-us", channel_sku="EB-TOWEL", sku="TOWEL", listing_id="EB-TOWEL")
    ebay.known_skus.add("EB-TOWEL")
    _price(shop, "TOWEL", "17.00")
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    _drain(shop.db)
    # then
    assert ebay.prices == {"OF-EB-TOWEL": ("17.00", "USD")}


def _imported(shop: UnitOfWork, ebay: EbayStub, clock: FixedClock, order_id: str) -> OrderRow:
    ebay.add(order_id, updated=clock.now() + timedelta(seconds=30))
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    (row,) = [o for o in _orders(shop) if o.external_id == order_id]
    return row


def test_a_shipment_is_confirmed_once_with_its_line_items_and_tracking_and_retried_when_ebay_fails(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given an imported eBay order; eBay throttles the first call (two minutes), then fails the fulfillment once
    row = _imported(shop, ebay, clock, "26-08000-00001")
    ebay.api.seen.clear()
    ebay.throttle = ["120"]
    ebay.failing = {f"POST {ORDERS}/26-08000-00001/shipping_fulfillment": 1}
    # when it ships
    shipped_at = clock.now()
    orders.record_shipment(shop, ref=row.number, tracking="9400111899223334445566")
    _relay(shop)
    _drain(shop.db)
    assert (ebay.shipped, channels.connector_health(shop, code="ebay-us").last_failure_at) == ({}, None)
    clock.advance(timedelta(seconds=119))
    _drain(shop.db)
    assert [s.path for s in ebay.api.seen if s.path.startswith(f"{ORDERS}/")] == [
        f"{ORDERS}/26-08000-00001/shipping_fulfillment"  # the throttled call only: nothing before eBay allows
    ]
    clock.advance(timedelta(seconds=1))
    _drain(shop.db)
    assert ebay.shipped == {}
    health = channels.connector_health(shop, code="ebay-us")
    assert health.last_error is not None and "2003" in health.last_error
    clock.advance(timedelta(seconds=30))
    _drain(shop.db)
    # then: one fulfillment with the order's line items, the ship date and the tracking
    (fulfillment,) = ebay.shipped["26-08000-00001"]
    assert fulfillment == {
        "fulfillmentId": "9400111899223334445566",
        "shipmentTrackingNumber": "9400111899223334445566",
        "shippingCarrierCode": "Other",
        "shippedDate": _z(shipped_at),
        "lineItems": [{"lineItemId": "0000101", "quantity": 2}],
    }
    # when the confirmation is sent again (its answer lost on the way back): eBay already has it, nothing is sent
    posts = len(ebay.calls("POST", f"{ORDERS}/26-08000-00001/shipping_fulfillment"))
    again = {
        "connector_id": str(_connector_id(shop)),
        "external_id": "26-08000-00001",
        "tracking": "9400111899223334445566",
        "shipment": "",
        "shipped_at": shipped_at.isoformat(),
        "attempt": 0,
    }
    assert channels.push_shipment(shop, again) == "sent"
    assert len(ebay.calls("POST", f"{ORDERS}/26-08000-00001/shipping_fulfillment")) == posts
    assert len(ebay.shipped["26-08000-00001"]) == 1
    assert channels.connector_health(shop, code="ebay-us").dead_letters_open == 0


def test_a_shipment_ebay_refuses_is_dead_lettered_and_replayed_after_the_fix(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given an imported order whose line eBay does not know any more (the listing was relisted)
    row = _imported(shop, ebay, clock, "26-09000-00001")
    real = ebay.orders["26-09000-00001"]

    def unknown_line(seen: Seen) -> Answer:
        copy = dict(real, lineItems=[dict(real["lineItems"][0], lineItemId="0000199")])
        return Answer(200, copy)

    ebay.api.routes.insert(0, ("GET", re.compile(rf"{ORDERS}/26-09000-00001"), unknown_line))
    try:
        # when it ships
        orders.record_shipment(shop, ref=row.number, tracking="1Z999AA10123456784")
        _relay(shop)
        _drain(shop.db)
        # then: refused for good, dead-lettered at once with eBay's error
        (letter,) = channels.list_dead_letters(shop, connector="ebay-us").items
        assert (letter.operation, letter.reference, letter.attempts) == ("push_shipment", "26-09000-00001", 1)
        assert "32210 Invalid line item ID" in letter.error
    finally:
        ebay.api.routes.pop(0)
    # when eBay answers the order as it is and the letter is replayed
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    (fulfillment,) = ebay.shipped["26-09000-00001"]
    assert (fulfillment["shipmentTrackingNumber"], fulfillment["lineItems"]) == (
        "1Z999AA10123456784",
        [{"lineItemId": "0000101", "quantity": 2}],
    )
    assert channels.connector_health(shop, code="ebay-us").dead_letters_open == 0


def test_a_shipment_push_an_adapter_defect_breaks_is_retried_then_dead_lettered_not_left_a_failed_job(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an imported order, and eBay's adapter broken by a defect (not an error eBay answered)
    row = _imported(shop, ebay, clock, "26-09000-00001")
    adapter = type(connectors.for_kind("ebay"))
    original = adapter.push_shipment

    def broken(self: Any, access: Any, notice: Any) -> Any:
        raise KeyError("lineItems")

    monkeypatch.setattr(adapter, "push_shipment", broken)
    # when it ships and the push is tried until its attempts are spent
    orders.record_shipment(shop, ref=row.number, tracking="1Z999AA10123456784")
    _relay(shop)
    _drain(shop.db)
    health = channels.connector_health(shop, code="ebay-us")
    assert "KeyError" in (health.last_error or "") and health.dead_letters_open == 0  # retried, not dead yet
    for _ in range(rules.MAX_ATTEMPTS):
        clock.advance(timedelta(seconds=rules.BACKOFF_CAP_S))
        _drain(shop.db)
    # then it is one dead letter on the connector's health, with the defect, and no job failed or still queued
    (letter,) = channels.list_dead_letters(shop, connector="ebay-us").items
    assert (letter.operation, letter.reference, letter.attempts) == (
        "push_shipment",
        "26-09000-00001",
        rules.MAX_ATTEMPTS,
    )
    assert "KeyError" in letter.error
    with shop.db.session() as session:
        left = session.execute(
            sa.text("SELECT status, COUNT(*) FROM jobs WHERE kind = 'channels.push_shipment' GROUP BY status")
        ).all()
    assert dict(left) == {"done": rules.MAX_ATTEMPTS}
    # and once the adapter is fixed, the replay confirms the shipment once
    monkeypatch.setattr(adapter, "push_shipment", original)
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    (fulfillment,) = ebay.shipped["26-09000-00001"]
    assert fulfillment["shipmentTrackingNumber"] == "1Z999AA10123456784"
    assert channels.connector_health(shop, code="ebay-us").dead_letters_open == 0


@pytest.mark.parametrize(
    ("config", "credentials", "field"),
    [
        ({"max_calls_per_s": 0}, None, "config.max_calls_per_s"),
        ({"page_size": 500}, None, "config.page_size"),
        ({"endpoint": "api.ebay.com"}, None, "config.endpoint"),
        ({"seller_id": "A2SELLER"}, None, "config.seller_id"),
        ({}, {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, "credentials.refresh_token"),
    ],
)
def test_an_ebay_connector_with_a_bad_setting_is_refused_by_its_field_and_nothing_is_made(
    shop: UnitOfWork, config: dict[str, Any], credentials: dict[str, str] | None, field: str
) -> None:
    # when
    with pytest.raises(ValidationFailed) as refused:
        channels.create_connector(
            shop,
            code="ebay-uk",
            kind="ebay",
            sales_channel="ebay",
            name="eBay UK",
            config={"shipping_method": "ground", **config},
            credentials=credentials
            or {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH},
        )
    # then
    assert refused.value.errors[0].field == field
    assert [c.code for c in channels.list_connectors(shop).items] == ["ebay-us"]
    assert _count(shop, PollStateRow) == 1


def test_a_refund_we_make_goes_to_ebay_once_even_when_its_answer_is_lost(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given an imported eBay order (eBay collected its money), and eBay losing the answer to the first refund
    row = _imported(shop, ebay, clock, "26-08000-00002")
    ebay.lose_refund_answers = 1
    # when we give back 10.00 of it
    payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("10.00"), "USD"), reason="damaged box")
    _relay(shop)
    _drain(shop.db)
    clock.advance(timedelta(minutes=5))  # the retry's back-off
    _drain(shop.db)
    # then eBay holds one refund of 10.00 with our reason, read before (the baseline) and after (the retry)
    (refund,) = ebay.refunds["26-08000-00002"]
    assert refund["amount"] == {"value": "10.00", "currency": "USD"}
    (sent,) = ebay.calls("POST", f"{ORDERS}/26-08000-00002/issue_refund")
    assert (sent.json["reasonForRefund"], sent.json["comment"]) == ("OTHER", "damaged box")
    assert channels.connector_health(shop, code="ebay-us").dead_letters_open == 0
    # when a second refund of the same amount is made, it goes out too (a new baseline holds the first)
    payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("10.00"), "USD"), reason="goodwill")
    _relay(shop)
    _drain(shop.db)
    assert [r["amount"]["value"] for r in ebay.refunds["26-08000-00002"]] == ["10.00", "10.00"]
    # (our cancellations through the Post-Order API: test_channel_order_changes_ebay)


JWE = "eyJ6aXAiOiJERUYiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiQTI1NkdDTUtXIn0.stub-jwe-of-the-public-key"


def _signing_key() -> tuple[Ed25519PrivateKey, str]:
    """A keypair as eBay's Key Management API makes one: the private key as base64 of its PKCS#8 DER."""
    key = Ed25519PrivateKey.generate()
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    return key, base64.b64encode(der).decode()


def _credentials(**extra: str) -> dict[str, str]:
    return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH, **extra}


def test_an_eu_seller_s_refund_goes_out_signed_with_the_connector_s_key_and_ebay_takes_it(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock
) -> None:
    # given a UK seller's connector holding its signing keypair, and eBay checking signatures for that seller
    key, private = _signing_key()
    channels.set_credentials(shop, code="ebay-us", credentials=_credentials(signing_key_jwe=JWE,
                                                                             signing_private_key=private))  # fmt: skip
    ebay.eu_seller_key = key.public_key()
    row = _imported(shop, ebay, clock, "26-08000-00002")
    # when we give back 10.00 of its order
    payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("10.00"), "USD"), reason="damaged box")
    _relay(shop)
    _drain(shop.db)
    # then eBay verified the signature (RFC 9421 over the digest, the key's JWE, method, path and authority) and
    # made the refund
    (sent,) = ebay.calls("POST", f"{ORDERS}/26-08000-00002/issue_refund")
    assert ebay_signatures.refusal(sent, key.public_key()) is None
    assert sent.headers["x-ebay-signature-key"] == JWE and sent.headers["content-digest"].startswith(
        "sha-256=:"
    )
    assert sent.json["orderLevelRefundAmount"] == {"value": "10.00", "currency": "USD"}
    assert [r["amount"]["value"] for r in ebay.refunds["26-08000-00002"]] == ["10.00"]
    assert channels.connector_health(shop, code="ebay-us").dead_letters_open == 0
    # and the other calls (reading the order's refunds first) went as before, unsigned
    (read,) = [s for s in ebay.api.seen if s.method == "GET" and s.path == f"{ORDERS}/26-08000-00002"][:1]
    assert "signature" not in read.headers


@pytest.mark.parametrize("held", ["no keypair", "another seller's keypair"])
def test_an_eu_seller_s_refund_ebay_cannot_verify_is_refused_and_dead_lettered_with_its_words(
    shop: UnitOfWork, ebay: EbayStub, clock: FixedClock, held: str
) -> None:
    # given eBay checking signatures for this seller, and a connector holding no keypair or one eBay does not have
    # for this seller
    if held != "no keypair":
        keypair = _credentials(signing_key_jwe=JWE, signing_private_key=_signing_key()[1])
        channels.set_credentials(shop, code="ebay-us", credentials=keypair)
    ebay.eu_seller_key = Ed25519PrivateKey.generate().public_key()
    row = _imported(shop, ebay, clock, "26-08000-00002")
    # when we refund 10.00
    payments.refund_order(shop, order_id=row.id, amount=Money(Decimal("10.00"), "USD"), reason="damaged box")
    _relay(shop)
    _drain(shop.db)
    # then nothing was refunded on eBay, and a person sees eBay's refusal
    assert ebay.refunds.get("26-08000-00002", []) == []
    (letter,) = channels.list_dead_letters(shop, connector="ebay-us").items
    assert "215120" in letter.error and "Signature validation failed" in letter.error


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"signing_key_jwe": JWE}, "credentials.signing_private_key"),
        ({"signing_private_key": "PLACEHOLDER"}, "credentials.signing_key_jwe"),
        ({"signing_key_jwe": JWE, "signing_private_key": "bm90IGEga2V5"}, "credentials.signing_private_key"),
        ({"signing_key_jwe": JWE, "signing_private_key": "EC"}, "credentials.signing_private_key"),
        ({"signing_key_jwe": "a\x00b", "signing_private_key": "PLACEHOLDER"}, "credentials.signing_key_jwe"),
    ],
)
def test_a_bad_signing_keypair_is_refused_by_its_field_and_the_credentials_stay_as_they_were(
    shop: UnitOfWork, extra: dict[str, str], field: str
) -> None:
    _key, private = _signing_key()
    ec = ec_keys.generate_private_key(ec_keys.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    values = {
        k: (private if v == "PLACEHOLDER" else ec.decode() if v == "EC" else v) for k, v in extra.items()
    }
    before = channels.get_connector(shop, code="ebay-us")
    with pytest.raises(ValidationFailed) as refused:
        channels.set_credentials(shop, code="ebay-us", credentials=_credentials(**values))
    assert [e.field for e in refused.value.errors] == [field]
    assert private not in str(refused.value.detail) and private not in repr(refused.value.errors)
    assert channels.get_connector(shop, code="ebay-us") == before
