"""A report of the catalogue: its spec, its one query and the per-row finish."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.reporting.rules import ReportSpec


@dataclass(frozen=True)
class QueryContext:
    dialect: str
    now: datetime


@dataclass(frozen=True)
class Report:
    spec: ReportSpec
    query: Callable[[dict[str, Any], QueryContext], sa.Select[Any]]
    finish: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None  # (row, parameters)
