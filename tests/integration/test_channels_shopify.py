"""The Shopify connector on SQLite and PostgreSQL, against one loopback stub of Shopify's documented Admin GraphQL
API for the module (access-token header, cursor pagination, `extensions.cost.throttleStatus`, HTTP 429 with
Retry-After, `userErrors`): a signed `orders/create` webhook becomes one order (lines, addresses, taxes as Shopify
reported them kept for finance), duplicates and out-of-order `orders/updated` make one order, a forged one changes
nothing; stock changes reach Shopify as few batched `inventorySetQuantities` calls (counted, not timed); a
throttled push waits as asked; a refused push is dead-lettered and replayed; prices reach each variant by
`productVariantsBulkUpdate` (one call per product, Money as decimal strings) once, throttling waited out, a variant
Shopify refuses dead-lettered alone and replayed; a shipment's tracking goes back as a `fulfillmentCreate` over
every open fulfillment order."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from ordersmith.channels import connectors, rules
from ordersmith.channels import service as channels
from ordersmith.channels.connectors.shopify import webhook_signature
from ordersmith.channels.tables import ChannelOrderRow, PendingPriceRow, PendingStockRow
from ordersmith.kernel.clock import FixedClock
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
TOKEN = "shpat_test_token"
SECRET = "shopify-client-secret"
VERSION = "2024-10"
GRAPHQL = f"/admin/api/{VERSION}/graphql.json"
LOCATION = "gid://shopify/Location/7"
ITEMS = {
    "TEE": "gid://shopify/InventoryItem/101",
    "MUG": "gid://shopify/InventoryItem/102",
    "LAMP": "gid://shopify/InventoryItem/103",
}
# each inventory item's variant and product (the tee and the lamp are variants of one product)
VARIANTS = {
    ITEMS["TEE"]: ("gid://shopify/ProductVariant/201", "gid://shopify/Product/301"),
    ITEMS["MUG"]: ("gid://shopify/ProductVariant/202", "gid://shopify/Product/302"),
    ITEMS["LAMP"]: ("gid://shopify/ProductVariant/203", "gid://shopify/Product/301"),
}
_MONEY = re.compile(r"^\d+(\.\d{1,2})?$")


class ShopifyStub:
    """Answers as Shopify's Admin GraphQL API documents: the access token checked, `inventorySetQuantities` and
    `fulfillmentCreate` with their `userErrors`, fulfillment orders a page at a time (this stub's page holds one),
    the query cost in `extensions`, and — when told to — a 429 with Retry-After or a THROTTLED error."""

    def __init__(self) -> None:
        self.api = StubApi()
        self.api.route("POST", GRAPHQL, self.graphql)
        self.reset()

    def reset(self) -> None:
        self.api.seen.clear()
        self.too_many = 0  # answer this many calls with 429
        self.throttled = 0  # answer this many calls with a THROTTLED error (an empty bucket)
        self.unavailable = 0  # answer this many calls with 503
        self.known_items = set(ITEMS.values())
        self.deleted_variants: set[str] = set()  # variants gone between the read of their ids and the update
        self.prices: dict[str, str] = {}  # variant gid -> price as sent
        self.fulfillment_orders = ["gid://shopify/FulfillmentOrder/1", "gid://shopify/FulfillmentOrder/2"]
        self.cancelled: dict[str, dict[str, Any]] = {}  # order gid -> the orderCancel arguments
        self.cancel_job_looks = 1  # the cancellation job is done at this look
        self.job_looks = 0
        self.cancel_without_effect = False  # the cancellation job finishes without cancelling the order
        self.refunds: list[dict[str, Any]] = []  # refundCreate inputs Shopify took
        self.lose_refund_answers = 0  # take this many refunds, then answer 503 (the answer lost on the way)
        self.captured = "49.00"  # the order's one successful SALE transaction (our total for ORDER)
        self.purchased = {"gid://shopify/LineItem/1": 2}  # ORDER's line items and their units
        self.refunded_elsewhere: dict[str, int] = {}  # units refunded on Shopify by a person (line item gid)

    def calls(self, operation: str) -> list[dict[str, Any]]:
        return [s.json for s in self.api.requests("POST", GRAPHQL) if operation in s.json["query"]]

    def graphql(self, seen: Seen) -> Answer:
        if seen.headers.get("x-shopify-access-token") != TOKEN:
            return Answer(
                401,
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
            )
        if self.too_many:
            self.too_many -= 1
            return Answer(
                429, {"errors": "Exceeded 2 calls per second for api client."}, headers={"Retry-After": "2.0"}
            )
        if self.unavailable:
            self.unavailable -= 1
            return Answer(503, {"errors": "Service Unavailable"})
        body = seen.json
        if self.throttled:
            self.throttled -= 1
            empty = {
                "requestedQueryCost": 250,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 2000.0,
                    "currentlyAvailable": 50,
                    "restoreRate": 100.0,
                },
            }
            return Answer(
                200,
                {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {"cost": empty},
                },
            )
        cost = {
            "requestedQueryCost": 10,
            "actualQueryCost": 10,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0},
        }
        query, variables = body["query"], body.get("variables") or {}
        if "cancelledAt" in query:
            data = {"order": self._order_state(variables["id"])}
        elif "orderCancel(" in query:
            if variables["reason"] not in ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"):
                return Answer(200, {"errors": [{"message": "Variable $reason invalid"}]})
            if not self.cancel_without_effect:  # the job cancels the order (at once, here)
                self.cancelled[variables["orderId"]] = dict(variables)
            self.job_looks = 0
            data = {"orderCancel": {"job": {"id": "gid://shopify/Job/1", "done": False},
                                    "orderCancelUserErrors": []}}  # fmt: skip
        elif "job(id:" in query:  # the cancellation job: done at the `cancel_job_looks`-th look
            self.job_looks += 1
            data = {"job": {"id": variables["id"], "done": self.job_looks >= self.cancel_job_looks}}
        elif "refundCreate(" in query:
            data = {"refundCreate": self._refund(variables["input"])}
            if self.lose_refund_answers and not data["refundCreate"]["userErrors"]:
                self.lose_refund_answers -= 1
                return Answer(503, {"errors": "Service Unavailable"})
        elif "inventorySetQuantities" in query:
            quantities = variables["input"]["quantities"]
            errors = [
                {
                    "field": ["input", "quantities", str(n), "inventoryItemId"],
                    "code": "INVALID_INVENTORY_ITEM",
                    "message": "The specified inventory item could not be found.",
                }
                for n, q in enumerate(quantities)
                if q["inventoryItemId"] not in self.known_items
            ]
            data = {
                "inventorySetQuantities": {
                    "inventoryAdjustmentGroup": None if errors else {"reason": "correction"},
                    "userErrors": errors,
                }
            }
        elif "nodes(" in query:
            data = {"nodes": [self._inventory_item(i) for i in variables["ids"]]}
        elif "productVariantsBulkUpdate" in query:
            data = {"productVariantsBulkUpdate": self._set_prices(variables)}
        elif "fulfillmentOrders" in query:
            after = variables.get("after")
            start = 0 if after is None else int(after) + 1
            nodes = [{"id": f, "status": "OPEN"} for f in self.fulfillment_orders[start : start + 1]]
            more = start + 1 < len(self.fulfillment_orders)
            data = {
                "order": {
                    "fulfillmentOrders": {
                        "nodes": nodes,
                        "pageInfo": {"hasNextPage": more, "endCursor": str(start)},
                    }
                }
            }
        elif "fulfillmentCreate" in query:
            data = {
                "fulfillmentCreate": {
                    "fulfillment": {"id": "gid://shopify/Fulfillment/9", "status": "SUCCESS"},
                    "userErrors": [],
                }
            }
        else:
            return Answer(
                200,
                {"errors": [{"message": "Field doesn't exist", "extensions": {"code": "undefinedField"}}]},
            )
        return Answer(200, {"data": data, "extensions": {"cost": cost}})

    def _order_state(self, gid: str) -> dict[str, Any]:
        sale = {"id": "gid://shopify/OrderTransaction/71", "kind": "SALE", "status": "SUCCESS",
                "gateway": "shopify_payments", "parentTransaction": None,
                "amountSet": {"presentmentMoney": {"amount": self.captured, "currencyCode": "USD"}}}  # fmt: skip
        refunds_made = [
            {"id": f"gid://shopify/OrderTransaction/{900 + n}", "kind": "REFUND", "status": "SUCCESS",
             "gateway": "shopify_payments", "parentTransaction": {"id": t["parentId"]},
             "amountSet": {"presentmentMoney": {"amount": t["amount"], "currencyCode": "USD"}}}
            for n, t in enumerate(t for r in self.refunds if r["orderId"] == gid for t in r["transactions"])
        ]  # fmt: skip
        refunds = [{"id": f"gid://shopify/Refund/{n + 1}", "note": r.get("note")}
                   for n, r in enumerate(self.refunds) if r["orderId"] == gid]  # fmt: skip
        lines = [{"id": item, "refundableQuantity": left} for item, left in self._refundable(gid).items()]
        return {"id": gid, "cancelledAt": "2026-12-01T12:00:00Z" if gid in self.cancelled else None,
                "transactions": [sale, *refunds_made], "refunds": refunds,
                "lineItems": {"nodes": lines}}  # fmt: skip

    def _refundable(self, gid: str) -> dict[str, int]:
        """Each line item's units not yet refunded (by our refund line items or by a person on Shopify)."""
        left = {item: units - self.refunded_elsewhere.get(item, 0) for item, units in self.purchased.items()}
        for r in self.refunds:
            if r["orderId"] == gid:
                for x in r.get("refundLineItems") or []:
                    left[x["lineItemId"]] = left.get(x["lineItemId"], 0) - x["quantity"]
        return left

    def _refund(self, refund: dict[str, Any]) -> dict[str, Any]:
        """Refunds against the order's SALE transaction, never more than it captured."""
        taken = sum(
            Decimal(t["amount"])
            for r in self.refunds
            if r["orderId"] == refund["orderId"]
            for t in r["transactions"]
        )
        asked = sum(Decimal(t["amount"]) for t in refund.get("transactions") or [])
        bad = [t for t in refund.get("transactions") or []
               if t.get("kind") != "REFUND" or t.get("parentId") != "gid://shopify/OrderTransaction/71"]  # fmt: skip
        if refund.get("currency") not in (None, "USD"):  # the order's presentment currency
            bad.append({"currency": refund.get("currency")})
        if bad or asked + taken > Decimal(self.captured):
            problem = {"field": ["transactions"], "message": "Refund amount exceeds the refundable amount"}
            return {"refund": None, "userErrors": [problem]}
        left = self._refundable(refund["orderId"])
        if any(x["quantity"] > left.get(x["lineItemId"], 0) for x in refund.get("refundLineItems") or []):
            problem = {
                "field": ["refundLineItems"],
                "message": "Quantity cannot refund more items than were purchased",
            }
            return {"refund": None, "userErrors": [problem]}
        self.refunds.append(refund)
        return {"refund": {"id": f"gid://shopify/Refund/{len(self.refunds)}"}, "userErrors": []}

    def _inventory_item(self, gid: str) -> dict[str, Any] | None:
        if gid not in self.known_items or gid not in VARIANTS:
            return None  # `nodes` answers null for an id it cannot resolve
        variant, product = VARIANTS[gid]
        return {"id": gid, "variant": {"id": variant, "product": {"id": product}}}

    def _set_prices(self, variables: dict[str, Any]) -> dict[str, Any]:
        """`allowPartialUpdates: true`: the valid variants are updated, each invalid one named in `userErrors`."""
        product, errors, updated = variables["productId"], [], []
        for n, variant in enumerate(variables["variants"]):
            ours = {v for v, p in VARIANTS.values() if p == product} - self.deleted_variants
            if variant["id"] not in ours:
                message, code, field = (
                    "Product variant does not exist",
                    "PRODUCT_VARIANT_DOES_NOT_EXIST",
                    "id",
                )
            elif not (isinstance(variant["price"], str) and _MONEY.match(variant["price"])):
                message, code, field = "Price is invalid", "INVALID_INPUT", "price"
            else:
                self.prices[variant["id"]] = variant["price"]
                updated.append({"id": variant["id"], "price": variant["price"]})
                continue
            errors.append({"field": ["variants", str(n), field], "message": message, "code": code})
        return {"productVariants": updated, "userErrors": errors}


@pytest.fixture(scope="module")
def shopify() -> Iterator[ShopifyStub]:
    stub = ShopifyStub()
    with serving(stub.api):
        yield stub


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def shop(db: Database, settings: Settings, clock: FixedClock, shopify: ShopifyStub) -> Iterator[UnitOfWork]:
    shopify.reset()
    db.set_clock(clock)
    wired = payments.setup_payments(db, settings)
    channels.register()
    channels.setup_channels(db, settings)
    uow = db.unit_of_work(Actor.system("test"))
    make_order_shop(uow)
    channels.create_connector(
        uow,
        code="shop",
        kind="shopify",
        sales_channel="web",
        name="Acme on Shopify",
        config={
            "shipping_method": "ground",
            "shop_url": shopify.api.url(),
            "api_version": VERSION,
            "location_id": LOCATION,
            "stock_buffer": 1,
            "stock_window_s": 5,
            "price_list": "usd",
        },
        credentials={"access_token": TOKEN, "webhook_secret": SECRET},
    )
    for sku, item in ITEMS.items():
        channels.map_sku(uow, connector="shop", channel_sku=f"SH-{sku}", sku=sku, listing_id=item)
    _relay(uow)  # what setting up the shop emitted: its stock and prices go out in the first window
    clock.advance(timedelta(seconds=5))
    _drain(db)
    shopify.api.seen.clear()
    shopify.prices.clear()
    yield uow
    wired.vault.dispose()


ORDER = {
    "id": 5551234567,
    "admin_graphql_api_id": "gid://shopify/Order/5551234567",
    "name": "#1001",
    "email": "ann@example.com",
    "created_at": "2026-12-01T06:00:00-05:00",
    "updated_at": "2026-12-01T06:00:05-05:00",
    "currency": "USD",
    "subtotal_price": "40.00",
    "total_tax": "3.30",
    "total_price": "48.30",
    "taxes_included": False,
    "line_items": [
        {
            "id": 1,
            "variant_id": 44,
            "product_id": 4,
            "sku": "SH-TEE",
            "title": "Tee",
            "quantity": 2,
            "price": "20.00",
            "tax_lines": [{"title": "CA State Tax", "rate": 0.0825, "price": "3.30"}],
        },
    ],
    "shipping_lines": [{"code": "Standard", "title": "Standard", "price": "5.00"}],
    "tax_lines": [{"title": "CA State Tax", "rate": 0.0825, "price": "3.30"}],
    "shipping_address": {
        "first_name": "Ann",
        "last_name": "Buyer",
        "address1": "1 Market St",
        "address2": "Apt 4",
        "city": "San Francisco",
        "province_code": "CA",
        "zip": "94105",
        "country_code": "US",
        "phone": "+14155550100",
    },
    "billing_address": {
        "name": "Ann Buyer",
        "address1": "9 Billing Rd",
        "city": "Oakland",
        "province_code": "CA",
        "zip": "94607",
        "country_code": "US",
    },
}


def _signed(payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return {
        "x-shopify-hmac-sha256": webhook_signature(SECRET, body),
        "x-shopify-topic": "orders/create",
    }, body


def _drain(db: Database) -> int:
    total = 0
    while (ran := jobs.run_due_jobs(db, worker="test")) > 0:
        total += ran
    return total


def _relay(uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(uow):
        pass


def _orders(uow: UnitOfWork, external_id: str) -> list[OrderRow]:
    with uow:
        return list(uow.session.scalars(sa.select(OrderRow).where(OrderRow.external_id == external_id)))


def test_a_signed_order_webhook_becomes_one_order_with_its_lines_addresses_and_reported_taxes(
    shop: UnitOfWork,
) -> None:
    # given: orders/create twice, and an orders/updated (newer) that arrives before the second orders/create
    updated = copy.deepcopy(ORDER) | {"updated_at": "2026-12-01T06:10:00-05:00"}
    updated["line_items"][0]["quantity"] = 3
    for payload in (ORDER, updated, ORDER):
        headers, body = _signed(payload)
        channels.receive_webhook(shop, connector="shop", headers=headers, body=body)
    # when
    _drain(shop.db)
    # then
    (row,) = _orders(shop, "5551234567")
    order = orders.get_order(shop, ref=str(row.id))
    assert [(line.sku, line.quantity) for line in order.lines] == [("TEE", 3)]
    assert order.channel == "web"
    (ship_to,) = order.ship_tos
    assert (
        ship_to.name,
        ship_to.line1,
        ship_to.line2,
        ship_to.city,
        ship_to.region,
        ship_to.postal_code,
        ship_to.country,
        ship_to.method,
    ) == ("Ann Buyer", "1 Market St", "Apt 4", "San Francisco", "CA", "94105", "US", "ground")
    assert (
        order.billing["name"],
        order.billing["line1"],
        order.billing["city"],
        order.billing["country"],
    ) == ("Ann Buyer", "9 Billing Rd", "Oakland", "US")
    kept = channels.get_channel_order(shop, connector="shop", external_id="5551234567")
    assert (kept.status, kept.deliveries) == ("imported", 3)
    assert kept.reported == {
        "currency": "USD",
        "subtotal": "40.00",
        "shipping": "5.00",
        "total_tax": "3.30",
        "total": "48.30",
        "taxes_included": False,
        "tax_collected_by": "",
        "ship_by": None,
        "marketplace_fees": None,
        "taxes": [{"title": "CA State Tax", "rate": "0.0825", "amount": "3.30"}],
    }


def test_a_forged_or_tampered_webhook_changes_nothing(shop: UnitOfWork) -> None:
    headers, body = _signed(ORDER)
    tampered = body.replace(b'"quantity": 2', b'"quantity": 200')
    for forged_headers, forged_body in (
        (headers, tampered),
        ({}, body),
        ({"x-shopify-hmac-sha256": webhook_signature("guess", body)}, body),
    ):
        with pytest.raises(connectors.SignatureInvalid):
            channels.receive_webhook(shop, connector="shop", headers=forged_headers, body=forged_body)
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(ChannelOrderRow)) == 0


def test_stock_changes_reach_shopify_as_one_batched_call_per_window_with_the_latest_figures(
    shop: UnitOfWork, shopify: ShopifyStub, clock: FixedClock
) -> None:
    # given: ten stock changes over three mapped items within one window
    for n in range(10):
        stock(shop, sku=("TEE", "MUG", "LAMP")[n % 3], location="EAST", quantity=1)
    _relay(shop)
    # when: before the window closes nothing is sent; after it, one call
    assert _drain(shop.db) == 0
    clock.advance(timedelta(seconds=5))
    _drain(shop.db)
    # then
    (call,) = shopify.calls("inventorySetQuantities")
    sent = {q["inventoryItemId"]: q["quantity"] for q in call["variables"]["input"]["quantities"]}
    latest = _latest_available(shop, "web")
    assert sent == {ITEMS[sku]: latest[sku] - 1 for sku in ITEMS}  # the connector's buffer is one unit
    assert {q["locationId"] for q in call["variables"]["input"]["quantities"]} == {LOCATION}
    assert call["variables"]["input"]["name"] == "available"
    assert shopify.api.requests("POST", GRAPHQL)[0].headers["x-shopify-access-token"] == TOKEN
    health = channels.connector_health(shop, code="shop")
    assert (health.rate_limit["currentlyAvailable"], health.stock_push_due_at) == (1990, None)
    # and a later change is one more call, with that item only
    stock(shop, sku="MUG", location="EAST", quantity=4)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    _drain(shop.db)
    calls = shopify.calls("inventorySetQuantities")
    assert len(calls) == 2
    assert [q["inventoryItemId"] for q in calls[1]["variables"]["input"]["quantities"]] == [ITEMS["MUG"]]


def _price(shop: UnitOfWork, sku: str, amount: str) -> None:
    pricing.set_list_price(shop, code="usd", entry=pricing.PriceEntry(sku, Money(Decimal(amount), "USD")))


def test_prices_reach_each_variant_once_per_product_as_decimal_strings_after_throttling_is_waited_out(
    shop: UnitOfWork, shopify: ShopifyStub, clock: FixedClock
) -> None:
    # given: price changes to the three items in one window (the tee twice); the first call is throttled (the
    # bucket: 250 points wanted, 50 left, 100 restored a second), the next answered 429 (Retry-After 2)
    for sku, amount in (("TEE", "22.00"), ("MUG", "9.50"), ("LAMP", "79.99"), ("TEE", "21.90")):
        _price(shop, sku, amount)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    shopify.throttled, shopify.too_many = 1, 1
    # when: each wait is as Shopify asked, and counts as no failure
    for wait_s in (2, 2):
        _drain(shop.db)
        assert shopify.prices == {}
        waiting = channels.connector_health(shop, code="shop").rate_limit["waiting_until"]
        assert waiting == (clock.now() + timedelta(seconds=wait_s)).isoformat()
        clock.advance(timedelta(seconds=wait_s))
    _drain(shop.db)
    clock.advance(timedelta(minutes=5))
    _drain(shop.db)
    # then: one lookup of the variants, then one update per product, each price once, as a decimal string
    lookups = shopify.calls("nodes(")  # the throttled one, the one answered 429, the one answered
    assert len(lookups) == 3
    assert lookups[-1]["variables"] == {"ids": [ITEMS["LAMP"], ITEMS["MUG"], ITEMS["TEE"]]}
    updates = [c["variables"] for c in shopify.calls("productVariantsBulkUpdate")]
    assert updates == [
        {
            "productId": "gid://shopify/Product/301",
            "variants": [
                {"id": "gid://shopify/ProductVariant/203", "price": "79.99"},
                {"id": "gid://shopify/ProductVariant/201", "price": "21.90"},
            ],
        },
        {
            "productId": "gid://shopify/Product/302",
            "variants": [{"id": "gid://shopify/ProductVariant/202", "price": "9.50"}],
        },
    ]
    assert "allowPartialUpdates: true" in shopify.calls("productVariantsBulkUpdate")[0]["query"]
    assert shopify.prices == {
        "gid://shopify/ProductVariant/201": "21.90",
        "gid://shopify/ProductVariant/202": "9.50",
        "gid://shopify/ProductVariant/203": "79.99",
    }
    health = channels.connector_health(shop, code="shop")
    assert (health.dead_letters_open, health.last_failure_at) == (0, None)
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(PendingPriceRow)) == 0


def test_a_variant_shopify_refuses_is_dead_lettered_alone_with_its_error_and_replayed_after_the_fix(
    shop: UnitOfWork, shopify: ShopifyStub, clock: FixedClock
) -> None:
    # given: Shopify does not know the mug's inventory item; the lamp's variant goes between lookup and update
    shopify.known_items.discard(ITEMS["MUG"])
    shopify.deleted_variants.add("gid://shopify/ProductVariant/203")
    for sku, amount in (("TEE", "19.99"), ("MUG", "9.00"), ("LAMP", "75.00")):
        _price(shop, sku, amount)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    # when
    _drain(shop.db)
    # then: the tee is set; the lamp and the mug are in one letter, each with its reason
    assert shopify.prices == {"gid://shopify/ProductVariant/201": "19.99"}
    (letter,) = channels.list_dead_letters(shop, connector="shop").items
    assert (letter.operation, letter.reference) == ("push_prices", "2 price(s)")
    assert letter.payload == {
        "updates": [
            {"sku": "LAMP", "price": "75.00", "currency": "USD"},
            {"sku": "MUG", "price": "9.00", "currency": "USD"},
        ]
    }
    assert letter.error == (
        f"{ITEMS['MUG']}: Shopify knows no variant for this inventory item; "
        f"{ITEMS['LAMP']}: Product variant does not exist (PRODUCT_VARIANT_DOES_NOT_EXIST)"
    )
    # when both exist again and the letter is replayed
    shopify.known_items.add(ITEMS["MUG"])
    shopify.deleted_variants.clear()
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    # then: only those two go out, and nothing is left open
    assert shopify.prices == {
        "gid://shopify/ProductVariant/201": "19.99",
        "gid://shopify/ProductVariant/202": "9.00",
        "gid://shopify/ProductVariant/203": "75.00",
    }
    assert shopify.calls("nodes(")[-1]["variables"] == {"ids": [ITEMS["LAMP"], ITEMS["MUG"]]}
    assert channels.connector_health(shop, code="shop").dead_letters_open == 0


def test_a_price_of_an_item_mapped_without_a_listing_id_is_not_sent_as_for_stock(
    shop: UnitOfWork, shopify: ShopifyStub, clock: FixedClock
) -> None:
    # given: the towel is mapped for orders only (no inventory item), the set not at all
    channels.map_sku(shop, connector="shop", channel_sku="SH-TOWEL", sku="TOWEL")
    _price(shop, "TOWEL", "16.00")
    _price(shop, "SET", "36.00")
    stock(shop, sku="TOWEL", location="EAST", quantity=2)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    # when
    _drain(shop.db)
    # then: neither price nor stock is recorded or sent
    assert shopify.api.seen == []
    with shop:
        for table in (PendingPriceRow, PendingStockRow):
            assert shop.session.scalar(sa.select(sa.func.count()).select_from(table)) == 0


def _latest_available(uow: UnitOfWork, division: str) -> dict[str, int]:
    with uow:
        rows = uow.session.scalars(
            sa.select(OutboxRow).where(OutboxRow.type == "stock.changed").order_by(OutboxRow.id)
        )
        return {r.payload["sku"]: int(r.payload["available"][division]) for r in rows}


def test_a_throttled_push_waits_as_shopify_asked_then_goes_out(
    shop: UnitOfWork, shopify: ShopifyStub, clock: FixedClock
) -> None:
    # given
    stock(shop, sku="TEE", location="EAST", quantity=1)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    shopify.too_many = 1
    # when: the 429 answer
    _drain(shop.db)
    # then: the push is queued for Retry-After (2 s) later, not counted as a failure
    health = channels.connector_health(shop, code="shop")
    assert (health.stock_push_due_at, health.dead_letters_open, health.last_failure_at) == (
        clock.now() + timedelta(seconds=2),
        0,
        None,
    )
    assert _drain(shop.db) == 0
    clock.advance(timedelta(seconds=2))
    _drain(shop.db)
    assert len(shopify.api.requests("POST", GRAPHQL)) == 2
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(PendingStockRow)) == 0


