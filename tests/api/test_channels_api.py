"""The channels API through the ASGI app, on SQLite and PostgreSQL: connecting a channel needs its own scope and
never shows the credentials again; a channel's key sends its orders and a duplicate makes no second order; bad
input is a problem naming the field and records nothing; a forged Shopify webhook is a 401 and changes nothing;
the health read."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.channels.connectors.shopify import webhook_signature
from ordersmith.channels.tables import ChannelOrderRow, ConnectorRow, DeadLetterRow
from ordersmith.platform import jobs
from ordersmith.platform.access import CHANNEL_KEY_SCOPES, ROLE_SCOPES
from ordersmith.platform.db import Database
from ordersmith.platform.tables import JobRow, OutboxRow
from tests.api.conftest import bearer
from tests.builders import make_api_key, make_order_shop

GENERIC = {
    "code": "market",
    "kind": "generic",
    "sales_channel": "amazon",
    "name": "Market",
    "config": {"shipping_method": "ground"},
}
SHOPIFY = {
    "code": "shop",
    "kind": "shopify",
    "sales_channel": "web",
    "name": "Shop",
    "config": {"shipping_method": "ground", "shop_url": "https://acme.myshopify.com", "location_id": "1"},
    "credentials": {"access_token": "shpat_abc", "webhook_secret": "hush"},
}
ORDER = {
    "id": "A-1",
    "updated_at": "2026-12-01T11:00:00Z",
    "currency": "USD",
    "lines": [{"sku": "M-TEE", "quantity": 2}],
    "ship_to": {
        "name": "Ann Buyer",
        "line1": "1 Market St",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94105",
        "country": "US",
    },
}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _count(db: Database, table: Any) -> int:
    with db.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


@pytest.fixture
def shop(client: TestClient, admin_db: Any, admin_key: str) -> dict[str, str]:
    make_order_shop(admin_db)
    _ok(client.post("/api/v1/channels/connectors", json=GENERIC, headers=bearer(admin_key)), 201)
    _ok(
        client.post(
            "/api/v1/channels/connectors/market/sku-maps",
            json={"channel_sku": "M-TEE", "sku": "TEE"},
            headers=bearer(admin_key),
        )
    )
    amazon = make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="amazon", name="amazon").secret
    return {"admin": admin_key, "amazon": amazon}


def test_connecting_a_channel_needs_the_credentials_scope_and_never_shows_them_again(
    client: TestClient, admin_db: Any, db: Database
) -> None:
    make_order_shop(admin_db)
    manager = make_api_key(admin_db, scopes=sorted(ROLE_SCOPES["manager"]), name="manager").secret
    admin = make_api_key(admin_db, name="admin").secret
    # when a manager (channels:write, not channels:credentials) tries
    refused = client.post("/api/v1/channels/connectors", json=SHOPIFY, headers=bearer(manager))
    # then
    assert refused.status_code == 403 and refused.json()["required_scope"] == "channels:credentials"
    assert _count(db, ConnectorRow) == 0
    # when an admin does
    created = client.post("/api/v1/channels/connectors", json=SHOPIFY, headers=bearer(admin))
    # then
    body = _ok(created, 201)
    assert body["credential_names"] == ["access_token", "webhook_secret"]
    assert "shpat_abc" not in created.text and "hush" not in created.text
    shown = client.get("/api/v1/channels/connectors/shop", headers=bearer(manager))
    assert _ok(shown)["code"] == "shop" and "shpat_abc" not in shown.text


def test_a_channels_order_sent_twice_makes_one_order(client: TestClient, shop: dict[str, str]) -> None:
    # when
    first = client.post(
        "/api/v1/channels/connectors/market/orders", json=ORDER, headers=bearer(shop["amazon"])
    )
    again = client.post(
        "/api/v1/channels/connectors/market/orders", json=ORDER, headers=bearer(shop["amazon"])
    )
    app_db: Database = client.app.state.db  # type: ignore[attr-defined]
    # the import job runs here, or in the app's own job runner, which may have claimed it first (a loaded machine)
    deadline = time.monotonic() + 30
    while True:
        while jobs.run_due_jobs(app_db, worker="test"):
            pass
        inbox = _ok(client.get("/api/v1/channels/connectors/market/orders", headers=bearer(shop["amazon"])))[
            "items"
        ]
        if inbox[0]["status"] != "received" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    # then
    assert (_ok(first, 202)["duplicate"], _ok(again, 202)["duplicate"]) == (False, True)
    assert [(o["external_id"], o["status"], o["deliveries"]) for o in inbox] == [("A-1", "imported", 2)]
    mine = _ok(client.get("/api/v1/orders", params={"channel": "amazon"}, headers=bearer(shop["admin"])))[
        "items"
    ]
    assert [o["number"] for o in mine] == [inbox[0]["order_number"]]
    health = _ok(client.get("/api/v1/channels/connectors/market/health", headers=bearer(shop["amazon"])))
    assert (health["dead_letters_open"], health["lag_s"], health["last_success_at"] is not None) == (
        0,
        0.0,
        True,
    )


def test_a_bad_channel_order_is_a_problem_naming_the_field_and_records_nothing(
    client: TestClient, shop: dict[str, str], db: Database
) -> None:
    bad = {**ORDER, "lines": [{"sku": "M-TEE", "quantity": 0}]}
    refused = client.post(
        "/api/v1/channels/connectors/market/orders", json=bad, headers=bearer(shop["amazon"])
    )
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == ["lines.0.quantity"]
    unknown = client.post(
        "/api/v1/channels/connectors/market/sku-maps",
        json={"channel_sku": "M-X", "sku": "NOPE"},
        headers=bearer(shop["admin"]),
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "sku"
    nul = client.post(
        "/api/v1/channels/connectors/market/orders",
        json={**ORDER, "id": "A\u00001"},
        headers=bearer(shop["amazon"]),
    )
    assert nul.status_code in (400, 422)
    assert _count(db, ChannelOrderRow) == 0
    assert (
        client.post(
            "/api/v1/channels/dead-letters/not-an-id/replay", headers=bearer(shop["admin"])
        ).status_code
        == 422
    )


def test_a_forged_shopify_webhook_is_refused_and_changes_nothing(
    client: TestClient, shop: dict[str, str], db: Database
) -> None:
    _ok(client.post("/api/v1/channels/connectors", json=SHOPIFY, headers=bearer(shop["admin"])), 201)
    body = json.dumps({"id": 1001, "updated_at": "2026-12-01T11:00:00Z"}).encode()
    events_before = _count(db, OutboxRow)
    for headers in (
        {},
        {"X-Shopify-Hmac-Sha256": webhook_signature("not-the-secret", body)},
        {"X-Shopify-Hmac-Sha256": "garbage"},
    ):
        forged = client.post("/api/v1/channels/webhooks/shop", content=body, headers=headers)
        assert forged.status_code == 401 and forged.json()["code"] == "channel_signature_invalid"
    # a generic connector and an unknown one take no webhooks at all
    for code in ("market", "nope"):
        refused = client.post(
            "/api/v1/channels/webhooks/" + code,
            content=body,
            headers={"X-Shopify-Hmac-Sha256": webhook_signature("hush", body)},
        )
        assert refused.status_code == 401
    assert (_count(db, ChannelOrderRow), _count(db, DeadLetterRow), _count(db, OutboxRow)) == (
        0,
        0,
        events_before,
    )
    # signed right, an unreadable order is kept on the dead-letter list, not lost
    signed = client.post(
        "/api/v1/channels/webhooks/shop",
        content=body,
        headers={"X-Shopify-Hmac-Sha256": webhook_signature("hush", body)},
    )
    assert _ok(signed) == {"accepted": False}
    letters = _ok(client.get("/api/v1/channels/connectors/shop/dead-letters", headers=bearer(shop["admin"])))
    assert [(d["operation"], d["reference"]) for d in letters["items"]] == [("import_order", "1001")]


WOO = {
    "code": "woo",
    "kind": "woocommerce",
    "sales_channel": "web",
    "name": "Woo",
    "config": {"shipping_method": "ground", "store_url": "https://shop.example.com"},
    "credentials": {"consumer_key": "ck_1", "consumer_secret": "cs_1", "webhook_secret": "woo-hush"},
}
AMAZON = {
    "code": "amz",
    "kind": "amazon",
    "sales_channel": "amazon",
    "name": "Amazon US",
    "config": {
        "shipping_method": "ground",
        "endpoint": "https://sellingpartnerapi-na.amazon.com",
        "marketplace_id": "ATVPDKIKX0DER",
        "seller_id": "A2SELLER0001",
    },
    "credentials": {
        "client_id": "amzn1.application-oa2-client.x",
        "client_secret": "s",
        "refresh_token": "Atzr|r",
    },
}


def test_a_forged_woocommerce_webhook_is_a_401_and_changes_nothing_and_a_signed_one_is_recorded_once(
    client: TestClient, shop: dict[str, str], db: Database
) -> None:
    from ordersmith.channels.connectors.woocommerce import webhook_signature as woo_signature

    _ok(client.post("/api/v1/channels/connectors", json=WOO, headers=bearer(shop["admin"])), 201)
    order = {
        "id": 901,
        "status": "processing",
        "currency": "USD",
        "date_modified_gmt": "2026-12-01T11:00:00",
        "billing": {"first_name": "Ann", "last_name": "Buyer", "email": "ann@example.com"},
        "shipping": {
            "first_name": "Ann",
            "last_name": "Buyer",
            "address_1": "1 Market St",
            "city": "SF",
            "state": "CA",
            "postcode": "94105",
            "country": "US",
        },
        "line_items": [{"sku": "WC-TEE", "quantity": 1, "product_id": 7}],
    }
    body = json.dumps(order).encode()
    topic = {"X-WC-Webhook-Topic": "order.created"}
    events_before = _count(db, OutboxRow)
    for headers in (
        topic,
        topic | {"X-WC-Webhook-Signature": woo_signature("not-the-secret", body)},
        topic | {"X-WC-Webhook-Signature": "garbage"},
    ):
        forged = client.post("/api/v1/channels/webhooks/woo", content=body, headers=headers)
        assert forged.status_code == 401 and forged.json()["code"] == "channel_signature_invalid"
    tampered = client.post(
        "/api/v1/channels/webhooks/woo",
        content=body.replace(b'"quantity": 1', b'"quantity": 9'),
        headers=topic | {"X-WC-Webhook-Signature": woo_signature("woo-hush", body)},
    )
    assert tampered.status_code == 401
    assert (_count(db, ChannelOrderRow), _count(db, DeadLetterRow), _count(db, OutboxRow)) == (
        0,
        0,
        events_before,
    )
    signed = topic | {"X-WC-Webhook-Signature": woo_signature("woo-hush", body)}
    assert _ok(client.post("/api/v1/channels/webhooks/woo", content=body, headers=signed)) == {
        "accepted": True,
        "duplicate": False,
    }
    assert _ok(client.post("/api/v1/channels/webhooks/woo", content=body, headers=signed)) == {
        "accepted": True,
        "duplicate": True,
    }
    assert _count(db, ChannelOrderRow) == 1


def test_an_amazon_connector_needs_its_seller_and_is_polled_on_request_by_a_manager_only(
    client: TestClient, shop: dict[str, str], admin_db: Any, db: Database
) -> None:
    # a connector without its seller id is a problem naming the field, and nothing is created
    config: dict[str, Any] = dict(AMAZON["config"])  # type: ignore[call-overload]
    lacking = AMAZON | {"config": {k: v for k, v in config.items() if k != "seller_id"}}
    problem = client.post("/api/v1/channels/connectors", json=lacking, headers=bearer(shop["admin"]))
    assert problem.status_code == 422 and problem.json()["errors"][0]["field"] == "config.seller_id"
    assert _count(db, ConnectorRow) == 1  # the generic one of the set-up
    created = _ok(client.post("/api/v1/channels/connectors", json=AMAZON, headers=bearer(shop["admin"])), 201)
    assert created["credential_names"] == ["client_id", "client_secret", "refresh_token"]
    health = _ok(client.get("/api/v1/channels/connectors/amz/health", headers=bearer(shop["admin"])))
    assert (health["polling"]["cursor"], health["polling"]["paused"]) == ({}, False)
    # polling on request needs channels:write; another channel's key sees no such connector
    reader = make_api_key(admin_db, scopes=["channels:read"], name="reader").secret
    web_key = make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web", name="web").secret
    assert client.post("/api/v1/channels/connectors/amz/poll", headers=bearer(reader)).status_code == 403
    assert client.get("/api/v1/channels/connectors/amz/health", headers=bearer(web_key)).status_code == 404
    due = _ok(client.post("/api/v1/channels/connectors/amz/poll", headers=bearer(shop["admin"])))
    assert due["next_poll_at"]
    with db.session() as session:
        polls = sa.select(sa.func.count()).select_from(JobRow).where(JobRow.kind == "channels.poll_orders")
        assert session.scalar(polls) == 1
    # a connector that is not polled says so
    refused = client.post("/api/v1/channels/connectors/market/poll", headers=bearer(shop["admin"]))
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "connector"


def test_a_custom_field_map_or_an_amazon_reason_that_cannot_be_kept_is_a_problem_naming_it_and_makes_nothing(
    client: TestClient, shop: dict[str, str], db: Database
) -> None:
    config: dict[str, Any] = dict(AMAZON["config"])  # type: ignore[call-overload]
    for bad, field in (
        (
            {"custom_fields": {"PurchaseOrderNumber": "no_such_field"}},
            "config.custom_fields.PurchaseOrderNumber",
        ),
        (
            {"custom_fields": {"PO\u0000": "po"}},
            r"config.custom_fields.PO\u0000",
        ),  # refused first, the NUL named escaped
        ({"custom_fields": ["not", "a", "map"]}, "config.custom_fields"),
        ({"cancel_reason": "Whim"}, "config.cancel_reason"),
        ({"feed_check_s": 10**12}, "config.feed_check_s"),
    ):
        answer = client.post(
            "/api/v1/channels/connectors",
            json=AMAZON | {"config": config | bad},
            headers=bearer(shop["admin"]),
        )
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["errors"][0]["field"] == field
    assert _count(db, ConnectorRow) == 1  # the generic one of the set-up


def test_an_ebay_signing_keypair_is_put_with_the_credentials_and_a_bad_one_is_a_422_naming_it(
    client: TestClient, shop: dict[str, str], db: Database
) -> None:
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    ebay = {"code": "ebay-uk", "kind": "ebay", "sales_channel": "amazon", "name": "eBay UK",
            "config": {"shipping_method": "ground"},
            "credentials": {"client_id": "c", "client_secret": "s", "refresh_token": "v^1.1#r"}}  # fmt: skip
    _ok(client.post("/api/v1/channels/connectors", json=ebay, headers=bearer(shop["admin"])), 201)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    private = base64.b64encode(
        der
    ).decode()  # about 1,600 characters, as eBay's Key Management API returns it
    jwe = "eyJ6aXAiOiJERUYiLCJlbmMiOiJBMjU2R0NNIn0." + "x" * 600
    url = "/api/v1/channels/connectors/ebay-uk/credentials"
    # when a private key that is not one is put with the JWE
    bad = client.put(url, headers=bearer(shop["admin"]), json={"credentials": ebay["credentials"] | {
        "signing_key_jwe": jwe, "signing_private_key": base64.b64encode(b"not a key").decode()}})  # fmt: skip
    # then a 422 names it (without echoing it) and the credentials stay as they were
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in bad.json()["errors"]] == ["credentials.signing_private_key"]
    shown = _ok(client.get("/api/v1/channels/connectors/ebay-uk", headers=bearer(shop["admin"])))
    assert shown["credential_names"] == ["client_id", "client_secret", "refresh_token"]
    # when the keypair is put whole
    put = client.put(url, headers=bearer(shop["admin"]), json={"credentials": ebay["credentials"] | {
        "signing_key_jwe": jwe, "signing_private_key": private}})  # fmt: skip
    # then it is held, sealed, and never shown again
    body = _ok(put)
    assert body["credential_names"] == [
        "client_id", "client_secret", "refresh_token", "signing_key_jwe", "signing_private_key"
    ]  # fmt: skip
    assert private not in put.text and jwe not in put.text
    with db.session() as session:
        sealed = session.scalar(sa.select(ConnectorRow.credentials).where(ConnectorRow.code == "ebay-uk"))
    assert private not in str(sealed)
