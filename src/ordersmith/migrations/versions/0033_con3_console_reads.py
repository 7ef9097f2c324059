"""The orders list newest placed first: its filter indexes end in placed_at

The console's and the API's order list is ordered by (placed_at, id), newest first (it was by id, which put an
imported order placed last year among today's). Each single-value filter's index now ends in placed_at, so a page
of a status, a fulfillment status or a source code reads that page's orders and stops, however long the history:
(status, id) → (status, placed_at), (fulfillment_status, id) → (fulfillment_status, placed_at), (source_code) →
(source_code, placed_at). The channel's and the customer's indexes already end in placed_at. Same number of indexes.

Revision ID: 0029_con3_console_reads
Revises: 0029_chan
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029_con3_console_reads"
down_revision: str | None = "0029_chan"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW = {
    "ix_orders_status": ["status", "placed_at"],
    "ix_orders_fulfillment_status": ["fulfillment_status", "placed_at"],
    "ix_orders_source_code": ["source_code", "placed_at"],
}
_OLD = {
    "ix_orders_status": ["status", "id"],
    "ix_orders_fulfillment_status": ["fulfillment_status", "id"],
    "ix_orders_source_code": ["source_code"],
}


def _replace(indexes: dict[str, list[str]]) -> None:
    for name, columns in indexes.items():
        op.drop_index(name, table_name="orders")
        op.create_index(name, "orders", columns, unique=False)


def upgrade() -> None:
    _replace(_NEW)


def downgrade() -> None:
    _replace(_OLD)
