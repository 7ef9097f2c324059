"""Parcels after they leave: tracking events applied once each (signed webhooks, and a bounded poll of what is in
transit), the end-of-day manifest, and the carrier's view of a ship-to address."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.fulfillment import carriers as port
from ordersmith.fulfillment.service._common import move, record, shipment_row
from ordersmith.fulfillment.service.carrying import as_address, carrier_named
from ordersmith.fulfillment.tables import (
    IN_TRANSIT_SQL,
    CarrierEventRow,
    LocationDockRow,
    PackageRow,
    ShipmentRow,
)
from ordersmith.kernel.errors import Conflict, NotFound
from ordersmith.platform.db import UnitOfWork, use_case


@dataclass(frozen=True)
class ManifestOut:
    """A manifest as the API shows it (its printable form comes from the carrier)."""

    carrier: str
    manifest_id: str
    tracking_numbers: list[str]
    created_at: datetime


# --- tracking --------------------------------------------------------------------------------------------------


_MOVES = {"delivered": "deliver", "exception": "exception", "returned": "exception"}


@use_case
def record_tracking(uow: UnitOfWork, *, carrier: str, events: list[port.TrackingEvent]) -> int:
    """Apply tracking events once each (by the carrier's event id): delivered and exception move the shipment and
    emit `shipment.delivered` / `shipment.exception`; the others join its timeline. Returns events applied."""
    applied = 0
    for event in sorted(events, key=lambda e: e.at):
        if uow.session.get(CarrierEventRow, (carrier, event.event_id[:120])) is not None:
            continue
        uow.session.add(
            CarrierEventRow(
                carrier=carrier,
                event_id=event.event_id[:120],
                tracking_number=event.tracking_number[:60],
                status=event.status,
                at=event.at,
                received_at=uow.now(),
            )
        )
        row = uow.session.scalar(
            sa.select(ShipmentRow)
            .where(ShipmentRow.tracking_number == event.tracking_number[:60])
            .with_for_update()
        )
        if row is None:
            continue
        action = _MOVES.get(event.status)
        detail = {"carrier_status": event.status, "detail": event.detail[:300], "at": event.at.isoformat()}
        if action is not None and row.status in ("shipped", "exception"):
            if action == "deliver":
                row.delivered_at = event.at
            if not (action == "exception" and row.status == "exception"):
                move(uow, row, action, detail)
        else:
            record(uow, row, "shipment.tracking", detail, emit=False)
        row.tracked_at = uow.now()
        applied += 1
    uow.session.flush()
    return applied


def receive_webhook(
    uow: UnitOfWork, *, carrier: str, headers: dict[str, str], body: bytes, query: dict[str, str]
) -> int:
    """A carrier's tracking notification: its signature verified first (a forged one → 401, nothing changes)."""
    events = carrier_named(uow, carrier).parse_webhook(headers=headers, body=body, query=query)
    return record_tracking(uow, carrier=carrier, events=events)


@use_case(readonly=True)
def _in_transit(uow: UnitOfWork, *, limit: int) -> list[tuple[str, str, str]]:
    s = ShipmentRow
    rows = uow.session.execute(
        sa.select(s.carrier, s.tracking_number, s.id)
        .where(sa.text(IN_TRANSIT_SQL))  # the partial index's own predicate: never the delivered history
        .order_by(s.tracked_at)  # set when it shipped: the longest unasked first, in index order
        .limit(limit)
    ).all()
    return [(r.carrier, r.tracking_number, str(r.id)) for r in rows]


@use_case
def _touch_tracked(uow: UnitOfWork, *, ids: list[str]) -> None:
    uow.session.execute(
        sa.update(ShipmentRow)
        .where(ShipmentRow.id.in_([uuid.UUID(i) for i in ids]))
        .values(tracked_at=uow.now())
        .execution_options(synchronize_session=False)
    )


def poll_tracking(uow: UnitOfWork, *, limit: int = 50) -> int:
    """Ask the carriers about the parcels on their way the longest unasked (a bounded batch: the job runs again);
    no transaction is open while a carrier is asked. Returns the events applied."""
    batch = _in_transit(uow, limit=limit)
    applied = 0
    for carrier, tracking, _ in batch:
        try:
            courier = carrier_named(uow, carrier or "sandbox")
            events = courier.track(tracking_number=tracking)
        except (NotFound, port.CarrierUnavailable, port.CarrierRejected):
            continue
        applied += record_tracking(uow, carrier=courier.name, events=events)
    if batch:
        _touch_tracked(uow, ids=[shipment_id for _, _, shipment_id in batch])
    return applied


# --- manifest ---------------------------------------------------------------------------------------------------


@use_case(readonly=True)
def _unmanifested(
    uow: UnitOfWork, *, location: str, carrier: str, start: datetime, end: datetime
) -> list[str]:
    p, s = PackageRow, ShipmentRow
    rows = uow.session.execute(
        sa.select(p.tracking_number)
        .join(s, sa.and_(s.order_id == p.order_id, s.id == p.shipment_id))
        .where(
            s.location == location,
            p.carrier == carrier,
            p.status == "labelled",
            p.manifest_id == "",
            s.shipped_at >= start,
            s.shipped_at < end,
        )
        .order_by(p.tracking_number)
    ).all()
    return [r.tracking_number for r in rows]


@use_case
def _mark_manifested(uow: UnitOfWork, *, tracking_numbers: list[str], manifest_id: str) -> None:
    uow.session.execute(
        sa.update(PackageRow)
        .where(PackageRow.tracking_number.in_(tracking_numbers), PackageRow.manifest_id == "")
        .values(manifest_id=manifest_id[:100])
        .execution_options(synchronize_session=False)
    )


def close_day(
    uow: UnitOfWork, *, location: str, carrier: str = "sandbox", day: date | None = None
) -> port.Manifest:
    """The end-of-day manifest of the labelled parcels that shipped from `location` with `carrier` on `day`
    (today) and are on no manifest yet: the carrier's scan form, and each parcel marked with it.

    Raises:
        Conflict: nothing shipped that is not on a manifest.
    """
    day = day or uow.now().date()
    start = datetime(day.year, day.month, day.day, tzinfo=uow.now().tzinfo)
    numbers = _unmanifested(
        uow, location=location, carrier=carrier, start=start, end=start + timedelta(days=1)
    )
    if not numbers:
        raise Conflict(f"nothing shipped from {location} with {carrier} on {day} waits for a manifest")
    manifest = carrier_named(uow, carrier).manifest(tracking_numbers=numbers, ship_on=day)
    _mark_manifested(uow, tracking_numbers=numbers, manifest_id=manifest.manifest_id)
    return manifest


# --- addresses ---------------------------------------------------------------------------------------------------


@use_case(readonly=True)
def _ship_to_of(uow: UnitOfWork, *, ref: str, channel: str | None) -> tuple[str, dict[str, Any]]:
    row = shipment_row(uow, ref, channel=channel)
    dock = uow.session.get(LocationDockRow, row.location)
    return (dock.carrier if dock else "sandbox"), dict(row.address)


def check_address(uow: UnitOfWork, *, ref: str, channel: str | None = None) -> port.AddressCheck:
    """The carrier's view of the shipment's ship-to (the location's carrier): valid, or why not, and the
    cleaned-up form it would ship to. Asked with no transaction open; nothing is changed."""
    carrier, address = _ship_to_of(uow, ref=ref, channel=channel)
    try:
        return carrier_named(uow, carrier).validate_address(as_address(address))
    except port.CarrierRejected as refused:  # a carrier that refuses the address outright: not valid, and why
        return port.AddressCheck(valid=False, messages=[refused.detail])
