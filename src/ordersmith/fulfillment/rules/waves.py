"""Wave building: which released shipments a wave takes, best first, within its limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Candidate:
    """A shipment that waits for a wave, as wave building sees it."""

    id: str
    channel: str
    method: str
    priority: int
    placed_at: datetime
    ship_by_on: date | None
    lines: int
    units: int


@dataclass(frozen=True)
class WaveFilters:
    """What a wave may take. None (or empty) means any."""

    methods: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    ship_by_on: date | None = None  # only shipments due by this day (and those with no date when `undated`)
    undated: bool = True
    min_priority: int | None = None
    single_line: bool | None = None  # True: one-line shipments only; False: multi-line only
    max_orders: int = 100
    max_units: int | None = None


def admits(candidate: Candidate, filters: WaveFilters) -> bool:
    """Whether the filters let `candidate` into a wave."""
    if filters.methods and candidate.method not in filters.methods:
        return False
    if filters.channels and candidate.channel not in filters.channels:
        return False
    if filters.min_priority is not None and candidate.priority < filters.min_priority:
        return False
    if filters.single_line is not None and (candidate.lines == 1) != filters.single_line:
        return False
    if filters.ship_by_on is not None:
        if candidate.ship_by_on is None:
            return filters.undated
        return candidate.ship_by_on <= filters.ship_by_on
    return True


def urgency(candidate: Candidate) -> tuple[int, date, datetime, str]:
    """Best first: highest priority, then the earliest ship-by day (undated last), then the oldest order."""
    return (-candidate.priority, candidate.ship_by_on or date.max, candidate.placed_at, candidate.id)


def choose(candidates: list[Candidate], filters: WaveFilters) -> list[Candidate]:
    """The shipments a wave takes: admitted ones, most urgent first, until `max_orders`; one that would pass
    `max_units` is skipped for a smaller one behind it (a wave fills its cart, it does not stop at the first
    large order)."""
    if filters.max_orders <= 0:
        return []
    chosen: list[Candidate] = []
    units = 0
    for candidate in sorted((c for c in candidates if admits(c, filters)), key=urgency):
        if filters.max_units is not None and units + candidate.units > filters.max_units:
            continue
        chosen.append(candidate)
        units += candidate.units
        if len(chosen) == filters.max_orders:
            break
    return chosen


def totes(count: int, prefix: str = "T") -> list[str]:
    """Tote (cart slot) labels for a wave of `count` shipments: T01, T02, … (wider when needed)."""
    width = max(2, len(str(count)))
    return [f"{prefix}{n:0{width}d}" for n in range(1, count + 1)]


_FAST = ("express", "overnight", "next", "priority", "two_day", "2day")


def ship_by(placed_at: datetime, method: str) -> date:
    """The day a shipment must leave: the day it was placed for fast methods (express, overnight, next day, two
    day), else the next business day; a weekend day moves to Monday."""
    day = placed_at.date()
    if not any(word in method.lower() for word in _FAST):
        day = date.fromordinal(day.toordinal() + 1)
    while day.weekday() >= 5:
        day = date.fromordinal(day.toordinal() + 1)
    return day
