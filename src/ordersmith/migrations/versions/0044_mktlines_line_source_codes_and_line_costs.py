"""Line-level source codes and the cost of goods per order line

`order_lines.source_code` (a line from another offer than its order's keeps that code; NULL: its order's) with a
partial index of the keyed lines only; `finance_line_costs` (the COGS each shipment or received return posted for
each order line, at the moving-average cost it was costed at), which results per key code read (ADR 0038); an index
of matchback attributions by key code for the same results.

Revision ID: 0044_mktlines
Revises: 0048_fincost
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0044_mktlines"
down_revision: str | None = "0048_fincost"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("order_lines", sa.Column("source_code", sa.String(length=40), nullable=True))
    op.create_index(
        "ix_order_lines_source_code",
        "order_lines",
        ["source_code", "order_id"],
        unique=False,
        postgresql_where=sa.text("source_code IS NOT NULL"),
        sqlite_where=sa.text("source_code IS NOT NULL"),
    )
    op.create_table(
        "finance_line_costs",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("source_event_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("unit_cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.CheckConstraint("kind IN ('shipment', 'return')", name="ck_finance_line_costs_kind"),
        sa.CheckConstraint(
            "(kind = 'shipment' AND units > 0 AND cost_minor >= 0) "
            "OR (kind = 'return' AND units < 0 AND cost_minor <= 0)",
            name="ck_finance_line_costs_sign",
        ),
        sa.PrimaryKeyConstraint("order_id", "line_no", "source_event_id"),
    )
    op.create_index(
        "ix_marketing_matchbacks_key_code", "marketing_matchbacks", ["key_code", "order_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_marketing_matchbacks_key_code", table_name="marketing_matchbacks")
    op.drop_table("finance_line_costs")
    op.drop_index("ix_order_lines_source_code", table_name="order_lines")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("source_code")