def test_a_throttled_query_waits_for_the_bucket_to_refill_and_an_unavailable_shopify_is_retried_with_back_off(
    shop: UnitOfWork, shopify: ShopifyStub, clock: FixedClock
) -> None:
    # given
    stock(shop, sku="LAMP", location="EAST", quantity=1)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    shopify.throttled, shopify.unavailable = 1, 0
    # when THROTTLED: 250 points wanted, 50 left, 100 restored a second: two seconds
    _drain(shop.db)
    assert channels.connector_health(shop, code="shop").stock_push_due_at == clock.now() + timedelta(
        seconds=2
    )
    # when Shopify is then unavailable: a failure, retried after the first back-off
    shopify.unavailable = 1
    clock.advance(timedelta(seconds=2))
    _drain(shop.db)
    health = channels.connector_health(shop, code="shop")
    assert (health.last_failure_at, health.stock_push_due_at) == (
        clock.now(),
        clock.now() + timedelta(seconds=30),
    )
    assert "503" in (health.last_error or "")
    clock.advance(timedelta(seconds=30))
    _drain(shop.db)
    # then: three calls, the last one sent the figure, nothing dead
    assert len(shopify.calls("inventorySetQuantities")) == 3
    assert channels.connector_health(shop, code="shop").dead_letters_open == 0
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(PendingStockRow)) == 0


