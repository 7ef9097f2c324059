"""CSV exports on PostgreSQL through `COPY (query) TO STDOUT`: the database writes the CSV itself and the file
receives it in blocks, so no row becomes a Python object. Each column is turned into exactly the text the Python
writer produces (money as a decimal amount in its currency's places, times as ISO 8601 UTC, flags as true/false),
so a file is the same whichever path wrote it (the tests read both back)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ordersmith.data.exports.kinds import ExportColumn
from ordersmith.data.exports.writers import open_private
from ordersmith.kernel.money import exponents_other_than_two
from ordersmith.platform.db import Database


def _exponent(currency: Any) -> Any:
    """The currency's number of decimal places, as SQL (2 unless the kernel knows otherwise)."""
    others = [(currency == code, places) for code, places in sorted(exponents_other_than_two().items())]
    return sa.case(*others, else_=2) if others else sa.literal(2)


def _as_text(column: ExportColumn, value: Any, currency: Any) -> Any:
    if column.kind == "money":
        places = _exponent(currency)
        amount = sa.func.round(
            sa.cast(value, sa.Numeric) / sa.func.power(sa.cast(10, sa.Numeric), places), places
        )
        return sa.cast(amount, sa.Text)
    if column.kind == "datetime":
        at_utc = sa.func.timezone("UTC", value)
        fraction = sa.case(
            (
                sa.extract("microseconds", at_utc) % 1_000_000 != 0,
                sa.literal(".").concat(sa.func.to_char(at_utc, "US")),
            ),
            else_="",
        )
        return sa.func.to_char(at_utc, 'YYYY-MM-DD"T"HH24:MI:SS').concat(fraction).concat("+00:00")
    if column.kind == "bool":
        return sa.case((value.is_(None), None), (value, "true"), else_="false")
    return value


def copy_csv(
    db: Database,
    path: Path,
    columns: Sequence[ExportColumn],
    query: sa.Select[Any],
    progress: Callable[[int], None],
) -> int:
    """Write `query`'s rows to `path` (0600) as CSV with a header, by COPY; returns the row count."""
    inner = query.subquery("export")
    selected = list(inner.c)
    names = [c.name for c in columns]
    texts = []
    for column, value in zip(columns, selected, strict=True):
        currency = selected[names.index(column.currency_column)] if column.currency_column else None
        texts.append(_as_text(column, value, currency).label(column.name))
    statement = sa.select(*texts).select_from(inner)
    compiled = statement.compile(db.engine)
    sql = f"COPY ({compiled.string}) TO STDOUT (FORMAT csv, HEADER true)"
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
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
