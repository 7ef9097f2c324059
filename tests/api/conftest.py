"""API tests run the real ASGI app (with its lifespan: event hub, relay, jobs) on SQLite and PostgreSQL.

An app's first call of each route costs FastAPI most of its work for that route (its models and dependencies
prepared), so a test process builds one app per database and build-time settings and every test, whatever its module,
gets it back as new: its database put back to freshly migrated, the app's per-database
caches emptied, payments and fulfillment wired again on the test's own files (vault, sandbox processor and
carrier), and a lifespan of its own (a new relay, job runner and event stream)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ordersmith.app import create_app
from ordersmith.channels import service as channels
from ordersmith.finance import service as finance
from ordersmith.fulfillment import service as fulfillment
from ordersmith.payments import service as payments
from ordersmith.platform.access import SCOPES
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings
from tests.builders import DEFAULT_PASSWORD, make_api_key, make_user
from tests.support import databases

# Settings that name a test's own files: they change from test to test and are wired again for each one.
_PER_TEST = frozenset(
    {"vault_database_url", "sandbox_gateway_path", "sandbox_carrier_path", "sandbox_wallet_path"}
)


@pytest.fixture(scope="session")
def module_apps() -> dict[tuple[str, str], tuple[FastAPI, frozenset[str]]]:
    """The apps this test process built, by database URL and build-time settings (a module asking for other
    settings gets an app of its own), each with what create_app put in its caches."""
    return {}


def _app_key(settings: Settings) -> tuple[str, str]:
    return settings.database_url, settings.model_dump_json(exclude=set(_PER_TEST))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest,
    worker_databases: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """A freshly migrated database URL, once for SQLite and once for PostgreSQL: the test process's database (so a
    module's app can serve every test of the module), made at its first test and put back to freshly migrated
    before each later one."""
    if request.param == "postgresql":
        request.getfixturevalue("postgres_ready")
        return databases.worker_postgres(worker_databases)
    url = worker_databases.get("sqlite")
    if url is None:
        url = worker_databases["sqlite"] = databases.fresh_sqlite(tmp_path_factory.mktemp("api-database"))
    else:
        databases.reset_sqlite(url)
    return url


@pytest.fixture
def client(
    db_url: str, settings: Settings, module_apps: dict[tuple[str, str], tuple[FastAPI, frozenset[str]]]
) -> Iterator[TestClient]:
    vault = None
    key = _app_key(settings)
    if key not in module_apps:
        app = create_app(settings)
        module_apps[key] = (app, frozenset(app.state.db.caches))
    else:
        app, wiring = module_apps[key]
        app_db: Database = app.state.db
        app_db.caches.clear()  # reference data cached from the last test's database
        wired = payments.setup_payments(app_db, settings)
        fulfillment.setup_fulfillment(app_db, settings)
        channels.setup_channels(app_db, settings)
        finance.setup_ledgers(app_db, settings)
        assert frozenset(app_db.caches) == wiring, "create_app wires more than this fixture does again"
        app.state.settings = settings
        app.state.vault = vault = wired.vault
    try:
        with TestClient(app, base_url="http://testserver") as test_client:
            yield test_client
    finally:
        if vault is not None:
            vault.dispose()


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
