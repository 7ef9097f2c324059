"""Daily facts for the sales reports (ADR 0055)

`report_fact_days`: the UTC days whose facts are stored. `report_order_days`, `report_item_days`,
`report_style_days`, `report_tax_days`: per day of placement, channel, division and currency, the sales reports'
figures per source code, item, style and ship-to jurisdiction, recomputed whole days at a time.

Revision ID: 0059_facts
Revises: 0058_crm
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0059_facts"
down_revision: str | None = "0058_crm"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_fact_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("computed_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "report_item_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("division", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_units", sa.BigInteger(), nullable=False),
        sa.Column("returned_units", sa.BigInteger(), nullable=False),
        sa.Column("demand_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "division", "currency", "sku", "item_id"),
    )
    op.create_table(
        "report_order_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("division", sa.String(length=40), nullable=False),
        sa.Column("source_code", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_units", sa.BigInteger(), nullable=False),
        sa.Column("returned_units", sa.BigInteger(), nullable=False),
        sa.Column("demand_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("orders_not_cancelled", sa.Integer(), nullable=False),
        sa.Column("orders_complete", sa.Integer(), nullable=False),
        sa.Column("open_orders", sa.Integer(), nullable=False),
        sa.Column("open_value_minor", sa.BigInteger(), nullable=False),
        sa.Column("units_shipped", sa.BigInteger(), nullable=False),
        sa.Column("units_backordered", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "division", "source_code", "currency"),
    )
    op.create_table(
        "report_style_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("division", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("style_code", sa.String(length=40), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_units", sa.BigInteger(), nullable=False),
        sa.Column("returned_units", sa.BigInteger(), nullable=False),
        sa.Column("demand_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "division", "currency", "style_code"),
    )
    op.create_table(
        "report_tax_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("division", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("taxable_minor", sa.BigInteger(), nullable=False),
        sa.Column("goods_tax_minor", sa.BigInteger(), nullable=False),
        sa.Column("shipping_tax_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "division", "currency", "country", "region"),
    )


def downgrade() -> None:
    op.drop_table("report_tax_days")
    op.drop_table("report_style_days")
    op.drop_table("report_order_days")
    op.drop_table("report_item_days")
    op.drop_table("report_fact_days")
