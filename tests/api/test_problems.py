"""Every error is RFC 9457 problem+json with a stable code, and never a stack trace."""

from fastapi.testclient import TestClient

from tests.api.conftest import bearer


def _is_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert {"type", "title", "detail"} <= set(body)
    assert "Traceback" not in response.text and "sqlalchemy" not in response.text.lower()
    return body


def test_health_says_which_database_and_version(client: TestClient, settings):
    body = client.get("/api/v1/health").json()
    assert body == {"status": "ok", "database": settings.dialect, "version": "0.1.0"}


def test_malformed_json_is_400(client: TestClient, admin_key: str):
    response = client.post(
        "/api/v1/sales-channels",
        content=b"{nope",
        headers={**bearer(admin_key), "content-type": "application/json"},
    )
    _is_problem(response, 400, "malformed_json")
    assert client.get("/api/v1/sales-channels", headers=bearer(admin_key)).json()["items"] == []


def test_validation_errors_are_422_with_field_paths(client: TestClient, admin_key: str):
    response = client.post(
        "/api/v1/sales-channels", json={"code": "Web!", "kind": "web"}, headers=bearer(admin_key)
    )
    body = _is_problem(response, 422, "validation_failed")
    fields = {e["field"] for e in body["errors"]}
    assert {"code", "name", "division"} <= fields
    assert client.get("/api/v1/sales-channels", headers=bearer(admin_key)).json()["items"] == []


def test_unknown_fields_are_rejected(client: TestClient, admin_key: str):
    body = {"code": "web", "name": "Web", "kind": "web", "division": "web", "discount": "100%"}
    response = client.post("/api/v1/sales-channels", json=body, headers=bearer(admin_key))
    problem = _is_problem(response, 422, "validation_failed")
    assert problem["errors"] == [{"field": "discount", "message": "Extra inputs are not permitted"}]
    assert client.get("/api/v1/sales-channels", headers=bearer(admin_key)).json()["items"] == []


def test_an_oversized_body_is_413_and_changes_nothing(client: TestClient, admin_key: str, settings):
    big = {"code": "web", "name": "x" * (settings.max_body_bytes + 10), "kind": "web", "division": "web"}
    response = client.post("/api/v1/sales-channels", json=big, headers=bearer(admin_key))
    _is_problem(response, 413, "payload_too_large")
    assert client.get("/api/v1/sales-channels", headers=bearer(admin_key)).json()["items"] == []


def test_an_oversized_chunked_body_is_413(client: TestClient, admin_key: str, settings):
    def chunks():
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    response = client.post(
        "/api/v1/sales-channels",
        content=chunks(),
        headers={**bearer(admin_key), "content-type": "application/json"},
    )
    _is_problem(response, 413, "payload_too_large")
    assert client.get("/api/v1/sales-channels", headers=bearer(admin_key)).json()["items"] == []


def test_an_unknown_route_is_404_and_a_wrong_method_405(client: TestClient):
    _is_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")
    _is_problem(client.delete("/api/v1/health"), 405, "method_not_allowed")


def test_an_unknown_id_is_404(client: TestClient, admin_key: str):
    _is_problem(
        client.get("/api/v1/sales-channels/01a2222a-0000-7000-8000-000000000000", headers=bearer(admin_key)),
        404,
        "not_found",
    )
    body = _is_problem(
        client.get("/api/v1/sales-channels/not-an-id", headers=bearer(admin_key)), 422, "validation_failed"
    )
    assert body["errors"][0]["field"] == "channel_id"


def test_a_bad_cursor_is_422_naming_the_cursor(client: TestClient, admin_key: str):
    body = _is_problem(
        client.get("/api/v1/sales-channels?cursor=%%%", headers=bearer(admin_key)), 422, "validation_failed"
    )
    assert body["errors"][0]["field"] == "cursor"


def test_security_headers_are_set(client: TestClient):
    headers = client.get("/api/v1/health").headers
    assert headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_a_nul_character_in_any_json_string_is_422_naming_the_field_and_changes_nothing(
    client: TestClient, admin_key: str
):
    # given a vendor, a location and an item to order
    auth = bearer(admin_key)
    for path, body in (
        ("/api/v1/items", {"sku": "TEE", "name": "Tee", "divisions": ["web"]}),
        ("/api/v1/locations", {"code": "DC", "name": "Main DC", "kind": "warehouse"}),
        ("/api/v1/vendors", {"code": "ACME", "name": "Acme", "lead_time_days": 7}),
    ):
        assert client.post(path, json=body, headers=auth).status_code == 201
    listed = {p: client.get(p, headers=auth).json() for p in ("/api/v1/customers", "/api/v1/items",
                                                                "/api/v1/purchase-orders")}  # fmt: skip
    # when bodies carry a NUL character in a field, in a nested field or in a list
    cases = [
        ("/api/v1/customers", {"first_name": "Ann\x00", "last_name": "Lee"}, "first_name"),
        (
            "/api/v1/customers",
            {"first_name": "Ann", "last_name": "Lee", "notes": ["ok", "bad\x00"]},
            "notes.1",
        ),
        ("/api/v1/items", {"sku": "MUG", "name": "Mug\x00Mug", "divisions": ["web"]}, "name"),
        (
            "/api/v1/purchase-orders",
            {"vendor": "ACME", "location": "DC", "lines": [{"sku": "TEE\x00", "quantity": 1}]},
            "lines.0.sku",
        ),
    ]
    for path, body, field in cases:
        response = client.post(path, json=body, headers=auth)
        # then each is refused with 422 problem+json naming the field
        problem = _is_problem(response, 422, "validation_failed")
        assert problem["errors"] == [{"field": field, "message": "must not contain NUL (\\u0000) characters"}]
    # and nothing was created
    assert {p: client.get(p, headers=auth).json() for p in listed} == listed
