"""Test databases: a migrated SQLite file or a PostgreSQL database cloned from a migrated template."""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
import threading
import uuid
from dataclasses import dataclass
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
    _close_resetting_connection(url)
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


# The shape of a schema, cheap to read: its tables, and how many columns, indexes, constraints, triggers and
# functions it has. A test that changed any of these gets a new clone instead of an emptied database.
_SHAPE = """
SELECT (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'),
       (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped),
       (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'),
       (SELECT count(*) FROM pg_constraint WHERE connamespace = 'public'::regnamespace),
       (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = 'public'::regnamespace),
       (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)
"""


@dataclass(frozen=True)
class _Template:
    shape: tuple[object, ...]
    tables: list[str]
    rows: dict[str, bytes]  # the rows the migrations wrote, table by table (COPY's own format)
    sequences: dict[str, tuple[int | None, bool]]  # last value and whether it was handed out


_templates: dict[str, _Template] = {}


def _template(base: str) -> _Template:
    with _template_lock:
        if base not in _templates:
            with psycopg.connect(_dsn(_with_db(base, TEMPLATE))) as conn:
                shape = tuple(conn.execute(_SHAPE).fetchone() or ())
                tables = [row[0] for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]  # fmt: skip
                rows: dict[str, bytes] = {}
                with conn.cursor() as cursor:
                    for table in tables:
                        with cursor.copy(f'COPY "{table}" TO STDOUT') as copy:
                            data = b"".join(bytes(block) for block in copy)
                        if data:
                            rows[table] = data
                sequences = {name: (last, last is not None) for name, last in conn.execute(
                    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")}  # fmt: skip
            _templates[base] = _Template(shape, tables, rows, sequences)
        return _templates[base]


# The connection each test database is reset through, kept from one reset to the next: a new backend reads the
# catalog entries of all its tables again before it can empty them, which was most of a reset's cost.
_resetting: dict[str, psycopg.Connection[tuple[object, ...]]] = {}


def _resetting_connection(url: str) -> psycopg.Connection[tuple[object, ...]]:
    conn = _resetting.get(url)
    if conn is None or conn.closed or conn.broken:
        conn = _resetting[url] = psycopg.connect(_dsn(url), autocommit=True)
    return conn


def _close_resetting_connection(url: str) -> None:
    conn = _resetting.pop(url, None)
    if conn is not None:
        conn.close()


def reset_postgres(url: str) -> None:
    """Put the database `url` (cloned from the template) back to freshly migrated, in place: every other
    connection to it ended, every row deleted, the rows the migrations wrote copied back, the sequences set back.
    Far cheaper than dropping and cloning it again (a second or more of disk writes each time); a database whose
    schema a test changed is cloned again."""
    template = _template(postgres_url())
    ended = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE datname = current_database() AND pid <> pg_backend_pid()")  # fmt: skip
    conn = _resetting_connection(url)
    try:
        conn.execute(ended)
    except (
        psycopg.OperationalError
    ):  # the kept connection was ended (a test restarted the server or dropped it)
        _close_resetting_connection(url)
        conn = _resetting_connection(url)
        conn.execute(ended)
    try:
        same_shape = tuple(conn.execute(_SHAPE).fetchone() or ()) == template.shape
        if same_shape:
            with conn.transaction(), conn.cursor() as cursor:
                # As a replica applying changes would: no triggers (the audit log's append-only guard, foreign keys).
                cursor.execute("SET LOCAL session_replication_role = replica")
                # Every table in one round trip (a simple-protocol batch): a DELETE each, one by one, cost a
                # round trip per table, most of the reset.
                cursor.execute("; ".join(f'DELETE FROM "{table}"' for table in template.tables))
                for table, data in template.rows.items():
                    with cursor.copy(f'COPY "{table}" FROM STDIN') as copy:
                        copy.write(data)
                for sequence, (last, called) in template.sequences.items():
                    if called:
                        cursor.execute("SELECT setval(%s, %s, true)", (f'"{sequence}"', last))
                    else:
                        cursor.execute(f'ALTER SEQUENCE "{sequence}" RESTART')
    except BaseException:
        _close_resetting_connection(url)
        raise
    if not same_shape:  # a test changed the schema itself (a downgrade left half-way, a table of its own)
        _close_resetting_connection(url)
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(_dsn(postgres_url()), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')


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


def worker_postgres(made: dict[str, str]) -> str:
    """The PostgreSQL database in `made` (a test process's), freshly migrated: cloned for its first test, put back
    by `reset_postgres` for each later one."""
    url = made.get("postgresql")
    if url is None:
        url = made["postgresql"] = fresh_postgres()
    else:
        reset_postgres(url)
    return url
