"""Walk every operation in the OpenAPI document: each refuses an anonymous call and a call with a key that
lacks its scope (except the public ones), and a refused call changes nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.app import create_app
from ordersmith.platform.access import AUTHENTICATED, PUBLIC, SCOPES
from ordersmith.platform.db import Base, Database
from ordersmith.platform.http import SCOPE_KEY
from ordersmith.platform.settings import Settings
from tests.api.conftest import bearer
from tests.builders import make_api_key, make_channel

CHECKED = 25  # operations walked between two pictures of the database

# Gateway and carrier webhooks carry no key: their signature is what authenticates them
# (tests/api/test_payments_api.py, tests/api/test_fulfillment_api.py, tests/api/test_channels_api.py).
PUBLIC_OPERATIONS = {
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/payment-webhooks/{gateway}"),
    ("POST", "/api/v1/carrier-webhooks/{carrier}"),
    ("POST", "/api/v1/channels/webhooks/{code}"),
}


@pytest.fixture
def quiet_client(settings: Settings) -> Iterator[TestClient]:
    """The app without its background relay and job runner, so every write seen comes from the request."""
    quiet = settings.model_copy(update={"relay_enabled": False, "jobs_enabled": False})
    with TestClient(create_app(quiet)) as test_client:
        yield test_client


def _operations(client: TestClient) -> list[tuple[str, str, dict]]:
    spec = client.get("/api/v1/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _snapshot(db: Database) -> dict[str, int]:
    """Row counts of every table plus a fingerprint of each row, so any write shows."""
    with db.session() as session:
        state: dict[str, int] = {}
        for table in Base.metadata.sorted_tables:
            rows = session.execute(sa.select(table)).all()
            state[table.name] = hash(tuple(sorted(repr(tuple(r)) for r in rows)))
        return state


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]):
    concrete = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
    if method in {"POST", "PUT", "PATCH"}:
        return client.request(method, concrete, json={}, headers=headers)
    return client.request(method, concrete, headers=headers)


def test_every_operation_declares_a_known_scope(client: TestClient):
    for method, path, operation in _operations(client):
        scope = operation.get(SCOPE_KEY)
        assert scope in SCOPES or scope in (PUBLIC, AUTHENTICATED), f"{method} {path} declares no known scope"
        assert (scope == PUBLIC) == ((method, path) in PUBLIC_OPERATIONS), f"{method} {path}"


def test_every_operation_refuses_anonymous_and_under_scoped_calls_and_changes_nothing(
    quiet_client: TestClient, db: Database, admin_db
):
    client = quiet_client
    # given some data a refused call could otherwise touch, and for each scope a key with every scope but it (all
    # made first: a refused call changes nothing, so one picture of the database serves the whole walk)
    make_channel(admin_db, code="web")
    operations = [(m, p, o) for m, p, o in _operations(client) if o[SCOPE_KEY] != PUBLIC]
    lacking = {
        scope: make_api_key(admin_db, scopes=sorted(set(SCOPES) - {scope}), name=f"lacks {scope}").secret
        for scope in sorted({o[SCOPE_KEY] for _, _, o in operations} - {AUTHENTICATED})
    }
    walked = 0

    def refuse(method: str, path: str, scope: str) -> None:
        # when nobody is signed in
        anonymous = _call(client, method, path, {})
        # then
        assert anonymous.status_code == 401, (
            f"{method} {path} answered {anonymous.status_code} to an anonymous call"
        )
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        if scope != AUTHENTICATED:
            # when a key has every scope but the one this operation needs
            refused = _call(client, method, path, bearer(lacking[scope]))
            assert refused.status_code == 403, (
                f"{method} {path} answered {refused.status_code} without {scope}"
            )
            assert refused.json()["code"] == "forbidden"

    # The database's picture (every row of every table) is taken around each run of CHECKED operations rather than
    # around each one (reading every table hundreds of times was most of this test's time); a run that changed
    # anything is walked again one operation at a time, so the failure names the operation that writes.
    for start in range(0, len(operations), CHECKED):
        run = operations[start : start + CHECKED]
        before = _snapshot(db)
        for method, path, operation in run:
            refuse(method, path, operation[SCOPE_KEY])
            walked += 1
        if _snapshot(db) != before:
            for method, path, operation in run:
                again = _snapshot(db)
                refuse(method, path, operation[SCOPE_KEY])
                assert _snapshot(db) == again, f"a refused {method} {path} changed the database"
            raise AssertionError(f"one of {[f'{m} {p}' for m, p, _ in run]} changed the database")
    assert walked >= 20


@pytest.mark.parametrize(
    "header", ["Bearer osk_not-a-real-key", "Bearer something-else", "Basic dXNlcjpwYXNz"]
)
def test_bad_credentials_are_401(client: TestClient, header: str):
    response = client.get("/api/v1/sales-channels", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_openapi_describes_how_to_authenticate_each_operation(client: TestClient):
    spec = client.get("/api/v1/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"apiKey", "session"}
    for method, path, operation in _operations(client):
        if (method, path) in PUBLIC_OPERATIONS:
            assert "security" not in operation
        else:
            assert operation["security"] == [{"apiKey": []}, {"session": []}], f"{method} {path}"
