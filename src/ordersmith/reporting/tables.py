"""Saved reports: a report of the catalogue with its parameters and file format, and, when scheduled, when it is
e-mailed next (daily or weekly at an hour, UTC) and to whom.

Invariant: `next_run_at` is set exactly when the report is scheduled (NULL otherwise), and the due query reads only
the index on it: delivering what is due never scans the saved reports' history.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class SavedReportRow(Base):
    __tablename__ = "saved_reports"
    __table_args__ = (
        sa.Index("ix_saved_reports_next_run_at", "next_run_at"),
        sa.CheckConstraint("hour >= 0 AND hour <= 23", name="ck_saved_reports_hour"),
        sa.CheckConstraint(
            "weekday IS NULL OR (weekday >= 0 AND weekday <= 6)", name="ck_saved_reports_weekday"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), unique=True)
    report: Mapped[str] = mapped_column(sa.String(60))  # the catalogue's name
    parameters: Mapped[dict[str, str]] = mapped_column(sa.JSON)  # as a URL gives them
    period: Mapped[str] = mapped_column(
        sa.String(20), default=""
    )  # "" (the report's default range) | yesterday | …
    format: Mapped[str] = mapped_column(sa.String(10))  # csv | xlsx
    frequency: Mapped[str] = mapped_column(sa.String(10))  # none | daily | weekly
    hour: Mapped[int] = mapped_column(default=6)  # UTC
    weekday: Mapped[int | None]  # weekly: 0 Monday … 6 Sunday
    recipients: Mapped[list[str]] = mapped_column(sa.JSON)
    next_run_at: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_status: Mapped[str] = mapped_column(sa.String(10), default="")  # "" | sent | failed
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


# --- daily facts (ADR 0055) -------------------------------------------------------------------------------------------
# What the sales reports total, per UTC day of placement, kept for whole past days: a report reads these rows for
# the days `report_fact_days` lists and the orders themselves for every other day (today, and any day not computed
# yet). Money is integer minor units in the row's currency.


class ReportFactDayRow(Base):
    """A day whose facts are stored (all three tables, computed together from that day's orders)."""

    __tablename__ = "report_fact_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    computed_at: Mapped[datetime]


class ReportOrderDayRow(Base):
    """Per day, channel, division, source code ("" for none) and currency: orders and their lines' figures, and
    where those orders stand now (open, shipped complete, cancelled)."""

    __tablename__ = "report_order_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    division: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    source_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    orders: Mapped[int]
    units: Mapped[int] = mapped_column(sa.BigInteger)
    cancelled_units: Mapped[int] = mapped_column(sa.BigInteger)
    returned_units: Mapped[int] = mapped_column(sa.BigInteger)
    demand_minor: Mapped[int] = mapped_column(sa.BigInteger)
    net_minor: Mapped[int] = mapped_column(sa.BigInteger)
    orders_not_cancelled: Mapped[int]
    orders_complete: Mapped[int]
    open_orders: Mapped[int]
    open_value_minor: Mapped[int] = mapped_column(sa.BigInteger)
    units_shipped: Mapped[int] = mapped_column(sa.BigInteger)
    units_backordered: Mapped[int] = mapped_column(sa.BigInteger)


class ReportItemDayRow(Base):
    """Per day, channel, division, currency and item: its lines' figures."""

    __tablename__ = "report_item_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    division: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    orders: Mapped[int]
    units: Mapped[int] = mapped_column(sa.BigInteger)
    cancelled_units: Mapped[int] = mapped_column(sa.BigInteger)
    returned_units: Mapped[int] = mapped_column(sa.BigInteger)
    demand_minor: Mapped[int] = mapped_column(sa.BigInteger)
    net_minor: Mapped[int] = mapped_column(sa.BigInteger)


class ReportTaxDayRow(Base):
    """Per day, channel, division, currency and jurisdiction (ship-to country and region, "" when absent): tax
    charged on goods and on shipping."""

    __tablename__ = "report_tax_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    division: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    country: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    region: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    orders: Mapped[int]
    taxable_minor: Mapped[int] = mapped_column(sa.BigInteger)
    goods_tax_minor: Mapped[int] = mapped_column(sa.BigInteger)
    shipping_tax_minor: Mapped[int] = mapped_column(sa.BigInteger)


class ReportStyleDayRow(Base):
    """Per day, channel, division, currency and style (its code as the day was computed; "" for items without a
    style): its variants' lines' figures, an order with two variants counted once."""

    __tablename__ = "report_style_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    division: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    style_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    orders: Mapped[int]
    units: Mapped[int] = mapped_column(sa.BigInteger)
    cancelled_units: Mapped[int] = mapped_column(sa.BigInteger)
    returned_units: Mapped[int] = mapped_column(sa.BigInteger)
    demand_minor: Mapped[int] = mapped_column(sa.BigInteger)
    net_minor: Mapped[int] = mapped_column(sa.BigInteger)
