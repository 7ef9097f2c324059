"""Customer tables. Contacts live in their own tables (many e-mails, phones, addresses per customer); the search
index holds normalised keys (name tokens, Soundex codes, phone digits, e-mails, postal codes, numbers) so every
kind of lookup is an index range scan on both databases."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base

LIVE_SQL = "merged_into_id IS NULL AND anonymized_at IS NULL"


class CustomerRow(Base):
    __tablename__ = "customers"
    __table_args__ = (
        sa.CheckConstraint(
            "credit_limit_minor IS NULL OR credit_limit_minor >= 0", name="ck_customer_credit_limit"
        ),
        # Marketing's segment counts read every customer still a customer (neither merged away nor anonymized):
        # their ids alone, from this index, not the whole rows (ADR 0037).
        sa.Index(
            "ix_customers_live", "id", postgresql_where=sa.text(LIVE_SQL), sqlite_where=sa.text(LIVE_SQL)
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # consumer | business
    first_name: Mapped[str] = mapped_column(sa.String(100), default="")
    last_name: Mapped[str] = mapped_column(sa.String(100), default="")
    company: Mapped[str] = mapped_column(sa.String(200), default="")
    display_name: Mapped[str] = mapped_column(sa.String(300))
    status: Mapped[str] = mapped_column(sa.String(20))  # prospect | buyer
    customer_group: Mapped[str] = mapped_column(sa.String(40), default="retail")
    default_country: Mapped[str] = mapped_column(sa.String(2))
    tax_exempt: Mapped[bool] = mapped_column(default=False)
    tax_certificate: Mapped[str] = mapped_column(sa.String(60), default="")
    tax_exempt_until: Mapped[date | None]
    credit_limit_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    payment_terms: Mapped[str] = mapped_column(sa.String(40), default="")
    do_not_mail: Mapped[bool] = mapped_column(default=False)
    do_not_email: Mapped[bool] = mapped_column(default=False)
    do_not_call: Mapped[bool] = mapped_column(default=False)
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_channel: Mapped[str] = mapped_column(sa.String(60), default="")
    source_code: Mapped[str] = mapped_column(
        sa.String(40), default=""
    )  # the original: what first brought them
    last_source_code: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("customers.id", name="fk_customers_merged")
    )
    anonymized_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class CustomerEmailRow(Base):
    __tablename__ = "customer_emails"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("customers.id", name="fk_customer_emails_customer", ondelete="CASCADE"),
        primary_key=True,
    )
    email: Mapped[str] = mapped_column(sa.String(320), primary_key=True, index=True)
    is_primary: Mapped[bool] = mapped_column(default=False)


class CustomerPhoneRow(Base):
    __tablename__ = "customer_phones"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("customers.id", name="fk_customer_phones_customer", ondelete="CASCADE"),
        primary_key=True,
    )
    phone: Mapped[str] = mapped_column(sa.String(20), primary_key=True, index=True)  # E.164
    label: Mapped[str] = mapped_column(sa.String(20), default="")
    is_primary: Mapped[bool] = mapped_column(default=False)


class CustomerAddressRow(Base):
    __tablename__ = "customer_addresses"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("customers.id", name="fk_customer_addresses_customer", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(10))  # bill_to | ship_to
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    line1: Mapped[str] = mapped_column(sa.String(200))
    line2: Mapped[str] = mapped_column(sa.String(200), default="")
    city: Mapped[str] = mapped_column(sa.String(100))
    region: Mapped[str] = mapped_column(sa.String(100), default="")
    postal_code: Mapped[str] = mapped_column(sa.String(20), default="")
    country: Mapped[str] = mapped_column(sa.String(2))
    is_default: Mapped[bool] = mapped_column(default=False)


class CustomerNoteRow(Base):
    """The timeline: agent notes, calls, e-mails and system events."""

    __tablename__ = "customer_notes"
    __table_args__ = (sa.Index("ix_customer_notes_timeline", "customer_id", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("customers.id", name="fk_customer_notes_customer", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(sa.String(20))  # note | call | email | system
    body: Mapped[str] = mapped_column(sa.Text)
    channel: Mapped[str] = mapped_column(sa.String(60), default="")
    actor: Mapped[str] = mapped_column(sa.String(320))
    data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    at: Mapped[datetime]


class CustomerSearchKeyRow(Base):
    __tablename__ = "customer_search_keys"
    __table_args__ = (sa.Index("ix_customer_search_customer", "customer_id"),)

    kind: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    # Byte order on PostgreSQL too, so a prefix is an index range (`key >= 'smi' AND key < 'smj'`).
    key: Mapped[str] = mapped_column(
        sa.String(120).with_variant(sa.String(120, collation="C"), "postgresql"), primary_key=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("customers.id", name="fk_customer_search_customer", ondelete="CASCADE"),
        primary_key=True,
    )


class CustomerChannelRow(Base):
    """The sales channels a customer belongs to: the one that created it and every one it ordered through. A
    channel-bound key sees only its own channel's customers (written at creation, and on `order.placed`)."""

    __tablename__ = "customer_channels"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("customers.id", name="fk_customer_channels_customer", ondelete="CASCADE"),
        primary_key=True,
    )
    channel: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
