"""What a report is, pure: its typed parameters, its typed columns and its chart, and how the raw query string
parameters become checked values. No SQL here (the catalogue holds the queries), no clock (today is passed in).

Invariant: a report runs only with parameters that passed `parse_parameters`; a bad value raises ValidationFailed
naming the parameter, before any query runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ordersmith.kernel.clock import FIRST_DAY, LAST_DAY
from ordersmith.kernel.errors import ValidationFailed

PARAMETER_KINDS = ("date", "choice", "text", "int")
COLUMN_KINDS = ("date", "text", "int", "money", "percent")
CHART_KINDS = ("line", "bar", "stacked_bar", "pie")
GROUPINGS = ("day", "week", "month")
MAX_RANGE_DAYS = 3 * 366  # a longer range is an export's job, not a report's
MAX_TEXT = 60


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # date | choice | text | int
    label: str
    choices: tuple[str, ...] = ()
    default: str | None = None  # for dates: "today", "today-29"; else the literal default
    minimum: int | None = None
    maximum: int | None = None

    def __post_init__(self) -> None:
        assert self.kind in PARAMETER_KINDS, self.kind


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str  # date | text | int | money | percent
    currency_column: str | None = None  # money: the column naming its currency

    def __post_init__(self) -> None:
        assert self.kind in COLUMN_KINDS, self.kind
        assert (self.kind == "money") == (self.currency_column is not None), self.name


@dataclass(frozen=True)
class Chart:
    """How the rows become a chart: `x` along the axis, one value column `y`, one series per `series` value."""

    kind: str
    x: str
    y: str
    series: str | None = None

    def __post_init__(self) -> None:
        assert self.kind in CHART_KINDS, self.kind


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str
    description: str
    parameters: tuple[Parameter, ...]
    columns: tuple[Column, ...]
    chart: Chart
    behind: str = ""  # what the figures are made of, for the catalogue's reader

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


# Parameters several reports share.
DATE_FROM = Parameter("from", "date", "From (UTC, inclusive)", default="today-29")
DATE_TO = Parameter("to", "date", "To (UTC, inclusive)", default="today")
CHANNEL = Parameter("channel", "text", "Sales channel")
DIVISION = Parameter("division", "text", "Division")
LOCATION = Parameter("location", "text", "Location")
GROUPING = Parameter("grouping", "choice", "Group by", choices=GROUPINGS, default="day")
AS_OF = Parameter("as_of", "date", "As of (UTC)", default="today")


def _default(parameter: Parameter, today: date) -> Any:
    value = parameter.default
    if value is None:
        return None
    if parameter.kind == "date":
        if value == "today":
            return today
        assert value.startswith("today-")
        return today - timedelta(days=int(value.removeprefix("today-")))
    if parameter.kind == "int":
        return int(value)
    return value


def _parse_one(parameter: Parameter, text: str) -> Any:
    name = parameter.name
    if parameter.kind == "date":
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValidationFailed.on(name, "must be a date, YYYY-MM-DD") from None
        if not FIRST_DAY <= day <= LAST_DAY:  # a range ends at the start of the day after its last
            raise ValidationFailed.on(name, f"must be a date from {FIRST_DAY} to {LAST_DAY}")
        return day
    if parameter.kind == "choice":
        if text not in parameter.choices:
            raise ValidationFailed.on(name, f"must be one of {', '.join(parameter.choices)}")
        return text
    if parameter.kind == "int":
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise ValidationFailed.on(name, "must be a whole number")
        number = int(text)
        if parameter.minimum is not None and number < parameter.minimum:
            raise ValidationFailed.on(name, f"must be at least {parameter.minimum}")
        if parameter.maximum is not None and number > parameter.maximum:
            raise ValidationFailed.on(name, f"must be at most {parameter.maximum}")
        return number
    if len(text) > MAX_TEXT or not text.isprintable():
        raise ValidationFailed.on(name, f"must be printable text of at most {MAX_TEXT} characters")
    return text


def parse_parameters(spec: ReportSpec, raw: Mapping[str, str | None], *, today: date) -> dict[str, Any]:
    """Check the query's parameters against the report's: unknown names, bad values and a backwards or too long
    date range are refused, naming the parameter; missing ones take their defaults (None when there is none)."""
    known = {p.name for p in spec.parameters}
    for name, value in raw.items():
        if name not in known and value not in (None, ""):
            raise ValidationFailed.on(name, f"{spec.name} takes no such parameter")
    values: dict[str, Any] = {}
    for parameter in spec.parameters:
        text = raw.get(parameter.name)
        values[parameter.name] = (
            _default(parameter, today) if text is None or text == "" else _parse_one(parameter, text.strip())
        )
    start, end = values.get("from"), values.get("to")
    if isinstance(start, date) and isinstance(end, date):
        if end < start:
            raise ValidationFailed.on("to", "must not be before from")
        if (end - start).days > MAX_RANGE_DAYS:
            raise ValidationFailed.on(
                "to", f"a report covers at most {MAX_RANGE_DAYS} days; export longer ranges"
            )
    return values


def ratio(part: int, whole: int) -> Decimal | None:
    """part / whole as a percentage with one decimal place; None when there is no whole."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def average_minor(total_minor: int, count: int) -> int:
    """An average in minor units, rounded half up (0 when there is nothing to average)."""
    if count <= 0:
        return 0
    return (2 * total_minor + count) // (2 * count)


