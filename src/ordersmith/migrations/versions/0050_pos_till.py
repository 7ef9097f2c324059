"""The store POS: stores, registers, shifts and till sales

`pos_stores` (a store location's till settings: its POS channel, address and carry-out method), `pos_registers`,
`pos_shifts` (one open per register — a partial unique index — with the drawer's counters on the row) and
`pos_sales` (one row per till sale id: placed with its order, or flagged for the store manager; flagged sales are
read through a partial index of what is still flagged).

Revision ID: 0050_pos
Revises: 0044_mktlines
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0050_pos"
down_revision: str | None = "0044_mktlines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pos_stores",
        sa.Column("location", sa.String(length=40), nullable=False),
        sa.Column("sales_channel_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("line1", sa.String(length=200), nullable=False),
        sa.Column("line2", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("receipt_footer", sa.String(length=500), nullable=False),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["sales_channel_id"], ["sales_channels.id"], name="fk_pos_stores_channel"),
        sa.PrimaryKeyConstraint("location"),
    )
    with op.batch_alter_table("pos_stores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pos_stores_sales_channel_id"), ["sales_channel_id"], unique=False
        )

    op.create_table(
        "pos_registers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("store", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store"], ["pos_stores.location"], name="fk_pos_registers_store"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("pos_registers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pos_registers_store"), ["store"], unique=False)

    op.create_table(
        "pos_shifts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("register_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("opening_float_minor", sa.BigInteger(), nullable=False),
        sa.Column("cash_in_minor", sa.BigInteger(), nullable=False),
        sa.Column("change_out_minor", sa.BigInteger(), nullable=False),
        sa.Column("cash_refunds_minor", sa.BigInteger(), nullable=False),
        sa.Column("sales", sa.Integer(), nullable=False),
        sa.Column("late_sales", sa.Integer(), nullable=False),
        sa.Column("opened_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=320), nullable=False),
        sa.Column("closed_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=320), nullable=True),
        sa.Column("counted_minor", sa.BigInteger(), nullable=True),
        sa.Column("expected_minor", sa.BigInteger(), nullable=True),
        sa.Column("difference_minor", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "opening_float_minor >= 0 AND cash_in_minor >= 0 AND change_out_minor >= 0 AND cash_refunds_minor >= 0",
            name="ck_pos_shifts_amounts",
        ),
        sa.ForeignKeyConstraint(["register_id"], ["pos_registers.id"], name="fk_pos_shifts_register"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pos_shifts", schema=None) as batch_op:
        batch_op.create_index("ix_pos_shifts_register", ["register_id", "opened_at", "id"], unique=False)
        batch_op.create_index(
            "ux_pos_shifts_one_open",
            ["register_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "pos_sales",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("register_id", sa.Uuid(), nullable=False),
        sa.Column("shift_id", sa.Uuid(), nullable=True),
        sa.Column("store", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("rung_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("till_total_minor", sa.BigInteger(), nullable=True),
        sa.Column("cash_received_minor", sa.BigInteger(), nullable=False),
        sa.Column("change_given_minor", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("order_number", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("resolved_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=320), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.CheckConstraint("cash_received_minor >= 0 AND change_given_minor >= 0", name="ck_pos_sales_cash"),
        sa.ForeignKeyConstraint(["register_id"], ["pos_registers.id"], name="fk_pos_sales_register"),
        sa.ForeignKeyConstraint(["shift_id"], ["pos_shifts.id"], name="fk_pos_sales_shift"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pos_sales", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pos_sales_flagged",
            ["store", "received_at", "id"],
            unique=False,
            sqlite_where=sa.text("status = 'flagged'"),
            postgresql_where=sa.text("status = 'flagged'"),
        )
        batch_op.create_index("ix_pos_sales_order", ["order_id"], unique=False)
        batch_op.create_index("ix_pos_sales_shift", ["shift_id", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pos_sales", schema=None) as batch_op:
        batch_op.drop_index("ix_pos_sales_shift")
        batch_op.drop_index("ix_pos_sales_order")
        batch_op.drop_index(
            "ix_pos_sales_flagged",
            sqlite_where=sa.text("status = 'flagged'"),
            postgresql_where=sa.text("status = 'flagged'"),
        )

    op.drop_table("pos_sales")
    with op.batch_alter_table("pos_shifts", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_pos_shifts_one_open",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index("ix_pos_shifts_register")

    op.drop_table("pos_shifts")
    with op.batch_alter_table("pos_registers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pos_registers_store"))

    op.drop_table("pos_registers")
    with op.batch_alter_table("pos_stores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pos_stores_sales_channel_id"))

    op.drop_table("pos_stores")
