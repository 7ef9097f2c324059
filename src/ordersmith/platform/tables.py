"""Platform tables: identities, sessions, API keys, sales channels, idempotency, outbox, webhooks, audit, jobs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(32))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(sa.String(200))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    totp_last_step: Mapped[int | None] = mapped_column(
        sa.BigInteger
    )  # the last 30-second step used: each once
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)


class SessionRow(Base):
    __tablename__ = "console_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    origin: Mapped[str] = mapped_column(sa.String(100), default="")


class SalesChannelRow(Base):
    __tablename__ = "sales_channels"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(32))
    division: Mapped[str] = mapped_column(sa.String(40))
    currency: Mapped[str] = mapped_column(sa.String(3))
    active: Mapped[bool] = mapped_column(default=True)
    # The channel collects payment itself and bills later (a wholesale or B2B channel): its orders are released
    # without a tender instead of waiting for one.
    bills_later: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Orders stay pending this long after placement (a call center's or mail room's edit window: the customer
    # calls back to add a line) before the release job releases them; 0 releases at once.
    release_after_s: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON)
    channel_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("sales_channels.id"))
    created_by: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiKeyRevocationsRow(Base):
    """One row counting revocations: a process trusts its cached keys only while this number is unchanged."""

    __tablename__ = "api_key_revocations"
    __table_args__ = (sa.CheckConstraint("id = 1", name="ck_api_key_revocations_one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class IdempotencyRow(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("caller", "key", name="uq_idempotency_caller_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    caller: Mapped[str] = mapped_column(sa.String(80))
    key: Mapped[str] = mapped_column(sa.String(255))
    method: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(500))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    response_status: Mapped[int]
    response_body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class OutboxRow(Base):
    __tablename__ = "outbox"
    # Only undispatched events are indexed: the relay's scan stays small however long the outbox grows. Keyed by
    # id first, so the relay's claim (oldest first) walks this index in order: keyed by `next_attempt_at` alone,
    # SQLite's planner chose the primary key for the ORDER BY and read the whole history on every batch.
    __table_args__ = (
        sa.Index(
            "ix_outbox_pending",
            "id",
            "next_attempt_at",
            sqlite_where=sa.text("dispatched_at IS NULL"),
            postgresql_where=sa.text("dispatched_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    # The sales channel the event is about (its order's), written at emit time; channel keys see only theirs.
    channel: Mapped[str | None] = mapped_column(sa.String(60))
    occurred_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)


class WebhookSubscriptionRow(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    event_types: Mapped[list[str]] = mapped_column(sa.JSON)
    secret: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)
    # Created by a channel-bound key: that channel's (it gets that channel's events only, and only it sees it).
    channel: Mapped[str | None] = mapped_column(sa.String(60))
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class WebhookDeliveryRow(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_delivery_subscription_event"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("outbox.id"))
    event_type: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20))  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class WebhookAttemptRow(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int]
    at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    duration_ms: Mapped[int]


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_object", "object_type", "object_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    actor_kind: Mapped[str] = mapped_column(sa.String(20))
    actor_id: Mapped[str | None] = mapped_column(sa.String(64))
    actor_label: Mapped[str] = mapped_column(sa.String(320))
    action: Mapped[str] = mapped_column(sa.String(100))
    object_type: Mapped[str] = mapped_column(sa.String(60))
    object_id: Mapped[str] = mapped_column(sa.String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    at: Mapped[datetime]  # the UUIDv7 id is already in time order: no second index
    origin: Mapped[str] = mapped_column(sa.String(100))


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_due", "status", "run_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(20))  # queued | running | done | failed
    run_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    locked_by: Mapped[str | None] = mapped_column(sa.String(100))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class JobScheduleRow(Base):
    __tablename__ = "job_schedules"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    interval_s: Mapped[int]
    next_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]


class NumberSequenceRow(Base):
    """Human document numbers (PO-000042, and later orders and invoices): one counter row per series."""

    __tablename__ = "number_sequences"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class PluginDeliveryRow(Base):
    """An event a plugin's subscriber failed on: retried with back-off apart from the relay, then dead (ADR 0034).
    Only rows still waiting are in the due index, so the retry job's scan stays small however many have died."""

    __tablename__ = "plugin_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("plugin", "subscriber", "event_id", name="uq_plugin_deliveries_event"),
        sa.Index("ix_plugin_deliveries_status", "status", "id"),  # the listing by status, newest first
        sa.Index(
            "ix_plugin_deliveries_due",
            "next_attempt_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    plugin: Mapped[str] = mapped_column(sa.String(100))
    subscriber: Mapped[str] = mapped_column(sa.String(100))  # the pattern it subscribed with
    event_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("outbox.id"))
    event_type: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20))  # pending | delivered | dead
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class CustomFieldRow(Base):
    """A retailer's own field on items, customers or orders (ADR 0051): its type and the rules its values obey."""

    __tablename__ = "custom_field_definitions"
    __table_args__ = (
        sa.UniqueConstraint("kind", "name", name="uq_custom_field_definitions_kind_name"),
        sa.CheckConstraint("kind IN ('item', 'customer', 'order')", name="ck_custom_field_definitions_kind"),
        sa.CheckConstraint(
            "type IN ('text', 'number', 'decimal', 'date', 'boolean', 'choice')",
            name="ck_custom_field_definitions_type",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str] = mapped_column(sa.String(100))
    type: Mapped[str] = mapped_column(sa.String(16))
    required: Mapped[bool] = mapped_column(default=False)
    choices: Mapped[list[str]] = mapped_column(sa.JSON)
    max_length: Mapped[int | None]
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class CustomValueRow(Base):
    """One custom field's value on one record, in the column of its type, so a filter is an index lookup:
    `(kind, field, value_…)` finds the records, the key `(kind, record_id, field)` reads one record's values."""

    __tablename__ = "custom_field_values"
    __table_args__ = (
        sa.Index("ix_custom_field_values_text", "kind", "field", "value_text"),
        sa.Index("ix_custom_field_values_integer", "kind", "field", "value_integer"),
        sa.Index("ix_custom_field_values_date", "kind", "field", "value_date"),
    )

    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    field: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value_text: Mapped[str | None] = mapped_column(sa.String(500))  # text, choice, decimal (canonical form)
    value_integer: Mapped[int | None] = mapped_column(sa.BigInteger)
    value_date: Mapped[date | None] = mapped_column(sa.Date)
    value_boolean: Mapped[bool | None]


class PolicySettingRow(Base):
    """A policy the retailer sets in the console (hold thresholds, return window, …), its value as JSON; a missing
    row means the built-in default. Every change bumps the `config` number series, which caches check."""

    __tablename__ = "policy_settings"

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(sa.String(200))
    version: Mapped[int] = mapped_column(default=1)
