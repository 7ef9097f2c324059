"""Pure order rules: the status model (a transition table per dimension), hold rules, allocation across locations
and the order in which backorders are released.

Invariants: an order moves only along `ORDER_TRANSITIONS`; an allocation never takes more from a location than it
has available and gives each line exactly its quantity (or backorders the rest); backorders are released by
priority, then by when they were placed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from ordersmith.kernel.money import Money

ORDER_STATUSES = ("pending", "on_hold", "released", "partially_shipped", "shipped", "completed", "cancelled")
PAYMENT_STATUSES = ("pending", "authorized", "partially_captured", "captured", "partially_refunded", "refunded",
                    "failed")  # fmt: skip
FULFILLMENT_STATUSES = ("unallocated", "allocated", "partially_allocated", "backordered", "partially_shipped",
                        "shipped")  # fmt: skip

# action -> (states it may start from, state it leads to)
ORDER_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "hold": (frozenset({"pending", "released"}), "on_hold"),
    "release": (frozenset({"pending", "on_hold"}), "released"),
    "ship_part": (frozenset({"released", "partially_shipped"}), "partially_shipped"),
    "ship_all": (frozenset({"released", "partially_shipped"}), "shipped"),
    "complete": (frozenset({"shipped"}), "completed"),
    "cancel": (frozenset({"pending", "on_hold", "released"}), "cancelled"),
}
EDITABLE_STATUSES = frozenset({"pending", "on_hold"})  # lines, quantities, ship-tos: before release only


class IllegalMove(ValueError):
    def __init__(self, action: str, status: str) -> None:
        super().__init__(f"an order that is {status} cannot {action}")
        self.action, self.status = action, status


def next_status(status: str, action: str) -> str:
    """The order's status after `action`, or IllegalMove naming the current status."""
    sources, target = ORDER_TRANSITIONS[action]
    if status not in sources:
        raise IllegalMove(action, status)
    return target


# --- holds ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldPolicy:
    high_value: Money  # billing/shipping country mismatch above this is suspicious
    first_order_limit: Money  # a first order above this is held for review
    velocity_window: timedelta = timedelta(hours=1)
    velocity_limit: int = 3  # orders from one card or one address within the window


@dataclass(frozen=True)
class OrderFacts:
    """What the hold rules look at, gathered by the service at capture and on change."""

    total: Money
    billing_country: str | None
    ship_countries: tuple[str, ...]
    first_order: bool
    on_account: bool
    credit_limit: Money | None
    open_balance: Money  # what the customer owes on account already
    recent_orders_same_card: int  # within the policy's window, this order excluded
    recent_orders_same_address: int
    undeliverable: tuple[str, ...] = ()  # ship-to refs whose address cannot be delivered to
    personalization_review: bool = False  # a template asks for review (e.g. free text)
    customer_number: str = ""  # who buys on account, to name in a credit hold


@dataclass(frozen=True)
class Hold:
    reason: (
        str  # fraud_country_mismatch | fraud_velocity | fraud_first_order | credit_limit | undeliverable | …
    )
    detail: str


@dataclass(frozen=True)
class HoldLine:
    sku: str
    quantity: int
    unit_price: Money
    ship_to: str


@dataclass(frozen=True)
class HoldAddress:
    ref: str
    country: str
    region: str
    postal_code: str
    city: str
    line1: str
    line2: str
    method: str


@dataclass(frozen=True)
class HoldView:
    """What a plugin's hold rule sees of an order being placed: plain values, nothing it could write through."""

    external_id: str  # the channel's order id ("" when none); the order's number is given after the holds
    channel: str
    currency: str
    total: Money
    merchandise: Money
    first_order: bool  # no customer record yet, or a prospect's first purchase
    customer_number: str  # "" for a guest
    email: str
    billing_country: str
    fulfillment: str  # ship | taken | pickup
    source_code: str
    ship_tos: tuple[HoldAddress, ...]
    lines: tuple[HoldLine, ...]


class HoldRule(Protocol):
    """A plugin's hold rule: a reason to hold the order (`Hold(reason, detail)`, reason at most 40 characters of
    `a-z0-9_.:-`), or None. Pure and fast: it runs inside the order's write, under a time budget."""

    def __call__(self, order: HoldView) -> Hold | None: ...


_PLUGIN_REASON = re.compile(r"^[a-z][a-z0-9_.:-]{0,39}$")


def plugin_hold(answer: object) -> Hold | None:
    """A plugin rule's answer checked: None, or a Hold with a usable reason (anything else is the plugin's bug)."""
    if answer is None:
        return None
    if (
        not isinstance(answer, Hold)
        or not isinstance(answer.reason, str)
        or not isinstance(answer.detail, str)
    ):
        raise TypeError(f"a hold rule returns Hold or None, not {type(answer).__name__}")
    if not _PLUGIN_REASON.match(answer.reason):
        raise ValueError(f"hold reason {answer.reason[:60]!r} is not 1-40 characters of a-z0-9_.:-")
    return Hold(answer.reason, answer.detail[:500] or answer.reason)


