"""Marketing: campaigns, drops, the master list of source (key) codes with their offers and each channel's policy
for unknown codes; a customer's last source code; price lists that only a source code's offer brings in.

Revision ID: 0029_mkt
Revises: 0027_finance
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordersmith.platform.db

revision: str = "0029_mkt"
down_revision: str | None = "0027_finance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = ordersmith.platform.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "marketing_campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("notes", sa.String(length=2000), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('catalog', 'email', 'web', 'space_ad', 'marketplace')",
            name="ck_marketing_campaign_kind",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "marketing_drops",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("in_home_on", sa.Date(), nullable=False),
        sa.Column("quantity_mailed", sa.BigInteger(), nullable=False),
        sa.Column("cost_per_piece_minor", sa.BigInteger(), nullable=False),
        sa.Column("creative", sa.String(length=80), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.CheckConstraint("quantity_mailed >= 0", name="ck_marketing_drop_quantity"),
        sa.CheckConstraint("cost_per_piece_minor >= 0", name="ck_marketing_drop_cost"),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["marketing_campaigns.id"], name="fk_marketing_drops_campaign"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "code", name="uq_marketing_drops_code"),
    )
    op.create_table(
        "marketing_source_codes",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("drop_id", sa.Uuid(), nullable=False),
        sa.Column("segment", sa.String(length=80), nullable=False),
        sa.Column("quantity_mailed", sa.BigInteger(), nullable=False),
        sa.Column("price_list", sa.String(length=40), nullable=True),
        sa.Column("promotions", sa.JSON(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("expected_response_pct", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity_mailed >= 0", name="ck_marketing_code_quantity"),
        sa.CheckConstraint("expected_response_pct BETWEEN 0 AND 100", name="ck_marketing_code_expected"),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ck_marketing_code_dates"),
        sa.ForeignKeyConstraint(["drop_id"], ["marketing_drops.id"], name="fk_marketing_code_drop"),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_marketing_source_codes_drop", "marketing_source_codes", ["drop_id", "code"])
    op.create_table(
        "marketing_channel_policies",
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("on_unknown", sa.String(length=8), nullable=False),
        sa.Column("default_code", sa.String(length=40), nullable=True),
        sa.Column("updated_at", _AT, nullable=False),
        sa.CheckConstraint("on_unknown IN ('refuse', 'default')", name="ck_marketing_policy_mode"),
        sa.CheckConstraint(
            "on_unknown = 'refuse' OR default_code IS NOT NULL", name="ck_marketing_policy_default"
        ),
        sa.ForeignKeyConstraint(
            ["default_code"], ["marketing_source_codes.code"], name="fk_marketing_policy_code"
        ),
        sa.PrimaryKeyConstraint("channel"),
    )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(
            sa.Column("last_source_code", sa.String(length=40), server_default="", nullable=False)
        )
    with op.batch_alter_table("price_lists") as batch:
        batch.add_column(sa.Column("offer_only", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("price_lists") as batch:
        batch.drop_column("offer_only")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("last_source_code")
    op.drop_table("marketing_channel_policies")
    op.drop_index("ix_marketing_source_codes_drop", table_name="marketing_source_codes")
    op.drop_table("marketing_source_codes")
    op.drop_table("marketing_drops")
    op.drop_table("marketing_campaigns")
