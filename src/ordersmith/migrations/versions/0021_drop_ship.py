"""Drop-ship: a purchase order's kind (stock | drop_ship), the customer it ships to and the sales order (and line)
it serves; a shipment's drop-ship PO

Adds columns only (no table is rebuilt: on SQLite a rebuilt purchase_orders would cascade to its lines).

Revision ID: 0018_drop_ship
Revises: 0017_fulfillment
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_drop_ship"
down_revision: str | None = "0017_fulfillment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "purchase_orders", sa.Column("kind", sa.String(length=12), server_default="stock", nullable=False)
    )
    op.add_column("purchase_orders", sa.Column("ship_to", sa.JSON(none_as_null=True), nullable=True))
    op.add_column("purchase_orders", sa.Column("sales_order", sa.String(length=20), nullable=True))
    op.add_column("purchase_order_lines", sa.Column("sales_line", sa.Integer(), nullable=True))
    op.add_column("shipments", sa.Column("purchase_order", sa.String(length=20), nullable=True))
    op.create_index("ix_shipments_purchase_order", "shipments", ["purchase_order"], unique=False)


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), never a batch rebuild: rebuilding purchase_orders would cascade.
    op.drop_index("ix_shipments_purchase_order", table_name="shipments")
    op.drop_column("shipments", "purchase_order")
    op.drop_column("purchase_order_lines", "sales_line")
    op.drop_column("purchase_orders", "sales_order")
    op.drop_column("purchase_orders", "ship_to")
    op.drop_column("purchase_orders", "kind")
