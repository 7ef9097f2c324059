"""The sales reports' figures at their finest grain, per UTC day of placement (ADR 0055): each grain is one query
over orders and lines, which both fills the stored daily facts for whole past days and reads the days not stored
(today, and any day not computed yet) live. A report totals the union of the two, so a stored day and a live one
give the same figures by construction.

Invariant: the stored part of a report reads only the days `QueryContext.stored` lists (read in the report's own
transaction before the query is built) and the live part exactly the other days of the range: a day computed
between the two reads is counted once, from the orders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.catalog.tables import ItemRow, StyleRow
from ordersmith.reporting.catalogue._sql import (
    day_start,
    json_elements,
    line_value,
    lines,
    orders,
    returned_value,
    zero,
)
from ordersmith.reporting.tables import (
    ReportItemDayRow,
    ReportOrderDayRow,
    ReportStyleDayRow,
    ReportTaxDayRow,
)

items, styles = cast(sa.Table, ItemRow.__table__), cast(sa.Table, StyleRow.__table__)

OPEN_STATUSES = ("pending", "on_hold", "released", "partially_shipped")
COMPLETE_STATUSES = ("shipped", "completed")

Condition = sa.ColumnElement[bool]
Days = tuple[tuple[date, date], ...]  # inclusive ranges of days, in order, not touching


def day_of(column: Any, dialect: str) -> sa.ColumnElement[date]:
    """The UTC day a timestamp falls in."""
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    # SQLite keeps UTC timestamps as ISO text, "YYYY-MM-DD HH:MM:SS…"
    return sa.func.substr(column, 1, 10, type_=sa.Date)


def period_of_day(column: Any, grouping: str, dialect: str) -> sa.ColumnElement[str]:
    """The first day (YYYY-MM-DD) of the day, ISO week (Monday) or month a day falls in."""
    if dialect == "postgresql":
        start = sa.func.date_trunc(grouping, sa.cast(column, sa.DateTime))
        return sa.func.to_char(start, "YYYY-MM-DD", type_=sa.String())
    if grouping == "day":
        return sa.func.substr(column, 1, 10, type_=sa.String())
    if grouping == "week":
        return sa.func.date(column, "weekday 0", "-6 days", type_=sa.String())
    return sa.func.substr(column, 1, 7, type_=sa.String()).concat("-01")


def placed_in(days: Days) -> Condition:
    """Orders placed on one of the days (each range one index range of `placed_at`)."""
    return sa.or_(
        *(
            sa.and_(orders.c.placed_at >= day_start(a), orders.c.placed_at < day_start(b + timedelta(days=1)))
            for a, b in days
        )
    )


def ranges(days: Sequence[date]) -> Days:
    """Sorted days as inclusive ranges of consecutive days."""
    found: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if found and found[-1][1] + timedelta(days=1) == day:
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    return tuple(found)


def uncovered(start: date, end: date, stored: Days) -> Days:
    """The days of [start, end] no stored range covers, as ranges."""
    gaps: list[tuple[date, date]] = []
    cursor = start
    for a, b in stored:
        if b < cursor or a > end:
            continue
        if a > cursor:
            gaps.append((cursor, min(end, a - timedelta(days=1))))
        cursor = max(cursor, b + timedelta(days=1))
    if cursor <= end:
        gaps.append((cursor, end))
    return tuple(gaps)


# --- the grains ------------------------------------------------------------------------------------------------------


def _order_grain(where: Sequence[Condition], dialect: str) -> sa.Select[Any]:
    """Per day, channel, division, source code and currency: orders, their lines' units and value, and where the
    orders stand now. Each order is totalled over its lines first, then counted once."""
    day = day_of(orders.c.placed_at, dialect)
    source = sa.func.coalesce(orders.c.source_code, "")
    keys = (day, orders.c.channel, orders.c.division, source, orders.c.currency)
    per_order = (
        sa.select(
            day.label("day"),
            orders.c.channel,
            orders.c.division,
            source.label("source_code"),
            orders.c.currency,
            orders.c.status,
            orders.c.total_minor,
            sa.func.sum(lines.c.quantity).label("units"),
            sa.func.sum(lines.c.cancelled).label("cancelled_units"),
            sa.func.sum(lines.c.returned).label("returned_units"),
            sa.func.sum(lines.c.unit_price_minor * lines.c.quantity).label("demand_minor"),
            sa.func.sum(line_value() - returned_value()).label("net_minor"),
            sa.func.sum(lines.c.shipped).label("units_shipped"),
            sa.func.sum(lines.c.backordered).label("units_backordered"),
        )
        .select_from(orders.join(lines, lines.c.order_id == orders.c.id))
        .where(*where)
        .group_by(orders.c.id, *keys, orders.c.status, orders.c.total_minor)
        .subquery("per_order")
    )
    p = per_order.c
    is_open = p.status.in_(OPEN_STATUSES)
    return sa.select(
        p.day,
        p.channel,
        p.division,
        p.source_code,
        p.currency,
        sa.func.count().label("orders"),
        *(
            zero(sa.func.sum(p[name])).label(name)
            for name in ("units", "cancelled_units", "returned_units", "demand_minor", "net_minor")
        ),
        sa.func.count(sa.case((p.status != "cancelled", 1))).label("orders_not_cancelled"),
        sa.func.count(sa.case((p.status.in_(COMPLETE_STATUSES), 1))).label("orders_complete"),
        sa.func.count(sa.case((is_open, 1))).label("open_orders"),
        zero(sa.func.sum(sa.case((is_open, p.total_minor), else_=0))).label("open_value_minor"),
        zero(sa.func.sum(p.units_shipped)).label("units_shipped"),
        zero(sa.func.sum(p.units_backordered)).label("units_backordered"),
    ).group_by(p.day, p.channel, p.division, p.source_code, p.currency)


def _line_figures() -> list[sa.ColumnElement[Any]]:
    return [
        sa.func.count(sa.distinct(orders.c.id)).label("orders"),
        zero(sa.func.sum(lines.c.quantity)).label("units"),
        zero(sa.func.sum(lines.c.cancelled)).label("cancelled_units"),
        zero(sa.func.sum(lines.c.returned)).label("returned_units"),
        zero(sa.func.sum(lines.c.unit_price_minor * lines.c.quantity)).label("demand_minor"),
        zero(sa.func.sum(line_value() - returned_value())).label("net_minor"),
    ]


def _item_grain(where: Sequence[Condition], dialect: str) -> sa.Select[Any]:
    """Per day, channel, division, currency and item: its lines' units and value, and the orders they are on."""
    day = day_of(orders.c.placed_at, dialect)
    keys = (day, orders.c.channel, orders.c.division, orders.c.currency, lines.c.sku, lines.c.item_id)
    return (
        sa.select(
            day.label("day"),
            *keys[1:],
            sa.func.max(lines.c.name).label("name"),
            *_line_figures(),
        )
        .select_from(orders.join(lines, lines.c.order_id == orders.c.id))
        .where(*where)
        .group_by(*keys)
    )


