"""Engines and column types: SQLite and PostgreSQL with Ordersmith's connection settings, timezone-aware UTC
datetimes on both, the declarative base, and which database errors are worth retrying."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry

from ordersmith.kernel.clock import ensure_utc
from ordersmith.platform import pending_rows
from ordersmith.platform.files import private_sqlite


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive ISO text; we re-attach UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = ensure_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            from datetime import UTC

            return value.replace(tzinfo=UTC)
        return ensure_utc(value)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, uuid.UUID: sa.Uuid, dict[str, Any]: sa.JSON}


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return (
            True  # the server restarted or dropped us: the pool has discarded the connection, try a fresh one
        )
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None)
        if sqlstate in ("40001", "40P01"):
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(orig):
            return True
    return False


def _unique_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(exc.orig)


def make_engine(url: str, *, pool_size: int = 10, busy_timeout_ms: int = 30_000) -> Engine:
    """Create an engine with Ordersmith's connection settings for SQLite or PostgreSQL."""
    if url.startswith("sqlite"):
        private_sqlite(url)  # owner-only (0600, its folder 0700); SQLite gives -wal and -shm the same mode
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            pool_size=pool_size,
            max_overflow=20,
            poolclass=sa.pool.QueuePool,
        )

        @sa_event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa_event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            conn.exec_driver_sql(f"BEGIN {mode}")

        pending_rows.install(engine)
        return engine
    # No pre-ping (a dropped connection is retried by @use_case) and no rollback on return to the pool: every
    # unit of work ends its transaction itself, so both would only cost a round trip per checkout (ADR 0008).
    engine = sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=20,
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_reset_on_return=None,
    )
    pending_rows.install(engine)
    return engine
