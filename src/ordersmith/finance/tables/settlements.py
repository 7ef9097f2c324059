"""Settlement tables: a processor's settlements (payouts) as imported, and how each of their lines matched."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base

# ---- settlements (issue 18: processor settlement reconciliation) -------------------------------------------------


class SettlementRow(Base):
    """A processor's settlement (a payout) as imported: its totals and how its lines matched. A file is imported
    once (`(processor, file_sha256)` unique)."""

    __tablename__ = "finance_settlements"
    __table_args__ = (
        sa.UniqueConstraint("processor", "file_sha256", name="uq_finance_settlements_file"),
        sa.Index("ix_finance_settlements_imported", "imported_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)  # ST-000001
    processor: Mapped[str] = mapped_column(sa.String(20))
    file_name: Mapped[str] = mapped_column(sa.String(200))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    payout_reference: Mapped[str] = mapped_column(sa.String(100))
    payout_on: Mapped[date | None]
    currency: Mapped[str] = mapped_column(sa.String(3))
    charges_minor: Mapped[int] = mapped_column(sa.BigInteger)
    refunds_minor: Mapped[int] = mapped_column(sa.BigInteger)
    fees_minor: Mapped[int] = mapped_column(sa.BigInteger)
    other_minor: Mapped[int] = mapped_column(sa.BigInteger)
    net_minor: Mapped[int] = mapped_column(sa.BigInteger)
    lines: Mapped[int]
    matched: Mapped[int]
    differences: Mapped[int]  # lines a person must look at: unmatched, amount_differs, other
    imported_by: Mapped[str] = mapped_column(sa.String(320))
    imported_at: Mapped[datetime]


class SettlementLineRow(Base):
    __tablename__ = "finance_settlement_lines"
    __table_args__ = (
        sa.Index("ix_finance_settlement_lines_status", "settlement_id", "status", "line_no"),
        sa.Index("ix_finance_settlement_lines_transaction", "transaction_id"),  # ADR 0040: settled yet?
    )

    settlement_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("finance_settlements.id", name="fk_finance_settlement_lines_settlement"),
        primary_key=True,
    )
    line_no: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # charge | refund | fee | dispute | other
    processor_id: Mapped[str] = mapped_column(sa.String(100))
    reference: Mapped[str] = mapped_column(sa.String(100))
    gross_minor: Mapped[int] = mapped_column(sa.BigInteger)
    fee_minor: Mapped[int] = mapped_column(sa.BigInteger)
    net_minor: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(
        sa.String(20)
    )  # matched | amount_differs | unmatched | fee | dispute |
    # other
    transaction_id: Mapped[uuid.UUID | None]  # our payment transaction it settles
