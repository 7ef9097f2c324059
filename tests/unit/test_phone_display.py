"""Phones are shown as people read them, never as raw E.164 (the API keeps E.164)."""

from __future__ import annotations

import pytest

from ordersmith.customers.rules import display_phone


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+13035550167", "(303) 555-0167"),
        ("+442079460958", "+44 20 7946 0958"),
        ("+33142685300", "+33 1 42 68 53 00"),
        ("not a number", "not a number"),
    ],
)
def test_a_stored_phone_is_shown_in_the_format_people_read(stored: str, shown: str) -> None:
    assert display_phone(stored) == shown


def test_a_number_of_another_home_country_is_shown_nationally_there() -> None:
    assert display_phone("+442079460958", home_country="GB") == "020 7946 0958"
    assert display_phone("+13035550167", home_country="GB") == "+1 303-555-0167"
