"""Rows a unit of work inserts at commit, written together: on PostgreSQL every table's rows in ONE statement (a
chain of data-modifying CTEs), on SQLite one multi-row INSERT per table.

A use case that writes an order, its lines, events, reservations, stock movements, tenders, outbox and audit rows
used to pay a statement (a network round trip on PostgreSQL) for each table. Rows nobody reads back inside the
transaction wait in the unit of work (`UnitOfWork.insert_at_commit` / `add_at_commit`) and go in one batch.

Invariant: the database sees the writes in program order. Any statement on the transaction's connection writes
the waiting rows first (the `before_execute` hook installed here), unless it is marked
`.execution_options(independent_of_pending=True)` — a statement that neither reads nor references the tables of
waiting rows (the conditional stock UPDATE, a gift card's balance UPDATE). Opening a savepoint writes them first
too; rolling back to one drops those added inside it (the unit of work's `rewind`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ReleaseSavepointClause, RollbackToSavepointClause

from ordersmith.platform import bulk_insert

# Where a connection keeps its unit of work's writer of waiting rows while any wait.
WRITER = bulk_insert.WAITING_WRITER
INDEPENDENT = "independent_of_pending"

Writer = Callable[[Connection], None]
Group = tuple[sa.Table, Sequence[dict[str, Any]]]


def install(engine: Engine) -> None:
    """Write waiting rows before any statement that may read or reference them (see the module's invariant)."""

    @event.listens_for(engine, "before_execute")
    def _pending_first(conn: Connection, clause: Any, multiparams: Any, params: Any, options: Any) -> None:
        writer: Writer | None = conn.info.get(WRITER)
        if writer is None or options.get(INDEPENDENT):
            return
        if isinstance(clause, (RollbackToSavepointClause, ReleaseSavepointClause)):
            return  # rolled back: the unit of work drops them; released: they still wait for the commit
        writer(conn)


def write(conn: Connection, dialect: str, groups: Sequence[Group]) -> None:
    """INSERT every group's rows (groups in foreign-key order; within a group every row has the same keys): on
    PostgreSQL in one statement when every group is small, else a COPY per table (ADR 0045)."""
    groups = [(table, rows) for table, rows in groups if rows]
    if not groups:
        return
    small = all(len(rows) < bulk_insert.COPY_MIN_ROWS for _, rows in groups)
    if dialect != "postgresql" or len(groups) == 1 or not small:
        # SQLite: the driver's executemany per table; PostgreSQL: a COPY for a bulk import's many rows
        for table, rows in groups:
            bulk_insert.insert_many(conn, table, list(rows))
        return
    shape = tuple((table, tuple(rows[0]), len(rows)) for table, rows in groups)
    statement, names = _chained(shape)
    params: dict[str, Any] = {}
    for (_, keys, _), (_, rows), group_names in zip(shape, groups, names, strict=True):
        for row, row_names in zip(rows, group_names, strict=True):
            params.update(zip(row_names, [row[key] for key in keys], strict=True))
    conn.execute(statement, params)


_Shape = tuple[tuple[sa.Table, tuple[str, ...], int], ...]
_CHAINED: dict[_Shape, tuple[sa.TextClause, list[list[list[str]]]]] = {}
_CHAINED_MAX = 512  # shapes kept (by table, columns and row counts); an order's usually repeat


def _chained(shape: _Shape) -> tuple[sa.TextClause, list[list[list[str]]]]:
    """`WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …` for one shape, built once: each table's rows as one
    multi-row VALUES, parameters typed by their columns. Foreign keys are checked at the end of the statement, so
    a child may sit beside its parent."""
    cached = _CHAINED.get(shape)
    if cached is not None:
        return cached
    parts: list[str] = []
    binds: list[sa.BindParameter[Any]] = []
    names: list[list[list[str]]] = []
    for g, (table, keys, count) in enumerate(shape):
        columns = [table.c[key] for key in keys]
        group_names = [[f"g{g}r{r}c{c}" for c in range(len(columns))] for r in range(count)]
        names.append(group_names)
        binds += [
            sa.bindparam(name, type_=column.type)
            for row_names in group_names
            for name, column in zip(row_names, columns, strict=True)
        ]
        values = ", ".join("(" + ", ".join(f":{n}" for n in row_names) + ")" for row_names in group_names)
        listed = ", ".join(f'"{column.name}"' for column in columns)  # our own names, never input
        parts.append(f'INSERT INTO "{table.name}" ({listed}) VALUES {values}')  # noqa: S608 - values are bound
    *chained, last = parts
    sql = "WITH " + ", ".join(f"w{n} AS ({part})" for n, part in enumerate(chained)) + " " + last
    statement = sa.text(sql).bindparams(*binds)
    if len(_CHAINED) >= _CHAINED_MAX:
        _CHAINED.clear()
    _CHAINED[shape] = (statement, names)
    return statement, names


def values_of(table: sa.Table, row: object) -> dict[str, Any]:
    """An ORM object's column values as set, with the column's scalar default where it was never set."""
    state = row.__dict__
    values: dict[str, Any] = {}
    for column in table.columns:
        key = column.key
        if key in state:
            values[column.name] = state[key]
        elif column.default is not None and column.default.is_scalar:
            values[column.name] = column.default.arg  # type: ignore[attr-defined]
        else:
            assert column.server_default is None, f"{table.name}.{key} is not set"
            assert column.nullable, f"{table.name}.{key} is not set"
            values[column.name] = None
    return values


_ORDER: dict[str, int] = {}


def table_order(metadata: sa.MetaData) -> dict[str, int]:
    """Every table's place in foreign-key order (parents first), computed again only when tables were added."""
    if len(_ORDER) != len(metadata.tables):
        _ORDER.clear()
        _ORDER.update((t.name, n) for n, t in enumerate(metadata.sorted_tables))
    return _ORDER
