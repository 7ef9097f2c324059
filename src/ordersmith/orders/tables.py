"""Order tables: orders (their ship-tos inline), lines (their allocations inline, one reservation each), holds,
events; returns.

Money is integer minor units beside the order's currency. Every table owned by an order carries `order_id` in its
primary key (Citus co-location). A line's quantities are guarded by CHECK constraints: what is reserved,
backordered and cancelled never exceeds what was ordered.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base

# The partial index's predicate, stated in the queries that should use it (see ix_orders_release_due).
RELEASE_DUE_SQL = "status = 'pending' AND release_at IS NOT NULL"


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("channel", "external_id", name="uq_orders_channel_external_id"),
        # The orders list is newest placed first, filtered by any of these: each index walks one value's orders in
        # that order and stops at the page's end (ADR 0028).
        sa.Index("ix_orders_status", "status", "placed_at"),
        sa.Index("ix_orders_fulfillment_status", "fulfillment_status", "placed_at"),
        sa.Index("ix_orders_source_code", "source_code", "placed_at"),
        sa.Index("ix_orders_channel_placed", "channel", "placed_at"),
        sa.Index("ix_orders_customer", "customer_id", "placed_at"),
        sa.Index("ix_orders_placed", "placed_at"),
        sa.Index("ix_orders_address_key", "address_key", "placed_at"),
        sa.Index("ix_orders_card_key", "card_key", "placed_at"),
        sa.Index("ix_orders_external_id", "external_id"),  # search as you type by a channel's order id
        sa.CheckConstraint("total_minor >= 0", name="ck_orders_total"),
        # The release job reads only orders waiting out their channel's edit window, the earliest first.
        sa.Index(
            "ix_orders_release_due",
            "release_at",
            postgresql_where=sa.text(RELEASE_DUE_SQL),
            sqlite_where=sa.text(RELEASE_DUE_SQL),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(40))
    division: Mapped[str] = mapped_column(sa.String(40))
    external_id: Mapped[str | None] = mapped_column(sa.String(100))
    customer_id: Mapped[uuid.UUID | None]
    customer_number: Mapped[str | None] = mapped_column(sa.String(20))
    email: Mapped[str] = mapped_column(sa.String(320), default="")
    status: Mapped[str] = mapped_column(sa.String(20))
    payment_status: Mapped[str] = mapped_column(sa.String(20))
    fulfillment_status: Mapped[str] = mapped_column(sa.String(20))
    currency: Mapped[str] = mapped_column(sa.String(3))
    merchandise_minor: Mapped[int] = mapped_column(sa.BigInteger)
    surcharges_minor: Mapped[int] = mapped_column(sa.BigInteger)
    discounts_minor: Mapped[int] = mapped_column(sa.BigInteger)
    shipping_minor: Mapped[int] = mapped_column(sa.BigInteger)
    tax_minor: Mapped[int] = mapped_column(sa.BigInteger)
    total_minor: Mapped[int] = mapped_column(sa.BigInteger)
    source_code: Mapped[str | None] = mapped_column(sa.String(40))
    coupons: Mapped[list[str]] = mapped_column(sa.JSON)
    billing: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # address of the payer
    payment: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON
    )  # instructions (method, token, …): never a card number
    pricing: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # adjustments, promotions, rejected coupons
    ship_tos: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)  # ref, address, method, shipping, its tax
    allocation: Mapped[list[str]] = mapped_column(sa.JSON)  # why each location was chosen
    address_key: Mapped[str] = mapped_column(sa.String(64), default="")  # fraud velocity: the first ship-to
    card_key: Mapped[str] = mapped_column(sa.String(64), default="")  # fraud velocity: the payment token
    priority: Mapped[int] = mapped_column(default=0)  # backorders: higher first
    exchange_for: Mapped[uuid.UUID | None]  # the order an exchange replaces goods of
    # How the goods reach the customer: shipped, carried out of a store at the sale (`taken`), or collected at a
    # store (`pickup`); `store` names that store's location.
    fulfillment: Mapped[str] = mapped_column(sa.String(12), default="ship", server_default="ship")
    store: Mapped[str | None] = mapped_column(sa.String(40))
    placed_at: Mapped[datetime]
    # Brought in from another system's history (an import): no stock moved, no payment taken for it here.
    imported: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # A pending order is released by the release job at this time (its channel's edit window after placement),
    # unless someone releases, holds or cancels it first; None when nothing will release it by itself.
    release_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="ck_order_lines_quantity"),
        sa.CheckConstraint(
            "reserved >= 0 AND backordered >= 0 AND cancelled >= 0 AND shipped >= 0 AND returned >= 0",
            name="ck_order_lines_not_negative",
        ),
        sa.CheckConstraint(
            "reserved + backordered + cancelled + shipped <= quantity", name="ck_order_lines_within_quantity"
        ),
        sa.CheckConstraint("returned <= shipped", name="ck_order_lines_returned_within_shipped"),
        # Backorder release looks up waiting lines by item: only those rows are in the index.
        sa.Index(
            "ix_order_lines_backordered",
            "item_id",
            postgresql_where=sa.text("backordered > 0"),
            sqlite_where=sa.text("backordered > 0"),
        ),
        # Results per key code read the lines keyed with a code of their own by it: only those rows are in the
        # index, so lines without one (nearly all) cost nothing to write (ADR 0038).
        sa.Index(
            "ix_order_lines_source_code",
            "source_code",
            "order_id",
            postgresql_where=sa.text("source_code IS NOT NULL"),
            sqlite_where=sa.text("source_code IS NOT NULL"),
        ),
        # Marketing's `purchased_item` segment rule finds an item's buyers through their lines (ADR 0037).
        sa.Index("ix_order_lines_item", "item_id"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orders.id", name="fk_order_lines_order", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[uuid.UUID]
    sku: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(300))
    quantity: Mapped[int]
    ship_to: Mapped[str] = mapped_column(sa.String(40))
    personalization: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    gift_message: Mapped[str] = mapped_column(sa.String(500), default="")
    unit_price_minor: Mapped[int] = mapped_column(sa.BigInteger)
    price_list: Mapped[str] = mapped_column(sa.String(40))
    merchandise_minor: Mapped[int] = mapped_column(sa.BigInteger)
    surcharge_minor: Mapped[int] = mapped_column(sa.BigInteger)
    discount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    tax_minor: Mapped[int] = mapped_column(sa.BigInteger)
    reserved: Mapped[int] = mapped_column(default=0)
    backordered: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    shipped: Mapped[int] = mapped_column(default=0)
    returned: Mapped[int] = mapped_column(default=0)
    returnable: Mapped[bool] = mapped_column(default=True)  # personalized goods are not
    # The line's own source code (a code of the master list) when it came from another offer than its order's;
    # None: it counts under its order's code. Its returns and cancellations inherit it (ADR 0038).
    source_code: Mapped[str | None] = mapped_column(sa.String(40), default=None)
    # Where the held units are: [{"seq", "location", "quantity", "key" (the reservation), "status"}]; each part is
    # one inventory reservation (active | released | shipped).
    allocations: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)


class OrderHoldRow(Base):
    __tablename__ = "order_holds"
    __table_args__ = (sa.Index("ix_order_holds_status", "status", "placed_at"),)

    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orders.id", name="fk_order_holds_order", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(sa.String(40))
    detail: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(20))  # active | released | cancelled
    placed_at: Mapped[datetime]
    placed_by: Mapped[str] = mapped_column(sa.String(200))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(sa.String(200))
    note: Mapped[str] = mapped_column(sa.String(1000), default="")


class OrderEventRow(Base):
    __tablename__ = "order_events"

    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orders.id", name="fk_order_events_order", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # UUIDv7: time order
    kind: Mapped[str] = mapped_column(sa.String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    actor: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime]


class ReturnRow(Base):
    __tablename__ = "returns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orders.id", name="fk_returns_order"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(20))  # authorized | received | cancelled
    currency: Mapped[str] = mapped_column(sa.String(3))
    refund_shipping: Mapped[bool] = mapped_column(default=False)
    restocking_fee_pct: Mapped[int] = mapped_column(default=0)
    location: Mapped[str | None] = mapped_column(sa.String(40))
    item_refund_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    tax_refund_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    shipping_refund_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    fee_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refund_due_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    exchange_order_id: Mapped[uuid.UUID | None]
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    authorized_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # goods must arrive by then
    received_at: Mapped[datetime | None]


class ReturnLineRow(Base):
    __tablename__ = "return_lines"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="ck_return_lines_quantity"),)

    return_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("returns.id", name="fk_return_lines_return", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(primary_key=True)  # the order line's number
    quantity: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(40))
    exchange_sku: Mapped[str | None] = mapped_column(sa.String(64))
    disposition: Mapped[str | None] = mapped_column(sa.String(20))  # restock | scrap, on receipt
    received: Mapped[int] = mapped_column(default=0)
