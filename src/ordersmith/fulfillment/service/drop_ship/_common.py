"""What the drop-ship modules share: the shipment kind, its location prefix, the line key, the summary."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.fulfillment.rules import transitions
from ordersmith.fulfillment.tables import ShipmentRow

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
class DropShipLine:
    """Units of one order line the vendor is to ship."""

    line: int
    sku: str
    name: str
    quantity: int


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
    lines: tuple[DropShipLine, ...] = ()
