"""Marketing through the ASGI app on SQLite and PostgreSQL: a marketer builds a campaign, its drops and key codes;
refusals are problem+json naming the field and change nothing; an order's unknown code is refused the same way
and its valid code prices it; who may see any of it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.kernel.money import Money
from ordersmith.platform.access import CHANNEL_KEY_SCOPES
from ordersmith.platform.db import Database
from ordersmith.pricing import service as pricing
from tests.api.conftest import bearer, login
from tests.api.test_payments_api import ADDRESS, LINES
from tests.builders import make_api_key, make_order_shop

CAMPAIGN: dict[str, Any] = {
    "code": "FALL26",
    "name": "Fall 2026 book",
    "kind": "catalog",
    "drops": [
        {
            "code": "D1",
            "in_home_on": "2020-09-01",
            "quantity_mailed": 40000,
            "cost_per_piece": {"amount": "0.62", "currency": "USD"},
            "creative": "cover A",
        },
    ],
}
CODE: dict[str, Any] = {
    "code": "f26h1",
    "campaign": "FALL26",
    "drop": "D1",
    "segment": "house 0-12m",
    "quantity_mailed": 25000,
    "price_list": "FALLBOOK",
    "expected_response_pct": "3.5",
}


def rows(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def fall_book(admin_db) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    pricing.create_price_list(
        admin_db,
        code="FALLBOOK",
        name="Fall book",
        currency="USD",
        offer_only=True,
        prices=[pricing.PriceEntry("TEE", Money(Decimal("18.00"), "USD"))],
    )


def test_a_marketer_builds_a_campaign_with_drops_and_key_codes(client: TestClient, admin_db, db):
    # given a marketer signed in, and the fall book's price list
    make_order_shop(admin_db)
    fall_book(admin_db)
    csrf = {"X-CSRF-Token": login(client, admin_db, role="marketing")}
    # when the campaign, a second drop and a code are created
    made = client.post("/api/v1/campaigns", json=CAMPAIGN, headers=csrf)
    more = client.post(
        "/api/v1/campaigns/fall26/drops",
        headers=csrf,
        json={
            "drops": [
                {
                    "code": "D2",
                    "in_home_on": "2020-10-06",
                    "quantity_mailed": 10000,
                    "cost_per_piece": {"amount": "0.58", "currency": "USD"},
                }
            ]
        },
    )
    code = client.post("/api/v1/source-codes", json=CODE, headers=csrf)
    # then they read back, the drops with their cost, the code upper-case from the drop's in-home date
    assert (made.status_code, more.status_code, code.status_code) == (201, 201, 201), code.text
    assert [(d["code"], d["cost"]["amount"]) for d in more.json()["drops"]] == [
        ("D1", "24800.00"),
        ("D2", "5800.00"),
    ]
    assert {k: code.json()[k] for k in ("code", "starts_on", "ends_on", "price_list", "in_home_on")} == {
        "code": "F26H1",
        "starts_on": "2020-09-01",
        "ends_on": None,
        "price_list": "FALLBOOK",
        "in_home_on": "2020-09-01",
    }
    assert [c["code"] for c in client.get("/api/v1/source-codes?campaign=FALL26").json()["items"]] == [
        "F26H1"
    ]
    assert [c["code"] for c in client.get("/api/v1/campaigns").json()["items"]] == ["FALL26"]
    # and a code is ended with If-Match; a stale version is refused
    read = client.get("/api/v1/source-codes/F26H1")
    ended = client.patch(
        "/api/v1/source-codes/F26H1",
        json={"ends_on": "2020-12-31"},
        headers=csrf | {"If-Match": read.headers["ETag"]},
    )
    stale = client.patch(
        "/api/v1/source-codes/F26H1",
        json={"active": False},
        headers=csrf | {"If-Match": read.headers["ETag"]},
    )
    assert (ended.status_code, ended.json()["ends_on"], stale.status_code) == (200, "2020-12-31", 412)
    # and a channel keys unknown codes to it
    policy = client.put(
        "/api/v1/source-code-policies/web",
        json={"on_unknown": "default", "default_code": "F26H1"},
        headers=csrf,
    )
    assert policy.json() == {"channel": "web", "on_unknown": "default", "default_code": "F26H1"}
    # and the console's Offers screen lists the drops and the code with its offer
    page = client.get("/marketing")
    assert page.status_code == 200
    assert "$24,800.00" in page.text and "$5,800.00" in page.text
    assert (
        "<code>F26H1</code>" in page.text
        and "<td>FALLBOOK</td>" in page.text
        and "2020-09-01 \u2013 2020-12-31" in page.text
    )


def test_a_bad_code_is_a_problem_naming_the_field_and_nothing_changes(
    client: TestClient, admin_key, admin_db, db
):
    make_order_shop(admin_db)
    client.post("/api/v1/campaigns", json=CAMPAIGN, headers=bearer(admin_key))
    for body, field in (
        ({**CODE, "price_list": "NOPE"}, "price_list"),
        ({**CODE, "quantity_mailed": 40001}, "quantity_mailed"),
        ({**CODE, "expected_response_pct": "101"}, "expected_response_pct"),
        ({**CODE, "code": "BAD CODE"}, "code"),
    ):
        response = client.post("/api/v1/source-codes", json=body, headers=bearer(admin_key))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"].split(".")[-1] for e in response.json()["errors"]] == [field]
    assert (
        client.post(
            "/api/v1/source-codes", json={**CODE, "drop": "D9", "price_list": None}, headers=bearer(admin_key)
        ).status_code
        == 404
    )
    assert rows(db, "marketing_source_codes") == 0


def test_an_order_with_an_unknown_code_is_refused_and_a_valid_code_prices_it(
    client: TestClient, admin_key, admin_db, db
):
    # given the campaign and its code offering the fall book
    make_order_shop(admin_db)
    fall_book(admin_db)
    client.post("/api/v1/campaigns", json=CAMPAIGN, headers=bearer(admin_key))
    client.post("/api/v1/source-codes", json=CODE, headers=bearer(admin_key))
    order = {"lines": LINES, "ship_tos": [ADDRESS], "channel": "phone"}
    # when an order comes with a typo, then with the code
    typo = client.post(
        "/api/v1/orders", json={**order, "source_code": "TYPO-NOPE"}, headers=bearer(admin_key)
    )
    assert typo.status_code == 422
    assert [e["field"] for e in typo.json()["errors"]] == ["source_code"]
    assert rows(db, "orders") == 0
    keyed = client.post("/api/v1/orders", json={**order, "source_code": "f26h1"}, headers=bearer(admin_key))
    # then the keyed order keeps the code and the book's price for the tee
    assert keyed.status_code == 201, keyed.text
    assert keyed.json()["source_code"] == "F26H1"
    assert [line["unit_price"]["amount"] for line in keyed.json()["lines"]] == ["18.00", "10.00"]
    # and the results count it against the 25,000 books of its code and the 40,000 of its campaign
    by_code = client.get("/api/v1/reports/source-codes", headers=bearer(admin_key))
    by_campaign = client.get(
        "/api/v1/reports/source-codes?by=campaign&campaign=fall26", headers=bearer(admin_key)
    )
    as_csv = client.get("/api/v1/reports/source-codes?format=csv", headers=bearer(admin_key))
    assert by_code.status_code == 200, by_code.text
    row = by_code.json()["rows"][0]
    assert (row["source_code"], row["orders"], row["response_pct"], row["gross_demand"], row["cost"]) == (
        "F26H1",
        1,
        "0.00",
        "46.00",
        "15500.00",
    )
    campaign = by_campaign.json()["rows"][0]
    assert (campaign["campaign"], campaign["quantity_mailed"], campaign["cost"]) == (
        "FALL26",
        40000,
        "24800.00",
    )
    assert as_csv.headers["content-type"].startswith("text/csv") and "F26H1" in as_csv.text


def test_an_agent_is_refused_campaigns_and_a_channel_bound_key_finds_none(client: TestClient, admin_db, db):
    login(client, admin_db, role="agent")
    assert client.get("/api/v1/campaigns").status_code == 403
    assert client.get("/api/v1/reports/source-codes").status_code == 403
    client.cookies.clear()
    make_order_shop(admin_db)
    key = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web").secret)
    for method, path, body in [
        ("GET", "/api/v1/campaigns", None),
        ("GET", "/api/v1/source-codes", None),
        ("GET", "/api/v1/source-codes/F26H1", None),
        ("GET", "/api/v1/reports/source-codes", None),
        ("POST", "/api/v1/campaigns", CAMPAIGN),
        ("POST", "/api/v1/source-codes", CODE),
        ("PUT", "/api/v1/source-code-policies/web", {"on_unknown": "refuse"}),
    ]:
        response = client.request(method, path, headers=key, json=body)
        # no channel owns campaigns or codes: to a channel's key they do not exist
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == "not_found", path
    assert (rows(db, "marketing_campaigns"), rows(db, "marketing_channel_policies")) == (0, 0)
