"""Inventory costing (pure): the moving-average cost book of items and of items at locations, the allocation of a
landed-cost charge over receipt lines, the split of a charge between units still in stock and units already sold,
and the landed-cost posting rule (ADR 0041).

Invariant: a cost row's `value_minor` moves by exactly the amount the ledger posts to inventory for it (receipts at
their cost, issues at what `issue` answers, landed costs at their stock share), so Σ value over the rows — the
inventory subledger — equals the inventory account. The average is derived from it (rounded half up to a minor
unit); an issue that empties a row takes all of its value, so no rounding is left behind on zero units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ordersmith.finance import rules

KINDS = ("freight", "duty", "brokerage", "other")
BASES = ("value", "weight", "units")


def divide(numerator: int, denominator: int) -> int:
    """`numerator / denominator` rounded half up (away from zero on a tie), for a positive denominator."""
    assert denominator > 0
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` minor units over `weights` in proportion, by largest remainder: each part is the floor of its
    exact share, and the units left over go one each to the parts with the largest remainders, the earlier part
    first on a tie. The parts always add up to `amount`; a weight of zero gets nothing.

    Raises:
        ValueError: a negative amount or weight, or weights that sum to zero.
    """
    if amount < 0 or any(w < 0 for w in weights):
        raise ValueError("amounts and weights are never negative")
    total = sum(weights)
    if total <= 0:
        raise ValueError("the weights sum to zero")
    parts = [amount * w // total for w in weights]
    remainders = [amount * w % total for w in weights]
    left = amount - sum(parts)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        parts[i] += 1
    assert sum(parts) == amount, "an allocation adds back to the whole"
    return parts


def split_charge(amount: int, received: int, in_stock: int) -> tuple[int, int]:
    """The part of a charge on `received` units that stays in inventory and the part that goes to cost of goods
    sold: the units still costed in (`in_stock`, at most `received`, at least 0) are taken to be the received
    ones, the rest were sold. Returns (inventory, cogs), adding up to `amount`."""
    assert amount >= 0
    assert received > 0
    kept = min(max(in_stock, 0), received)
    inventory = divide(amount * kept, received)
    return inventory, amount - inventory


@dataclass(frozen=True)
class CostState:
    """Units costed in, their value at cost and the average cost a unit leaves at (minor units)."""

    units: int = 0
    value_minor: int = 0
    average_minor: int = 0


def average_of(value_minor: int, units: int, otherwise: int) -> int:
    """Value per unit (rounded half up, never below zero), or `otherwise` when there are no units."""
    if units <= 0:
        return otherwise
    return max(divide(value_minor, units), 0)


def receive(state: CostState, units: int, value_minor: int) -> CostState:
    """`units` come in worth `value_minor` (a receipt at its cost, a return or a found unit at the average). The
    average is the value over the units after; stock below zero (more issued than was costed in) takes the
    arriving units' own cost instead."""
    assert units > 0
    assert value_minor >= 0
    after_units, after_value = state.units + units, state.value_minor + value_minor
    if state.units < 0:
        average = divide(value_minor, units)
    else:
        average = average_of(after_value, after_units, state.average_minor)
    return CostState(after_units, after_value, average)


def issue(state: CostState, units: int) -> tuple[int, CostState]:
    """`units` leave (shipped, lost, transferred out): their cost and the state after. At the average; the issue
    that takes the last units takes all the value left (no rounding stays behind on zero units); units beyond
    those costed in leave at the last average. Never a negative cost."""
    assert units > 0
    held = max(state.value_minor, 0)
    if state.units <= 0:
        cost = units * state.average_minor
    elif units >= state.units:
        cost = held + (units - state.units) * state.average_minor
    else:
        cost = min(units * state.average_minor, held)
    return cost, CostState(state.units - units, state.value_minor - cost, state.average_minor)


def capitalise(state: CostState, value_minor: int) -> CostState:
    """A landed cost's stock share added to the units in stock: the value rises, the average with it."""
    after = state.value_minor + value_minor
    return CostState(state.units, after, average_of(after, state.units, state.average_minor))


def seed_locations(item: CostState, on_hand: Mapping[str, int], fallback: str = "") -> dict[str, CostState]:
    """An item's units and value spread over the locations holding its stock, in proportion to their units on hand
    (largest remainder, so they add back exactly), each at the item's average: the per-location rows of an item
    switched to per-location cost, or its value per location in a valuation. With no stock anywhere, the
    `fallback` location holds whatever is left (nothing when nothing is)."""
    places = sorted(code for code, units in on_hand.items() if units > 0)
    if not places:
        return {fallback: item} if item.units or item.value_minor else {}
    weights = [on_hand[code] for code in places]
    units = _split_signed(item.units, weights)
    values = _split_signed(item.value_minor, weights)
    return {
        code: CostState(u, v, item.average_minor) for code, u, v in zip(places, units, values, strict=True)
    }


def _split_signed(amount: int, weights: Sequence[int]) -> list[int]:
    parts = allocate(abs(amount), weights)
    return [-p for p in parts] if amount < 0 else parts


@dataclass
class ItemBook:
    """One item's costing as read (locked) for posting: its row, and its locations' rows when it is costed per
    location. `dirty` (the item's row) and `touched` (its locations) say what changed, so only those are written
    back."""

    sku: str
    currency: str
    by_location: bool
    item: CostState
    locations: dict[str, CostState] = field(default_factory=dict)
    new: bool = False
    dirty: bool = False
    touched: set[str] = field(default_factory=set)

    def state(self, location: str | None) -> CostState:
        """The row that costs units here: the item's, or (per location) the location's — `""` when the event names
        no location (value no location holds), a new location starting at the item's average."""
        if not self.by_location:
            return self.item
        return self.locations.get(location or "", CostState(0, 0, self.item.average_minor))

    def _set(self, location: str | None, after: CostState) -> None:
        if not self.by_location:
            self.item = after
            self.dirty = True
            return
        before = self.state(location)
        self.locations[location or ""] = after
        units = self.item.units + after.units - before.units
        value = self.item.value_minor + after.value_minor - before.value_minor
        self.item = CostState(units, value, average_of(value, units, self.item.average_minor))
        self.dirty = True
        self.touched.add(location or "")

    def unit_cost(self, location: str | None) -> int:
        """What a unit leaves or returns at, here: the location's average, or the item's."""
        return self.state(location).average_minor

    def receive(self, location: str | None, units: int, value_minor: int) -> None:
        self._set(location, receive(self.state(location), units, value_minor))

    def restock(self, location: str | None, units: int) -> int:
        """Units back in at the average (a restocked return, a found unit): their value."""
        value = units * self.unit_cost(location)
        self.receive(location, units, value)
        return value

    def issue(self, location: str | None, units: int) -> int:
        """Units out at cost: their cost."""
        cost, after = issue(self.state(location), units)
        self._set(location, after)
        return cost

    def transfer(self, source: str, target: str, units: int) -> int:
        """Units moved between locations at the source's cost: the value moved (0 for an item costed per item,
        whose one average serves every location)."""
        if not self.by_location or source == target:
            return 0
        cost = self.issue(source, units)
        self.receive(target, units, cost)
        return cost

    def capitalise(self, location: str | None, received: int, amount: int) -> tuple[int, int, int, int]:
        """A landed-cost share on `received` units here: (to inventory, to cost of goods sold, average before,
        average after)."""
        before = self.state(location)
        inventory, cogs = split_charge(amount, received, before.units)
        after = capitalise(before, inventory) if inventory else before
        if inventory:
            self._set(location, after)
        return inventory, cogs, before.average_minor, after.average_minor


@dataclass(frozen=True)
class ChargeLine:
    """A receipt line's allocated share of a landed-cost charge, as the charge's event carries it."""

    line: int
    sku: str
    location: str
    quantity: int
    allocated_minor: int


@dataclass(frozen=True)
class ChargeSplit:
    line: int
    inventory_minor: int
    cogs_minor: int
    average_before_minor: int
    average_after_minor: int


def apply_charge(books: Mapping[str, ItemBook], lines: Sequence[ChargeLine]) -> list[ChargeSplit]:
    """Capitalise a charge's lines onto their items' costs: grouped per item (per item and location for items
    costed per location), each group's share splits between the units still in stock and those sold
    (`split_charge`), and each group's inventory part goes back to its lines by largest remainder. An item with no
    costing (never received at a cost) has nothing in stock: its share is all cost of goods sold."""
    groups: dict[tuple[str, str], list[ChargeLine]] = {}
    for line in lines:
        book = books.get(line.sku)
        key = (line.sku, line.location if book is not None and book.by_location else "")
        groups.setdefault(key, []).append(line)
    splits: dict[int, ChargeSplit] = {}
    for (sku, location), members in groups.items():
        amount = sum(x.allocated_minor for x in members)
        received = sum(x.quantity for x in members)
        book = books.get(sku)
        if book is None or amount == 0:
            inventory, before, after = 0, 0, 0
        else:
            inventory, _cogs, before, after = book.capitalise(location or None, received, amount)
        parts = allocate(inventory, [x.allocated_minor for x in members]) if amount else [0] * len(members)
        for x, part in zip(members, parts, strict=True):
            splits[x.line] = ChargeSplit(x.line, part, x.allocated_minor - part, before, after)
    return [splits[x.line] for x in lines]


def post_landed_cost(
    payload: Mapping[str, Any], facts: Mapping[str, Any], mappings: rules.Mappings
) -> rules.Posting | None:
    """A landed-cost charge against PO receipts: Dr inventory for the share on units still in stock and Dr cost
    of goods sold for the share on units already sold / Cr landed costs accrued (role `landed_cost`), which the
    carrier's or broker's bill clears (Dr landed costs accrued / Cr AP).

    facts: currency, inventory_minor, cogs_minor (from `apply_charge`).
    """
    inventory, cogs = int(facts["inventory_minor"]), int(facts["cogs_minor"])
    if inventory + cogs == 0:
        return None
    lines = (
        rules.Line(rules.resolve(mappings, "role", "inventory"), debit_minor=inventory),
        rules.Line(rules.resolve(mappings, "role", "cogs"), debit_minor=cogs),
        rules.Line(rules.resolve(mappings, "role", "landed_cost"), credit_minor=inventory + cogs),
    )
    kept = tuple(line for line in lines if line.debit_minor or line.credit_minor)
    number = str(payload.get("number", ""))
    kind = str(payload.get("kind", ""))
    return rules.Posting(
        "landed_cost.recorded",
        str(facts["currency"]),
        kept,
        f"{kind} {number} on {', '.join(payload.get('purchase_orders', []))}".strip(),
        number,
    )
