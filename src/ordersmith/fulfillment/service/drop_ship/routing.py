"""Routing a released order's drop-ship lines to shipments and drop-ship POs (the last step of `sync_order`)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from ordersmith.catalog import rules as catalog_rules
from ordersmith.catalog import service as catalog
from ordersmith.fulfillment.rules import transitions
from ordersmith.fulfillment.service._common import (
    announce,
    move,
    record,
)
from ordersmith.fulfillment.service.drop_ship._common import (
    _RELEASABLE,
    KIND,
    key_of,
    location_of,
    log,
)
from ordersmith.fulfillment.tables import ShipmentLineRow, ShipmentRow
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.events import Event
from ordersmith.orders import service as orders
from ordersmith.platform.db import UnitOfWork
from ordersmith.purchasing import service as purchasing

# --- routing (called by sync_order, inside its transaction) ---


def wants_placed(event: Event) -> bool:
    """An order placed released: `sync_order` skips its `order.released` (its `order.allocated` follows), and an
    order of unstocked lines has no `order.allocated` (see `on_order_placed`). A pending order released later
    is synced through its `order.released`."""
    if event.type != "order.placed" or event.payload.get("status") != "released":
        return False
    # Only an order with units nothing holds can have drop-ship lines (an event without the figure: ask).
    return any(int(line.get("unallocated", 1)) > 0 for line in event.payload.get("lines", []))


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
    if not drops and not any(_open(line) for line in order.lines):
        return  # every unit is held, backordered, shipped or cancelled: nothing a vendor could ship
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


def has_open_units(order: orders.Order) -> bool:
    """Whether any unit of the order is open (not reserved, backordered, shipped or cancelled): only such units can
    be a vendor's to ship; an order without any and without drop-ship shipments is none of `route`'s business."""
    return any(_open(line) for line in order.lines)


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
    from ordersmith.fulfillment.service.syncing import (
        new_shipment_row,  # syncing calls `route` of this module
    )

    row = new_shipment_row(
        uow,
        order,
        ship_to,
        location=location_of(vendor),
        seq=seq,
        kind=KIND,
        releasable=False,
        purchase_order=purchase_order,
    )
    row.address = address
    record(
        uow,
        row,
        "shipment.created",
        {"ship_to": ship_to.ref, "vendor": vendor, "purchase_order": purchase_order},
        emit=False,
    )
    return row
