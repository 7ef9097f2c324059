"""The CRM API through the ASGI app, on SQLite and PostgreSQL: connecting HubSpot needs the credentials scope and
never shows the token again; bad settings are a problem naming the field and save nothing; a channel-bound key is
told no CRM connection, link or dead letter exists (404); changing and deleting a connection."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.channels.crm.tables import CrmConnectionRow
from ordersmith.platform.access import CHANNEL_KEY_SCOPES, ROLE_SCOPES
from ordersmith.platform.db import Database
from ordersmith.platform.tables import AuditRow
from tests.api.conftest import bearer
from tests.builders import make_api_key, make_channel

TOKEN = "pat-na1-8f0c2d4e-a6b1-4c3d-9e7f-0a1b2c3d4e5f"
HUBSPOT = {
    "code": "hubspot",
    "kind": "hubspot",
    "name": "Acme on HubSpot",
    "config": {"base_url": "http://127.0.0.1:9", "deal_stages": {"won": "closedwon"}, "batch_size": 50},
    "credentials": {"access_token": TOKEN},
}
BASE = "/api/v1/channels/crm-connections"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _state(db: Database) -> tuple[list[tuple[Any, ...]], int]:
    with db.session() as session:
        rows = [tuple(r) for r in session.execute(sa.select(CrmConnectionRow.__table__)).all()]
        audits = int(session.scalar(sa.select(sa.func.count()).select_from(AuditRow)) or 0)
        return rows, audits


def test_connecting_hubspot_needs_the_credentials_scope_and_never_shows_the_token_again(
    client: TestClient, admin_db: Any, db: Database
) -> None:
    manager = make_api_key(admin_db, scopes=sorted(ROLE_SCOPES["manager"]), name="m").secret
    admin = make_api_key(admin_db, name="admin").secret
    # when a manager tries
    refused = client.post(BASE, json=HUBSPOT, headers=bearer(manager))
    # then
    assert refused.status_code == 403 and refused.json()["required_scope"] == "channels:credentials"
    assert _state(db)[0] == []
    # when an admin does
    created = client.post(BASE, json=HUBSPOT, headers=bearer(admin))
    # then
    body = _ok(created, 201)
    assert (body["code"], body["kind"], body["credential_names"]) == ("hubspot", "hubspot", ["access_token"])
    assert body["config"] == HUBSPOT["config"] and body["waiting"] == 0 and body["dead_letters_open"] == 0
    assert TOKEN not in created.text
    shown = client.get(f"{BASE}/hubspot", headers=bearer(manager))
    assert _ok(shown)["code"] == "hubspot" and TOKEN not in shown.text
    assert [c["code"] for c in _ok(client.get(BASE, headers=bearer(manager)))["items"]] == ["hubspot"]
    with db.session() as session:  # sealed at rest
        sealed = session.scalar(sa.select(CrmConnectionRow.credentials))
    assert sealed is not None and TOKEN not in sealed
    # when the code is taken
    again = client.post(BASE, json=HUBSPOT, headers=bearer(admin))
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"config": {"base_url": "not a url"}}, "config.base_url"),
        ({"config": {"base_url": "http://127.0.0.1:99999"}}, "config.base_url"),
        ({"config": {"batch_size": 500}}, "config.batch_size"),
        ({"config": {"batch_size": "10"}}, "config.batch_size"),
        ({"config": {"deal_stages": {"shipped": "closedwon"}}}, "config.deal_stages.shipped"),
        ({"config": {"consent_property": "Marketing Consent"}}, "config.consent_property"),
        ({"config": {"api_key": "x"}}, "config.api_key"),
        ({"credentials": {}}, "credentials.access_token"),
        ({"credentials": {"access_token": TOKEN, "password": "x"}}, "credentials.password"),
        ({"kind": "salesforce"}, "kind"),
        ({"code": "Bad Code"}, "code"),
    ],
)
def test_bad_settings_are_a_problem_naming_the_field_and_save_nothing(
    client: TestClient, admin_key: str, db: Database, change: dict[str, Any], field: str
) -> None:
    # given
    before = _state(db)
    # when
    response = client.post(BASE, json={**HUBSPOT, **change}, headers=bearer(admin_key))
    # then
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert _state(db) == before


def test_a_bad_change_is_refused_naming_the_field_and_changes_nothing_and_a_good_one_applies(
    client: TestClient, admin_key: str, db: Database
) -> None:
    # given
    _ok(client.post(BASE, json=HUBSPOT, headers=bearer(admin_key)), 201)
    before = _state(db)
    # when
    refused = client.patch(
        f"{BASE}/hubspot",
        json={"name": "Renamed", "config": {"sync_window_s": -1}},
        headers=bearer(admin_key),
    )
    # then
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["config.sync_window_s"]
    assert _state(db) == before
    # when: a stale version
    stale = client.patch(
        f"{BASE}/hubspot", json={"name": "Renamed"}, headers={**bearer(admin_key), "If-Match": '"7"'}
    )
    assert stale.status_code == 412 and _state(db) == before
    # when: switched off, with a new token, at the version read
    read = client.get(f"{BASE}/hubspot", headers=bearer(admin_key)).headers["ETag"]
    assert read == '"1"'
    changed = _ok(
        client.patch(
            f"{BASE}/hubspot",
            json={"active": False, "credentials": {"access_token": "pat-na1-rotated"}},
            headers={
                **bearer(admin_key),
                "If-Match": client.get(f"{BASE}/hubspot", headers=bearer(admin_key)).headers["ETag"],
            },
        )
    )
    assert (changed["active"], changed["version"], changed["name"]) == (False, 2, "Acme on HubSpot")
    assert "pat-na1-rotated" not in str(changed)
    # when deleted
    _ok(client.delete(f"{BASE}/hubspot", headers=bearer(admin_key)), 204)
    assert client.get(f"{BASE}/hubspot", headers=bearer(admin_key)).status_code == 404
    assert _state(db)[0] == []


def test_a_channel_bound_key_is_told_no_crm_connection_link_or_dead_letter_exists(
    client: TestClient, admin_db: Any, admin_key: str, db: Database
) -> None:
    # given: a connection, and a web channel's key with every scope a channel key may hold (channels:read too)
    make_channel(admin_db, code="web")
    _ok(client.post(BASE, json=HUBSPOT, headers=bearer(admin_key)), 201)
    web = make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web", name="web").secret
    before = _state(db)
    # when / then: each read and write answers as if nothing existed
    for method, path in [
        ("GET", BASE),
        ("GET", f"{BASE}/hubspot"),
        ("GET", f"{BASE}/hubspot/links"),
        ("GET", f"{BASE}/hubspot/dead-letters"),
    ]:
        response = client.request(method, path, headers=bearer(web))
        assert response.status_code == 404, (method, path, response.text)
        assert "hubspot" not in response.text.lower()
    # and so are the writes it could never be given the scope for
    for method, path in [
        ("POST", "/api/v1/channels/crm-dead-letters/0190a2b4-0000-7000-8000-000000000000/replay"),
        ("DELETE", f"{BASE}/hubspot"),
        ("PATCH", f"{BASE}/hubspot"),
        ("POST", f"{BASE}/hubspot/backfill"),
    ]:
        response = client.request(method, path, headers=bearer(web), json={"active": False})
        assert response.status_code == 404, (method, path, response.text)
    assert _state(db) == before
    # and staff see the (empty) links and dead letters, and may ask for a back-fill
    queued = client.post(f"{BASE}/hubspot/backfill", headers=bearer(admin_key))
    assert queued.status_code == 202 and queued.json()["code"] == "hubspot"
    assert _ok(client.get(f"{BASE}/hubspot/links", headers=bearer(admin_key))) == {
        "items": [],
        "next_cursor": None,
    }
    assert _ok(client.get(f"{BASE}/hubspot/dead-letters", headers=bearer(admin_key)))["items"] == []
    bad_kind = client.get(f"{BASE}/hubspot/links?kind=company", headers=bearer(admin_key))
    assert bad_kind.status_code == 422 and bad_kind.json()["errors"][0]["field"] == "kind"
