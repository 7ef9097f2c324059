"""Locations: warehouses and stores, dedicated to a division or shared, in shipping-priority order."""

from __future__ import annotations

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import rules
from ordersmith.inventory.service._common import (
    Location,
    _location,
    _location_by_code,
)
from ordersmith.inventory.tables import (
    LocationRow,
)
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import UnitOfWork, use_case


@use_case
def create_location(
    uow: UnitOfWork, *, code: str, name: str, kind: str, division: str | None = None, priority: int = 100
) -> Location:
    """Create a warehouse or store, optionally dedicated to one division; lower priority ships first."""
    if kind not in rules.LOCATION_KINDS:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(rules.LOCATION_KINDS)}")
    if division is not None and division not in {d.code for d in catalog.list_divisions(uow)}:
        raise ValidationFailed.on("division", f"unknown division {division!r}")
    row = LocationRow(id=new_id(), code=code, name=name, kind=kind, division=division, priority=priority,
                      active=True, created_at=uow.now())  # fmt: skip
    uow.insert_unique(LocationRow, row, f"location {code!r} exists")
    uow.audit("location.created", object_type="location", object_id=str(row.id),
              after={"code": code, "kind": kind, "division": division, "priority": priority})  # fmt: skip
    return _location(row)


@use_case(readonly=True)
def list_locations(uow: UnitOfWork) -> list[Location]:
    rows = uow.session.scalars(sa.select(LocationRow).order_by(LocationRow.priority, LocationRow.code))
    return [_location(r) for r in rows]


@use_case(readonly=True)
def get_location(uow: UnitOfWork, *, code: str) -> Location:
    """The location with this code. Raises NotFound."""
    return _location(_location_by_code(uow, code))
