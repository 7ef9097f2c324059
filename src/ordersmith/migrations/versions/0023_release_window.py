"""Edit before release: a channel's edit window (`sales_channels.release_after_s`) and the time a pending order
is released by itself (`orders.release_at`, with a partial index on what waits).

Revision ID: 0020_release_window
Revises: 0019_ship_wave_index
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ordersmith.platform.db import UTCDateTime

revision: str = "0020_release_window"
down_revision: str | None = "0019_ship_wave_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUE = "status = 'pending' AND release_at IS NOT NULL"


def upgrade() -> None:
    op.add_column(
        "sales_channels", sa.Column("release_after_s", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("orders", sa.Column("release_at", UTCDateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_orders_release_due",
        "orders",
        ["release_at"],
        unique=False,
        postgresql_where=sa.text(_DUE),
        sqlite_where=sa.text(_DUE),
    )


def downgrade() -> None:
    op.drop_index("ix_orders_release_due", table_name="orders")
    op.drop_column("orders", "release_at")
    op.drop_column("sales_channels", "release_after_s")
