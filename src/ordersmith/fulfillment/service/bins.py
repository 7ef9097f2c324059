"""Bins (zone, aisle, bay, level, walk sequence) per location, the primary bin each item is picked from, and the
cycle-count tasks short picks open."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.fulfillment.tables import BinRow, CountTaskRow, ItemBinRow
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import Conflict, NotFound, ValidationFailed
from ordersmith.kernel.pagination import Page
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page


@dataclass(frozen=True)
class Bin:
    location: str
    code: str
    zone: str
    aisle: str
    bay: str
    level: str
    walk_sequence: int
    active: bool


@dataclass(frozen=True)
class CountTask:
    id: uuid.UUID
    location: str
    bin: str
    sku: str
    reason: str
    reference: str
    status: str
    created_by: str
    created_at: datetime
    done_at: datetime | None


def _to_bin(row: BinRow) -> Bin:
    return Bin(row.location, row.code, row.zone, row.aisle, row.bay, row.level, row.walk_sequence, row.active)


def _to_task(row: CountTaskRow) -> CountTask:
    return CountTask(
        row.id,
        row.location,
        row.bin,
        row.sku,
        row.reason,
        row.reference,
        row.status,
        row.created_by,
        row.created_at,
        row.done_at,
    )


@use_case
def put_bin(
    uow: UnitOfWork,
    *,
    location: str,
    code: str,
    walk_sequence: int,
    zone: str = "",
    aisle: str = "",
    bay: str = "",
    level: str = "",
    active: bool = True,
) -> Bin:
    """Create or change a bin at a location (codes are upper-cased).

    Raises:
        NotFound: no such location.
        ValidationFailed: an empty code or a negative walk sequence.
    """
    inventory.get_location(uow, code=location)
    code = code.strip().upper()
    if not code:
        raise ValidationFailed.on("code", "name the bin")
    if walk_sequence < 0:
        raise ValidationFailed.on("walk_sequence", "0 or more")
    row = uow.session.get(BinRow, (location, code))
    if row is None:
        row = BinRow(location=location, code=code, walk_sequence=walk_sequence)
        uow.session.add(row)
    row.zone, row.aisle, row.bay, row.level = zone.strip(), aisle.strip(), bay.strip(), level.strip()
    row.walk_sequence, row.active = walk_sequence, active
    uow.audit("bin.saved", object_type="bin", object_id=f"{location}/{code}", after={"walk": walk_sequence})
    uow.session.flush()
    return _to_bin(row)


@use_case(readonly=True)
def list_bins(uow: UnitOfWork, *, location: str, cursor: str | None = None, limit: int = 200) -> Page[Bin]:
    """A location's bins in walk order."""
    query = sa.select(BinRow).where(BinRow.location == location)
    return keyset_page(
        uow, query, keys=[BinRow.walk_sequence, BinRow.code], to_item=_to_bin, cursor=cursor, limit=limit
    )


@use_case
def assign_bin(uow: UnitOfWork, *, location: str, sku: str, bin_code: str) -> None:
    """Make `bin_code` the item's primary (pick) bin at the location.

    Raises:
        NotFound: no such item or bin.
        Conflict: the bin is inactive.
    """
    item = catalog.get_item_ref(uow, sku=sku)
    place = uow.session.get(BinRow, (location, bin_code.strip().upper()))
    if place is None:
        raise NotFound(f"no bin {bin_code[:40]!r} at {location}")
    if not place.active:
        raise Conflict(f"bin {place.code} is inactive")
    row = uow.session.get(ItemBinRow, (location, item.sku.upper()))
    if row is None:
        uow.session.add(ItemBinRow(location=location, sku=item.sku.upper(), bin=place.code))
    else:
        row.bin = place.code
    uow.audit(
        "bin.assigned", object_type="bin", object_id=f"{location}/{place.code}", after={"sku": item.sku}
    )
    uow.session.flush()


@use_case(readonly=True)
def list_count_tasks(
    uow: UnitOfWork,
    *,
    location: str | None = None,
    status: str | None = "open",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[CountTask]:
    query = sa.select(CountTaskRow)
    if location:
        query = query.where(CountTaskRow.location == location)
    if status:
        query = query.where(CountTaskRow.status == status)
    return keyset_page(
        uow, query, keys=[CountTaskRow.id], to_item=_to_task, cursor=cursor, limit=limit, descending=True
    )


@use_case
def complete_count_task(uow: UnitOfWork, *, task_id: uuid.UUID, counted: int) -> CountTask:
    """Record the bin's count for a short pick's task: inventory's count sets on hand (movement `count`) and the
    task is done.

    Raises:
        NotFound: no such task.
        Conflict: it is done already.
    """
    row = uow.session.scalar(sa.select(CountTaskRow).where(CountTaskRow.id == task_id).with_for_update())
    if row is None:
        raise NotFound("no such count task")
    if row.status != "open":
        raise Conflict("this count was recorded already")
    inventory.record_count(uow, location=row.location, counts={row.sku: counted}, reference=row.reference)
    row.status, row.done_at = "done", uow.now()
    uow.audit("count_task.done", object_type="count_task", object_id=str(row.id), after={"counted": counted})
    uow.session.flush()
    return _to_task(row)
