"""Drop-ship: order lines whose item its vendor ships straight to the customer. Such an item keeps no stock, so
the order never allocates it; instead `route` (the last step of `sync_order`) puts each open unit on a shipment of
kind `drop_ship` per vendor and ship-to, located `VENDOR:<code>` (cut to the column's 40 characters: the PO
names the vendor in full), with a drop-ship PO of its own (the customer's address, the order number) whose
number the shipment keeps in `purchase_order`. The vendor's confirmation (API call or CSV) ships the units on the
order, confirms them on the PO (its cost is the PO line's) and moves the shipment straight to shipped with its
tracking number; nothing touches our stock.

Invariants: a drop-ship line's key `drop:<order id hex>:<line no>` is on at most one live shipment line (the
shipment_lines unique index on live keys), so a unit is routed and ordered from the vendor once; a confirmation
flips the shipment from open to shipped under its row lock, so a second one finds it shipped (409) and changes
nothing; the PO's open units per sales line equal the live shipment units that name it (cancelled on the order
→ cancelled on the PO).
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.catalog import rules as catalog_rules
from ordersmith.catalog import service as catalog
from ordersmith.fulfillment.rules import transitions
from ordersmith.fulfillment.rules import waves as wave_rules
from ordersmith.fulfillment.service._common import (
    Shipment,
    announce,
    lines_of,
    move,
    record,
    shipment_row,
    to_shipment,
)
from ordersmith.fulfillment.tables import ShipmentLineRow, ShipmentRow
from ordersmith.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from ordersmith.kernel.events import Event
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.orders import service as orders
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page
from ordersmith.purchasing import service as purchasing

log = logging.getLogger(__name__)

KIND = "drop_ship"
PREFIX = "VENDOR:"
_RELEASABLE = frozenset({"released", "partially_shipped"})
_OPEN_SQL = sa.and_(ShipmentRow.kind == KIND, ShipmentRow.status.in_(sorted(transitions.OPEN)))


def key_of(order_id: uuid.UUID, line_no: int) -> str:
    """The shipment-line key of an order line's drop-shipped units (the live-key unique index guards it)."""
    return f"drop:{order_id.hex}:{line_no}"


def location_of(vendor: str) -> str:
    return f"{PREFIX}{vendor}"[:40]


@dataclass(frozen=True)
class DropShip:
    """An open drop-ship shipment: what its vendor is to ship, to whom, on which PO."""

    number: str
    order_number: str
    channel: str
    vendor: str
    purchase_order: str
    status: str
    units: int
    address: dict[str, Any]
    created_at: datetime


# --- routing (called by sync_order, inside its transaction) ---


def wants_placed(event: Event) -> bool:
    """An order placed released: `sync_order` skips its `order.released` (its `order.allocated` follows), and an
    order of unstocked lines has no `order.allocated` (see `on_order_placed`). A pending order released later
    is synced through its `order.released`."""
    return event.type == "order.placed" and event.payload.get("status") == "released"


def on_order_placed(uow: UnitOfWork, event: Event) -> None:
    """Sync a just-released order when it has drop-ship lines (a second sync of a stocked order is a no-op)."""
    skus = sorted({str(line["sku"]) for line in event.payload.get("lines", [])})
    if skus and any(f.kind == KIND for f in catalog.selling_facts(uow, skus=skus).values()):
        from ordersmith.fulfillment.service.syncing import sync_order  # syncing calls `route` of this module

        sync_order(uow, order_id=uuid.UUID(event.payload["order_id"]))


