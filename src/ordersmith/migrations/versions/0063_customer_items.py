"""Marketing's stored customer x item pairs for items of no style, and each buyer's merchandise categories on the
purchases row, read by the purchased_category rule (ADR 0063)

Revision ID: 0063_customer_items
Revises: 0062_categories
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0063_customer_items"
down_revision: str | None = "0062_categories"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "marketing_customer_items",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "item_id"),
    )
    op.create_index(
        "ix_marketing_customer_items_item",
        "marketing_customer_items",
        ["item_id", "customer_id"],
        unique=False,
    )
    # The pairs the orders already hold (the facts' definition: a customer neither merged away nor anonymized, an
    # order not cancelled), so the rule is right from the first count without waiting for a refresh of every fact
    op.execute(
        "INSERT INTO marketing_customer_items (customer_id, item_id) "
        "SELECT DISTINCT o.customer_id, l.item_id FROM orders o "
        "JOIN customers c ON c.id = o.customer_id AND c.merged_into_id IS NULL AND c.anonymized_at IS NULL "
        "JOIN order_lines l ON l.order_id = o.id JOIN items i ON i.id = l.item_id "
        "WHERE o.status <> 'cancelled' AND i.style_id IS NULL"
    )

    with op.batch_alter_table("marketing_customer_purchases") as batch:
        batch.add_column(sa.Column("categories", sa.Text(), server_default="", nullable=False))
    # Each buyer's categories: those of the styles and the items of no style they bought (NULL categories left
    # out), in code order, as the relay writes them — one grouped pass over the pairs
    if op.get_bind().dialect.name == "postgresql":
        listed, pairs_order = "string_agg(code, ',' ORDER BY code)", ""
    else:  # SQLite joins them in the order they come
        listed, pairs_order = "group_concat(code)", " ORDER BY 1, 2"
    op.execute(  # `listed` and `pairs_order` are the constants above, nothing from outside
        "UPDATE marketing_customer_purchases SET categories = filed.categories FROM ("  # noqa: S608
        f"SELECT customer_id, ',' || {listed} || ',' AS categories FROM ("
        "SELECT cs.customer_id, s.category AS code FROM marketing_customer_styles cs "
        "JOIN styles s ON s.id = cs.style_id WHERE s.category IS NOT NULL "
        "UNION SELECT ci.customer_id, i.category FROM marketing_customer_items ci "
        f"JOIN items i ON i.id = ci.item_id WHERE i.category IS NOT NULL{pairs_order}) AS pairs "
        "GROUP BY customer_id) AS filed WHERE filed.customer_id = marketing_customer_purchases.customer_id"
    )


def downgrade() -> None:
    with op.batch_alter_table("marketing_customer_purchases") as batch:
        batch.drop_column("categories")
    op.drop_index("ix_marketing_customer_items_item", table_name="marketing_customer_items")
    op.drop_table("marketing_customer_items")
