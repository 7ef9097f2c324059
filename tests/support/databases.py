"""Test databases: a migrated SQLite file or a PostgreSQL database cloned from a migrated template."""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
import threading
import uuid
from pathlib import Path

import psycopg

from ordersmith.platform import migrate
from tests.support.pg_reset import DEFAULT_URL

_template_lock = threading.Lock()
_template_ready: dict[str, bool] = {}
_sqlite_template: dict[str, bytes] = {}
_sqlite_template_file: dict[str, Path] = {}

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


_template_rows: dict[
    str, tuple[list[str], list[tuple[str, list[str], list[tuple[object, ...]]]], list[str]]
] = {}


def _template_contents(
    base: str,
) -> tuple[list[str], list[tuple[str, list[str], list[tuple[object, ...]]]], list[str]]:
    """The template's tables, the rows its migrations wrote (table, columns, rows) and its sequences."""
    with _template_lock:
        if base not in _template_rows:
            with psycopg.connect(_dsn(_with_db(base, TEMPLATE))) as conn:
                tables = [row[0] for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]  # fmt: skip
                seeded = []
                for table in tables:
                    cursor = conn.execute(f'SELECT * FROM "{table}"')
                    rows = cursor.fetchall()
                    if rows:
                        seeded.append((table, [c.name for c in cursor.description or []], rows))
                sequences = [row[0] for row in conn.execute(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")]  # fmt: skip
            _template_rows[base] = (tables, seeded, sequences)
        return _template_rows[base]


def reset_postgres(url: str) -> None:
    """Put the database `url` (cloned from the template) back to freshly migrated, in place: every other
    connection to it ended, every row deleted, the rows the migrations wrote put back and the sequences restarted.
    Far cheaper than dropping and cloning it again (two checkpoints' worth of disk writes each time)."""
    tables, seeded, sequences = _template_contents(postgres_url())
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")  # fmt: skip
        now = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]  # fmt: skip
    if now != tables:  # a test changed the schema itself (a downgrade left half-way, a table of its own)
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(_dsn(postgres_url()), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        return
    with psycopg.connect(_dsn(url), autocommit=True) as conn, conn.transaction():
        # As a replica applying changes would: no triggers (the audit log's append-only guard, foreign keys).
        conn.execute("SET LOCAL session_replication_role = replica")
        for table in tables:
            conn.execute(f'DELETE FROM "{table}"')
        for table, columns, rows in seeded:
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join(["%s"] * len(columns))
            with conn.cursor() as cursor:
                cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
        for sequence in sequences:
            conn.execute(f'ALTER SEQUENCE "{sequence}" RESTART')


def reset_sqlite(url: str) -> None:
    """Put the SQLite file `url` back to freshly migrated, in place, through SQLite's backup API: it writes under
    SQLite's own locks and write-ahead log, so a connection left open anywhere sees the new content (copying the
    file over it could let that connection write stale pages back)."""
    if "bytes" not in _sqlite_template:
        raise RuntimeError("reset_sqlite needs the template fresh_sqlite makes first")
    with _template_lock:
        if "file" not in _sqlite_template_file:
            folder = Path(tempfile.mkdtemp(prefix="ordersmith-template-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            (folder / "template.db").write_bytes(_sqlite_template["bytes"])
            _sqlite_template_file["file"] = folder / "template.db"
    template = sqlite3.connect(_sqlite_template_file["file"])
    destination = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
    try:
        template.backup(destination)
    finally:
        destination.close()
        template.close()


def module_postgres(made: dict[str, str]) -> str:
    """The PostgreSQL database in `made` (a test module's), freshly migrated: cloned for the module's first test,
    put back by `reset_postgres` for each later one."""
    url = made.get("postgresql")
    if url is None:
        url = made["postgresql"] = fresh_postgres()
    else:
        reset_postgres(url)
    return url