def holds(facts: OrderFacts, policy: HoldPolicy | None) -> list[Hold]:
    """Every reason to hold this order (empty: release it). Without a policy the fraud rules are skipped (a
    marketplace screens its own buyers); credit, address and personalization rules always apply."""
    found: list[Hold] = []
    if policy is not None:
        found += _fraud(facts, policy)
    if facts.on_account:
        hold = _credit_hold(facts)
        if hold is not None:
            found.append(hold)
    for ref in facts.undeliverable:
        found.append(Hold("undeliverable", f"ship-to {ref} cannot be delivered to"))
    if facts.personalization_review:
        found.append(Hold("personalization_review", "personalized text to be checked before production"))
    return found


def _credit_hold(facts: OrderFacts) -> Hold | None:
    """On account: the open balance plus this order must fit the customer's credit limit; no limit holds every
    order on account until someone sets one (or releases the order)."""
    customer = f"customer {facts.customer_number}" if facts.customer_number else "the customer"
    limit = facts.credit_limit
    if limit is None:
        return Hold(
            "credit_limit",
            f"{customer} has payment terms but no credit limit: set a credit limit on the customer "
            "(customers:credit) or release the hold",
        )
    if facts.open_balance + facts.total <= limit:
        return None
    return Hold(
        "credit_limit",
        f"{customer} would owe {facts.open_balance + facts.total} on account ({facts.open_balance} open + "
        f"{facts.total} this order), over the credit limit of {limit}: raise the limit (customers:write), "
        "take another payment, or release the hold",
    )


def _fraud(facts: OrderFacts, policy: HoldPolicy) -> list[Hold]:
    found: list[Hold] = []
    foreign = [c for c in facts.ship_countries if facts.billing_country and c != facts.billing_country]
    if foreign and facts.total > policy.high_value:
        found.append(Hold("fraud_country_mismatch", f"billed in {facts.billing_country}, shipped to "
                          f"{', '.join(sorted(set(foreign)))}, total {facts.total}"))  # fmt: skip
    if facts.recent_orders_same_card >= policy.velocity_limit:
        found.append(
            Hold("fraud_velocity", f"{facts.recent_orders_same_card} orders with this card in the last hour")
        )
    if facts.recent_orders_same_address >= policy.velocity_limit:
        found.append(
            Hold(
                "fraud_velocity",
                f"{facts.recent_orders_same_address} orders to this address in the last hour",
            )
        )
    if facts.first_order and facts.total > policy.first_order_limit:
        found.append(
            Hold("fraud_first_order", f"first order of {facts.total} (limit {policy.first_order_limit})")
        )
    return found


# --- allocation -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    line: str
    item: str  # the stocked item (a kit's component lines are expanded by the service)
    quantity: int


@dataclass(frozen=True)
class Source:
    location: str
    priority: int  # lower ships first
    available: dict[str, int]  # item -> units this location can give the order's division


@dataclass(frozen=True)
class Part:
    line: str
    location: str
    quantity: int


@dataclass
class Allocation:
    parts: list[Part] = field(default_factory=list)
    backordered: dict[str, int] = field(default_factory=dict)  # line -> units with no stock anywhere
    explanation: list[str] = field(default_factory=list)

    @property
    def shipments(self) -> int:
        return len({p.location for p in self.parts})


def allocate(needs: Sequence[Need], sources: Sequence[Source]) -> Allocation:
    """Choose where each line ships from: complete from one location if any can (the highest-priority such one),
    else as few locations as possible (greedy: the location covering most of what is left, priority breaking
    ties), splitting a line where needed; what no location has is backordered."""
    ranked = sorted(sources, key=lambda s: (s.priority, s.location))
    wanted: dict[str, int] = {}
    for need in needs:
        wanted[need.item] = wanted.get(need.item, 0) + need.quantity
    result = Allocation()
    whole = next((s for s in ranked if all(s.available.get(i, 0) >= q for i, q in wanted.items())), None)
    if whole is not None:
        result.parts = [Part(n.line, whole.location, n.quantity) for n in needs]
        result.explanation.append(f"{whole.location} has everything: one shipment"
                                  + (f" (priority {whole.priority})" if len(ranked) > 1 else ""))  # fmt: skip
        return result
    left = {n.line: n.quantity for n in needs}
    stock = {s.location: dict(s.available) for s in ranked}
    by_line = {n.line: n for n in needs}
    while any(left.values()):

        def coverage(source: Source) -> int:
            return sum(
                min(q, stock[source.location].get(by_line[line].item, 0)) for line, q in left.items() if q
            )

        best = max(ranked, key=lambda s: (coverage(s), -s.priority), default=None)
        if best is None or coverage(best) == 0:
            break
        taken = []
        for line, q in left.items():
            item = by_line[line].item
            give = min(q, stock[best.location].get(item, 0))
            if give:
                stock[best.location][item] -= give
                left[line] -= give
                result.parts.append(Part(line, best.location, give))
                taken.append(f"{give} x {item}")
        result.explanation.append(f"{best.location}: {', '.join(taken)} (covers the most of what was left)")
    result.backordered = {line: q for line, q in left.items() if q}
    if result.backordered:
        result.explanation.append("backordered: " + ", ".join(f"line {line} x {q}"
                                                              for line, q in result.backordered.items()))  # fmt: skip
    return result


