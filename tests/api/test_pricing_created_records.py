"""Creating pricing set-up answers the created record — the same body its listing shows — not only its code."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import bearer

USD = {"amount": "5.00", "currency": "USD"}


def _create(client: TestClient, key: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(url, json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def key(client: TestClient, admin_key: str) -> str:
    _create(client, admin_key, "/api/v1/items", {"sku": "TEE", "name": "Tee", "divisions": ["web"]})
    return admin_key


def test_a_created_price_list_is_answered_as_its_listing_shows_it(client: TestClient, key: str) -> None:
    # when
    created = _create(client, key, "/api/v1/price-lists", {"code": "Retail", "name": "Retail", "prices": [
        {"sku": "TEE", "unit_price": {"amount": "20.00", "currency": "USD"}}]})  # fmt: skip

    # then
    assert created == {
        "code": "RETAIL",
        "name": "Retail",
        "currency": "USD",
        "priority": 0,
        "customer_groups": [],
        "channels": [],
        "starts_at": None,
        "ends_at": None,
        "prices": 1,
        "offer_only": False,
    }
    assert client.get("/api/v1/price-lists", headers=bearer(key)).json() == [created]


def test_a_created_promotion_and_coupon_are_answered_as_their_listings_show_them(
    client: TestClient, key: str
) -> None:
    # when
    promotion = _create(client, key, "/api/v1/promotions", {"code": "save5", "name": "$5 off",
                                                            "kind": "order_amount_off", "amount": USD,
                                                            "coupon_required": True})  # fmt: skip
    coupon = _create(client, key, "/api/v1/coupons", {"code": "save5", "promotion": "save5", "max_uses": 3})

    # then
    assert promotion == {
        "code": "SAVE5",
        "name": "$5 off",
        "kind": "order_amount_off",
        "priority": 0,
        "exclusive": False,
        "stackable": True,
        "coupon_required": True,
        "starts_at": None,
        "ends_at": None,
        "running": True,
        "active": True,
    }
    assert coupon == {
        "code": "SAVE5",
        "promotion": "SAVE5",
        "uses": 0,
        "max_uses": 3,
        "per_customer_limit": None,
        "active": True,
    }
    assert client.get("/api/v1/promotions", headers=bearer(key)).json() == [promotion]
    assert client.get("/api/v1/coupons", headers=bearer(key)).json() == [coupon]


def test_a_created_shipping_method_and_tax_rate_are_answered_as_their_listings_show_them(
    client: TestClient, key: str
) -> None:
    # when
    method = _create(client, key, "/api/v1/shipping-methods", {"code": "ground", "name": "Ground", "kind": "flat",
                                                               "flat": USD, "free_over": USD})  # fmt: skip
    rate = _create(
        client, key, "/api/v1/tax-rates", {"name": "NY", "country": "us", "region": "ny", "rate": "0.04"}
    )

    # then
    assert method == {"code": "ground", "name": "Ground", "kind": "flat", "currency": "USD", "free_over": USD}
    assert rate == {
        "id": rate["id"],
        "name": "NY",
        "country": "US",
        "region": "NY",
        "postal_prefix": "",
        "tax_class": "*",
        "rate": "0.040000",
        "on_shipping": False,
    }
    assert client.get("/api/v1/shipping-methods", headers=bearer(key)).json() == [method]
    assert client.get("/api/v1/tax-rates", headers=bearer(key)).json() == [rate]


def test_pricing_codes_are_case_insensitive_and_answered_in_their_stored_form(
    client: TestClient, key: str
) -> None:
    # given
    created = [
        _create(client, key, "/api/v1/price-lists", {"code": "retail", "name": "Retail", "prices": [
            {"sku": "TEE", "unit_price": {"amount": "20.00", "currency": "USD"}}]})["code"],
        _create(client, key, "/api/v1/promotions", {"code": "Ten", "name": "10 %", "kind": "percent_off_items",
                                                    "percent": "10", "coupon_required": True})["code"],
        _create(client, key, "/api/v1/coupons", {"code": "take10", "promotion": "tEN"})["code"],
        _create(client, key, "/api/v1/shipping-methods", {"code": "Express", "name": "Express", "kind": "flat",
                                                          "flat": USD})["code"],
    ]  # fmt: skip
    listed = [
        client.get(url, headers=bearer(key)).json()
        for url in (
            "/api/v1/price-lists",
            "/api/v1/promotions",
            "/api/v1/coupons",
            "/api/v1/shipping-methods",
        )
    ]

    # when
    duplicates = [
        client.post(url, json=body, headers=bearer(key)).status_code
        for url, body in (
            ("/api/v1/price-lists", {"code": "RETAIL", "name": "Again", "prices": [
                {"sku": "TEE", "unit_price": {"amount": "1.00", "currency": "USD"}}]}),
            ("/api/v1/promotions", {"code": "TEN", "name": "Again", "kind": "free_shipping"}),
            ("/api/v1/coupons", {"code": "TAKE10", "promotion": "ten"}),
            ("/api/v1/shipping-methods", {"code": "EXPRESS", "name": "Again", "kind": "flat", "flat": USD}),
        )
    ]  # fmt: skip
    quote = client.post("/api/v1/pricing/quote", headers=bearer(key), json={
        "lines": [{"sku": "TEE", "quantity": 1}], "coupons": ["Take10"],
        "ship_tos": [{"country": "US", "method": "EXPRESS"}]})  # fmt: skip

    # then
    assert created == ["RETAIL", "TEN", "TAKE10", "express"]
    assert duplicates == [409, 409, 409, 409]
    assert quote.status_code == 200, quote.text
    assert quote.json()["applied_promotions"] == ["TEN"]
    assert quote.json()["shipping"] == {"main": USD}
    assert [
        client.get(url, headers=bearer(key)).json()
        for url in (
            "/api/v1/price-lists",
            "/api/v1/promotions",
            "/api/v1/coupons",
            "/api/v1/shipping-methods",
        )
    ] == listed
