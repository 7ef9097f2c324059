"""What every fulfillment use case shares: the shipment as callers see it, loading it, moving its status along
the transition table, and recording its timeline with the outbox event of the same name."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.fulfillment.rules import transitions
from ordersmith.fulfillment.tables import PackageRow, ShipmentEventRow, ShipmentLineRow, ShipmentRow
from ordersmith.kernel.errors import IllegalTransition, NotFound
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork


@dataclass(frozen=True)
class ShipmentLine:
    key: str  # the allocation part (its reservation) these units are
    line_no: int
    sku: str
    name: str
    gtin: str
    quantity: int
    picked: int
    packed: int
    status: str  # open | removed | shipped


@dataclass(frozen=True)
class Package:
    id: uuid.UUID
    seq: int
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    status: str  # open | labelled | voided
    carrier: str
    service: str
    tracking_number: str
    label_format: str
    cost: Money | None


@dataclass(frozen=True)
class TimelineEntry:
    kind: str
    detail: dict[str, Any]
    actor: str
    at: datetime


@dataclass(frozen=True)
class Shipment:
    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    order_number: str
    channel: str
    location: str
    ship_to: str
    address: dict[str, Any]
    method: str
    kind: str
    status: str
    releasable: bool
    priority: int
    placed_at: datetime
    ship_by_on: date | None
    wave_id: uuid.UUID | None
    tote: str
    carrier: str
    service: str
    tracking_number: str
    units: int
    created_at: datetime
    updated_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    version: int
    lines: list[ShipmentLine] = field(default_factory=list)
    packages: list[Package] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)


_BY_ID = sa.select(ShipmentRow).where(ShipmentRow.id == sa.bindparam("id"))
_BY_NUMBER = sa.select(ShipmentRow).where(ShipmentRow.number == sa.bindparam("number"))


def shipment_row(
    uow: UnitOfWork, ref: str | uuid.UUID, *, lock: bool = False, channel: str | None = None
) -> ShipmentRow:
    """The shipment by id or number (locked for update when asked). Another channel's shipment, for a
    channel-bound caller, is not found, exactly like one that does not exist."""
    try:
        query = _BY_ID.params(id=ref if isinstance(ref, uuid.UUID) else uuid.UUID(str(ref)))
    except ValueError:
        query = _BY_NUMBER.params(number=str(ref).strip().upper())
    if lock:
        query = query.with_for_update()
    row = uow.session.scalar(query)
    if row is None or (channel is not None and row.channel != channel):
        raise NotFound(f"no shipment {str(ref)[:40]!r}")
    return row


_SHIPMENTS = ShipmentRow.__table__
_LOCKED = {
    "id": sa.select(_SHIPMENTS).where(_SHIPMENTS.c.id == sa.bindparam("ref")).with_for_update(),
    "number": sa.select(_SHIPMENTS).where(_SHIPMENTS.c.number == sa.bindparam("ref")).with_for_update(),
}


def locked_plain(uow: UnitOfWork, ref: str | uuid.UUID, *, channel: str | None = None) -> sa.Row[Any] | None:
    """The shipment by id or number under its row lock, as a plain row (no ORM object: a hot path that writes with
    Core statements); None when there is none for this caller (`shipment_row` says why)."""
    key: uuid.UUID | str
    try:
        by, key = "id", ref if isinstance(ref, uuid.UUID) else uuid.UUID(str(ref))
    except ValueError:
        by, key = "number", str(ref).strip().upper()
    row = uow.execute_core(_LOCKED[by], {"ref": key}).first()
    return None if row is None or (channel is not None and row.channel != channel) else row


def lines_of(uow: UnitOfWork, row: ShipmentRow, *, live: bool = False) -> list[ShipmentLineRow]:
    query = sa.select(ShipmentLineRow).where(
        ShipmentLineRow.order_id == row.order_id, ShipmentLineRow.shipment_id == row.id
    )
    if live:
        query = query.where(ShipmentLineRow.status == "open")
    return list(uow.session.scalars(query.order_by(ShipmentLineRow.line_no, ShipmentLineRow.key)))


def packages_of(uow: UnitOfWork, row: ShipmentRow) -> list[PackageRow]:
    return list(
        uow.session.scalars(
            sa.select(PackageRow)
            .where(PackageRow.order_id == row.order_id, PackageRow.shipment_id == row.id)
            .order_by(PackageRow.seq)
        )
    )


_PACKAGES = PackageRow.__table__
# What the shipment as callers see it shows of a package (never the label's bytes: a PDF each).
_PACKAGES_PLAIN = (
    sa.select(_PACKAGES.c.id, _PACKAGES.c.seq, _PACKAGES.c.weight_g, _PACKAGES.c.length_mm, _PACKAGES.c.width_mm,
              _PACKAGES.c.height_mm, _PACKAGES.c.status, _PACKAGES.c.carrier, _PACKAGES.c.service,
              _PACKAGES.c.tracking_number, _PACKAGES.c.label_format, _PACKAGES.c.cost_minor, _PACKAGES.c.currency)
    .where(_PACKAGES.c.order_id == sa.bindparam("b_order"), _PACKAGES.c.shipment_id == sa.bindparam("b_id"))
    .order_by(_PACKAGES.c.seq)
)  # fmt: skip


def packages_plain(uow: UnitOfWork, order_id: uuid.UUID, shipment_id: uuid.UUID) -> list[PackageRow]:
    """The shipment's packages as plain rows with what `to_package` reads (a Core row carries the mapped
    attributes' names), for the hot paths."""
    rows = uow.execute_core(_PACKAGES_PLAIN, {"b_order": order_id, "b_id": shipment_id}).all()
    return cast(list[PackageRow], rows)


