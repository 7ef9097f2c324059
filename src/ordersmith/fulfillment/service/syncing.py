"""Shipments follow the order's allocation: every active allocation part is on exactly one live shipment of its
order, location and ship-to; a part given back (cancelled, re-allocated, short) leaves its shipment; a shipment left
with nothing is cancelled; parts shipped outside the pack station (the order's own shipment record) confirm theirs.

Runs as a subscriber of the order's events (inside the relay's transaction, after the order's commit), and is a
reconciliation, not a replay: run twice, or after events were missed, it arrives at the same shipments.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.fulfillment.rules import waves as wave_rules
from ordersmith.fulfillment.service import drop_ship
from ordersmith.fulfillment.service._common import announce, move, record
from ordersmith.fulfillment.tables import ShipmentEventRow, ShipmentLineRow, ShipmentRow
from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.events import Event
from ordersmith.kernel.ids import new_id
from ordersmith.orders import service as orders
from ordersmith.platform.db import UnitOfWork, use_case

SYNC_EVENTS = frozenset(
    {
        "order.allocated",
        "order.released",
        "order.held",
        "order.cancelled",
        "order.lines_cancelled",
        "order.changed",
        "order.shipped",
        "order.shipped_in_part",
    }
)
_RELEASABLE = frozenset({"released", "partially_shipped"})


def wants(event: Event) -> bool:
    """Whether an order event can change the order's shipments (the relay skips the rest for free)."""
    if event.type not in SYNC_EVENTS:
        return False
    if event.type == "order.released" and event.payload.get("at_placement"):
        return False  # placed and released at once: its `order.allocated` follows in the same transaction
    return not (event.type.startswith("order.shipped") and event.payload.get("shipment"))  # shipped by us


def on_order_event(uow: UnitOfWork, event: Event) -> None:
    on_order_events(uow, [event])


def on_order_events(uow: UnitOfWork, events: list[Event]) -> None:
    """The relay's batch of order events: every order they name synced once, set-wise (a reconciliation, so one
    sync after the batch's last event arrives where one sync per event would)."""
    tracking: dict[uuid.UUID, str] = {}
    for event in events:
        order_id = uuid.UUID(event.payload["order_id"])
        tracking[order_id] = tracking.get(order_id) or str(event.payload.get("tracking", ""))
    sync_orders(uow, order_ids=list(tracking), tracking=tracking)


@use_case
def sync_order(uow: UnitOfWork, *, order_id: uuid.UUID, tracking: str = "") -> None:
    """Bring the order's shipments in line with its allocation (see the module docstring)."""
    if not sync_orders(uow, order_ids=[order_id], tracking={order_id: tracking}):
        raise NotFound(f"no order {str(order_id)!r}")


@use_case
def sync_orders(uow: UnitOfWork, *, order_ids: list[uuid.UUID], tracking: dict[uuid.UUID, str]) -> int:
    """Bring each order's shipments in line with its allocation, for many orders in a few statements (the orders
    and their lines, their shipments, their shipment lines, the barcodes of what is new); returns how many of the
    orders exist (the rest are skipped)."""
    # Under the orders' row locks (taken in id order): two syncs of one order (two relays, or a relay and a direct
    # call) run one after the other, so the second finds the shipments the first made instead of numbering them
    # again.
    found = orders.lock_many_for_shipping(uow, order_ids=order_ids)
    if not found:
        return 0
    ids = [order.id for order in found]
    shipments: dict[uuid.UUID, dict[uuid.UUID, ShipmentRow]] = {order_id: {} for order_id in ids}
    for row in uow.session.scalars(
        sa.select(ShipmentRow).where(ShipmentRow.order_id.in_(ids)).order_by(ShipmentRow.id).with_for_update()
    ):
        shipments[row.order_id][row.id] = row
    lines: dict[uuid.UUID, list[ShipmentLineRow]] = {order_id: [] for order_id in ids}
    if any(shipments.values()):
        for line in uow.session.scalars(sa.select(ShipmentLineRow).where(ShipmentLineRow.order_id.in_(ids))):
            lines[line.order_id].append(line)
    plans = [_plan(order, shipments[order.id], lines[order.id]) for order in found]
    skus = sorted({line.sku for plan in plans for line, _ in (*plan.new, *plan.unseen)})
    gtins = catalog.barcodes_of(uow, skus=skus) if skus else {}
    fresh = _FreshShipments(uow, gtins)
    for plan in plans:
        if _only_new(plan):
            fresh.add(plan.order, plan.new)
        else:
            _apply(uow, plan, gtins, tracking.get(plan.order.id, ""))
    uow.session.flush()
    fresh.write()
    return len(found)


