"""The Amazon SP-API connector on SQLite and PostgreSQL, against a loopback stub of the documented APIs (Login with
Amazon's token endpoint, the Tokens API's Restricted Data Token, Orders v0 `getOrders` with `NextToken` and
`getOrderItems`, Listings Items `patchListingsItem`, `confirmShipment`; `x-amzn-RateLimit-Limit`, 429
QuotaExceeded, 403 for an expired token): polled orders become orders exactly once under duplicate pages,
overlapping windows, out-of-order versions, racing workers and a lapsed claim; the cursor moves only with committed
orders; Amazon's tax collection and ship-by date are kept for finance and fulfillment; quantities and shipment
confirmations go out, waiting when throttled, retried when Amazon is down, dead-lettered when refused."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.channels import connectors
from ordersmith.channels import service as channels
from ordersmith.channels.connectors.amazon_api import PACED, PACER, TOKENS
from ordersmith.channels.service import polling
from ordersmith.channels.tables import ChannelOrderRow, PendingStockRow, PollStateRow
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import Conflict, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderRow
from ordersmith.payments import service as payments
from ordersmith.platform import jobs, outbox
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow
from ordersmith.pricing import service as pricing
from tests.builders import make_order_shop, stock
from tests.support.http_stub import Answer, Seen, StubApi, serving

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MARKETPLACE, SELLER = "ATVPDKIKX0DER", "A2SELLER0001"
CLIENT_ID, CLIENT_SECRET, REFRESH = "amzn1.application-oa2-client.test", "lwa-secret", "Atzr|refresh-token"
ORDERS = "/orders/v0/orders"
RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"
SKUS = {"TEE": "AZ-TEE", "MUG": "AZ-MUG", "LAMP": "AZ-LAMP"}


def _z(stamp: datetime) -> str:
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(amount: str) -> dict[str, str]:
    return {"CurrencyCode": "USD", "Amount": amount}


def amazon_order(order_id: str, *, updated: datetime, status: str = "Unshipped") -> dict[str, Any]:
    """An order as `getOrders` answers it to a caller holding a Restricted Data Token."""
    return {
        "AmazonOrderId": order_id,
        "PurchaseDate": _z(START - timedelta(hours=3)),
        "LastUpdateDate": _z(updated),
        "OrderStatus": status,
        "FulfillmentChannel": "MFN",
        "SalesChannel": "Amazon.com",
        "ShipServiceLevel": "Std US D2D Dom",
        "ShipmentServiceLevelCategory": "Standard",
        "OrderTotal": _money("47.30"),
        "NumberOfItemsShipped": 0,
        "NumberOfItemsUnshipped": 2,
        "MarketplaceId": MARKETPLACE,
        "EarliestShipDate": _z(START),
        "LatestShipDate": "2026-12-03T07:59:59Z",
        "IsPrime": False,
        "BuyerInfo": {"BuyerEmail": "x7k2@marketplace.amazon.com"},
        "ShippingAddress": {
            "Name": "Ann Buyer",
            "AddressLine1": "1 Market St",
            "AddressLine2": "Apt 4",
            "City": "San Francisco",
            "StateOrRegion": "CA",
            "PostalCode": "94105",
            "CountryCode": "US",
            "AddressType": "Residential",
        },
    }


def amazon_items(order_id: str, quantity: int = 2) -> list[dict[str, Any]]:
    return [
        {
            "ASIN": "B0TEE00001",
            "SellerSKU": "AZ-TEE",
            "OrderItemId": f"{order_id[-5:]}01",
            "Title": "Tee",
            "QuantityOrdered": quantity,
            "QuantityShipped": 0,
            "ItemPrice": _money(f"{20 * quantity}.00"),
            "ItemTax": _money("3.30"),
            "ShippingPrice": _money("4.00"),
            "ShippingTax": _money("0.00"),
            "TaxCollection": {"Model": "MarketplaceFacilitator", "ResponsibleParty": "Amazon Services, Inc."},
        },
        {
            "ASIN": "B0MUG00001",
            "SellerSKU": "AZ-MUG",
            "OrderItemId": f"{order_id[-5:]}02",
            "Title": "Mug",
            "QuantityOrdered": 0,  # cancelled by the buyer
            "QuantityShipped": 0,
            "ItemPrice": _money("0.00"),
        },
    ]


class PacedTime:
    """The pacer's clock in these tests: a sleep moves it on at once (the waits are counted, not spent)."""

    def __init__(self) -> None:
        self.at = 0.0
        self.slept = 0.0

    def now(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += seconds
        self.slept += seconds


class AmazonStub:
    """Answers as the SP-API documents: tokens from LWA, buyer data only under a Restricted Data Token, pages by
    NextToken, the rate limit in `x-amzn-RateLimit-Limit`, 429 QuotaExceeded, 403 for an expired token."""

    def __init__(self) -> None:
        self.api = StubApi()
        self.api.route("POST", "/auth/o2/token", self.token)
        self.api.route("POST", "/tokens/2021-03-01/restrictedDataToken", self.rdt)
        self.api.route("GET", ORDERS, self.get_orders)
        self.api.route("GET", rf"{ORDERS}/([\w-]+)/orderItems", self.get_items)
        self.api.route("POST", rf"{ORDERS}/([\w-]+)/shipmentConfirmation", self.confirm)
        self.api.route("PATCH", rf"/listings/2021-08-01/items/{SELLER}/([\w%.-]+)", self.patch_listing)
        self.reset()

    def reset(self) -> None:
        self.api.seen.clear()
        self.tokens: set[str] = set()
        self.issued = 0
        self.orders: list[dict[str, Any]] = []
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.page_size = 2
        self.items_page_size = 100
        self.repeat_on_next_page = False
        self.stale: list[dict[str, Any]] = []  # old copies a lagging replica serves on the next first page
        self.throttle: list[str] = []  # answer the next calls 429 with these x-amzn-RateLimit-Limit values
        self.expire = 0  # answer this many calls 403 "expired" (and forget the tokens issued)
        self.unavailable: dict[str, int] = {}  # path ending -> answer this many with 503
        self.known_skus = set(SKUS.values())
        self.confirmed: dict[str, dict[str, Any]] = {}
        self.listings: dict[str, int] = {}
        self.prices: dict[str, tuple[Decimal, str]] = {}  # the amount read as the JSON number it was sent as
        self.price_bodies: list[bytes] = []
        self.delay_s = 0.0
        self.in_flight = 0
        self.most_in_flight = 0
        self._pages: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self._lock = threading.Lock()
        # patchListingsItem's usage plan enforced on the pacer's clock when set: (rate a second, burst, level, at)
        self.listing_plan: list[float] | None = None
        self.clock = PacedTime()
        self.answered_429 = 0

    def _plan_rate(self) -> str:
        return str(self.listing_plan[0]) if self.listing_plan else "5.0"

    def _over_plan(self) -> bool:
        plan = self.listing_plan
        if plan is None:
            return False
        rate, burst, level, at = plan
        now = self.clock.now()
        level = min(burst, level + (now - at) * rate)
        if level < 1:
            plan[2], plan[3] = level, now
            return True
        plan[2], plan[3] = level - 1, now
        return False

    def token(self, seen: Seen) -> Answer:
        form = dict(parse_qsl(seen.body.decode()))
        if (form.get("grant_type"), form.get("client_id"), form.get("client_secret")) != (
            "refresh_token",
            CLIENT_ID,
            CLIENT_SECRET,
        ):
            return Answer(
                401, {"error": "invalid_client", "error_description": "Client authentication failed"}
            )
        if form.get("refresh_token") != REFRESH:
            return Answer(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter : refresh_token",
                },
            )
        self.issued += 1
        token = f"Atza|access-{self.issued}"
        self.tokens.add(token)
        return Answer(
            200, {"access_token": token, "refresh_token": REFRESH, "token_type": "bearer", "expires_in": 3600}
        )

    def _refused(self, seen: Seen, *, rate: str) -> Answer | None:
        token = seen.headers.get("x-amz-access-token", "")
        if self.expire:
            self.expire -= 1
            self.tokens.clear()
            return Answer(
                403,
                {
                    "errors": [
                        {
                            "code": "Unauthorized",
                            "message": "Access to requested resource is denied.",
                            "details": "The access token you provided has expired.",
                        }
                    ]
                },
            )
        if token not in self.tokens:
            return Answer(
                403,
                {
                    "errors": [
                        {
                            "code": "Unauthorized",
                            "message": "Access to requested resource is denied.",
                            "details": "",
                        }
                    ]
                },
            )
        if self.throttle:
            return Answer(
                429,
                {
                    "errors": [
                        {
                            "code": "QuotaExceeded",
                            "message": "You exceeded your quota for the requested resource.",
                        }
                    ]
                },
                headers={"x-amzn-RateLimit-Limit": self.throttle.pop(0)},
            )
        for ending, count in self.unavailable.items():
            if count and seen.path.endswith(ending):
                self.unavailable[ending] -= 1
                return Answer(
                    503,
                    {
                        "errors": [
                            {"code": "ServiceUnavailable", "message": "Service temporarily unavailable."}
                        ]
                    },
                )
        return None

    def rdt(self, seen: Seen) -> Answer:
        if refused := self._refused(seen, rate="1.0"):
            return refused
        (resource,) = seen.json["restrictedResources"]
        assert resource == {"method": "GET", "path": ORDERS, "dataElements": ["buyerInfo", "shippingAddress"]}
        self.issued += 1
        token = f"Atz.sprdt|{self.issued}"
        self.tokens.add(token)
        return Answer(
            200, {"restrictedDataToken": token, "expiresIn": 3600}, headers={"x-amzn-RateLimit-Limit": "1.0"}
        )

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
        if refused := self._refused(seen, rate="0.0167"):
            return refused
        query = seen.query
        assert query["MarketplaceIds"] == MARKETPLACE
        if "NextToken" in query:
            found, start = self._pages[query["NextToken"]]
        else:
            after = datetime.fromisoformat(query["LastUpdatedAfter"])
            before = datetime.fromisoformat(query["LastUpdatedBefore"])
            statuses = query["OrderStatuses"].split(",")
            found = sorted(
                (
                    o
                    for o in self.orders
                    if after <= datetime.fromisoformat(o["LastUpdateDate"]) <= before  # both ends included
                    and o["OrderStatus"] in statuses
                    and o["FulfillmentChannel"] in query["FulfillmentChannels"]
                ),
                key=lambda o: o["LastUpdateDate"],
            )
            start = 0
        size = min(int(query.get("MaxResultsPerPage", 100)), self.page_size)
        page = found[start : start + size]
        if start == 0 and self.stale:
            page, self.stale = [*self.stale, *page], []
        if self.repeat_on_next_page and start > 0:
            page = [found[start - 1], *page]  # Amazon repeating the last order of the page before
        if not seen.headers["x-amz-access-token"].startswith("Atz.sprdt|"):
            page = [{k: v for k, v in o.items() if k not in ("BuyerInfo", "ShippingAddress")} for o in page]
        body: dict[str, Any] = {"Orders": page, "LastUpdatedBefore": query.get("LastUpdatedBefore", "")}
        if start + size < len(found):
            token = f"next-{len(self._pages)}"
            self._pages[token] = (found, start + size)
            body["NextToken"] = token
        return Answer(200, {"payload": body}, headers={"x-amzn-RateLimit-Limit": "0.0167"})

    def get_items(self, seen: Seen) -> Answer:
        if refused := self._refused(seen, rate="0.5"):
            return refused
        order_id = seen.path.split("/")[-2]
        if order_id not in self.items:
            return Answer(404, {"errors": [{"code": "InvalidInput", "message": "Invalid Input"}]})
        start = int(seen.query.get("NextToken", "0"))
        items = self.items[order_id]
        body: dict[str, Any] = {
            "AmazonOrderId": order_id,
            "OrderItems": items[start : start + self.items_page_size],
        }
        if start + self.items_page_size < len(items):
            body["NextToken"] = str(start + self.items_page_size)
        return Answer(200, {"payload": body}, headers={"x-amzn-RateLimit-Limit": "0.5"})

    def confirm(self, seen: Seen) -> Answer:
        if refused := self._refused(seen, rate="2.0"):
            return refused
        order_id = seen.path.split("/")[-2]
        detail = seen.json["packageDetail"]
        known = {i["OrderItemId"] for i in self.items.get(order_id, [])}
        if (
            seen.json.get("marketplaceId") != MARKETPLACE
            or not {i["orderItemId"] for i in detail["orderItems"]} <= known
        ):
            return Answer(400, {"errors": [{"code": "InvalidInput", "message": "Invalid order item ids"}]})
        self.confirmed[order_id] = seen.json
        return Answer(204, b"", headers={"x-amzn-RateLimit-Limit": "2.0"})

    def patch_listing(self, seen: Seen) -> Answer:
        if refused := self._refused(seen, rate="5.0"):
            return refused
        if self._over_plan():
            self.answered_429 += 1
            errors = [
                {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}
            ]
            return Answer(429, {"errors": errors}, headers={"x-amzn-RateLimit-Limit": self._plan_rate()})
        sku = seen.path.rsplit("/", 1)[1]
        assert seen.query["marketplaceIds"] == MARKETPLACE
        if sku not in self.known_skus:
            return Answer(
                200,
                {
                    "sku": sku,
                    "status": "INVALID",
                    "submissionId": "s-0",
                    "issues": [
                        {"code": "4000001", "message": f"SKU {sku} has no listing", "severity": "ERROR"}
                    ],
                },
                headers={"x-amzn-RateLimit-Limit": self._plan_rate()},
            )
        (patch,) = json.loads(seen.body, parse_float=Decimal)["patches"]
        if patch["path"] == "/attributes/purchasable_offer":
            self.price_bodies.append(seen.body)  # a price: the documented replace of the offer
            assert (seen.json["productType"], patch["op"]) == ("PRODUCT", "replace")
            (offer,) = patch["value"]
            assert offer["marketplace_id"] == MARKETPLACE
            (schedule,) = offer["our_price"]
            self.prices[sku] = (schedule["schedule"][0]["value_with_tax"], offer["currency"])
        else:
            assert (seen.json["productType"], patch["op"], patch["path"]) == (
                "PRODUCT",
                "merge",
                "/attributes/fulfillment_availability",
            )
            self.listings[sku] = patch["value"][0]["quantity"]
        return Answer(
            200,
            {"sku": sku, "status": "ACCEPTED", "submissionId": f"s-{len(self.listings)}", "issues": []},
            headers={"x-amzn-RateLimit-Limit": self._plan_rate()},
        )

    def add(
        self, order_id: str, *, updated: datetime, quantity: int = 2, status: str = "Unshipped"
    ) -> dict[str, Any]:
        order = amazon_order(order_id, updated=updated, status=status)
        self.orders = [o for o in self.orders if o["AmazonOrderId"] != order_id] + [order]
        self.items[order_id] = amazon_items(order_id, quantity)
        return order

    def calls(self, path: str) -> list[Seen]:
        return [s for s in self.api.seen if s.path == path]


