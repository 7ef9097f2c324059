"""Pure payment rules: card numbers (Luhn, brand ranges, expiry, masking, redaction), gift-card codes, split
tender, refund plans, and the order's payment status derived from its tenders.

Invariants: a card number leaves this module only masked (first six and last four at most); a refund plan never
returns more than was captured and not yet refunded, and takes it from the newest capture first; split tender adds
up to the total exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ordersmith.kernel.cards import contains_card_number, luhn_valid, mask, redact
from ordersmith.kernel.money import Money

__all__ = ["contains_card_number", "luhn_valid", "mask", "redact"]

# --- card numbers -----------------------------------------------------------------------------------------------

# (brand, IIN ranges as (low, high) over the first `digits` digits, allowed lengths)
_BRANDS: tuple[tuple[str, int, tuple[tuple[int, int], ...], frozenset[int]], ...] = (
    ("amex", 2, ((34, 34), (37, 37)), frozenset({15})),
    ("diners", 3, ((300, 305), (309, 309), (360, 369), (380, 399)), frozenset({14, 15, 16, 17, 18, 19})),
    ("discover", 4, ((6011, 6011), (6440, 6599)), frozenset({16, 17, 18, 19})),
    ("jcb", 4, ((3528, 3589),), frozenset({16, 17, 18, 19})),
    ("mastercard", 4, ((2221, 2720), (5100, 5599)), frozenset({16})),
    ("unionpay", 2, ((62, 62),), frozenset({16, 17, 18, 19})),
    ("visa", 1, ((4, 4),), frozenset({13, 16, 19})),
)


class CardInvalid(ValueError):
    """Why a card cannot be used; never carries the number."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # number_invalid | brand_unknown | expired | expiry_invalid


def digits_of(number: str) -> str:
    """The digits of a card number as typed (spaces and dashes allowed); anything else is invalid."""
    cleaned = re.sub(r"[ -]", "", number.strip())
    if not cleaned.isdigit():
        raise CardInvalid("number_invalid")
    return cleaned


def card_brand(digits: str) -> str | None:
    """The brand whose IIN range and length the number fits, or None."""
    for brand, width, ranges, lengths in _BRANDS:
        if len(digits) in lengths and len(digits) >= width:
            prefix = int(digits[:width])
            if any(low <= prefix <= high for low, high in ranges):
                return brand
    return None


@dataclass(frozen=True)
class CardFacts:
    """What may be known about a card outside the vault."""

    brand: str
    last_four: str
    exp_month: int
    exp_year: int
    masked: str  # first six, stars, last four


def check_card(number: str, exp_month: int, exp_year: int, today: date) -> tuple[str, CardFacts]:
    """Validate a card number and expiry; returns the digits (for the vault only) and the shareable facts.

    Raises:
        CardInvalid: a number that fails Luhn or fits no brand, an impossible or past expiry.
    """
    digits = digits_of(number)
    if not 12 <= len(digits) <= 19 or not luhn_valid(digits):
        raise CardInvalid("number_invalid")
    brand = card_brand(digits)
    if brand is None:
        raise CardInvalid("brand_unknown")
    if not 1 <= exp_month <= 12 or not 2000 <= exp_year <= 2100:
        raise CardInvalid("expiry_invalid")
    if (exp_year, exp_month) < (today.year, today.month):
        raise CardInvalid("expired")
    return digits, CardFacts(
        brand=brand, last_four=digits[-4:], exp_month=exp_month, exp_year=exp_year, masked=mask(digits)
    )


# --- gift-card codes ----------------------------------------------------------------------------------------------

GIFT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: no 0/O, 1/I
GIFT_CODE_LENGTH = 16  # 15 random symbols (75 bits) + 1 check symbol


def _check_symbol(body: str) -> str:
    """A weighted mod-32 check symbol (Luhn mod N): catches every single-symbol error and every swap of two adjacent
    symbols except the first and last symbols of the alphabet (its one blind spot, like "09" in Luhn mod 10)."""
    n = len(GIFT_ALPHABET)
    total, factor = 0, 2
    for char in reversed(body):
        addend = factor * GIFT_ALPHABET.index(char)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return GIFT_ALPHABET[(n - total % n) % n]


def gift_card_code(random_bytes: bytes) -> str:
    """A gift-card code from at least 15 random bytes (the caller's CSPRNG), with its check symbol."""
    if len(random_bytes) < GIFT_CODE_LENGTH - 1:
        raise ValueError("need at least 15 random bytes")
    body = "".join(GIFT_ALPHABET[b % len(GIFT_ALPHABET)] for b in random_bytes[: GIFT_CODE_LENGTH - 1])
    return body + _check_symbol(body)


def normalize_gift_code(typed: str) -> str | None:
    """The code as stored (upper case, no spaces or dashes), or None when it cannot be one (wrong length, a symbol
    outside the alphabet, a failed check symbol): rejected before any lookup."""
    code = re.sub(r"[ -]", "", typed.strip().upper())
    if len(code) != GIFT_CODE_LENGTH or any(c not in GIFT_ALPHABET for c in code):
        return None
    return code if _check_symbol(code[:-1]) == code[-1] else None


