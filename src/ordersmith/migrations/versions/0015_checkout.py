"""Checkout: a sales channel may bill later (its orders are released without a tender); a wallet payment's
reference pays one tender only

Revision ID: 0015
Revises: 0014_channel_visibility_c4f1
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014_channel_visibility_c4f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sales_channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bills_later", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            "ux_payments_wallet_reference",
            ["method", "reference"],
            unique=True,
            sqlite_where=sa.text("method = 'paypal' AND status <> 'failed'"),
            postgresql_where=sa.text("method = 'paypal' AND status <> 'failed'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ux_payments_wallet_reference")
    with op.batch_alter_table("sales_channels", schema=None) as batch_op:
        batch_op.drop_column("bills_later")
