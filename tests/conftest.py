"""Shared fixtures: the `db_url` / `db` fixtures run each test on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ordersmith.platform import secrets
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from tests.support import databases

IN_CI = os.environ.get("CI", "").lower() == "true"

# Argon2id at its test cost (1 MiB, 1 pass; refused in production) for this process and every server, worker and CLI
# process the tests start: thousands of users are created and signed in. The standard cost is tested on its own
# (tests/unit/test_password_hashing.py).
os.environ.setdefault("ORDERSMITH_ARGON2_COST", "test")
secrets.use_argon2_cost(os.environ["ORDERSMITH_ARGON2_COST"])


@pytest.fixture(scope="session")
def postgres_ready() -> None:
    why = databases.postgres_available()
    if why is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL is unreachable in CI ({databases.postgres_url()}): {why}")
        pytest.skip(f"PostgreSQL unreachable: {why}")


@pytest.fixture(scope="session")
def worker_databases() -> Iterator[dict[str, str]]:
    """The databases this test process's tests take turns on (by kind), each put back to freshly migrated before
    every test but its first, and dropped at the end. One per process rather than per module: cloning a
    PostgreSQL database from the template and dropping it cost about a second per module (195 modules), emptying
    the tables a test wrote a few milliseconds."""
    made: dict[str, str] = {}
    yield made
    if "postgresql" in made:
        databases.drop_postgres(made["postgresql"])


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, worker_databases: dict[str, str]) -> str:
    """A freshly migrated database URL, once for SQLite and once for PostgreSQL. SQLite: a new file copied from a
    migrated one. PostgreSQL: the test process's database, cloned from a migrated template for its first test and
    put back to that state before each later one (cloning and dropping a database costs a second or more of disk
    writes; emptying the tables a test wrote costs a few milliseconds)."""
    if request.param == "sqlite":
        return databases.fresh_sqlite(tmp_path)
    request.getfixturevalue("postgres_ready")
    return databases.worker_postgres(worker_databases)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        vault_database_url=f"sqlite:///{tmp_path}/vault.db",
        sandbox_gateway_path=str(tmp_path / "sandbox_gateway.db"),
        sandbox_carrier_path=str(tmp_path / "sandbox_carrier.db"),
        sandbox_wallet_path=str(tmp_path / "sandbox_wallet.db"),
        env="test",
        webhook_backoff_base_s=0.05,
        webhook_max_attempts=3,
        relay_poll_interval_ms=50,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url, pool_size=5)
    yield database
    database.dispose()


@pytest.fixture
def uow(db: Database) -> UnitOfWork:
    return db.unit_of_work(Actor.system("test", origin="pytest"))