def _only_new(plan: _Plan) -> bool:
    """The common case at intake: an order without shipments whose reserved parts all go on new ones, and nothing a
    vendor could ship (the drop-ship routing has nothing to do)."""
    return (
        not plan.shipments and bool(plan.new) and not plan.unseen and not drop_ship.has_open_units(plan.order)
    )


class _FreshShipments:
    """The new shipments of orders that had none, their lines and timelines, gathered for a batch and written as
    one multi-row INSERT per table (no ORM objects: at intake this is the relay's hottest path). They are made
    exactly as `_add` makes them (one per location and ship-to, numbered in that order)."""

    def __init__(self, uow: UnitOfWork, gtins: dict[str, list[str]]) -> None:
        self.uow, self.gtins = uow, gtins
        self.shipments: list[dict[str, object]] = []
        self.lines: list[dict[str, object]] = []
        self.timeline: list[dict[str, object]] = []

    def add(self, order: orders.Order, new: list[tuple[orders.OrderLine, orders.AllocationPart]]) -> None:
        uow, now, actor = self.uow, self.uow.now(), self.uow.actor.label
        ship_tos = {s.ref: s for s in order.ship_tos}
        made: dict[tuple[str, str], dict[str, object]] = {}
        ordered = sorted(new, key=lambda lp: (lp[1].location, lp[0].ship_to, lp[0].line_no, lp[1].seq))
        for line, part in ordered:
            group = (part.location, line.ship_to)
            shipment = made.get(group)
            if shipment is None:
                shipment = made[group] = shipment_values(
                    uow,
                    order,
                    ship_tos[line.ship_to],
                    location=part.location,
                    seq=len(made) + 1,
                    kind=order.fulfillment if order.fulfillment in ("taken", "pickup") else "ship",
                    releasable=order.status in _RELEASABLE,
                )
                self.timeline.append(
                    _timeline(order.id, shipment["id"], "shipment.created",
                              {"ship_to": line.ship_to, "method": shipment["method"]}, actor, now)
                )  # fmt: skip
            self.lines.append(
                {
                    "order_id": order.id,
                    "shipment_id": shipment["id"],
                    "key": part.key,
                    "line_no": line.line_no,
                    "sku": line.sku,
                    "name": line.name[:300],
                    "gtin": (self.gtins.get(line.sku.upper()) or [""])[0],
                    "quantity": part.quantity,
                    "picked": 0,
                    "packed": 0,
                    "status": "open",
                }
            )
            shipment["units"] = cast(int, shipment["units"]) + part.quantity
            shipment["lines"] = cast(int, shipment["lines"]) + 1
            self.timeline.append(
                _timeline(order.id, shipment["id"], "shipment.line_added",
                          {"line": line.line_no, "sku": line.sku, "quantity": part.quantity}, actor, now)
            )  # fmt: skip
        for shipment in made.values():  # announced with its lines (its timeline begins when it was made)
            self.shipments.append(shipment)
            uow.emit(
                "shipment.created",
                {
                    "shipment_id": str(shipment["id"]),
                    "number": shipment["number"],
                    "order_id": str(order.id),
                    "order_number": order.number,
                    "channel": order.channel,
                    "location": shipment["location"],
                    "status": "pending",
                    "ship_to": shipment["ship_to"],
                    "method": shipment["method"],
                    "units": shipment["units"],
                },
            )

    def write(self) -> None:
        if not self.shipments:
            return
        self.uow.execute_core(_INSERT_SHIPMENTS, self.shipments)
        self.uow.execute_core(_INSERT_LINES, self.lines)
        self.uow.execute_core(_INSERT_TIMELINE, self.timeline)


_INSERT_SHIPMENTS = sa.insert(ShipmentRow.__table__)  # type: ignore[arg-type]
_INSERT_LINES = sa.insert(ShipmentLineRow.__table__)  # type: ignore[arg-type]
_INSERT_TIMELINE = sa.insert(ShipmentEventRow.__table__)  # type: ignore[arg-type]


def _timeline(
    order_id: uuid.UUID, shipment_id: object, kind: str, detail: dict[str, object], actor: str, at: datetime
) -> dict[str, object]:
    return {
        "order_id": order_id,
        "id": new_id(),
        "shipment_id": shipment_id,
        "kind": kind,
        "detail": detail,
        "actor": actor,
        "at": at,
    }


@dataclass
class _Plan:
    """What one order's sync found: the order, its shipments, the open lines to check, and the parts to add."""

    order: orders.Order
    shipments: dict[uuid.UUID, ShipmentRow]
    live: list[tuple[ShipmentLineRow, orders.AllocationPart | None]]
    new: list[tuple[orders.OrderLine, orders.AllocationPart]]
    unseen: list[tuple[orders.OrderLine, orders.AllocationPart]]


