"""Continuity tables: programs (what ships, how often, on which terms), subscriptions (a customer's membership:
ship-to, vaulted card token, next date, status, the terms accepted) and the shipments placed for them.

Invariants: a subscription's shipment number `cycle` has at most one order (primary key of
`continuity_shipments`, and the order's unique channel order id); only a subscription with something due carries a
`next_run_on` (the due query reads a partial index of exactly those); no card number is stored, only the vault's
token with brand, last four and expiry.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base

_DUE = sa.text("next_run_on IS NOT NULL")


class ProgramRow(Base):
    __tablename__ = "continuity_programs"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('replenish', 'series')", name="ck_continuity_program_kind"),
        sa.CheckConstraint("interval_weeks BETWEEN 1 AND 52", name="ck_continuity_program_interval"),
        sa.CheckConstraint("max_shipments IS NULL OR max_shipments >= 1", name="ck_continuity_program_max"),
        sa.CheckConstraint("terms_version >= 1", name="ck_continuity_program_terms"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)  # upper-case
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(10))
    items: Mapped[list[dict[str, Any]]] = mapped_column(
        sa.JSON
    )  # [{"sku": …, "quantity": …}] in series order
    interval_weeks: Mapped[int]
    max_shipments: Mapped[int | None]  # None: until cancelled (a series ends with its last item anyway)
    source_code: Mapped[str | None] = mapped_column(sa.String(40))  # the offer each shipment is priced with
    terms: Mapped[str] = mapped_column(sa.String(4000))  # what the customer is shown and accepts at sign-up
    terms_version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class SubscriptionRow(Base):
    __tablename__ = "continuity_subscriptions"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'suspended', 'cancelled', 'completed')",
            name="ck_continuity_subscription_status",
        ),
        sa.CheckConstraint("cycle >= 1", name="ck_continuity_subscription_cycle"),
        sa.CheckConstraint("quantity BETWEEN 1 AND 1000", name="ck_continuity_subscription_quantity"),
        sa.CheckConstraint("failed_attempts >= 0", name="ck_continuity_subscription_failures"),
        sa.CheckConstraint(
            "next_run_on IS NULL OR status IN ('active', 'paused')", name="ck_continuity_subscription_due"
        ),
        # The due query: only subscriptions with something due are in it, ordered by when.
        sa.Index("ix_continuity_subscriptions_due", "next_run_on", sqlite_where=_DUE, postgresql_where=_DUE),
        sa.Index("ix_continuity_subscriptions_program", "program_id", "status", "id"),
        sa.Index("ix_continuity_subscriptions_customer", "customer_id", "id"),
        sa.Index("ix_continuity_subscriptions_channel", "channel", "id"),
        sa.Index("ix_continuity_subscriptions_status", "status", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)  # S-000123
    program_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("continuity_programs.id", name="fk_continuity_subscription_program")
    )
    customer_id: Mapped[uuid.UUID]
    customer_number: Mapped[str] = mapped_column(sa.String(20))
    channel: Mapped[str] = mapped_column(sa.String(40))  # the sales channel signed up on; its orders' channel
    ship_to: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    quantity: Mapped[int] = mapped_column(default=1)
    card_token: Mapped[str] = mapped_column(sa.String(64))  # the vault's token, never a number
    card_brand: Mapped[str] = mapped_column(sa.String(20))
    card_last_four: Mapped[str] = mapped_column(sa.String(4))
    card_exp_month: Mapped[int]
    card_exp_year: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(10))
    cycle: Mapped[int] = mapped_column(default=1)  # the number of the next shipment to place
    cycle_on: Mapped[date]  # the date that shipment is due on the program's rhythm
    next_run_on: Mapped[date | None]  # when to try it (a retry moves this, not cycle_on); None: nothing due
    failed_attempts: Mapped[int] = mapped_column(default=0)  # at the current shipment
    # Counts failures and card changes, never reset: with the shipment's number it keys the card's authorization,
    # so a retry after a crash repeats the same request (the processor answers it as before) while a new attempt
    # (the next retry, another card) is a new request.
    attempt_seq: Mapped[int] = mapped_column(default=0)
    last_failure: Mapped[str | None] = mapped_column(sa.String(400))
    last_failure_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]  # a worker placing the shipment holds it until then
    claimed_by: Mapped[str | None] = mapped_column(sa.String(200))
    last_order_id: Mapped[uuid.UUID | None]
    last_order_number: Mapped[str | None] = mapped_column(sa.String(20))
    terms_version: Mapped[int]
    terms_digest: Mapped[str] = mapped_column(sa.String(64))  # SHA-256 of the exact text accepted
    terms_accepted_at: Mapped[datetime]
    signed_up_by: Mapped[str] = mapped_column(sa.String(320))  # the actor, as in the audit log
    signed_up_origin: Mapped[str] = mapped_column(sa.String(200))
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(sa.String(320))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(400))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class ShipmentRow(Base):
    """Each shipment placed: one order per (subscription, cycle), whoever placed it and however often it was
    tried."""

    __tablename__ = "continuity_shipments"

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("continuity_subscriptions.id", name="fk_continuity_shipment_subscription"),
        primary_key=True,
    )
    cycle: Mapped[int] = mapped_column(primary_key=True)
    due_on: Mapped[date]
    order_id: Mapped[uuid.UUID]
    order_number: Mapped[str] = mapped_column(sa.String(20))
    total_minor: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    attempts: Mapped[int]  # 1 + the failed attempts before it
    placed_at: Mapped[datetime]
