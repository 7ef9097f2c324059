"""The only place that reads the wall clock. Services take a Clock so tests can fix time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol

# The days a date filter may name: a range ends at the start of the day after its last, which the calendar's last
# day (9999-12-31) has not; no business date is before 1900.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Timezone-aware UTC wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stays where tests put it."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


class ShiftedClock:
    """The wall clock moved by a fixed offset: time passes as it does, from another instant. A test server and its
    test share one offset (`ORDERSMITH_CLOCK_OFFSET_S`) so that screenshots read the same times on every run; never
    in production."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def ensure_utc(value: datetime) -> datetime:
    """Refuse naive datetimes; convert aware ones to UTC."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: every time in Ordersmith is timezone-aware UTC")
    return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


system_clock = SystemClock()
