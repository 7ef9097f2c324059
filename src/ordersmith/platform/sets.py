"""`column IN (many values)` as one parameter.

A batch that reads or marks hundreds of rows by id (the relay's events, the journal's "posted already?", the
orders behind a batch of events) written as `IN (:v1, :v2, …)` costs, per statement, a bind placeholder and a
cast rendered per value, a query text the driver cannot cache (it changes with the count) and parses again each
time. On PostgreSQL `column = ANY(:values)` sends one array parameter (in the binary format): one text, one plan,
whatever the count. SQLite has no arrays: a uuid column there is matched against `json_each` of one JSON array of
the ids in their stored form (32 hex digits), which SQLite answers through the column's index as it does an `IN`
list, in half the time for a relay batch's 500 ids; any other column stays an expanding `IN`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


class _HexArray(sa.types.TypeDecorator[list[uuid.UUID]]):
    """Bound as the JSON text of the uuids' 32-hex-digit forms, as SQLAlchemy stores a `Uuid` on SQLite."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Iterable[uuid.UUID] | None, dialect: sa.Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps([v.hex for v in value], separators=(",", ":"))


def among(column: sa.ColumnElement[Any], name: str, *, dialect: str) -> sa.ColumnElement[bool]:
    """`column` is one of the values bound as `name` (a list), written for `dialect`."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))
    if isinstance(column.type, sa.Uuid):
        each = sa.func.json_each(sa.bindparam(name, type_=_HexArray())).table_valued("value")
        return column.in_(sa.select(each.c.value).scalar_subquery())
    return column.in_(sa.bindparam(name, expanding=True))