def _plan(
    order: orders.Order, shipments: dict[uuid.UUID, ShipmentRow], every: list[ShipmentLineRow]
) -> _Plan:
    known = {line.key for line in every if line.status in ("open", "shipped")}
    parts = {p.key: (line, p) for line in order.lines for p in line.allocations}
    live = [
        (line, parts.get(line.key, (None, None))[1])
        for line in every
        if line.status == "open" and shipments[line.shipment_id].kind != "drop_ship"
    ]
    new = [(line, p) for line, p in parts.values() if p.status == "active" and p.key not in known]
    # Units shipped through the order's own record before any shipment held them: a shipment of their own, shipped.
    unseen = [(line, p) for line, p in parts.values() if p.status == "shipped" and p.key not in known]
    return _Plan(order, shipments, live, new, unseen)


def _apply(uow: UnitOfWork, plan: _Plan, gtins: dict[str, list[str]], tracking: str) -> None:
    order, shipments = plan.order, plan.shipments
    confirmed: set[uuid.UUID] = set()
    for line_row, part in plan.live:
        shipment = shipments[line_row.shipment_id]
        if part is None or part.status in ("released", "short"):
            _remove(uow, shipment, line_row)
        elif part.status == "shipped":
            confirmed.add(shipment.id)
        elif part.quantity != line_row.quantity:
            shipment.units += part.quantity - line_row.quantity
            line_row.quantity, line_row.picked = part.quantity, min(line_row.picked, part.quantity)
            line_row.packed = min(line_row.packed, line_row.picked)
    for shipment_id in sorted(confirmed):
        _confirm(uow, shipments[shipment_id], tracking)
    _add(uow, order, shipments, plan.new, gtins)
    for shipment in _add(uow, order, shipments, plan.unseen, gtins, reuse=False):
        _confirm(uow, shipment, tracking)
    releasable = order.status in _RELEASABLE
    for shipment in shipments.values():
        if shipment.status in ("pending", "picking", "picked", "packed"):
            if shipment.units == 0:
                move(uow, shipment, "cancel", {"reason": "nothing left to ship on it"})
            shipment.releasable = releasable
    _readdress(uow, order, shipments.values())
    drop_ship.route(uow, order=order, shipments=shipments)


_ADDRESS_KEYS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")


def _readdress(uow: UnitOfWork, order: orders.Order, shipments: Iterable[ShipmentRow]) -> None:
    """An order's corrected ship-to reaches its own warehouse's shipments not yet packed (a packed one's label carries
    the address it was packed for: channels' address changes are refused then). A drop-ship's address went to the
    vendor with its purchase order and is not changed here."""
    ship_tos = {s.ref: s for s in order.ship_tos}
    for shipment in shipments:
        target = ship_tos.get(shipment.ship_to)
        if (
            target is None
            or shipment.kind != "ship"
            or shipment.status not in ("pending", "picking", "picked")
        ):
            continue
        address = {key: getattr(target, key) for key in _ADDRESS_KEYS}
        if dict(shipment.address or {}) != address:
            shipment.address = address
            shipment.version += 1
            record(uow, shipment, "shipment.readdressed", {"ship_to": shipment.ship_to}, emit=False)


def _remove(uow: UnitOfWork, shipment: ShipmentRow, line: ShipmentLineRow) -> None:
    line.status = "removed"
    shipment.units -= line.quantity
    shipment.lines -= 1
    shipment.version += 1
    shipment.updated_at = uow.now()
    record(
        uow,
        shipment,
        "shipment.line_removed",
        {"line": line.line_no, "sku": line.sku, "quantity": line.quantity},
        emit=False,
    )


def _confirm(uow: UnitOfWork, shipment: ShipmentRow, tracking: str) -> None:
    """Its units were shipped through the order itself: the shipment is done, as shipped outside the station."""
    if shipment.status not in ("pending", "picking", "picked", "packed"):
        return
    for line in uow.session.scalars(
        sa.select(ShipmentLineRow).where(
            ShipmentLineRow.order_id == shipment.order_id,
            ShipmentLineRow.shipment_id == shipment.id,
            ShipmentLineRow.status == "open",
        )
    ):
        line.status, line.picked, line.packed = "shipped", line.quantity, line.quantity
    shipment.tracking_number = shipment.tracking_number or tracking[:60]
    shipment.shipped_at, shipment.shipped_by = uow.now(), uow.actor.label
    move(uow, shipment, "confirm", {"tracking": shipment.tracking_number, "outside_station": True})


