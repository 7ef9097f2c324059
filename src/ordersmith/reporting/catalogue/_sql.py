"""SQL pieces the reports share, written once per dialect where SQLite and PostgreSQL differ (periods, JSON
arrays). Reporting is the one context that reads every context's tables (DESIGN.md), read-only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.orders.tables import OrderLineRow, OrderRow

orders = OrderRow.__table__
lines = OrderLineRow.__table__


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def placed_between(column: Any, start: date | None, end: date | None) -> list[sa.ColumnElement[bool]]:
    """`start` ≤ column < the day after `end` (UTC days); an open end when None."""
    where: list[sa.ColumnElement[bool]] = []
    if start is not None:
        where.append(column >= day_start(start))
    if end is not None:
        where.append(column < day_start(end + timedelta(days=1)))
    return where


def period(column: Any, grouping: str, dialect: str) -> sa.ColumnElement[str]:
    """The first day (YYYY-MM-DD, UTC) of the day, ISO week (Monday) or month a timestamp falls in."""
    if dialect == "postgresql":
        at_utc = sa.func.timezone("UTC", column)
        return sa.func.to_char(sa.func.date_trunc(grouping, at_utc), "YYYY-MM-DD", type_=sa.String())
    # SQLite keeps UTC timestamps as ISO text, "YYYY-MM-DD HH:MM:SS…"
    if grouping == "day":
        return sa.func.substr(column, 1, 10, type_=sa.String())
    if grouping == "week":
        return sa.func.date(column, "weekday 0", "-6 days", type_=sa.String())
    return sa.func.substr(column, 1, 7, type_=sa.String()).concat("-01")


def json_elements(array: Any, dialect: str, name: str) -> tuple[Any, Callable[[str], sa.ColumnElement[str]]]:
    """A JSON array column as a table of its elements (implicitly lateral on both databases), and how to read a
    text field of an element."""
    if dialect == "postgresql":
        table = sa.func.json_array_elements(array).table_valued("value").alias(name)
        return table, lambda key: table.c.value.op("->>")(sa.literal(key, sa.String()))
    table = sa.func.json_each(array).table_valued("value").alias(name)
    return table, lambda key: sa.func.json_extract(table.c.value, f"$.{key}", type_=sa.String())


def line_value() -> sa.ColumnElement[int]:
    """What a line still charges for its goods (after discounts and cancellations), before tax."""
    return lines.c.merchandise_minor + lines.c.surcharge_minor - lines.c.discount_minor


def returned_value() -> sa.ColumnElement[int]:
    """The part of a line's value its returned units carry (integer share, the same on both databases)."""
    charged = lines.c.quantity - lines.c.cancelled
    return sa.case((lines.c.returned > 0, line_value() * lines.c.returned // charged), else_=0)


def order_filters(params: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    """Date range (placed), channel and division, as the parameters give them."""
    where = placed_between(orders.c.placed_at, params.get("from"), params.get("to"))
    if params.get("channel"):
        where.append(orders.c.channel == params["channel"])
    if params.get("division"):
        where.append(orders.c.division == params["division"])
    return where


def zero(value: Any) -> Any:
    return sa.func.coalesce(value, 0)
