"""Changing promotions and coupons after they were made — through the API and the console's Offers screen, on
SQLite and PostgreSQL: who may, what may change, and refusals that change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import bearer, login
from tests.builders import make_api_key

USD5 = {"amount": "5.00", "currency": "USD"}


def _post(client: TestClient, key: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(url, json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def key(client: TestClient, admin_key: str) -> str:
    _post(client, admin_key, "/api/v1/promotions", {"code": "save5", "name": "$5 off", "kind": "order_amount_off",
                                                    "amount": USD5, "coupon_required": True})  # fmt: skip
    _post(client, admin_key, "/api/v1/coupons", {"code": "save5", "promotion": "save5", "max_uses": 3})
    return admin_key


def _promotion(client: TestClient, key: str) -> dict[str, Any]:
    return dict(client.get("/api/v1/promotions", headers=bearer(key)).json()[0])


def test_a_promotion_is_renamed_re_dated_and_switched_off_keeping_what_was_not_sent(
    client: TestClient, key: str
) -> None:
    # when its end is set, then its name and priority change, then it is switched off
    dated = client.patch(
        "/api/v1/promotions/SAVE5", json={"ends_at": "2030-01-01T00:00:00Z"}, headers=bearer(key)
    )
    renamed = client.patch(
        "/api/v1/promotions/save5", json={"name": "Five off", "priority": 7}, headers=bearer(key)
    )
    off = client.patch("/api/v1/promotions/save5", json={"active": False}, headers=bearer(key))
    # then each answer shows the promotion as changed, and what was not sent stayed
    assert dated.status_code == renamed.status_code == off.status_code == 200, off.text
    assert off.json() | {} == _promotion(client, key)
    assert (off.json()["name"], off.json()["priority"], off.json()["ends_at"]) == (
        "Five off",
        7,
        "2030-01-01T00:00:00Z",
    )
    assert (off.json()["active"], off.json()["running"]) == (False, False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"starts_at": "2031-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}, "ends_at"),
        ({"priority": 5_000_000}, "priority"),
        ({"name": ""}, "name"),
        ({"kind": "free_shipping"}, "kind"),
    ],
    ids=["end-before-start", "priority", "empty-name", "kind-is-fixed"],
)
def test_a_change_a_promotion_cannot_take_is_a_422_naming_it_and_changes_nothing(
    client: TestClient, key: str, body: dict[str, Any], field: str
) -> None:
    before = _promotion(client, key)
    refused = client.patch("/api/v1/promotions/save5", json=body, headers=bearer(key))
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field
    assert _promotion(client, key) == before


def test_a_coupons_limit_is_raised_lifted_or_refused_below_its_uses(client: TestClient, key: str) -> None:
    # given SAVE5 allows 3 uses, and has been used twice
    for n in range(2):
        used = client.post(
            "/api/v1/coupons/SAVE5/redemptions", json={"key": f"order-{n}"}, headers=bearer(key)
        )
        assert used.status_code in (200, 201), used.text
    # when the limit is set below its uses, raised, then lifted
    below = client.patch("/api/v1/coupons/save5", json={"max_uses": 1}, headers=bearer(key))
    raised = client.patch("/api/v1/coupons/save5", json={"max_uses": 10}, headers=bearer(key))
    lifted = client.patch(
        "/api/v1/coupons/save5", json={"max_uses": None, "active": False}, headers=bearer(key)
    )
    # then the first is refused naming the field, the others apply
    assert below.status_code == 422 and below.json()["errors"][0]["field"] == "max_uses"
    assert raised.json()["max_uses"] == 10
    assert (lifted.json()["max_uses"], lifted.json()["active"], lifted.json()["uses"]) == (None, False, 2)


def test_only_pricing_staff_change_offers(client: TestClient, key: str, admin_db) -> None:  # type: ignore[no-untyped-def]
    # given a key that may quote prices but not set them up
    quoter = make_api_key(admin_db, name="quoter", scopes=["pricing:quote"]).secret
    before = _promotion(client, key)
    # when it tries to switch the promotion off and to lift the coupon's limit
    off = client.patch("/api/v1/promotions/save5", json={"active": False}, headers=bearer(quoter))
    lift = client.patch("/api/v1/coupons/save5", json={"max_uses": None}, headers=bearer(quoter))
    # then both are forbidden and nothing changed
    assert off.status_code == lift.status_code == 403
    assert _promotion(client, key) == before
    assert client.get("/api/v1/coupons", headers=bearer(key)).json()[0]["max_uses"] == 3


def test_the_offers_screen_makes_and_changes_promotions_and_coupons(
    client: TestClient, key: str, admin_db
) -> None:  # type: ignore[no-untyped-def]
    # given the marketing team signed in
    csrf = login(client, admin_db, role="marketing")
    page = client.get("/marketing")
    assert page.status_code == 200 and "SAVE5" in page.text and "0 of 3" in page.text
    # when they make a 15 % promotion with a coupon, and switch SAVE5's coupon off
    made = client.post("/marketing/promotions", data={"csrf_token": csrf, "code": "winter15", "name": "Winter 15 %",
                                                      "kind": "percent_off_items", "figure": "15",
                                                      "coupon_required": "on"}, follow_redirects=False)  # fmt: skip
    coupon = client.post("/marketing/coupons", data={"csrf_token": csrf, "code": "WINTER", "promotion": "WINTER15",
                                                     "max_uses": "100"}, follow_redirects=False)  # fmt: skip
    off = client.post(
        "/marketing/coupons/SAVE5", data={"csrf_token": csrf, "max_uses": "3"}, follow_redirects=False
    )
    # then both exist and SAVE5 is off
    assert made.status_code == coupon.status_code == off.status_code == 303
    coupons = {c["code"]: c for c in client.get("/api/v1/coupons", headers=bearer(key)).json()}
    assert coupons["WINTER"]["max_uses"] == 100 and coupons["SAVE5"]["active"] is False
    # and a bad figure or a date that is not one is refused with the reason, nothing made
    bad = client.post("/marketing/promotions", data={"csrf_token": csrf, "code": "x1", "name": "X",
                                                     "kind": "order_amount_off", "figure": "١٠"})  # noqa: RUF001  # fmt: skip
    late = client.post(
        "/marketing/promotions/WINTER15", data={"csrf_token": csrf, "name": "W", "ends_at": "soon"}
    )
    assert bad.status_code == late.status_code == 422
    assert "an amount such as 10.00" in bad.text and "a date and time" in late.text
    assert {p["code"] for p in client.get("/api/v1/promotions", headers=bearer(key)).json()} == {
        "SAVE5",
        "WINTER15",
    }


def test_an_agent_cannot_open_the_offers_screen(client: TestClient, key: str, admin_db) -> None:  # type: ignore[no-untyped-def]
    login(client, admin_db, role="agent")
    assert client.get("/marketing").status_code == 403