def test_a_push_shopify_refuses_is_dead_lettered_with_the_figures_and_replayed_after_the_fix(
    shop: UnitOfWork, shopify: ShopifyStub, clock: FixedClock
) -> None:
    # given: Shopify does not know the mug's inventory item
    shopify.known_items.discard(ITEMS["MUG"])
    stock(shop, sku="MUG", location="EAST", quantity=2)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    # when
    _drain(shop.db)
    # then: dead at once (a retry would be refused the same way), with what was to be sent
    (letter,) = channels.list_dead_letters(shop, connector="shop").items
    figure = _latest_available(shop, "web")["MUG"] - 1
    assert (letter.operation, letter.payload, letter.attempts) == (
        "push_stock",
        {"updates": [{"sku": "MUG", "available": figure}]},
        1,
    )
    assert "INVALID_INVENTORY_ITEM" in letter.error or "could not be found" in letter.error
    assert len(shopify.calls("inventorySetQuantities")) == 1
    # when the item exists on Shopify and the letter is replayed
    shopify.known_items.add(ITEMS["MUG"])
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    # then
    last = shopify.calls("inventorySetQuantities")[-1]["variables"]["input"]["quantities"]
    assert [(q["inventoryItemId"], q["quantity"]) for q in last] == [(ITEMS["MUG"], figure)]
    assert channels.connector_health(shop, code="shop").dead_letters_open == 0


