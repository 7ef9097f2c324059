"""Pure inventory rules: what is available, which locations serve a division, how a reservation is split.

Invariants (also enforced by the database): 0 <= reserved <= on_hand; available never counts safety stock.

Division pools on a shared location: a *ring-fence* keeps units for one division (the others cannot take them
until that division has reserved them), a *buffer* keeps units away from one division. For division D at one
location: available = on hand - reserved - safety - sum over other divisions E of max(fence(E) - reserved by E, 0)
- buffer(D), never below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LOCATION_KINDS = ("warehouse", "store")
ADJUSTMENT_REASONS = ("adjustment", "receipt", "count", "damaged", "return", "transfer", "shrinkage")
# One vocabulary with returns' reason codes (`damaged`); `damage`, the code stock adjustments used before, is still
# accepted on input and stored as `damaged`, so existing clients keep working.
REASON_ALIASES = {"damage": "damaged"}


def adjustment_reason(code: str) -> str | None:
    """The stored reason code for `code` (an alias becomes its canonical code), or None for an unknown code."""
    code = REASON_ALIASES.get(code, code)
    return code if code in ADJUSTMENT_REASONS else None


@dataclass(frozen=True)
class Pool:
    """One division's settings at one shared location, with the units that division holds reserved there."""

    division: str
    ring_fence: int
    buffer: int
    reserved: int = 0


@dataclass(frozen=True)
class LevelView:
    location_code: str
    priority: int
    on_hand: int
    reserved: int
    safety_stock: int
    pools: tuple[Pool, ...] = ()

    @property
    def free(self) -> int:
        """Units not reserved and above safety stock, before any division pool is considered."""
        return max(self.on_hand - self.reserved - self.safety_stock, 0)

    def available_to(self, division: str | None) -> int:
        """What `division` may reserve here (`None`: a caller with no division, kept off every ring-fence)."""
        fenced_for_others = sum(
            max(p.ring_fence - p.reserved, 0) for p in self.pools if p.division != division
        )
        buffer = sum(p.buffer for p in self.pools if p.division == division)
        return max(self.on_hand - self.reserved - self.safety_stock - fenced_for_others - buffer, 0)


def serves(location_division: str | None, division: str | None) -> bool:
    """A location dedicated to a division serves only it; a shared one serves every division."""
    return location_division is None or division is None or location_division == division


def split_plan(levels: Sequence[LevelView], quantity: int, division: str | None) -> list[tuple[str, int]]:
    """Take `quantity` from locations in priority order (then code), as much as each has available to `division`.

    The plan is a proposal: each part is then taken with a conditional update that fails if stock moved.
    """
    assert quantity > 0
    plan: list[tuple[str, int]] = []
    remaining = quantity
    for level in sorted(levels, key=lambda v: (v.priority, v.location_code)):
        if remaining == 0:
            break
        take = min(remaining, level.available_to(division))
        if take > 0:
            plan.append((level.location_code, take))
            remaining -= take
    return plan
