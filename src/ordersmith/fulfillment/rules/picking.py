"""Pick paths: a wave's units grouped into stops (one per bin and SKU), in the location's walk order, each stop
listing the tote each order's units go into (batch picking: one walk for many orders); split among pickers."""

from __future__ import annotations

from dataclasses import dataclass, field

NO_BIN_SEQUENCE = 10**9  # an item with no bin is picked last, where someone must look for it


@dataclass(frozen=True)
class PickItem:
    """Units of one shipment line to pick."""

    shipment: str
    order: str
    tote: str
    sku: str
    name: str
    quantity: int
    bin: str = ""
    walk_sequence: int = NO_BIN_SEQUENCE
    zone: str = ""


@dataclass(frozen=True)
class Drop:
    """Where a stop's units go: so many into this tote, for this order's shipment."""

    tote: str
    order: str
    shipment: str
    quantity: int


@dataclass(frozen=True)
class PickStop:
    sequence: int  # 1, 2, … along the walk
    bin: str
    zone: str
    walk_sequence: int
    sku: str
    name: str
    quantity: int
    drops: list[Drop] = field(default_factory=list)


def pick_path(items: list[PickItem]) -> list[PickStop]:
    """One stop per (bin, SKU), in walk order (then bin code, then SKU: a stable order for equal sequences),
    with each order's units as a drop into its tote (totes in order)."""
    grouped: dict[tuple[int, str, str], list[PickItem]] = {}
    for item in items:
        if item.quantity > 0:
            grouped.setdefault((item.walk_sequence, item.bin, item.sku.upper()), []).append(item)
    stops = []
    for n, (key, group) in enumerate(sorted(grouped.items(), key=lambda kv: kv[0]), start=1):
        walk, bin_code, _ = key
        drops: dict[tuple[str, str, str], int] = {}
        for item in group:
            drops[item.tote, item.order, item.shipment] = drops.get(
                (item.tote, item.order, item.shipment), 0
            ) + (item.quantity)
        stops.append(
            PickStop(
                sequence=n,
                bin=bin_code,
                zone=group[0].zone,
                walk_sequence=walk,
                sku=group[0].sku,
                name=group[0].name,
                quantity=sum(i.quantity for i in group),
                drops=[Drop(t, o, s, q) for (t, o, s), q in sorted(drops.items())],
            )
        )
    return stops


def split_walk(stops: list[PickStop], pickers: int) -> list[list[PickStop]]:
    """Cut the walk into `pickers` consecutive stretches of about equal units (each picker walks one stretch, so
    no two cross); never more stretches than stops, none empty."""
    if pickers < 1:
        raise ValueError("at least one picker")
    pickers = min(pickers, len(stops)) or 1
    total = sum(s.quantity for s in stops)
    parts: list[list[PickStop]] = [[]]
    done = 0
    for index, stop in enumerate(stops):
        left_stops = len(stops) - index
        left_parts = pickers - len(parts)
        target = total * len(parts) / pickers
        if parts[-1] and left_parts > 0 and (done >= target or left_stops <= left_parts):
            parts.append([])
        parts[-1].append(stop)
        done += stop.quantity
    return parts
