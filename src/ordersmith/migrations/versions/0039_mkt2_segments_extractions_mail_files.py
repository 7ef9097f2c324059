"""Marketing lists: segments (stored rule trees), mail-hygiene flags, list pulls with their names, mail files as
sent and the orders matched back to them (ADR 0031). New tables only.

Revision ID: 0034_mkt2
Revises: 0034_fin_rules
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ordersmith.platform.db import UTCDateTime

revision: str = "0034_mkt2"
down_revision: str | None = "0034_fin_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "marketing_extractions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("segment", sa.String(length=40), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("funnel", sa.JSON(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("names", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("marketing_extractions", schema=None) as batch_op:
        batch_op.create_index("ix_marketing_extractions_created", ["created_at"], unique=False)

    op.create_table(
        "marketing_mail_files",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("in_home_on", sa.Date(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("names", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("matched_at", UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("window_days BETWEEN 1 AND 366", name="ck_marketing_mail_file_window"),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "marketing_mail_flags",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("deceased", sa.Boolean(), nullable=False),
        sa.Column("undeliverable", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "marketing_segments",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "marketing_extraction_names",
        sa.Column("extraction_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("key_code", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("customer_number", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("line1", sa.String(length=200), nullable=False),
        sa.Column("line2", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["extraction_id"],
            ["marketing_extractions.id"],
            name="fk_marketing_extraction_names",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("extraction_id", "seq"),
    )
    op.create_table(
        "marketing_mail_file_names",
        sa.Column("mail_file", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("key_code", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("address_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["mail_file"],
            ["marketing_mail_files.code"],
            name="fk_marketing_mail_file_names",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mail_file", "seq"),
    )
    with op.batch_alter_table("marketing_mail_file_names", schema=None) as batch_op:
        batch_op.create_index("ix_marketing_mail_names_address", ["address_key"], unique=False)
        batch_op.create_index("ix_marketing_mail_names_customer", ["customer_id"], unique=False)

    op.create_table(
        "marketing_matchbacks",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("mail_file", sa.String(length=40), nullable=False),
        sa.Column("key_code", sa.String(length=40), nullable=False),
        sa.Column("matched_by", sa.String(length=8), nullable=False),
        sa.Column("matched_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("matched_by IN ('customer', 'address')", name="ck_marketing_matchback_by"),
        sa.ForeignKeyConstraint(
            ["mail_file"],
            ["marketing_mail_files.code"],
            name="fk_marketing_matchbacks_file",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id"),
    )
    with op.batch_alter_table("marketing_matchbacks", schema=None) as batch_op:
        batch_op.create_index("ix_marketing_matchbacks_file", ["mail_file", "key_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("marketing_matchbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_marketing_matchbacks_file")

    op.drop_table("marketing_matchbacks")
    with op.batch_alter_table("marketing_mail_file_names", schema=None) as batch_op:
        batch_op.drop_index("ix_marketing_mail_names_customer")
        batch_op.drop_index("ix_marketing_mail_names_address")

    op.drop_table("marketing_mail_file_names")
    op.drop_table("marketing_extraction_names")
    op.drop_table("marketing_segments")
    op.drop_table("marketing_mail_flags")
    op.drop_table("marketing_mail_files")
    with op.batch_alter_table("marketing_extractions", schema=None) as batch_op:
        batch_op.drop_index("ix_marketing_extractions_created")

    op.drop_table("marketing_extractions")
