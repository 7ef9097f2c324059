"""A NUL character in the path or a query parameter (`%00`, found by Schemathesis on GET /audit) is a 422 naming
the parameter: PostgreSQL cannot compare text holding NUL and answered a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import bearer


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/audit?action=%00", "action"),
        ("/api/v1/audit?object_type=a%00b&limit=5", "object_type"),
        ("/api/v1/customers/C%00", "path"),
    ],
    ids=["audit-action", "audit-object_type", "customer-path"],
)
def test_a_nul_in_the_url_is_a_422_naming_where_it_is(
    client: TestClient, admin_key: str, url: str, field: str
) -> None:
    # given
    audit_before = client.get("/api/v1/audit?limit=500", headers=bearer(admin_key)).json()["items"]

    # when
    response = client.get(url, headers=bearer(admin_key))

    # then
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"field": field, "message": "must not contain NUL (\\u0000) characters"}
    ]
    assert client.get("/api/v1/audit?limit=500", headers=bearer(admin_key)).json()["items"] == audit_before


def test_a_nul_in_the_query_of_a_write_is_refused_before_anything_is_written(
    client: TestClient, admin_key: str
) -> None:
    # given
    before = client.get("/api/v1/coupons", headers=bearer(admin_key)).json()

    # when
    response = client.post(
        "/api/v1/coupons?x=%00", json={"code": "C1", "promotion": "NONE"}, headers=bearer(admin_key)
    )

    # then
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "x", "message": "must not contain NUL (\\u0000) characters"}
    ]
    assert client.get("/api/v1/coupons", headers=bearer(admin_key)).json() == before
