"""Reporting's API shapes: the catalogue entry (derived from the report's spec) and a report's JSON result."""

from __future__ import annotations

from typing import Any

from ordersmith.platform.schemas import Output


class ParameterOut(Output):
    name: str
    kind: str
    label: str
    choices: list[str]
    default: str | None
    minimum: int | None
    maximum: int | None


class ColumnOut(Output):
    name: str
    label: str
    kind: str
    currency_column: str | None


class ChartOut(Output):
    kind: str
    x: str
    y: str
    series: str | None


class ReportSpecOut(Output):
    name: str
    title: str
    description: str
    behind: str
    parameters: list[ParameterOut]
    columns: list[ColumnOut]
    chart: ChartOut


class ReportColumnOut(Output):
    name: str
    label: str
    type: str
    currency_column: str | None


class ReportOut(Output):
    """Rows keyed by column name: money as a decimal string (its currency in the row's `currency_column`),
    counts as integers, days as YYYY-MM-DD, percentages as decimal strings; null where there is no value."""

    name: str
    title: str
    parameters: dict[str, Any]
    generated_at: str
    replica_lag_s: str | None = None  # read from a read replica: seconds it was behind the primary
    columns: list[ReportColumnOut]
    rows: list[dict[str, str | int | None]]
