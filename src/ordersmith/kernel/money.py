"""Money as an exact Decimal amount with an ISO 4217 currency.

Invariant: an amount always has exactly the currency's number of minor digits, so it round-trips through
integer minor units without loss. Floats and mixed currencies are refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# Minor-unit exponents (ISO 4217) for the currencies a retailer is likely to meet; anything else defaults to 2.
_EXPONENTS: dict[str, int] = {
    "BHD": 3,
    "CLP": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "TND": 3,
    "UGX": 0,
    "VND": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}


def currency_exponent(currency: str) -> int:
    """Return how many minor digits the currency has (USD 2, JPY 0, KWD 3)."""
    return _EXPONENTS.get(currency, 2)


def exponents_other_than_two() -> dict[str, int]:
    """The currencies whose minor unit is not a hundredth, with their exponents (for SQL that writes amounts)."""
    return {currency: places for currency, places in _EXPONENTS.items() if places != 2}


_CHECKED: set[str] = set()  # codes that passed the check (at most 26^3): a set lookup after the first time


def _check_currency(currency: str) -> str:
    if type(currency) is str and currency in _CHECKED:
        return currency
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isascii() and currency.isupper()):
        raise ValueError(f"currency must be a three-letter ISO 4217 code, got {currency!r}")
    if type(currency) is str:
        _CHECKED.add(currency)
    return currency


_AMOUNT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


def exact_money(text: str, currency: str) -> Money:
    """Money from an amount typed by someone (the API, a form): ASCII digits only, and never finer than the
    currency's minor unit (JPY 10.50 is refused, not stored as 10).

    Raises:
        ValueError: with a sentence saying what is wrong.
    """
    if not _AMOUNT_TEXT.fullmatch(text):
        raise ValueError(f"{text!r} is not an amount: write digits 0-9 with an optional decimal point")
    value = Decimal(text)
    money = Money(value, currency)
    if money.amount != value:
        digits = currency_exponent(currency)
        unit = "whole units only" if digits == 0 else f"at most {digits} decimal places"
        raise ValueError(f"{currency} amounts take {unit}; {text} is finer than that")
    return money


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount of one currency. Construct from Decimal, int or str, never float."""

    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | int | str, currency: str) -> None:
        if isinstance(amount, float | bool):
            raise TypeError("Money refuses float and bool amounts; pass a Decimal, int or str")
        _check_currency(currency)
        try:
            value = Decimal(amount)
        except InvalidOperation as exc:
            raise ValueError(f"not a decimal amount: {amount!r}") from exc
        if not value.is_finite():
            raise ValueError("amount must be finite")
        quantum = Decimal(1).scaleb(-currency_exponent(currency))
        object.__setattr__(self, "amount", value.quantize(quantum, rounding=ROUND_HALF_EVEN))
        object.__setattr__(self, "currency", currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def _exact(cls, amount: Decimal, currency: str) -> Money:
        """An amount already exact in `currency` (the sum, difference or negation of two such amounts, or one
        times an int): no need to check and quantize it again. Pricing adds up thousands of these per quote."""
        money = object.__new__(cls)
        object.__setattr__(money, "amount", amount)
        object.__setattr__(money, "currency", currency)
        return money

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        """Build from integer minor units as stored in the database."""
        if not isinstance(minor, int) or isinstance(minor, bool):
            raise TypeError("minor units must be an int")
        # Integer minor units scaled by the currency's exponent are exact already: no quantize needed (every order
        # read builds a few dozen of these).
        return cls._exact(Decimal(minor).scaleb(-currency_exponent(_check_currency(currency))), currency)

    @property
    def minor(self) -> int:
        """The amount in integer minor units (cents), as stored in the database."""
        return int(self.amount.scaleb(currency_exponent(self.currency)))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money._exact(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money._exact(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money._exact(-self.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, float | bool):
            raise TypeError("multiply Money by an int or Decimal, never a float")
        if isinstance(factor, int):
            return Money._exact(self.amount * factor, self.currency)
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def split(self, weights: Sequence[int | Decimal]) -> list[Money]:
        """Split by weights with the largest-remainder method; the parts always add back to the whole.

        Used to spread a discount, tax or shipping charge across order lines in proportion to their value.
        """
        parts = allocate_minor(self.minor, weights)
        result = [Money.from_minor(p, self.currency) for p in parts]
        assert sum(p.minor for p in result) == self.minor
        return result


def allocate_minor(total: int, weights: Sequence[int | Decimal]) -> list[int]:
    """Split an integer total by non-negative weights (largest remainder, ties to the earliest part)."""
    if not weights:
        raise ValueError("need at least one weight")
    if any(isinstance(w, float) for w in weights):
        raise TypeError("weights must be int or Decimal")
    decimal_weights = [Decimal(w) for w in weights]
    if any(w < 0 for w in decimal_weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(decimal_weights, Decimal(0))
    if weight_sum == 0:
        decimal_weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    exact = [Decimal(magnitude) * w / weight_sum for w in decimal_weights]
    floors = [int(e) for e in exact]
    remainder = magnitude - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:remainder]:
        floors[i] += 1
    parts = [sign * f for f in floors]
    assert sum(parts) == total
    return parts
