"""The inventory costing subledger as the posting subscriber moves it: each event's cost figures worked out on the
items' cost rows (read locked, in SKU order) and written back in the same savepoint as the entry they feed, so an
event that posts once moves cost once (ADR 0026, ADR 0041).

Invariant: every amount posted to the inventory account for an item moves that item's `value_minor` by the same
amount (and its location's, for an item costed per location, where the item row holds the locations' sums), so
Σ `finance_item_costs.value_minor` equals the inventory account (`inventory_reconciliation`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.finance import costing
from ordersmith.finance.costing import CostState, ItemBook
from ordersmith.finance.service._common import insert_ignoring_duplicates
from ordersmith.finance.tables import (
    CostingPolicyRow,
    CostTransferRow,
    ItemCostRow,
    LandedCostLineRow,
    LandedCostRow,
    LocationCostRow,
)
from ordersmith.kernel.events import Event
from ordersmith.platform.db import UnitOfWork

_ITEMS = cast(sa.Table, ItemCostRow.__table__)
_LOCATIONS = cast(sa.Table, LocationCostRow.__table__)
_POLICIES = cast(sa.Table, CostingPolicyRow.__table__)
_TRANSFERS = cast(sa.Table, CostTransferRow.__table__)
_CHARGES = cast(sa.Table, LandedCostRow.__table__)
_CHARGE_LINES = cast(sa.Table, LandedCostLineRow.__table__)
BOOKS = "_books"  # the facts' key of the cost books an event moved (written back by `save`)
EVERY_ITEM = "*"


def load_books(uow: UnitOfWork, skus: Iterable[str]) -> dict[str, ItemBook]:
    """The cost books of these SKUs that have one, their rows locked (PostgreSQL) in SKU order; an item costed per
    location comes with its locations' rows."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    rows = uow.execute_core(
        sa.select(_ITEMS).where(_ITEMS.c.sku.in_(wanted)).order_by(_ITEMS.c.sku).with_for_update()
    ).all()
    books = {
        r.sku: ItemBook(
            r.sku,
            r.currency,
            bool(r.by_location),
            CostState(int(r.units), int(r.value_minor), int(r.average_cost_minor)),
        )
        for r in rows
    }
    by_location = sorted(sku for sku, book in books.items() if book.by_location)
    if by_location:
        query = (
            sa.select(_LOCATIONS)
            .where(_LOCATIONS.c.sku.in_(by_location))
            .order_by(_LOCATIONS.c.sku, _LOCATIONS.c.location)
            .with_for_update()
        )
        for r in uow.execute_core(query):
            books[r.sku].locations[r.location] = CostState(
                int(r.units), int(r.value_minor), int(r.average_cost_minor)
            )
    return books


def costed_by_location(uow: UnitOfWork, sku: str, *, lock: bool) -> bool:
    """Whether an item without costing yet is to be costed per location: its own policy, else everyone's. `lock`
    takes the policy for everyone (`*`) in share mode first, so that a switch of policy (which takes it in update
    mode) and an item's first costing happen one after the other."""
    query = sa.select(_POLICIES.c.sku, _POLICIES.c.by_location).where(_POLICIES.c.sku.in_([EVERY_ITEM, sku]))
    if lock:
        query = query.with_for_update(read=True)
    found = {r.sku: bool(r.by_location) for r in uow.execute_core(query.order_by(_POLICIES.c.sku))}
    return found.get(sku, found.get(EVERY_ITEM, False))


def book_for(uow: UnitOfWork, books: dict[str, ItemBook], sku: str, currency: str) -> ItemBook:
    """The item's book, or a new one (its first receipt at a cost), costed as its policy says."""
    book = books.get(sku)
    if book is None:
        book = ItemBook(sku, currency, costed_by_location(uow, sku, lock=True), CostState(), new=True)
        books[sku] = book
    return book


def save(uow: UnitOfWork, books: Mapping[str, ItemBook]) -> None:
    """Write back what the books changed: item rows (inserted for a first receipt) and location rows (upserted)."""
    now = uow.now()
    for sku in sorted(books):
        book = books[sku]
        if not book.dirty:
            continue
        figures = {
            "currency": book.currency,
            "average_cost_minor": book.item.average_minor,
            "units": book.item.units,
            "value_minor": book.item.value_minor,
            "updated_at": now,
        }
        if book.new:
            uow.execute_core(sa.insert(_ITEMS).values(sku=sku, by_location=book.by_location, **figures))
            book.new = False
        else:
            uow.execute_core(sa.update(_ITEMS).where(_ITEMS.c.sku == sku).values(**figures))
        for location in sorted(book.touched):
            _upsert_location(uow, sku, location, book.currency, book.locations[location])
        book.dirty = False
        book.touched.clear()


