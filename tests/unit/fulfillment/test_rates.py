"""Rate choice (fulfillment/rules/rates.py): business days, the promise, the cheapest, ties, preferences."""

from __future__ import annotations

from datetime import date

import pytest

from ordersmith.fulfillment.carriers.base import Rate
from ordersmith.fulfillment.rules.rates import (
    add_business_days,
    choose_rate,
    estimated_delivery,
    explain_rate_choice,
    judge_rates,
)
from ordersmith.kernel.money import Money

MONDAY = date(2026, 3, 2)
FRIDAY = date(2026, 3, 6)
SATURDAY = date(2026, 3, 7)


def rate(
    service: str, amount: str, days: int, *, carrier: str = "sandbox", estimate: date | None = None
) -> Rate:
    return Rate(carrier, service, Money(amount, "USD"), days, estimate, f"{carrier}-{service}")


def test_business_days_skip_saturday_and_sunday() -> None:
    # given a Friday
    # when one business day is added
    # then it is the Monday after
    assert add_business_days(FRIDAY, 1) == date(2026, 3, 9)
    assert add_business_days(MONDAY, 5) == date(2026, 3, 9)


def test_a_weekend_start_counts_from_the_next_monday() -> None:
    assert add_business_days(SATURDAY, 0) == date(2026, 3, 9)
    assert add_business_days(SATURDAY, 1) == date(2026, 3, 10)


def test_negative_business_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_days(MONDAY, -1)


def test_the_cheapest_rate_that_delivers_in_time_is_chosen() -> None:
    # given a cheap rate that arrives too late and two that arrive in time
    rates = [rate("ground", "7.00", 5), rate("two_day", "15.00", 2), rate("overnight", "30.00", 1)]
    # when the parcel must arrive by Wednesday
    chosen = choose_rate(rates, ship_by=None, deliver_by=date(2026, 3, 4), ship_on=MONDAY)
    # then the cheaper of the two in time wins
    assert chosen == rates[1]


def test_without_a_deliver_by_date_the_cheapest_rate_wins() -> None:
    rates = [rate("two_day", "15.00", 2), rate("ground", "7.00", 5)]
    assert choose_rate(rates, ship_by=None, deliver_by=None, ship_on=MONDAY) == rates[1]


def test_equal_prices_go_to_the_faster_rate() -> None:
    rates = [rate("ground", "9.00", 5), rate("two_day", "9.00", 2)]
    assert choose_rate(rates, ship_by=None, deliver_by=None, ship_on=MONDAY) == rates[1]


def test_equal_price_and_days_go_by_carrier_then_service_name() -> None:
    # given three rates equal in price and days
    rates = [
        rate("zeta", "9.00", 3, carrier="shippo"),
        rate("beta", "9.00", 3, carrier="easypost"),
        rate("alpha", "9.00", 3, carrier="shippo"),
    ]
    # when chosen, and chosen again in another order
    first = choose_rate(rates, ship_by=None, deliver_by=None, ship_on=MONDAY)
    second = choose_rate(list(reversed(rates)), ship_by=None, deliver_by=None, ship_on=MONDAY)
    # then the carrier name decides, and the order of the quotes does not matter
    assert first == rates[1]
    assert second == rates[1]


def test_nothing_is_chosen_when_no_rate_delivers_in_time_and_the_console_says_why() -> None:
    # given rates that all arrive after Tuesday
    rates = [rate("ground", "7.00", 5), rate("two_day", "15.00", 2)]
    # when the parcel must arrive on Monday itself
    chosen = choose_rate(rates, ship_by=None, deliver_by=MONDAY, ship_on=MONDAY)
    why = explain_rate_choice(rates, ship_by=None, deliver_by=MONDAY, ship_on=MONDAY)
    # then nothing is chosen and the explanation names the fastest
    assert chosen is None
    assert why == "no rate delivers by 2026-03-02: the fastest, sandbox two_day, delivers 2026-03-04"