def route(uow: UnitOfWork, *, order: orders.Order, shipments: dict[uuid.UUID, ShipmentRow]) -> None:
    """Bring the order's drop-ship shipments and POs in line with its drop-ship lines (see the module docstring):
    units no longer open leave their shipment and are cancelled on the PO; a released order's open units not yet
    on a live shipment are routed to their vendor. A line whose item has no vendor to buy from (no default
    vendor, an inactive one, no listed cost) waits and is logged; it is routed by the next sync after that."""
    drops = {s.id: s for s in shipments.values() if s.kind == KIND}
    facts = catalog.selling_facts(uow, skus=sorted({line.sku for line in order.lines})) if order.lines else {}
    lines = [line for line in order.lines if facts[catalog_rules.sku_key(line.sku)].kind == KIND]
    if not lines and not drops:
        return
    live = _live_lines(uow, order.id, drops)
    _cut(uow, order, drops, live)
    _settle_orders(uow, drops, live)
    if order.status in _RELEASABLE:
        routed = {line.key for line in live if line.status == "open"}
        todo = [
            (line, _open(line))
            for line in lines
            if _open(line) and key_of(order.id, line.line_no) not in routed
        ]
        _route(
            uow,
            order,
            shipments,
            todo,
            {line.sku: facts[catalog_rules.sku_key(line.sku)].id for line, _ in todo},
        )
    for shipment in shipments.values():
        if shipment.kind == KIND:
            shipment.releasable = False  # a vendor's work: never in one of our waves


def _open(line: orders.OrderLine) -> int:
    return max(line.quantity - line.cancelled - line.shipped - line.reserved - line.backordered, 0)


def _live_lines(
    uow: UnitOfWork, order_id: uuid.UUID, drops: dict[uuid.UUID, ShipmentRow]
) -> list[ShipmentLineRow]:
    if not drops:
        return []
    return list(
        uow.session.scalars(
            sa.select(ShipmentLineRow)
            .where(ShipmentLineRow.order_id == order_id, ShipmentLineRow.shipment_id.in_(sorted(drops)))
            .order_by(ShipmentLineRow.line_no)
        )
    )


def _cut(
    uow: UnitOfWork, order: orders.Order, drops: dict[uuid.UUID, ShipmentRow], live: list[ShipmentLineRow]
) -> None:
    """Units on open drop-ship shipments beyond what the order still wants of their line leave them."""
    left = {line.line_no: _open(line) for line in order.lines}
    for row in live:
        shipment = drops[row.shipment_id]
        if row.status != "open" or shipment.status not in transitions.OPEN:
            continue
        keep = min(row.quantity, left.get(row.line_no, 0))
        left[row.line_no] = left.get(row.line_no, 0) - keep
        if keep == row.quantity:
            continue
        cut = row.quantity - keep
        shipment.units -= cut
        if keep == 0:
            row.status = "removed"
            shipment.lines -= 1
        else:
            row.quantity = row.picked = row.packed = keep
        shipment.version += 1
        shipment.updated_at = uow.now()
        record(
            uow,
            shipment,
            "shipment.line_removed" if keep == 0 else "shipment.line_shortened",
            {"line": row.line_no, "sku": row.sku, "quantity": cut},
            emit=False,
        )
    for shipment in drops.values():
        if shipment.status in transitions.OPEN and shipment.units == 0:
            move(uow, shipment, "cancel", {"reason": "the order no longer wants its units"})


def _settle_orders(uow: UnitOfWork, drops: dict[uuid.UUID, ShipmentRow], live: list[ShipmentLineRow]) -> None:
    """Each drop-ship PO keeps open exactly the units its open shipments still hold: the rest is cancelled."""
    holding: dict[str, dict[int, int]] = {}
    for shipment in drops.values():
        if shipment.purchase_order:
            holding.setdefault(shipment.purchase_order, {})
    for row in live:
        shipment = drops[row.shipment_id]
        if row.status == "open" and shipment.status in transitions.OPEN and shipment.purchase_order:
            by_line = holding[shipment.purchase_order]
            by_line[row.line_no] = by_line.get(row.line_no, 0) + row.quantity
    for number, by_line in sorted(holding.items()):
        po = purchasing.get_purchase_order(uow, number=number)
        if po.status not in ("sent", "partially_received"):
            continue
        cuts = {
            line.line: line.open - by_line.get(line.sales_line or 0, 0)
            for line in po.lines
            if line.open > by_line.get(line.sales_line or 0, 0)
        }
        if cuts:
            purchasing.cancel_drop_ship_units(
                uow, number=number, lines=cuts, reason="the sales order no longer wants these units"
            )


