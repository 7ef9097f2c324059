"""Reporting and exports: the `exports` job table (kind, format, filters, status, rows, file, who asked).

Revision ID: 0023_reporting
Revises: 0022_console_fixes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0023_reporting"
down_revision: str | None = "0022_console_fixes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("file_path", sa.String(length=500), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("rows >= 0", name="ck_exports_rows"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_exports_created", "exports", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_exports_created", table_name="exports")
    op.drop_table("exports")
