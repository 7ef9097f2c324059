"""Accounts payable rules (pure): the three-way match of a vendor bill's lines against the purchase order (what was
ordered, at what unit cost) and its receipts (what arrived), within tolerances; the bill's status machine; how a
payment is spread over bills; and the AP aging buckets.

Invariant: a bill is `matched` only when every line passes every check (or someone holding `payables:override`
accepted its exception); each reason names the bill line and the figures that failed. Kept apart from `rules.py`
(the ledger's chart and posting rules) so that neither passes the ~500 lines a module should hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

# ---- the bill's life -------------------------------------------------------------------------------------------
# entered → matched | exception (the match runs as the bill is entered, and again on request);
# exception → matched (accepted by an override) | rejected; matched → approved (payable) | rejected;
# approved → partially_paid → paid (by vendor payments).
BILL_STATUSES = ("entered", "matched", "exception", "approved", "partially_paid", "paid", "rejected")
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "match": (frozenset({"entered", "exception"}), "matched"),  # or "exception", as the match finds
    "accept": (frozenset({"exception"}), "matched"),
    "reject": (frozenset({"exception", "matched"}), "rejected"),
    "approve": (frozenset({"matched"}), "approved"),
    "pay": (frozenset({"approved", "partially_paid"}), "partially_paid"),  # or "paid" once fully paid
}
OPEN_STATUSES = ("approved", "partially_paid")  # what the business owes: the AP subledger
COUNTED_STATUSES = ("entered", "matched", "exception", "approved", "partially_paid", "paid")  # units billed

REASON_CODES = ("not_received", "quantity", "price", "amount")


@dataclass(frozen=True)
class Tolerance:
    """How far a bill may stray from the PO and its receipts and still match.

    quantity_pct: units billed (on this and other bills) may exceed units received by this percentage.
    price_pct: a line's unit price may differ from the PO line's unit cost by this percentage, either way.
    amount_minor: the bill's total may differ from its units at the PO's unit costs by this much, either way.
    """

    quantity_pct: Decimal = Decimal("0")
    price_pct: Decimal = Decimal("0")
    amount_minor: int = 0


DEFAULT_TOLERANCE = Tolerance(quantity_pct=Decimal("0"), price_pct=Decimal("1"), amount_minor=500)
ANY_VENDOR = "*"


@dataclass(frozen=True)
class OrderedLine:
    """A PO line as the match sees it: ordered and received units, its unit cost, units on other bills."""

    line: int
    sku: str
    ordered: int
    received: int
    unit_cost_minor: int
    billed_elsewhere: int = 0  # units of this PO line on other bills that are not rejected


@dataclass(frozen=True)
class BilledLine:
    po_line: int
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True)
class Reason:
    code: str  # one of REASON_CODES
    line: int | None  # the bill's line number (1, 2, …); None for the bill as a whole
    detail: str


@dataclass(frozen=True)
class Match:
    reasons: tuple[Reason, ...]
    billed_minor: int  # the sum of quantity times unit price: the bill's total
    receipt_value_minor: int  # the units at the PO's unit costs: what receiving credited to GRNI for them

    @property
    def matched(self) -> bool:
        return not self.reasons

    @property
    def variance_minor(self) -> int:
        """The purchase price variance: positive when the vendor bills more than the PO's cost."""
        return self.billed_minor - self.receipt_value_minor


def allowed_units(received: int, quantity_pct: Decimal) -> int:
    """The most units that may be billed against `received` units with a quantity tolerance (rounded down)."""
    return int((Decimal(received) * (100 + quantity_pct) / 100).to_integral_value(rounding=ROUND_FLOOR))


def within_price(unit_price_minor: int, unit_cost_minor: int, price_pct: Decimal) -> bool:
    """Whether a billed unit price lies within `price_pct` % of the PO's unit cost (exactly, no rounding)."""
    return Decimal(abs(unit_price_minor - unit_cost_minor)) * 100 <= Decimal(unit_cost_minor) * price_pct


