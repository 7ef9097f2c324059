"""Marketing's stored purchase facts (ADR 0037): per customer and currency the RFM measures, scores, returns and
lifetime value; per customer their orders with the divisions they came from, and the styles they bought; how each
currency's buyers are scored with the last run's quintile boundaries. `order_lines` gains an index on its item,
which the `purchased_item` segment rule reads live, and `customers` a partial index of the ids of customers neither
merged away nor anonymized, which every segment count reads. New tables are empty: `ordersmith marketing
refresh-facts` fills them from the orders.

Revision ID: 0043_mktfacts
Revises: 0050_pos
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ordersmith.platform.db import UTCDateTime

revision: str = "0043_mktfacts"
down_revision: str | None = "0050_pos"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCORES = "BETWEEN 1 AND 5"


def upgrade() -> None:
    op.create_table(
        "marketing_customer_facts",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("first_order_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_order_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("monetary_minor", sa.BigInteger(), nullable=False),
        sa.Column("returned_minor", sa.BigInteger(), nullable=False),
        sa.Column("lifetime_value_minor", sa.BigInteger(), nullable=False),
        sa.Column("recency_score", sa.SmallInteger(), nullable=True),
        sa.Column("frequency_score", sa.SmallInteger(), nullable=True),
        sa.Column("monetary_score", sa.SmallInteger(), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("orders > 0", name="ck_marketing_facts_orders"),
        sa.CheckConstraint(
            f"(recency_score IS NULL OR recency_score {_SCORES}) AND "
            f"(frequency_score IS NULL OR frequency_score {_SCORES}) AND "
            f"(monetary_score IS NULL OR monetary_score {_SCORES})",
            name="ck_marketing_facts_scores",
        ),
        sa.PrimaryKeyConstraint("customer_id", "currency"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # a fifth of each page free: the scoring run's updates (scores are in no index) stay in their page (HOT)
        op.execute("ALTER TABLE marketing_customer_facts SET (fillfactor = 80)")
    op.create_table(
        "marketing_customer_purchases",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("first_order_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_order_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("divisions", sa.String(length=2000), nullable=False),
        sa.CheckConstraint("orders > 0", name="ck_marketing_purchases_orders"),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    with op.batch_alter_table("marketing_customer_purchases", schema=None) as batch_op:
        batch_op.create_index("ix_marketing_customer_purchases_last", ["last_order_at"], unique=False)
    op.create_table(
        "marketing_customer_styles",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("style_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "style_id"),
    )
    with op.batch_alter_table("marketing_customer_styles", schema=None) as batch_op:
        batch_op.create_index("ix_marketing_customer_styles_style", ["style_id", "customer_id"], unique=False)
    op.create_table(
        "marketing_rfm_scoring",
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("method", sa.String(length=9), nullable=False),
        sa.Column("cutoffs", sa.JSON(), nullable=True),
        sa.Column("bounds", sa.JSON(), nullable=True),
        sa.Column("scored_customers", sa.BigInteger(), nullable=False),
        sa.Column("scored_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("method IN ('quintiles', 'cutoffs')", name="ck_marketing_rfm_method"),
        sa.CheckConstraint("method = 'quintiles' OR cutoffs IS NOT NULL", name="ck_marketing_rfm_cutoffs"),
        sa.PrimaryKeyConstraint("currency"),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index("ix_order_lines_item", ["item_id"], unique=False)
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_live",
            ["id"],
            unique=False,
            sqlite_where=sa.text("merged_into_id IS NULL AND anonymized_at IS NULL"),
            postgresql_where=sa.text("merged_into_id IS NULL AND anonymized_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_live")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_order_lines_item")
    op.drop_table("marketing_rfm_scoring")
    with op.batch_alter_table("marketing_customer_styles", schema=None) as batch_op:
        batch_op.drop_index("ix_marketing_customer_styles_style")
    op.drop_table("marketing_customer_styles")
    with op.batch_alter_table("marketing_customer_purchases", schema=None) as batch_op:
        batch_op.drop_index("ix_marketing_customer_purchases_last")
    op.drop_table("marketing_customer_purchases")
    op.drop_table("marketing_customer_facts")