@pytest.fixture(scope="module")
def amazon() -> Iterator[AmazonStub]:
    stub = AmazonStub()
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


@pytest.fixture
def shop(db: Database, settings: Settings, clock: FixedClock, amazon: AmazonStub) -> Iterator[UnitOfWork]:
    amazon.reset()
    TOKENS.clear()
    PACER.clear()
    PACER.now, PACER.sleep = amazon.clock.now, amazon.clock.sleep
    db.set_clock(clock)
    wired = payments.setup_payments(db, settings)
    channels.register()
    channels.setup_channels(db, settings)
    uow = db.unit_of_work(Actor.system("test"))
    make_order_shop(uow)
    channels.create_connector(
        uow,
        code="amz",
        kind="amazon",
        sales_channel="amazon",
        name="Amazon US",
        config={
            "shipping_method": "ground",
            "endpoint": amazon.api.url(),
            "token_url": f"{amazon.api.url()}/auth/o2/token",
            "marketplace_id": MARKETPLACE,
            "seller_id": SELLER,
            "stock_window_s": 5,
            "price_list": "usd",
        },
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH},
    )
    for sku, channel_sku in SKUS.items():
        channels.map_sku(uow, connector="amz", channel_sku=channel_sku, sku=sku, listing_id=channel_sku)
    _relay(uow)
    clock.advance(timedelta(seconds=5))
    _drain(db)  # the first stock push, and the first poll (nothing settled yet)
    amazon.api.seen.clear()
    amazon.listings.clear()
    yield uow
    wired.vault.dispose()
    PACER.now, PACER.sleep = time.monotonic, time.sleep


