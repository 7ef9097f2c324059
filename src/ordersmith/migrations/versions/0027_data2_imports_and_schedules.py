"""More import kinds (a vendor item's own lead time, orders marked as imported from history) and saved reports
e-mailed on a schedule (`saved_reports`, its due query on the `next_run_at` index).

Revision ID: 0027_data2
Revises: 0023_reporting
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0027_data2"
down_revision: str | None = "0023_reporting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = ordersmith.platform.db.UTCDateTime(timezone=True)
    op.create_table(
        "saved_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("report", sa.String(length=60), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("next_run_at", when, nullable=True),
        sa.Column("last_run_at", when, nullable=True),
        sa.Column("last_status", sa.String(length=10), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("hour >= 0 AND hour <= 23", name="ck_saved_reports_hour"),
        sa.CheckConstraint(
            "weekday IS NULL OR (weekday >= 0 AND weekday <= 6)", name="ck_saved_reports_weekday"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("title"),
    )
    op.create_index("ix_saved_reports_next_run_at", "saved_reports", ["next_run_at"], unique=False)
    op.add_column("vendor_items", sa.Column("lead_time_days", sa.Integer(), nullable=True))
    op.add_column("orders", sa.Column("imported", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_index("ix_saved_reports_next_run_at", table_name="saved_reports")
    op.drop_table("saved_reports")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("imported")
    with op.batch_alter_table("vendor_items") as batch:
        batch.drop_column("lead_time_days")
