"""Inventory valuation and the costing policy: what the stock is worth at cost, per location and per item; the
check that the inventory subledger equals the inventory account; and the switch between one moving average per
item and one per location, globally or for one item (ADR 0041).

Invariant: switching never changes an item's units or value — per-location rows are seeded from the item's row in
proportion to the units on hand at each location (largest remainder, at the item's average), and folded back into
it by summing — so the subledger still equals the inventory account after any switch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.finance import costing, rules
from ordersmith.finance.costing import CostState
from ordersmith.finance.service._common import insert_ignoring_duplicates, mappings
from ordersmith.finance.service.costing import EVERY_ITEM, load_books
from ordersmith.finance.tables import (
    CostingPolicyRow,
    ItemCostRow,
    LocationCostRow,
    PeriodBalanceRow,
)
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork, use_case

_ITEMS = cast(sa.Table, ItemCostRow.__table__)
_LOCATIONS = cast(sa.Table, LocationCostRow.__table__)
_POLICIES = cast(sa.Table, CostingPolicyRow.__table__)
_BALANCES = cast(sa.Table, PeriodBalanceRow.__table__)
UNASSIGNED = ""  # value kept for an item costed per location that no location holds (no stock when switched)


@dataclass(frozen=True)
class InventoryCheck:
    """The inventory subledger (Σ items' value at cost) against the inventory account, in one currency."""

    currency: str
    subledger: Money
    control: Money
    difference: Money  # control - subledger: zero once every event is posted


@dataclass(frozen=True)
class ValuationRow:
    sku: str
    location: str  # "" — value no location holds
    basis: str  # location: the location's own average | item: the item's average, units as on hand there
    units: int
    value: Money
    average: Money


@dataclass(frozen=True)
class LocationValue:
    location: str
    currency: str
    units: int
    value: Money


@dataclass(frozen=True)
class Valuation:
    rows: list[ValuationRow]
    locations: list[LocationValue]
    reconciliation: list[InventoryCheck]


@dataclass(frozen=True)
class CostingPolicy:
    by_location: bool  # everyone's (`*`)
    items: dict[str, bool]  # items with a choice of their own


@dataclass(frozen=True)
class SwitchedItem:
    sku: str
    by_location: bool
    units: int
    value: Money
    locations: dict[str, CostState]  # the per-location rows seeded (empty when folded back)


@dataclass(frozen=True)
class PolicyChange:
    policy: CostingPolicy
    switched: list[SwitchedItem]


# ---- the subledger against the account ---------------------------------------------------------------------------


@use_case(readonly=True)
def inventory_reconciliation(uow: UnitOfWork) -> list[InventoryCheck]:
    """Per currency, Σ of the items' value at cost against the balance of the inventory account(s) mapped to the
    `inventory` role, in two aggregating reads (items, and per-period balances)."""
    account = rules.resolve(mappings(uow), "role", "inventory")
    held = {
        r.currency: int(r.value)
        for r in uow.execute_core(
            sa.select(_ITEMS.c.currency, sa.func.sum(_ITEMS.c.value_minor).label("value")).group_by(
                _ITEMS.c.currency
            )
        )
    }
    control = {
        r.currency: int(r.net)
        for r in uow.execute_core(
            sa.select(
                _BALANCES.c.currency,
                sa.func.sum(_BALANCES.c.debit_minor - _BALANCES.c.credit_minor).label("net"),
            )
            .where(_BALANCES.c.account_code == account)
            .group_by(_BALANCES.c.currency)
        )
    }
    return [
        InventoryCheck(
            c,
            Money.from_minor(held.get(c, 0), c),
            Money.from_minor(control.get(c, 0), c),
            Money.from_minor(control.get(c, 0) - held.get(c, 0), c),
        )
        for c in sorted((set(held) | set(control)) - {""})
    ]


# ---- valuation ---------------------------------------------------------------------------------------------------


def _item_ids(uow: UnitOfWork, skus: list[str]) -> dict[str, uuid.UUID]:
    try:
        return {f.sku: f.id for f in catalog.selling_facts(uow, skus=skus).values()}
    except NotFound:  # an item gone from the catalog: value the others
        found: dict[str, uuid.UUID] = {}
        for sku in skus:
            try:
                found[sku] = catalog.get_item_ref(uow, sku=sku).id
            except NotFound:
                continue
        return found


def _on_hand(uow: UnitOfWork, skus: list[str]) -> dict[str, dict[str, int]]:
    """Units on hand per SKU and location code."""
    ids = _item_ids(uow, skus)
    levels = inventory.on_hand_by_location(uow, item_ids=list(ids.values()))
    return {sku: levels.get(item_id, {}) for sku, item_id in ids.items()}


@use_case(readonly=True)
def inventory_valuation(uow: UnitOfWork, *, location: str | None = None, sku: str | None = None) -> Valuation:
    """What the stock is worth at cost, per item and location, with totals per location and the subledger
    reconciled to the inventory account. An item costed per location shows its locations' own rows; an item costed
    per item shows its one value spread over the locations holding its units (by units on hand, largest
    remainder, at its average). A report over the costed items (one row each, and their stock levels)."""
    items = sa.select(_ITEMS).order_by(_ITEMS.c.sku)
    located = sa.select(_LOCATIONS).order_by(_LOCATIONS.c.sku, _LOCATIONS.c.location)
    if sku is not None:
        items = items.where(_ITEMS.c.sku == sku)
        located = located.where(_LOCATIONS.c.sku == sku)
    item_rows = uow.execute_core(items).all()
    per_item = [r for r in item_rows if not r.by_location and (r.units or r.value_minor)]
    on_hand = _on_hand(uow, [r.sku for r in per_item]) if per_item else {}
    currency_of = {r.sku: r.currency for r in item_rows}
    rows: list[ValuationRow] = []
    for r in item_rows:
        if r.by_location or not (r.units or r.value_minor):
            continue
        state = CostState(int(r.units), int(r.value_minor), int(r.average_cost_minor))
        spread = costing.seed_locations(state, on_hand.get(r.sku, {}), fallback=UNASSIGNED)
        for code, part in sorted(spread.items()):
            rows.append(_row(r.sku, code, "item", part, r.currency))
    for x in uow.execute_core(located):
        if x.sku in currency_of and (x.units or x.value_minor):
            part = CostState(int(x.units), int(x.value_minor), int(x.average_cost_minor))
            rows.append(_row(x.sku, x.location, "location", part, x.currency))
    if location is not None:
        rows = [row for row in rows if row.location == location]
    rows.sort(key=lambda row: (row.location, row.sku))
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for row in rows:
        units, value = totals.get((row.location, row.value.currency), (0, 0))
        totals[(row.location, row.value.currency)] = (units + row.units, value + row.value.minor)
    return Valuation(
        rows=rows,
        locations=[
            LocationValue(code, c, units, Money.from_minor(value, c))
            for (code, c), (units, value) in sorted(totals.items())
        ],
        reconciliation=inventory_reconciliation(uow),
    )


def _row(sku: str, location: str, basis: str, state: CostState, currency: str) -> ValuationRow:
    return ValuationRow(
        sku,
        location,
        basis,
        state.units,
        Money.from_minor(state.value_minor, currency),
        Money.from_minor(state.average_minor, currency),
    )


# ---- the policy and the switch -----------------------------------------------------------------------------------


@use_case(readonly=True)
def costing_policy(uow: UnitOfWork) -> CostingPolicy:
    """Whether items are costed per location: everyone's choice and the items that made their own."""
    rows = uow.execute_core(sa.select(_POLICIES.c.sku, _POLICIES.c.by_location)).all()
    found = {r.sku: bool(r.by_location) for r in rows}
    return CostingPolicy(found.pop(EVERY_ITEM, False), dict(sorted(found.items())))


@use_case
def set_costing_policy(uow: UnitOfWork, *, by_location: bool | None, sku: str | None = None) -> PolicyChange:
    """Cost every item (`sku` None), or one item, per location (`by_location` true) or per item; for one item,
    `by_location` None drops its own choice (it follows everyone's again). Items whose costing changes are switched
    at once, in this transaction: to per location, each item's units and value are spread over the locations that
    hold its stock (in proportion to their units on hand, largest remainder) at its current average; to per item,
    its locations' rows are summed back into one. Their value, and so the inventory account, does not change.

    The policy for everyone is locked first (posting locks it too before it costs an item for the first time), then
    each item's cost row: a switch and a posting happen one after the other.

    Raises:
        ValidationFailed: `by_location` None for everyone (naming `by_location`).
        NotFound: no item with this SKU.
    """
    if sku is None and by_location is None:
        raise ValidationFailed.on("by_location", "true or false for every item")
    uow.execute_core(sa.select(_POLICIES.c.sku).where(_POLICIES.c.sku == EVERY_ITEM).with_for_update())
    now, actor = uow.now(), uow.actor.label
    if sku is not None:
        canonical = catalog.get_item_ref(uow, sku=sku).sku
        if by_location is None:
            uow.execute_core(sa.delete(_POLICIES).where(_POLICIES.c.sku == canonical))
        else:
            _upsert_policy(uow, canonical, by_location)
        everyone = costing_policy(uow).by_location
        wanted = everyone if by_location is None else by_location
        targets = [canonical]
    else:
        assert by_location is not None
        _upsert_policy(uow, EVERY_ITEM, by_location)
        own = sa.select(_POLICIES.c.sku).where(_POLICIES.c.sku != EVERY_ITEM)
        targets = list(
            uow.execute_core(
                sa.select(_ITEMS.c.sku)
                .where(_ITEMS.c.by_location != by_location, _ITEMS.c.sku.not_in(own))
                .order_by(_ITEMS.c.sku)
            ).scalars()
        )
        wanted = by_location
    switched = [s for s in (_switch(uow, t, wanted) for t in targets) if s is not None]
    uow.audit(
        "finance.costing_policy_set",
        object_type="costing_policy",
        object_id=sku or EVERY_ITEM,
        after={
            "by_location": by_location,
            "switched": [s.sku for s in switched],
            "by": actor,
            "at": str(now),
        },
    )
    return PolicyChange(costing_policy(uow), switched)


def _upsert_policy(uow: UnitOfWork, sku: str, by_location: bool) -> None:
    values = {"sku": sku, "by_location": by_location, "updated_by": uow.actor.label, "updated_at": uow.now()}
    statement = insert_ignoring_duplicates(uow, _POLICIES).values(**values)
    uow.execute_core(
        statement.on_conflict_do_update(
            index_elements=["sku"],
            set_={k: statement.excluded[k] for k in ("by_location", "updated_by", "updated_at")},
        )
    )


def _switch(uow: UnitOfWork, sku: str, by_location: bool) -> SwitchedItem | None:
    """Switch one item's cost rows (locked) to per location or back; None when it has none or is there already."""
    book = load_books(uow, [sku]).get(sku)
    if book is None or book.by_location == by_location:
        return None
    now = uow.now()
    if by_location:
        seeded = costing.seed_locations(book.item, _on_hand(uow, [sku]).get(sku, {}), fallback=UNASSIGNED)
        item = book.item
        if seeded:
            uow.execute_core(
                sa.insert(_LOCATIONS),
                [
                    {
                        "sku": sku,
                        "location": code,
                        "currency": book.currency,
                        "average_cost_minor": state.average_minor,
                        "units": state.units,
                        "value_minor": state.value_minor,
                        "updated_at": now,
                    }
                    for code, state in sorted(seeded.items())
                ],
            )
    else:
        seeded = {}
        # the item's row already holds its locations' sums: one average for them all
        units, value = book.item.units, book.item.value_minor
        item = CostState(units, value, costing.average_of(value, units, book.item.average_minor))
        uow.execute_core(sa.delete(_LOCATIONS).where(_LOCATIONS.c.sku == sku))
    uow.execute_core(
        sa.update(_ITEMS)
        .where(_ITEMS.c.sku == sku)
        .values(by_location=by_location, average_cost_minor=item.average_minor, updated_at=now)
    )
    return SwitchedItem(
        sku, by_location, item.units, Money.from_minor(item.value_minor, book.currency), seeded
    )
