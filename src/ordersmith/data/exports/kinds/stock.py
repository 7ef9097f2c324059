"""Stock positions, the movement ledger and purchase orders."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersmith.catalog.tables import ItemRow
from ordersmith.data.exports.kinds._base import ExportColumn, ExportKind, amounts, ints, placed_between, texts
from ordersmith.inventory.tables import LocationRow, StockLevelRow, StockMovementRow
from ordersmith.purchasing.tables import PurchaseOrderLineRow, PurchaseOrderRow, VendorRow

items, locations = ItemRow.__table__, LocationRow.__table__


def _location(filters: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    return [locations.c.code == filters["location"]] if filters.get("location") else []


def _inventory(filters: dict[str, Any]) -> sa.Select[Any]:
    levels = StockLevelRow.__table__
    return (
        sa.select(
            items.c.sku,
            items.c.name,
            locations.c.code,
            levels.c.on_hand,
            levels.c.reserved,
            (levels.c.on_hand - levels.c.reserved).label("available"),
            levels.c.safety_stock,
            levels.c.updated_at,
        )
        .select_from(
            levels.join(items, items.c.id == levels.c.item_id).join(
                locations, locations.c.id == levels.c.location_id
            )
        )
        .where(*_location(filters))
        .order_by(items.c.sku, locations.c.code)
    )


INVENTORY = ExportKind(
    "inventory",
    "Inventory positions: on hand, reserved and available per item and location",
    ("location",),
    (
        *texts("sku", "name", "location"),
        *ints("on_hand", "reserved", "available", "safety_stock"),
        ExportColumn("updated_at", "datetime"),
    ),
    _inventory,
)


def _movements(filters: dict[str, Any]) -> sa.Select[Any]:
    moves = StockMovementRow.__table__
    return (
        sa.select(
            moves.c.at,
            items.c.sku,
            locations.c.code,
            moves.c.on_hand_delta,
            moves.c.reserved_delta,
            moves.c.reason,
            moves.c.reference,
            moves.c.actor,
        )
        .select_from(
            moves.join(items, items.c.id == moves.c.item_id).join(
                locations, locations.c.id == moves.c.location_id
            )
        )
        .where(*placed_between(moves.c.at, filters.get("from"), filters.get("to")), *_location(filters))
        .order_by(moves.c.at, moves.c.id)
    )


STOCK_MOVEMENTS = ExportKind(
    "stock_movements",
    "The stock movement ledger",
    ("from", "to", "location"),
    (
        ExportColumn("at", "datetime"),
        *texts("sku", "location"),
        *ints("on_hand_delta", "reserved_delta"),
        *texts("reason", "reference", "actor"),
    ),
    _movements,
)


def _purchase_orders(filters: dict[str, Any]) -> sa.Select[Any]:
    pos, po_lines, vendors = PurchaseOrderRow.__table__, PurchaseOrderLineRow.__table__, VendorRow.__table__
    where = placed_between(pos.c.created_at, filters.get("from"), filters.get("to"))
    if filters.get("status"):
        where.append(pos.c.status == filters["status"])
    return (
        sa.select(
            pos.c.number,
            vendors.c.code,
            locations.c.code.label("location"),
            pos.c.kind,
            pos.c.status,
            pos.c.created_at,
            po_lines.c.line_no,
            items.c.sku,
            po_lines.c.ordered,
            po_lines.c.received,
            po_lines.c.cancelled,
            pos.c.currency,
            po_lines.c.unit_cost_minor,
            po_lines.c.expected_on,
        )
        .select_from(
            pos.join(po_lines, po_lines.c.purchase_order_id == pos.c.id)
            .join(vendors, vendors.c.id == pos.c.vendor_id)
            .join(locations, locations.c.id == pos.c.location_id)
            .join(items, items.c.id == po_lines.c.item_id)
        )
        .where(*where)
        .order_by(pos.c.created_at, pos.c.id, po_lines.c.line_no)
    )


PURCHASE_ORDERS = ExportKind(
    "purchase_orders",
    "Purchase order lines with their PO's vendor, location, kind and status",
    ("from", "to", "status"),
    (
        *texts("number", "vendor", "location", "kind", "status"),
        ExportColumn("created_at", "datetime"),
        *ints("line_no"),
        *texts("sku"),
        *ints("ordered", "received", "cancelled"),
        *texts("currency"),
        *amounts("unit_cost"),
        ExportColumn("expected_on", "date"),
    ),
    _purchase_orders,
)
