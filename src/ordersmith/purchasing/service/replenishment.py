"""Replenishment: per item and location, a min/max or reorder-point rule; suggestions count what is on hand,
reserved and already on order (open and draft POs), use recent demand and the vendor's lead time, and round to
the vendor's minimum and packs; one command turns them into draft POs, one per vendor and ship-to location."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.purchasing import rules
from ordersmith.purchasing.service._common import PurchaseOrder, _location_codes, _vendor_by_code
from ordersmith.purchasing.service.orders import NewLine, create_purchase_order
from ordersmith.purchasing.tables import (
    PurchaseOrderLineRow,
    PurchaseOrderRow,
    ReplenishmentRuleRow,
    VendorItemRow,
    VendorRow,
)


@dataclass(frozen=True)
class ReplenishmentRule:
    sku: str
    location: str
    method: str
    min_qty: int
    max_qty: int
    reorder_qty: int
    vendor: str | None


@dataclass(frozen=True)
class Suggestion:
    sku: str
    location: str
    vendor: str | None  # None: no vendor sells this item yet (it cannot be ordered until one does)
    quantity: int  # rounded to the vendor's minimum order and pack size
    unit_cost: Money | None
    on_hand: int
    reserved: int
    on_order: int
    projected: int
    trigger: int
    explanation: str


@use_case
def set_rule(
    uow: UnitOfWork, *, sku: str, location: str, method: str, min_qty: int = 0, max_qty: int = 0,
    reorder_qty: int = 0, vendor: str | None = None,
) -> ReplenishmentRule:  # fmt: skip
    """Set how SKU is replenished at LOCATION (replacing any rule before).

    Raises:
        NotFound: unknown SKU, location or vendor.
        ValidationFailed: an unknown method; min/max with max below min or max of 0; negative figures.
    """
    if method not in rules.METHODS:
        raise ValidationFailed.on("method", f"must be one of {', '.join(rules.METHODS)}")
    for name, value in (("min_qty", min_qty), ("max_qty", max_qty), ("reorder_qty", reorder_qty)):
        if value < 0:
            raise ValidationFailed.on(name, "cannot be negative")
    if method == "min_max" and (max_qty < 1 or max_qty < min_qty):
        raise ValidationFailed.on("max_qty", "must be at least 1 and not below min_qty")
    item = catalog.get_item_ref(uow, sku=sku)
    if not item.keeps_stock:
        raise ValidationFailed.on("sku", f"{item.sku} is a {item.kind} item and keeps no stock")
    loc = inventory.get_location(uow, code=location)
    vendor_row = _vendor_by_code(uow, vendor.upper()) if vendor else None
    row = uow.session.get(ReplenishmentRuleRow, (item.id, loc.id))
    if row is None:
        row = ReplenishmentRuleRow(item_id=item.id, location_id=loc.id)
        uow.session.add(row)
    row.method, row.min_qty, row.max_qty, row.reorder_qty = method, min_qty, max_qty, reorder_qty
    row.vendor_id, row.updated_at = vendor_row.id if vendor_row else None, uow.now()
    uow.session.flush()
    uow.audit("replenishment_rule.set", object_type="item", object_id=str(item.id),
              after={"location": loc.code, "method": method, "min_qty": min_qty, "max_qty": max_qty,
                     "reorder_qty": reorder_qty, "vendor": vendor_row.code if vendor_row else None})  # fmt: skip
    return ReplenishmentRule(item.sku, loc.code, method, min_qty, max_qty, reorder_qty,
                             vendor_row.code if vendor_row else None)  # fmt: skip


@use_case(readonly=True)
def suggestions(
    uow: UnitOfWork, *, location: str | None = None, vendor: str | None = None
) -> list[Suggestion]:
    """What to order now, per item and location with a rule, optionally for one location or vendor."""
    query = sa.select(ReplenishmentRuleRow)
    if location is not None:
        query = query.where(ReplenishmentRuleRow.location_id == inventory.get_location(uow, code=location).id)
    only_vendor = _vendor_by_code(uow, vendor.upper()) if vendor else None
    rule_rows = list(uow.session.scalars(query))
    if not rule_rows:
        return []
    item_ids = sorted({r.item_id for r in rule_rows})
    pairs = [(r.item_id, r.location_id) for r in rule_rows]
    positions = inventory.stock_positions(uow, pairs=pairs)
    shipped = inventory.shipped_since(uow, since=uow.now() - timedelta(days=rules.DEMAND_WINDOW_DAYS),
                                      item_ids=item_ids)  # fmt: skip
    on_order = _on_order(uow, item_ids)
    refs = catalog.item_refs(uow, ids=item_ids)
    defaults = catalog.default_vendors(uow, ids=item_ids)
    sources = _sources(uow, item_ids)
    codes = _location_codes(uow)
    found: list[Suggestion] = []
    for rule in rule_rows:
        here = positions.get((rule.item_id, rule.location_id), inventory.LevelPosition(0, 0, 0))
        coming = on_order.get((rule.item_id, rule.location_id), 0)
        source = _choose(sources.get(rule.item_id, []), rule.vendor_id, defaults.get(rule.item_id))
        if only_vendor is not None and (source is None or source[0].id != only_vendor.id):
            continue
        lead = source[0].lead_time_days if source else 0
        position = rules.Position(here.on_hand, here.reserved, coming, here.safety_stock)
        wanted = rules.need(
            rules.Rule(rule.method, rule.min_qty, rule.max_qty, rule.reorder_qty), position,
            demand_per_day=rules.daily_demand(shipped.get((rule.item_id, rule.location_id), 0)),
            lead_time_days=lead,
        )  # fmt: skip
        if wanted is None:
            continue
        quantity = wanted.quantity
        if source is not None:
            quantity = rules.order_quantity(
                quantity, minimum=source[1].min_order_qty, pack_size=source[1].pack_size
            )
        found.append(Suggestion(
            sku=refs[rule.item_id].sku, location=codes[rule.location_id], vendor=source[0].code if source else None,
            quantity=quantity, unit_cost=Money.from_minor(source[1].cost_minor, source[0].currency) if source else None,
            on_hand=here.on_hand, reserved=here.reserved, on_order=coming, projected=position.projected,
            trigger=wanted.trigger,
            explanation=wanted.explanation + ("" if source else "; no vendor sells this item")))  # fmt: skip
    return sorted(found, key=lambda s: (s.vendor or "~", s.location, s.sku))


@dataclass(frozen=True)
class ChosenSuggestion:
    """One suggestion a buyer picked (by SKU and location), with the units to order when they changed them."""

    sku: str
    location: str
    quantity: int | None = None


MAX_ORDER_QUANTITY = 1_000_000


@use_case
def order_suggestions(
    uow: UnitOfWork,
    *,
    location: str | None = None,
    vendor: str | None = None,
    chosen: Sequence[ChosenSuggestion] | None = None,
) -> list[PurchaseOrder]:
    """Turn today's suggestions — all of them, or the `chosen` ones with the buyer's quantities — into draft POs,
    one per vendor and ship-to location; items no vendor sells are left out (they stay in the suggestions).
    Running it twice orders nothing twice: drafts count as on order.

    Raises:
        ValidationFailed: a chosen SKU and location that is not a suggestion now (or that no vendor sells), or a
            quantity below 1 or above a million — naming `lines.N`; nothing is made.
    """
    current = {
        (s.sku.upper(), s.location.upper()): s for s in suggestions(uow, location=location, vendor=vendor)
    }
    picked: list[tuple[Suggestion, int]] = []
    if chosen is None:
        picked = [(s, s.quantity) for s in current.values() if s.vendor is not None and s.quantity > 0]
    seen: set[tuple[str, str]] = set()
    for n, choice in enumerate(chosen or ()):
        key = (choice.sku.upper(), choice.location.upper())
        if key in seen:
            raise ValidationFailed.on(f"lines.{n}", f"{choice.sku} at {choice.location} is chosen twice")
        seen.add(key)
        found = current.get(key)
        if found is None or found.vendor is None:
            why = "is not suggested now" if found is None else "has no vendor to order from"
            raise ValidationFailed.on(f"lines.{n}", f"{choice.sku} at {choice.location} {why}")
        units = found.quantity if choice.quantity is None else choice.quantity
        if not 1 <= units <= MAX_ORDER_QUANTITY:
            raise ValidationFailed.on(f"lines.{n}.quantity", f"1 to {MAX_ORDER_QUANTITY:,} units")
        picked.append((found, units))
    grouped: dict[tuple[str, str], list[NewLine]] = defaultdict(list)
    for s, units in picked:
        assert s.vendor is not None
        grouped[(s.vendor, s.location)].append(NewLine(sku=s.sku, quantity=units))
    return [
        create_purchase_order(
            uow, vendor=v, location=loc, lines=lines, notes="from replenishment suggestions"
        )
        for (v, loc), lines in sorted(grouped.items())
    ]


@use_case(readonly=True)
def on_order(uow: UnitOfWork, *, sku: str) -> dict[str, int]:
    """Units of the item still to arrive from draft and open POs, by ship-to location code (those with none are
    absent)."""
    item = catalog.get_item_ref(uow, sku=sku)
    codes = _location_codes(uow)
    return {
        codes[location_id]: units for (_, location_id), units in _on_order(uow, [item.id]).items() if units
    }


def _on_order(uow: UnitOfWork, item_ids: list[uuid.UUID]) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """Units still to arrive per (item, ship-to location) from draft and open POs."""
    line = PurchaseOrderLineRow
    open_units = sa.func.sum(sa.case((line.ordered > line.received + line.cancelled,
                                      line.ordered - line.received - line.cancelled), else_=0))  # fmt: skip
    rows = uow.session.execute(
        sa.select(PurchaseOrderLineRow.item_id, PurchaseOrderRow.location_id, open_units)
        .join(PurchaseOrderRow, PurchaseOrderRow.id == PurchaseOrderLineRow.purchase_order_id)
        .where(PurchaseOrderRow.status.in_(sorted(rules.OPEN_STATUSES | {"draft"})),
               PurchaseOrderLineRow.item_id.in_(item_ids))
        .group_by(PurchaseOrderLineRow.item_id, PurchaseOrderRow.location_id)
    ).all()  # fmt: skip
    return {(item, loc): int(units) for item, loc, units in rows}


def _sources(
    uow: UnitOfWork, item_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[VendorRow, VendorItemRow]]]:
    rows = uow.session.execute(
        sa.select(VendorRow, VendorItemRow).join(VendorItemRow, VendorItemRow.vendor_id == VendorRow.id)
        .where(VendorItemRow.item_id.in_(item_ids), VendorRow.active.is_(True))
    ).all()  # fmt: skip
    found: dict[uuid.UUID, list[tuple[VendorRow, VendorItemRow]]] = defaultdict(list)
    for vendor, listed in rows:
        found[listed.item_id].append((vendor, listed))
    return found


def _choose(
    offers: list[tuple[VendorRow, VendorItemRow]], rule_vendor: uuid.UUID | None, default: uuid.UUID | None
) -> tuple[VendorRow, VendorItemRow] | None:
    """The rule's vendor, else the item's default vendor, else the cheapest offer (then the shortest lead time)."""
    for wanted in (rule_vendor, default):
        chosen = next((o for o in offers if o[0].id == wanted), None)
        if wanted is not None and chosen is not None:
            return chosen
    return min(offers, key=lambda o: (o[1].cost_minor, o[0].lead_time_days, o[0].code), default=None)
