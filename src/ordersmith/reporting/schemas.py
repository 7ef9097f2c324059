"""Reporting's API shapes: the catalogue entry (derived from the report's spec) and a report's JSON result."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from ordersmith.platform.schemas import Input, Output


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


class SavedReportIn(Input):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    report: Annotated[str, Field(min_length=1, max_length=60, description="a report of the catalogue")]
    parameters: dict[Annotated[str, Field(max_length=30)], Annotated[str, Field(max_length=60)]] = Field(
        default={}, max_length=20, description="the report's parameters, as its URL takes them"
    )
    period: Literal["", "yesterday", "last_7_days", "last_30_days", "previous_month", "month_to_date"] = (
        Field(
            default="",
            description="the date range worked out on the day it runs (blank: the report's default)",
        )
    )
    format: Literal["csv", "xlsx"] = "xlsx"
    frequency: Literal["none", "daily", "weekly"] = "none"
    hour: Annotated[int, Field(ge=0, le=23, description="UTC")] = 6
    weekday: Annotated[int, Field(ge=0, le=6, description="weekly: 0 Monday … 6 Sunday")] | None = None
    recipients: list[Annotated[str, Field(max_length=320)]] = Field(default=[], max_length=20)


class SavedReportOut(Output):
    id: uuid.UUID
    title: str
    report: str
    parameters: dict[str, str]
    period: str
    format: str
    frequency: str
    hour: int
    weekday: int | None
    recipients: list[str]
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_status: str
    last_error: str
    created_by: str
    created_at: datetime