def to_line(row: ShipmentLineRow) -> ShipmentLine:
    return ShipmentLine(
        row.key, row.line_no, row.sku, row.name, row.gtin, row.quantity, row.picked, row.packed, row.status
    )


def to_package(row: PackageRow) -> Package:
    return Package(
        id=row.id,
        seq=row.seq,
        weight_g=row.weight_g,
        length_mm=row.length_mm,
        width_mm=row.width_mm,
        height_mm=row.height_mm,
        status=row.status,
        carrier=row.carrier,
        service=row.service,
        tracking_number=row.tracking_number,
        label_format=row.label_format,
        cost=Money.from_minor(row.cost_minor, row.currency) if row.label_format else None,
    )


def to_shipment(
    uow: UnitOfWork,
    row: ShipmentRow,
    *,
    timeline: bool = False,
    lines: list[ShipmentLineRow] | None = None,
    packages: list[PackageRow] | None = None,
) -> Shipment:
    """The shipment as callers see it (`lines` and `packages`: all of them, when the caller has them read)."""
    events: list[TimelineEntry] = []
    if timeline:
        events = [
            TimelineEntry(e.kind, e.detail, e.actor, e.at)
            for e in uow.session.scalars(
                sa.select(ShipmentEventRow)
                .where(ShipmentEventRow.order_id == row.order_id, ShipmentEventRow.shipment_id == row.id)
                .order_by(ShipmentEventRow.id)
            )
        ]
    return Shipment(
        id=row.id,
        number=row.number,
        order_id=row.order_id,
        order_number=row.order_number,
        channel=row.channel,
        location=row.location,
        ship_to=row.ship_to,
        address=dict(row.address),
        method=row.method,
        kind=row.kind,
        status=row.status,
        releasable=row.releasable,
        priority=row.priority,
        placed_at=row.placed_at,
        ship_by_on=row.ship_by_on,
        wave_id=row.wave_id,
        tote=row.tote,
        carrier=row.carrier,
        service=row.service,
        tracking_number=row.tracking_number,
        units=row.units,
        created_at=row.created_at,
        updated_at=row.updated_at,
        shipped_at=row.shipped_at,
        delivered_at=row.delivered_at,
        version=row.version,
        lines=[to_line(line) for line in (lines if lines is not None else lines_of(uow, row))],
        packages=[to_package(p) for p in (packages if packages is not None else packages_of(uow, row))],
        timeline=events,
    )


def record(
    uow: UnitOfWork, row: ShipmentRow, kind: str, detail: dict[str, Any], *, emit: bool = True
) -> None:
    """Append to the shipment's timeline and (unless told not to) emit the outbox event of that name, tagged with
    the order's channel (a channel's key sees its own shipments' events only). The timeline row is flushed with the
    rest of the session (a batch of them is one multi-row INSERT); `record_now` writes it at once."""
    uow.session.add(
        ShipmentEventRow(
            order_id=row.order_id,
            id=new_id(),
            shipment_id=row.id,
            kind=kind,
            detail=detail,
            actor=uow.actor.label,
            at=uow.now(),
        )
    )
    if emit:
        announce(uow, row, kind, detail)


_INSERT_EVENT = sa.insert(ShipmentEventRow.__table__)  # type: ignore[arg-type]


def record_now(uow: UnitOfWork, row: ShipmentRow, kind: str, detail: dict[str, Any]) -> None:
    """`record` and emit for the hot paths that flush no ORM objects: the timeline row by a prebuilt Core INSERT."""
    uow.execute_core(
        _INSERT_EVENT,
        {
            "order_id": row.order_id,
            "id": new_id(),
            "shipment_id": row.id,
            "kind": kind,
            "detail": detail,
            "actor": uow.actor.label,
            "at": uow.now(),
        },
    )
    announce(uow, row, kind, detail)


def announce(uow: UnitOfWork, row: ShipmentRow, kind: str, detail: dict[str, Any]) -> None:
    """Emit the outbox event `kind` about the shipment (tagged with its order's channel)."""
    uow.emit(
        kind,
        {
            "shipment_id": str(row.id),
            "number": row.number,
            "order_id": str(row.order_id),
            "order_number": row.order_number,
            "channel": row.channel,
            "location": row.location,
            "status": row.status,
            **detail,
        },
    )


def move(uow: UnitOfWork, row: ShipmentRow, action: str, detail: dict[str, Any] | None = None) -> None:
    """Move the shipment along the transition table (409 `illegal_transition` naming its state otherwise), bump
    its version and record the move as `shipment.<new status>`."""
    try:
        target = transitions.next_status(row.status, action)
    except transitions.IllegalMove as exc:
        raise IllegalTransition(str(exc), state=row.status, action=action) from None
    before = row.status
    row.status = target
    row.version += 1
    row.updated_at = uow.now()
    event = "shipment.picking" if target == "picking" else f"shipment.{target}"
    record(uow, row, event, {"from": before, "to": target, **(detail or {})}, emit=target != "picking")
