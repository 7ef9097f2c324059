"""A purchase order's number in the system it was imported from, unique: a reference imported once is never a
second PO.

Revision ID: 0029_data3
Revises: 0029_fin2
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_data3"
down_revision: str | None = "0029_fin2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("purchase_orders", sa.Column("source_reference", sa.String(length=60), nullable=True))
    op.create_index(
        "uq_purchase_orders_source_reference", "purchase_orders", ["source_reference"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_purchase_orders_source_reference", table_name="purchase_orders")
    with op.batch_alter_table("purchase_orders") as batch:
        batch.drop_column("source_reference")