def _style_grain(where: Sequence[Condition], dialect: str) -> sa.Select[Any]:
    """Per day, channel, division, currency and style (by code, "" for items without one): its variants' lines,
    an order with two of them counted once."""
    day = day_of(orders.c.placed_at, dialect)
    code = sa.func.coalesce(styles.c.code, "")
    keys = (day, orders.c.channel, orders.c.division, orders.c.currency, code)
    return (
        sa.select(day.label("day"), *keys[1:4], code.label("style_code"), *_line_figures())
        .select_from(
            orders.join(lines, lines.c.order_id == orders.c.id)
            .join(items, items.c.id == lines.c.item_id)
            .outerjoin(styles, styles.c.id == items.c.style_id)
        )
        .where(*where)
        .group_by(*keys)
    )


def _tax_grain(where: Sequence[Condition], dialect: str) -> sa.Select[Any]:
    """Per day, channel, division, currency and ship-to jurisdiction: goods' tax from the lines (each to its
    ship-to) and shipping tax from the ship-tos, as one UNION ALL of the two, grouped once."""
    day = day_of(orders.c.placed_at, dialect)
    ship_tos, field = json_elements(orders.c.ship_tos, dialect, "ship_to")
    country, region = sa.func.coalesce(field("country"), ""), sa.func.coalesce(field("region"), "")
    keys = (day.label("day"), orders.c.channel, orders.c.division, orders.c.currency)
    goods = (
        sa.select(
            *keys,
            country.label("country"),
            region.label("region"),
            orders.c.id.label("order_id"),
            line_value().label("taxable"),
            lines.c.tax_minor.label("goods_tax"),
            sa.literal(0, sa.BigInteger).label("shipping_tax"),
        )
        .select_from(
            orders.join(lines, lines.c.order_id == orders.c.id).join(
                ship_tos, field("ref") == lines.c.ship_to
            )
        )
        .where(*where)
    )
    shipping = (
        sa.select(
            *keys,
            country,
            region,
            orders.c.id,
            sa.literal(0, sa.BigInteger),
            sa.literal(0, sa.BigInteger),
            zero(sa.cast(field("shipping_tax_minor"), sa.BigInteger)),
        )
        .select_from(orders.join(ship_tos, sa.true()))
        .where(*where)
    )
    parts = sa.union_all(goods, shipping).subquery("parts")
    c = parts.c
    return sa.select(
        c.day,
        c.channel,
        c.division,
        c.currency,
        c.country,
        c.region,
        sa.func.count(sa.distinct(c.order_id)).label("orders"),
        zero(sa.func.sum(c.taxable)).label("taxable_minor"),
        zero(sa.func.sum(c.goods_tax)).label("goods_tax_minor"),
        zero(sa.func.sum(c.shipping_tax)).label("shipping_tax_minor"),
    ).group_by(c.day, c.channel, c.division, c.currency, c.country, c.region)


