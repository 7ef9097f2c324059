"""Channel visibility: walk every operation in the OpenAPI document that reads or changes a record by id, or lists
records, with the key of another channel. A record of another channel answers exactly as an unknown id does
(same status, same problem, the id aside), a list shows none of it, and nothing changes. Channel A is the call
center (`phone`): its orders with their payment, invoice, gift card and return, its customers (one it created, one
that ordered through it) and its webhook subscription. Channel B is the web shop, with every scope a channel key
may hold."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient

from ordersmith.app import create_app
from ordersmith.platform import jobs, migrate, outbox
from ordersmith.platform.access import AUTHENTICATED, CHANNEL_KEY_SCOPES, PUBLIC
from ordersmith.platform.db import Actor, Base, Database
from ordersmith.platform.http import NO_CHANNEL_KEY, SCOPE_KEY
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow, WebhookDeliveryRow
from tests.api.conftest import bearer
from tests.builders import make_api_key, make_order_shop

ADDRESS = {"ref": "main", "name": "Ann Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
           "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip
LINES = [{"sku": "TEE", "quantity": 2}, {"sku": "MUG", "quantity": 1}]

# Not any one channel's records: the catalogue, stock, prices and coupons every channel sells from; a gift card's
# balance by its code (the code is the card: any shop takes any card); the gateways' signed notifications.
SHARED_PATHS = ("/items", "/styles", "/personalization-templates", "/divisions", "/categories", "/locations", "/stock",
                "/availability", "/reservations", "/price-lists", "/promotions", "/coupons", "/shipping-methods",
                "/tax-rates", "/pricing", "/gift-cards/{code}/balance", "/payment-webhooks", "/cards",
                "/continuity-programs", "/custom-fields")  # fmt: skip
# Walked by their own test: a POS channel's stores, registers and sales, which another POS channel's key must not
# find (tests/api/test_pos_api.py::test_a_pos_channel_s_key_sees_only_its_own_stores_and_others_answer_as_unknown;
# channel A here is a call center, which has no registers to hide).
OWN_WALK_PATHS = ("/pos/",)
# Scopes over records no channel owns: every operation needing one answers a channel's key 404, never 403.
NO_CHANNEL_SCOPES = ("payables:", "marketing:")
# A valid body for each write, so that what answers is the ownership check, not validation.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/orders/{ref}/hold"): {"note": "mine now"},
    ("POST", "/api/v1/orders/{ref}/cancel"): {"reason": "mine now"},
    ("POST", "/api/v1/orders/{ref}/returns"): {"lines": [{"line_no": 1, "quantity": 1, "reason": "damaged"}]},
    ("POST", "/api/v1/returns/{ref}/receive"): {"location": "EAST"},
    ("POST", "/api/v1/orders/{ref}/payments"): {"method": "check", "reference": "1004"},
    ("POST", "/api/v1/orders/{ref}/refunds"): {"amount": "1.00", "reason": "mine now"},
    ("POST", "/api/v1/payments/{payment_id}/refund"): {"amount": "1.00", "reason": "mine now"},
    ("PATCH", "/api/v1/customers/{ref}"): {"last_name": "Mine"},
    ("POST", "/api/v1/customers/{ref}/notes"): {"body": "mine now", "kind": "note"},
    ("POST", "/api/v1/subscriptions/{ref}/card"): {"card_token": "tok_mine_now"},
    ("POST", "/api/v1/subscriptions/{ref}/cancel"): {"reason": "mine now"},
    ("PUT", "/api/v1/orders/{ref}/custom-fields"): {"custom_fields": {}},
    ("PUT", "/api/v1/customers/{ref}/custom-fields"): {"custom_fields": {}},
}


@pytest.fixture
def quiet_client(settings: Settings) -> Iterator[TestClient]:
    """The app without its background relay and job runner: the test dispatches the outbox itself, so every write
    seen comes from a request or from that dispatch."""
    quiet = settings.model_copy(
        update={"relay_enabled": False, "jobs_enabled": False, "sse_keepalive_s": 0.5}
    )
    with TestClient(create_app(quiet)) as test_client:
        yield test_client


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _dispatch(admin_db) -> None:  # type: ignore[no-untyped-def]
    while outbox.dispatch_batch(admin_db):
        pass


def _snapshot(db: Database) -> dict[str, int]:
    with db.session() as session:
        return {
            table.name: hash(tuple(sorted(repr(tuple(r)) for r in session.execute(sa.select(table)).all())))
            for table in Base.metadata.sorted_tables
        }


def _ship(client: TestClient, admin: str, *numbers: str) -> None:
    """Release and ship the orders; the shipment's capture (and an on-account order's invoice) follows."""
    for number in numbers:
        if _ok(client.get(f"/api/v1/orders/{number}", headers=bearer(admin)))["status"] != "released":
            _ok(client.post(f"/api/v1/orders/{number}/release", json={"note": "ok"}, headers=bearer(admin)))
        _ok(client.post(f"/api/v1/orders/{number}/shipments", json={}, headers=bearer(admin)))
    app_db: Database = client.app.state.db  # type: ignore[attr-defined]  # wired for payments at start
    _dispatch(app_db.unit_of_work(Actor.system("test")))
    while jobs.run_due_jobs(app_db, worker="test"):
        pass
    _dispatch(app_db.unit_of_work(Actor.system("test")))


def _channel_a(client: TestClient, admin_db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Channel A's records, through the API; returns where each kind of id goes in a path."""
    make_order_shop(admin_db)
    phone = make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="phone", name="phone").secret
    admin = make_api_key(admin_db, name="admin").secret
    created = _ok(client.post("/api/v1/customers", headers=bearer(phone), json={
        "first_name": "Ann", "last_name": "Zyxwright", "emails": ["ann@example.com"]}), 201)  # fmt: skip
    trade = _ok(client.post("/api/v1/customers", headers=bearer(admin), json={
        "kind": "business", "company": "Zyxwright Trading", "payment_terms": "net30",
        "credit_limit": {"amount": "500.00", "currency": "USD"}}), 201)  # fmt: skip
    token = _ok(client.post("/vault/v1/cards", headers=bearer(phone), json={
        "number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}), 201)["token"]  # fmt: skip
    paid = _ok(client.post("/api/v1/orders", headers=bearer(phone), json={
        "customer": created["number"], "lines": LINES, "ship_tos": [ADDRESS],
        "payments": [{"method": "card", "token": token}]}), 201)  # fmt: skip
    # Staff place the trade customer's order in channel A (a channel's key names only its own customers).
    on_account = _ok(client.post("/api/v1/orders", headers=bearer(admin), json={
        "channel": "phone", "customer": trade["number"], "lines": [{"sku": "MUG", "quantity": 1}],
        "ship_tos": [ADDRESS], "payments": [{"method": "on_account"}]}), 201)  # fmt: skip
    (payment,) = _ok(client.get(f"/api/v1/orders/{paid['number']}/payments", headers=bearer(phone)))
    card = _ok(client.post("/api/v1/gift-cards", headers=bearer(admin), json={
        "amount": "25.00", "order": paid["number"]}), 201)["card"]  # fmt: skip
    _ship(client, admin, paid["number"], on_account["number"])
    (invoice,) = _ok(client.get("/api/v1/invoices", params={"customer": trade["number"]},
                                headers=bearer(admin)))["items"]  # fmt: skip
    rma = _ok(client.post(f"/api/v1/orders/{paid['number']}/returns", headers=bearer(phone), json={
        "lines": [{"line_no": 1, "quantity": 1, "reason": "damaged"}]}), 201)  # fmt: skip
    hook = _ok(client.post("/api/v1/webhooks", headers=bearer(phone), json={
        "url": "https://phone.example.com/hook", "event_types": ["*"]}), 201)["subscription"]  # fmt: skip
    _dispatch(admin_db)  # the trade customer joins channel A by ordering through it
    channel_id = _ok(client.get("/api/v1/sales-channels", headers=bearer(phone)))["items"][0]["id"]
    connector = _ok(client.post("/api/v1/channels/connectors", headers=bearer(admin), json={
        "code": "zyx-phone-link", "kind": "generic", "sales_channel": "phone", "name": "Phone link",
        "config": {"shipping_method": "ground"}}), 201)["code"]  # fmt: skip
    (shipment,) = _ok(
        client.get("/api/v1/shipments", params={"order": paid["number"]}, headers=bearer(admin))
    )["items"]
    _ok(client.post("/api/v1/continuity-programs", headers=bearer(admin), json={
        "code": "ZYX-CLUB", "name": "Club", "kind": "replenish", "items": [{"sku": "MUG", "quantity": 1}],
        "interval_weeks": 4, "terms": "A mug every 4 weeks."}), 201)  # fmt: skip
    member = _ok(client.post("/api/v1/subscriptions", headers=bearer(phone), json={
        "program": "ZYX-CLUB", "customer": created["number"], "card_token": token,
        "ship_to": {k: v for k, v in ADDRESS.items() if k != "ref"}, "accepted_terms": True,
        "terms_version": 1}), 201)  # fmt: skip
    return {
        "order": paid["number"], "order_id": paid["id"], "on_account": on_account["number"],
        "on_account_id": on_account["id"], "customer": created["number"], "customer_id": created["id"],
        "trade": trade["number"], "trade_id": trade["id"], "payment": payment["id"], "invoice": invoice["number"],
        "invoice_id": invoice["id"], "card": card["id"], "return": rma["number"], "return_id": rma["id"],
        "webhook": hook["id"], "channel": channel_id, "phone": phone, "shipment": shipment["number"],
        "shipment_id": shipment["id"], "connector": connector, "subscription": member["number"],
        "subscription_id": member["id"],
    }  # fmt: skip


def _concrete(path: str, a: dict[str, str]) -> tuple[str, str] | None:
    """The path with channel A's record in it, and that record's id (None: the path names no channel-owned
    record)."""
    for prefix, value in [("/api/v1/orders/{ref}", a["order"]), ("/api/v1/returns/{ref}", a["return"]),
                          ("/api/v1/customers/{ref}", a["customer"]), ("/api/v1/payments/{", a["payment"]),
                          ("/api/v1/checks/{", a["payment"]), ("/api/v1/gift-cards/by-id/{", a["card"]),
                          ("/api/v1/invoices/{ref}", a["invoice"]), ("/api/v1/webhooks/{", a["webhook"]),
                          ("/api/v1/sales-channels/{", a["channel"]),
                          ("/api/v1/shipments/{ref}", a["shipment"]),
                          ("/api/v1/channels/connectors/{code}", a["connector"]),
                          ("/api/v1/subscriptions/{ref}", a["subscription"])]:  # fmt: skip
        if path.startswith(prefix):
            return re.sub(r"\{[^}]+\}", value, path, count=1), value
    return None


def _call(client: TestClient, method: str, path: str, url: str, key: str, **params: str):  # type: ignore[no-untyped-def]
    url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), url)  # any further id (a delivery): unknown either way
    headers = {**bearer(key), "If-Match": '"1"'}
    body = BODIES.get((method, path), {}) if method in {"POST", "PUT", "PATCH"} else None
    return client.request(method, url, json=body, headers=headers, params=params or None)


def _shape(response: Any, ref: str) -> tuple[int, Any]:
    """Status and problem with the id asked for blanked: what tells a refusal from an unknown id."""
    return response.status_code, re.sub(re.escape(ref), "<ref>", response.text, flags=re.IGNORECASE)


def test_another_channels_key_finds_none_of_a_channels_records_through_any_operation_and_changes_nothing(
    quiet_client: TestClient, admin_db, db: Database
):
    client = quiet_client
    # given channel A's records, and channel B's key with every scope a channel key may hold
    a = _channel_a(client, admin_db)
    web = make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web", name="web").secret
    _ok(client.get("/api/v1/me", headers=bearer(web)))  # its first use is recorded now, not during the walk
    markers = [v for k, v in a.items() if k != "phone"]
    spec = _ok(client.get("/api/v1/openapi.json"))
    before = _snapshot(db)
    walked, listed, hidden_walked = 0, 0, 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            method = method.upper()
            scope = operation.get(SCOPE_KEY)
            if scope == PUBLIC or any(path.startswith(f"/api/v1{p}") for p in SHARED_PATHS + OWN_WALK_PATHS):
                continue
            if path == "/api/v1/events":
                continue  # a stream: see test_a_channel_keys_event_stream_and_webhooks_carry_nothing_of_another_channel
            if scope not in CHANNEL_KEY_SCOPES and scope != AUTHENTICATED:
                # staff work (users, keys, audit, jobs, receivables, …): refused whatever the record; records no
                # channel owns (accounts payable, marketing) answer a channel key as if nothing were there
                response = _call(client, method, path, path, web)
                hidden = operation.get(NO_CHANNEL_KEY) or scope.startswith(NO_CHANNEL_SCOPES)
                assert operation.get(NO_CHANNEL_KEY) or not scope.startswith(NO_CHANNEL_SCOPES), (
                    f"{method} {path}: {scope} records belong to no channel: declare requires(…, no_channel=True)"
                )
                assert response.status_code == (404 if hidden else 403), f"{method} {path}: {response.text}"
                if hidden:
                    assert response.json()["code"] == "not_found", f"{method} {path}: {response.text}"
                    hidden_walked += 1
                walked += 1
                continue
            named = _concrete(path, a)
            if named is None and "{" in path:
                raise AssertionError(f"{method} {path}: which record does it name? add it to _concrete")
            if named is None:
                if method != "GET":
                    continue  # creates: nothing of A's is named
                # when B lists
                response = _call(client, method, path, path, web, **({"q": "zyxwright"} if path.endswith(
                    "/customers") else {}))  # fmt: skip
                # then it sees none of A's records (or is refused the scope outright)
                assert response.status_code in (200, 403), f"{method} {path}: {response.text}"
                leaked = [m for m in markers if m.lower() in response.text.lower()]
                assert not leaked, f"{method} {path} shows channel A's {leaked}"
                listed += 1
                continue
            # when B names A's record, and when it names an id that does not exist
            url, ref = named
            mine = _call(client, method, path, url, web)
            unknown_ref = str(uuid.uuid4())
            unknown = _call(client, method, path, re.sub(r"\{[^}]+\}", unknown_ref, path, count=1), web)
            # then both answer alike, 404, naming nothing of A's
            assert _shape(mine, ref) == _shape(unknown, unknown_ref), (
                f"{method} {path}: {mine.text} vs {unknown.text}"
            )
            assert mine.status_code == 404, f"{method} {path}: {mine.status_code} {mine.text}"
            walked += 1
    # and nothing changed
    assert _snapshot(db) == before
    assert walked >= 40 and listed >= 8
    assert hidden_walked >= 40  # accounts payable's and marketing's operations each answered 404
    # a list filtered by one of A's customers answers as for a customer that does not exist
    for path in ("/api/v1/gift-cards", "/api/v1/invoices"):
        for customer in (a["customer"], a["trade"]):
            mine = client.get(path, params={"customer": customer}, headers=bearer(web))
            unknown = client.get(path, params={"customer": "C-999999"}, headers=bearer(web))
            assert _shape(mine, customer) == _shape(unknown, "C-999999")
            assert mine.status_code == 404
    # a quote for one of A's customers answers as for a customer that does not exist
    for customer in (a["customer"], a["trade"]):
        quote = {"lines": LINES, "ship_tos": [ADDRESS]}
        mine = client.post("/api/v1/orders/quote", json={**quote, "customer": customer}, headers=bearer(web))
        unknown = client.post(
            "/api/v1/orders/quote", json={**quote, "customer": "C-999999"}, headers=bearer(web)
        )
        assert _shape(mine, customer) == _shape(unknown, "C-999999")
        assert mine.status_code == 422  # as for any unknown customer named in an order
    # the same calls with A's own key find its records (the walk above is not vacuous)
    for url in (f"/api/v1/orders/{a['order']}", f"/api/v1/customers/{a['customer']}",
                f"/api/v1/customers/{a['trade']}", f"/api/v1/payments/{a['payment']}",
                f"/api/v1/gift-cards/by-id/{a['card']}", f"/api/v1/invoices/{a['invoice']}",
                f"/api/v1/returns/{a['return']}", f"/api/v1/webhooks/{a['webhook']}",
                f"/api/v1/shipments/{a['shipment']}", f"/api/v1/channels/connectors/{a['connector']}"):  # fmt: skip
        assert client.get(url, headers=bearer(a["phone"])).status_code == 200, url
    hits = _ok(client.get("/api/v1/customers", params={"q": "zyxwright"}, headers=bearer(a["phone"])))[
        "items"
    ]
    assert sorted(h["number"] for h in hits) == sorted([a["customer"], a["trade"]])
    assert [c["id"] for c in _ok(client.get("/api/v1/gift-cards", headers=bearer(a["phone"])))["items"]] == [
        a["card"]
    ]
    assert [
        i["number"] for i in _ok(client.get("/api/v1/invoices", headers=bearer(a["phone"])))["items"]
    ] == [a["invoice"]]


def test_a_channel_keys_event_stream_and_webhooks_carry_nothing_of_another_channel(
    quiet_client: TestClient, admin_db, db: Database
):
    client = quiet_client
    # given B's webhook subscription to every event, made before A's records
    make_order_shop(admin_db)
    web = make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web", name="web").secret
    hook = _ok(client.post("/api/v1/webhooks", headers=bearer(web), json={
        "url": "https://web.example.com/hook", "event_types": ["*"]}), 201)["subscription"]  # fmt: skip
    _dispatch(admin_db)
    with db.session() as session:
        start = session.scalar(sa.select(OutboxRow.id).order_by(OutboxRow.id.desc()).limit(1))
    # and channel A's orders, payments, invoice and gift card, then one order of B's own
    a = _channel_a_events(client, admin_db)
    token = _ok(client.post("/vault/v1/cards", headers=bearer(web), json={
        "number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}), 201)["token"]  # fmt: skip
    own = _ok(client.post("/api/v1/orders", headers=bearer(web), json={
        "lines": [{"sku": "TEE", "quantity": 1}], "ship_tos": [ADDRESS],
        "payments": [{"method": "card", "token": token}]}), 201)  # fmt: skip
    _dispatch(admin_db)
    # when B's key resumes its stream from before all of it, and when A's does
    seen_by_b = _stream(client, web, start)
    seen_by_a = _stream(client, a["phone"], start)
    # then B gets its own order's events and shared stock events, and nothing that names A's records
    assert {e["data"].get("order_id") for e in seen_by_b if "order_id" in e["data"]} == {own["id"]}
    assert {e["type"] for e in seen_by_b} >= {"order.placed", "payment.authorized", "stock.changed"}
    assert not [e for e in seen_by_b if any(m in str(e) for m in a["markers"])]
    # and A gets its own, payments, invoice and gift card included (the filter is not vacuous)
    a_types = {e["type"] for e in seen_by_a if any(m in str(e) for m in a["markers"])}
    assert a_types >= {"order.placed", "payment.authorized", "invoice.issued", "gift_card.issued"}
    assert not [e for e in seen_by_a if own["id"] in str(e)]
    # and B's webhook was given exactly the events its stream carries
    with db.session() as session:
        delivered = set(session.scalars(
            sa.select(WebhookDeliveryRow.event_id).where(WebhookDeliveryRow.subscription_id == uuid.UUID(hook["id"]))
        ))  # fmt: skip
    assert delivered == {uuid.UUID(e["id"]) for e in seen_by_b}


def _channel_a_events(client: TestClient, admin_db) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    phone = make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="phone", name="phone").secret
    admin = make_api_key(admin_db, name="admin").secret
    trade = _ok(client.post("/api/v1/customers", headers=bearer(admin), json={
        "kind": "business", "company": "Zyxwright Trading", "payment_terms": "net30",
        "credit_limit": {"amount": "500.00", "currency": "USD"}}), 201)  # fmt: skip
    token = _ok(client.post("/vault/v1/cards", headers=bearer(phone), json={
        "number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}), 201)["token"]  # fmt: skip
    paid = _ok(client.post("/api/v1/orders", headers=bearer(phone), json={
        "lines": LINES, "ship_tos": [ADDRESS], "payments": [{"method": "card", "token": token}]}), 201)  # fmt: skip
    # Staff place the trade customer's order in channel A (a channel's key names only its own customers).
    on_account = _ok(client.post("/api/v1/orders", headers=bearer(admin), json={
        "channel": "phone", "customer": trade["number"], "lines": [{"sku": "MUG", "quantity": 1}],
        "ship_tos": [ADDRESS], "payments": [{"method": "on_account"}]}), 201)  # fmt: skip
    card = _ok(client.post("/api/v1/gift-cards", headers=bearer(admin), json={
        "amount": "25.00", "order": paid["number"]}), 201)["card"]  # fmt: skip
    _ship(client, admin, on_account["number"])  # its invoice is issued
    return {"phone": phone, "markers": [paid["id"], on_account["id"], card["id"]]}


def _stream(client: TestClient, key: str, after: uuid.UUID) -> list[dict[str, Any]]:
    """What the key's event stream replays after `after`, read until it goes quiet."""
    import json

    events: list[dict[str, Any]] = []
    with client.stream(
        "GET", "/api/v1/events", headers={**bearer(key), "Last-Event-ID": str(after)}
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
            if line.startswith(": keep-alive"):
                break
    return events


def test_the_migration_fills_in_customers_channels_and_events_channels_from_the_rows_already_there(
    quiet_client: TestClient, admin_db, db: Database, db_url: str
):
    # given channel A's orders, payments, invoice and gift card, tagged and joined as they were written
    client = quiet_client
    make_order_shop(admin_db)
    _channel_a_events(client, admin_db)

    def written() -> tuple[set[tuple[Any, ...]], dict[uuid.UUID, str | None]]:
        with db.session() as session:
            members = {
                tuple(r)
                for r in session.execute(sa.text("SELECT customer_id, channel FROM customer_channels"))
            }
            tags = dict(session.execute(sa.select(OutboxRow.id, OutboxRow.channel)).tuples().all())
        return members, tags

    members, tags = written()
    assert {tag for tag in tags.values()} >= {"phone", None}
    client.app.state.db.dispose()  # type: ignore[attr-defined]
    db.dispose()
    # when the schema goes back to before this change and forward again
    command.downgrade(migrate.alembic_config(db_url), "0013")
    migrate.upgrade(db_url)
    # then the backfill finds the same channels the running system recorded
    assert written() == (members, tags)
