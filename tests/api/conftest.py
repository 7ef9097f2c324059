"""API tests run the real ASGI app (with its lifespan: event hub, relay, jobs) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ordersmith.app import create_app
from ordersmith.platform.access import SCOPES
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings
from tests.builders import DEFAULT_PASSWORD, make_api_key, make_user


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def admin_db(db: Database):
    return db.unit_of_work(Actor.system("fixture"))


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin_key(admin_db) -> str:
    return make_api_key(admin_db, scopes=sorted(SCOPES), name="admin").secret


def login(client: TestClient, admin_db, role: str = "admin") -> str:
    """Sign a user of ROLE in with the session cookie; returns the CSRF token."""
    user = make_user(admin_db, role=role, email=f"{role}@example.com")
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])