def _money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def three_way_match(
    lines: Sequence[BilledLine], ordered: Mapping[int, OrderedLine], tolerance: Tolerance
) -> Match:
    """Check each bill line against its PO line and the units received, then the bill's total.

    Every PO line named must be in `ordered` (an unknown line is a refusal before matching, not a reason here).
    Amounts are minor units of the bill's currency (the PO's). Reasons, in line order:

    - `not_received`: nothing has been received on the PO line yet;
    - `quantity`: the units billed on this PO line (this bill's lines plus other bills) exceed what was received
      plus the quantity tolerance;
    - `price`: the unit price is outside the price tolerance of the PO line's unit cost;
    - `amount` (the bill): the total differs from the units at the PO's unit costs by more than the amount
      tolerance.
    """
    reasons: list[Reason] = []
    billed_here: dict[int, int] = {}
    billed = receipt_value = 0
    for n, line in enumerate(lines, start=1):
        po = ordered[line.po_line]
        assert line.quantity > 0
        assert line.unit_price_minor >= 0
        billed += line.quantity * line.unit_price_minor
        receipt_value += line.quantity * po.unit_cost_minor
        billed_here[line.po_line] = billed_here.get(line.po_line, 0) + line.quantity
        if po.received == 0:
            reasons.append(Reason("not_received", n, f"PO line {po.line} ({po.sku}): nothing received yet"))
        else:
            total = po.billed_elsewhere + billed_here[line.po_line]
            allowed = allowed_units(po.received, tolerance.quantity_pct)
            if total > allowed:
                elsewhere = f" ({po.billed_elsewhere} on other bills)" if po.billed_elsewhere else ""
                reasons.append(
                    Reason(
                        "quantity",
                        n,
                        f"PO line {po.line} ({po.sku}): {total} billed{elsewhere}, {po.received} received; "
                        f"at most {allowed} within the {tolerance.quantity_pct}% tolerance",
                    )
                )
        if not within_price(line.unit_price_minor, po.unit_cost_minor, tolerance.price_pct):
            reasons.append(
                Reason(
                    "price",
                    n,
                    f"PO line {po.line} ({po.sku}): billed at {_money(line.unit_price_minor)} a unit, ordered at "
                    f"{_money(po.unit_cost_minor)}; more than the {tolerance.price_pct}% tolerance",
                )
            )
    if abs(billed - receipt_value) > tolerance.amount_minor:
        reasons.append(
            Reason(
                "amount",
                None,
                f"the bill's total {_money(billed)} differs from {_money(receipt_value)} at the PO's costs by "
                f"{_money(billed - receipt_value)}; more than the {_money(tolerance.amount_minor)} tolerance",
            )
        )
    return Match(tuple(reasons), billed, receipt_value)


def status_after_payment(total_minor: int, paid_minor: int) -> str:
    """A payable bill's status once `paid_minor` of its `total_minor` is paid."""
    assert 0 <= paid_minor <= total_minor
    return "paid" if paid_minor == total_minor else "partially_paid"


# ---- aging -----------------------------------------------------------------------------------------------------
# (name, label, fewest days past due, most days past due): by the bill's due date (from the vendor's terms).
AGING_BUCKETS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("current", "Current", None, 0),
    ("days_1_30", "1-30 days", 1, 30),
    ("days_31_60", "31-60 days", 31, 60),
    ("days_61_90", "61-90 days", 61, 90),
    ("over_90", "Over 90 days", 91, None),
)


def bucket_of(due_on: date, as_of: date) -> str:
    """The aging bucket of a bill due on `due_on`, as of `as_of`."""
    past = (as_of - due_on).days
    for name, _label, low, high in AGING_BUCKETS:
        if (low is None or past >= low) and (high is None or past <= high):
            return name
    raise AssertionError("the buckets cover every day")


def bucket_bounds(as_of: date) -> list[tuple[str, date | None, date | None]]:
    """Each bucket as the range of due dates it holds as of a day: (name, earliest, latest), None for open."""
    bounds: list[tuple[str, date | None, date | None]] = []
    for name, _label, low, high in AGING_BUCKETS:
        earliest = as_of - timedelta(days=high) if high is not None else None
        latest = as_of - timedelta(days=low) if low is not None else None
        if low is None:
            bounds.append((name, as_of - timedelta(days=high or 0), None))
        else:
            bounds.append((name, earliest, latest))
    return bounds
