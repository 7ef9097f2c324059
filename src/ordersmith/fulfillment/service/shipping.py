"""Shipping a packed shipment: the warehouse's last step, and the hot one (every parcel passes it once).

Invariant: a unit leaves once — one conditional UPDATE flips the shipment from packed to shipped (taking its row
lock), its open lines become shipped, and the order consumes exactly their allocation parts under the order's lock,
all in one transaction; a second confirmation finds it shipped (409) and changes nothing.

The step runs on prebuilt Core statements (no ORM objects are loaded or flushed): the shipment and its lines come
back from their UPDATEs' RETURNING, so the common case reads only the packages besides.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.fulfillment.rules import transitions
from ordersmith.fulfillment.service._common import (
    Shipment,
    move,
    packages_plain,
    record_now,
    shipment_row,
    to_shipment,
)
from ordersmith.fulfillment.tables import ShipmentLineRow, ShipmentRow, WaveRow
from ordersmith.orders import service as orders
from ordersmith.platform.db import UnitOfWork, use_case

_SHIPMENTS = ShipmentRow.__table__
_LINES = ShipmentLineRow.__table__
_WAVES = WaveRow.__table__
_SHIPPED = transitions.next_status("packed", "ship")
_FLIP = (
    sa.update(_SHIPMENTS)  # type: ignore[arg-type]
    .where(_SHIPMENTS.c.status == "packed")
    .values(status=_SHIPPED, version=_SHIPMENTS.c.version + 1, updated_at=sa.bindparam("b_now"),
            shipped_at=sa.bindparam("b_now"), shipped_by=sa.bindparam("b_actor"))
    .returning(*_SHIPMENTS.c)
)  # fmt: skip
_BY = {"number": _SHIPMENTS.c.number == sa.bindparam("b_ref"), "id": _SHIPMENTS.c.id == sa.bindparam("b_ref")}
_OF_CHANNEL = _SHIPMENTS.c.channel == sa.bindparam("b_channel")
# By number or id, for any caller or a channel-bound one (another channel's shipment is left as it is).
_FLIPS = {(by, bound): _FLIP.where(match, *([_OF_CHANNEL] if bound else [])) for by, match in _BY.items()
          for bound in (False, True)}  # fmt: skip
_FLIP_BY_KEY = _FLIP.where(
    _SHIPMENTS.c.order_id == sa.bindparam("b_order"), _SHIPMENTS.c.id == sa.bindparam("b_id")
)
# Every line comes back (a removed one unchanged, for the shipment as callers see it); the open ones ship.
_SHIP_LINES = (
    sa.update(_LINES)  # type: ignore[arg-type]
    .where(_LINES.c.order_id == sa.bindparam("b_order"), _LINES.c.shipment_id == sa.bindparam("b_id"))
    .values(status=sa.case((_LINES.c.status == "open", "shipped"), else_=_LINES.c.status))
    .returning(*_LINES.c)
)
_NAME = (
    sa.update(_SHIPMENTS)  # type: ignore[arg-type]
    .where(_SHIPMENTS.c.order_id == sa.bindparam("b_order"), _SHIPMENTS.c.id == sa.bindparam("b_id"))
    .values(tracking_number=sa.bindparam("b_tracking"), carrier=sa.bindparam("b_carrier"),
            service=sa.bindparam("b_service"))
    .returning(*_SHIPMENTS.c)
)  # fmt: skip
# Correlated to the wave's row, not to a bound id: PostgreSQL's generic plan for `EXISTS (… wave_id = $1)` guessed a
# match early in a sequential scan and read every shipment ever made (the wave's are the newest).
_CLOSE_WAVE = (
    sa.update(_WAVES)  # type: ignore[arg-type]
    .where(
        _WAVES.c.id == sa.bindparam("b_wave"),
        _WAVES.c.status.in_(("released", "picking")),
        ~sa.select(_SHIPMENTS.c.id)
        .where(_SHIPMENTS.c.wave_id == _WAVES.c.id, _SHIPMENTS.c.status.in_(tuple(sorted(transitions.OPEN))))
        .correlate(_WAVES)
        .exists(),
    )
    .values(status="done", done_at=sa.bindparam("b_now"))
)


@use_case
def ship_shipment(
    uow: UnitOfWork,
    *,
    ref: str,
    tracking: str = "",
    carrier: str = "",
    service: str = "",
    channel: str | None = None,
) -> Shipment:
    """Confirm the packed shipment has left: its allocation parts are consumed (stock leaves on hand), the order
    moves to partially shipped or shipped (payments capture from that), `shipment.shipped` tells the channel the
    tracking number (its packages' labels give it when none is named), and the wave is done when this was its last.

    Raises:
        NotFound: no such shipment (or another channel's, for a channel-bound caller).
        IllegalTransition: not packed (already shipped: a second confirmation changes nothing).
        Conflict: the order no longer holds these units (cancelled meanwhile).
    """
    now = uow.now()
    row = _flip(uow, ref, channel, now)
    key = {"b_order": row.order_id, "b_id": row.id}
    every = sorted(uow.execute_core(_SHIP_LINES, key).all(), key=lambda line: (line.line_no, line.key))
    # Shipped now means open until now: a packed shipment has no line shipped before.
    lines = [line for line in every if line.status == "shipped"]
    packages = packages_plain(uow, row.order_id, row.id)
    labelled = [p for p in packages if p.status == "labelled"]
    named = (
        (tracking.strip() or (labelled[0].tracking_number if labelled else ""))[:60],
        (carrier.strip() or (labelled[0].carrier if labelled else ""))[:40],
        (service.strip() or (labelled[0].service if labelled else ""))[:40],
    )
    if named != (row.tracking_number, row.carrier, row.service):
        row = uow.execute_core(
            _NAME, {**key, "b_tracking": named[0], "b_carrier": named[1], "b_service": named[2]}
        ).one()
    shipment = cast(ShipmentRow, row)  # a Core row carries the mapped attributes' names
    orders.ship_allocations(
        uow, ref=str(row.order_id), keys=[line.key for line in lines], tracking=named[0], shipment=row.number
    )
    detail: dict[str, Any] = {
        "from": "packed",
        "to": _SHIPPED,
        "tracking_number": named[0],
        "carrier": named[1],
        "service": named[2],
        "packages": [p.tracking_number for p in labelled],
        "lines": [{"line": line.line_no, "sku": line.sku, "quantity": line.quantity} for line in lines],
    }
    record_now(uow, shipment, f"shipment.{_SHIPPED}", detail)
    if row.kind == "pickup":
        record_now(uow, shipment, "shipment.picked_up", {"store": row.location})
    if row.wave_id is not None:
        uow.execute_core(_CLOSE_WAVE, {"b_wave": row.wave_id, "b_now": now})
    return to_shipment(
        uow,
        shipment,
        lines=cast(list[ShipmentLineRow], every),
        packages=packages,
    )


def _flip(uow: UnitOfWork, ref: str, channel: str | None, now: datetime) -> sa.Row[Any]:
    """The shipment moved from packed to shipped (its row locked), as it now is; a shipment that is not packed (or
    not the caller's channel's) is refused exactly as the transition table and `shipment_row` refuse it."""
    params: dict[str, Any] = {"b_now": now, "b_actor": uow.actor.label, "b_channel": channel}
    try:
        by, params["b_ref"] = "id", uuid.UUID(str(ref))
    except ValueError:
        by, params["b_ref"] = "number", str(ref).strip().upper()
    found = uow.execute_core(_FLIPS[by, channel is not None], params).first()
    if found is not None:
        return found
    row = shipment_row(uow, ref, lock=True, channel=channel)  # NotFound
    if row.status != "packed":
        move(uow, row, "ship")  # raises IllegalTransition, naming the state
    # Packed after all (a pack committed between the two statements): flip it now that its row is locked.
    return uow.execute_core(_FLIP_BY_KEY, {**params, "b_order": row.order_id, "b_id": row.id}).one()
