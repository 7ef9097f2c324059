"""Channel cancellations and refunds after import; prices out

`channel_order_changes`: one row per cancellation or refund a channel reported for one of its orders (unique on
connector, channel order id, kind and the channel's key), with what came of it (waiting, pending, applied, flagged).
`channel_price_pending`: the latest unit price per connector and item not yet pushed, and
`channel_connectors.price_push_due_at`: when the connector's queued price push runs.

Revision ID: 0056_chfeed
Revises: 0053_finforms
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0056_chfeed"
down_revision: str | None = "0053_finforms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_order_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("connector_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("change_key", sa.String(length=100), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("channel_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("received_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connector_id"], ["channel_connectors.id"], name="fk_channel_order_changes_connector"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "connector_id", "external_id", "kind", "change_key", name="uq_channel_order_changes"
        ),
    )
    with op.batch_alter_table("channel_order_changes", schema=None) as batch_op:
        batch_op.create_index("ix_channel_order_changes_status", ["connector_id", "status"], unique=False)

    op.create_table(
        "channel_price_pending",
        sa.Column("connector_id", sa.Uuid(), nullable=False),
        sa.Column("item_sku", sa.String(length=64), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("changed_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"], ["channel_connectors.id"], name="fk_channel_price_pending_connector"
        ),
        sa.PrimaryKeyConstraint("connector_id", "item_sku"),
    )
    with op.batch_alter_table("channel_connectors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("price_push_due_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_connectors", schema=None) as batch_op:
        batch_op.drop_column("price_push_due_at")
    op.drop_table("channel_price_pending")
    with op.batch_alter_table("channel_order_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_order_changes_status")
    op.drop_table("channel_order_changes")