def _orders(uow: UnitOfWork) -> list[OrderRow]:
    with uow:
        return list(uow.session.scalars(sa.select(OrderRow).order_by(OrderRow.external_id)))


def _count(uow: UnitOfWork, table: Any) -> int:
    with uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def _connector_id(uow: UnitOfWork) -> Any:
    return channels.get_connector(uow, code="amz").id


def _cursor(uow: UnitOfWork) -> dict[str, Any]:
    health = channels.connector_health(uow, code="amz")
    assert health.polling is not None
    return health.polling.cursor


def test_polled_orders_become_one_order_each_with_amazons_tax_collection_and_ship_by_date(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given (the set-up's poll read the day before it): three orders over two pages, page two repeating the
    # last of page one; each order's items a page at a time
    for n in range(3):
        amazon.add(f"111-0000000-000000{n}", updated=START + timedelta(seconds=30 + n))
    amazon.add(
        "111-0000000-0000009", updated=START + timedelta(seconds=40), status="Pending"
    )  # not released yet
    amazon.repeat_on_next_page = True
    amazon.items_page_size = 1
    clock.advance(timedelta(minutes=5))
    # when
    _drain(shop.db)
    # then: each order once, placed as collected by the marketplace
    assert [o.external_id for o in _orders(shop)] == [f"111-0000000-000000{n}" for n in range(3)]
    order = orders.get_order(shop, ref=_orders(shop)[0].number)
    assert [(line.sku, line.quantity) for line in order.lines] == [
        ("TEE", 2)
    ]  # the cancelled mug is not shipped
    (ship_to,) = order.ship_tos
    assert (ship_to.name, ship_to.line1, ship_to.line2, ship_to.postal_code) == (
        "Ann Buyer",
        "1 Market St",
        "Apt 4",
        "94105",
    )
    kept = channels.get_channel_order(shop, connector="amz", external_id="111-0000000-0000001")
    assert kept.deliveries == 2  # the repeated one: counted, not placed twice
    assert {
        k: kept.reported[k]
        for k in ("subtotal", "shipping", "total_tax", "total", "tax_collected_by", "ship_by")
    } == {
        "subtotal": "40.00",
        "shipping": "4.00",
        "total_tax": "3.30",
        "total": "47.30",
        "tax_collected_by": "marketplace",
        "ship_by": "2026-12-03T07:59:59+00:00",
    }
    # and: one LWA token and one Restricted Data Token (both from the set-up's calls) served the whole poll
    assert (amazon.issued, amazon.calls("/auth/o2/token"), amazon.calls(RDT_PATH)) == (2, [], [])
    assert {s.headers["x-amz-access-token"] for s in amazon.calls(ORDERS)} == {"Atz.sprdt|2"}
    first, second = amazon.calls(ORDERS)
    assert (first.query["LastUpdatedAfter"], first.query["LastUpdatedBefore"]) == (
        _z(START + timedelta(seconds=5) - timedelta(minutes=2)),
        _z(clock.now() - timedelta(minutes=2)),
    )
    assert (first.query["OrderStatuses"], first.query["FulfillmentChannels"]) == (
        "Unshipped,PartiallyShipped,Canceled",  # cancellations are read by the same poll
        "MFN",
    )
    assert second.query == first.query | {"NextToken": "next-0"}
    assert _cursor(shop) == {"after": (clock.now() - timedelta(minutes=2)).isoformat()}
    assert channels.connector_health(shop, code="amz").rate_limit["x-amzn-RateLimit-Limit"] == 0.5


def test_overlapping_windows_and_out_of_order_versions_make_no_second_order(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given: an order polled and imported
    amazon.add("222-0000000-0000001", updated=START + timedelta(seconds=30), quantity=1)
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    # when: the next window overlaps (its start is the last end, included) and Amazon reports it again
    order = amazon.orders[0]
    order["LastUpdateDate"] = _z(datetime.fromisoformat(_cursor(shop)["after"]))
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    # then
    assert [o.external_id for o in _orders(shop)] == ["222-0000000-0000001"]
    assert (
        channels.get_channel_order(shop, connector="amz", external_id="222-0000000-0000001").deliveries == 2
    )
    # given an order whose newer version (3 tees) is polled first, and an older copy (1 tee) a lagging replica serves
    newer = amazon.add("222-0000000-0000002", updated=clock.now() - timedelta(minutes=1), quantity=3)
    stale = amazon_order("222-0000000-0000002", updated=clock.now() - timedelta(minutes=1, seconds=30))
    clock.advance(timedelta(minutes=5))
    connector_id = _connector_id(shop)
    assert channels.poll_orders(shop, connector_id=connector_id, worker="w").recorded == 1
    amazon.stale = [stale]
    amazon.items[stale["AmazonOrderId"]] = amazon_items(stale["AmazonOrderId"], 1)
    clock.advance(timedelta(minutes=5))
    assert channels.poll_orders(shop, connector_id=connector_id, worker="w").recorded == 0
    _drain(shop.db)
    # then: the newer version is the one placed
    placed = orders.get_order(shop, ref=_orders(shop)[1].number)
    assert (placed.external_id, [line.quantity for line in placed.lines]) == (newer["AmazonOrderId"], [3])


def test_the_cursor_moves_only_with_committed_orders_and_a_failed_page_is_read_again(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given: four orders on two pages; Amazon fails the second page once
    for n in range(4):
        amazon.add(f"333-0000000-000000{n}", updated=START + timedelta(seconds=30 + n))
    clock.advance(timedelta(minutes=5))
    amazon.unavailable = {ORDERS: 0}
    connector_id = _connector_id(shop)
    original = connectors.for_kind("amazon").poll_orders
    pages = 0

    def second_page_fails(access: Any, cursor: Any, now: datetime) -> connectors.PollPage:
        nonlocal pages
        pages += 1
        if pages == 2:
            raise connectors.CallFailed("Amazon answered 503", status=503)
        return original(access, cursor, now)

    adapter = connectors.for_kind("amazon")
    adapter.poll_orders = second_page_fails  # type: ignore[method-assign]
    try:
        result = channels.poll_orders(shop, connector_id=connector_id, worker="w")
    finally:
        del adapter.poll_orders  # type: ignore[attr-defined]
    # then: page one's orders are in, the cursor names page two, the poll backs off
    assert (result.outcome, result.recorded) == ("retrying", 2)
    cursor = _cursor(shop)
    assert (cursor["next_token"], cursor["before"]) == (
        "next-0",
        (clock.now() - timedelta(minutes=2)).isoformat(),
    )
    health = channels.connector_health(shop, code="amz")
    assert health.polling is not None
    assert (health.polling.failures, health.polling.next_poll_at) == (1, clock.now() + timedelta(seconds=120))
    # when the poll comes back: it reads page two from the stored token, not the window again
    clock.advance(timedelta(seconds=120))
    amazon.api.seen.clear()
    _drain(shop.db)
    assert [s.query.get("NextToken") for s in amazon.calls(ORDERS)] == ["next-0"]
    assert [o.external_id for o in _orders(shop)] == [f"333-0000000-000000{n}" for n in range(4)]


def test_throttling_is_waited_out_briefly_in_the_call_or_the_poll_comes_back_when_amazon_allows(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given
    amazon.add("444-0000000-0000001", updated=START + timedelta(seconds=30))
    clock.advance(timedelta(minutes=5))
    # when: a 429 at 20 requests a second (a 50 ms wait), then one at getOrders' own rate (one a minute)
    amazon.throttle = ["20.0"]
    connector_id = _connector_id(shop)
    assert channels.poll_orders(shop, connector_id=connector_id, worker="w").outcome == "done"
    amazon.add("444-0000000-0000002", updated=clock.now() - timedelta(minutes=1))
    clock.advance(timedelta(minutes=5))
    cursor = _cursor(shop)
    amazon.throttle = ["0.0167"]
    result = channels.poll_orders(shop, connector_id=connector_id, worker="w")
    # then: the second waits as Amazon allows, the cursor unmoved, not counted as a failure
    assert result.outcome == "throttled"
    health = channels.connector_health(shop, code="amz")
    assert health.polling is not None
    assert health.polling.next_poll_at == clock.now() + timedelta(seconds=1 / 0.0167)
    assert (health.polling.failures, health.polling.cursor, health.last_failure_at) == (0, cursor, None)
    clock.advance(timedelta(seconds=60))
    _drain(shop.db)
    assert [o.external_id for o in _orders(shop)] == ["444-0000000-0000001", "444-0000000-0000002"]


def test_an_expired_token_is_refreshed_once_and_a_refused_refresh_token_pauses_polling_until_replayed(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given: a token Amazon now calls expired
    amazon.add("555-0000000-0000001", updated=START + timedelta(seconds=30))
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    amazon.expire = 1
    amazon.add("555-0000000-0000002", updated=clock.now() - timedelta(minutes=1))
    clock.advance(timedelta(minutes=5))
    # when
    _drain(shop.db)
    # then: a fresh token, and the poll went through
    assert len(_orders(shop)) == 2
    # given: the seller revoked the app (its refresh token is refused)
    channels.set_credentials(
        shop,
        code="amz",
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": "Atzr|revoked"},
    )
    TOKENS.clear()
    amazon.add("555-0000000-0000003", updated=clock.now() - timedelta(minutes=1))
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    (letter,) = channels.list_dead_letters(shop, connector="amz").items
    assert (letter.operation, letter.reference, letter.payload) == (
        "poll_orders",
        "amz",
        {"cursor": _cursor(shop)},
    )
    assert "invalid_grant" in letter.error
    # when the app is authorised again and the letter replayed
    channels.set_credentials(
        shop,
        code="amz",
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH},
    )
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    assert len(_orders(shop)) == 3
    assert channels.connector_health(shop, code="amz").dead_letters_open == 0


def test_two_workers_polling_at_once_make_one_poll_and_a_lapsed_claim_cannot_move_the_cursor(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given
    for n in range(3):
        amazon.add(f"666-0000000-000000{n}", updated=START + timedelta(seconds=30 + n))
    clock.advance(timedelta(minutes=5))
    amazon.delay_s = 0.3
    connector_id = _connector_id(shop)
    results: list[str] = []

    def poll(worker: str) -> None:
        uow = shop.db.unit_of_work(Actor.system(worker))
        results.append(channels.poll_orders(uow, connector_id=connector_id, worker=worker).outcome)

    # when
    threads = [threading.Thread(target=poll, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # then: one poll ran, the others found it claimed; Amazon never saw two getOrders at once
    assert sorted(results) == ["busy", "busy", "busy", "done"]
    assert amazon.most_in_flight == 1
    amazon.delay_s = 0
    # given: a worker whose claim lapses while it reads, and another that takes over
    amazon.add("666-0000000-0000009", updated=clock.now() - timedelta(minutes=1))
    clock.advance(timedelta(minutes=5))
    claim = polling._claim(shop, connector_id=connector_id, worker="slow")
    assert claim is not None
    page = connectors.for_kind("amazon").poll_orders(claim.access, claim.cursor, clock.now())
    clock.advance(timedelta(seconds=polling.LEASE_S + 1))
    assert polling._claim(shop, connector_id=connector_id, worker="fast") is not None
    # when the slow one commits its page
    with pytest.raises(Conflict):
        polling._commit_page(shop, connector_id=connector_id, worker="slow", page=page)
    # then: nothing of it was recorded, the cursor is not its
    assert _count(shop, ChannelOrderRow) == 3
    with shop:
        state = shop.session.get(PollStateRow, connector_id)
        assert state is not None and state.claimed_by == "fast" and state.cursor != page.cursor


def test_an_unreadable_polled_order_is_dead_lettered_and_the_others_go_in(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given: one order whose address has no first line
    amazon.add("777-0000000-0000001", updated=START + timedelta(seconds=30))
    broken = amazon.add("777-0000000-0000002", updated=START + timedelta(seconds=31))
    del broken["ShippingAddress"]["AddressLine1"]
    clock.advance(timedelta(minutes=5))
    # when
    _drain(shop.db)
    # then
    assert [o.external_id for o in _orders(shop)] == ["777-0000000-0000001"]
    (letter,) = channels.list_dead_letters(shop, connector="amz").items
    assert (letter.operation, letter.reference) == ("import_order", "777-0000000-0000002")
    assert "ShippingAddress.AddressLine1" in letter.error
    # when Amazon's data is fixed (the kept payload is replayed as it was: still unreadable, the letter stays)
    with pytest.raises(ValidationFailed) as refused:
        channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    assert refused.value.errors[0].field == "ShippingAddress.AddressLine1"
    assert channels.connector_health(shop, code="amz").dead_letters_open == 1


def _latest_available(uow: UnitOfWork) -> dict[str, int]:
    with uow:
        rows = uow.session.scalars(
            sa.select(OutboxRow).where(OutboxRow.type == "stock.changed").order_by(OutboxRow.id)
        )
        return {r.payload["sku"]: int(r.payload["available"]["web"]) for r in rows}


def test_quantities_go_out_as_listings_patches_and_a_refused_sku_is_dead_lettered_then_replayed(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given: the lamp has no listing on Amazon yet
    amazon.known_skus.discard("AZ-LAMP")
    for sku in ("TEE", "MUG", "LAMP"):
        stock(shop, sku=sku, location="EAST", quantity=1)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    amazon.throttle = ["20.0"]  # the first PATCH is throttled briefly
    # when
    _drain(shop.db)
    # then: tee and mug set, the lamp's refusal dead-lettered with the figures of the run
    latest = _latest_available(shop)
    assert amazon.listings == {"AZ-MUG": latest["MUG"], "AZ-TEE": latest["TEE"]}
    (letter,) = channels.list_dead_letters(shop, connector="amz").items
    assert letter.operation == "push_stock" and "AZ-LAMP has no listing" in letter.error
    # when the listing exists and the letter is replayed
    amazon.known_skus.add("AZ-LAMP")
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    assert amazon.listings == {"AZ-MUG": latest["MUG"], "AZ-TEE": latest["TEE"], "AZ-LAMP": latest["LAMP"]}
    assert _count(shop, PendingStockRow) == 0


def test_a_backlog_longer_than_one_push_goes_out_in_turn_so_no_item_waits_behind_items_that_keep_changing(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given: 45 items listed on Amazon, more than one push run sends (one batch of ten)
    skus = [f"BL-{n:02d}" for n in range(45)]
    for sku in skus:
        catalog.create_item(shop, sku=sku, name=sku, divisions=["web"])
        channels.map_sku(shop, connector="amz", channel_sku=f"AZ-{sku}", sku=sku, listing_id=f"AZ-{sku}")
    amazon.known_skus |= {f"AZ-{sku}" for sku in skus}
    # when: every item changes before each of two push runs (a steady stream of changes)
    for _ in range(2):
        for sku in skus:
            stock(shop, sku=sku, location="EAST", quantity=1)
        _relay(shop)
        clock.advance(timedelta(seconds=5))
        _drain(shop.db)
    # then: each run started where the one before stopped (a full run queues the next at once): every item
    # reached Amazon once a round, the last five with the figure of the second round
    assert sorted(amazon.listings) == [f"AZ-{sku}" for sku in skus]
    assert [amazon.listings[f"AZ-BL-{n}"] for n in range(40, 45)] == [2] * 5
    assert len(amazon.calls(f"/listings/2021-08-01/items/{SELLER}/AZ-BL-00")) == 2


def _listed(uow: UnitOfWork, amazon: AmazonStub, prefix: str, count: int) -> list[str]:
    skus = [f"{prefix}-{n:02d}" for n in range(count)]
    for sku in skus:
        catalog.create_item(uow, sku=sku, name=sku, divisions=["web"])
        channels.map_sku(uow, connector="amz", channel_sku=f"AZ-{sku}", sku=sku, listing_id=f"AZ-{sku}")
    amazon.known_skus |= {f"AZ-{sku}" for sku in skus}
    return skus


def _patches(amazon: AmazonStub) -> list[str]:
    return [seen.path.rsplit("/", 1)[1] for seen in amazon.api.seen if seen.method == "PATCH"]


def test_listings_patches_are_paced_at_amazons_documented_rate_so_none_draws_a_429(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given: Amazon enforcing patchListingsItem's documented plan (5 a second, burst 5) and 45 items changed
    amazon.listing_plan = [5.0, 5.0, 5.0, amazon.clock.now()]
    skus = _listed(shop, amazon, "PC", 45)
    for sku in skus:
        stock(shop, sku=sku, location="EAST", quantity=1)
    _relay(shop)
    # when: the push is due: runs of ten, each full one queueing the next at once
    clock.advance(timedelta(seconds=5))
    _drain(shop.db)
    # then: every listing went out once, in turn, none was answered 429, and the calls past the burst of five
    # waited their turns: 40 / 5 = 8 seconds at least
    assert _patches(amazon) == [f"AZ-{sku}" for sku in skus]
    assert amazon.answered_429 == 0
    assert amazon.clock.slept >= 8.0
    assert channels.connector_health(shop, code="amz").dead_letters_open == 0


def test_a_push_whose_next_turn_is_far_sends_what_it_could_and_the_next_push_starts_with_the_rest(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a plan of one call every four seconds after a burst of five (a turn more than two seconds off is not
    # waited out in the job: the job thread is not held) and twelve items changed
    monkeypatch.setitem(PACED, "patchListingsItem", (0.25, 5.0))
    PACER.clear()  # the set-up's own first push drew on the default plan
    amazon.listing_plan = [0.25, 5.0, 5.0, amazon.clock.now()]
    skus = _listed(shop, amazon, "DF", 12)
    for sku in skus:
        stock(shop, sku=sku, location="EAST", quantity=1)
    _relay(shop)
    # when: the first push runs
    clock.advance(timedelta(seconds=5))
    _drain(shop.db)
    # then: the burst went out, the rest stays pending, nothing was throttled and nothing was waited for
    assert _patches(amazon) == [f"AZ-DF-{n:02d}" for n in range(5)]
    assert (amazon.answered_429, amazon.clock.slept) == (0, 0.0)
    with shop:
        left = sorted(shop.session.scalars(sa.select(PendingStockRow.item_sku)).all())
    assert left == skus[5:]
    # when: each next push is due after Amazon's plan has refilled
    rounds = 1
    while _patches(amazon) != [f"AZ-DF-{n:02d}" for n in range(12)] and rounds < 5:
        amazon.clock.sleep(20)
        clock.advance(timedelta(seconds=5))
        _drain(shop.db)
        rounds += 1
    # then: each push started with the first listing the one before deferred: every listing went out exactly
    # once, in three pushes of five, five and two
    assert _patches(amazon) == [f"AZ-DF-{n:02d}" for n in range(12)]
    assert (rounds, amazon.answered_429) == (3, 0)
    assert channels.connector_health(shop, code="amz").dead_letters_open == 0


def test_a_shipment_is_confirmed_with_its_order_items_and_tracking_and_retried_when_amazon_is_down(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given an imported Amazon order
    amazon.add("888-0000000-0000001", updated=START + timedelta(seconds=30))
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    (row,) = _orders(shop)
    amazon.unavailable = {"/shipmentConfirmation": 1}
    # when it ships
    shipped_at = clock.now()
    orders.record_shipment(shop, ref=row.number, tracking="9400111899223334445566")
    _relay(shop)
    _drain(shop.db)
    assert amazon.confirmed == {}
    clock.advance(timedelta(seconds=30))
    _drain(shop.db)
    # then: confirmed once, with the items left to ship (not the cancelled one) and the tracking
    assert amazon.confirmed["888-0000000-0000001"] == {
        "marketplaceId": MARKETPLACE,
        "packageDetail": {
            "packageReferenceId": "1",
            "carrierCode": "Other",
            "carrierName": "Other",
            "trackingNumber": "9400111899223334445566",
            "shipDate": _z(shipped_at),
            "orderItems": [{"orderItemId": "0000101", "quantity": 2}],
        },
    }
    assert channels.connector_health(shop, code="amz").dead_letters_open == 0


def test_an_order_amazon_reports_canceled_on_a_later_poll_is_cancelled_once(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given: an order polled and imported, and one Amazon cancels before we ever saw it
    amazon.add("222-0000000-0000031", updated=START + timedelta(seconds=30), quantity=1)
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    (placed,) = _orders(shop)
    # when the buyer cancels the first on Amazon; the next two polls (overlapping windows) both read it as Canceled
    first = amazon.orders[0]
    first.update(OrderStatus="Canceled", LastUpdateDate=_z(datetime.fromisoformat(_cursor(shop)["after"])))
    never = amazon.add("222-0000000-0000032", updated=clock.now() - timedelta(minutes=1), quantity=1)
    never["OrderStatus"] = "Canceled"
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    first["LastUpdateDate"] = _z(datetime.fromisoformat(_cursor(shop)["after"]))
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    # then: the imported order is cancelled once; the other is never imported
    assert orders.get_order(shop, ref=placed.number).status == "cancelled"
    (change,) = channels.list_changes(shop, connector="amz", external_id="222-0000000-0000031")
    assert (change.kind, change.status, change.deliveries) == ("cancel", "applied", 2)
    assert [o.external_id for o in _orders(shop)] == ["222-0000000-0000031"]
    (waiting,) = channels.list_changes(shop, connector="amz", external_id="222-0000000-0000032")
    assert waiting.status == "waiting"


def test_prices_go_out_as_purchasable_offer_patches_and_a_refused_sku_is_dead_lettered_then_replayed(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given: the lamp has no listing on Amazon yet; three unit prices change (the tee twice)
    amazon.known_skus.discard("AZ-LAMP")
    for sku, price in (("TEE", "22.00"), ("LAMP", "79.00"), ("TEE", "21.50")):
        pricing.set_list_price(shop, code="usd", entry=pricing.PriceEntry(sku, Money(Decimal(price), "USD")))
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    amazon.throttle = ["20.0"]  # the first PATCH is throttled briefly
    # when
    _drain(shop.db)
    # then: the tee's latest price set; the lamp's refusal dead-lettered with the prices of the run
    assert amazon.prices == {"AZ-TEE": (Decimal("21.50"), "USD")}
    (letter,) = channels.list_dead_letters(shop, connector="amz").items
    assert letter.operation == "push_prices" and "AZ-LAMP has no listing" in letter.error
    assert letter.payload == {
        "updates": [
            {"sku": "LAMP", "price": "79.00", "currency": "USD"},
            {"sku": "TEE", "price": "21.50", "currency": "USD"},
        ]
    }
    # when the listing exists and the letter is replayed
    amazon.known_skus.add("AZ-LAMP")
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    assert amazon.prices == {"AZ-TEE": (Decimal("21.50"), "USD"), "AZ-LAMP": (Decimal("79.00"), "USD")}


def test_a_price_reaches_amazon_as_its_exact_decimal_literal_never_through_a_float(
    shop: UnitOfWork, amazon: AmazonStub, clock: FixedClock
) -> None:
    # given: an amount a float cannot hold (as a float it would be sent as 98765432109876.55)
    amount = "98765432109876.54"
    pricing.set_list_price(shop, code="usd", entry=pricing.PriceEntry("TEE", Money(Decimal(amount), "USD")))
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    # when
    _drain(shop.db)
    # then: the bytes on the wire carry the amount exactly, as a JSON number
    (body,) = amazon.price_bodies
    assert re.findall(rb'"value_with_tax":([^,}\]]+)', body) == [amount.encode()]
    assert amazon.prices == {"AZ-TEE": (Decimal(amount), "USD")}
