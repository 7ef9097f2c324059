"""Waves: released shipments of one location gathered for one walk (batch picking: each order into its tote),
their pick lists in walk order split among pickers, and cancelling a wave (its unpicked shipments wait again).

Invariant: a shipment is in at most one wave — it is taken by one conditional UPDATE (`wave_id IS NULL AND
status = 'pending'`) that reports which rows it took, so two waves built at once never share a shipment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.fulfillment.rules import picking, waves
from ordersmith.fulfillment.tables import (
    WAITING_SQL,
    BinRow,
    ItemBinRow,
    ShipmentEventRow,
    ShipmentLineRow,
    ShipmentRow,
    WaveRow,
)
from ordersmith.kernel.errors import IllegalTransition, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number
from ordersmith.platform.paging import keyset_page

WAVE_SERIES = "wave"
_CANDIDATES_PER_ORDER = 4  # read this many waiting shipments per wanted one (room to skip the too-large)


@dataclass(frozen=True)
class Wave:
    id: uuid.UUID
    number: str
    location: str
    status: str
    filters: dict[str, Any]
    shipments: int
    units: int
    created_by: str
    created_at: datetime
    done_at: datetime | None


@dataclass(frozen=True)
class PickList:
    wave: str
    location: str
    picker: int  # 1 … pickers
    pickers: int
    stops: list[picking.PickStop] = field(default_factory=list)

    @property
    def units(self) -> int:
        return sum(s.quantity for s in self.stops)


def _to_wave(row: WaveRow) -> Wave:
    return Wave(
        row.id,
        row.number,
        row.location,
        row.status,
        dict(row.filters),
        row.shipments,
        row.units,
        row.created_by,
        row.created_at,
        row.done_at,
    )


def _filters_of(filters: waves.WaveFilters) -> dict[str, Any]:
    return {
        "methods": sorted(filters.methods),
        "channels": sorted(filters.channels),
        "ship_by_on": filters.ship_by_on.isoformat() if filters.ship_by_on else None,
        "undated": filters.undated,
        "min_priority": filters.min_priority,
        "single_line": filters.single_line,
        "max_orders": filters.max_orders,
        "max_units": filters.max_units,
    }


@use_case
def build_wave(uow: UnitOfWork, *, location: str, filters: waves.WaveFilters) -> Wave:
    """Gather the most urgent released shipments at `location` that the filters admit (see
    `rules.waves.choose`) into a new wave, each with its tote; they move to picking and `wave.released` is
    emitted. Reads only shipments that wait for a wave (a partial index), a bounded number of them.

    Raises:
        ValidationFailed: limits out of range, or no waiting shipment matches.
    """
    if not 1 <= filters.max_orders <= 1000:
        raise ValidationFailed.on("max_orders", "between 1 and 1000")
    if filters.max_units is not None and filters.max_units < 1:
        raise ValidationFailed.on("max_units", "at least 1")
    s = ShipmentRow
    query = sa.select(
        s.id, s.order_id, s.channel, s.method, s.priority, s.placed_at, s.ship_by_on, s.lines, s.units
    ).where(s.location == location, sa.text(WAITING_SQL))  # the partial index's own predicate
    if filters.methods:
        query = query.where(s.method.in_(sorted(filters.methods)))
    if filters.channels:
        query = query.where(s.channel.in_(sorted(filters.channels)))
    if filters.min_priority is not None:
        query = query.where(s.priority >= filters.min_priority)
    if filters.single_line is not None:
        query = query.where(s.lines == 1 if filters.single_line else s.lines > 1)
    if filters.ship_by_on is not None:
        due = s.ship_by_on <= filters.ship_by_on
        query = query.where(sa.or_(due, s.ship_by_on.is_(None)) if filters.undated else due)
    rows = uow.session.execute(
        query.order_by(s.rank, s.placed_at).limit(filters.max_orders * _CANDIDATES_PER_ORDER)
    ).all()
    order_of = {str(r.id): r.order_id for r in rows}
    chosen = waves.choose(
        [
            waves.Candidate(
                str(r.id), r.channel, r.method, r.priority, r.placed_at, r.ship_by_on, r.lines, r.units
            )
            for r in rows
        ],
        filters,
    )
    if not chosen:
        raise ValidationFailed.on(
            "filters", f"no released shipment at {location} waits for a wave with these filters"
        )
    wave_id = new_id()
    taken = set(
        uow.session.scalars(
            sa.update(s)
            .where(s.id.in_([uuid.UUID(c.id) for c in chosen]), s.wave_id.is_(None), s.status == "pending")
            .values(wave_id=wave_id, status="picking", version=s.version + 1, updated_at=uow.now())
            .returning(s.id)
            .execution_options(synchronize_session=False)
        )
    )
    mine = [c for c in chosen if uuid.UUID(c.id) in taken]
    if not mine:
        raise ValidationFailed.on("filters", "another wave took these shipments just now: build again")
    totes = waves.totes(len(mine))
    table = ShipmentRow.__table__
    uow.execute_core(
        sa.update(table)  # type: ignore[arg-type]
        .where(table.c.order_id == sa.bindparam("b_order"), table.c.id == sa.bindparam("b_id"))
        .values(tote=sa.bindparam("b_tote")),
        [
            {"b_order": order_of[c.id], "b_id": uuid.UUID(c.id), "b_tote": t}
            for c, t in zip(mine, totes, strict=True)
        ],
    )
    number = f"W-{next_number(uow, WAVE_SERIES):06d}"
    now = uow.now()
    row = WaveRow(
        id=wave_id,
        number=number,
        location=location,
        status="released",
        filters=_filters_of(filters),
        shipments=len(mine),
        units=sum(c.units for c in mine),
        created_by=uow.actor.label,
        created_at=now,
        done_at=None,
    )
    uow.session.add(row)
    uow.session.add_all(
        ShipmentEventRow(
            order_id=order_of[c.id],
            id=new_id(),
            shipment_id=uuid.UUID(c.id),
            kind="shipment.picking",
            detail={"wave": number, "tote": t},
            actor=uow.actor.label,
            at=now,
        )
        for c, t in zip(mine, totes, strict=True)
    )
    uow.emit(
        "wave.released",
        {
            "wave_id": str(wave_id),
            "number": number,
            "location": location,
            "shipments": len(mine),
            "units": row.units,
        },
    )
    uow.audit("wave.released", object_type="wave", object_id=str(wave_id), after=_filters_of(filters))
    uow.session.flush()
    return _to_wave(row)


def _wave_row(uow: UnitOfWork, ref: str, *, lock: bool = False) -> WaveRow:
    try:
        query = sa.select(WaveRow).where(WaveRow.id == uuid.UUID(ref))
    except ValueError:
        query = sa.select(WaveRow).where(WaveRow.number == ref.strip().upper())
    row = uow.session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no wave {ref[:40]!r}")
    return row


@use_case(readonly=True)
def get_wave(uow: UnitOfWork, *, ref: str) -> Wave:
    return _to_wave(_wave_row(uow, ref))


@use_case(readonly=True)
def list_waves(
    uow: UnitOfWork,
    *,
    location: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Wave]:
    """Newest first, by location and status."""
    query = sa.select(WaveRow)
    if location:
        query = query.where(WaveRow.location == location)
    if status:
        query = query.where(WaveRow.status == status)
    return keyset_page(
        uow, query, keys=[WaveRow.id], to_item=_to_wave, cursor=cursor, limit=limit, descending=True
    )


@use_case(readonly=True)
def pick_lists(uow: UnitOfWork, *, ref: str, pickers: int = 1) -> list[PickList]:
    """The wave's units still to pick as stops in walk order (one per bin and SKU, each listing the totes its
    units go into), cut into `pickers` consecutive stretches of the walk."""
    if not 1 <= pickers <= 50:
        raise ValidationFailed.on("pickers", "between 1 and 50")
    wave = _wave_row(uow, ref)
    rows = uow.session.execute(
        sa.select(
            ShipmentRow.number,
            ShipmentRow.order_number,
            ShipmentRow.tote,
            ShipmentLineRow.sku,
            ShipmentLineRow.name,
            ShipmentLineRow.quantity,
        )
        .join(
            ShipmentLineRow,
            sa.and_(
                ShipmentLineRow.order_id == ShipmentRow.order_id,
                ShipmentLineRow.shipment_id == ShipmentRow.id,
            ),
        )
        .where(
            ShipmentRow.wave_id == wave.id, ShipmentRow.status == "picking", ShipmentLineRow.status == "open"
        )
    ).all()
    skus = sorted({r.sku.upper() for r in rows})
    bins = {
        b.sku: b
        for b in uow.session.execute(
            sa.select(ItemBinRow.sku, BinRow.code, BinRow.zone, BinRow.walk_sequence)
            .join(BinRow, sa.and_(BinRow.location == ItemBinRow.location, BinRow.code == ItemBinRow.bin))
            .where(ItemBinRow.location == wave.location, ItemBinRow.sku.in_(skus))
        )
    }
    items = []
    for r in rows:
        place = bins.get(r.sku.upper())
        items.append(
            picking.PickItem(
                r.number,
                r.order_number,
                r.tote,
                r.sku,
                r.name,
                r.quantity,
                place.code if place else "",
                place.walk_sequence if place else picking.NO_BIN_SEQUENCE,
                place.zone if place else "",
            )
        )
    stops = picking.pick_path(items)
    stretches = picking.split_walk(stops, pickers) if stops else [[]]
    return [
        PickList(wave.number, wave.location, n, len(stretches), part) for n, part in enumerate(stretches, 1)
    ]


@use_case
def cancel_wave(uow: UnitOfWork, *, ref: str) -> Wave:
    """Stop a wave: its shipments not yet picked wait for another wave (out of their totes); picked ones go on.

    Raises:
        IllegalTransition: the wave is done or cancelled already.
    """
    row = _wave_row(uow, ref, lock=True)
    if row.status not in ("released", "picking"):
        raise IllegalTransition(f"a {row.status} wave cannot be cancelled", state=row.status, action="cancel")
    s = ShipmentRow
    back = uow.session.execute(
        sa.update(s)
        .where(s.wave_id == row.id, s.status == "picking")
        .values(status="pending", wave_id=None, tote="", version=s.version + 1, updated_at=uow.now())
        .returning(s.order_id, s.id)
        .execution_options(synchronize_session=False)
    ).all()
    now = uow.now()
    uow.session.add_all(
        ShipmentEventRow(
            order_id=o,
            id=new_id(),
            shipment_id=i,
            kind="shipment.unwaved",
            detail={"wave": row.number},
            actor=uow.actor.label,
            at=now,
        )
        for o, i in back
    )
    row.status, row.done_at = "cancelled", now
    uow.audit("wave.cancelled", object_type="wave", object_id=str(row.id), after={"returned": len(back)})
    uow.session.flush()
    return _to_wave(row)
