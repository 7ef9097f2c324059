"""A shipment's status model as a transition table: what each action may move, and to where.

pending → picking (its wave released) → picked → packed → shipped → delivered; `exception` from a carrier's
tracking (and back to delivered when the parcel arrives after all); `cancelled` from anything not yet shipped. A
shipment confirmed outside the pack station (the order's own shipment record, a store sale carried out) moves
straight to shipped (`confirm`). A cancelled wave gives its unpicked shipments back (`unwave`).
"""

from __future__ import annotations

STATUSES = ("pending", "picking", "picked", "packed", "shipped", "delivered", "exception", "cancelled")
OPEN = frozenset({"pending", "picking", "picked", "packed"})  # not yet left the building

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "start_picking": (frozenset({"pending"}), "picking"),
    "pick": (frozenset({"pending", "picking"}), "picked"),
    "pack": (frozenset({"picked"}), "packed"),
    "ship": (frozenset({"packed"}), "shipped"),
    "confirm": (OPEN, "shipped"),
    "deliver": (frozenset({"shipped", "exception"}), "delivered"),
    "exception": (frozenset({"shipped"}), "exception"),
    "cancel": (OPEN, "cancelled"),
    "unwave": (frozenset({"picking"}), "pending"),
}


class IllegalMove(Exception):
    """The action is not allowed from the shipment's status."""


def next_status(status: str, action: str) -> str:
    """The status `action` moves a shipment in `status` to; IllegalMove names both when it may not."""
    allowed, target = TRANSITIONS[action]
    if status not in allowed:
        raise IllegalMove(f"a {status} shipment cannot {action.replace('_', ' ')}")
    return target
