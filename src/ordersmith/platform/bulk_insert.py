"""Many rows into one table in one driver-level statement: an executemany on SQLite, a COPY on PostgreSQL (from
COPY_MIN_ROWS rows; fewer go as a Core INSERT). Each value goes through its column's own bind conversion, so the
database receives what a Core INSERT would send, without SQLAlchemy's per-row parameter handling (ADR 0045)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.schema import ScalarElementColumnDefault

# Where a connection keeps the writer of rows a unit of work holds for its commit (platform.pending_rows).
WAITING_WRITER = "ordersmith.pending_rows"

_Converter = Callable[[Any], Any] | None
# Fewer rows than this go to PostgreSQL as a (cached, prepared) Core INSERT: a request's one or two outbox and audit
# rows gain nothing from a COPY's extra protocol steps.
COPY_MIN_ROWS = 50


@dataclass(frozen=True)
class _BulkInsert:
    """How `insert_many` writes one table's rows with a given set of keys on one dialect."""

    keys: tuple[tuple[str, _Converter], ...]  # the rows' keys, each with its column's own bind conversion
    constants: tuple[Any, ...]  # absent columns with a scalar Python default: that value, converted
    sql: str  # the driver-level statement: INSERT (SQLite) or COPY (PostgreSQL)


_bulk_inserts: dict[tuple[str, tuple[str, ...], str], _BulkInsert | None] = {}


def _bulk_insert(table: sa.Table, keys: tuple[str, ...], dialect: Dialect) -> _BulkInsert | None:
    """The plan for `insert_many`, or None when a column the rows leave out has a default only SQLAlchemy can
    compute (a callable or SQL expression): those rows go through a Core INSERT."""
    cache_key = (table.fullname, keys, dialect.name)
    if cache_key in _bulk_inserts:
        return _bulk_inserts[cache_key]
    absent = []
    for column in table.columns:
        if column.key in keys or column.default is None:
            continue
        if not isinstance(column.default, ScalarElementColumnDefault):
            _bulk_inserts[cache_key] = None
            return None
        absent.append((column, column.default.arg))
    columns = [table.columns[key] for key in keys] + [column for column, _ in absent]
    convert = [c.type._cached_bind_processor(dialect) for c in columns]
    quote = dialect.identifier_preparer.quote
    listed = ", ".join(quote(c.name) for c in columns)
    target = dialect.identifier_preparer.format_table(table)
    if dialect.name == "postgresql":
        sql = f"COPY {target} ({listed}) FROM STDIN"
    else:
        marks = ", ".join("?" if dialect.paramstyle == "qmark" else "%s" for _ in columns)
        sql = f"INSERT INTO {target} ({listed}) VALUES ({marks})"  # noqa: S608 -- names from the table, quoted
    constants = tuple(
        value if c is None else c(value) for (_, value), c in zip(absent, convert[len(keys) :], strict=True)
    )
    plan = _BulkInsert(keys=tuple(zip(keys, convert, strict=False)), constants=constants, sql=sql)
    _bulk_inserts[cache_key] = plan
    return plan


def _repeating(convert: _Converter) -> _Converter:
    """`convert`, answering a value it was just given (the same object: one transaction's `now` on every row)
    without converting it again."""
    if convert is None:
        return None
    last: list[Any] = [object(), None]

    def converted(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, convert(value)
        return last[1]

    return converted


def insert_many(connection: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """INSERT `rows` (all with the same keys) into `table` on `connection`; a unique violation raises IntegrityError
    as usual. Rows a unit of work keeps for its commit are written first (a COPY bypasses the engine's hooks)."""
    if not rows:
        return
    dialect = connection.dialect
    plan = _bulk_insert(table, tuple(rows[0]), dialect)
    if plan is None or (dialect.name == "postgresql" and len(rows) < COPY_MIN_ROWS):
        connection.execute(sa.insert(table), rows)
        return
    keys = [(key, _repeating(convert)) for key, convert in plan.keys]
    extra = plan.constants
    params = [
        (*(row[key] if convert is None else convert(row[key]) for key, convert in keys), *extra)
        for row in rows
    ]
    if dialect.name == "postgresql":
        waiting = connection.info.get(WAITING_WRITER)
        if waiting is not None:
            waiting(connection)
        driver = connection.connection.driver_connection
        assert driver is not None
        import psycopg  # the PostgreSQL driver (imported here: SQLite never needs it)

        try:
            with driver.cursor() as cursor, cursor.copy(plan.sql) as copy:
                for values in params:
                    copy.write_row(values)
        except psycopg.Error as exc:  # as SQLAlchemy would raise it: IntegrityError, OperationalError, …
            raise DBAPIError.instance(plan.sql, None, exc, psycopg.Error, dialect=dialect) from exc
        return
    connection.exec_driver_sql(plan.sql, params)
