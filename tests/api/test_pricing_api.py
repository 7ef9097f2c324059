"""Pricing through the HTTP API: set-up, a quote with its explanation, coupon refusals, and roles."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.builders import make_api_key


def _post(client: TestClient, key: str, url: str, body: dict, expect: int = 201) -> dict:
    response = client.post(url, json=body, headers=bearer(key))
    assert response.status_code == expect, response.text
    return response.json()


def _setup(client: TestClient, key: str) -> None:
    for sku, grams in (("TEE", 200), ("MUG", 400)):
        _post(
            client, key, "/api/v1/items", {"sku": sku, "name": sku, "divisions": ["web"], "weight_g": grams}
        )
    _post(client, key, "/api/v1/price-lists", {"code": "USD", "name": "Default", "prices": [
        {"sku": "TEE", "unit_price": {"amount": "20.00", "currency": "USD"}},
        {"sku": "MUG", "unit_price": {"amount": "12.50", "currency": "USD"}}]})  # fmt: skip
    _post(client, key, "/api/v1/shipping-methods", {"code": "ground", "name": "Ground", "kind": "flat",
                                                    "flat": {"amount": "6.95", "currency": "USD"}})  # fmt: skip
    _post(client, key, "/api/v1/tax-rates", {"name": "NY", "country": "US", "region": "NY", "rate": "0.04",
                                             "on_shipping": True})  # fmt: skip
    _post(client, key, "/api/v1/promotions", {"code": "SAVE5", "name": "$5 off $30", "kind": "order_amount_off",
                                              "amount": {"amount": "5", "currency": "USD"},
                                              "threshold": {"amount": "30", "currency": "USD"},
                                              "coupon_required": True})  # fmt: skip
    _post(client, key, "/api/v1/coupons", {"code": "SAVE5", "promotion": "SAVE5", "max_uses": 1})


CART = {"lines": [{"sku": "TEE", "quantity": 1}, {"sku": "MUG", "quantity": 1}],
        "ship_tos": [{"country": "US", "region": "NY", "postal_code": "10001", "method": "ground"}],
        "coupons": ["save5"]}  # fmt: skip


def test_a_quote_prices_the_cart_and_explains_every_amount(client: TestClient, admin_key: str):
    _setup(client, admin_key)
    q = _post(client, admin_key, "/api/v1/pricing/quote", CART, expect=200)
    assert q["merchandise"] == {"amount": "32.50", "currency": "USD"}
    assert q["discounts"] == {"amount": "5.00", "currency": "USD"} and q["applied_promotions"] == ["SAVE5"]
    # 27.50 + 6.95 shipping + 4 % of both (1.10 + 0.28)
    assert q["total"] == {"amount": "35.83", "currency": "USD"}
    assert {a["kind"] for a in q["adjustments"]} == {"price", "discount", "shipping", "tax"}


def test_a_used_up_coupon_is_named_and_the_quote_goes_on_without_it(client: TestClient, admin_key: str):
    _setup(client, admin_key)
    _post(client, admin_key, "/api/v1/coupons/SAVE5/redemptions", {"key": "order-1"})
    again = client.post(
        "/api/v1/coupons/SAVE5/redemptions", json={"key": "order-2"}, headers=bearer(admin_key)
    )
    assert again.status_code == 409 and again.json()["code"] == "coupon_exhausted"
    q = _post(client, admin_key, "/api/v1/pricing/quote", CART, expect=200)
    assert q["rejected_coupons"] == {"SAVE5": "coupon_exhausted"} and q["discounts"]["amount"] == "0.00"


def test_bad_set_up_and_carts_are_422_naming_the_field(client: TestClient, admin_key: str):
    _setup(client, admin_key)
    bad = client.post("/api/v1/pricing/quote", json={**CART, "lines": [{"sku": "TEE", "quantity": 0}]},
                      headers=bearer(admin_key))  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "lines.0.quantity"
    priced = client.post("/api/v1/pricing/quote", json={**CART, "lines": [{"sku": "TEE", "quantity": 1,
                         "unit_price": "0.01"}]}, headers=bearer(admin_key))  # fmt: skip
    assert priced.status_code == 422  # a client never sends prices
    rate = client.post(
        "/api/v1/tax-rates", json={"name": "X", "country": "US", "rate": "1.5"}, headers=bearer(admin_key)
    )
    assert rate.status_code == 422 and rate.json()["errors"][0]["field"] == "rate"
    rates = client.get("/api/v1/tax-rates", headers=bearer(admin_key)).json()
    assert [r["name"] for r in rates] == ["NY"]  # the refused rate was not stored


def test_an_agent_quotes_but_does_not_set_prices(client: TestClient, admin_db, admin_key: str):
    _setup(client, admin_key)
    agent = make_api_key(admin_db, name="agent", scopes=["pricing:quote"]).secret
    assert client.post("/api/v1/pricing/quote", json=CART, headers=bearer(agent)).status_code == 200
    refused = client.post("/api/v1/price-lists", json={"code": "CHEAP", "name": "x", "prices": [
        {"sku": "TEE", "unit_price": {"amount": "1.00", "currency": "USD"}}]}, headers=bearer(agent))  # fmt: skip
    assert refused.status_code == 403
    lists = client.get("/api/v1/price-lists", headers=bearer(admin_key)).json()
    assert [p["code"] for p in lists] == ["USD"]  # the refused list was not stored


def test_what_is_set_up_can_be_listed(client: TestClient, admin_key: str):
    _setup(client, admin_key)
    _post(client, admin_key, "/api/v1/coupons/SAVE5/redemptions", {"key": "order-1"})

    def get(url: str) -> list[dict]:
        response = client.get(url, headers=bearer(admin_key))
        assert response.status_code == 200, response.text
        return response.json()

    assert [(p["code"], p["prices"]) for p in get("/api/v1/price-lists")] == [("USD", 2)]
    assert [(p["code"], p["running"]) for p in get("/api/v1/promotions")] == [("SAVE5", True)]
    assert [(c["code"], c["uses"], c["max_uses"]) for c in get("/api/v1/coupons")] == [("SAVE5", 1, 1)]
    assert [m["code"] for m in get("/api/v1/shipping-methods")] == ["ground"]
    assert [(r["region"], r["rate"]) for r in get("/api/v1/tax-rates")] == [("NY", "0.040000")]
