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
    # Plain ALTER TABLE (no batch copy): API keys and webhooks hold foreign keys on sales_channels.
    op.add_column(
        "sales_channels", sa.Column("bills_later", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_index(
        "ux_payments_wallet_reference",
        "payments",
        ["method", "reference"],
        unique=True,
        sqlite_where=sa.text("method = 'paypal' AND status <> 'failed'"),
        postgresql_where=sa.text("method = 'paypal' AND status <> 'failed'"),
    )


def downgrade() -> None:
    op.drop_index("ux_payments_wallet_reference", table_name="payments")
    # A plain DROP COLUMN (SQLite >= 3.35 has it): a batch copy of sales_channels would trip the foreign keys
    # that API keys and webhooks hold on it.
    op.drop_column("sales_channels", "bills_later")
