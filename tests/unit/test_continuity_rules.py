"""Continuity's pure rules: what each shipment holds, the next date on the program's rhythm, the retry schedule,
what each status allows."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ordersmith.continuity import rules

SERIES = [rules.ProgramItem("A", 1), rules.ProgramItem("B", 2), rules.ProgramItem("C", 1)]


def test_a_series_ships_its_nth_item_at_the_nth_shipment_and_nothing_after_its_last():
    assert [rules.shipment_items("series", SERIES, cycle=n, quantity=2) for n in (1, 2, 3, 4)] == [
        [rules.ProgramItem("A", 2)],
        [rules.ProgramItem("B", 4)],
        [rules.ProgramItem("C", 2)],
        None,
    ]
    assert rules.shipment_items("replenish", SERIES, cycle=9, quantity=1) == SERIES
    assert [rules.is_last("series", 3, None, cycle=n) for n in (1, 2, 3)] == [False, False, True]
    assert rules.is_last("replenish", 1, 4, cycle=4) and not rules.is_last("replenish", 1, None, cycle=400)


def test_the_next_date_keeps_the_rhythm_and_passes_over_dates_already_gone():
    due = date(2026, 3, 2)
    assert rules.following(due, 4, due) == date(2026, 3, 30)
    # placed a week late after retries: the next one is still on the 4-weekly rhythm
    assert rules.following(due, 4, due + timedelta(days=7)) == date(2026, 3, 30)
    # placed ten weeks late (the shop was down): the missed date is passed over, not shipped at once
    assert rules.following(due, 4, due + timedelta(weeks=10)) == date(2026, 5, 25)


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    st.integers(min_value=1, max_value=52),
    st.integers(min_value=0, max_value=800),
)
def test_the_next_date_is_always_after_today_and_on_the_rhythm(due: date, weeks: int, late_days: int):
    today = due + timedelta(days=late_days)
    nxt = rules.following(due, weeks, today)
    assert nxt > today
    assert (nxt - due).days % (7 * weeks) == 0
    assert nxt - timedelta(weeks=weeks) <= today or nxt == due + timedelta(weeks=weeks)


def test_a_failed_shipment_is_tried_after_1_3_and_7_days_then_stops():
    day = date(2026, 3, 2)
    assert [rules.retry_on(day, n) for n in (1, 2, 3, 4)] == [
        date(2026, 3, 3), date(2026, 3, 5), date(2026, 3, 9), None]  # fmt: skip


def test_what_each_status_allows():
    assert rules.refusal("cancel", "suspended") is None
    assert rules.refusal("cancel", "cancelled") == "a cancelled subscription cannot be cancelled"
    assert rules.refusal("skip", "paused") == "a paused subscription cannot be skipped"
    assert rules.refusal("resume", "paused") is None
    assert (
        rules.refusal("change_card", "completed") == "a completed subscription cannot be given another card"
    )


def test_a_card_is_good_through_its_expiry_month_and_terms_have_a_stable_fingerprint():
    assert not rules.card_expired(3, 2026, date(2026, 3, 31))
    assert rules.card_expired(3, 2026, date(2026, 4, 1))
    assert rules.terms_digest("a") == rules.terms_digest("a") != rules.terms_digest("a ")
    assert rules.order_reference("S-000012", 4) == "continuity-S-000012-4"