def _route(
    uow: UnitOfWork,
    order: orders.Order,
    shipments: dict[uuid.UUID, ShipmentRow],
    todo: list[tuple[orders.OrderLine, int]],
    item_ids: dict[str, uuid.UUID],
) -> None:
    if not todo:
        return
    sources = purchasing.drop_ship_sources(uow, item_ids=sorted(set(item_ids.values())))
    groups: dict[tuple[str, str], list[tuple[orders.OrderLine, int]]] = {}
    for line, units in todo:
        vendor = sources.get(item_ids[line.sku])
        if vendor is None:
            log.warning(
                "order %s line %d (%s): no vendor to drop-ship it from yet",
                order.number,
                line.line_no,
                line.sku,
            )
            continue
        groups.setdefault((vendor, line.ship_to), []).append((line, units))
    ship_tos = {s.ref: s for s in order.ship_tos}
    gtins = catalog.barcodes_of(uow, skus=sorted({line.sku for line, _ in todo}))
    for (vendor, ship_to_ref), wanted in sorted(groups.items()):
        address = _address(ship_tos[ship_to_ref])
        try:
            po = purchasing.create_drop_ship_order(
                uow,
                vendor=vendor,
                ship_to=address,
                sales_order=order.number,
                lines=[
                    purchasing.NewLine(line.sku, units, sales_line=line.line_no) for line, units in wanted
                ],
            )
        except (ValidationFailed, NotFound) as refused:  # refused before writing anything: the lines wait
            log.warning("order %s: no drop-ship PO to %s: %s", order.number, vendor, refused)
            continue
        shipment = _new_shipment(
            uow, order, ship_tos[ship_to_ref], address, vendor, po.number, len(shipments) + 1
        )
        shipments[shipment.id] = shipment
        for line, units in wanted:
            uow.session.add(
                ShipmentLineRow(
                    order_id=order.id,
                    shipment_id=shipment.id,
                    key=key_of(order.id, line.line_no),
                    line_no=line.line_no,
                    sku=line.sku,
                    name=line.name[:300],
                    gtin=(gtins.get(line.sku.upper()) or [""])[0],
                    quantity=units,
                    picked=0,
                    packed=0,
                    status="open",
                )
            )
            shipment.units += units
            shipment.lines += 1
            record(
                uow,
                shipment,
                "shipment.line_added",
                {"line": line.line_no, "sku": line.sku, "quantity": units},
                emit=False,
            )
        uow.session.flush()  # the live-key index refuses a second routing of the same units here
        announce(
            uow,
            shipment,
            "shipment.created",
            {
                "ship_to": shipment.ship_to,
                "method": shipment.method,
                "units": shipment.units,
                "purchase_order": po.number,
                "vendor": vendor,
            },
        )


def _address(ship_to: orders.ShipTo) -> dict[str, Any]:
    return {
        "name": ship_to.name,
        "line1": ship_to.line1,
        "line2": ship_to.line2,
        "city": ship_to.city,
        "region": ship_to.region,
        "postal_code": ship_to.postal_code,
        "country": ship_to.country,
        "phone": ship_to.phone,
    }


def _new_shipment(
    uow: UnitOfWork,
    order: orders.Order,
    ship_to: orders.ShipTo,
    address: dict[str, Any],
    vendor: str,
    purchase_order: str,
    seq: int,
) -> ShipmentRow:
    now = uow.now()
    row = ShipmentRow(
        order_id=order.id,
        id=new_id(),
        number=f"{order.number}-{seq}",
        order_number=order.number,
        channel=order.channel,
        location=location_of(vendor),
        ship_to=ship_to.ref,
        address=address,
        method=ship_to.method,
        kind=KIND,
        status="pending",
        releasable=False,
        priority=order.priority,
        rank=-order.priority,
        placed_at=order.placed_at,
        ship_by_on=wave_rules.ship_by(order.placed_at, ship_to.method),
        wave_id=None,
        tote="",
        carrier="",
        service="",
        tracking_number="",
        lines=0,
        units=0,
        note="",
        purchase_order=purchase_order,
        created_at=now,
        updated_at=now,
        picked_at=None,
        packed_at=None,
        shipped_at=None,
        delivered_at=None,
        version=1,
    )
    uow.session.add(row)
    uow.session.flush()
    record(
        uow,
        row,
        "shipment.created",
        {"ship_to": ship_to.ref, "vendor": vendor, "purchase_order": purchase_order},
        emit=False,
    )
    return row


