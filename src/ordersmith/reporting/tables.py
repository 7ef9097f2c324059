"""Saved reports: a report of the catalogue with its parameters and file format, and, when scheduled, when it is
e-mailed next (daily or weekly at an hour, UTC) and to whom.

Invariant: `next_run_at` is set exactly when the report is scheduled (NULL otherwise), and the due query reads only
the index on it: delivering what is due never scans the saved reports' history.
"""

from __future__ import annotations

import uuid
from datetime import datetime

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
