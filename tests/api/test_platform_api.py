"""Sessions, CSRF, ownership, ETags, idempotency, audit and webhooks through the HTTP API."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.db import Database
from ordersmith.platform.http import CSRF_HEADER, SESSION_COOKIE
from ordersmith.platform.tables import SalesChannelRow
from tests.api.conftest import bearer, login
from tests.builders import make_api_key, make_channel

CHANNEL = {"code": "web", "name": "Web shop", "kind": "web", "division": "web"}


def _channel_count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(SalesChannelRow)) or 0)


def test_a_console_session_needs_the_csrf_token_to_write(client: TestClient, admin_db, db: Database):
    csrf = login(client, admin_db, "admin")
    assert client.cookies.get(SESSION_COOKIE)
    refused = client.post("/api/v1/sales-channels", json=CHANNEL)
    assert refused.status_code == 403 and _channel_count(db) == 0
    wrong = client.post("/api/v1/sales-channels", json=CHANNEL, headers={CSRF_HEADER: "guess"})
    assert wrong.status_code == 403 and _channel_count(db) == 0
    accepted = client.post("/api/v1/sales-channels", json=CHANNEL, headers={CSRF_HEADER: csrf})
    assert accepted.status_code == 201 and _channel_count(db) == 1


def test_a_role_without_the_scope_is_refused_and_nothing_changes(client: TestClient, admin_db, db: Database):
    csrf = login(client, admin_db, "agent")
    response = client.post("/api/v1/sales-channels", json=CHANNEL, headers={CSRF_HEADER: csrf})
    assert response.status_code == 403 and response.json()["required_scope"] == "sales_channels:write"
    assert _channel_count(db) == 0
    assert client.get("/api/v1/sales-channels").status_code == 200


def test_logout_ends_the_session(client: TestClient, admin_db):
    csrf = login(client, admin_db, "manager")
    assert client.get("/api/v1/me").json()["role"] == "manager"
    assert client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_wrong_passwords_lock_the_account_through_the_api(client: TestClient, admin_db, settings):
    login(client, admin_db, "agent")
    client.cookies.clear()
    for _ in range(settings.lockout_threshold):
        response = client.post(
            "/api/v1/auth/login", json={"email": "agent@example.com", "password": "nope nope nope"}
        )
        assert response.status_code == 401
    locked = client.post(
        "/api/v1/auth/login", json={"email": "agent@example.com", "password": "correct horse battery"}
    )
    assert locked.status_code == 423 and locked.json()["code"] == "account_locked"


def test_a_channel_bound_key_sees_only_its_own_channel(client: TestClient, admin_db):
    web = make_channel(admin_db, code="web")
    amazon = make_channel(admin_db, code="amazon-us", kind="marketplace", division="marketplace")
    key = make_api_key(admin_db, scopes=["sales_channels:read"], channel="amazon-us").secret
    listed = client.get("/api/v1/sales-channels", headers=bearer(key)).json()["items"]
    assert [c["code"] for c in listed] == ["amazon-us"]
    assert client.get(f"/api/v1/sales-channels/{amazon.id}", headers=bearer(key)).status_code == 200
    assert client.get(f"/api/v1/sales-channels/{web.id}", headers=bearer(key)).status_code == 404
    # changing channels is staff work: a channel key cannot even be given the scope
    refused = client.patch(f"/api/v1/sales-channels/{web.id}", json={"name": "Mine now"}, headers=bearer(key))
    assert refused.status_code == 403
    with pytest.raises(ValidationFailed):
        make_api_key(admin_db, scopes=["sales_channels:read", "sales_channels:write"], channel="amazon-us")
    assert (
        client.get(f"/api/v1/sales-channels/{web.id}", headers=bearer(make_api_key(admin_db).secret)).json()[
            "name"
        ]
        == "Web"
    )


def test_if_match_refuses_a_stale_update_with_412_and_changes_nothing(client: TestClient, admin_key: str):
    created = client.post("/api/v1/sales-channels", json=CHANNEL, headers=bearer(admin_key)).json()
    url = f"/api/v1/sales-channels/{created['id']}"
    etag = client.get(url, headers=bearer(admin_key)).headers["etag"]
    assert etag == '"1"'
    first = client.patch(url, json={"name": "Web store"}, headers={**bearer(admin_key), "If-Match": etag})
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    stale = client.patch(url, json={"name": "Lost update"}, headers={**bearer(admin_key), "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert client.get(url, headers=bearer(admin_key)).json()["name"] == "Web store"


def test_idempotency_key_replays_through_the_api_and_refuses_another_body(
    client: TestClient, admin_key: str, db
):
    headers = {**bearer(admin_key), "Idempotency-Key": "order-123"}
    first = client.post("/api/v1/sales-channels", json=CHANNEL, headers=headers)
    again = client.post("/api/v1/sales-channels", json=CHANNEL, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = client.post("/api/v1/sales-channels", json={**CHANNEL, "code": "web2"}, headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert _channel_count(db) == 1


def test_the_audit_log_is_readable_by_manager_and_filters_by_object(
    client: TestClient, admin_key: str, admin_db
):
    created = client.post("/api/v1/sales-channels", json=CHANNEL, headers=bearer(admin_key)).json()
    login(client, admin_db, "manager")
    entries = client.get(
        "/api/v1/audit", params={"object_type": "sales_channel", "object_id": created["id"]}
    ).json()
    assert [(e["action"], e["actor_kind"], e["actor_label"]) for e in entries["items"]] == [
        ("sales_channel.created", "api_key", "api-key:admin")
    ]
    assert entries["items"][0]["after"]["code"] == "web"
    assert entries["items"][0]["origin"] == "testclient"


def test_lists_are_cursor_paginated(client: TestClient, admin_key: str, admin_db):
    for n in range(5):
        make_channel(admin_db, code=f"ch{n}")
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/sales-channels", params=params, headers=bearer(admin_key)).json()
        seen += [c["code"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["ch0", "ch1", "ch2", "ch3", "ch4"]


def test_webhook_subscriptions_show_the_secret_once(client: TestClient, admin_key: str):
    created = client.post(
        "/api/v1/webhooks",
        json={"url": "https://erp.example.com/hooks", "event_types": ["sales_channel.*"]},
        headers=bearer(admin_key),
    )
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    sub_id = created.json()["subscription"]["id"]
    listed = client.get("/api/v1/webhooks", headers=bearer(admin_key))
    assert secret not in listed.text and listed.json()["items"][0]["id"] == sub_id
    assert (
        client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=bearer(admin_key)).json()["items"] == []
    )
    assert client.delete(f"/api/v1/webhooks/{sub_id}", headers=bearer(admin_key)).status_code == 204
    assert client.get(f"/api/v1/webhooks/{sub_id}", headers=bearer(admin_key)).status_code == 404


def test_a_webhook_with_a_bad_url_is_refused_naming_the_field(client: TestClient, admin_key: str):
    response = client.post(
        "/api/v1/webhooks", json={"url": "ftp://x/y/z", "event_types": ["*"]}, headers=bearer(admin_key)
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "url"
    assert client.get("/api/v1/webhooks", headers=bearer(admin_key)).json()["items"] == []


def test_api_keys_are_created_with_the_secret_shown_once_and_revoked(client: TestClient, admin_key: str):
    created = client.post(
        "/api/v1/api-keys", json={"name": "erp", "scopes": ["events:read"]}, headers=bearer(admin_key)
    )
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert client.get("/api/v1/me", headers=bearer(secret)).json()["scopes"] == ["events:read"]
    assert secret not in client.get("/api/v1/api-keys", headers=bearer(admin_key)).text
    key_id = created.json()["key"]["id"]
    assert client.post(f"/api/v1/api-keys/{key_id}/revoke", headers=bearer(admin_key)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_users_are_managed_by_admins(client: TestClient, admin_key: str):
    created = client.post(
        "/api/v1/users",
        json={"email": "Sam@Example.com", "role": "warehouse", "password": "long enough pw"},
        headers=bearer(admin_key),
    )
    assert created.status_code == 201 and created.json()["email"] == "sam@example.com"
    assert "password" not in created.text
    changed = client.patch(
        f"/api/v1/users/{created.json()['id']}", json={"role": "manager"}, headers=bearer(admin_key)
    )
    assert changed.json()["role"] == "manager"
