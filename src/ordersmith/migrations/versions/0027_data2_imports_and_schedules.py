"""More import kinds: a vendor item's own lead time, orders marked as imported from history.

Revision ID: 0027_data2
Revises: 0023_reporting
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_data2"
down_revision: str | None = "0023_reporting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("vendor_items", sa.Column("lead_time_days", sa.Integer(), nullable=True))
    op.add_column("orders", sa.Column("imported", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("imported")
    with op.batch_alter_table("vendor_items") as batch:
        batch.drop_column("lead_time_days")
