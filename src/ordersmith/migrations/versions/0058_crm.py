"""CRM sync (HubSpot first)

`crm_connections`: one per CRM account, its access token sealed, with its health and the claim of the worker
syncing it. `crm_links`: our customers and orders and the CRM's contacts and deals they are (a record has one link).
`crm_pending`: records waiting to be synced (or a contact to erase), one row per record. `crm_dead_letters`: syncs
that failed for good, replayable.

Revision ID: 0058_crm
Revises: 0057_custom
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0058_crm"
down_revision: str | None = "0057_custom"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_success_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("dead_letters_open", sa.Integer(), nullable=False),
        sa.Column("rate_limit", sa.JSON(), nullable=False),
        sa.Column("sync_due_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "crm_dead_letters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("operation", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("replayed_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["crm_connections.id"], name="fk_crm_dead_letters_connection"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("crm_dead_letters", schema=None) as batch_op:
        batch_op.create_index("ix_crm_dead_letters_open", ["connection_id", "status", "id"], unique=False)

    op.create_table(
        "crm_links",
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("remote_id", sa.String(length=40), nullable=False),
        sa.Column("synced_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["crm_connections.id"], name="fk_crm_links_connection"),
        sa.PrimaryKeyConstraint("connection_id", "kind", "record_id"),
    )
    with op.batch_alter_table("crm_links", schema=None) as batch_op:
        batch_op.create_index("ix_crm_links_remote", ["connection_id", "kind", "remote_id"], unique=False)

    op.create_table(
        "crm_pending",
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("changed_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["crm_connections.id"], name="fk_crm_pending_connection"),
        sa.PrimaryKeyConstraint("connection_id", "kind", "record_id"),
    )


def downgrade() -> None:
    op.drop_table("crm_pending")
    with op.batch_alter_table("crm_links", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_links_remote")

    op.drop_table("crm_links")
    with op.batch_alter_table("crm_dead_letters", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_dead_letters_open")

    op.drop_table("crm_dead_letters")
    op.drop_table("crm_connections")
