"""channels: the poll state of polled connectors (cursor, claim, due time)

Revision ID: 0034_chan2
Revises: 0034_finexp

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0034_chan2"
down_revision: str | None = "0034_finexp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_poll_state",
        sa.Column("connector_id", sa.Uuid(), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("next_poll_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_polled_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"], ["channel_connectors.id"], name="fk_channel_poll_state_connector"
        ),
        sa.PrimaryKeyConstraint("connector_id"),
    )
    with op.batch_alter_table("channel_poll_state", schema=None) as batch_op:
        batch_op.create_index("ix_channel_poll_state_due", ["next_poll_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("channel_poll_state", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_poll_state_due")
    op.drop_table("channel_poll_state")
