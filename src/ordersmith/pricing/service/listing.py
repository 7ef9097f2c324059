"""Reading pricing set-up: price lists (with their price counts), promotions (running now or not), coupons with
their use counts, shipping methods and tax rates — as views for the API and the console."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa

from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.pricing import rules
from ordersmith.pricing.tables import (
    CouponRow,
    PriceListPriceRow,
    PriceListRow,
    PromotionRow,
    ShippingMethodRow,
    TaxRateRow,
)

T = TypeVar("T")


@dataclass(frozen=True)
class PriceListView:
    code: str
    name: str
    currency: str
    priority: int
    customer_groups: list[str]
    channels: list[str]
    starts_at: datetime | None
    ends_at: datetime | None
    prices: int
    offer_only: bool


@dataclass(frozen=True)
class PromotionView:
    code: str
    name: str
    kind: str
    priority: int
    exclusive: bool
    stackable: bool
    coupon_required: bool
    starts_at: datetime | None
    ends_at: datetime | None
    running: bool
    active: bool = (
        True  # switched off by hand (a promotion that is active may still not be running: its dates)
    )


@dataclass(frozen=True)
class CouponView:
    code: str
    promotion: str
    uses: int
    max_uses: int | None
    per_customer_limit: int | None
    active: bool = True


@dataclass(frozen=True)
class ShippingMethodView:
    code: str
    name: str
    kind: str
    currency: str
    free_over: Money | None


@dataclass(frozen=True)
class TaxRateView:
    id: str
    name: str
    country: str
    region: str
    postal_prefix: str
    tax_class: str
    rate: Decimal
    on_shipping: bool


def _price_lists(uow: UnitOfWork, where: sa.ColumnElement[bool] | None = None) -> list[PriceListView]:
    rows = sa.select(PriceListRow).order_by(PriceListRow.priority.desc(), PriceListRow.code)
    counted = sa.select(PriceListPriceRow.price_list_id, sa.func.count()).group_by(
        PriceListPriceRow.price_list_id
    )
    if where is not None:
        rows = rows.where(where)
        counted = counted.join(PriceListRow, PriceListRow.id == PriceListPriceRow.price_list_id).where(where)
    counts = dict(uow.session.execute(counted).tuples().all())
    return [
        PriceListView(
            r.code,
            r.name,
            r.currency,
            r.priority,
            r.customer_groups,
            r.channels,
            r.starts_at,
            r.ends_at,
            int(counts.get(r.id, 0)),
            r.offer_only,
        )
        for r in uow.session.scalars(rows)
    ]


def _promotions(uow: UnitOfWork, where: sa.ColumnElement[bool] | None = None) -> list[PromotionView]:
    now = uow.now()
    rows = sa.select(PromotionRow).order_by(PromotionRow.priority.desc(), PromotionRow.code)
    return [
        PromotionView(
            r.code,
            r.name,
            r.kind,
            r.priority,
            r.exclusive,
            r.stackable,
            r.coupon_required,
            r.starts_at,
            r.ends_at,
            r.active and rules.in_range(now, r.starts_at, r.ends_at),
            r.active,
        )
        for r in uow.session.scalars(rows if where is None else rows.where(where))
    ]


def _coupons(uow: UnitOfWork, where: sa.ColumnElement[bool] | None = None) -> list[CouponView]:
    rows = (
        sa.select(CouponRow, PromotionRow.code)
        .join(PromotionRow, PromotionRow.id == CouponRow.promotion_id)
        .order_by(CouponRow.code)
    )
    return [
        CouponView(c.code, promo, c.uses, c.max_uses, c.per_customer_limit, c.active)
        for c, promo in uow.session.execute(rows if where is None else rows.where(where)).all()
    ]


def _shipping_methods(
    uow: UnitOfWork, where: sa.ColumnElement[bool] | None = None
) -> list[ShippingMethodView]:
    rows = sa.select(ShippingMethodRow).order_by(ShippingMethodRow.code)
    return [
        ShippingMethodView(
            m.code,
            m.name,
            m.kind,
            m.currency,
            None if m.free_over_minor is None else Money.from_minor(m.free_over_minor, m.currency),
        )
        for m in uow.session.scalars(rows if where is None else rows.where(where))
    ]


def _tax_rates(uow: UnitOfWork, where: sa.ColumnElement[bool] | None = None) -> list[TaxRateView]:
    rows = sa.select(TaxRateRow).order_by(TaxRateRow.country, TaxRateRow.region, TaxRateRow.postal_prefix)
    return [
        TaxRateView(
            str(r.id),
            r.name,
            r.country,
            r.region,
            r.postal_prefix,
            r.tax_class,
            Decimal(r.rate),
            r.on_shipping,
        )
        for r in uow.session.scalars(rows if where is None else rows.where(where))
    ]


def _one(found: list[T], what: str) -> T:
    if not found:
        raise NotFound(f"no {what}")
    return found[0]


@use_case(readonly=True)
def list_price_lists(uow: UnitOfWork) -> list[PriceListView]:
    return _price_lists(uow)


@use_case(readonly=True)
def get_price_list(uow: UnitOfWork, *, code: str) -> PriceListView:
    """One price list by its code, in any case. Raises NotFound."""
    return _one(_price_lists(uow, PriceListRow.code == code.upper()), f"price list {code!r}")


@use_case(readonly=True)
def list_promotions(uow: UnitOfWork) -> list[PromotionView]:
    return _promotions(uow)


@use_case(readonly=True)
def get_promotion(uow: UnitOfWork, *, code: str) -> PromotionView:
    """One promotion by its code, in any case. Raises NotFound."""
    return _one(_promotions(uow, PromotionRow.code == code.upper()), f"promotion {code!r}")


@use_case(readonly=True)
def list_coupons(uow: UnitOfWork) -> list[CouponView]:
    return _coupons(uow)


@use_case(readonly=True)
def get_coupon(uow: UnitOfWork, *, code: str) -> CouponView:
    """One coupon by its code, in any case. Raises NotFound."""
    return _one(_coupons(uow, CouponRow.code == code.upper()), f"coupon {code!r}")


@use_case(readonly=True)
def list_shipping_methods(uow: UnitOfWork) -> list[ShippingMethodView]:
    return _shipping_methods(uow)


@use_case(readonly=True)
def get_shipping_method(uow: UnitOfWork, *, code: str) -> ShippingMethodView:
    """One shipping method by its code, in any case. Raises NotFound."""
    return _one(_shipping_methods(uow, ShippingMethodRow.code == code.lower()), f"shipping method {code!r}")


@use_case(readonly=True)
def list_tax_rates(uow: UnitOfWork) -> list[TaxRateView]:
    return _tax_rates(uow)


@use_case(readonly=True)
def get_tax_rate(uow: UnitOfWork, *, id: str) -> TaxRateView:
    """One tax rate by its id. Raises NotFound."""
    try:
        key = uuid.UUID(id)
    except ValueError:
        raise NotFound(f"no tax rate {id!r}") from None
    return _one(_tax_rates(uow, TaxRateRow.id == key), f"tax rate {id!r}")
