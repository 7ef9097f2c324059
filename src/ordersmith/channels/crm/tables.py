"""CRM tables: a connection per CRM account (its access token sealed), the links between our customers and orders
and the CRM's contacts and deals (one object per record however often it is synced), what waits to be synced, and
the syncs that failed for good.

Invariant: a record has at most one link per connection (primary key), so an update always hits the object the first
sync made. (Two customers sharing an e-mail are one HubSpot contact: a contact may be linked to both.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class CrmConnectionRow(Base):
    __tablename__ = "crm_connections"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # hubspot
    name: Mapped[str] = mapped_column(sa.String(200))
    config: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON
    )  # base URL, deal pipeline and stages, consent property
    credentials: Mapped[str] = mapped_column(sa.Text)  # sealed JSON (secrets.seal, purpose "crm")
    active: Mapped[bool] = mapped_column(default=True)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    dead_letters_open: Mapped[int] = mapped_column(default=0)
    rate_limit: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # the CRM's last word on it
    sync_due_at: Mapped[datetime | None]  # a sync job is queued for then
    claimed_by: Mapped[str | None] = mapped_column(sa.String(200))  # the worker syncing it now
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class CrmLinkRow(Base):
    """Our record (`kind` contact: a customer; deal: an order) and the CRM object it is."""

    __tablename__ = "crm_links"
    __table_args__ = (sa.Index("ix_crm_links_remote", "connection_id", "kind", "remote_id"),)

    connection_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("crm_connections.id", name="fk_crm_links_connection"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)  # contact | deal
    record_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    remote_id: Mapped[str] = mapped_column(sa.String(40))
    synced_at: Mapped[datetime]


class CrmPendingRow(Base):
    """A record to sync (`kind` contact, deal, or erase: a contact to delete under the GDPR), once per record: a
    burst of changes collapses into one sync of the record as it is then."""

    __tablename__ = "crm_pending"

    connection_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("crm_connections.id", name="fk_crm_pending_connection"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    changed_at: Mapped[datetime]


class CrmDeadLetterRow(Base):
    __tablename__ = "crm_dead_letters"
    __table_args__ = (sa.Index("ix_crm_dead_letters_open", "connection_id", "status", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("crm_connections.id", name="fk_crm_dead_letters_connection")
    )
    operation: Mapped[str] = mapped_column(sa.String(40))  # sync_contacts | sync_deals | erase_contacts
    reference: Mapped[str] = mapped_column(sa.String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # the records and what was sent
    error: Mapped[str] = mapped_column(sa.Text)
    attempts: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(20))  # open | replayed
    created_at: Mapped[datetime]
    replayed_at: Mapped[datetime | None]
