"""What an export kind is: typed columns and one query with its filters (read-only over the owning context's
tables, as reporting reads them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.platform.tables import CustomValueRow

COLUMN_KINDS = ("text", "int", "money", "datetime", "date", "bool")
FORMATS = ("csv", "xlsx", "parquet")


@dataclass(frozen=True)
class ExportColumn:
    name: str
    kind: str
    currency_column: str | None = None  # money: the column naming its currency

    def __post_init__(self) -> None:
        assert self.kind in COLUMN_KINDS, self.kind


@dataclass(frozen=True)
class ExportKind:
    name: str
    description: str
    filters: tuple[str, ...]
    columns: tuple[ExportColumn, ...]
    query: Callable[[dict[str, Any]], sa.Select[Any]]
    # The record kind whose custom fields follow the columns (`custom_<name>`, ADR 0051) and the id they hang on.
    custom_kind: str | None = None
    record_id: Any = None


def placed_between(column: Any, start: date | None, end: date | None) -> list[sa.ColumnElement[bool]]:
    """`start` ≤ column < the day after `end` (UTC days); open where None."""
    where: list[sa.ColumnElement[bool]] = []
    if start is not None:
        where.append(column >= datetime.combine(start, time(), tzinfo=UTC))
    if end is not None:
        where.append(column < datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC))
    return where


def texts(*names: str) -> list[ExportColumn]:
    return [ExportColumn(n, "text") for n in names]


def ints(*names: str) -> list[ExportColumn]:
    return [ExportColumn(n, "int") for n in names]


def amounts(*names: str) -> list[ExportColumn]:
    return [ExportColumn(n, "money", currency_column="currency") for n in names]


# How a custom field's type is written: decimals as their exact text, choices and text as text.
_CUSTOM_COLUMN_KINDS = {"text": "text", "choice": "text", "decimal": "text", "number": "int", "date": "date",
                        "boolean": "bool"}  # fmt: skip


def with_custom_fields(
    export: ExportKind, query: sa.Select[Any], fields: list[tuple[str, str]]
) -> tuple[tuple[ExportColumn, ...], sa.Select[Any]]:
    """The kind's columns and query with one `custom_<name>` column per custom field (name, type) of its record
    kind: a primary-key lookup of the value per row."""
    if export.custom_kind is None or not fields:
        return export.columns, query
    values = CustomValueRow.__table__
    columns = list(export.columns)
    for name, type_ in fields:
        column = {"number": values.c.value_integer, "date": values.c.value_date,
                  "boolean": values.c.value_boolean}.get(type_, values.c.value_text)  # fmt: skip
        lookup = sa.select(column).where(values.c.kind == export.custom_kind, values.c.record_id == export.record_id,
                                         values.c.field == name).scalar_subquery()  # fmt: skip
        query = query.add_columns(lookup.label(f"custom_{name}"))
        columns.append(ExportColumn(f"custom_{name}", _CUSTOM_COLUMN_KINDS[type_]))
    return tuple(columns), query
