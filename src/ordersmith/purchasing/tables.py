"""Purchasing tables. Costs are integer minor units beside their currency; PO lines carry ordered, received and
cancelled quantities guarded by CHECK constraints, so no statement can store an impossible line. A drop-ship PO
(`kind = 'drop_ship'`) counts the units its vendor confirmed shipped to the customer as `received`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class VendorRow(Base):
    __tablename__ = "vendors"
    __table_args__ = (
        sa.CheckConstraint("lead_time_days >= 0", name="ck_vendor_lead_time"),
        sa.CheckConstraint("over_receipt_pct BETWEEN 0 AND 100", name="ck_vendor_over_receipt"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    currency: Mapped[str] = mapped_column(sa.String(3))
    terms: Mapped[str] = mapped_column(sa.String(40))  # e.g. NET30
    lead_time_days: Mapped[int]
    over_receipt_pct: Mapped[int] = mapped_column(default=0)
    contact_name: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[str] = mapped_column(sa.String(320), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class VendorItemRow(Base):
    __tablename__ = "vendor_items"
    __table_args__ = (
        sa.CheckConstraint("cost_minor >= 0", name="ck_vendor_item_cost"),
        sa.CheckConstraint("min_order_qty >= 1", name="ck_vendor_item_moq"),
        sa.CheckConstraint("pack_size >= 1", name="ck_vendor_item_pack"),
        sa.UniqueConstraint("vendor_id", "vendor_sku", name="uq_vendor_items_vendor_sku"),
    )

    vendor_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("vendors.id", name="fk_vendor_items_vendor"), primary_key=True
    )
    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    vendor_sku: Mapped[str] = mapped_column(sa.String(64))
    cost_minor: Mapped[int] = mapped_column(sa.BigInteger)
    min_order_qty: Mapped[int] = mapped_column(default=1)
    pack_size: Mapped[int] = mapped_column(default=1)
    # Days from order to arrival for this item from this vendor; None: the vendor's own lead time.
    lead_time_days: Mapped[int | None]
    updated_at: Mapped[datetime]


class PurchaseOrderRow(Base):
    __tablename__ = "purchase_orders"
    __table_args__ = (
        sa.Index("ix_purchase_orders_status", "status", "id"),
        sa.Index("uq_purchase_orders_source_reference", "source_reference", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    vendor_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("vendors.id", name="fk_purchase_orders_vendor"), index=True
    )
    location_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("locations.id", name="fk_purchase_orders_location")
    )
    status: Mapped[str] = mapped_column(sa.String(20))
    # stock | drop_ship: a drop-ship PO's vendor ships straight to `ship_to` (the customer of `sales_order`);
    # nothing is received at `location_id` (the buying location whose books carry its cost).
    kind: Mapped[str] = mapped_column(sa.String(12), default="stock", server_default="stock")
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True))
    sales_order: Mapped[str | None] = mapped_column(sa.String(20))
    # The PO's number in the system it was imported from (upper case): one PO per reference, ever.
    source_reference: Mapped[str | None] = mapped_column(sa.String(60))
    currency: Mapped[str] = mapped_column(sa.String(3))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(sa.String(320))
    approved_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]  # received in full, closed or cancelled
    version: Mapped[int] = mapped_column(default=1)


class PurchaseOrderLineRow(Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        sa.CheckConstraint("ordered > 0", name="ck_po_line_ordered"),
        sa.CheckConstraint("received >= 0", name="ck_po_line_received"),
        sa.CheckConstraint("cancelled >= 0", name="ck_po_line_cancelled"),
        sa.CheckConstraint("unit_cost_minor >= 0", name="ck_po_line_cost"),
        sa.UniqueConstraint("purchase_order_id", "line_no", name="uq_po_lines_number"),
        sa.Index("ix_po_lines_item", "item_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("purchase_orders.id", name="fk_po_lines_order", ondelete="CASCADE")
    )
    line_no: Mapped[int]
    item_id: Mapped[uuid.UUID]
    vendor_sku: Mapped[str] = mapped_column(sa.String(64), default="")
    ordered: Mapped[int]
    received: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    unit_cost_minor: Mapped[int] = mapped_column(sa.BigInteger)
    expected_on: Mapped[date | None]
    sales_line: Mapped[int | None]  # a drop-ship PO: the line of the sales order these units are


class ReceiptRow(Base):
    __tablename__ = "purchase_receipts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("purchase_orders.id", name="fk_receipts_order"), index=True
    )
    location_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("locations.id", name="fk_receipts_location"))
    reference: Mapped[str] = mapped_column(sa.String(200), default="")  # packing slip, ASN …
    received_at: Mapped[datetime]
    received_by: Mapped[str] = mapped_column(sa.String(320))


class ReceiptLineRow(Base):
    __tablename__ = "purchase_receipt_lines"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="ck_receipt_line_quantity"),)

    receipt_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("purchase_receipts.id", name="fk_receipt_lines_receipt", ondelete="CASCADE"),
        primary_key=True,
    )
    line_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("purchase_order_lines.id", name="fk_receipt_lines_line"), primary_key=True
    )
    quantity: Mapped[int]


class ReplenishmentRuleRow(Base):
    __tablename__ = "replenishment_rules"
    __table_args__ = (
        # A maximum belongs to min/max rules only: a reorder-point rule may name a minimum and leave max_qty 0.
        sa.CheckConstraint(
            "min_qty >= 0 AND max_qty >= 0 AND (method <> 'min_max' OR max_qty >= min_qty)",
            name="ck_replenishment_min_max",
        ),
        sa.CheckConstraint("reorder_qty >= 0", name="ck_replenishment_reorder_qty"),
    )

    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    location_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("locations.id", name="fk_replenishment_location"), primary_key=True
    )
    method: Mapped[str] = mapped_column(sa.String(20))
    min_qty: Mapped[int] = mapped_column(default=0)
    max_qty: Mapped[int] = mapped_column(default=0)
    reorder_qty: Mapped[int] = mapped_column(default=0)
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("vendors.id", name="fk_replenishment_vendor")
    )  # None: the item's default vendor, else its cheapest
    updated_at: Mapped[datetime]
