"""The OpenAPI document describes the errors the API sends: every operation declares its problems as the one
`Problem` schema under application/problem+json (never FastAPI's `HTTPValidationError`), and what the API answers
is that schema."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import bearer

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
ALWAYS = {"400", "401", "403", "404", "409", "422"}
WRITES = {"402", "412", "413", "428", "503"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_every_operation_declares_its_problems_as_the_problem_schema(client: TestClient) -> None:
    # given
    document = client.get("/api/v1/openapi.json").json()

    # when
    missing = [
        (method, path, status)
        for method, path, operation in _operations(document)
        for status in ALWAYS | (WRITES if method in {"post", "put", "patch", "delete"} else set())
        if operation["responses"].get(status, {}).get("content") != PROBLEM
    ]
    not_problems = [
        (method, path, status)
        for method, path, operation in _operations(document)
        for status, response in operation["responses"].items()
        if status[0] in "45" and response.get("content") != PROBLEM
    ]

    # then
    assert len(_operations(document)) > 100
    assert missing == []
    assert not_problems == []
    assert "HTTPValidationError" not in json.dumps(document)
    assert "#/components/schemas/ValidationError" not in json.dumps(document)


def test_the_problem_schema_names_every_member_a_problem_carries(client: TestClient) -> None:
    # when
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]

    # then
    assert schemas["Problem"]["required"] == ["type", "title", "status", "detail", "code"]
    assert sorted(schemas["Problem"]["properties"]) == ["code", "detail", "errors", "status", "title", "type"]
    assert schemas["Problem"]["properties"]["errors"]["items"] == {
        "$ref": "#/components/schemas/ProblemFieldError"
    }
    assert schemas["Problem"]["additionalProperties"] is True
    assert schemas["ProblemFieldError"]["required"] == ["field", "message"]


def test_a_validation_failure_is_answered_as_the_documented_problem(
    client: TestClient, admin_key: str
) -> None:
    # given
    problem = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["Problem"]

    # when
    response = client.post(
        "/api/v1/coupons", json={"code": "X", "promotion": "Y", "max_uses": 0}, headers=bearer(admin_key)
    )

    # then
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(problem["required"]) <= set(body)
    assert body["status"] == 422
    assert body["code"] == "validation_failed"
    assert body["errors"] == [{"field": "max_uses", "message": "Input should be greater than or equal to 1"}]
