"""The channel's own id of each line of an imported channel order, by our line number (ADR 0061)

Revision ID: 0061_channel_line_ids
Revises: 0060_order_pushes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0061_channel_line_ids"
down_revision: str | None = "0060_order_pushes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_orders") as batch:
        batch.add_column(sa.Column("line_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_orders") as batch:
        batch.drop_column("line_ids")
