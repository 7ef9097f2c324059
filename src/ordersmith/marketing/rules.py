"""Pure marketing rules: whether a source code may key an order on a day, what an order's code becomes under its
channel's policy, the figures a campaign is judged by, and a customer's RFM scores by configured cut-offs or placed
among the quintile boundaries of the last scoring run.

Invariants: an order's code is either a code of the master list valid on the order's day or, when the channel says
so, the channel's default; nothing else is ever stored. Ratios are exact decimals, money figures integer minor units.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CAMPAIGN_KINDS = ("catalog", "email", "web", "space_ad", "marketplace")
MAX_PIECES = 1_000_000_000  # a drop or a code mails at most this many
POLICIES = ("refuse", "default")


@dataclass(frozen=True)
class CodeFacts:
    """A master-list code as capture needs it."""

    code: str
    active: bool
    starts_on: date
    ends_on: date | None
    price_list: str | None
    promotions: tuple[str, ...]


@dataclass(frozen=True)
class Offer:
    """The code an order keeps and the offer it prices with. `given` is what the order came with when the
    channel's default replaced it (unknown or expired), else None."""

    code: str
    price_list: str | None
    promotions: tuple[str, ...]
    given: str | None = None


def why_not_valid(facts: CodeFacts | None, on: date) -> str | None:
    """None when `facts` may key an order placed on `on`, else the reason (for the refusal's message)."""
    if facts is None:
        return "is not a source code of any campaign"
    if not facts.active:
        return "is switched off"
    if on < facts.starts_on:
        return f"is valid from {facts.starts_on.isoformat()}"
    if facts.ends_on is not None and on > facts.ends_on:
        return f"expired on {facts.ends_on.isoformat()}"
    return None


def offer_of(facts: CodeFacts, given: str | None = None) -> Offer:
    return Offer(facts.code, facts.price_list, facts.promotions, given)


def check_dates(starts_on: date, ends_on: date | None) -> str | None:
    """None when the validity range is well formed, else the reason."""
    if ends_on is not None and ends_on < starts_on:
        return "must not be before starts_on"
    return None


# --- results ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sums:
    """What one key code (or drop, or campaign) brought in, summed by one query, in minor units."""

    quantity_mailed: int
    cost_minor: int
    orders: int
    new_customer_orders: int
    gross_demand_minor: int  # units ordered at their unit price, before cancellations and returns
    cancelled_minor: int  # the value of cancelled units
    returned_minor: int  # the value of returned units
    net_sales_minor: (
        int  # what the lines still charge for goods (after discounts and cancellations) less returns
    )
    cogs_minor: int = 0  # finance's cost of goods for the units net sales count (shipped, less returned)
    uncosted_units: int = 0  # units net sales count that finance has not costed (yet): COGS is then unknown
    matched_orders: int = 0  # orders without any code matched back to the code by a mail file
    matched_demand_minor: int = 0  # their gross demand


@dataclass(frozen=True)
class Figures:
    response_pct: Decimal | None  # orders ÷ quantity mailed x 100 (None: nothing mailed)
    aov_minor: int  # gross demand ÷ orders
    demand_per_book_minor: int  # gross demand ÷ quantity mailed
    cost_per_order_minor: int | None  # cost ÷ orders (None: no orders)
    roi_pct: Decimal | None  # (net sales - cost) ÷ cost x 100 (None: nothing spent)
    existing_customer_orders: int
    cogs_minor: int | None = None  # None: some unit net sales count has no cost from finance (yet)
    contribution_margin_minor: int | None = None  # net sales - COGS - cost (None: COGS unknown)
    margin_roi_pct: Decimal | None = (
        None  # contribution margin ÷ cost x 100 (None: COGS unknown, nothing spent)
    )
    total_orders: int = 0  # keyed + matched back: an order is one or the other, never both
    total_demand_minor: int = 0
    total_response_pct: Decimal | None = None  # total orders ÷ quantity mailed x 100