def _add(
    uow: UnitOfWork,
    order: orders.Order,
    shipments: dict[uuid.UUID, ShipmentRow],
    new: Iterable[tuple[orders.OrderLine, orders.AllocationPart]],
    gtins: dict[str, list[str]],
    *,
    reuse: bool = True,
) -> list[ShipmentRow]:
    """Put each part on the pending shipment of its location and ship-to (a new one when there is none, or
    always with `reuse=False`); returns the shipments it made."""
    new = list(new)
    made: dict[tuple[str, str], ShipmentRow] = {}
    if not new:
        return []
    ship_tos = {s.ref: s for s in order.ship_tos}
    for line, part in sorted(new, key=lambda lp: (lp[1].location, lp[0].ship_to, lp[0].line_no, lp[1].seq)):
        group = (part.location, line.ship_to)
        shipment = made.get(group)
        if shipment is None and reuse:
            shipment = next(
                (
                    s
                    for s in shipments.values()
                    if (s.location, s.ship_to) == group and s.status == "pending" and s.wave_id is None
                ),
                None,
            )
        if shipment is None:
            shipment = _new_shipment(uow, order, ship_tos[line.ship_to], part.location, len(shipments) + 1)
            shipments[shipment.id] = made[group] = shipment
        uow.session.add(
            ShipmentLineRow(
                order_id=order.id,
                shipment_id=shipment.id,
                key=part.key,
                line_no=line.line_no,
                sku=line.sku,
                name=line.name[:300],
                gtin=(gtins.get(line.sku.upper()) or [""])[0],
                quantity=part.quantity,
                picked=0,
                packed=0,
                status="open",
            )
        )
        shipment.units += part.quantity
        shipment.lines += 1
        record(
            uow,
            shipment,
            "shipment.line_added",
            {"line": line.line_no, "sku": line.sku, "quantity": part.quantity},
            emit=False,
        )
    for shipment in made.values():  # announced with its lines (its timeline begins when it was made)
        announce(
            uow,
            shipment,
            "shipment.created",
            {"ship_to": shipment.ship_to, "method": shipment.method, "units": shipment.units},
        )
    return list(made.values())


def _new_shipment(
    uow: UnitOfWork, order: orders.Order, ship_to: orders.ShipTo, location: str, seq: int
) -> ShipmentRow:
    row = new_shipment_row(
        uow,
        order,
        ship_to,
        location=location,
        seq=seq,
        kind=order.fulfillment if order.fulfillment in ("taken", "pickup") else "ship",
        releasable=order.status in _RELEASABLE,
    )
    record(uow, row, "shipment.created", {"ship_to": ship_to.ref, "method": ship_to.method}, emit=False)
    return row


def new_shipment_row(
    uow: UnitOfWork,
    order: orders.Order,
    ship_to: orders.ShipTo,
    *,
    location: str,
    seq: int,
    kind: str,
    releasable: bool,
    purchase_order: str | None = None,
) -> ShipmentRow:
    """A new, empty, pending shipment of the order to `ship_to` from `location` (numbered `<order>-<seq>`),
    added to the session (inserted at the next flush); its lines and timeline are the caller's."""
    row = ShipmentRow(
        **shipment_values(
            uow,
            order,
            ship_to,
            location=location,
            seq=seq,
            kind=kind,
            releasable=releasable,
            purchase_order=purchase_order,
        )
    )
    uow.session.add(row)  # written with the caller's flush, its lines and units counted by then
    return row


def shipment_values(
    uow: UnitOfWork,
    order: orders.Order,
    ship_to: orders.ShipTo,
    *,
    location: str,
    seq: int,
    kind: str,
    releasable: bool,
    purchase_order: str | None = None,
) -> dict[str, Any]:
    """Every column of a new, empty, pending shipment (see `new_shipment_row`)."""
    now = uow.now()
    address = {key: getattr(ship_to, key) for key in _ADDRESS_KEYS}
    return {
        "order_id": order.id,
        "id": new_id(),
        "number": f"{order.number}-{seq}",
        "order_number": order.number,
        "channel": order.channel,
        "location": location,
        "ship_to": ship_to.ref,
        "address": address,
        "method": ship_to.method,
        "kind": kind,
        "status": "pending",
        "releasable": releasable,
        "priority": order.priority,
        "rank": -order.priority,
        "placed_at": order.placed_at,
        "ship_by_on": wave_rules.ship_by(order.placed_at, ship_to.method),
        "wave_id": None,
        "tote": "",
        "carrier": "",
        "service": "",
        "tracking_number": "",
        "lines": 0,
        "units": 0,
        "note": "",
        "purchase_order": purchase_order,
        "created_at": now,
        "updated_at": now,
        "picked_at": None,
        "packed_at": None,
        "shipped_at": None,
        "delivered_at": None,
        "tracked_at": None,
        "picked_by": "",
        "packed_by": "",
        "shipped_by": "",
        "version": 1,
    }
