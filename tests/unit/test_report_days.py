"""The day arithmetic of the reports' daily facts (ADR 0055): days as ranges, and the days of a report's range no
stored range covers (read live)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from ordersmith.reporting.catalogue._daily import ranges, uncovered

D = date.fromisoformat


def test_days_become_ranges_of_consecutive_days():
    assert ranges([]) == ()
    assert ranges([D("2026-03-02"), D("2026-03-01"), D("2026-03-02"), D("2026-03-05")]) == (
        (D("2026-03-01"), D("2026-03-02")),
        (D("2026-03-05"), D("2026-03-05")),
    )


def test_the_days_no_stored_range_covers():
    stored = ((D("2026-03-03"), D("2026-03-04")), (D("2026-03-07"), D("2026-03-07")))
    assert uncovered(D("2026-03-01"), D("2026-03-08"), stored) == (
        (D("2026-03-01"), D("2026-03-02")),
        (D("2026-03-05"), D("2026-03-06")),
        (D("2026-03-08"), D("2026-03-08")),
    )
    assert uncovered(D("2026-03-03"), D("2026-03-04"), stored) == ()
    assert uncovered(D("2026-03-01"), D("2026-03-02"), ()) == ((D("2026-03-01"), D("2026-03-02")),)


@given(
    st.sets(st.integers(0, 40)),
    st.integers(0, 40),
    st.integers(0, 40),
)
def test_stored_and_uncovered_days_split_the_range_exactly(stored_days, a, b):
    start, end = D("2026-01-01").toordinal() + min(a, b), D("2026-01-01").toordinal() + max(a, b)
    stored = ranges([date.fromordinal(D("2026-01-01").toordinal() + n) for n in stored_days])
    gaps = uncovered(date.fromordinal(start), date.fromordinal(end), stored)
    live = {d for x, y in gaps for d in range(x.toordinal(), y.toordinal() + 1)}
    kept = {d for x, y in stored for d in range(x.toordinal(), y.toordinal() + 1)}
    assert live | (kept & set(range(start, end + 1))) == set(range(start, end + 1))
    assert not live & kept
