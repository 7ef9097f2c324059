"""The four channels' loopback stubs for bench.channels_live: the tests' stubs of the documented APIs
(`tests/integration/test_channels_*.py`) with the channels' rate limits enforced on the stock calls, answered as each
channel documents when exceeded, and every quantity taken recorded with the time it arrived; and the orders each
channel has (pushed ones as signed webhook deliveries, polled ones held by the stub)."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.integration.test_channels_amazon import AmazonStub, amazon_items, amazon_order
from tests.integration.test_channels_ebay import EbayStub, ebay_order
from tests.integration.test_channels_shopify import ShopifyStub
from tests.integration.test_channels_woocommerce import WooStub
from tests.support.http_stub import Answer, Seen

from ordersmith.channels.connectors import shopify as shopify_connector
from ordersmith.channels.connectors import woocommerce as woo_connector

CHANNELS = ("shopify", "woocommerce", "amazon", "ebay")
SHOPIFY_SECRET, WOO_HOOK_SECRET = "bench-shopify-secret", "bench-woo-secret"
WOO_PRODUCT = 10_000  # WooCommerce product id of item n: WOO_PRODUCT + n


def item(n: int) -> str:
    return f"CH-{n:04d}"


# --- the channels' rate limits, as the stubs enforce them ---------------------------------------------------------


class Bucket:
    """A token bucket: `rate` a second, up to `burst`; `take` answers 0 when taken, else the seconds to wait."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.level = rate, burst, burst
        self.at = time.monotonic()
        self.lock = threading.Lock()
        self.refused = 0

    def take(self, cost: float = 1.0) -> float:
        with self.lock:
            now = time.monotonic()
            self.level = min(self.burst, self.level + (now - self.at) * self.rate)
            self.at = now
            if self.level >= cost:
                self.level -= cost
                return 0.0
            self.refused += 1
            return (cost - self.level) / self.rate


@dataclass
class Receipts:
    """What a stub took: (wall-clock time, item index, quantity) for every quantity it accepted."""

    got: list[tuple[float, int, int]] = field(default_factory=list)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, pairs: list[tuple[int, int]]) -> None:
        now = time.time()
        with self.lock:
            self.calls += 1
            self.got.extend((now, n, q) for n, q in pairs)

    def clear(self) -> None:
        with self.lock:
            self.got.clear()
            self.calls = 0


class LiveShopify(ShopifyStub):
    COST, MAXIMUM, RESTORE = 10, 2000.0, 100.0

    def __init__(self) -> None:
        super().__init__()
        self.bucket = Bucket(self.RESTORE, self.MAXIMUM)
        self.receipts = Receipts()

    def graphql(self, seen: Seen) -> Answer:
        body = seen.json or {}
        if "inventorySetQuantities" not in str(body.get("query")):
            return super().graphql(seen)
        if self.bucket.take(self.COST):
            status = {
                "maximumAvailable": self.MAXIMUM,
                "currentlyAvailable": int(self.bucket.level),
                "restoreRate": self.RESTORE,
            }
            cost = {"requestedQueryCost": self.COST, "actualQueryCost": None, "throttleStatus": status}
            errors = [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]
            return Answer(200, {"errors": errors, "extensions": {"cost": cost}})
        answer = super().graphql(seen)
        if answer.status == 200:
            quantities = body["variables"]["input"]["quantities"]
            self.receipts.add(
                [(int(q["inventoryItemId"].rsplit("/", 1)[1]), q["quantity"]) for q in quantities]
            )
        return answer


class LiveWoo(WooStub):
    def __init__(self) -> None:
        super().__init__()
        self.bucket = Bucket(4, 8)
        self.receipts = Receipts()

    def batch(self, seen: Seen) -> Answer:
        if wait := self.bucket.take():
            body = {"code": "rate_limited", "message": "Too many requests", "data": {"status": 429}}
            return Answer(429, body, headers={"Retry-After": str(max(1, round(wait)))})
        answer = super().batch(seen)
        if answer.status == 200:
            updates = seen.json["update"]
            self.receipts.add([(int(u["id"]) - WOO_PRODUCT, u["stock_quantity"]) for u in updates])
        return answer


class LiveAmazon(AmazonStub):
    def __init__(self) -> None:
        super().__init__()
        self.bucket = Bucket(5, 10)
        self.receipts = Receipts()

    def patch_listing(self, seen: Seen) -> Answer:
        if self.bucket.take():
            errors = [
                {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}
            ]
            return Answer(429, {"errors": errors}, headers={"x-amzn-RateLimit-Limit": "5.0"})
        answer = super().patch_listing(seen)
        sku = seen.path.rsplit("/", 1)[1]
        if answer.status == 200 and sku in self.listings:
            self.receipts.add([(int(sku.rsplit("-", 1)[1]), self.listings[sku])])
        return answer