def test_a_stock_push_an_adapter_defect_breaks_is_retried_then_dead_lettered_and_later_changes_still_go_out(
    shop: UnitOfWork, shopify: ShopifyStub, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given Shopify's adapter broken by a defect (an exception that is not an error Shopify answered)
    adapter = type(connectors.for_kind("shopify"))
    original = adapter.push_stock

    def broken(self: Any, access: Any, updates: Any) -> Any:
        raise TypeError("'NoneType' object is not subscriptable")

    monkeypatch.setattr(adapter, "push_stock", broken)
    stock(shop, sku="MUG", location="EAST", quantity=2)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    # when the push is tried until its attempts are spent
    _drain(shop.db)
    health = channels.connector_health(shop, code="shop")
    assert "TypeError" in (health.last_error or "") and health.stock_push_due_at is not None
    for _ in range(rules.MAX_ATTEMPTS):
        clock.advance(timedelta(seconds=rules.BACKOFF_CAP_S))
        _drain(shop.db)
    # then the figures are one dead letter with the defect, and no push is left marked queued with no job behind it
    (letter,) = channels.list_dead_letters(shop, connector="shop").items
    assert (letter.operation, letter.attempts) == ("push_stock", rules.MAX_ATTEMPTS)
    assert "TypeError" in letter.error
    assert channels.connector_health(shop, code="shop").stock_push_due_at is None
    # and once the adapter is fixed, the next stock change is pushed as usual
    monkeypatch.setattr(adapter, "push_stock", original)
    stock(shop, sku="MUG", location="EAST", quantity=3)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    _drain(shop.db)
    last = shopify.calls("inventorySetQuantities")[-1]["variables"]["input"]["quantities"]
    assert [(q["inventoryItemId"], q["quantity"]) for q in last] == [
        (ITEMS["MUG"], _latest_available(shop, "web")["MUG"] - 1)
    ]


def test_a_shipped_shopify_order_sends_its_tracking_for_every_open_fulfillment_order(
    shop: UnitOfWork, shopify: ShopifyStub
) -> None:
    # given an imported Shopify order
    headers, body = _signed(ORDER)
    channels.receive_webhook(shop, connector="shop", headers=headers, body=body)
    _drain(shop.db)
    (row,) = _orders(shop, "5551234567")
    # when it ships
    orders.record_shipment(shop, ref=row.number, tracking="1Z999AA10123456784")
    _relay(shop)
    _drain(shop.db)
    # then: both pages of fulfillment orders were read, and one fulfillment created with the tracking
    pages = shopify.calls("fulfillmentOrders")
    assert [p["variables"]["after"] for p in pages] == [None, "0"]
    assert {p["variables"]["id"] for p in pages} == {"gid://shopify/Order/5551234567"}
    (created,) = shopify.calls("fulfillmentCreate")
    fulfillment = created["variables"]["fulfillment"]
    assert fulfillment["trackingInfo"] == {"number": "1Z999AA10123456784"}  # no carrier: shipped by hand
    assert [
        f["fulfillmentOrderId"] for f in fulfillment["lineItemsByFulfillmentOrder"]
    ] == shopify.fulfillment_orders


def test_a_signed_webhook_of_another_topic_is_acknowledged_and_records_nothing(shop: UnitOfWork) -> None:
    headers, body = _signed(ORDER)
    outcome = channels.receive_webhook(
        shop, connector="shop", headers=headers | {"x-shopify-topic": "products/update"}, body=body
    )
    assert (outcome.received, outcome.dead_letter_id) == (None, None)
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(ChannelOrderRow)) == 0


def test_recording_stock_changes_costs_the_same_statements_for_three_events_as_for_thirty(
    shop: UnitOfWork, db: Database
) -> None:
    def statements_to_dispatch(changes: int) -> int:
        for n in range(changes):
            stock(shop, sku=("TEE", "MUG", "LAMP")[n % 3], location="EAST", quantity=1)
        executed: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            if "channel_" in statement:
                executed.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            _relay(shop)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        return len(executed)

    # the first batch also queues the connector's push (one UPDATE of the connector)
    assert statements_to_dispatch(1) == 4
    # then one read of the connectors, one of the mapped items and one upsert per connector and relay batch
    assert statements_to_dispatch(3) == statements_to_dispatch(30) == 3
