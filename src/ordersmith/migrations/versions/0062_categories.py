"""Merchandise categories: a tree of codes, and the category of each item and style (ADR 0063)

Revision ID: 0062_categories
Revises: 0061_channel_line_ids
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0062_categories"
down_revision: str | None = "0061_channel_line_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_code", sa.String(length=40), nullable=True),
        sa.Column("path", sa.String(length=250), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ordersmith.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["parent_code"], ["categories.code"], name="fk_categories_parent"),
        sa.PrimaryKeyConstraint("code"),
        sa.UniqueConstraint("path"),
    )
    op.create_index("ix_categories_parent", "categories", ["parent_code"], unique=False)
    for table in ("items", "styles"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("category", sa.String(length=40), nullable=True))
            batch.create_foreign_key(f"fk_{table}_category", "categories", ["category"], ["code"])
            batch.create_index(f"ix_{table}_category", ["category"], unique=False)


def downgrade() -> None:
    for table in ("styles", "items"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_category")
            batch.drop_constraint(f"fk_{table}_category", type_="foreignkey")
            batch.drop_column("category")
    op.drop_index("ix_categories_parent", table_name="categories")
    op.drop_table("categories")
