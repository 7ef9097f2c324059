"""Accounting exports push to QuickBooks Online and Business Central through their APIs

`accounting_export_items` keep each pushed entry's result (the package's id for it, when, the last refusal, and
QuickBooks' request attempt); `accounting_exports` count pushed and refused entries and carry the push lease;
`ledger_tokens` keeps the latest (rotated) OAuth refresh token of a package, sealed.

Revision ID: 0036_ledg
Revises: 0036_plug
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0036_ledg"
down_revision: str | None = "0036_plug"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounting_exports") as batch:
        batch.add_column(sa.Column("pushed", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("failed", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("push_lease_until", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("accounting_export_items") as batch:
        batch.add_column(sa.Column("remote_id", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("pushed_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("attempt", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "ledger_tokens",
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("sealed", sa.String(length=2000), nullable=False),
        sa.Column("updated_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("target"),
    )


def downgrade() -> None:
    op.drop_table("ledger_tokens")
    with op.batch_alter_table("accounting_export_items") as batch:
        batch.drop_column("attempt")
        batch.drop_column("last_error")
        batch.drop_column("pushed_at")
        batch.drop_column("remote_id")
    with op.batch_alter_table("accounting_exports") as batch:
        batch.drop_column("push_lease_until")
        batch.drop_column("failed")
        batch.drop_column("pushed")