def test_nothing_is_chosen_when_the_parcel_ships_after_its_ship_by_date() -> None:
    rates = [rate("overnight", "30.00", 1)]
    chosen = choose_rate(rates, ship_by=MONDAY, deliver_by=None, ship_on=date(2026, 3, 3))
    why = explain_rate_choice(rates, ship_by=MONDAY, deliver_by=None, ship_on=date(2026, 3, 3))
    assert chosen is None
    assert why == "the parcel ships 2026-03-03, after its ship-by date 2026-03-02"


def test_shipping_on_the_ship_by_date_is_in_time() -> None:
    rates = [rate("overnight", "30.00", 1)]
    assert choose_rate(rates, ship_by=MONDAY, deliver_by=None, ship_on=MONDAY) == rates[0]


def test_no_rates_means_no_choice_and_says_so() -> None:
    assert choose_rate([], ship_by=None, deliver_by=None, ship_on=MONDAY) is None
    assert explain_rate_choice([], ship_by=None, deliver_by=None, ship_on=MONDAY) == (
        "no carrier offered a rate for this parcel"
    )


def test_the_explanation_says_when_a_rate_keeps_the_promise() -> None:
    rates = [rate("ground", "7.00", 5)]
    assert explain_rate_choice(rates, ship_by=None, deliver_by=date(2026, 3, 9), ship_on=MONDAY) == (
        "at least one rate keeps the delivery promise"
    )


def test_a_later_carrier_estimate_counts_over_the_business_day_count() -> None:
    # given a two-day rate whose carrier expects delivery on Friday (a holiday on its way)
    late = rate("two_day", "10.00", 2, estimate=FRIDAY)
    # when the parcel must arrive by Wednesday
    chosen = choose_rate([late], ship_by=None, deliver_by=date(2026, 3, 4), ship_on=MONDAY)
    # then the carrier's date decides: it misses
    assert estimated_delivery(late, ship_on=MONDAY) == FRIDAY
    assert chosen is None


def test_an_earlier_carrier_estimate_never_makes_the_promise_earlier() -> None:
    # given a ground rate quoted for last week (its estimate is before the ship day)
    stale = rate("ground", "7.00", 5, estimate=date(2026, 2, 27))
    # when judged for shipping on Monday
    # then it delivers five business days after Monday
    assert estimated_delivery(stale, ship_on=MONDAY) == date(2026, 3, 9)


def test_a_preferred_service_wins_over_a_cheaper_one_when_it_keeps_the_promise() -> None:
    rates = [rate("ground", "7.00", 5), rate("two_day", "15.00", 2), rate("overnight", "30.00", 1)]
    chosen = choose_rate(
        rates, ship_by=None, deliver_by=None, ship_on=MONDAY, preferred_services=["overnight", "two_day"]
    )
    assert chosen == rates[1]


def test_other_services_are_chosen_when_no_preferred_one_keeps_the_promise() -> None:
    # given the preferred ground service, too slow for Wednesday
    rates = [rate("ground", "7.00", 5), rate("overnight", "30.00", 1), rate("two_day", "15.00", 2)]
    # when chosen
    chosen = choose_rate(
        rates, ship_by=None, deliver_by=date(2026, 3, 4), ship_on=MONDAY, preferred_services=["ground"]
    )
    # then the cheapest other rate in time
    assert chosen == rates[2]


def test_rates_in_two_currencies_are_refused() -> None:
    rates = [rate("ground", "7.00", 5), Rate("other", "eco", Money("5.00", "EUR"), 5, None, "x")]
    with pytest.raises(ValueError, match="more than one currency"):
        choose_rate(rates, ship_by=None, deliver_by=None, ship_on=MONDAY)


def test_each_rate_is_judged_with_its_delivery_date_and_reason() -> None:
    rates = [rate("ground", "7.00", 5), rate("two_day", "15.00", 2)]
    verdicts = judge_rates(rates, ship_by=None, deliver_by=date(2026, 3, 4), ship_on=MONDAY)
    assert [(v.service, v.delivers_on, v.meets, v.reason) for v in verdicts] == [
        ("ground", date(2026, 3, 9), False, "delivers 2026-03-09, after the deliver-by date 2026-03-04"),
        ("two_day", date(2026, 3, 4), True, ""),
    ]
