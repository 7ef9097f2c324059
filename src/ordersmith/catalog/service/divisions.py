"""Divisions (web, store, catalog, …): the few codes every availability is counted by, cached briefly."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ordersmith.catalog.service._common import (
    Division,
)
from ordersmith.catalog.tables import (
    DivisionRow,
)
from ordersmith.platform.db import UnitOfWork, use_case

_ACTIVE_DIVISION_CODES = (
    sa.select(DivisionRow.__table__.c.code)
    .where(DivisionRow.__table__.c.active.is_(True))
    .order_by(DivisionRow.__table__.c.code)
)


DIVISION_CACHE_TTL = timedelta(seconds=30)


@use_case(readonly=True)
def division_codes(uow: UnitOfWork) -> list[str]:
    """The active divisions' codes (hot paths: per-division availability in every `stock.changed`). Divisions
    change rarely: a short-lived cache per database; this process's own changes clear it at once, another
    process's take effect within DIVISION_CACHE_TTL."""
    cached: tuple[datetime, list[str]] | None = uow.db.caches.get("catalog.divisions")
    now = uow.now()
    if cached is not None and timedelta(0) <= now - cached[0] < DIVISION_CACHE_TTL:
        return list(cached[1])
    codes = list(uow.execute_core(_ACTIVE_DIVISION_CODES).scalars())
    uow.db.caches["catalog.divisions"] = (now, codes)
    return list(codes)


@use_case(readonly=True)
def list_divisions(uow: UnitOfWork) -> list[Division]:
    rows = uow.session.scalars(sa.select(DivisionRow).order_by(DivisionRow.code))
    return [Division(code=r.code, name=r.name, active=r.active) for r in rows]


@use_case
def create_division(uow: UnitOfWork, *, code: str, name: str) -> Division:
    """Add a division (e.g. `wholesale`) that items, locations and channels can belong to.

    Raises:
        AlreadyExists: the code is taken.
    """
    uow.insert_unique(
        DivisionRow, DivisionRow(code=code, name=name.strip(), active=True), f"division {code!r} exists"
    )
    uow.db.caches.pop("catalog.divisions", None)
    uow.audit("division.created", object_type="division", object_id=code, after={"name": name})
    return Division(code=code, name=name.strip(), active=True)