def _upsert_location(uow: UnitOfWork, sku: str, location: str, currency: str, state: CostState) -> None:
    values = {
        "sku": sku,
        "location": location,
        "currency": currency,
        "average_cost_minor": state.average_minor,
        "units": state.units,
        "value_minor": state.value_minor,
        "updated_at": uow.now(),
    }
    statement = insert_ignoring_duplicates(uow, _LOCATIONS).values(**values)
    uow.execute_core(
        statement.on_conflict_do_update(
            index_elements=["sku", "location"],
            set_={
                k: statement.excluded[k] for k in ("average_cost_minor", "units", "value_minor", "updated_at")
            },
        )
    )


# ---- each event's cost figures -----------------------------------------------------------------------------------


def receipt_costs(uow: UnitOfWork, event: Event, facts: dict[str, Any]) -> None:
    """`po.received`: each line's units come in at the PO line's cost, at the receiving location."""
    skus: Mapping[int, str] = facts["skus"]
    lines = [(int(x["line"]), int(x["quantity"])) for x in event.payload.get("lines", [])]
    books = load_books(uow, {skus[n] for n, _ in lines})
    location = str(event.payload.get("location") or "")
    for n, quantity in lines:
        book = book_for(uow, books, skus[n], str(facts["currency"]))
        book.receive(location, quantity, quantity * int(facts["unit_cost_minor"][n]))
    facts[BOOKS] = books


def _shipped_where(
    event: Event, n: int, units: int, fallback: Mapping[int, Mapping[str, int]]
) -> dict[str, int]:
    """Location -> units of line `n` in this shipment: as the event says, else (an event from before shipments
    named their locations) from the line's shipped allocation parts, the latest first."""
    named = (event.payload.get("locations") or {}).get(str(n)) or (event.payload.get("locations") or {}).get(
        n
    )
    if named:
        return {str(code): int(q) for code, q in named.items()}
    parts = dict(fallback.get(n, {}))
    where: dict[str, int] = {}
    left = units
    for code in sorted(parts, key=lambda c: -parts[c]):
        take = min(parts[code], left)
        if take > 0:
            where[code] = take
            left -= take
    if left > 0:
        where[""] = where.get("", 0) + left
    return where


def shipment_costs(
    uow: UnitOfWork, event: Event, facts: dict[str, Any], fallback: Mapping[int, Mapping[str, int]]
) -> None:
    """A shipment (`lines` facts): each shipped line's units leave at their location's (or item's) average; the
    line's `cost_minor` is what they took out."""
    by_line = facts["lines"]
    shipped = {int(n): int(q) for n, q in (event.payload.get("lines") or {}).items() if int(q) > 0}
    books = load_books(uow, {str(by_line[n]["sku"]) for n in shipped if n in by_line})
    for n, units in sorted(shipped.items()):
        if n not in by_line:
            continue
        book = books.get(str(by_line[n]["sku"]))
        cost = 0
        if book is not None:
            for location, part in sorted(_shipped_where(event, n, units, fallback).items()):
                cost += book.issue(location or None, part)
        # `costed`: the item has a cost book (without one its cost is unknown, not zero: no line cost is kept)
        by_line[n] = {**by_line[n], "cost_minor": cost, "costed": book is not None}
    facts[BOOKS] = books


def order_shipped_costs(
    uow: UnitOfWork, facts: dict[str, Any], where: Mapping[str, Mapping[str, int]]
) -> None:
    """A whole order shipped, from an event older than shipments' shares (`shipped_units` per SKU): its units
    leave at cost, from where its allocation parts say."""
    units_of: Mapping[str, int] = facts.get("shipped_units", {})
    books = load_books(uow, units_of)
    total = 0
    for sku, units in sorted(units_of.items()):
        book = books.get(sku)
        if book is None:
            continue
        places = dict(where.get(sku, {})) or {"": units}
        for location, part in sorted(places.items()):
            total += book.issue(location or None, part)
    facts["cost_minor"] = total
    facts[BOOKS] = books


def return_costs(uow: UnitOfWork, event: Event, facts: dict[str, Any]) -> None:
    """`return.received`: restocked units come back at the average where they are received (the unit cost the
    rule values them at); scrapped units do not come back."""
    lines = event.payload.get("lines", [])
    skus = {str(line.get("sku", "")) for line in lines} - {""}
    books = load_books(uow, skus)
    location = str(event.payload.get("location") or "") or None
    unit_costs = {sku: book.unit_cost(location) for sku, book in books.items()}
    for line in lines:
        sku, quantity = str(line.get("sku", "")), int(line.get("quantity", 0))
        if line.get("disposition") == "restock" and quantity > 0 and sku in books:
            books[sku].receive(location, quantity, quantity * unit_costs[sku])
    facts["unit_cost_minor"] = unit_costs
    facts[BOOKS] = books


