"""Every integer a request may send fits the INTEGER column it lands in: a bound on each field refuses 3,000,000,000
as a 422 naming the field (PostgreSQL would answer `integer out of range`, a 500), and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import bearer

INT32_MAX = 2_147_483_647


def _request_integers(node: Any, schemas: dict[str, Any], path: str, seen: set[str]) -> list[tuple[str, Any]]:
    """(where, schema) of every integer reachable from a request schema."""
    if isinstance(node, list):
        return [
            found for n, item in enumerate(node) for found in _request_integers(item, schemas, path, seen)
        ]
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return []
        return _request_integers(schemas[name], schemas, name, seen | {name})
    found = [(path, node)] if node.get("type") == "integer" else []
    for key, value in node.items():
        if key == "properties":
            for prop, sub in value.items():
                found += _request_integers(sub, schemas, f"{path}.{prop}", seen)
        elif key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties"):
            found += _request_integers(value, schemas, path, seen)
    return found


def test_every_integer_a_request_may_send_is_bounded_within_a_32_bit_column(client: TestClient) -> None:
    # given
    document = client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]

    # when
    integers: list[tuple[str, Any]] = []
    for route, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {})
            for content in body.values():
                integers += _request_integers(content["schema"], schemas, f"{method} {route}", set())
            for parameter in operation.get("parameters", []):
                integers += _request_integers(
                    parameter["schema"], schemas, f"{method} {route} {parameter['name']}", set()
                )

    # then
    unbounded = sorted(
        {where for where, schema in integers if schema.get("maximum", INT32_MAX + 1) > INT32_MAX}
    )
    assert integers != []
    assert unbounded == []


def _coupon_setup(client: TestClient, key: str) -> None:
    response = client.post(
        "/api/v1/promotions",
        json={
            "code": "TEN",
            "name": "10 %",
            "kind": "percent_off_items",
            "percent": "10",
            "coupon_required": True,
        },
        headers=bearer(key),
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("url", "body", "field", "listing"),
    [
        (
            "/api/v1/coupons",
            {"code": "BIG", "promotion": "TEN", "max_uses": 3_000_000_000},
            "max_uses",
            "/api/v1/coupons",
        ),
        (
            "/api/v1/coupons",
            {"code": "BIG", "promotion": "TEN", "per_customer_limit": 3_000_000_000},
            "per_customer_limit",
            "/api/v1/coupons",
        ),
        (
            "/api/v1/items",
            {"sku": "HEAVY", "name": "Heavy", "divisions": ["web"], "weight_g": 3_000_000_000},
            "weight_g",
            "/api/v1/items",
        ),
        (
            "/api/v1/shipping-methods",
            {
                "code": "freight",
                "name": "Freight",
                "kind": "weight_bands",
                "weight_bands": [{"up_to_g": 3_000_000_000, "charge": {"amount": "9", "currency": "USD"}}],
            },
            "weight_bands.0.up_to_g",
            "/api/v1/shipping-methods",
        ),
    ],
    ids=["coupon-max_uses", "coupon-per_customer_limit", "item-weight_g", "shipping-band-up_to_g"],
)
def test_an_integer_beyond_its_column_is_a_422_naming_the_field_and_writes_nothing(
    client: TestClient, admin_key: str, url: str, body: dict[str, Any], field: str, listing: str
) -> None:
    # given
    _coupon_setup(client, admin_key)
    before = client.get(listing, headers=bearer(admin_key)).json()

    # when
    response = client.post(url, json=body, headers=bearer(admin_key))

    # then
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_failed"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert client.get(listing, headers=bearer(admin_key)).json() == before