# --- the vendor's confirmation ---


def _drop_row(uow: UnitOfWork, ref: str, *, lock: bool, channel: str | None = None) -> ShipmentRow:
    """The drop-ship shipment by id or number, or by its PO's number (the open one first, else the latest)."""
    try:
        row = shipment_row(uow, ref, lock=lock, channel=channel)
    except NotFound:
        query = (
            sa.select(ShipmentRow)
            .where(ShipmentRow.purchase_order == ref.strip().upper()[:20], ShipmentRow.kind == KIND)
            .order_by(ShipmentRow.status.in_(sorted(transitions.OPEN)).desc(), ShipmentRow.id.desc())
            .limit(1)
        )
        found = uow.session.scalar(query)
        if found is None or (channel is not None and found.channel != channel):
            raise NotFound(f"no drop-ship shipment or PO {ref.strip()[:40]!r}") from None
        row = shipment_row(uow, found.id, lock=lock, channel=channel)
    if row.kind != KIND:
        raise Conflict(f"shipment {row.number} is not drop-shipped: it ships from {row.location}")
    return row


def _units(
    row: ShipmentRow, live: list[ShipmentLineRow], lines: dict[int, int] | None, field: str
) -> dict[int, int]:
    held: dict[int, int] = {}
    for line in live:
        held[line.line_no] = held.get(line.line_no, 0) + line.quantity
    if lines is None:
        return held
    if not lines:
        raise ValidationFailed.on(field, "name at least one line, or leave lines out to confirm them all")
    for n, units in lines.items():
        if n not in held:
            raise ValidationFailed.on(f"{field}.{n}", f"line {n} is not on shipment {row.number}")
        if not 1 <= units <= held[n]:
            raise ValidationFailed.on(f"{field}.{n}", f"between 1 and the {held[n]} unit(s) on the shipment")
    return dict(lines)


@use_case
def confirm_drop_ship(
    uow: UnitOfWork,
    *,
    ref: str,
    tracking: str,
    carrier: str = "",
    lines: dict[int, int] | None = None,
    channel: str | None = None,
) -> Shipment:
    """The vendor shipped the drop-ship shipment `ref` (its number or id, or its PO's number): `lines` (order line
    -> units; all of them when None) ship on the order, are confirmed on the PO (at its cost) and the shipment
    moves to shipped with `tracking` (`shipment.shipped` tells the channel). Units the vendor did not ship yet
    move to a new drop-ship shipment on the same PO.

    Raises:
        NotFound: no such shipment or PO.
        IllegalTransition: the shipment is shipped or cancelled already (a second confirmation changes nothing).
        Conflict: not a drop-ship shipment; the order no longer wants these units, or cannot ship (on hold).
        ValidationFailed: no tracking number; a line not on the shipment, or more units than it holds.
    """
    if not tracking.strip():
        raise ValidationFailed.on("tracking", "the vendor's tracking number is needed (the customer gets it)")
    row = _drop_row(uow, ref, lock=True, channel=channel)
    if row.status not in transitions.OPEN:
        move(uow, row, "confirm")  # raises, naming the state: only one confirmation moves it
    live = lines_of(uow, row, live=True)
    shipped = _units(row, live, lines, "lines")
    row.tracking_number, row.carrier = tracking.strip()[:60], carrier.strip()[:40]
    orders.ship_unstocked(
        uow, ref=str(row.order_id), lines=shipped, tracking=row.tracking_number, shipment=row.number
    )
    if row.purchase_order:
        po = purchasing.get_purchase_order(uow, number=row.purchase_order)
        by_sales_line = {line.sales_line: line.line for line in po.lines}
        purchasing.confirm_drop_ship(
            uow, number=po.number, lines={by_sales_line[n]: units for n, units in shipped.items()}
        )
    rest = _split(uow, row, live, shipped)
    row.shipped_at, row.shipped_by = uow.now(), uow.actor.label
    move(
        uow,
        row,
        "confirm",
        {
            "tracking_number": row.tracking_number,
            "carrier": row.carrier,
            "purchase_order": row.purchase_order or "",
            "drop_ship": True,
            "lines": [{"line": n, "quantity": q} for n, q in sorted(shipped.items())],
            "rest": rest.number if rest else None,
        },
    )
    uow.session.flush()
    return to_shipment(uow, row)


