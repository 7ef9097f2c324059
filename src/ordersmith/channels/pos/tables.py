"""POS tables: stores (a store location's till settings), registers, shifts (one open per register, the drawer's
counters kept on the row) and till sales (one row per sale id: placed, flagged or resolved).

A till sale's row is written in the same transaction as its order (or, when the order cannot be placed, as its
flag), so its cash is counted into its shift exactly once. Flagged sales are found through a partial index: the
manager's list reads only what is still flagged, however many sales a store has made."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base

_OPEN = sa.text("status = 'open'")
_FLAGGED = sa.text("status = 'flagged'")


class PosStoreRow(Base):
    __tablename__ = "pos_stores"

    location: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # a location of kind store
    sales_channel_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("sales_channels.id", name="fk_pos_stores_channel"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    line1: Mapped[str] = mapped_column(sa.String(200))
    line2: Mapped[str] = mapped_column(sa.String(200), default="")
    city: Mapped[str] = mapped_column(sa.String(100))
    region: Mapped[str] = mapped_column(sa.String(100), default="")
    postal_code: Mapped[str] = mapped_column(sa.String(20), default="")
    country: Mapped[str] = mapped_column(sa.String(2))
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    method: Mapped[str] = mapped_column(
        sa.String(40)
    )  # the shipping method a carried-out sale is priced with
    receipt_footer: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class PosRegisterRow(Base):
    __tablename__ = "pos_registers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    store: Mapped[str] = mapped_column(
        sa.String(40), sa.ForeignKey("pos_stores.location", name="fk_pos_registers_store"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class PosShiftRow(Base):
    __tablename__ = "pos_shifts"
    __table_args__ = (
        sa.Index(
            "ux_pos_shifts_one_open", "register_id", unique=True, sqlite_where=_OPEN, postgresql_where=_OPEN
        ),
        sa.Index("ix_pos_shifts_register", "register_id", "opened_at", "id"),
        sa.CheckConstraint(
            "opening_float_minor >= 0 AND cash_in_minor >= 0 AND change_out_minor >= 0 AND cash_refunds_minor >= 0",
            name="ck_pos_shifts_amounts",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    register_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("pos_registers.id", name="fk_pos_shifts_register")
    )
    status: Mapped[str] = mapped_column(sa.String(10))  # open | closed
    currency: Mapped[str] = mapped_column(sa.String(3))
    opening_float_minor: Mapped[int] = mapped_column(sa.BigInteger)
    # The drawer's counters, moved by the same transactions as the sales and refunds they count.
    cash_in_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # handed over by customers
    change_out_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # given back as change
    cash_refunds_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # paid out for returns
    sales: Mapped[int] = mapped_column(default=0)
    late_sales: Mapped[int] = mapped_column(default=0)  # synced after the shift was closed
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(sa.String(320))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(sa.String(320))
    counted_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    expected_minor: Mapped[int | None] = mapped_column(sa.BigInteger)  # at the close
    difference_minor: Mapped[int | None] = mapped_column(sa.BigInteger)  # counted - expected
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    version: Mapped[int] = mapped_column(default=1)


class PosSaleRow(Base):
    __tablename__ = "pos_sales"
    __table_args__ = (
        sa.Index(
            "ix_pos_sales_flagged",
            "store",
            "received_at",
            "id",
            sqlite_where=_FLAGGED,
            postgresql_where=_FLAGGED,
        ),
        sa.Index("ix_pos_sales_shift", "shift_id", "received_at"),
        sa.Index("ix_pos_sales_order", "order_id"),
        sa.CheckConstraint("cash_received_minor >= 0 AND change_given_minor >= 0", name="ck_pos_sales_cash"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the till's own id for the sale
    register_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("pos_registers.id", name="fk_pos_sales_register")
    )
    shift_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("pos_shifts.id", name="fk_pos_sales_shift")
    )
    store: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(10))  # placed | flagged | resolved
    offline: Mapped[bool] = mapped_column(default=False)
    rung_at: Mapped[datetime]  # when the till rang it up (its own clock)
    received_at: Mapped[datetime]
    currency: Mapped[str] = mapped_column(sa.String(3))
    till_total_minor: Mapped[int | None] = mapped_column(sa.BigInteger)  # what the till showed the customer
    cash_received_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    change_given_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    order_id: Mapped[uuid.UUID | None]
    order_number: Mapped[str | None] = mapped_column(sa.String(40))
    reason: Mapped[str | None] = mapped_column(sa.String(40))  # why flagged: stock_gone, gift_card_short, …
    detail: Mapped[str | None] = mapped_column(sa.Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(
        sa.JSON
    )  # the sale as sent, while it is not placed
    attempts: Mapped[int] = mapped_column(default=1)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(sa.String(320))
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
