"""What an export kind is: typed columns and one query with its filters (read-only over the owning context's
tables, as reporting reads them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

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
