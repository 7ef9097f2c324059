"""The WooCommerce connector on SQLite and PostgreSQL, against a loopback stub of WooCommerce's documented REST API
v3 (HTTP Basic with the consumer key and secret, `page`/`per_page` with `X-WP-Total`/`X-WP-TotalPages`, date filters
that exclude both ends, batch answers with per-object `error`s, 429 with Retry-After): a signed `order.created`
webhook becomes one order however often and in whatever order its versions arrive; an unpaid order waits for its
`order.updated`; a forged delivery changes nothing; polling catches up orders the webhooks missed, page by page,
exactly once; stock goes out as batched `stock_quantity` updates, waiting when throttled and dead-lettered when
refused; a shipment completes the order with one customer note naming the tracking number."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from ordersmith.channels import connectors, rules
from ordersmith.channels import service as channels
from ordersmith.channels.connectors.woocommerce import webhook_signature
from ordersmith.channels.tables import ChannelOrderRow, PendingStockRow, PollStateRow
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
KEY, SECRET = "ck_test_key", "cs_test_secret"
HOOK_SECRET = "woo-webhook-secret"
API = "/wp-json/wc/v3"
PRODUCTS = {"TEE": "701", "MUG": "702", "LAMP": "703/7031"}  # the lamp is a variation of product 703


def _gmt(stamp: datetime) -> str:
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def woo_order(
    order_id: int, *, modified: datetime, status: str = "processing", quantity: int = 2
) -> dict[str, Any]:
    """An order as WooCommerce's REST API v3 and its webhooks show it."""
    return {
        "id": order_id,
        "number": str(order_id),
        "status": status,
        "currency": "USD",
        "date_created_gmt": _gmt(START - timedelta(hours=2)),
        "date_modified_gmt": _gmt(modified),
        "prices_include_tax": False,
        "shipping_total": "5.00",
        "total": "49.00",
        "total_tax": "4.00",
        "billing": {
            "first_name": "Ann",
            "last_name": "Buyer",
            "company": "",
            "address_1": "9 Billing Rd",
            "address_2": "",
            "city": "Oakland",
            "state": "CA",
            "postcode": "94607",
            "country": "US",
            "email": "ann@example.com",
            "phone": "+14155550100",
        },
        "shipping": {
            "first_name": "Ann",
            "last_name": "Buyer",
            "company": "",
            "address_1": "1 Market St",
            "address_2": "Apt 4",
            "city": "San Francisco",
            "state": "CA",
            "postcode": "94105",
            "country": "US",
        },
        "line_items": [
            {
                "id": 1,
                "name": "Tee",
                "product_id": 701,
                "variation_id": 0,
                "quantity": quantity,
                "subtotal": "40.00",
                "total": "40.00",
                "total_tax": "4.00",
                "sku": "WC-TEE",
                "price": 20,
            }
        ],
        "tax_lines": [
            {
                "id": 9,
                "rate_code": "US-CA-TAX-1",
                "label": "Tax",
                "tax_total": "4.00",
                "shipping_tax_total": "0.00",
                "rate_percent": 10,
            }
        ],
        "shipping_lines": [{"id": 3, "method_title": "Flat rate", "method_id": "flat_rate", "total": "5.00"}],
    }


