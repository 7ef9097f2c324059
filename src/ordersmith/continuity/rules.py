"""Continuity's pure rules: what a shipment holds, when the next one is due, the failed-payment retry schedule, what
each status allows, and the fingerprint of the terms a customer accepted.

Invariants: a shipment's date only moves forward; the n-th shipment of a series is always the series' n-th item
(skips delay it, they never skip an item); a failed payment is tried again on the schedule and then suspends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("replenish", "series")
STATUSES = ("active", "paused", "suspended", "cancelled", "completed")
# Days after a failed attempt to try the same shipment again; after the last, the subscription is suspended and
# the customer gets the dunning notice (asking for another card).
RETRY_DAYS = (1, 3, 7)
MAX_INTERVAL_WEEKS = 52
MAX_START_DAYS = 366  # how far ahead a first shipment may be put


@dataclass(frozen=True)
class ProgramItem:
    sku: str
    quantity: int


def shipment_items(
    kind: str, items: Sequence[ProgramItem], *, cycle: int, quantity: int
) -> list[ProgramItem] | None:
    """What shipment number `cycle` (1-based) holds: every item of a replenishment program, or the series' item
    of that number (None: the series has ended), each times the subscription's quantity."""
    assert cycle >= 1
    assert quantity >= 1
    if kind == "series":
        if cycle > len(items):
            return None
        chosen = [items[cycle - 1]]
    else:
        chosen = list(items)
    return [ProgramItem(sku=i.sku, quantity=i.quantity * quantity) for i in chosen]


def is_last(kind: str, items_count: int, max_shipments: int | None, *, cycle: int) -> bool:
    """Whether shipment number `cycle` is the subscription's last (the series' last item, or the program's limit)."""
    if kind == "series" and cycle >= items_count:
        return True
    return max_shipments is not None and cycle >= max_shipments


def following(cycle_on: date, interval_weeks: int, today: date) -> date:
    """The next shipment's date after the one due on `cycle_on`: one interval on, on the program's rhythm, and never
    on or before `today` (a shipment placed late, after retries or downtime, does not make the next one due at
    once: missed dates are passed over, never stacked)."""
    step = timedelta(weeks=interval_weeks)
    nxt = cycle_on + step
    if nxt <= today:
        behind = (today - nxt).days // step.days + 1
        nxt += step * behind
    assert nxt > today
    return nxt


def skipped(cycle_on: date, interval_weeks: int, today: date) -> date:
    """The date a skipped shipment moves to: one interval after the date it was due (or, when that has passed,
    the next date on the rhythm after today)."""
    return following(cycle_on, interval_weeks, today)


def retry_on(today: date, failures: int) -> date | None:
    """When to try a shipment again after its `failures`-th failed attempt (None: stop and suspend)."""
    assert failures >= 1
    if failures > len(RETRY_DAYS):
        return None
    return today + timedelta(days=RETRY_DAYS[failures - 1])


# What each action needs the subscription's status to be.
ALLOWED: dict[str, tuple[str, ...]] = {
    "skip": ("active",),
    "pause": ("active",),
    "resume": ("paused",),
    "cancel": ("active", "paused", "suspended"),
    "change_card": ("active", "paused", "suspended"),
    "change": ("active", "paused", "suspended"),
}


def refusal(action: str, status: str) -> str | None:
    """Why `action` cannot be done to a subscription in `status` (None: it can)."""
    if status in ALLOWED[action]:
        return None
    return f"a {status} subscription cannot be {_DONE[action]}"


_DONE = {
    "skip": "skipped",
    "pause": "paused",
    "resume": "resumed",
    "cancel": "cancelled",
    "change_card": "given another card",
    "change": "changed",
}


def terms_digest(terms: str) -> str:
    """A fingerprint of the exact terms text a customer accepted (SHA-256, hex)."""
    return hashlib.sha256(terms.encode()).hexdigest()


def card_expired(exp_month: int, exp_year: int, today: date) -> bool:
    """A card is good through the last day of its expiry month."""
    return (exp_year, exp_month) < (today.year, today.month)


def order_reference(subscription_number: str, cycle: int) -> str:
    """The channel order id of a shipment: the same for every attempt at it, so the orders' unique
    (channel, external_id) keeps a shipment to one order whatever crashes and retries happen."""
    return f"continuity-{subscription_number}-{cycle}"
