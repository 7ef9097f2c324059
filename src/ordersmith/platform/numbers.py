"""Human document numbers from per-series counters, allocated inside the caller's transaction.

Invariant: a number is handed out at most once; a rolled-back transaction gives its number back, so series have
no gaps from failures (at the price of one short row lock per number, held until the caller commits).
"""

from __future__ import annotations

import sqlalchemy as sa

from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.tables import NumberSequenceRow

_SEQUENCES = NumberSequenceRow.__table__


# Plain SQL that SQLite and PostgreSQL both speak: SQLAlchemy's dialect-specific upsert constructs carry no cache
# key, so they would be compiled again on every call; this text is compiled once.
_UPSERT = sa.text(
    "INSERT INTO number_sequences (name, last_value) VALUES (:series, 1) "
    "ON CONFLICT (name) DO UPDATE SET last_value = number_sequences.last_value + 1 RETURNING last_value"
)


def next_number(uow: UnitOfWork, series: str) -> int:
    """The next value of `series` (1, 2, …): one atomic upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING), which
    also creates the series on first use."""
    return int(uow.execute_core(_UPSERT, {"series": series}).scalar_one())


_UPSERT_MANY = sa.text(
    "INSERT INTO number_sequences (name, last_value) VALUES (:series, :count) "
    "ON CONFLICT (name) DO UPDATE SET last_value = number_sequences.last_value + :count RETURNING last_value"
)


def next_numbers(uow: UnitOfWork, series: str, count: int) -> range:
    """The next `count` values of `series` in one statement (a bulk import numbering its records)."""
    assert count > 0
    last = int(uow.execute_core(_UPSERT_MANY, {"series": series, "count": count}).scalar_one())
    return range(last - count + 1, last + 1)


_CURRENT = sa.select(_SEQUENCES.c.last_value).where(_SEQUENCES.c.name == sa.bindparam("series"))


def current_number(uow: UnitOfWork, series: str) -> int:
    """The last value handed out in `series` (0 before the first): also a cheap version counter for caches."""
    return int(uow.execute_core(_CURRENT, {"series": series}).scalar() or 0)