def _split(
    uow: UnitOfWork, row: ShipmentRow, live: list[ShipmentLineRow], shipped: dict[int, int]
) -> ShipmentRow | None:
    """Mark what shipped; what the vendor has not shipped yet goes on a new open shipment of the same PO."""
    left = dict(shipped)
    rest: list[tuple[ShipmentLineRow, int]] = []
    for line in live:
        units = min(left.get(line.line_no, 0), line.quantity)
        left[line.line_no] = left.get(line.line_no, 0) - units
        if units < line.quantity:
            rest.append((line, line.quantity - units))
        if units:
            line.status, line.quantity, line.picked, line.packed = "shipped", units, units, units
        else:
            line.status = "removed"
    row.units = sum(shipped.values())
    row.lines = sum(1 for line in live if line.status == "shipped")
    if not rest:
        return None
    uow.session.flush()  # the keys leave the live index before the new shipment takes them
    seq = uow.session.scalar(sa.select(sa.func.count()).where(ShipmentRow.order_id == row.order_id)) or 0
    now = uow.now()
    other = ShipmentRow(**{c.key: getattr(row, c.key) for c in ShipmentRow.__table__.columns})
    other.id, other.number, other.status, other.units, other.lines = (
        new_id(),
        f"{row.order_number}-{seq + 1}",
        "pending",
        0,
        0,
    )
    other.tracking_number, other.carrier, other.created_at, other.updated_at, other.version = (
        "",
        "",
        now,
        now,
        1,
    )
    other.shipped_at, other.shipped_by = None, ""
    uow.session.add(other)
    uow.session.flush()
    for line, units in rest:
        uow.session.add(
            ShipmentLineRow(
                order_id=line.order_id,
                shipment_id=other.id,
                key=line.key,
                line_no=line.line_no,
                sku=line.sku,
                name=line.name,
                gtin=line.gtin,
                quantity=units,
                picked=0,
                packed=0,
                status="open",
            )
        )
        other.units += units
        other.lines += 1
    record(
        uow,
        other,
        "shipment.created",
        {"ship_to": other.ship_to, "purchase_order": other.purchase_order, "split_from": row.number},
        emit=False,
    )
    announce(
        uow,
        other,
        "shipment.created",
        {
            "ship_to": other.ship_to,
            "method": other.method,
            "units": other.units,
            "purchase_order": other.purchase_order,
        },
    )
    return other


_COLUMNS = ("po_number", "shipment", "tracking", "carrier", "line", "quantity")


@dataclass
class _Group:
    """One shipment's rows in a CSV: its tracking number and the lines shipped (None: all of them)."""

    ref: str
    first_row: int
    tracking: str
    carrier: str
    lines: dict[int, int] | None


@use_case
def import_drop_ship_confirmations(uow: UnitOfWork, *, csv_text: str) -> dict[str, int]:
    """A vendor's CSV of what it shipped: columns `po_number` or `shipment`, `tracking`, `carrier`, and optionally
    `line` (the order line) with `quantity` (its units shipped; the whole line when empty). A shipment's rows share
    one tracking number; a row without `line` ships everything on its shipment. Every row is checked first (each
    error names `rows.<row>.<column>`, the header being row 1), then all are applied in this one transaction: all
    or nothing. Returns {"rows", "shipments", "units"}.

    Raises:
        ValidationFailed: no rows, missing or unknown columns, any bad row (every error at once); nothing changes.
        IllegalTransition, Conflict: as `confirm_drop_ship`, should a shipment change between check and apply.
    """
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "tracking" not in header or not {"po_number", "shipment"} & set(header):
        raise ValidationFailed.on(
            "csv", "columns: po_number or shipment, tracking, carrier; optional line, quantity"
        )
    unknown = sorted(set(header) - set(_COLUMNS))
    if unknown:
        raise ValidationFailed.on("csv", f"unknown column(s): {', '.join(unknown)[:200]}")
    reader.fieldnames = header
    groups: dict[uuid.UUID, _Group] = {}
    errors: list[FieldError] = []
    count = 0
    for number, raw in enumerate(reader, start=2):
        count += 1
        values = {k: (v or "").strip() for k, v in raw.items() if k in _COLUMNS and isinstance(v, str)}
        _check_row(uow, number, values, groups, errors)
    if count == 0:
        raise ValidationFailed.on("csv", "no rows")
    if errors:
        raise ValidationFailed(f"{len(errors)} error(s) in the CSV: nothing was applied", errors=errors[:100])
    units = 0
    for group in groups.values():
        done = confirm_drop_ship(
            uow, ref=group.ref, tracking=group.tracking, carrier=group.carrier, lines=group.lines
        )
        units += sum(line.quantity for line in done.lines if line.status == "shipped")
    return {"rows": count, "shipments": len(groups), "units": units}


