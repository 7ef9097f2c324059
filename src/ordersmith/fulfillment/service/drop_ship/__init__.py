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

import uuid

import sqlalchemy as sa

from ordersmith.fulfillment.service.drop_ship._common import (
    _OPEN_SQL,
    KIND,
    PREFIX,
    DropShip,
    DropShipLine,
    key_of,
    location_of,
)
from ordersmith.fulfillment.service.drop_ship.confirming import (
    confirm_drop_ship,
    import_drop_ship_confirmations,
)
from ordersmith.fulfillment.service.drop_ship.routing import (
    has_open_units,
    on_order_placed,
    route,
    wants_placed,
)
from ordersmith.fulfillment.tables import ShipmentLineRow, ShipmentRow
from ordersmith.kernel.pagination import Page
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

# --- reading ---


def _summary(row: ShipmentRow, lines: list[DropShipLine]) -> DropShip:
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
        lines=tuple(lines),
    )


@use_case(readonly=True)
def list_drop_ships(
    uow: UnitOfWork, *, vendor: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page[DropShip]:
    """Open drop-ship shipments (waiting on their vendor), newest first, each with its open lines; `vendor` (its
    code) keeps one vendor's."""
    query = sa.select(ShipmentRow).where(_OPEN_SQL)
    if vendor:
        query = query.where(ShipmentRow.location == location_of(vendor.strip().upper()))
    page = keyset_page(
        uow,
        query,
        keys=[ShipmentRow.id],
        to_item=lambda row: row,
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    held: dict[uuid.UUID, list[DropShipLine]] = {row.id: [] for row in page.items}
    if held:
        lines = uow.session.scalars(
            sa.select(ShipmentLineRow)
            .where(
                ShipmentLineRow.order_id.in_({row.order_id for row in page.items}),
                ShipmentLineRow.shipment_id.in_(held),
                ShipmentLineRow.status == "open",
            )
            .order_by(ShipmentLineRow.line_no, ShipmentLineRow.key)
        )
        for line in lines:
            held[line.shipment_id].append(DropShipLine(line.line_no, line.sku, line.name, line.quantity))
    return Page([_summary(row, held[row.id]) for row in page.items], page.next_cursor)


__all__ = [
    "KIND",
    "PREFIX",
    "DropShip",
    "DropShipLine",
    "confirm_drop_ship",
    "has_open_units",
    "import_drop_ship_confirmations",
    "key_of",
    "list_drop_ships",
    "location_of",
    "on_order_placed",
    "route",
    "wants_placed",
]
