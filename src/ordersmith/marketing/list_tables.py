"""Marketing's list tables: segments (a stored rule tree), mail-hygiene flags per customer, list pulls
(extractions) with the names they put in each key-coded cell, mail files as sent, and the orders matched back to
them.

Invariants: a segment's rules were validated before they were stored; an extraction's rows are written once, in the
transaction that made it, and never change; an order is matched back at most once (primary key) and only an order
without a source code, on itself or on any line, is (a keyed order keeps its codes: it is never re-attributed).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class SegmentRow(Base):
    __tablename__ = "marketing_segments"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # upper-case
    name: Mapped[str] = mapped_column(sa.String(200))
    currency: Mapped[str] = mapped_column(sa.String(3))  # RFM scores are over orders in this currency
    rules: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class MailFlagRow(Base):
    """List hygiene: a customer reported deceased or whose address mail came back from. A customer without a row
    has neither flag."""

    __tablename__ = "marketing_mail_flags"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True
    )  # customers' id; no foreign key across contexts
    deceased: Mapped[bool] = mapped_column(default=False)
    undeliverable: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class ExtractionRow(Base):
    __tablename__ = "marketing_extractions"
    __table_args__ = (sa.Index("ix_marketing_extractions_created", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    segment: Mapped[str] = mapped_column(sa.String(40))
    request: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON
    )  # what was asked (the suppression file as a count)
    funnel: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)  # [{"step", "count"}], in order
    cells: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)  # [{"key_code", "percent", "count"}]
    names: Mapped[int] = mapped_column(sa.BigInteger)
    created_by: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]


class ExtractionNameRow(Base):
    """One name and address of a pull, with the key code of its cell: a row of the mail file."""

    __tablename__ = "marketing_extraction_names"

    extraction_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("marketing_extractions.id", name="fk_marketing_extraction_names", ondelete="CASCADE"),
        primary_key=True,
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    key_code: Mapped[str] = mapped_column(sa.String(40))
    customer_id: Mapped[uuid.UUID]
    customer_number: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(300))
    line1: Mapped[str] = mapped_column(sa.String(200))
    line2: Mapped[str] = mapped_column(sa.String(200))
    city: Mapped[str] = mapped_column(sa.String(100))
    region: Mapped[str] = mapped_column(sa.String(100))
    postal_code: Mapped[str] = mapped_column(sa.String(20))
    country: Mapped[str] = mapped_column(sa.String(2))
    email: Mapped[str] = mapped_column(sa.String(320))


class MailFileRow(Base):
    """A mail file as it went to the printer or the mail house: each name and address with its key code."""

    __tablename__ = "marketing_mail_files"
    __table_args__ = (
        sa.CheckConstraint("window_days BETWEEN 1 AND 366", name="ck_marketing_mail_file_window"),
    )

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # upper-case
    in_home_on: Mapped[date]
    window_days: Mapped[int]  # orders placed from the in-home date for this many days are matched back
    currency: Mapped[str] = mapped_column(sa.String(3))  # the results' demand is over orders in this currency
    names: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime]
    matched_at: Mapped[datetime | None]  # the last matchback run


class MailFileNameRow(Base):
    __tablename__ = "marketing_mail_file_names"
    __table_args__ = (
        sa.Index("ix_marketing_mail_names_customer", "customer_id"),
        sa.Index("ix_marketing_mail_names_address", "address_key"),
    )

    mail_file: Mapped[str] = mapped_column(
        sa.ForeignKey("marketing_mail_files.code", name="fk_marketing_mail_file_names", ondelete="CASCADE"),
        primary_key=True,
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    key_code: Mapped[str] = mapped_column(sa.String(40))
    customer_id: Mapped[uuid.UUID | None]
    address_key: Mapped[str] = mapped_column(sa.String(64))


class MatchbackRow(Base):
    """An order placed without a code, attributed to a mailing's key code by its customer or its address."""

    __tablename__ = "marketing_matchbacks"
    __table_args__ = (
        sa.CheckConstraint("matched_by IN ('customer', 'address')", name="ck_marketing_matchback_by"),
        sa.Index("ix_marketing_matchbacks_file", "mail_file", "key_code"),
        sa.Index("ix_marketing_matchbacks_key_code", "key_code", "order_id"),  # results per key code
    )

    order_id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True
    )  # orders' id; no foreign key across contexts
    mail_file: Mapped[str] = mapped_column(
        sa.ForeignKey("marketing_mail_files.code", name="fk_marketing_matchbacks_file", ondelete="CASCADE")
    )
    key_code: Mapped[str] = mapped_column(sa.String(40))
    matched_by: Mapped[str] = mapped_column(sa.String(8))
    matched_at: Mapped[datetime]