class LiveEbay(EbayStub):
    def __init__(self) -> None:
        super().__init__()
        self.bucket = Bucket(5, 10)
        self.receipts = Receipts()

    def bulk(self, seen: Seen) -> Answer:
        if wait := self.bucket.take():
            errors = [
                {
                    "errorId": 2001,
                    "domain": "ACCESS",
                    "category": "REQUEST",
                    "message": "Too many requests. The request limit has been reached for the resource.",
                }
            ]
            return Answer(429, {"errors": errors}, headers={"Retry-After": str(max(1, round(wait)))})
        answer = super().bulk(seen)
        if answer.status in (200, 207):
            requests = seen.json["requests"]
            self.receipts.add(
                [
                    (int(r["sku"].rsplit("-", 1)[1]), r["shipToLocationAvailability"]["quantity"])
                    for r in requests
                    if "shipToLocationAvailability" in r
                ]
            )
        return answer


@dataclass
class Stubs:
    shopify: LiveShopify
    woocommerce: LiveWoo
    amazon: LiveAmazon
    ebay: LiveEbay

    def receipts(self) -> dict[str, Receipts]:
        return {name: getattr(self, name).receipts for name in CHANNELS}


def live_stubs(skus: int) -> Stubs:
    stubs = Stubs(LiveShopify(), LiveWoo(), LiveAmazon(), LiveEbay())
    stubs.shopify.known_items = {f"gid://shopify/InventoryItem/{n}" for n in range(skus)}
    stubs.woocommerce.known_ids = {WOO_PRODUCT + n for n in range(skus)}
    stubs.amazon.known_skus = {f"AZ-{item(n)}" for n in range(skus)}
    stubs.amazon.page_size = 100
    stubs.amazon.repeat_on_next_page = True
    stubs.ebay.known_skus = {f"EB-{item(n)}" for n in range(skus)}
    stubs.ebay.repeat_on_next_page = True
    return stubs


# --- the orders each channel has ----------------------------------------------------------------------------------


def _shopify_order(n: int, sku: str) -> bytes:
    address = {
        "name": "Ann Buyer",
        "address1": "1 Market St",
        "city": "San Francisco",
        "province_code": "CA",
        "zip": "94105",
        "country_code": "US",
    }
    order = {
        "id": 5_000_000 + n,
        "name": f"#{5_000_000 + n}",
        "currency": "USD",
        "email": "ann@example.com",
        "updated_at": "2026-12-01T10:00:00Z",
        "line_items": [{"sku": f"SH-{sku}", "quantity": 1, "price": "20.00"}],
        "shipping_address": address,
    }
    return json.dumps(order).encode()


def _woo_order(n: int, sku_index: int) -> bytes:
    order = {
        "id": 7_000_000 + n,
        "status": "processing",
        "currency": "USD",
        "date_modified_gmt": "2026-12-01T10:00:00",
        "billing": {"first_name": "Ann", "last_name": "Buyer", "email": "ann@example.com"},
        "shipping": {
            "first_name": "Ann",
            "last_name": "Buyer",
            "address_1": "1 Market St",
            "city": "San Francisco",
            "state": "CA",
            "postcode": "94105",
            "country": "US",
        },
        "line_items": [
            {"sku": f"WC-{item(sku_index)}", "quantity": 1, "product_id": WOO_PRODUCT + sku_index}
        ],
    }
    return json.dumps(order).encode()


def webhook_deliveries(orders: int, skus: int) -> list[tuple[str, bytes, dict[str, str]]]:
    """Every pushed order twice, signed as its channel signs it, in shuffled order: (connector, body, headers)."""
    sent: list[tuple[str, bytes, dict[str, str]]] = []
    for n in range(orders):
        body = _shopify_order(n, item(n % skus))
        headers = {
            "X-Shopify-Hmac-Sha256": shopify_connector.webhook_signature(SHOPIFY_SECRET, body),
            "X-Shopify-Topic": "orders/create",
            "Content-Type": "application/json",
        }
        sent += [("shop", body, headers)] * 2
    for n in range(orders):
        body = _woo_order(n, n % skus)
        headers = {
            "X-WC-Webhook-Signature": woo_connector.webhook_signature(WOO_HOOK_SECRET, body),
            "X-WC-Webhook-Topic": "order.created",
            "Content-Type": "application/json",
        }
        sent += [("woo", body, headers)] * 2
    random.Random(20).shuffle(sent)
    return sent


def hold_polled_orders(stubs: Stubs, orders: int, skus: int) -> None:
    """The orders Amazon and eBay hold for the server's polls, changed an hour ago."""
    updated = datetime.now(UTC) - timedelta(hours=1)
    for n in range(orders):
        order_id = f"902-{n:07d}-{n:07d}"
        stubs.amazon.orders.append(amazon_order(order_id, updated=updated))
        (line, _cancelled) = amazon_items(order_id, quantity=1)
        stubs.amazon.items[order_id] = [line | {"SellerSKU": f"AZ-{item(n % skus)}"}]
        ebay_id = f"26-{n:05d}-{n:05d}"
        stubs.ebay.orders[ebay_id] = ebay_order(
            ebay_id, updated=updated, quantity=1, sku=f"EB-{item(n % skus)}"
        )
