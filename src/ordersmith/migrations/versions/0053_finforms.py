"""Dunning runs: the letters sent

`finance_dunning_letters`: one row per customer, stage and day a dunning run sent a letter (unique, so a run
repeated or two at once dun each customer once), with what it asked for.

Revision ID: 0053_finforms
Revises: 0043_mktfacts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0053_finforms"
down_revision: str | None = "0043_mktfacts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "finance_dunning_letters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("customer_number", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("invoices", sa.Integer(), nullable=False),
        sa.Column("oldest_days_past_due", sa.Integer(), nullable=False),
        sa.Column("sent_by", sa.String(length=320), nullable=False),
        sa.Column("sent_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "stage IN ('reminder', 'second_notice', 'final_notice')", name="ck_finance_dunning_letters_stage"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "as_of", "stage", name="uq_finance_dunning_letters_once"),
    )
    with op.batch_alter_table("finance_dunning_letters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_finance_dunning_letters_customer_number"), ["customer_number"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("finance_dunning_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finance_dunning_letters_customer_number"))
    op.drop_table("finance_dunning_letters")
