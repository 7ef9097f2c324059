"""Continuity programs: programs, members' subscriptions (with the partial index the due query reads) and the
shipments placed for them (one per subscription and shipment number).

Revision ID: 0034_cont
Revises: 0034_fin_ap
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0034_cont"
down_revision: str | None = "0034_fin_ap"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "continuity_programs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("interval_weeks", sa.Integer(), nullable=False),
        sa.Column("max_shipments", sa.Integer(), nullable=True),
        sa.Column("source_code", sa.String(length=40), nullable=True),
        sa.Column("terms", sa.String(length=4000), nullable=False),
        sa.Column("terms_version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('replenish', 'series')", name="ck_continuity_program_kind"),
        sa.CheckConstraint("interval_weeks BETWEEN 1 AND 52", name="ck_continuity_program_interval"),
        sa.CheckConstraint("max_shipments IS NULL OR max_shipments >= 1", name="ck_continuity_program_max"),
        sa.CheckConstraint("terms_version >= 1", name="ck_continuity_program_terms"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "continuity_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("customer_number", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("ship_to", sa.JSON(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("card_token", sa.String(length=64), nullable=False),
        sa.Column("card_brand", sa.String(length=20), nullable=False),
        sa.Column("card_last_four", sa.String(length=4), nullable=False),
        sa.Column("card_exp_month", sa.Integer(), nullable=False),
        sa.Column("card_exp_year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("cycle_on", sa.Date(), nullable=False),
        sa.Column("next_run_on", sa.Date(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("attempt_seq", sa.Integer(), nullable=False),
        sa.Column("last_failure", sa.String(length=400), nullable=True),
        sa.Column("last_failure_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("last_order_id", sa.Uuid(), nullable=True),
        sa.Column("last_order_number", sa.String(length=20), nullable=True),
        sa.Column("terms_version", sa.Integer(), nullable=False),
        sa.Column("terms_digest", sa.String(length=64), nullable=False),
        sa.Column("terms_accepted_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("signed_up_by", sa.String(length=320), nullable=False),
        sa.Column("signed_up_origin", sa.String(length=200), nullable=False),
        sa.Column("cancelled_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=320), nullable=True),
        sa.Column("cancel_reason", sa.String(length=400), nullable=True),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "next_run_on IS NULL OR status IN ('active', 'paused')", name="ck_continuity_subscription_due"
        ),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'suspended', 'cancelled', 'completed')",
            name="ck_continuity_subscription_status",
        ),
        sa.CheckConstraint("cycle >= 1", name="ck_continuity_subscription_cycle"),
        sa.CheckConstraint("failed_attempts >= 0", name="ck_continuity_subscription_failures"),
        sa.CheckConstraint("quantity BETWEEN 1 AND 1000", name="ck_continuity_subscription_quantity"),
        sa.ForeignKeyConstraint(
            ["program_id"], ["continuity_programs.id"], name="fk_continuity_subscription_program"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("continuity_subscriptions", schema=None) as batch_op:
        batch_op.create_index("ix_continuity_subscriptions_channel", ["channel", "id"], unique=False)
        batch_op.create_index("ix_continuity_subscriptions_customer", ["customer_id", "id"], unique=False)
        batch_op.create_index(
            "ix_continuity_subscriptions_due",
            ["next_run_on"],
            unique=False,
            sqlite_where=sa.text("next_run_on IS NOT NULL"),
            postgresql_where=sa.text("next_run_on IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_continuity_subscriptions_program", ["program_id", "status", "id"], unique=False
        )
        batch_op.create_index("ix_continuity_subscriptions_status", ["status", "id"], unique=False)

    op.create_table(
        "continuity_shipments",
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("order_number", sa.String(length=20), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("placed_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["continuity_subscriptions.id"], name="fk_continuity_shipment_subscription"
        ),
        sa.PrimaryKeyConstraint("subscription_id", "cycle"),
    )


def downgrade() -> None:
    op.drop_table("continuity_shipments")
    with op.batch_alter_table("continuity_subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_continuity_subscriptions_status")
        batch_op.drop_index("ix_continuity_subscriptions_program")
        batch_op.drop_index(
            "ix_continuity_subscriptions_due",
            sqlite_where=sa.text("next_run_on IS NOT NULL"),
            postgresql_where=sa.text("next_run_on IS NOT NULL"),
        )
        batch_op.drop_index("ix_continuity_subscriptions_customer")
        batch_op.drop_index("ix_continuity_subscriptions_channel")

    op.drop_table("continuity_subscriptions")
    op.drop_table("continuity_programs")
