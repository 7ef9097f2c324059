"""Pure inventory rules: what is available, which locations serve a division, how a reservation is split.

Invariants (also enforced by the database): 0 <= reserved <= on_hand; available never counts safety stock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LOCATION_KINDS = ("warehouse", "store")
ADJUSTMENT_REASONS = ("adjustment", "receipt", "count", "damage", "return", "transfer", "shrinkage")


@dataclass(frozen=True)
class LevelView:
    location_code: str
    priority: int
    on_hand: int
    reserved: int
    safety_stock: int

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved - self.safety_stock, 0)


def serves(location_division: str | None, division: str | None) -> bool:
    """A location dedicated to a division serves only it; a shared one serves every division."""
    return location_division is None or division is None or location_division == division


def split_plan(levels: Sequence[LevelView], quantity: int) -> list[tuple[str, int]]:
    """Take `quantity` from locations in priority order (then code), as much as each has available.

    The plan is a proposal: each part is then taken with a conditional update that fails if stock moved.
    """
    assert quantity > 0
    plan: list[tuple[str, int]] = []
    remaining = quantity
    for level in sorted(levels, key=lambda v: (v.priority, v.location_code)):
        if remaining == 0:
            break
        take = min(remaining, level.available)
        if take > 0:
            plan.append((level.location_code, take))
            remaining -= take
    return plan
