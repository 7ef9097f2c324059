"""Finance tables for dunning: the letters a dunning run sent, one per customer, stage and day.

Invariant: a customer is dunned at most once per stage on a day — `(customer_id, as_of, stage)` is unique, so a run
repeated (or two at once) records each letter exactly once.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class DunningLetterRow(Base):
    """A dunning letter a run sent: to whom, which stage, what it asked for, on which invoices, when and by whom."""

    __tablename__ = "finance_dunning_letters"
    __table_args__ = (
        sa.UniqueConstraint("customer_id", "as_of", "stage", name="uq_finance_dunning_letters_once"),
        sa.CheckConstraint(
            "stage IN ('reminder', 'second_notice', 'final_notice')", name="ck_finance_dunning_letters_stage"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # UUIDv7: newest first is by id
    customer_id: Mapped[uuid.UUID]
    customer_number: Mapped[str] = mapped_column(sa.String(20), index=True)
    as_of: Mapped[date]
    stage: Mapped[str] = mapped_column(sa.String(20))
    subject: Mapped[str] = mapped_column(sa.String(200))
    currency: Mapped[str] = mapped_column(sa.String(3))
    total_minor: Mapped[int] = mapped_column(sa.BigInteger)
    invoices: Mapped[int]
    oldest_days_past_due: Mapped[int]
    sent_by: Mapped[str] = mapped_column(sa.String(320))
    sent_at: Mapped[datetime]
