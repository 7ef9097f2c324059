"""Rate choice: which of the carriers' quotes ships a parcel in time for the least money. Pure: standard library
and `ordersmith.kernel` only; it reads rates structurally (`RateLike`), so it needs no carrier package.

Invariants: a rate is eligible only when its delivery date — `ship_on` plus its delivery days counted in business
days (Saturdays and Sundays skipped), or the carrier's own estimate when that is later — is on or before
`deliver_by`; among eligible rates the choice is the cheapest, then the fewest days, then by carrier and service
name, so the same quotes always give the same answer. Rates are compared in one currency only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol, TypeVar

from ordersmith.kernel.money import Money

SATURDAY = 5


class RateLike(Protocol):
    @property
    def carrier(self) -> str: ...

    @property
    def service(self) -> str: ...

    @property
    def amount(self) -> Money: ...

    @property
    def delivery_days(self) -> int: ...

    @property
    def estimated_delivery_on(self) -> date | None: ...


R = TypeVar("R", bound=RateLike)


def next_business_day(day: date) -> date:
    """`day` itself when it is Monday to Friday, else the Monday after."""
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    return day


def add_business_days(start: date, days: int) -> date:
    """The business day `days` business days after `start` (a weekend start counts from the next Monday)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = next_business_day(start)
    for _ in range(days):
        day = next_business_day(day + timedelta(days=1))
    return day


def estimated_delivery(rate: RateLike, *, ship_on: date) -> date:
    """When a rate delivers if the parcel ships on `ship_on`: business days from `ship_on`, or the carrier's own
    estimate when that is later (a carrier knows its holidays; it never gets a promise earlier than it made)."""
    computed = add_business_days(ship_on, rate.delivery_days)
    carrier_says = rate.estimated_delivery_on
    return carrier_says if carrier_says is not None and carrier_says > computed else computed


@dataclass(frozen=True)
class RateVerdict:
    """One rate judged against the promise: `reason` is empty when it meets it."""

    carrier: str
    service: str
    amount: Money
    delivers_on: date
    reason: str

    @property
    def meets(self) -> bool:
        return not self.reason


def judge_rates(
    rates: Iterable[RateLike], *, ship_by: date | None, deliver_by: date | None, ship_on: date
) -> list[RateVerdict]:
    """Every rate with its delivery date and, when it misses the promise, why."""
    verdicts = []
    for rate in rates:
        delivers_on = estimated_delivery(rate, ship_on=ship_on)
        reason = ""
        if ship_by is not None and ship_on > ship_by:
            reason = f"ships {ship_on.isoformat()}, after the ship-by date {ship_by.isoformat()}"
        elif deliver_by is not None and delivers_on > deliver_by:
            reason = f"delivers {delivers_on.isoformat()}, after the deliver-by date {deliver_by.isoformat()}"
        verdicts.append(RateVerdict(rate.carrier, rate.service, rate.amount, delivers_on, reason))
    return verdicts


def _check_one_currency(rates: Sequence[RateLike]) -> None:
    currencies = {rate.amount.currency for rate in rates}
    if len(currencies) > 1:
        raise ValueError(f"rates in more than one currency cannot be compared: {sorted(currencies)}")


def choose_rate(
    rates: Sequence[R],
    *,
    ship_by: date | None,
    deliver_by: date | None,
    ship_on: date,
    preferred_services: Iterable[str] | None = None,
) -> R | None:
    """The cheapest rate that keeps the promise; None when none does.

    Args:
        rates: quotes from any number of carriers, all in one currency.
        ship_by: the latest day the parcel may leave; None for no limit.
        deliver_by: the latest day it may arrive; None for no limit.
        ship_on: the day it will leave.
        preferred_services: service codes to choose among first; the others are considered only when no
            preferred service keeps the promise.

    Raises:
        ValueError: rates in more than one currency.
    """
    _check_one_currency(rates)
    verdicts = judge_rates(rates, ship_by=ship_by, deliver_by=deliver_by, ship_on=ship_on)
    eligible = [rate for rate, verdict in zip(rates, verdicts, strict=True) if verdict.meets]
    preferred = set(preferred_services or ())
    favoured = [rate for rate in eligible if rate.service in preferred]
    pool = favoured or eligible
    if not pool:
        return None
    return min(pool, key=lambda rate: (rate.amount.amount, rate.delivery_days, rate.carrier, rate.service))


def explain_rate_choice(
    rates: Sequence[RateLike], *, ship_by: date | None, deliver_by: date | None, ship_on: date
) -> str:
    """A sentence for the console saying why `choose_rate` found nothing (or that it did find a rate)."""
    if not rates:
        return "no carrier offered a rate for this parcel"
    if ship_by is not None and ship_on > ship_by:
        return f"the parcel ships {ship_on.isoformat()}, after its ship-by date {ship_by.isoformat()}"
    verdicts = judge_rates(rates, ship_by=ship_by, deliver_by=deliver_by, ship_on=ship_on)
    if any(verdict.meets for verdict in verdicts):
        return "at least one rate keeps the delivery promise"
    fastest = min(verdicts, key=lambda v: (v.delivers_on, v.amount.amount, v.carrier, v.service))
    assert deliver_by is not None  # without a deliver-by date and with ship_by met, every rate meets it
    return (
        f"no rate delivers by {deliver_by.isoformat()}: the fastest, {fastest.carrier} {fastest.service}, "
        f"delivers {fastest.delivers_on.isoformat()}"
    )
