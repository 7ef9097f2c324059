"""A report of the catalogue: its spec, its one query and the per-row finish."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.reporting.rules import ReportSpec


@dataclass(frozen=True)
class QueryContext:
    dialect: str
    now: datetime
    # The days whose daily facts are stored (ADR 0055), as inclusive ranges: read by the report's transaction
    # before its query is built; empty for reports that do not read daily facts.
    stored: tuple[tuple[date, date], ...] = ()


@dataclass(frozen=True)
class Report:
    spec: ReportSpec
    query: Callable[[dict[str, Any], QueryContext], sa.Select[Any]]
    finish: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None  # (row, parameters)
    daily: bool = False  # reads daily facts (ADR 0055): wants `QueryContext.stored`
