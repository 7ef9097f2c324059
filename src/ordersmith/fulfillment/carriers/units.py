"""Unit conversions at the carrier edge: Ordersmith keeps grams and millimetres; US carriers' APIs want ounces and
inches. Exact Decimal arithmetic with the legal definitions (1 oz = 28.349523125 g, 1 in = 25.4 mm); a converted
weight or length is rounded *up* to the carrier's precision, so a parcel is never declared lighter or smaller
than it is (an under-declared parcel is re-billed by the carrier)."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

GRAMS_PER_OUNCE = Decimal("28.349523125")
MILLIMETRES_PER_INCH = Decimal("25.4")
TENTH = Decimal("0.1")


def ounces(weight_g: int, *, step: Decimal = TENTH) -> Decimal:
    """Grams as ounces, rounded up to `step` (EasyPost takes tenths of an ounce)."""
    return (Decimal(weight_g) / GRAMS_PER_OUNCE).quantize(step, rounding=ROUND_CEILING)


def inches(length_mm: int, *, step: Decimal = TENTH) -> Decimal:
    """Millimetres as inches, rounded up to `step`."""
    return (Decimal(length_mm) / MILLIMETRES_PER_INCH).quantize(step, rounding=ROUND_CEILING)


def grams(weight_oz: Decimal) -> int:
    """Ounces as whole grams (rounded up)."""
    return int((weight_oz * GRAMS_PER_OUNCE).to_integral_value(rounding=ROUND_CEILING))


def millimetres(length_in: Decimal) -> int:
    """Inches as whole millimetres (rounded up)."""
    return int((length_in * MILLIMETRES_PER_INCH).to_integral_value(rounding=ROUND_CEILING))