# --- backorders -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backorder:
    order: str
    line: str
    quantity: int
    priority: int  # higher first (e.g. VIP, older promise)
    placed_at: datetime


def release_order(backorders: Sequence[Backorder], arrived: int) -> list[tuple[Backorder, int]]:
    """Which backordered lines the `arrived` units go to: by priority, then oldest first; a line may be filled in
    part (the rest stays backordered)."""
    given: list[tuple[Backorder, int]] = []
    for backorder in sorted(backorders, key=lambda b: (-b.priority, b.placed_at, b.order, b.line)):
        if arrived <= 0:
            break
        take = min(arrived, backorder.quantity)
        given.append((backorder, take))
        arrived -= take
    return given


# --- addresses --------------------------------------------------------------------------------------------------

_POSTAL_PATTERNS = {
    "US": r"\d{5}(-\d{4})?",
    "CA": r"[A-Z]\d[A-Z] ?\d[A-Z]\d",
    "GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
    "DE": r"\d{5}",
    "FR": r"\d{5}",
    "NL": r"\d{4} ?[A-Z]{2}",
    "AU": r"\d{4}",
}


def address_problems(*, country: str, postal_code: str, line1: str, city: str) -> list[str]:
    """Why a carrier could not deliver to this address (empty: it looks deliverable). Only what can be told from
    the address itself: a missing street or city, a postal code in the wrong shape for its country."""
    problems = []
    if not line1.strip():
        problems.append("no street address")
    if not city.strip():
        problems.append("no city")
    pattern = _POSTAL_PATTERNS.get(country.upper())
    if pattern is not None and not re.fullmatch(pattern, postal_code.strip().upper()):
        problems.append(f"postal code {postal_code!r} is not a {country.upper()} postal code")
    return problems


def address_key(*, country: str, postal_code: str, line1: str) -> str:
    """A stable key of a street address (case, spacing and punctuation folded) for the velocity rule."""
    folded = " ".join(re.sub(r"[^a-z0-9 ]", " ", line1.lower()).split())
    text = f"{country.upper()}|{postal_code.replace(' ', '').upper()}|{folded}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- returns ----------------------------------------------------------------------------------------------------

RETURN_REASONS = ("changed_mind", "wrong_size", "damaged", "defective", "wrong_item", "late", "other")
OUR_FAULT = frozenset(
    {"damaged", "defective", "wrong_item"}
)  # we refund shipping and charge no restocking fee


@dataclass(frozen=True)
class ReturnPolicy:
    window: timedelta = timedelta(days=60)  # from the order's placing
    restocking_fee_percent: int = 0  # of the item refund, when the return is not our fault


@dataclass(frozen=True)
class ReturnedLine:
    units: int  # being returned
    charged_units: int  # of the line, still charged (ordered - cancelled)
    net_minor: int  # the line's merchandise + surcharge - discount, still charged
    tax_minor: int
    reason: str


@dataclass(frozen=True)
class RefundDue:
    items_minor: int
    tax_minor: int
    shipping_minor: int
    fee_minor: int

    @property
    def total_minor(self) -> int:
        return self.items_minor + self.tax_minor + self.shipping_minor - self.fee_minor


def refund_due(
    lines: Sequence[ReturnedLine], *, order_net_minor: int, shipping_minor: int, shipping_tax_minor: int,
    policy: ReturnPolicy,
) -> RefundDue:  # fmt: skip
    """What returning these units gives back: each unit's share of its line's net and tax (the last units take
    what is left, so shares add back to the line); shipping in proportion to the goods returned when the reason
    is our fault; a restocking fee on the goods returned for any other reason."""
    items = tax = ours = theirs = 0
    for line in lines:
        assert 0 < line.units <= line.charged_units
        net = line.net_minor * line.units // line.charged_units
        items += net
        tax += line.tax_minor * line.units // line.charged_units
        if line.reason in OUR_FAULT:
            ours += net
        else:
            theirs += net
    shipping = (shipping_minor + shipping_tax_minor) * ours // order_net_minor if order_net_minor > 0 else 0
    fee = theirs * policy.restocking_fee_percent // 100
    shipping = min(shipping, shipping_minor + shipping_tax_minor)
    return RefundDue(items_minor=items, tax_minor=tax, shipping_minor=shipping, fee_minor=fee)
