"""A card number in any free-text field — JSON body, console form, query string, `Idempotency-Key` — is refused at
the edge with 422 naming the field, and nothing is written: no row anywhere, so no event and no outbox payload
either (those are written from stored fields, as the last test shows)."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

import ordersmith.customers.tables
import ordersmith.inventory.tables
import ordersmith.orders.tables
import ordersmith.payments.tables
import ordersmith.platform.tables
import ordersmith.pricing.tables
import ordersmith.purchasing.tables  # noqa: F401 - every context's tables are counted
from ordersmith.platform.db import Base, Database
from ordersmith.platform.input_guard import CARD_REASON
from tests.api.conftest import bearer, login
from tests.builders import make_order_shop

ADDRESS = {
    "ref": "main",
    "name": "Ann Buyer",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
    "method": "ground",
}


def _order(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"channel": "web", "lines": [{"sku": "TEE", "quantity": 1}], "ship_tos": [ADDRESS]}
    body.update(changes)
    return body


def _row_counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def _settled_counts(db: Database) -> dict[str, int]:
    """The row counts once the app's relay has dispatched what the set-up wrote (the order's shipments are made by
    the relay after its request answered): two readings apart that agree, with nothing left in the outbox."""
    deadline = time.monotonic() + 15
    while True:
        first = _row_counts(db)
        time.sleep(0.3)
        with db.engine.connect() as conn:
            pending = conn.execute(
                sa.text("SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL")
            ).scalar_one()
        if (first == _row_counts(db) and pending == 0) or time.monotonic() > deadline:
            return _row_counts(db)


def _refused(response: Any, field: str, digits: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert problem["errors"] == [{"field": field, "message": CARD_REASON}]
    assert digits not in response.text.replace(" ", "").replace("-", "")


def test_a_card_number_in_any_free_text_field_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, admin_db, admin_key: str, db: Database
) -> None:
    # given a shop with a customer and an order, and a console session
    make_order_shop(admin_db)
    auth = bearer(admin_key)
    customer = client.post("/api/v1/customers", json={"first_name": "Ann", "last_name": "Lee"}, headers=auth)
    assert customer.status_code == 201, customer.text
    ref = customer.json()["number"]
    order = client.post("/api/v1/orders", json=_order(), headers=auth)
    assert order.status_code == 201, order.text
    order_ref = order.json()["number"]
    csrf = login(client, admin_db)
    before = _settled_counts(db)
    # when a card number, written every usual way, is sent in each free-text field
    visa, amex, mastercard = "4111111111111111", "378282246310005", "5555555555554444"
    cases: list[tuple[str, str, dict[str, Any], dict[str, str], str, str]] = [
        ("POST", "/api/v1/customers", {"first_name": "4111 1111 1111 1111"}, auth, "first_name", visa),
        ("POST", "/api/v1/customers", {"last_name": "Lee 4111-1111-1111-1111"}, auth, "last_name", visa),
        ("PATCH", f"/api/v1/customers/{ref}", {"company": f"Co {amex}"}, auth, "company", amex),
        ("POST", f"/api/v1/customers/{ref}/notes", {"body": f"pays with {visa} exp 11/32"}, auth, "body", visa),
        ("POST", "/api/v1/customers", {"emails": [f"{mastercard}@example.com"]}, auth, "emails.0", mastercard),
        ("POST", "/api/v1/orders", _order(lines=[{"sku": "TEE", "quantity": 1, "gift_message": f"card {visa}"}]),
         auth, "lines.0.gift_message", visa),
        ("POST", "/api/v1/orders", _order(ship_tos=[{**ADDRESS, "line2": "Apt 5555 5555 5555 4444"}]), auth,
         "ship_tos.0.line2", mastercard),
        ("POST", "/api/v1/orders", _order(ship_tos=[{**ADDRESS, "phone": "4111 1111 1111 1111"}]), auth,
         "ship_tos.0.phone", visa),
        ("POST", "/api/v1/orders", _order(external_id=visa), auth, "external_id", visa),
        ("POST", "/api/v1/orders", _order(payments=[{"method": "check", "reference": "1042", "bank": amex}]),
         auth, "payments.0.bank", amex),
        ("POST", "/api/v1/orders", _order(new_customer={"first_name": visa}), auth, "new_customer.first_name",
         visa),
        ("POST", "/api/v1/orders", _order(), {**auth, "Idempotency-Key": "4111-1111-1111-1111"},
         "Idempotency-Key", visa),
        ("POST", f"/api/v1/orders/{order_ref}/hold", {"note": f"call back re {visa}"}, auth, "note", visa),
        ("POST", f"/api/v1/orders/{order_ref}/cancel", {"reason": amex}, auth, "reason", amex),
        ("POST", f"/api/v1/orders/{order_ref}/cancel?comment=4111111111111111", {"reason": "x"}, auth, "comment",
         visa),
    ]  # fmt: skip
    for method, path, body, headers, field, digits in cases:
        response = client.request(method, path, json=body, headers=headers)
        # then each is refused with 422 problem+json naming the field, without echoing the number
        _refused(response, field, digits)
    # and so is a console form post (a note typed on the customer's page)
    form = client.post(
        f"/customers/{ref}/notes", data={"body": f"card {visa}", "kind": "note", "csrf_token": csrf}
    )
    _refused(form, "body", visa)
    # and nothing was written anywhere: no customer, note, search key, order, event, outbox row or idempotency key
    assert _row_counts(db) == before


def test_long_digit_strings_that_are_not_card_numbers_are_accepted_where_they_belong(
    client: TestClient, admin_db, admin_key: str
) -> None:
    # given a shop
    make_order_shop(admin_db)
    auth = bearer(admin_key)
    # when an item's barcode and SKU are a Luhn-valid GTIN-13, and a ship-to's phone a 13-digit Chinese mobile
    item = client.post(
        "/api/v1/items",
        json={"sku": "4006381333924", "name": "Pens", "divisions": ["web"], "barcodes": ["4006381333924"]},
        headers=auth,
    )
    order = client.post(
        "/api/v1/orders", json=_order(ship_tos=[{**ADDRESS, "phone": "+86 138 0013 8002"}]), headers=auth
    )
    # then both are taken
    assert item.status_code == 201, item.text
    assert item.json()["barcodes"] == ["04006381333924"]  # kept as GTIN-14
    assert order.status_code == 201, order.text
    assert order.json()["ship_tos"][0]["phone"] == "+86 138 0013 8002"


def test_events_and_outbox_payloads_carry_only_the_stored_free_text(
    client: TestClient, admin_db, admin_key: str, db: Database
) -> None:
    # given an order whose free text is ordinary, cancelled with a reason
    make_order_shop(admin_db)
    auth = bearer(admin_key)
    order = client.post(
        "/api/v1/orders",
        json=_order(external_id="EXT-77", lines=[{"sku": "TEE", "quantity": 1, "gift_message": "Happy day"}]),
        headers=auth,
    )
    assert order.status_code == 201, order.text
    number = order.json()["number"]
    cancelled = client.post(f"/api/v1/orders/{number}/cancel", json={"reason": "changed mind"}, headers=auth)
    assert cancelled.status_code == 200, cancelled.text
    # when the order's events and outbox rows are read
    with db.engine.connect() as conn:
        events = [
            str(row) for row in conn.execute(sa.text("SELECT kind, detail FROM order_events ORDER BY id"))
        ]
        payloads = [str(row[0]) for row in conn.execute(sa.text("SELECT payload FROM outbox"))]
    # then what they say about free text is the stored value, so a value refused at the edge cannot reach them
    assert any("changed mind" in event for event in events)
    assert any("EXT-77" in payload for payload in payloads)
    texts = events + payloads
    assert all("4111" not in text for text in texts)


def test_a_gateway_webhook_naming_a_card_number_is_kept_masked_not_refused(
    client: TestClient, db: Database
) -> None:
    # given a notification from the gateway, correctly signed, whose id and reference look like card numbers
    processor = client.app.state.db.caches["payments"].gateway.processor  # type: ignore[attr-defined]
    event = {
        "id": "evt_4111111111111111",
        "type": "charge.captured",
        "data": {"reference": "4111 1111 1111 1111", "currency": "USD"},
    }
    headers, body = processor.signed_webhook(event)
    # when it arrives
    response = client.post("/api/v1/payment-webhooks/sandbox", content=body, headers=headers)
    # then it is acknowledged (the gateway could not correct it) and what is kept of it is masked
    assert response.status_code == 200, response.text
    assert response.json() == {"outcome": "unknown_reference"}
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT event_id, kind, reference FROM gateway_notifications")).all()
    assert [tuple(row) for row in rows] == [("evt_411111******1111", "charge.captured", "411111******1111")]
