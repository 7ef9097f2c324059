"""The only place that reads the wall clock. Services take a Clock so tests can fix time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


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
