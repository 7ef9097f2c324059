"""Test databases: a migrated SQLite file or a PostgreSQL database cloned from a migrated template."""

from __future__ import annotations

import atexit
import os
import threading
import uuid
from pathlib import Path

import psycopg

from ordersmith.platform import migrate
from tests.support.pg_reset import DEFAULT_URL

_template_lock = threading.Lock()
_template_ready: dict[str, bool] = {}
_sqlite_template: dict[str, bytes] = {}

# One template per test process, so two test runs on one server (a developer's and CI's) never collide.
TEMPLATE = f"ordersmith_test_template_{os.getpid()}"


def postgres_url() -> str:
    return os.environ.get("ORDERSMITH_TEST_POSTGRES_URL", DEFAULT_URL)


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(_dsn(postgres_url()), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {exc}".strip()


def _with_db(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def fresh_postgres() -> str:
    """A new, migrated PostgreSQL database (cloned from a template migrated once per run)."""
    base = postgres_url()
    with _template_lock:
        if not _template_ready.get(base):
            with psycopg.connect(_dsn(base), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
            migrate.upgrade(_with_db(base, TEMPLATE))
            _template_ready[base] = True
            atexit.register(_drop_template, base)
    name = f"ordersmith_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_dsn(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    return _with_db(base, name)


def _drop_template(base: str) -> None:
    try:
        with psycopg.connect(_dsn(base), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
    except psycopg.Error:
        pass  # best effort at exit


def empty_postgres() -> str:
    """A new PostgreSQL database with no tables (the vault's: it keeps a schema of its own)."""
    name = f"ordersmith_v_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_dsn(postgres_url()), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_db(postgres_url(), name)


def drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_dsn(postgres_url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_sqlite(folder: Path) -> str:
    """A new, migrated SQLite database file (copied from one migrated once per run)."""
    path = folder / "ordersmith.db"
    with _template_lock:
        if "bytes" not in _sqlite_template:
            template = folder / "template.db"
            migrate.upgrade(f"sqlite:///{template}")
            _sqlite_template["bytes"] = template.read_bytes()
            template.unlink()
    path.write_bytes(_sqlite_template["bytes"])
    return f"sqlite:///{path}"