def _divide_minor(numerator: int, denominator: int) -> int:
    """numerator ÷ denominator in minor units, rounded half up (0 when there is nothing to divide by)."""
    if denominator <= 0:
        return 0
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _percent(part: int, whole: int, places: str) -> Decimal | None:
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def figures(sums: Sums) -> Figures:
    """The ratios a marketer reads, from the sums: response % to 0.01, ROI % to 0.1.

    Contribution margin = net sales - COGS - cost (the mailing's: quantity mailed x cost per piece); shipping
    charged, carriers' and payment fees are in none of them. It and its ROI (margin ÷ cost) exist only when COGS
    does: when every unit net sales count has shipped and been costed by finance (`uncosted_units` is 0);
    otherwise they are None, never an estimate."""
    cogs = sums.cogs_minor if sums.uncosted_units == 0 else None
    margin = None if cogs is None else sums.net_sales_minor - cogs - sums.cost_minor
    total = sums.orders + sums.matched_orders
    return Figures(
        response_pct=_percent(sums.orders, sums.quantity_mailed, "0.01"),
        aov_minor=_divide_minor(sums.gross_demand_minor, sums.orders),
        demand_per_book_minor=_divide_minor(sums.gross_demand_minor, sums.quantity_mailed),
        cost_per_order_minor=_divide_minor(sums.cost_minor, sums.orders) if sums.orders else None,
        roi_pct=_percent(sums.net_sales_minor - sums.cost_minor, sums.cost_minor, "0.1"),
        existing_customer_orders=sums.orders - sums.new_customer_orders,
        cogs_minor=cogs,
        contribution_margin_minor=margin,
        margin_roi_pct=None if margin is None else _percent(margin, sums.cost_minor, "0.1"),
        total_orders=total,
        total_demand_minor=sums.gross_demand_minor + sums.matched_demand_minor,
        total_response_pct=_percent(total, sums.quantity_mailed, "0.01"),
    )


# --- RFM scores ---------------------------------------------------------------------------------------------------

RFM_METHODS = ("quintiles", "cutoffs")
MEASURES = ("recency", "frequency", "monetary")
MAX_CUTOFF_DAYS = 36_500
MAX_CUTOFF_MINOR = 10**15


@dataclass(frozen=True)
class Cutoffs:
    """Configured score boundaries, four a measure, each list increasing. A customer scores 1 plus how many of a
    measure's four they reach: recency, how many of the day counts their last order lies within; frequency, how
    many order counts they have at least; monetary, how many amounts (minor units) they spent at least."""

    recency_days: tuple[int, ...]
    frequency_orders: tuple[int, ...]
    monetary_minor: tuple[int, ...]

    def as_json(self) -> dict[str, list[int]]:
        return {
            "recency_days": list(self.recency_days),
            "frequency_orders": list(self.frequency_orders),
            "monetary_minor": list(self.monetary_minor),
        }

    @classmethod
    def from_json(cls, data: dict[str, list[int]]) -> Cutoffs:
        return cls(
            tuple(data["recency_days"]), tuple(data["frequency_orders"]), tuple(data["monetary_minor"])
        )


def why_not_cutoffs(values: object, *, smallest: int, largest: int) -> str | None:
    """None when `values` are four whole numbers from `smallest` to `largest`, each above the one before."""
    if not isinstance(values, (list, tuple)) or len(values) != 4:
        return "must be four numbers, each above the one before"
    if any(not isinstance(v, int) or isinstance(v, bool) or not smallest <= v <= largest for v in values):
        return f"must be whole numbers from {smallest} to {largest}"
    if any(b <= a for a, b in itertools.pairwise(values)):
        return "must increase: each above the one before"
    return None


def cutoff_scores(
    cutoffs: Cutoffs, *, last_order_at: datetime, now: datetime, orders: int, monetary_minor: int
) -> tuple[int, int, int]:
    """Recency, frequency and monetary scores by configured cut-offs; the last order lies within `d` days when it
    was placed at or after `now` less `d` days (as the `last_order` rule's `within_days`)."""
    return (
        1 + sum(1 for d in cutoffs.recency_days if last_order_at >= now - timedelta(days=d)),
        1 + sum(1 for n in cutoffs.frequency_orders if orders >= n),
        1 + sum(1 for m in cutoffs.monetary_minor if monetary_minor >= m),
    )


def place(value: Any, customer_id: Any, bounds: Sequence[Sequence[Any]]) -> int:
    """A measure's quintile for a customer placed among the last run's boundaries: 1 + how many quintile ends
    (value, customer id) they come after — NTILE's order: by value, then customer id."""
    return 1 + sum(1 for bound in bounds if (value, customer_id) > (bound[0], bound[1]))
