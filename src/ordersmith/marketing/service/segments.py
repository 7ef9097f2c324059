"""Segments: a named rule tree over customers (RFM cells, purchase history by division, style or item, channel,
geography, last order, consent, original and last source code), validated before it is stored and compiled to one
SQL query; and its live count, also for a definition not saved yet.

Every segment leaves out customers merged into another and anonymized ones. RFM scores are those of the
`rfm_cells` report (quintiles over the orders in the segment's currency up to now), computed in the same query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.errors import NotFound, PreconditionFailed, ValidationFailed
from ordersmith.kernel.pagination import Page
from ordersmith.marketing import lists
from ordersmith.marketing.list_tables import SegmentRow
from ordersmith.marketing.service._reads import (
    addresses,
    customer_channels,
    customers,
    items,
    order_lines,
    orders,
    styles,
)
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

Condition = sa.ColumnElement[bool]


@dataclass(frozen=True)
class Segment:
    code: str
    name: str
    currency: str
    rules: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


def _segment(row: SegmentRow) -> Segment:
    return Segment(row.code, row.name, row.currency, row.rules, row.version, row.created_at, row.updated_at)


# --- compiling ------------------------------------------------------------------------------------------------------


def _day_start(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC)


def _live() -> Condition:
    return sa.and_(orders.c.customer_id == customers.c.id, orders.c.status != "cancelled")


def _bought(extra: Condition, *, lines: bool = False, style: bool = False) -> Condition:
    source: Any = orders
    if lines:
        source = source.join(order_lines, order_lines.c.order_id == orders.c.id).join(
            items, items.c.id == order_lines.c.item_id
        )
    if style:
        source = source.join(styles, styles.c.id == items.c.style_id)
    return sa.exists(sa.select(sa.literal(1)).select_from(source).where(_live(), extra).correlate(customers))


def _default_address(test: Any) -> Condition:
    """A default address of the customer passes `test` (given the address; an alias of its own, so a query that
    joins the addresses itself, as a pull does, does not swallow it)."""
    address = addresses.alias()
    return sa.exists(
        sa.select(sa.literal(1))
        .where(address.c.customer_id == customers.c.id, address.c.is_default.is_(True), test(address))
        .correlate(customers)
    )


def _like_prefix(column: Any, prefixes: list[str]) -> Condition:
    def escaped(text: str) -> str:
        return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

    return sa.or_(*(column.like(escaped(p) + "%", escape="\\") for p in prefixes))


class _Compiler:
    def __init__(self, *, currency: str, now: datetime) -> None:
        self.currency = currency.upper()
        self.now = now
        self._rfm: Any = None

    def rfm(self) -> Any:
        if self._rfm is None:
            buyer = customers.alias("buyer")
            goods = orders.c.merchandise_minor + orders.c.surcharges_minor - orders.c.discounts_minor
            bought = (
                sa.select(
                    orders.c.customer_id.label("customer_id"),
                    sa.func.max(orders.c.placed_at).label("last_order_at"),
                    sa.func.count().label("orders"),
                    sa.func.sum(goods).label("monetary"),
                )
                .select_from(orders.join(buyer, buyer.c.id == orders.c.customer_id))
                .where(
                    orders.c.placed_at < self.now,
                    orders.c.currency == self.currency,
                    orders.c.status != "cancelled",
                    orders.c.exchange_for.is_(None),
                    buyer.c.merged_into_id.is_(None),
                    buyer.c.anonymized_at.is_(None),
                )
                .group_by(orders.c.customer_id)
                .subquery("bought")
            )

            def quintile(column: Any) -> Any:
                return sa.func.ntile(5).over(order_by=(column, bought.c.customer_id))

            self._rfm = sa.select(
                bought.c.customer_id,
                quintile(bought.c.last_order_at).label("recency"),
                quintile(bought.c.orders).label("frequency"),
                quintile(bought.c.monetary).label("monetary"),
            ).cte("rfm")
        return self._rfm

    def node(self, tree: dict[str, Any]) -> Condition:
        if "all" in tree:
            return sa.and_(*(self.node(child) for child in tree["all"]))
        if "any" in tree:
            return sa.or_(*(self.node(child) for child in tree["any"]))
        if "not" in tree:
            return sa.not_(self.node(tree["not"]))
        return self.leaf(tree["field"], tree["op"], tree["value"])

    def leaf(self, field: str, op: str, value: Any) -> Condition:
        if field in lists.RFM_FIELDS:
            rfm = self.rfm()
            if field == "rfm_cell":
                cell = rfm.c.recency * 100 + rfm.c.frequency * 10 + rfm.c.monetary
                where = cell.in_(sorted({int(v) for v in value}))
            else:
                score = rfm.c[field]
                where = {
                    "in": lambda: score.in_(value),
                    "gte": lambda: score >= value,
                    "lte": lambda: score <= value,
                }[op]()
            return customers.c.id.in_(sa.select(rfm.c.customer_id).where(where))
        if field == "purchased_division":
            return _bought(orders.c.division.in_(value))
        if field == "purchased_item":
            return _bought(items.c.sku_key.in_([v.upper() for v in value]), lines=True)
        if field == "purchased_style":
            return _bought(styles.c.code.in_(value), lines=True, style=True)
        if field == "channel":
            return sa.exists(
                sa.select(sa.literal(1))
                .where(
                    customer_channels.c.customer_id == customers.c.id, customer_channels.c.channel.in_(value)
                )
                .correlate(customers)
            )
        if field == "country":
            return _default_address(lambda a: a.c.country.in_([v.upper() for v in value]))
        if field == "region":
            return _default_address(lambda a: sa.func.lower(a.c.region).in_([v.lower() for v in value]))
        if field == "postal_prefix":
            prefixes = [v.replace(" ", "").upper() for v in value]
            return _default_address(
                lambda a: _like_prefix(sa.func.upper(sa.func.replace(a.c.postal_code, " ", "")), prefixes)
            )
        if field == "last_order":
            return self.last_order(op, value)
        if field in ("do_not_mail", "do_not_email"):
            return customers.c[field].is_(bool(value))
        column = customers.c["source_code" if field == "original_source_code" else "last_source_code"]
        codes = [v.upper() for v in value]
        return column.in_(codes) if op == "in" else _like_prefix(column, codes)

    def last_order(self, op: str, value: Any) -> Condition:
        days = op in ("within_days", "not_within_days")
        since = self.now - timedelta(days=value) if days else _day_start(value)
        recent = _bought(orders.c.placed_at >= since)
        if op in ("within_days", "on_or_after"):
            return recent
        if op == "not_within_days":
            return sa.not_(recent)
        return sa.and_(_bought(sa.true()), sa.not_(recent))


def member_condition(rules: dict[str, Any], *, currency: str, now: datetime) -> Condition:
    """The WHERE clause over `customers` of a validated rule tree, with the customers every segment leaves out."""
    return sa.and_(
        customers.c.merged_into_id.is_(None),
        customers.c.anonymized_at.is_(None),
        _Compiler(currency=currency, now=now).node(rules),
    )


def _count(uow: UnitOfWork, rules: dict[str, Any], currency: str) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(customers)
        .where(member_condition(rules, currency=currency, now=uow.now()))
    )
    return int(uow.session.execute(query).scalar_one())


def _check_currency(currency: str) -> str:
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationFailed.on("currency", "must be a three-letter ISO 4217 code")
    return currency.upper()


# --- use cases ------------------------------------------------------------------------------------------------------


def _row(uow: UnitOfWork, code: str, *, lock: bool = False) -> SegmentRow:
    if "\x00" in code:
        raise NotFound(f"no segment {code!r}")
    query = sa.select(SegmentRow).where(SegmentRow.code == code.upper())
    row = uow.session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no segment {code!r}")
    return row


@use_case
def create_segment(
    uow: UnitOfWork, *, code: str, name: str, rules: dict[str, Any], currency: str = "USD"
) -> Segment:
    """Store a segment's rule tree after checking it.

    Raises:
        ValidationFailed: an unknown field, operator or wrong value, naming it (`rules.all.0.field`).
        AlreadyExists: a segment of that code exists (409).
    """
    lists.validate_tree(rules)
    currency = _check_currency(currency)
    now = uow.now()
    row = SegmentRow(
        code=code.upper(),
        name=name,
        currency=currency,
        rules=rules,
        created_at=now,
        updated_at=now,
        version=1,
    )
    uow.insert_unique(SegmentRow, row, f"segment {row.code!r} exists")
    uow.audit("segment.created", object_type="segment", object_id=row.code, after={"rules": rules})
    return _segment(row)


@use_case
def update_segment(
    uow: UnitOfWork,
    *,
    code: str,
    version: int | None = None,
    name: str | None = None,
    rules: dict[str, Any] | None = None,
    currency: str | None = None,
) -> Segment:
    """Rename a segment or replace its rules (checked first); `version` (If-Match) must match when given.

    Raises:
        NotFound, PreconditionFailed, ValidationFailed (as `create_segment`).
    """
    if rules is not None:
        lists.validate_tree(rules)
    if name is not None:
        lists.check_name(name, "name")
    if currency is not None:
        currency = _check_currency(currency)
    row = _row(uow, code, lock=True)
    if version is not None and version != row.version:
        raise PreconditionFailed(f"segment {row.code} is at version {row.version}", version=row.version)
    before = {"name": row.name, "rules": row.rules, "currency": row.currency}
    row.name = name if name is not None else row.name
    row.rules = rules if rules is not None else row.rules
    row.currency = currency or row.currency
    row.version += 1
    row.updated_at = uow.now()
    uow.session.flush()
    uow.audit(
        "segment.updated",
        object_type="segment",
        object_id=row.code,
        before=before,
        after={"name": row.name, "rules": row.rules, "currency": row.currency},
    )
    return _segment(row)


@use_case
def delete_segment(uow: UnitOfWork, *, code: str) -> None:
    """Remove a segment (pulls made from it keep their names). Raises NotFound."""
    row = _row(uow, code, lock=True)
    uow.session.delete(row)
    uow.session.flush()
    uow.audit("segment.deleted", object_type="segment", object_id=row.code, before={"rules": row.rules})


@use_case(readonly=True)
def get_segment(uow: UnitOfWork, *, code: str) -> Segment:
    """One segment. Raises NotFound."""
    return _segment(_row(uow, code))


@use_case(readonly=True)
def list_segments(uow: UnitOfWork, *, cursor: str | None = None, limit: int = 50) -> Page[Segment]:
    """Segments by code."""
    return keyset_page(
        uow, sa.select(SegmentRow), keys=[SegmentRow.code], to_item=_segment, cursor=cursor, limit=limit
    )


@use_case(readonly=True)
def count_segment(uow: UnitOfWork, *, code: str) -> int:
    """How many customers a stored segment holds now (one query). Raises NotFound."""
    row = _row(uow, code)
    return _count(uow, row.rules, row.currency)


@use_case(readonly=True)
def count_rules(uow: UnitOfWork, *, rules: dict[str, Any], currency: str = "USD") -> int:
    """How many customers an unsaved rule tree holds now: the live count while a segment is edited.

    Raises:
        ValidationFailed: as `create_segment`.
    """
    lists.validate_tree(rules)
    return _count(uow, rules, _check_currency(currency))
