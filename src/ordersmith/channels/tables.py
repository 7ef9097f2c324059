"""Channels tables: a connector per channel instance (its credentials sealed), the SKU map, the inbox of channel
orders (unique on connector and the channel's order id: one order however often it is delivered), the dead-letter
list, and the stock updates waiting to go out.

A channel order names the order it became (`order_id`) once imported; until then its status says why not
(`received`: queued for import; `held`: waiting for SKU mappings; `dead`: failed past its retries)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class ConnectorRow(Base):
    __tablename__ = "channel_connectors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # generic | shopify
    sales_channel_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("sales_channels.id", name="fk_channel_connectors_channel"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    config: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # the channel's URL, API version, location, …
    credentials: Mapped[str] = mapped_column(sa.Text)  # sealed JSON (secrets.seal, purpose "channel")
    active: Mapped[bool] = mapped_column(default=True)
    # Health, kept on the row so reading it costs one row whatever the history.
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    dead_letters_open: Mapped[int] = mapped_column(default=0)
    rate_limit: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # the channel's last word on it
    stock_push_due_at: Mapped[datetime | None]  # a stock push job is queued for then
    price_push_due_at: Mapped[datetime | None]  # a price push job is queued for then
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class SkuMapRow(Base):
    __tablename__ = "channel_sku_maps"
    __table_args__ = (sa.Index("ix_channel_sku_maps_item", "connector_id", "item_sku"),)

    connector_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("channel_connectors.id", name="fk_channel_sku_maps_connector"), primary_key=True
    )
    channel_sku: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    item_sku: Mapped[str] = mapped_column(sa.String(64))
    listing_id: Mapped[str] = mapped_column(sa.String(200), default="")  # e.g. Shopify's inventory item gid
    created_at: Mapped[datetime]


class ChannelOrderRow(Base):
    __tablename__ = "channel_orders"
    __table_args__ = (
        sa.UniqueConstraint("connector_id", "external_id", name="uq_channel_orders_external"),
        sa.Index("ix_channel_orders_status", "connector_id", "status", "received_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    connector_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("channel_connectors.id", name="fk_channel_orders_connector")
    )
    external_id: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20))  # received | held | imported | dead | cancelled
    hold_reason: Mapped[str | None] = mapped_column(sa.String(40))
    unmapped_skus: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # the channel's latest version of the order
    channel_updated_at: Mapped[datetime]  # the channel's own stamp: an older delivery never replaces a newer
    order_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    order_number: Mapped[str | None] = mapped_column(sa.String(40))
    # The channel's id of each line as imported, our line n at [n - 1] (what a line cancellation is sent with);
    # None: imported before they were kept, or the channel gives its lines no ids
    line_ids: Mapped[list[str] | None] = mapped_column(sa.JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    deliveries: Mapped[int] = mapped_column(default=1)
    received_at: Mapped[datetime]
    imported_at: Mapped[datetime | None]


class UnmappedLineRow(Base):
    """Which held channel orders wait for which channel SKU: mapping one releases exactly those."""

    __tablename__ = "channel_unmapped_lines"

    connector_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    channel_sku: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    channel_order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("channel_orders.id", name="fk_channel_unmapped_order"), primary_key=True
    )


class DeadLetterRow(Base):
    __tablename__ = "channel_dead_letters"
    __table_args__ = (sa.Index("ix_channel_dead_letters_open", "connector_id", "status", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    connector_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("channel_connectors.id", name="fk_channel_dead_letters_connector")
    )
    operation: Mapped[str] = mapped_column(sa.String(40))  # import_order | push_stock | push_fulfillment
    reference: Mapped[str] = mapped_column(sa.String(200))  # the channel order id, or what was pushed
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    error: Mapped[str] = mapped_column(sa.Text)
    attempts: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(20))  # open | replayed
    created_at: Mapped[datetime]
    replayed_at: Mapped[datetime | None]


class OrderPushRow(Base):
    """A cancellation or refund of ours owed to a channel (ADR 0058): one row per connector, channel order and key
    (`cancel`, `refund:<payment transaction id>`), so an event delivered again queues nothing more, and the job
    sending it claims the row first (`sending` until `claimed_until`), so two jobs never call the channel for it at
    once. `sent` and `dead` are final until a replay puts it back to `queued`."""

    __tablename__ = "channel_order_pushes"

    connector_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("channel_connectors.id", name="fk_channel_order_pushes_connector"), primary_key=True
    )
    external_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    push_key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # cancel | refund
    status: Mapped[str] = mapped_column(sa.String(20))  # queued | sending | submitting (a feed) | sent | dead
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PendingStockRow(Base):
    """The latest available-to-sell figure of an item not yet sent to a connector (one row per item: a burst of
    changes collapses into one update)."""

    __tablename__ = "channel_stock_pending"

    connector_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("channel_connectors.id", name="fk_channel_stock_pending_connector"), primary_key=True
    )
    item_sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    available: Mapped[int]
    changed_at: Mapped[datetime]


class PendingPriceRow(Base):
    """The latest unit price of an item not yet sent to a connector (one row per item: a burst of changes collapses
    into one update)."""

    __tablename__ = "channel_price_pending"

    connector_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("channel_connectors.id", name="fk_channel_price_pending_connector"), primary_key=True
    )
    item_sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    price_minor: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    changed_at: Mapped[datetime]


class PollStateRow(Base):
    """Where a polled connector reads next (`cursor`, stored only in the transaction that records the orders read
    up to it) and who is reading: a worker claims the row with a conditional UPDATE on `claimed_until`, so two
    workers never poll one connector at once, and a crashed worker's claim lapses with its lease."""

    __tablename__ = "channel_poll_state"
    __table_args__ = (sa.Index("ix_channel_poll_state_due", "next_poll_at"),)

    connector_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("channel_connectors.id", name="fk_channel_poll_state_connector"), primary_key=True
    )
    cursor: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    next_poll_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(200))
    claimed_until: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0)  # polls failed in a row
    paused: Mapped[bool] = mapped_column(default=False)  # a refusal a retry cannot cure: until replayed


class ChangeRow(Base):
    """A cancellation, refund or edit a channel reported for one of its orders, kept once (unique on the connector,
    the channel's order id, the kind and the channel's own key — `cancel`, the refund's id, or an edit's version
    key, see `rules.address_change_key` / `quantity_change_key`), with what came of it:
    `waiting` (the order is not imported yet), `applied`, or `flagged` (not applied, and why: a shipped order is
    never cancelled behind the warehouse's back)."""

    __tablename__ = "channel_order_changes"
    __table_args__ = (
        sa.UniqueConstraint(
            "connector_id", "external_id", "kind", "change_key", name="uq_channel_order_changes"
        ),
        sa.Index("ix_channel_order_changes_status", "connector_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    connector_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("channel_connectors.id", name="fk_channel_order_changes_connector")
    )
    external_id: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(20))  # cancel | refund | address_changed | quantity_reduced
    change_key: Mapped[str] = mapped_column(sa.String(100))
    amount_minor: Mapped[int | None] = mapped_column(sa.BigInteger)  # a refund's amount
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    reason: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20))  # waiting | pending | applied | flagged
    detail: Mapped[str | None] = mapped_column(sa.Text)
    order_id: Mapped[uuid.UUID | None]
    channel_at: Mapped[datetime]
    deliveries: Mapped[int] = mapped_column(default=1)
    received_at: Mapped[datetime]
    applied_at: Mapped[datetime | None]
