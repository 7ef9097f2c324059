"""Finance tables of issue 18's reconciliation follow-ups (ADR 0040): card disputes (chargebacks), the captures and
refunds still waiting for a processor's settlement, and the QuickBooks Online customers our customers map to.

Invariants: a dispute is one per processor and processor's dispute id, and its outcome is set once (open → won |
lost, by a conditional UPDATE); a capture or refund is watched once (its transaction id is the key) and the
unsettled list reads only the rows no settlement has matched (a partial index), never the payment history.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class DisputeRow(Base):
    """A dispute (chargeback) a cardholder opened against one of our captures, and its outcome."""

    __tablename__ = "finance_disputes"
    __table_args__ = (
        sa.UniqueConstraint("processor", "reference", name="uq_finance_disputes_reference"),
        sa.CheckConstraint(
            "amount_minor > 0 AND fee_minor >= 0 AND fee_returned_minor >= 0",
            name="ck_finance_disputes_amounts",
        ),
        sa.CheckConstraint("status IN ('open', 'won', 'lost')", name="ck_finance_disputes_status"),
        sa.Index("ix_finance_disputes_status", "status", "opened_at", "id"),
        sa.Index("ix_finance_disputes_opened", "opened_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)  # DP-000001
    processor: Mapped[str] = mapped_column(sa.String(20))  # the gateway: stripe, authorize_net, sandbox
    reference: Mapped[str] = mapped_column(sa.String(100))  # the processor's dispute id (dp_…, a transId)
    capture_reference: Mapped[str] = mapped_column(sa.String(100))  # the charge / transaction it disputes
    transaction_id: Mapped[uuid.UUID | None]  # our capture it disputes (None: not found, listed for a person)
    order_id: Mapped[uuid.UUID | None]
    payment_id: Mapped[uuid.UUID | None]
    method: Mapped[str] = mapped_column(sa.String(20))  # the capture's tender: its clearing account
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    fee_minor: Mapped[int] = mapped_column(sa.BigInteger)
    fee_returned_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    reason: Mapped[str] = mapped_column(sa.String(100))
    source: Mapped[str] = mapped_column(sa.String(20))  # webhook | settlement
    status: Mapped[str] = mapped_column(sa.String(10))  # open | won | lost
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(sa.String(320))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    version: Mapped[int] = mapped_column(default=1)


class SettlementWatchRow(Base):
    """A card capture or refund through a processor, waiting to be matched by an imported settlement."""

    __tablename__ = "finance_settlement_watch"
    __table_args__ = (
        # The unsettled list and the daily flagging job read only these rows, oldest first.
        sa.Index(
            "ix_finance_settlement_watch_unsettled",
            "at",
            "transaction_id",
            sqlite_where=sa.text("settled_at IS NULL"),
            postgresql_where=sa.text("settled_at IS NULL"),
        ),
        # The daily job reads only those it has not flagged yet.
        sa.Index(
            "ix_finance_settlement_watch_unflagged",
            "at",
            sqlite_where=sa.text("settled_at IS NULL AND flagged_on IS NULL"),
            postgresql_where=sa.text("settled_at IS NULL AND flagged_on IS NULL"),
        ),
    )

    transaction_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # capture | refund
    order_id: Mapped[uuid.UUID]
    payment_id: Mapped[uuid.UUID]
    processor: Mapped[str] = mapped_column(sa.String(20))
    reference: Mapped[str] = mapped_column(sa.String(100))  # what the processor's settlement names it by
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
    settlement: Mapped[str | None] = mapped_column(sa.String(20))  # ST-000001
    flagged_on: Mapped[date | None]  # the day the daily job found it unsettled


class LedgerCustomerRow(Base):
    """Which customer of an accounting package (QuickBooks Online) stands for one of ours on receivable lines."""

    __tablename__ = "ledger_customers"

    target: Mapped[str] = mapped_column(sa.String(20), primary_key=True)  # quickbooks_online
    customer_number: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    remote_id: Mapped[str] = mapped_column(sa.String(100))
    display_name: Mapped[str] = mapped_column(sa.String(500))
    updated_at: Mapped[datetime]