def _parse_gmt(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


class WooStub:
    """Answers as WooCommerce's REST API v3 documents it."""

    def __init__(self) -> None:
        self.api = StubApi()
        self.api.route("GET", f"{API}/orders", self.list_orders)
        self.api.route("GET", rf"{API}/orders/(\d+)/notes", self.list_notes)
        self.api.route("POST", rf"{API}/orders/(\d+)/notes", self.add_note)
        self.api.route("PUT", rf"{API}/orders/(\d+)", self.update_order)
        self.api.route("GET", rf"{API}/orders/(\d+)/refunds", self.list_refunds)
        self.api.route("POST", rf"{API}/orders/(\d+)/refunds", self.add_refund)
        self.api.route("GET", rf"{API}/orders/(\d+)", self.get_order)
        self.api.route("POST", f"{API}/products/batch", self.batch)
        self.api.route("POST", rf"{API}/products/(\d+)/variations/batch", self.batch)
        self.reset()

    def reset(self) -> None:
        self.api.seen.clear()
        self.orders: list[dict[str, Any]] = []
        self.notes: dict[str, list[dict[str, Any]]] = {}
        self.statuses: dict[str, str] = {}
        self.known_ids = {701, 702, 7031}
        self.too_many = 0
        self.unavailable: dict[str, int] = {}  # method -> answer this many with 503
        self.refunds: dict[str, list[dict[str, Any]]] = {}  # order id -> refunds made
        self.order_total = "49.00"  # woo_order's total

    def _refused(self, seen: Seen) -> Answer | None:
        expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        if seen.headers.get("authorization") != expected:
            return Answer(
                401,
                {
                    "code": "woocommerce_rest_cannot_view",
                    "message": "Sorry, you cannot list resources.",
                    "data": {"status": 401},
                },
            )
        if self.too_many:
            self.too_many -= 1
            return Answer(
                429, {"code": "rate_limited", "message": "Too many requests"}, headers={"Retry-After": "3"}
            )
        if self.unavailable.get(seen.method):
            self.unavailable[seen.method] -= 1
            return Answer(503, b"<html>Service Unavailable</html>", content_type="text/html")
        return None

    def list_orders(self, seen: Seen) -> Answer:
        if refused := self._refused(seen):
            return refused
        query = seen.query
        assert query["dates_are_gmt"] == "true"
        after, before = _parse_gmt(query["modified_after"]), _parse_gmt(query["modified_before"])
        statuses = query.get("status", "any").split(",")
        found = [
            o
            for o in self.orders
            if after
            < _parse_gmt(o["date_modified_gmt"])
            < before  # both ends excluded, as WP_Date_Query does
            and ("any" in statuses or o["status"] in statuses)
        ]
        found.sort(key=lambda o: (o["date_modified_gmt"], o["id"]))
        per_page, page = int(query.get("per_page", 10)), int(query.get("page", 1))
        pages = max(1, -(-len(found) // per_page))
        return Answer(
            200,
            found[(page - 1) * per_page : page * per_page],
            headers={"X-WP-Total": str(len(found)), "X-WP-TotalPages": str(pages)},
        )

    def list_notes(self, seen: Seen) -> Answer:
        if refused := self._refused(seen):
            return refused
        order_id = seen.path.split("/")[-2]
        notes = self.notes.get(order_id, [])
        if seen.query.get("type") == "customer":
            notes = [n for n in notes if n["customer_note"]]
        return Answer(200, notes)

    def add_note(self, seen: Seen) -> Answer:
        if refused := self._refused(seen):
            return refused
        order_id = seen.path.split("/")[-2]
        note = {
            "id": len(self.notes.get(order_id, [])) + 1,
            "note": seen.json["note"],
            "customer_note": bool(seen.json.get("customer_note")),
        }
        self.notes.setdefault(order_id, []).append(note)
        return Answer(201, note)

    def update_order(self, seen: Seen) -> Answer:
        if refused := self._refused(seen):
            return refused
        order_id = seen.path.split("/")[-1]
        self.statuses[order_id] = seen.json["status"]
        return Answer(200, {"id": int(order_id), "status": seen.json["status"]})

    def get_order(self, seen: Seen) -> Answer:
        if refused := self._refused(seen):
            return refused
        order_id = seen.path.split("/")[-1]
        return Answer(200, {"id": int(order_id), "status": self.statuses.get(order_id, "processing")})

    def list_refunds(self, seen: Seen) -> Answer:
        if refused := self._refused(seen):
            return refused
        return Answer(200, self.refunds.get(seen.path.split("/")[-2], []))

    def add_refund(self, seen: Seen) -> Answer:
        """A refund through the gateway (`api_refund`), never more than the order's total less earlier refunds."""
        if refused := self._refused(seen):
            return refused
        order_id = seen.path.split("/")[-2]
        made = self.refunds.setdefault(order_id, [])
        amount = Decimal(seen.json["amount"])
        if amount + sum(Decimal(r["amount"]) for r in made) > Decimal(self.order_total):
            problem = {"code": "woocommerce_rest_cannot_create_order_refund", "message": "Invalid refund amount.",
                       "data": {"status": 500}}  # fmt: skip
            return Answer(500, problem)
        refund = {"id": 800 + len(made), "amount": seen.json["amount"], "reason": seen.json.get("reason", ""),
                  "refunded_payment": bool(seen.json.get("api_refund")),
                  "line_items": seen.json.get("line_items") or [],
                  "restocked": seen.json.get("api_restock", True)}  # fmt: skip
        made.append(refund)
        return Answer(201, refund)

    def batch(self, seen: Seen) -> Answer:
        if refused := self._refused(seen):
            return refused
        answered = []
        for obj in seen.json["update"]:
            if obj["id"] in self.known_ids:
                answered.append(dict(obj))  # the product as updated (stock, or price)
            else:
                answered.append(
                    {
                        "id": obj["id"],
                        "error": {
                            "code": "woocommerce_rest_product_invalid_id",
                            "message": "Invalid ID.",
                            "data": {"status": 400},
                        },
                    }
                )
        return Answer(200, {"update": answered})

    def batches(self) -> list[Seen]:
        return [s for s in self.api.seen if s.method == "POST" and s.path.endswith("/batch")]


@pytest.fixture(scope="module")
def woo() -> Iterator[WooStub]:
    stub = WooStub()
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
def shop(db: Database, settings: Settings, clock: FixedClock, woo: WooStub) -> Iterator[UnitOfWork]:
    woo.reset()
    db.set_clock(clock)
    wired = payments.setup_payments(db, settings)
    channels.register()
    channels.setup_channels(db, settings)
    uow = db.unit_of_work(Actor.system("test"))
    make_order_shop(uow)
    channels.create_connector(
        uow,
        code="woo",
        kind="woocommerce",
        sales_channel="web",
        name="Acme on WooCommerce",
        config={
            "shipping_method": "ground",
            "store_url": woo.api.url(),
            "page_size": 2,
            "stock_window_s": 5,
            "price_list": "usd",
        },
        credentials={"consumer_key": KEY, "consumer_secret": SECRET, "webhook_secret": HOOK_SECRET},
    )
    for sku, listing in PRODUCTS.items():
        channels.map_sku(uow, connector="woo", channel_sku=f"WC-{sku}", sku=sku, listing_id=listing)
    _relay(uow)
    clock.advance(timedelta(seconds=5))
    _drain(db)  # the first stock push and the first (empty) poll
    woo.api.seen.clear()
    yield uow
    wired.vault.dispose()


def _signed(payload: dict[str, Any], topic: str = "order.created") -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return {
        "x-wc-webhook-signature": webhook_signature(HOOK_SECRET, body),
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-resource": "order",
        "x-wc-webhook-event": topic.split(".")[1],
    }, body


def _orders(uow: UnitOfWork) -> list[OrderRow]:
    with uow:
        return list(uow.session.scalars(sa.select(OrderRow).order_by(OrderRow.external_id)))


def _count(uow: UnitOfWork, table: Any) -> int:
    with uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def test_a_signed_order_webhook_becomes_one_order_whatever_the_duplicates_and_their_order(
    shop: UnitOfWork,
) -> None:
    # given: order.created, a newer order.updated (3 tees), then order.created again (older) and the update again
    first = woo_order(801, modified=START - timedelta(minutes=30))
    newer = woo_order(801, modified=START - timedelta(minutes=20), quantity=3)
    answers = []
    for payload, topic in (
        (first, "order.created"),
        (newer, "order.updated"),
        (first, "order.created"),
        (newer, "order.updated"),
    ):
        headers, body = _signed(payload, topic)
        answers.append(channels.receive_webhook(shop, connector="woo", headers=headers, body=body))
    # when
    _drain(shop.db)
    # then
    assert [a.received.duplicate for a in answers if a.received] == [False, True, True, True]
    (row,) = _orders(shop)
    order = orders.get_order(shop, ref=str(row.id))
    assert (row.external_id, [(line.sku, line.quantity) for line in order.lines]) == ("801", [("TEE", 3)])
    (ship_to,) = order.ship_tos
    assert (ship_to.name, ship_to.line1, ship_to.line2, ship_to.city, ship_to.region, ship_to.country) == (
        "Ann Buyer",
        "1 Market St",
        "Apt 4",
        "San Francisco",
        "CA",
        "US",
    )
    assert (order.billing or {})["line1"] == "9 Billing Rd"
    kept = channels.get_channel_order(shop, connector="woo", external_id="801")
    assert (kept.status, kept.deliveries) == ("imported", 4)
    assert kept.reported["total"] == "49.00"
    assert kept.reported["taxes"] == [{"title": "Tax", "rate": "0.1", "amount": "4.00"}]


def test_an_unpaid_order_is_acknowledged_and_waits_for_the_update_that_says_it_is_paid(
    shop: UnitOfWork,
) -> None:
    # given: checkout created the order, payment pending
    headers, body = _signed(woo_order(802, modified=START - timedelta(minutes=9), status="pending"))
    outcome = channels.receive_webhook(shop, connector="woo", headers=headers, body=body)
    # then: acknowledged, nothing recorded
    assert (outcome.received, outcome.dead_letter_id) == (None, None)
    assert _count(shop, ChannelOrderRow) == 0
    # when the payment lands
    headers, body = _signed(woo_order(802, modified=START - timedelta(minutes=8)), "order.updated")
    channels.receive_webhook(shop, connector="woo", headers=headers, body=body)
    _drain(shop.db)
    # then
    assert [o.external_id for o in _orders(shop)] == ["802"]


def test_a_forged_tampered_or_unsigned_webhook_changes_nothing_and_the_ping_is_acknowledged(
    shop: UnitOfWork,
) -> None:
    headers, body = _signed(woo_order(803, modified=START - timedelta(minutes=5)))
    tampered = body.replace(b'"quantity": 2', b'"quantity": 200')
    for forged_headers, forged_body in (
        (headers, tampered),
        ({k: v for k, v in headers.items() if k != "x-wc-webhook-signature"}, body),
        (headers | {"x-wc-webhook-signature": webhook_signature("guess", body)}, body),
        ({}, b"webhook_id=12&x=1"),
    ):
        with pytest.raises(connectors.SignatureInvalid):
            channels.receive_webhook(shop, connector="woo", headers=forged_headers, body=forged_body)
    ping = channels.receive_webhook(shop, connector="woo", headers={}, body=b"webhook_id=12")
    assert (ping.received, ping.dead_letter_id) == (None, None)
    assert (_count(shop, ChannelOrderRow), channels.connector_health(shop, code="woo").dead_letters_open) == (
        0,
        0,
    )


def test_polling_catches_up_missed_orders_page_by_page_exactly_once(
    shop: UnitOfWork, woo: WooStub, clock: FixedClock
) -> None:
    # given: five paid orders and one unpaid one changed since the last poll; one paid order came by webhook too
    woo.orders = [woo_order(810 + n, modified=START + timedelta(seconds=10 + n)) for n in range(5)]
    woo.orders.append(woo_order(820, modified=START + timedelta(seconds=20), status="pending"))
    headers, body = _signed(woo.orders[2])
    channels.receive_webhook(shop, connector="woo", headers=headers, body=body)
    clock.advance(timedelta(minutes=2))
    # when: the poll is due
    _drain(shop.db)
    # then: three pages of two (the unpaid one filtered by WooCommerce), each order once
    polls = woo.api.requests("GET", f"{API}/orders")
    assert [(p.query["page"], p.query["per_page"], p.query["status"]) for p in polls] == [
        ("1", "2", "processing"),
        ("2", "2", "processing"),
        ("3", "2", "processing"),
    ]
    assert {p.query["modified_before"] for p in polls} == {_gmt(clock.now())}
    assert [o.external_id for o in _orders(shop)] == ["810", "811", "812", "813", "814"]
    assert channels.get_channel_order(shop, connector="woo", external_id="812").deliveries == 2
    health = channels.connector_health(shop, code="woo")
    assert health.polling is not None
    assert (health.polling.cursor, health.polling.failures, health.polling.polling_now) == (
        {"after": (clock.now() - timedelta(seconds=1)).isoformat()},
        0,
        False,
    )
    # when the next poll finds one order changed since (and the one at the window's edge again)
    woo.orders[4]["date_modified_gmt"] = _gmt(clock.now() + timedelta(seconds=30))
    woo.orders.append(woo_order(830, modified=clock.now() - timedelta(milliseconds=1)))
    woo.orders[-1]["date_modified_gmt"] = _gmt(clock.now())  # in the very second the last window ended
    woo.api.seen.clear()
    clock.advance(timedelta(minutes=2))
    _drain(shop.db)
    # then: the edge order is read, the changed one counted as a delivery, nothing placed twice
    assert [o.external_id for o in _orders(shop)] == ["810", "811", "812", "813", "814", "830"]
    assert channels.get_channel_order(shop, connector="woo", external_id="814").deliveries == 2


def test_a_throttled_poll_waits_as_asked_and_a_lapsed_claim_is_taken_over_without_a_second_order(
    shop: UnitOfWork, woo: WooStub, clock: FixedClock
) -> None:
    # given
    woo.orders = [woo_order(840, modified=START + timedelta(seconds=5))]
    clock.advance(timedelta(minutes=2))
    woo.too_many = 1
    # when
    _drain(shop.db)
    # then: not a failure; the next poll is due when WooCommerce said
    health = channels.connector_health(shop, code="woo")
    assert health.polling is not None
    assert (health.polling.next_poll_at, health.polling.failures, health.last_failure_at) == (
        clock.now() + timedelta(seconds=3),
        0,
        None,
    )
    assert _count(shop, ChannelOrderRow) == 0
    # when a crashed worker's claim has lapsed: the next worker takes over; a poll after it records nothing again
    with shop:
        state = shop.session.get(PollStateRow, channels.get_connector(shop, code="woo").id)
        assert state is not None
        state.claimed_by, state.claimed_until = "crashed-worker", clock.now() - timedelta(seconds=1)
    clock.advance(timedelta(seconds=3))
    connector_id = channels.get_connector(shop, code="woo").id
    assert channels.poll_orders(shop, connector_id=connector_id, worker="w1").outcome == "done"
    assert channels.poll_orders(shop, connector_id=connector_id, worker="w2").recorded == 0
    _drain(shop.db)
    assert [o.external_id for o in _orders(shop)] == ["840"]


def _latest_available(uow: UnitOfWork) -> dict[str, int]:
    with uow:
        rows = uow.session.scalars(
            sa.select(OutboxRow).where(OutboxRow.type == "stock.changed").order_by(OutboxRow.id)
        )
        return {r.payload["sku"]: int(r.payload["available"]["web"]) for r in rows}


def test_stock_goes_out_as_batched_stock_quantity_updates_with_basic_auth_and_waits_when_throttled(
    shop: UnitOfWork, woo: WooStub, clock: FixedClock
) -> None:
    # given: changes to the three mapped items (two products and one variation) within a window
    for n in range(6):
        stock(shop, sku=("TEE", "MUG", "LAMP")[n % 3], location="EAST", quantity=1)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    woo.too_many = 1
    # when: the first try is throttled
    _drain(shop.db)
    assert channels.connector_health(shop, code="woo").stock_push_due_at == clock.now() + timedelta(seconds=3)
    clock.advance(timedelta(seconds=3))
    _drain(shop.db)
    # then: one batch for the products, one for the variation, each the latest figure
    latest = _latest_available(shop)
    sent = {s.path: s.json["update"] for s in woo.batches()}
    assert sent == {
        f"{API}/products/batch": [
            {"id": 702, "manage_stock": True, "stock_quantity": latest["MUG"]},
            {"id": 701, "manage_stock": True, "stock_quantity": latest["TEE"]},
        ],
        f"{API}/products/703/variations/batch": [
            {"id": 7031, "manage_stock": True, "stock_quantity": latest["LAMP"]}
        ],
    }
    assert len(woo.batches()) == 3  # the throttled one, then the two
    assert _count(shop, PendingStockRow) == 0


def test_a_product_woocommerce_refuses_is_dead_lettered_and_replayed_after_the_fix(
    shop: UnitOfWork, woo: WooStub, clock: FixedClock
) -> None:
    # given: the mug's product was deleted on WooCommerce
    woo.known_ids.discard(702)
    stock(shop, sku="MUG", location="EAST", quantity=2)
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    # when
    _drain(shop.db)
    # then: dead at once, with the figure
    (letter,) = channels.list_dead_letters(shop, connector="woo").items
    figure = _latest_available(shop)["MUG"]
    assert (letter.operation, letter.payload, letter.attempts) == (
        "push_stock",
        {"updates": [{"sku": "MUG", "available": figure}]},
        1,
    )
    assert "Invalid ID" in letter.error
    # when the product is back and the letter replayed
    woo.known_ids.add(702)
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    # then
    assert woo.batches()[-1].json == {"update": [{"id": 702, "manage_stock": True, "stock_quantity": figure}]}
    assert channels.connector_health(shop, code="woo").dead_letters_open == 0


def test_a_shipment_completes_the_order_with_one_tracking_note_even_when_retried(
    shop: UnitOfWork, woo: WooStub, clock: FixedClock
) -> None:
    # given an imported WooCommerce order
    headers, body = _signed(woo_order(850, modified=START - timedelta(minutes=3)))
    channels.receive_webhook(shop, connector="woo", headers=headers, body=body)
    _drain(shop.db)
    (row,) = _orders(shop)
    woo.unavailable = {"PUT": 1}  # the completion fails once, after the note went out
    # when it ships
    orders.record_shipment(shop, ref=row.number, tracking="1Z999AA10123456784")
    _relay(shop)
    _drain(shop.db)
    clock.advance(timedelta(seconds=30))
    _drain(shop.db)
    # then: one customer note with the tracking number, the order completed, the note not repeated by the retry
    assert woo.notes["850"] == [
        {
            "id": 1,
            "note": "Your order has shipped. Tracking number: 1Z999AA10123456784",
            "customer_note": True,
        }
    ]
    assert woo.statuses == {"850": "completed"}
    assert len(woo.api.requests("PUT", f"{API}/orders/850")) == 2
    assert channels.connector_health(shop, code="woo").dead_letters_open == 0


def test_wrong_api_keys_are_refused_for_good_and_the_poll_pauses_until_replayed(
    shop: UnitOfWork, woo: WooStub, clock: FixedClock
) -> None:
    # given: the shop revoked the key
    channels.set_credentials(
        shop,
        code="woo",
        credentials={"consumer_key": "ck_old", "consumer_secret": SECRET, "webhook_secret": HOOK_SECRET},
    )
    woo.orders = [woo_order(860, modified=START + timedelta(seconds=5))]
    clock.advance(timedelta(minutes=2))
    # when
    _drain(shop.db)
    # then: dead-lettered at once with the cursor, polling paused
    (letter,) = channels.list_dead_letters(shop, connector="woo").items
    assert (letter.operation, letter.reference) == ("poll_orders", "woo")
    assert "401" in letter.error
    health = channels.connector_health(shop, code="woo")
    assert health.polling is not None and health.polling.paused
    clock.advance(timedelta(minutes=5))
    woo.api.seen.clear()
    _drain(shop.db)
    assert woo.api.requests("GET", f"{API}/orders") == []
    # when the key is fixed and the letter replayed: polling resumes from the cursor it stopped at
    channels.set_credentials(
        shop,
        code="woo",
        credentials={"consumer_key": KEY, "consumer_secret": SECRET, "webhook_secret": HOOK_SECRET},
    )
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    assert [o.external_id for o in _orders(shop)] == ["860"]
    assert (
        woo.api.requests("GET", f"{API}/orders")[0].query["modified_after"]
        == letter.payload["cursor"]["after"][:19]
    )


def test_a_poll_an_adapter_defect_breaks_is_counted_backed_off_and_paused_with_a_dead_letter_not_left_claimed(
    shop: UnitOfWork, woo: WooStub, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given WooCommerce's adapter broken by a defect (not an error the shop answered)
    adapter = type(connectors.for_kind("woocommerce"))
    original = adapter.poll_orders

    def broken(self: Any, access: Any, cursor: Any, now: Any) -> Any:
        raise ValueError("time data '2026-13-01' does not match format")

    monkeypatch.setattr(adapter, "poll_orders", broken)
    woo.orders = [woo_order(870, modified=START + timedelta(seconds=5))]
    # when its polls come due until the attempts are spent
    clock.advance(timedelta(minutes=2))
    _drain(shop.db)
    health = channels.connector_health(shop, code="woo")
    assert health.polling is not None and (health.polling.failures, health.polling.polling_now) == (1, False)
    assert "ValueError" in (health.last_error or "")
    for _ in range(rules.MAX_ATTEMPTS):
        clock.advance(timedelta(seconds=rules.BACKOFF_CAP_S))
        _drain(shop.db)
    # then polling is paused with one dead letter naming the defect
    (letter,) = channels.list_dead_letters(shop, connector="woo").items
    assert (letter.operation, letter.attempts) == ("poll_orders", rules.MAX_ATTEMPTS)
    assert "ValueError" in letter.error
    health = channels.connector_health(shop, code="woo")
    assert health.polling is not None and health.polling.paused
    # and once fixed, the replay imports the order
    monkeypatch.setattr(adapter, "poll_orders", original)
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    assert [o.external_id for o in _orders(shop)] == ["870"]


def test_price_changes_go_out_as_batched_regular_price_updates_waiting_when_throttled_and_dead_lettered_when_refused(
    shop: UnitOfWork, woo: WooStub, clock: FixedClock
) -> None:
    # given: four price changes within a window (the tee twice), one of them a variation's
    for sku, price in (("TEE", "22.00"), ("MUG", "11.50"), ("LAMP", "79.00"), ("TEE", "21.00")):
        pricing.set_list_price(shop, code="usd", entry=pricing.PriceEntry(sku, Money(Decimal(price), "USD")))
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    woo.too_many = 1
    # when: the first try is throttled, the next goes out
    _drain(shop.db)
    assert (
        channels.connector_health(shop, code="woo").rate_limit["waiting_until"]
        == (clock.now() + timedelta(seconds=3)).isoformat()
    )
    clock.advance(timedelta(seconds=3))
    _drain(shop.db)
    # then: one batch for the products, one for the variation, each item's latest price
    sent = {s.path: s.json["update"] for s in woo.batches()}
    assert sent == {
        f"{API}/products/batch": [
            {"id": 702, "regular_price": "11.50"},
            {"id": 701, "regular_price": "21.00"},
        ],
        f"{API}/products/703/variations/batch": [{"id": 7031, "regular_price": "79.00"}],
    }
    assert len(woo.batches()) == 3  # the throttled one, then the two
    # when the mug's product is gone from WooCommerce and its price changes
    woo.known_ids.discard(702)
    pricing.set_list_price(shop, code="usd", entry=pricing.PriceEntry("MUG", Money(Decimal("9.99"), "USD")))
    _relay(shop)
    clock.advance(timedelta(seconds=5))
    _drain(shop.db)
    # then: dead-lettered at once with the price; replayed once the product is back
    (letter,) = channels.list_dead_letters(shop, connector="woo").items
    assert (letter.operation, letter.payload) == (
        "push_prices",
        {"updates": [{"sku": "MUG", "price": "9.99", "currency": "USD"}]},
    )
    woo.known_ids.add(702)
    channels.replay_dead_letter(shop, dead_letter_id=letter.id)
    _drain(shop.db)
    assert woo.batches()[-1].json == {"update": [{"id": 702, "regular_price": "9.99"}]}
    assert channels.connector_health(shop, code="woo").dead_letters_open == 0
