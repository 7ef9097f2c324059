"""Continuity through the ASGI app on SQLite and PostgreSQL: a marketer sets up a program; a shop's own key reads
its terms, signs its customer up with a vaulted card, skips, and cancels with one call; another channel's key sees
none of it (404) and changes nothing; refusals are problem+json naming the field and write nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.platform.access import CHANNEL_KEY_SCOPES
from ordersmith.platform.db import Database
from tests.api.conftest import bearer, login
from tests.builders import make_api_key, make_order_shop

PROGRAM: dict[str, Any] = {
    "code": "tees4w",
    "name": "Tees every 4 weeks",
    "kind": "replenish",
    "items": [{"sku": "TEE", "quantity": 2}],
    "interval_weeks": 4,
    "terms": "Two tees every 4 weeks at list price plus shipping, charged on each ship date. Cancel any time.",
}
SHIP_TO = {"name": "Ann Member", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
           "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip


def rows(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def _program(client: TestClient, admin_db) -> None:  # type: ignore[no-untyped-def]
    csrf = {"X-CSRF-Token": login(client, admin_db, role="marketing")}
    made = client.post("/api/v1/continuity-programs", json=PROGRAM, headers=csrf)
    assert made.status_code == 201, made.text
    client.post("/api/v1/auth/logout", headers=csrf)
    client.cookies.clear()


def _member(client: TestClient, key: dict[str, str]) -> dict[str, Any]:
    customer = client.post(
        "/api/v1/customers", headers=key, json={"first_name": "Ann", "last_name": "Member"}
    )
    assert customer.status_code == 201, customer.text
    card = client.post("/vault/v1/cards", headers=key,
                       json={"number": "4242424242424242", "exp_month": 12, "exp_year": 2031})  # fmt: skip
    assert card.status_code == 201, card.text
    terms = client.get("/api/v1/continuity-programs/TEES4W", headers=key).json()
    return {"program": "TEES4W", "customer": customer.json()["number"], "ship_to": SHIP_TO,
            "card_token": card.json()["token"], "accepted_terms": True,
            "terms_version": terms["terms_version"]}  # fmt: skip


def test_a_shop_key_signs_its_customer_up_skips_and_cancels_in_one_call_each(
    client: TestClient, admin_db, db: Database
):
    # given a program and the web shop's own key
    make_order_shop(admin_db)
    _program(client, admin_db)
    web = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web").secret)
    body = _member(client, web)
    # when it signs its customer up (the terms shown were version 1, and accepted)
    made = client.post("/api/v1/subscriptions", headers=web, json=body)
    # then the subscription is the web channel's, due today, with the card's brand and last four only
    assert made.status_code == 201, made.text
    sub = made.json()
    assert (sub["channel"], sub["status"], sub["next_shipment"], sub["terms_version"]) == (
        "web",
        "active",
        1,
        1,
    )
    assert sub["card"]["last_four"] == "4242" and "4242424242424242" not in made.text
    # and skipping moves the shipment one interval on; cancelling is one call with the same key
    skipped = client.post(f"/api/v1/subscriptions/{sub['number']}/skip", headers=web)
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["next_shipment_on"] > sub["next_shipment_on"]
    cancelled = client.post(f"/api/v1/subscriptions/{sub['id']}/cancel", headers=web, json={})
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    listed = client.get("/api/v1/subscriptions?program=TEES4W", headers=web).json()["items"]
    assert [(s["number"], s["status"]) for s in listed] == [(sub["number"], "cancelled")]


def test_another_channels_key_sees_no_subscription_of_this_channel_and_changes_nothing(
    client: TestClient, admin_db, db: Database
):
    # given a web member, and the phone channel's key
    make_order_shop(admin_db)
    _program(client, admin_db)
    web = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web").secret)
    sub = client.post("/api/v1/subscriptions", headers=web, json=_member(client, web)).json()
    phone = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="phone").secret)
    with db.engine.connect() as conn:
        before = conn.execute(sa.text("SELECT status, version FROM continuity_subscriptions")).all()
    # when the phone key reads, lists, skips, pauses, re-cards or cancels it
    answers = [
        client.get(f"/api/v1/subscriptions/{sub['id']}", headers=phone).status_code,
        client.post(f"/api/v1/subscriptions/{sub['number']}/skip", headers=phone).status_code,
        client.post(f"/api/v1/subscriptions/{sub['number']}/pause", headers=phone, json={}).status_code,
        client.post(
            f"/api/v1/subscriptions/{sub['number']}/card",
            headers=phone,
            json={"card_token": sub["id"].replace("-", "")},
        ).status_code,
        client.post(f"/api/v1/subscriptions/{sub['number']}/cancel", headers=phone, json={}).status_code,
    ]
    # then every answer is 404 (as if it did not exist), the list is empty, and nothing changed
    assert answers[:2] == [404, 404] and answers[2] == 404 and answers[4] == 404
    assert client.get("/api/v1/subscriptions", headers=phone).json()["items"] == []
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status, version FROM continuity_subscriptions")).all() == before
    # and a channel key may not set programs up
    refused = client.post("/api/v1/continuity-programs", headers=web, json=PROGRAM | {"code": "X"})
    assert refused.status_code == 403


def test_a_sign_up_without_accepted_terms_or_with_old_terms_is_refused_naming_the_field_and_writes_nothing(
    client: TestClient, admin_db, db: Database
):
    # given the web shop's key, and terms restated since the shop last read them
    make_order_shop(admin_db)
    _program(client, admin_db)
    web = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web").secret)
    body = _member(client, web)
    staff = bearer(make_api_key(admin_db, name="staff").secret)
    restated = client.patch("/api/v1/continuity-programs/TEES4W", headers=staff,
                            json={"terms": PROGRAM["terms"] + " Free shipping over 50.00."})  # fmt: skip
    assert restated.json()["terms_version"] == 2
    # when it signs up without consent, with the old terms, with an unknown card, or naming another channel
    answers = {
        "accepted_terms": client.post(
            "/api/v1/subscriptions", headers=web, json=body | {"accepted_terms": False}
        ),
        "terms_version": client.post("/api/v1/subscriptions", headers=web, json=body),
        "card_token": client.post(
            "/api/v1/subscriptions",
            headers=web,
            json=body | {"terms_version": 2, "card_token": "tok_unknown"},
        ),
        "ship_to.country": client.post(
            "/api/v1/subscriptions",
            headers=web,
            json=body | {"terms_version": 2, "ship_to": SHIP_TO | {"country": "USA"}},
        ),
    }
    # then each is a 422 problem naming its field, and no subscription exists
    for field, answer in answers.items():
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["errors"][0]["field"] == field
    other = client.post(
        "/api/v1/subscriptions", headers=web, json=body | {"terms_version": 2, "channel": "phone"}
    )
    assert other.status_code == 403
    assert rows(db, "continuity_subscriptions") == 0


def test_the_console_lists_a_programs_members_for_those_who_may_read_them(
    client: TestClient, admin_db, db: Database
):
    # given a web member
    make_order_shop(admin_db)
    _program(client, admin_db)
    web = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web").secret)
    sub = client.post("/api/v1/subscriptions", headers=web, json=_member(client, web)).json()
    # when an agent opens the Continuity screen, filtered by the program
    login(client, admin_db, role="agent")
    page = client.get("/continuity?program=tees4w&status=active")
    # then the program and the member show, with the card's last four only
    assert page.status_code == 200
    assert "<code>TEES4W</code>" in page.text and f"<code>{sub['number']}</code>" in page.text
    assert "…4242" in page.text and "4242424242424242" not in page.text
    # and an unknown program is said, not a 500; a cancelled filter shows no one
    assert client.get("/continuity?program=NOPE").status_code == 404
    assert "No members that match" in client.get("/continuity?status=cancelled").text
    # and the warehouse may not open it
    client.cookies.clear()
    login(client, admin_db, role="warehouse")
    assert client.get("/continuity").status_code == 403