# Accounts-receivable aging buckets belong to payments (the owner of invoices); reports use the same ones.

# Backorders by age: days since the order was placed.
BACKORDER_AGES: tuple[tuple[str, int, int | None], ...] = (
    ("0-7 days", 0, 7),
    ("8-14 days", 8, 14),
    ("15-30 days", 15, 30),
    ("31-60 days", 31, 60),
    ("Over 60 days", 61, None),
)


@dataclass
class ReportResult:
    """A report's rows (already aggregated by the database) with the spec and parameters they answer."""

    spec: ReportSpec
    parameters: dict[str, Any]
    rows: list[dict[str, Any]]
    generated_at: Any  # datetime (UTC)
    replica_lag_s: Decimal | None = None  # read from a replica: how far behind the primary it was

    def values(self, column: str) -> Sequence[Any]:
        return [row[column] for row in self.rows]


# --- saved and scheduled reports ---------------------------------------------------------------------------------

FREQUENCIES = ("none", "daily", "weekly")
SAVED_FORMATS = ("csv", "xlsx")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# A saved report's date range, worked out on the day it runs ("" keeps the report's own default range).
PERIODS = ("", "yesterday", "last_7_days", "last_30_days", "previous_month", "month_to_date")


def next_run_at(after: datetime, *, frequency: str, hour: int, weekday: int | None) -> datetime | None:
    """The first scheduled time strictly after `after` (UTC): daily at `hour`:00, or weekly on `weekday` (0 is
    Monday) at `hour`:00; None when it is not scheduled. A run missed while nothing was running is not caught up:
    the next one is counted from `after`."""
    if frequency == "none":
        return None
    assert frequency in FREQUENCIES
    assert 0 <= hour <= 23
    candidate = after.replace(hour=hour, minute=0, second=0, microsecond=0)
    if frequency == "daily":
        return candidate if candidate > after else candidate + timedelta(days=1)
    assert weekday is not None
    assert 0 <= weekday <= 6
    candidate += timedelta(days=(weekday - candidate.weekday()) % 7)
    return candidate if candidate > after else candidate + timedelta(days=7)


def period_range(period: str, today: date) -> tuple[date, date] | None:
    """(from, to), both inclusive, of a saved report's period on the day it runs; None for the report's default."""
    if period == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if period == "last_7_days":
        return today - timedelta(days=7), today - timedelta(days=1)
    if period == "last_30_days":
        return today - timedelta(days=30), today - timedelta(days=1)
    if period == "previous_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if period == "month_to_date":
        return today.replace(day=1), today
    assert period == "", period
    return None
