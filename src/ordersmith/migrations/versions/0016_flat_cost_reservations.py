"""Flat-cost reservations: per-division reserved counters on stock_pools (backfilled from active reservation
lines) and a partial index the expiry job reads due reservations through (ADR 0016)

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXPIRING = "status = 'active' AND expires_at IS NOT NULL"


def upgrade() -> None:
    # stock_pools is small (one row per division per pooled level): a batch rebuild on SQLite is cheap.
    with op.batch_alter_table("stock_pools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reserved", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch_op.create_check_constraint("ck_stock_pool_reserved_not_negative", "reserved >= 0")
    # Each pool starts from what its division holds reserved at that level right now.
    op.execute(
        "UPDATE stock_pools SET reserved = COALESCE(("
        "SELECT SUM(l.quantity) FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id "
        "WHERE r.status = 'active' AND r.division = stock_pools.division "
        "AND l.item_id = stock_pools.item_id AND l.location_id = stock_pools.location_id), 0)"
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reservations_expiring",
            ["expires_at"],
            unique=False,
            postgresql_where=sa.text(_EXPIRING),
            sqlite_where=sa.text(_EXPIRING),
        )


def downgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_reservations_expiring")
    with op.batch_alter_table("stock_pools", schema=None) as batch_op:
        batch_op.drop_constraint("ck_stock_pool_reserved_not_negative", type_="check")
        batch_op.drop_column("reserved")
