"""Human document numbers from per-series counters, allocated inside the caller's transaction.

Invariant: a number is handed out at most once; a rolled-back transaction gives its number back, so series have
no gaps from failures (at the price of one short row lock per number, held until the caller commits).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.tables import NumberSequenceRow

_SEQUENCES = NumberSequenceRow.__table__


def _upsert(dialect: str) -> sa.Executable:
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(_SEQUENCES).values(name=sa.bindparam("series"), last_value=1)  # type: ignore[arg-type]
    return statement.on_conflict_do_update(
        index_elements=["name"], set_={"last_value": _SEQUENCES.c.last_value + 1}
    ).returning(_SEQUENCES.c.last_value)


_UPSERTS = {dialect: _upsert(dialect) for dialect in ("postgresql", "sqlite")}  # built once


def next_number(uow: UnitOfWork, series: str) -> int:
    """The next value of `series` (1, 2, …): one atomic upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING), which
    also creates the series on first use."""
    return int(uow.execute_core(_UPSERTS[uow.dialect], {"series": series}).scalar_one())


_CURRENT = sa.select(_SEQUENCES.c.last_value).where(_SEQUENCES.c.name == sa.bindparam("series"))


def current_number(uow: UnitOfWork, series: str) -> int:
    """The last value handed out in `series` (0 before the first): also a cheap version counter for caches."""
    return int(uow.execute_core(_CURRENT, {"series": series}).scalar() or 0)
