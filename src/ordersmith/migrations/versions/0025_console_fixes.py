"""Console fixes: one reason-code vocabulary and the orders list's fulfillment-status filter

Stock movements recorded with the former adjustment reason `damage` now read `damaged`, the code returns use (the
API still accepts `damage` on input). Orders get an index on (fulfillment_status, id) so that
`GET /api/v1/orders?fulfillment_status=backordered` reads only the matching orders, newest first.

Revision ID: 0022_console_fixes
Revises: 0021_data_imports
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_console_fixes"
down_revision: str | None = "0021_data_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE stock_movements SET reason = 'damaged' WHERE reason = 'damage'")
    op.create_index("ix_orders_fulfillment_status", "orders", ["fulfillment_status", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_orders_fulfillment_status", table_name="orders")
    op.execute("UPDATE stock_movements SET reason = 'damage' WHERE reason = 'damaged'")