def _check_row(
    uow: UnitOfWork,
    number: int,
    values: dict[str, str],
    groups: dict[uuid.UUID, _Group],
    errors: list[FieldError],
) -> None:
    """Check one row (appending its errors) and add it to its shipment's group."""
    before = len(errors)

    def fail(column: str, message: str) -> None:
        errors.append(FieldError(f"rows.{number}.{column}", message))

    column = "shipment" if values.get("shipment") else "po_number"
    ref, tracking, carrier = values.get(column, ""), values.get("tracking", ""), values.get("carrier", "")
    line_no, quantity = _whole(values.get("line", "")), _whole(values.get("quantity", ""))
    if not tracking or len(tracking) > 60:
        fail("tracking", "the vendor's tracking number (1-60 characters)")
    if len(carrier) > 40:
        fail("carrier", "at most 40 characters")
    if values.get("line") and line_no is None:
        fail("line", "an order line number (1 or more)")
    if values.get("quantity") and (quantity is None or line_no is None):
        fail("quantity", "a number of units (1 or more) with its line")
    if not ref:
        fail(column, "name the PO number or the shipment")
        return
    try:
        row = _drop_row(uow, ref, lock=False)
    except (NotFound, Conflict):
        fail(column, f"no drop-ship shipment or PO {ref[:40]!r}")
        return
    if row.status not in transitions.OPEN:
        fail(column, f"shipment {row.number} is {row.status} already")
        return
    if len(errors) > before:
        return
    group = groups.get(row.id)
    if group is None:
        group = groups[row.id] = _Group(
            row.number, number, tracking, carrier, None if line_no is None else {}
        )
    elif tracking != group.tracking:
        fail("tracking", f"shipment {row.number} has tracking {group.tracking!r} on row {group.first_row}")
        return
    elif group.lines is None or line_no is None:
        fail(
            "line", f"shipment {row.number} is on row {group.first_row} too: name a line on each of its rows"
        )
        return
    if group.lines is None or line_no is None:
        return
    held = {line.line_no: line.quantity for line in lines_of(uow, row, live=True)}
    if line_no not in held:
        fail("line", f"line {line_no} is not on shipment {row.number}")
    elif line_no in group.lines:
        fail("line", f"line {line_no} of shipment {row.number} is on an earlier row")
    elif (quantity or held[line_no]) > held[line_no]:
        fail("quantity", f"at most the {held[line_no]} unit(s) of line {line_no} on shipment {row.number}")
    else:
        group.lines[line_no] = quantity or held[line_no]


def _whole(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= 1_000_000 else None


# --- reading ---


def _summary(row: ShipmentRow) -> DropShip:
    return DropShip(
        number=row.number,
        order_number=row.order_number,
        channel=row.channel,
        vendor=row.location.removeprefix(PREFIX),
        purchase_order=row.purchase_order or "",
        status=row.status,
        units=row.units,
        address=dict(row.address),
        created_at=row.created_at,
    )


@use_case(readonly=True)
def list_drop_ships(uow: UnitOfWork, *, cursor: str | None = None, limit: int = 50) -> Page[DropShip]:
    """Open drop-ship shipments (waiting on their vendor), newest first."""
    return keyset_page(
        uow,
        sa.select(ShipmentRow).where(_OPEN_SQL),
        keys=[ShipmentRow.id],
        to_item=_summary,
        cursor=cursor,
        limit=limit,
        descending=True,
    )
