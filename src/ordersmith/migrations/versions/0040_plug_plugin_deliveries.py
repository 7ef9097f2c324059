"""platform: plugins' failed subscriber deliveries (retried apart from the relay, then dead)

Revision ID: 0036_plug
Revises: 0034_mkt2

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0036_plug"
down_revision: str | None = "0034_mkt2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plugin_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plugin", sa.String(length=100), nullable=False),
        sa.Column("subscriber", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["outbox.id"], name="fk_plugin_deliveries_event_id_outbox"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plugin", "subscriber", "event_id", name="uq_plugin_deliveries_event"),
    )
    with op.batch_alter_table("plugin_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_plugin_deliveries_due",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index("ix_plugin_deliveries_status", ["status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plugin_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_plugin_deliveries_status")
        batch_op.drop_index("ix_plugin_deliveries_due")
    op.drop_table("plugin_deliveries")
