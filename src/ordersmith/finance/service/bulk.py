"""Set-wise writes of the journal's rows: one statement per table for a whole batch of entries.

PostgreSQL gets one `INSERT … SELECT FROM unnest(arrays)`, the arrays in the binary format (one round trip, one
statement the server plans once, however many rows); SQLite, whose driver runs `executemany` in C, gets its plain
rows without SQLAlchemy's per-row parameter processing. Either way each value goes through its column's own bind
processing first, so what is stored is exactly what `sa.insert` would store.

Invariant: these write rows only; a balance upsert gets one row per key (its caller sums first), in key order, so
two batches touching the same balances lock them in the same order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.platform.db import UnitOfWork

_Processor = Callable[[Any], Any] | None
_statements: dict[tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], str] = {}
_processors: dict[tuple[str, str, tuple[str, ...]], list[_Processor]] = {}


def _statement(
    dialect: sa.Dialect,
    table: sa.Table,
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    add: tuple[str, ...],
) -> str:
    key = (dialect.name, table.name, columns, conflict, add)
    found = _statements.get(key)
    if found is not None:
        return found
    # Every name comes from our own Table objects, never from input; the values all go as parameters.
    names = ", ".join(columns)
    if dialect.name == "postgresql":
        # `%b`: the arrays go in PostgreSQL's binary format (no quoting pass over every text element: about half
        # the driver's time for a batch of lines)
        arrays = ", ".join(f"%b::{_array_type(table.c[c].type, dialect)}[]" for c in columns)
        text = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608 (our names)
    else:
        marks = ", ".join("?" for _ in columns)
        text = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608 (our names)
    if conflict:
        sums = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in add)
        text += f" ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {sums}"
    _statements[key] = text
    return text


def _array_type(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> str:
    """The element type of a column's array parameter: strings without their length (a cast to `varchar(20)`
    would cut a longer value silently, where the column refuses it as an INSERT of the row would)."""
    return "varchar" if isinstance(type_, sa.String) else type_.compile(dialect=dialect)


def _column_processors(dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...]) -> list[_Processor]:
    key = (dialect.name, table.name, columns)
    found = _processors.get(key)
    if found is None:
        found = [table.c[c].type.bind_processor(dialect) for c in columns]
        if dialect.name == "sqlite":
            found = [
                _as_sqlite_text(process) if isinstance(table.c[c].type, sa.Date | sa.DateTime) else process
                for c, process in zip(columns, found, strict=True)
            ]
        _processors[key] = found
    return found


def _as_sqlite_text(process: _Processor) -> Callable[[Any], Any]:
    """SQLAlchemy hands SQLite's driver dates and datetimes as objects, which the driver turns into text row by row
    (`isoformat`, with a space before the time): the same text made here, once per distinct value of a batch (the
    batch's one timestamp), instead."""

    def text(value: Any) -> Any:
        value = process(value) if process is not None else value
        if isinstance(value, datetime):
            return value.isoformat(" ")
        return value.isoformat() if isinstance(value, date) else value

    return text


def write_rows(
    uow: UnitOfWork,
    table: sa.Table,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    *,
    conflict: tuple[str, ...] = (),
    add: tuple[str, ...] = (),
) -> None:
    """INSERT `rows` (tuples in `columns` order) into `table` in one statement; with `conflict`, a row whose key
    exists adds its `add` columns to the stored ones instead (an upsert of sums)."""
    if not rows:
        return
    connection = uow.session.connection()
    dialect = connection.dialect
    text = _statement(dialect, table, columns, conflict, add)
    processors = _column_processors(dialect, table, columns)
    needed = [(n, process) for n, process in enumerate(processors) if process is not None]
    if needed:
        rows = _processed(rows, needed)
    if dialect.name == "postgresql":
        connection.exec_driver_sql(text, tuple(list(column) for column in zip(*rows, strict=True)))
        return
    # SQLite: multi-row VALUES, SQLITE_ROWS rows a statement (SQLite runs one statement of many rows faster than the
    # driver's executemany of the one-row statement: about 1.7x for the journal's batches)
    width = len(columns)
    step = max(1, min(SQLITE_ROWS, _variable_limit(connection) // width))
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        shared, varying = _split(chunk, width)
        connection.exec_driver_sql(
            _sqlite_rows(text, width, len(chunk), shared),
            (*(chunk[0][n] for n in shared), *(row[n] for row in chunk for n in varying)),
        )


def _split(chunk: Sequence[tuple[Any, ...]], width: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The columns whose value is the same in every row of `chunk` (bound once for the statement: a batch's
    timestamp, its author, an entry's empty memo) and the others, by position. Values of different types never
    count as the same (1 and 1.0 are stored differently); a value that cannot be hashed is taken as varying."""
    if len(chunk) < 2:
        return (), tuple(range(width))
    shared: list[int] = []
    varying: list[int] = []
    for n, column in enumerate(zip(*chunk, strict=True)):
        try:
            same = len(set(column)) == 1 and len(set(map(type, column))) == 1
        except TypeError:
            same = False
        (shared if same else varying).append(n)
    return tuple(shared), tuple(varying)


SQLITE_ROWS = 200  # rows a statement, at most (fewer where the SQLite build allows fewer variables)
_limit: list[int] = []


def _variable_limit(connection: sa.Connection) -> int:
    """How many `?` one statement may hold in this SQLite build (999 before 3.32, 32,766 or more since)."""
    if not _limit:
        raw = connection.connection.driver_connection
        _limit.append(raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if raw is not None else 999)
    return _limit[0]


_multi: dict[tuple[str, int, tuple[int, ...]], str] = {}


def _sqlite_rows(text: str, width: int, count: int, shared: tuple[int, ...] = ()) -> str:
    """`text` (one row's `INSERT … VALUES (?, …)`, maybe with an `ON CONFLICT` tail) for `count` rows. The columns
    `shared` by every row are numbered parameters bound once (`?1`, `?2`, … in every row's tuple); each row's other
    values follow them in row order."""
    key = (text, count, shared)
    found = _multi.get(key)
    if found is None:
        head, _, tail = text.partition(" VALUES ")
        one = "(" + ", ".join("?" for _ in range(width)) + ")"
        rest = tail.removeprefix(one)
        if shared:
            varying = [n for n in range(width) if n not in shared]
            place = {n: k for k, n in enumerate(shared, start=1)}
            rows = []
            for r in range(count):
                first = len(shared) + r * len(varying) + 1
                place.update({n: first + k for k, n in enumerate(varying)})
                rows.append("(" + ", ".join(f"?{place[n]}" for n in range(width)) + ")")
            found = f"{head} VALUES {', '.join(rows)}{rest}"
        else:
            found = f"{head} VALUES {', '.join(one for _ in range(count))}{rest}"
        if len(_multi) > 4096:  # bounded: a few tables, counts up to SQLITE_ROWS, a few shapes each
            _multi.clear()
        _multi[key] = found
    return found


def _processed(
    rows: Sequence[tuple[Any, ...]], needed: list[tuple[int, Callable[[Any], Any]]]
) -> list[tuple[Any, ...]]:
    """Each row with its columns `needed` through their bind processors, in one pass. A value that is the very
    object the row before had in that column (an entry's id on each of its lines, the batch's one timestamp) is
    processed once; None stays None."""
    last: list[Any] = [None] * len(needed)
    done: list[Any] = [None] * len(needed)
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for k, (n, process) in enumerate(needed):
            value = values[n]
            if value is None:
                continue
            if value is not last[k]:
                last[k], done[k] = value, process(value)
            values[n] = done[k]
        out.append(tuple(values))
    return out
