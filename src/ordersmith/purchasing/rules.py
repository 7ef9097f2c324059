"""Pure purchasing rules: the purchase-order life cycle, receiving tolerance, order-quantity rounding and
replenishment suggestions.

Invariants: a line never records more received than `ordered + tolerance`; received + cancelled <= ordered
(cancelled only ever takes what is still open); a PO's status follows from its lines once it has been sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

STATUSES = ("draft", "approved", "sent", "partially_received", "received", "closed", "cancelled")

# action -> (states it may start from, state it leads to). Receiving and cancelling the remainder of a partly
# received order derive their target from the lines (see `status_after_receipt`, `status_after_cancel`).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve": (frozenset({"draft"}), "approved"),
    "send": (frozenset({"approved"}), "sent"),
    "receive": (frozenset({"sent", "partially_received"}), "partially_received"),
    "cancel": (frozenset({"draft", "approved", "sent", "partially_received"}), "cancelled"),
    "close": (frozenset({"received", "partially_received"}), "closed"),
}

OPEN_STATUSES = frozenset({"approved", "sent", "partially_received"})  # what counts as "on order"

METHODS = ("min_max", "reorder_point")
DEMAND_WINDOW_DAYS = 28


def allowed(action: str, status: str) -> bool:
    return status in TRANSITIONS[action][0]


@dataclass(frozen=True)
class LineFigures:
    ordered: int
    received: int
    cancelled: int

    @property
    def open(self) -> int:
        return max(self.ordered - self.received - self.cancelled, 0)


def receipt_limit(ordered: int, tolerance_pct: int) -> int:
    """The most a line may ever receive: what was ordered plus the vendor's over-receipt tolerance (rounded down)."""
    return ordered + (ordered * tolerance_pct) // 100


def status_after_receipt(lines: list[LineFigures]) -> str:
    """`received` once every line has all it ordered (or more, within tolerance), else `partially_received`."""
    return "received" if all(line.open == 0 for line in lines) else "partially_received"


def status_after_cancel(lines: list[LineFigures]) -> str:
    """Cancelling what is still open: `closed` when something was received, `cancelled` when nothing was."""
    return "closed" if any(line.received > 0 for line in lines) else "cancelled"


def order_quantity(needed: int, *, minimum: int, pack_size: int) -> int:
    """Round a wanted quantity up to the vendor's minimum order and then to whole packs."""
    if needed <= 0:
        return 0
    quantity = max(needed, minimum)
    return math.ceil(quantity / pack_size) * pack_size


@dataclass(frozen=True)
class Position:
    """What a location has and expects of one item."""

    on_hand: int
    reserved: int
    on_order: int  # open PO quantity still to arrive at this location
    safety_stock: int = 0

    @property
    def projected(self) -> int:
        return self.on_hand - self.reserved + self.on_order


@dataclass(frozen=True)
class Rule:
    method: str  # min_max | reorder_point
    min_qty: int = 0  # min_max: order when the projected position falls to this or below
    max_qty: int = 0  # min_max: order up to this
    reorder_qty: int = 0  # reorder_point: the usual order quantity (at least)


@dataclass(frozen=True)
class Need:
    quantity: int  # before rounding to the vendor's minimum and packs
    trigger: int  # the level the projected position fell to or below
    explanation: str


def daily_demand(shipped_units: int, window_days: int = DEMAND_WINDOW_DAYS) -> Decimal:
    return Decimal(shipped_units) / Decimal(window_days)


def reorder_point(demand_per_day: Decimal, lead_time_days: int, safety_stock: int) -> int:
    """Units needed to cover the lead time at the recent rate of demand, plus safety stock (rounded up)."""
    lead = (demand_per_day * lead_time_days).to_integral_value(rounding=ROUND_CEILING)
    return int(lead) + safety_stock


def need(rule: Rule, position: Position, *, demand_per_day: Decimal, lead_time_days: int) -> Need | None:
    """How many units to order for one item at one location, or None when the position is healthy.

    min/max: when projected <= min, order up to max.
    reorder point: ROP = ceil(daily demand x lead time) + safety stock; when projected <= ROP, order the larger
    of the usual reorder quantity and what lifts the position back above ROP plus one lead time of demand.
    """
    projected = position.projected
    if rule.method == "min_max":
        if projected > rule.min_qty:
            return None
        return Need(rule.max_qty - projected, rule.min_qty,
                    f"projected {projected} <= min {rule.min_qty}: order up to max {rule.max_qty}")  # fmt: skip
    point = reorder_point(demand_per_day, lead_time_days, position.safety_stock)
    if projected > point:
        return None
    cover = int((demand_per_day * lead_time_days).to_integral_value(rounding=ROUND_CEILING))
    quantity = max(rule.reorder_qty, point + cover - projected, 1)
    return Need(quantity, point, f"projected {projected} <= reorder point {point} "
                f"({demand_per_day:.2f}/day x {lead_time_days} days + safety {position.safety_stock})")  # fmt: skip
