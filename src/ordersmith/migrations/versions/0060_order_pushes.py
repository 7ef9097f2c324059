"""Cancellations and refunds of ours owed to a channel, one row each (ADR 0058)

Revision ID: 0060_order_pushes
Revises: 0059_facts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0060_order_pushes"
down_revision: str | None = "0059_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_order_pushes",
        sa.Column("connector_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("push_key", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("claimed_until", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"], ["channel_connectors.id"], name="fk_channel_order_pushes_connector"
        ),
        sa.PrimaryKeyConstraint("connector_id", "external_id", "push_key"),
    )


def downgrade() -> None:
    op.drop_table("channel_order_pushes")
