"""Processor settlements: imported payouts with their lines matched to captures and refunds

`finance_settlements` (a file imported once per processor: its SHA-256 is unique) and `finance_settlement_lines`
(each line's kind, amounts, match status and our payment transaction); `payment_transactions` gains an index on
the processor's transaction and gateway references, which settlement lines are matched by.

Revision ID: 0040_settle
Revises: 0036_ledg
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0040_settle"
down_revision: str | None = "0036_ledg"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "finance_settlements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("processor", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("payout_reference", sa.String(length=100), nullable=False),
        sa.Column("payout_on", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("charges_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunds_minor", sa.BigInteger(), nullable=False),
        sa.Column("fees_minor", sa.BigInteger(), nullable=False),
        sa.Column("other_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.String(length=320), nullable=False),
        sa.Column("imported_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("processor", "file_sha256", name="uq_finance_settlements_file"),
    )
    op.create_index(
        "ix_finance_settlements_imported", "finance_settlements", ["imported_at", "id"], unique=False
    )
    op.create_table(
        "finance_settlement_lines",
        sa.Column("settlement_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("processor_id", sa.String(length=100), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("gross_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["settlement_id"], ["finance_settlements.id"], name="fk_finance_settlement_lines_settlement"
        ),
        sa.PrimaryKeyConstraint("settlement_id", "line_no"),
    )
    op.create_index(
        "ix_finance_settlement_lines_status",
        "finance_settlement_lines",
        ["settlement_id", "status", "line_no"],
        unique=False,
    )
    op.create_index(
        "ix_payment_transactions_transaction_ref",
        "payment_transactions",
        ["transaction_reference"],
        unique=False,
    )
    op.create_index(
        "ix_payment_transactions_gateway_ref", "payment_transactions", ["gateway_reference"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_payment_transactions_gateway_ref", table_name="payment_transactions")
    op.drop_index("ix_payment_transactions_transaction_ref", table_name="payment_transactions")
    op.drop_index("ix_finance_settlement_lines_status", table_name="finance_settlement_lines")
    op.drop_table("finance_settlement_lines")
    op.drop_index("ix_finance_settlements_imported", table_name="finance_settlements")
    op.drop_table("finance_settlements")
