"""Customization (issue 20): custom field definitions and their typed values (ADR 0051), and the policies set in
the console (`policy_settings`). Values are one row per (kind, record, field), each in the column of its type,
with an index per type on (kind, field, value) so a filter on a custom field is an index lookup.

Revision ID: 0057_custom
Revises: 0056_chfeed
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ordersmith.platform.db import UTCDateTime

revision: str = "0057_custom"
down_revision: str | None = "0056_chfeed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "custom_field_definitions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("max_length", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('item', 'customer', 'order')", name="ck_custom_field_definitions_kind"),
        sa.CheckConstraint(
            "type IN ('text', 'number', 'decimal', 'date', 'boolean', 'choice')",
            name="ck_custom_field_definitions_type",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "name", name="uq_custom_field_definitions_kind_name"),
    )
    op.create_table(
        "custom_field_values",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("value_text", sa.String(length=500), nullable=True),
        sa.Column("value_integer", sa.BigInteger(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("value_boolean", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "record_id", "field"),
    )
    op.create_index("ix_custom_field_values_text", "custom_field_values", ["kind", "field", "value_text"])
    op.create_index(
        "ix_custom_field_values_integer", "custom_field_values", ["kind", "field", "value_integer"]
    )
    op.create_index("ix_custom_field_values_date", "custom_field_values", ["kind", "field", "value_date"])
    op.create_table(
        "policy_settings",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("policy_settings")
    op.drop_index("ix_custom_field_values_date", table_name="custom_field_values")
    op.drop_index("ix_custom_field_values_integer", table_name="custom_field_values")
    op.drop_index("ix_custom_field_values_text", table_name="custom_field_values")
    op.drop_table("custom_field_values")
    op.drop_table("custom_field_definitions")