def stock_costs(uow: UnitOfWork, event: Event) -> dict[str, Any]:
    """`stock.changed`: a loss leaves at cost, a gain comes in at the average (at the location named); a transfer
    moves its units' cost from one location to the other (an item costed per location)."""
    sku = str(event.payload["sku"])
    books = load_books(uow, [sku])
    book = books.get(sku)
    if book is None:
        return {"currency": "", "unit_cost_minor": 0, BOOKS: books}
    transfer = event.payload.get("transfer")
    if event.payload.get("cause") == "transfer" and transfer:
        value = book.transfer(str(transfer["from"]), str(transfer["to"]), int(transfer["quantity"]))
        return {"currency": book.currency, "transfer_value_minor": value, BOOKS: books}
    location = str(event.payload.get("location") or "") or None
    delta = int(event.payload.get("on_hand_delta") or 0)
    unit_cost = book.unit_cost(location)
    if delta < 0:
        value = book.issue(location, -delta)
    elif delta > 0:
        value = delta * unit_cost
        book.receive(location, delta, value)
    else:
        value = 0
    return {"currency": book.currency, "unit_cost_minor": unit_cost, "value_minor": value, BOOKS: books}


def charge_costs(uow: UnitOfWork, event: Event) -> dict[str, Any]:
    """`landed_cost.recorded`: the charge's lines capitalised onto their items (`costing.apply_charge`): what went
    to inventory and what to cost of goods sold."""
    lines = [
        costing.ChargeLine(
            int(x["line"]), str(x["sku"]), str(x["location"]), int(x["quantity"]), int(x["allocated_minor"])
        )
        for x in event.payload.get("lines", [])
    ]
    books = load_books(uow, {x.sku for x in lines})
    splits = costing.apply_charge(books, lines)
    return {
        "currency": str(event.payload["currency"]),
        "inventory_minor": sum(s.inventory_minor for s in splits),
        "cogs_minor": sum(s.cogs_minor for s in splits),
        "_splits": splits,
        BOOKS: books,
    }


def apply(uow: UnitOfWork, event: Event, facts: Mapping[str, Any]) -> None:
    """Write back an event's cost movements, in the savepoint (or batch) of the entry they feed; a landed-cost
    charge's lines also keep how they were split."""
    books: Mapping[str, ItemBook] | None = facts.get(BOOKS)
    if books is not None:
        save(uow, books)
    if event.type == "landed_cost.recorded":
        charge = uow.execute_core(
            sa.select(_CHARGES.c.id).where(_CHARGES.c.number == str(event.payload.get("number", "")))
        ).first()
        if charge is not None:
            for split in facts.get("_splits", []):
                uow.execute_core(
                    sa.update(_CHARGE_LINES)
                    .where(_CHARGE_LINES.c.charge_id == charge.id, _CHARGE_LINES.c.line_no == split.line)
                    .values(
                        inventory_minor=split.inventory_minor,
                        cogs_minor=split.cogs_minor,
                        average_before_minor=split.average_before_minor,
                        average_after_minor=split.average_after_minor,
                    )
                )


def apply_unposted(uow: UnitOfWork, event: Event, facts: Mapping[str, Any]) -> bool:
    """An event that posts no entry but moves cost — a transfer between an item's locations — moves it once:
    its record in `finance_cost_transfers` (keyed by the event) is the mark. Returns whether this call moved it."""
    transfer = event.payload.get("transfer") if event.type == "stock.changed" else None
    if not transfer or "transfer_value_minor" not in facts:
        return False
    claimed = uow.execute_core(
        insert_ignoring_duplicates(uow, _TRANSFERS)
        .values(
            event_id=event.id,
            sku=str(event.payload["sku"]),
            from_location=str(transfer["from"]),
            to_location=str(transfer["to"]),
            units=int(transfer["quantity"]),
            value_minor=int(facts["transfer_value_minor"]),
            at=uow.now(),
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(_TRANSFERS.c.event_id)
    ).first()
    if claimed is None:
        return False
    apply(uow, event, facts)
    return True


def transfer_recorded(uow: UnitOfWork, event_id: uuid.UUID) -> bool:
    query = sa.select(_TRANSFERS.c.event_id).where(_TRANSFERS.c.event_id == event_id)
    return uow.execute_core(query).first() is not None
