"""Fast CSV exports. On PostgreSQL through `COPY (query) TO STDOUT`: the database writes the CSV itself and the file
receives it in blocks, so no row becomes a Python object. On SQLite the rows come as SQLite stores them (times as
text, flags as 0/1) and only money, times and flags are turned to text, by integer arithmetic and slicing (no
datetime or Decimal per value: SQLite's own printf was slower). Each column is exactly the text the generic Python
writer produces (money as a decimal amount in its currency's places, times as ISO 8601 UTC, flags as true/false),
so a file is the same whichever path wrote it (the tests compare them)."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ordersmith.data.exports.kinds import ExportColumn
from ordersmith.data.exports.writers import amount_text, open_private
from ordersmith.kernel.money import exponents_other_than_two
from ordersmith.platform.db import Database


def _pg_factor(currency: Any) -> Any:
    """What a currency's integer minor units are multiplied by to give its amount: 0.01, 0.001, 1 … as numeric, so
    the product has exactly the currency's places, sign included (-50 times 0.01 is -0.50)."""
    others: list[tuple[Any, Any]] = [
        (currency == code, sa.literal_column("1" if places == 0 else f"0.{'0' * (places - 1)}1"))
        for code, places in sorted(exponents_other_than_two().items())
    ]
    return sa.case(*others, else_=sa.literal_column("0.01")) if others else sa.literal_column("0.01")


def _as_text(column: ExportColumn, value: Any, currency: Any) -> Any:
    if column.kind == "money":  # `currency` is the row's factor (_pg_statement)
        return sa.cast(sa.cast(value, sa.Numeric) * currency, sa.Text)
    if column.kind == "datetime":  # `value` is the time's UTC text (_utc_text)
        # ISO 8601 as datetime.isoformat() writes it: microseconds (all six) only when there are any; PostgreSQL's
        # ISO output drops a fraction's trailing zeros, so a fraction is padded back to six places
        padded = sa.case((sa.func.length(value) == 19, value), else_=sa.func.rpad(value, 26, "0"))
        return sa.func.replace(padded, " ", "T").concat("+00:00")
    if column.kind == "bool":
        return sa.case((value.is_(None), None), (value, "true"), else_="false")
    return value


def _utc_text(value: Any) -> Any:
    """A timestamptz as its UTC wall time in PostgreSQL's ISO output, `YYYY-MM-DD HH:MM:SS[.ffffff]` (the COPY's
    transaction sets DateStyle to ISO): a cast, much cheaper per row than to_char."""
    return sa.cast(sa.func.timezone("UTC", value), sa.Text)


def _sqlite_time(stored: str | None) -> str:
    """SQLite's stored `YYYY-MM-DD HH:MM:SS[.ffffff]` (naive UTC) as `datetime.isoformat()` of the aware value."""
    if stored is None:
        return ""
    fraction = stored[20:26] if stored[19:20] == "." else ""
    if fraction.strip("0") == "":
        return f"{stored[:10]}T{stored[11:19]}+00:00"
    return f"{stored[:10]}T{stored[11:19]}.{fraction}+00:00"


Convert = Callable[[Sequence[Any]], str]


def _money_at(n: int, at: int) -> Convert:
    return lambda row: "" if row[n] is None else amount_text(row[n], row[at])


def _time_at(n: int) -> Convert:
    return lambda row: _sqlite_time(row[n])


def _flag_at(n: int) -> Convert:
    return lambda row: "" if row[n] is None else ("true" if row[n] else "false")


def _sqlite_converters(columns: Sequence[ExportColumn]) -> list[tuple[int, Convert]]:
    names = [c.name for c in columns]
    found: list[tuple[int, Convert]] = []
    for n, column in enumerate(columns):
        if column.kind == "money":
            assert column.currency_column is not None
            found.append((n, _money_at(n, names.index(column.currency_column))))
        elif column.kind == "datetime":
            found.append((n, _time_at(n)))
        elif column.kind == "bool":
            found.append((n, _flag_at(n)))
    return found


def sqlite_csv(
    db: Database,
    path: Path,
    columns: Sequence[ExportColumn],
    query: sa.Select[Any],
    progress: Callable[[int], None],
    batch_rows: int,
) -> int:
    """Write `query`'s rows to `path` (0600) as CSV with a header on SQLite; returns the row count. Times and flags
    are read as SQLite stores them (text, 0/1) and written as text by slicing, with no datetime or Decimal made per
    value; text, whole numbers and dates go to the csv module as they come."""
    inner = query.subquery("export")
    raw = {"datetime": sa.Text, "bool": sa.Integer}
    statement = sa.select(
        *(
            sa.type_coerce(value, raw[column.kind]).label(column.name) if column.kind in raw else value
            for column, value in zip(columns, inner.c, strict=True)
        )
    )
    converters = _sqlite_converters(columns)
    count = 0
    with (
        db.read_engine.connect() as connection,
        os.fdopen(open_private(path), "w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow([c.name for c in columns])
        result = connection.execution_options(stream_results=True, yield_per=batch_rows).execute(statement)
        for partition in result.partitions():
            rows = []
            for row in partition:
                line = list(row)
                for n, convert in converters:
                    line[n] = convert(row)
                rows.append(line)
            writer.writerows(rows)  # None (a NULL) is written as an empty cell, as the Python writer does
            count += len(partition)
            progress(count)
    return count


def _pg_statement(columns: Sequence[ExportColumn], query: sa.Select[Any]) -> sa.Select[Any]:
    """`query` with every column as its CSV text. Each currency column's factor and each time's UTC text are worked
    out once per row in a subquery (OFFSET 0 keeps PostgreSQL from folding them back into every expression that
    uses them)."""
    inner = query.subquery("export")
    selected = [
        _utc_text(value).label(value.name) if column.kind == "datetime" else value
        for column, value in zip(columns, inner.c, strict=True)
    ]
    names = [c.name for c in columns]
    currencies = sorted({c.currency_column for c in columns if c.kind == "money" and c.currency_column})
    factors = [
        _pg_factor(inner.c[names.index(name)]).label(f"factor_{n}") for n, name in enumerate(currencies)
    ]
    scaled = list(sa.select(*selected, *factors).select_from(inner).offset(0).subquery("scaled").c)
    texts = []
    for n, column in enumerate(columns):
        factor = (
            scaled[len(selected) + currencies.index(column.currency_column)]
            if column.currency_column
            else None
        )
        texts.append(_as_text(column, scaled[n], factor).label(column.name))
    return sa.select(*texts)


def copy_csv(
    db: Database,
    path: Path,
    columns: Sequence[ExportColumn],
    query: sa.Select[Any],
    progress: Callable[[int], None],
) -> int:
    """Write `query`'s rows to `path` (0600) as CSV with a header, by COPY; returns the row count."""
    statement = _pg_statement(columns, query)
    compiled = statement.compile(db.engine)
    sql = f"COPY ({compiled.string}) TO STDOUT (FORMAT csv, HEADER true)"
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SET LOCAL datestyle = 'ISO, YMD'"
        )  # the times' text (_utc_text), whatever the server's
        with os.fdopen(open_private(path), "wb") as handle, cursor.copy(sql, compiled.params) as copy:
            lines = -1  # the header
            for block in copy:
                handle.write(block)
                lines += bytes(block).count(b"\n")
                progress(max(lines, 0))  # a close count while it runs (a quoted value may hold a line break)
        count = int(cursor.rowcount)
        connection.commit()
    finally:
        connection.close()
    progress(count)
    return count
