"""Fulfillment tables: shipments (one order, location and ship-to), their lines (each one allocation part of an
order line, named by its reservation key), packages, timeline; waves; bins and the primary bin of an item at a
location; cycle-count tasks from short picks; carrier tracking events already handled.

Invariants: a reservation key is on at most one live shipment (a unique partial index, so no two shipments can
ever ship the same units); a shipment is in at most one wave (`wave_id` set once, by a conditional UPDATE);
tables owned by an order carry `order_id` in their primary key (Citus co-location).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base

# Partial-index predicates, also the queries' own WHERE text: SQLite uses a partial index only when the query says
# what its predicate says (an IN list of bound parameters proves nothing to it).
WAITING_SQL = "status = 'pending' AND wave_id IS NULL AND releasable"
_LIVE_LINE = "status = 'open'"
IN_TRANSIT_SQL = "status IN ('shipped', 'exception') AND tracking_number <> ''"
OPEN_WORK_SQL = "status IN ('pending', 'picking', 'picked', 'packed', 'exception')"


class ShipmentRow(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        sa.Index("ix_shipments_id", "id", unique=True),
        # A wave is done when none of its shipments is still open: one probe per status, not a walk of the wave.
        sa.Index("ix_shipments_wave", "wave_id", "status"),
        sa.Index("ix_shipments_tracking", "tracking_number"),
        sa.Index("ix_shipments_purchase_order", "purchase_order"),  # a drop-ship confirmation names its PO
        sa.Index("ix_shipments_status", "location", "status", "updated_at"),
        sa.Index("ix_shipments_picked", "location", "picked_at"),
        # The warehouse's worklist counts what has not left yet: only those rows are in the index.
        sa.Index(
            "ix_shipments_open_work",
            "location",
            "status",
            postgresql_where=sa.text(OPEN_WORK_SQL),
            sqlite_where=sa.text(OPEN_WORK_SQL),
        ),
        sa.Index("ix_shipments_shipped", "location", "shipped_at"),
        # Tracking polls only parcels on their way, the longest unasked first (never the delivered history).
        sa.Index(
            "ix_shipments_in_transit",
            "tracked_at",
            postgresql_where=sa.text(IN_TRANSIT_SQL),
            sqlite_where=sa.text(IN_TRANSIT_SQL),
        ),
        # Wave building reads only what waits for a wave, best first (never the shipped history).
        sa.Index(
            "ix_shipments_waiting",
            "location",
            "rank",
            "placed_at",
            postgresql_where=sa.text(WAITING_SQL),
            sqlite_where=sa.text(WAITING_SQL),
        ),
        sa.CheckConstraint("units >= 0", name="ck_shipments_units"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(24), unique=True)
    order_number: Mapped[str] = mapped_column(sa.String(20))
    channel: Mapped[str] = mapped_column(sa.String(40))
    location: Mapped[str] = mapped_column(sa.String(40))
    ship_to: Mapped[str] = mapped_column(sa.String(40))
    address: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    method: Mapped[str] = mapped_column(sa.String(40))  # the shipping method the customer chose
    kind: Mapped[str] = mapped_column(sa.String(12))  # ship | pickup | taken | drop_ship
    status: Mapped[str] = mapped_column(sa.String(12))
    releasable: Mapped[bool]  # the order is released (not held, pending or cancelled)
    priority: Mapped[int] = mapped_column(default=0)
    rank: Mapped[int] = mapped_column(
        default=0
    )  # -priority: waves take ascending (rank, placed_at) from an index
    placed_at: Mapped[datetime]
    ship_by_on: Mapped[date | None]
    wave_id: Mapped[uuid.UUID | None]
    tote: Mapped[str] = mapped_column(sa.String(20), default="")
    carrier: Mapped[str] = mapped_column(sa.String(40), default="")
    service: Mapped[str] = mapped_column(sa.String(40), default="")
    tracking_number: Mapped[str] = mapped_column(sa.String(60), default="")
    lines: Mapped[int] = mapped_column(default=0)
    units: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    purchase_order: Mapped[str | None] = mapped_column(sa.String(20))  # a drop-ship's PO to its vendor
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    picked_at: Mapped[datetime | None]
    packed_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    tracked_at: Mapped[
        datetime | None
    ]  # the carrier was last asked (polling takes the longest unasked first)
    picked_by: Mapped[str] = mapped_column(sa.String(200), default="")
    packed_by: Mapped[str] = mapped_column(sa.String(200), default="")
    shipped_by: Mapped[str] = mapped_column(sa.String(200), default="")
    version: Mapped[int] = mapped_column(default=1)


class ShipmentLineRow(Base):
    __tablename__ = "shipment_lines"
    __table_args__ = (
        # The guard that no two shipments ever hold the same allocation part.
        sa.Index(
            "ux_shipment_lines_live_key",
            "key",
            unique=True,
            postgresql_where=sa.text(_LIVE_LINE),
            sqlite_where=sa.text(_LIVE_LINE),
        ),
        sa.CheckConstraint(
            "quantity > 0 AND picked >= 0 AND packed >= 0 AND packed <= picked AND picked <= quantity",
            name="ck_shipment_lines_units",
        ),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    shipment_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)  # the allocation part's reservation
    line_no: Mapped[int]
    sku: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(300))
    gtin: Mapped[str] = mapped_column(sa.String(14), default="")
    quantity: Mapped[int]
    picked: Mapped[int] = mapped_column(default=0)
    packed: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(12))  # open | removed | shipped


class PackageRow(Base):
    __tablename__ = "packages"
    __table_args__ = (
        sa.Index("ix_packages_shipment", "shipment_id"),
        sa.Index("ix_packages_tracking", "tracking_number"),
        sa.CheckConstraint(
            "weight_g >= 0 AND length_mm >= 0 AND width_mm >= 0 AND height_mm >= 0", name="ck_packages_sizes"
        ),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    shipment_id: Mapped[uuid.UUID]
    seq: Mapped[int]
    weight_g: Mapped[int]
    length_mm: Mapped[int] = mapped_column(default=0)
    width_mm: Mapped[int] = mapped_column(default=0)
    height_mm: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(12))  # open | labelling (claimed) | labelled | voided
    claimed_at: Mapped[datetime | None]  # when a label purchase claimed it (a stale claim may be taken over)
    carrier: Mapped[str] = mapped_column(sa.String(40), default="")
    service: Mapped[str] = mapped_column(sa.String(40), default="")
    tracking_number: Mapped[str] = mapped_column(sa.String(60), default="")
    label_id: Mapped[str] = mapped_column(sa.String(100), default="")
    label_format: Mapped[str] = mapped_column(sa.String(8), default="")
    label: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    cost_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    created_at: Mapped[datetime]
    labelled_at: Mapped[datetime | None]
    manifest_id: Mapped[str] = mapped_column(sa.String(100), default="")


class ShipmentEventRow(Base):
    __tablename__ = "shipment_events"
    __table_args__ = (sa.Index("ix_shipment_events_shipment", "shipment_id", "id"),)

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # UUIDv7: time order
    shipment_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(sa.String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    actor: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime]


class WaveRow(Base):
    __tablename__ = "waves"
    __table_args__ = (sa.Index("ix_waves_location", "location", "status", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    location: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(12))  # released | picking | done | cancelled
    filters: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    shipments: Mapped[int]
    units: Mapped[int]
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class BinRow(Base):
    __tablename__ = "bins"
    __table_args__ = (sa.Index("ix_bins_walk", "location", "walk_sequence"),)

    location: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    zone: Mapped[str] = mapped_column(sa.String(10), default="")
    aisle: Mapped[str] = mapped_column(sa.String(10), default="")
    bay: Mapped[str] = mapped_column(sa.String(10), default="")
    level: Mapped[str] = mapped_column(sa.String(10), default="")
    walk_sequence: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)


class ItemBinRow(Base):
    """The primary bin an item is picked from at a location."""

    __tablename__ = "item_bins"

    location: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    bin: Mapped[str] = mapped_column(sa.String(40))


class CountTaskRow(Base):
    __tablename__ = "count_tasks"
    __table_args__ = (sa.Index("ix_count_tasks_open", "location", "status", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    location: Mapped[str] = mapped_column(sa.String(40))
    bin: Mapped[str] = mapped_column(sa.String(40), default="")
    sku: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.String(40))
    missing: Mapped[int] = mapped_column(default=0)  # units the picker did not find
    reference: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(12))  # open | done
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class LocationDockRow(Base):
    """Where a location ships from, and how: its address on labels, label format, carrier and cartons."""

    __tablename__ = "location_docks"

    location: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    address: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    label_format: Mapped[str] = mapped_column(sa.String(8), default="pdf")  # pdf | zpl
    carrier: Mapped[str] = mapped_column(sa.String(40), default="sandbox")
    updated_at: Mapped[datetime]


class CarrierEventRow(Base):
    """A carrier's tracking notification, kept once (a delivery repeated is acknowledged and ignored)."""

    __tablename__ = "carrier_events"

    carrier: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    tracking_number: Mapped[str] = mapped_column(sa.String(60))
    status: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[datetime]
    received_at: Mapped[datetime]
