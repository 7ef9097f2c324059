"""Marketing tables: campaigns, their drops (one mailing of one creative on one in-home date) and the master list of
source (key) codes, one per drop and list/segment, each with its offer; and what each sales channel does with an
order whose code is unknown or expired.

Invariants: a source code is unique and stored upper-case; quantities and costs are never negative (CHECK); a
code's quantity mailed never exceeds what is left of its drop's (checked by the service under the drop's row lock).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class CampaignRow(Base):
    __tablename__ = "marketing_campaigns"
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('catalog', 'email', 'web', 'space_ad', 'marketplace')",
            name="ck_marketing_campaign_kind",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(12))
    currency: Mapped[str] = mapped_column(sa.String(3))
    notes: Mapped[str] = mapped_column(sa.String(2000), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class DropRow(Base):
    __tablename__ = "marketing_drops"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "code", name="uq_marketing_drops_code"),
        sa.CheckConstraint("quantity_mailed >= 0", name="ck_marketing_drop_quantity"),
        sa.CheckConstraint("cost_per_piece_minor >= 0", name="ck_marketing_drop_cost"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("marketing_campaigns.id", name="fk_marketing_drops_campaign")
    )
    code: Mapped[str] = mapped_column(sa.String(40))
    in_home_on: Mapped[date]
    quantity_mailed: Mapped[int] = mapped_column(sa.BigInteger)
    cost_per_piece_minor: Mapped[int] = mapped_column(sa.BigInteger)
    creative: Mapped[str] = mapped_column(sa.String(80), default="")
    created_at: Mapped[datetime]


class SourceCodeRow(Base):
    __tablename__ = "marketing_source_codes"
    __table_args__ = (
        sa.CheckConstraint("quantity_mailed >= 0", name="ck_marketing_code_quantity"),
        sa.CheckConstraint("expected_response_pct BETWEEN 0 AND 100", name="ck_marketing_code_expected"),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ck_marketing_code_dates"),
        sa.Index("ix_marketing_source_codes_drop", "drop_id", "code"),
    )

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # upper-case
    drop_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("marketing_drops.id", name="fk_marketing_code_drop")
    )
    segment: Mapped[str] = mapped_column(sa.String(80))  # the list or segment mailed under this code
    quantity_mailed: Mapped[int] = mapped_column(sa.BigInteger)
    price_list: Mapped[str | None] = mapped_column(sa.String(40))  # the offer: a price list's code …
    promotions: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # … and/or promotions' codes
    starts_on: Mapped[date]  # valid from (inclusive, UTC)
    ends_on: Mapped[date | None]  # valid to (inclusive); None: open-ended
    expected_response_pct: Mapped[Decimal] = mapped_column(sa.Numeric(7, 4), default=Decimal(0))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class ChannelCodePolicyRow(Base):
    """What a sales channel does with an order whose source code is unknown or expired: refuse it (the default
    when a channel has no row) or put the channel's default code on it."""

    __tablename__ = "marketing_channel_policies"
    __table_args__ = (
        sa.CheckConstraint("on_unknown IN ('refuse', 'default')", name="ck_marketing_policy_mode"),
        sa.CheckConstraint(
            "on_unknown = 'refuse' OR default_code IS NOT NULL", name="ck_marketing_policy_default"
        ),
    )

    channel: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    on_unknown: Mapped[str] = mapped_column(sa.String(8))
    default_code: Mapped[str | None] = mapped_column(
        sa.String(40), sa.ForeignKey("marketing_source_codes.code", name="fk_marketing_policy_code")
    )
    updated_at: Mapped[datetime]


# Segments, pulls, mail files and matchbacks, and the stored purchase facts, live in their own modules; imported here
# so the metadata has them.
import ordersmith.marketing.fact_tables  # noqa: E402
import ordersmith.marketing.list_tables  # noqa: E402, F401
