"""Reading shipments: lists for the warehouse's worklists and the API, one shipment with its timeline, and the
warehouse's productivity from the records (picks, units and orders per hour, order-to-ship time, fill rate,
short-pick rate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ordersmith.fulfillment.service._common import Shipment, shipment_row, to_shipment
from ordersmith.fulfillment.tables import OPEN_WORK_SQL, CountTaskRow, ShipmentRow, WaveRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.pagination import Page
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page


@dataclass(frozen=True)
class ShipmentSummary:
    id: str
    number: str
    order_number: str
    channel: str
    location: str
    status: str
    method: str
    units: int
    lines: int
    tote: str
    tracking_number: str
    ship_by_on: str | None
    placed_at: datetime
    updated_at: datetime


def _summary(row: ShipmentRow) -> ShipmentSummary:
    return ShipmentSummary(
        str(row.id),
        row.number,
        row.order_number,
        row.channel,
        row.location,
        row.status,
        row.method,
        row.units,
        row.lines,
        row.tote,
        row.tracking_number,
        row.ship_by_on.isoformat() if row.ship_by_on else None,
        row.placed_at,
        row.updated_at,
    )


@use_case(readonly=True)
def list_shipments(
    uow: UnitOfWork,
    *,
    location: str | None = None,
    status: str | None = None,
    order: str | None = None,
    wave: str | None = None,
    channel: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[ShipmentSummary]:
    """Newest first, filtered by location, status, order number, wave id and channel (a channel-bound caller
    always sees only its own)."""
    query = sa.select(ShipmentRow)
    if location:
        query = query.where(ShipmentRow.location == location)
    if status:
        query = query.where(ShipmentRow.status == status)
    if order:
        query = query.where(ShipmentRow.order_number == order.strip())
    if wave:
        from ordersmith.fulfillment.service.waves import get_wave

        query = query.where(ShipmentRow.wave_id == get_wave(uow, ref=wave).id)
    if channel:
        query = query.where(ShipmentRow.channel == channel)
    return keyset_page(
        uow, query, keys=[ShipmentRow.id], to_item=_summary, cursor=cursor, limit=limit, descending=True
    )


@use_case(readonly=True)
def get_shipment(uow: UnitOfWork, *, ref: str, channel: str | None = None) -> Shipment:
    """The shipment by id or number, with lines, packages and timeline (another channel's: not found)."""
    return to_shipment(uow, shipment_row(uow, ref, channel=channel), timeline=True)


@use_case(readonly=True)
def order_shipments(uow: UnitOfWork, *, order_id: str) -> list[Shipment]:
    """An order's shipments, oldest first (for the order page)."""
    import uuid

    rows = uow.session.scalars(
        sa.select(ShipmentRow).where(ShipmentRow.order_id == uuid.UUID(order_id)).order_by(ShipmentRow.id)
    )
    return [to_shipment(uow, row) for row in rows]


@dataclass(frozen=True)
class LocationWork:
    """What waits at one location, by step (the warehouse's home screen)."""

    location: str
    waiting: int  # released, waiting for a wave
    held: int  # pending while its order is held
    picking: int
    picked: int  # to pack
    packed: int  # to ship
    exceptions: int
    open_waves: int
    open_counts: int


@use_case(readonly=True)
def warehouse_work(uow: UnitOfWork) -> list[LocationWork]:
    """Per location with any work: shipments at each step not yet left (and carrier exceptions), open waves and
    open count tasks. Counts with GROUP BY over the open statuses only (shipped ones never count)."""
    s = ShipmentRow
    by: dict[str, dict[str, int]] = {}
    for location, status, releasable, waved, count in uow.session.execute(
        sa.select(s.location, s.status, s.releasable, s.wave_id.is_not(None), sa.func.count())
        .where(sa.text(OPEN_WORK_SQL))  # the partial index's own predicate
        .group_by(s.location, s.status, s.releasable, s.wave_id.is_not(None))
    ):
        step = status
        if status == "pending":
            step = "held" if not releasable else ("picking" if waved else "waiting")
        cell = by.setdefault(location, {})
        cell[step] = cell.get(step, 0) + int(count)
    for location, count in uow.session.execute(
        sa.select(WaveRow.location, sa.func.count())
        .where(WaveRow.status.in_(("released", "picking")))
        .group_by(WaveRow.location)
    ):
        by.setdefault(location, {})["waves"] = int(count)
    for location, count in uow.session.execute(
        sa.select(CountTaskRow.location, sa.func.count())
        .where(CountTaskRow.status == "open")
        .group_by(CountTaskRow.location)
    ):
        by.setdefault(location, {})["counts"] = int(count)
    return [
        LocationWork(
            location,
            cell.get("waiting", 0),
            cell.get("held", 0),
            cell.get("picking", 0),
            cell.get("picked", 0),
            cell.get("packed", 0),
            cell.get("exception", 0),
            cell.get("waves", 0),
            cell.get("counts", 0),
        )
        for location, cell in sorted(by.items())
    ]


@dataclass(frozen=True)
class WorkerRate:
    user: str
    shipments: int
    lines: int
    units: int
    hours: float
    units_per_hour: float
    orders_per_hour: float


@dataclass(frozen=True)
class Productivity:
    location: str
    start: datetime
    end: datetime
    pickers: list[WorkerRate]
    packers: list[WorkerRate]
    shipped: int
    shipped_units: int
    average_order_to_ship_hours: float | None
    short_picks: int
    short_pick_rate: float  # short picks per shipment picked
    fill_rate: float  # units shipped ÷ (units shipped + units the pickers did not find)


_MIN_HOURS = 0.25  # a burst of work is counted as at least a quarter hour


def _rates(rows: list[sa.Row[tuple[str, int, int, int, datetime, datetime]]]) -> list[WorkerRate]:
    rates = []
    for user, shipments, lines, units, first, last in rows:
        hours = max((last - first).total_seconds() / 3600, _MIN_HOURS)
        rates.append(
            WorkerRate(
                user,
                shipments,
                int(lines or 0),
                int(units or 0),
                round(hours, 2),
                round(int(units or 0) / hours, 1),
                round(shipments / hours, 1),
            )
        )
    return sorted(rates, key=lambda r: (-r.units_per_hour, r.user))


@use_case(readonly=True)
def warehouse_productivity(uow: UnitOfWork, *, location: str, start: datetime, end: datetime) -> Productivity:
    """Work done at `location` between `start` and `end` (at most 93 days), per picker and packer."""
    if end <= start or end - start > timedelta(days=93):
        raise ValidationFailed.on("end", "after start, and at most 93 days after it")
    s = ShipmentRow

    def per(who: sa.ColumnElement[str], at: sa.ColumnElement[datetime]) -> list[sa.Row]:  # type: ignore[type-arg]
        return list(
            uow.session.execute(
                sa.select(
                    who,
                    sa.func.count(),
                    sa.func.sum(s.lines),
                    sa.func.sum(s.units),
                    sa.func.min(at),
                    sa.func.max(at),
                )
                .where(s.location == location, at >= start, at < end, who != "")
                .group_by(who)
            ).all()
        )

    pickers = _rates(per(s.picked_by, s.picked_at))  # type: ignore[arg-type]
    packers = _rates(per(s.packed_by, s.packed_at))  # type: ignore[arg-type]
    shipped = uow.session.execute(
        sa.select(sa.func.count(), sa.func.sum(s.units)).where(
            s.location == location,
            s.shipped_at >= start,
            s.shipped_at < end,
            s.status.in_(("shipped", "delivered", "exception")),
        )
    ).one()
    waits = [
        (shipped_at - placed_at).total_seconds() / 3600
        for placed_at, shipped_at in uow.session.execute(
            sa.select(s.placed_at, s.shipped_at).where(
                s.location == location, s.shipped_at >= start, s.shipped_at < end
            )
        )
    ]
    shorts, missing = uow.session.execute(
        sa.select(sa.func.count(), sa.func.sum(CountTaskRow.missing)).where(
            CountTaskRow.location == location,
            CountTaskRow.reason == "short_pick",
            CountTaskRow.created_at >= start,
            CountTaskRow.created_at < end,
        )
    ).one()
    shorts, missing = int(shorts or 0), int(missing or 0)
    picked = sum(p.shipments for p in pickers)
    units = int(shipped[1] or 0)
    return Productivity(
        location,
        start,
        end,
        pickers,
        packers,
        int(shipped[0] or 0),
        units,
        round(sum(waits) / len(waits), 1) if waits else None,
        shorts,
        round(shorts / picked, 3) if picked else 0.0,
        round(units / (units + missing), 3) if units + missing else 1.0,
    )
