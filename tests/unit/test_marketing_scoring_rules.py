"""The pure RFM scoring rules: scores by configured cut-offs, placement among a run's quintile boundaries (NTILE's
order: value, then customer id), and the checks cut-offs pass before they are stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ordersmith.marketing import rules

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
CUTOFFS = rules.Cutoffs((30, 90, 180, 365), (2, 3, 5, 10), (5_000, 10_000, 25_000, 50_000))


def test_cut_off_scores_count_the_thresholds_reached():
    # within 30 days, 10 orders, 500.00 spent: every threshold
    assert rules.cutoff_scores(
        CUTOFFS, last_order_at=NOW - timedelta(days=3), now=NOW, orders=10, monetary_minor=50_000
    ) == (5, 5, 5)
    # exactly 90 days ago is within 90 days; 3 orders reach 2 and 3; 99.99 reaches only 50.00
    assert rules.cutoff_scores(
        CUTOFFS, last_order_at=NOW - timedelta(days=90), now=NOW, orders=3, monetary_minor=9_999
    ) == (4, 3, 2)
    # over a year ago, one order, nothing much: the lowest
    assert rules.cutoff_scores(
        CUTOFFS, last_order_at=NOW - timedelta(days=366), now=NOW, orders=1, monetary_minor=0
    ) == (1, 1, 1)


def test_placing_among_boundaries_follows_value_then_customer_id():
    low, high = uuid.UUID(int=1), uuid.UUID(int=2**127)
    bounds = [(1, high), (2, low), (3, low), (5, high)]  # the last (orders, id) of quintiles 1 to 4
    assert rules.place(1, low, bounds) == 1  # (1, low) comes before (1, high)
    assert rules.place(1, uuid.UUID(int=2**128 - 1), bounds) == 2  # after it: the second fifth
    assert rules.place(2, low, bounds) == 2  # the end of the second fifth itself
    assert rules.place(4, low, bounds) == 4
    assert rules.place(99, low, bounds) == 5
    assert rules.place(7, low, []) == 1  # no run yet: nothing to come after


@given(st.lists(st.tuples(st.integers(1, 20), st.uuids()), min_size=5, max_size=60, unique_by=lambda t: t[1]))
def test_placing_each_customer_among_the_boundaries_of_its_own_population_gives_its_quintile(people):
    # NTILE(5) over (value, id): the first `size % 5` buckets hold one more
    ranked = sorted(people)
    size, extra = divmod(len(ranked), 5)
    ends, at = [], 0
    for bucket in range(5):
        at += size + (1 if bucket < extra else 0)
        ends.append(at)
    bounds = [ranked[end - 1] for end in ends[:4]]
    for position, (value, key) in enumerate(ranked):
        expected = next(b for b, end in enumerate(ends) if position < end) + 1
        assert rules.place(value, key, bounds) == expected


def test_cut_offs_are_four_increasing_whole_numbers_in_range():
    assert rules.why_not_cutoffs([1, 2, 3, 4], smallest=1, largest=10) is None
    assert "four" in (rules.why_not_cutoffs([1, 2, 3], smallest=1, largest=10) or "")
    assert "increase" in (rules.why_not_cutoffs([1, 3, 3, 4], smallest=1, largest=10) or "")
    assert "whole numbers" in (rules.why_not_cutoffs([0, 2, 3, 4], smallest=1, largest=10) or "")
    assert "whole numbers" in (rules.why_not_cutoffs([1, 2, 3, 11], smallest=1, largest=10) or "")
    assert "whole numbers" in (rules.why_not_cutoffs([True, 2, 3, 4], smallest=1, largest=10) or "")
    assert rules.why_not_cutoffs("1,2,3,4", smallest=1, largest=10) is not None
    assert rules.Cutoffs.from_json(CUTOFFS.as_json()) == CUTOFFS
