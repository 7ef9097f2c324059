"""Pricing tables: price lists with quantity breaks, promotions, coupons with atomic usage counts, shipping methods
and tax rates. Money is integer minor units beside a currency; percentages and rates are exact decimals."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class PriceListRow(Base):
    __tablename__ = "price_lists"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    currency: Mapped[str] = mapped_column(sa.String(3))
    priority: Mapped[int] = mapped_column(default=0)
    customer_groups: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    channels: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    # Prices only an order carrying a source code whose offer names this list (e.g. a catalog's printed prices).
    offer_only: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime]


class PriceListPriceRow(Base):
    __tablename__ = "price_list_prices"
    __table_args__ = (
        sa.CheckConstraint("min_quantity >= 1", name="ck_price_min_quantity"),
        sa.CheckConstraint("unit_price_minor >= 0", name="ck_price_not_negative"),
    )

    price_list_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("price_lists.id", name="fk_prices_list", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    min_quantity: Mapped[int] = mapped_column(primary_key=True)
    unit_price_minor: Mapped[int] = mapped_column(sa.BigInteger)


class PromotionRow(Base):
    __tablename__ = "promotions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(30))
    currency: Mapped[str] = mapped_column(sa.String(3))
    priority: Mapped[int] = mapped_column(default=0)
    percent: Mapped[Decimal] = mapped_column(sa.Numeric(7, 4), default=Decimal(0))
    amount_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    threshold_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    buy: Mapped[int] = mapped_column(default=0)
    get: Mapped[int] = mapped_column(default=0)
    tiers: Mapped[list[list[Any]]] = mapped_column(sa.JSON, default=list)  # [[threshold_minor, "percent"]]
    gift_sku: Mapped[str | None] = mapped_column(sa.String(64))
    exclusive: Mapped[bool] = mapped_column(default=False)
    stackable: Mapped[bool] = mapped_column(default=True)
    coupon_required: Mapped[bool] = mapped_column(default=False)
    targets: Mapped[dict[str, list[str]]] = mapped_column(sa.JSON, default=dict)  # skus, styles, categories
    # groups, channels, divisions, first_order
    conditions: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class CouponRow(Base):
    __tablename__ = "coupons"
    __table_args__ = (
        sa.CheckConstraint("uses >= 0", name="ck_coupon_uses"),
        sa.CheckConstraint("max_uses IS NULL OR uses <= max_uses", name="ck_coupon_within_limit"),
    )

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # upper-case
    promotion_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("promotions.id", name="fk_coupons_promotion")
    )
    max_uses: Mapped[int | None]  # None: unlimited; 1: single-use
    per_customer_limit: Mapped[int | None]
    uses: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class CouponRedemptionRow(Base):
    __tablename__ = "coupon_redemptions"
    __table_args__ = (sa.Index("ix_coupon_redemptions_customer", "coupon_code", "customer_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(
        sa.String(200), unique=True
    )  # the caller's (e.g. the order's) idempotency key
    coupon_code: Mapped[str] = mapped_column(sa.ForeignKey("coupons.code", name="fk_redemptions_coupon"))
    customer_id: Mapped[uuid.UUID | None]
    at: Mapped[datetime]


class ShippingMethodRow(Base):
    __tablename__ = "shipping_methods"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    currency: Mapped[str] = mapped_column(sa.String(3))
    flat_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    weight_bands: Mapped[list[list[int]]] = mapped_column(sa.JSON, default=list)  # [[up_to_g, charge_minor]]
    value_bands: Mapped[list[list[int]]] = mapped_column(
        sa.JSON, default=list
    )  # [[up_to_minor, charge_minor]]
    free_over_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    oversize_surcharge_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    active: Mapped[bool] = mapped_column(default=True)


class TaxRateRow(Base):
    __tablename__ = "tax_rates"
    __table_args__ = (
        sa.UniqueConstraint("country", "region", "postal_prefix", "tax_class", name="uq_tax_rates_scope"),
        sa.CheckConstraint("rate >= 0 AND rate < 1", name="ck_tax_rate_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    country: Mapped[str] = mapped_column(sa.String(2))
    region: Mapped[str] = mapped_column(sa.String(40), default="")
    postal_prefix: Mapped[str] = mapped_column(sa.String(20), default="")
    tax_class: Mapped[str] = mapped_column(sa.String(40), default="*")
    rate: Mapped[Decimal] = mapped_column(sa.Numeric(8, 6))
    on_shipping: Mapped[bool] = mapped_column(default=False)