def format_gift_code(code: str) -> str:
    """Groups of four for printing: `ABCD-EFGH-JKLM-NPQR`."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


# --- split tender -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenderRequest:
    method: str
    amount: Money | None  # None: whatever the other tenders leave


def split_tender(total: Money, tenders: Sequence[TenderRequest]) -> list[Money]:
    """The amount each tender pays: those with an amount pay it, the one without pays the rest. The parts always
    add up to `total`.

    Raises:
        ValueError: no tenders, more than one without an amount, a negative or mixed-currency amount, amounts
            above the total, or amounts that leave part of it unpaid.
    """
    if not tenders:
        raise ValueError("at least one tender pays the order")
    open_ended = [n for n, t in enumerate(tenders) if t.amount is None]
    if len(open_ended) > 1:
        raise ValueError("only one tender may take the rest")
    zero = Money.zero(total.currency)
    fixed = zero
    for tender in tenders:
        if tender.amount is not None:
            if tender.amount.currency != total.currency or tender.amount < zero:
                raise ValueError(f"{tender.method}: amounts are non-negative {total.currency}")
            fixed += tender.amount
    if fixed > total:
        raise ValueError(f"the tenders ({fixed}) exceed the total ({total})")
    if not open_ended and fixed != total:
        raise ValueError(f"the tenders ({fixed}) leave {total - fixed} unpaid")
    parts = [t.amount if t.amount is not None else total - fixed for t in tenders]
    assert sum((p for p in parts), zero) == total
    return parts


# --- refunds ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Captured:
    payment: str  # the payment's id or reference
    captured: Money
    refunded: Money
    captured_at: datetime

    @property
    def refundable(self) -> Money:
        return self.captured - self.refunded


def refund_plan(amount: Money, captures: Sequence[Captured]) -> list[tuple[str, Money]]:
    """Which payments give back `amount`: the newest capture first (so a gift card or store credit used last is
    refunded first, as receipts read), each at most what it still has refundable.

    Raises:
        ValueError: a non-positive amount, or more than is refundable in all.
    """
    zero = Money.zero(amount.currency)
    if amount <= zero:
        raise ValueError("a refund is a positive amount")
    available = sum((c.refundable for c in captures), zero)
    if amount > available:
        raise ValueError(f"only {available} can be refunded")
    plan: list[tuple[str, Money]] = []
    left = amount
    for capture in sorted(captures, key=lambda c: (c.captured_at, c.payment), reverse=True):
        if left == zero:
            break
        take = min(left, capture.refundable)
        if take > zero:
            plan.append((capture.payment, take))
            left -= take
    assert left == zero
    return plan


# --- the order's payment status -----------------------------------------------------------------------------------


def payment_status(total: Money, authorized: Money, captured: Money, refunded: Money, failed: bool) -> str:
    """The order's payment status from what its tenders did (amounts summed over tenders)."""
    zero = Money.zero(total.currency)
    if refunded > zero:
        return "refunded" if refunded >= captured else "partially_refunded"
    if captured > zero:
        return "captured" if captured >= total else "partially_captured"
    if authorized > zero and authorized >= total:
        return "authorized"
    if failed:
        return "failed"
    return "pending"


# --- what a shipment makes due ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineValue:
    total_minor: int  # the line's total for its open units (after cancellations)
    open_units: int  # ordered less cancelled
    shipped_units: int


def shipped_value_minor(lines: Sequence[LineValue], order_total_minor: int) -> int:
    """What an order's shipments so far are worth: each line's total by the share of its units shipped, plus —
    from the first shipment — what the order charges beyond its lines (shipping and its tax). Everything shipped
    is the whole total; the value never exceeds it."""
    lines_total = sum(line.total_minor for line in lines)
    if not any(line.shipped_units for line in lines):
        return 0
    if all(line.shipped_units >= line.open_units for line in lines):
        return order_total_minor
    value = sum(
        line.total_minor * min(line.shipped_units, line.open_units) // max(line.open_units, 1)
        for line in lines
    )
    return min(order_total_minor, value + max(order_total_minor - lines_total, 0))


def due_on(issued: date, terms: str) -> date:
    """An invoice's due date from the customer's terms: `net30`, `net 45`, `30`; `due on receipt` / `cod` is the
    same day; anything else is thirty days."""
    lowered = terms.strip().lower()
    if lowered in ("cod", "due on receipt", "receipt", "prepaid"):
        return issued
    digits = "".join(c for c in lowered if c.isdigit())
    return issued + timedelta(days=int(digits) if digits and int(digits) <= 365 else 30)


# AR aging: the buckets by how many days past its due date an invoice is, as of a day.
AGING_BUCKETS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("current", "Current", None, 0),  # not yet due (days past due ≤ 0)
    ("days_1_30", "1-30 days", 1, 30),
    ("days_31_60", "31-60 days", 31, 60),
    ("days_61_90", "61-90 days", 61, 90),
    ("days_91_120", "91-120 days", 91, 120),
    ("over_120", "Over 120 days", 121, None),
)


def aging_due_bounds(as_of: date) -> list[tuple[str, date | None, date | None]]:
    """Per aging bucket, the due dates it holds as (name, earliest due_on or None, latest due_on or None), so the
    database compares plain dates: an invoice due on D is `as_of - D` days past due."""
    bounds: list[tuple[str, date | None, date | None]] = []
    for name, _label, low, high in AGING_BUCKETS:
        latest = as_of - timedelta(days=low) if low is not None else None
        earliest = as_of - timedelta(days=high) if high is not None else None
        if low is None:  # current: due today or later
            bounds.append((name, as_of, None))
        else:
            bounds.append((name, earliest, latest))
    return bounds
