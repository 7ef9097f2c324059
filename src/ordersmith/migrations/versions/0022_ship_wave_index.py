"""Shipments by wave and status: closing a wave asks whether any of its shipments is still open, one index probe
per open status instead of a walk through the wave's shipments (which grew with every shipment shipped).

Revision ID: 0019_ship_wave_index
Revises: 0018_drop_ship
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_ship_wave_index"
down_revision: str | None = "0018_drop_ship"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_shipments_wave", table_name="shipments")
    op.create_index("ix_shipments_wave", "shipments", ["wave_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_shipments_wave", table_name="shipments")
    op.create_index("ix_shipments_wave", "shipments", ["wave_id"], unique=False)
