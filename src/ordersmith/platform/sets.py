"""`column IN (many values)` as one parameter on PostgreSQL.

A batch that reads or marks hundreds of rows by id (the relay's events, the journal's "posted already?", the
orders behind a batch of events) written as `IN (:v1, :v2, …)` costs, per statement, a bind placeholder and a
cast rendered per value, a query text the driver cannot cache (it changes with the count) and parses again each
time. On PostgreSQL `column = ANY(:values)` sends one array parameter (in the binary format): one text, one plan,
whatever the count. SQLite has no arrays: there it stays an expanding `IN`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def among(column: sa.ColumnElement[Any], name: str, *, dialect: str) -> sa.ColumnElement[bool]:
    """`column` is one of the values bound as `name` (a list), written for `dialect`."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.bindparam(name, expanding=True))