@dataclass(frozen=True)
class Grain:
    name: str
    table: sa.Table
    query: Callable[[Sequence[Condition], str], sa.Select[Any]]  # (where over orders and lines, dialect)

    def __post_init__(self) -> None:
        # The stored rows and the live ones are one UNION ALL, by position: the query selects the table's columns
        # in the table's order.
        assert [c.name for c in self.query([], "sqlite").selected_columns] == self.columns, self.name

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.table.columns]

    def rows(self, days: Days, stored: Days, dialect: str) -> sa.Subquery:
        """Every row of the grain for `days`: stored for the `stored` days among them, live for the others."""
        parts: list[sa.Select[Any]] = []
        gaps = [g for a, b in days for g in uncovered(a, b, stored)]
        if gaps:
            parts.append(self.query([placed_in(tuple(gaps))], dialect))
        kept = [(max(a, s), min(b, e)) for a, b in days for s, e in stored if s <= b and e >= a]
        if kept:
            table = self.table
            parts.append(
                sa.select(*(table.c[name] for name in self.columns)).where(
                    sa.or_(*(table.c.day.between(a, b) for a, b in kept))
                )
            )
        if not parts:  # an empty range: no day at all
            parts.append(self.query([sa.false()], dialect))
        if len(parts) == 1:
            return parts[0].subquery(self.name)
        return sa.union_all(*parts).subquery(self.name)


ORDER_DAYS = Grain("order_days", cast(sa.Table, ReportOrderDayRow.__table__), _order_grain)
ITEM_DAYS = Grain("item_days", cast(sa.Table, ReportItemDayRow.__table__), _item_grain)
STYLE_DAYS = Grain("style_days", cast(sa.Table, ReportStyleDayRow.__table__), _style_grain)
TAX_DAYS = Grain("tax_days", cast(sa.Table, ReportTaxDayRow.__table__), _tax_grain)
GRAINS = (ORDER_DAYS, ITEM_DAYS, STYLE_DAYS, TAX_DAYS)


def grain_filters(rows: sa.Subquery, params: dict[str, Any]) -> list[Condition]:
    """Channel and division, as the parameters give them, over a grain's rows."""
    where: list[Condition] = []
    if params.get("channel"):
        where.append(rows.c.channel == params["channel"])
    if params.get("division"):
        where.append(rows.c.division == params["division"])
    return where
