"""Accounting exports are recorded: each export claims its journal entries per accounting package

`accounting_exports` keeps every export made (format, package, period, currency, counts, who and when);
`accounting_export_items` claims each journal entry for one export per package — its primary key is
(target, entry_id), so an entry reaches Sage 50, Dynamics GP, QuickBooks or Xero once, and a later export of the
same period carries only what was posted since.

Revision ID: 0034_finexp
Revises: 0029_con3_console_reads
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0034_finexp"
down_revision: str | None = "0029_con3_console_reads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounting_exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("summary", sa.Boolean(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("debit_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_accounting_exports_created", "accounting_exports", ["created_at", "id"], unique=False)
    op.create_table(
        "accounting_export_items",
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("export_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["export_id"], ["accounting_exports.id"], name="fk_accounting_export_items_export"
        ),
        sa.PrimaryKeyConstraint("target", "entry_id"),
    )
    op.create_index(
        "ix_accounting_export_items_export",
        "accounting_export_items",
        ["export_id", "entry_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_accounting_export_items_export", table_name="accounting_export_items")
    op.drop_table("accounting_export_items")
    op.drop_index("ix_accounting_exports_created", table_name="accounting_exports")
    op.drop_table("accounting_exports")
