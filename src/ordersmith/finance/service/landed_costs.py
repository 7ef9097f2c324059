"""Landed costs: freight, duty, brokerage and other charges entered against PO receipts (one receipt, or the
several receipts of one shipment), allocated over the receipts' lines by value, weight or units when entered, and
posted once by `landed_cost.recorded` (ADR 0041).

Invariant: a charge's lines add up to its amount exactly (`costing.allocate`, largest remainder); the charge and
its event are written in one transaction, and the posting subscriber capitalises it onto the items' costs exactly
once (the journal's `(source_event_id, rule)` is unique).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.catalog import rules as catalog_rules
from ordersmith.catalog import service as catalog
from ordersmith.finance import costing
from ordersmith.finance.tables import JournalEntryRow, LandedCostLineRow, LandedCostRow
from ordersmith.kernel.errors import FieldError, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page, check_limit, decode_cursor, encode_cursor
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number
from ordersmith.purchasing import service as purchasing

_CHARGES = cast(sa.Table, LandedCostRow.__table__)
_LINES = cast(sa.Table, LandedCostLineRow.__table__)
_ENTRIES = cast(sa.Table, JournalEntryRow.__table__)
SERIES = "landed_cost"
MAX_RECEIPTS = 50
MAX_AMOUNT_MINOR = 10**12
_BIGINT = 2**63 - 1


@dataclass(frozen=True)
class LandedCostLine:
    line: int
    receipt_id: uuid.UUID
    purchase_order: str
    po_line: int
    sku: str
    location: str
    quantity: int
    basis_amount: int  # the line's value at the PO's cost (minor units), weight (g) or units
    allocated: Money
    inventory: Money | None  # once posted: the share on units still in stock
    cogs: Money | None  # once posted: the share on units already sold
    average_before: Money | None
    average_after: Money | None


@dataclass(frozen=True)
class LandedCost:
    id: uuid.UUID
    number: str
    kind: str
    basis: str
    amount: Money
    reference: str
    memo: str
    purchase_orders: list[str]
    receipts: list[uuid.UUID]
    posted: bool
    entry_id: uuid.UUID | None
    inventory: Money | None  # Σ of the lines' shares, once posted
    cogs: Money | None
    created_by: str
    created_at: datetime
    lines: list[LandedCostLine]


def _text(value: str, field: str, length: int, errors: list[FieldError]) -> str:
    text = value.strip()
    if len(text) > length or "\x00" in text:
        errors.append(FieldError(field, f"at most {length} characters, no NUL"))
    return text


def _receipts(
    uow: UnitOfWork, receipts: Sequence[uuid.UUID], purchase_order: str | None, errors: list[FieldError]
) -> list[purchasing.CostedReceipt]:
    """The receipts the charge is against: those named, or every receipt of `purchase_order` so far."""
    if bool(receipts) == (purchase_order is not None):
        errors.append(
            FieldError("receipts", "name the receipts, or the purchase order whose receipts to charge")
        )
        return []
    if purchase_order is not None:
        try:
            found = purchasing.receipts_of(uow, number=purchase_order)
        except NotFound:
            errors.append(FieldError("purchase_order", f"no purchase order {purchase_order!r}"))
            return []
        if not found:
            errors.append(FieldError("purchase_order", f"nothing was received on {purchase_order} yet"))
            return []
        receipts = [r.id for r in found]
    if len(receipts) > MAX_RECEIPTS:
        errors.append(FieldError("receipts", f"at most {MAX_RECEIPTS} receipts a charge"))
        return []
    costed = purchasing.costed_receipts(uow, ids=list(receipts))
    seen: set[uuid.UUID] = set()
    for n, receipt_id in enumerate(receipts):
        if receipt_id in seen:
            errors.append(FieldError(f"receipts.{n}", "named twice"))
        elif receipt_id not in costed:
            errors.append(FieldError(f"receipts.{n}", f"no receipt {receipt_id}"))
        seen.add(receipt_id)
    return [costed[r] for r in dict.fromkeys(receipts) if r in costed]


def _basis_amounts(
    uow: UnitOfWork, basis: str, lines: list[tuple[purchasing.CostedReceipt, purchasing.CostedReceiptLine]]
) -> list[int]:
    """Each receipt line's share key: its value at the PO's cost, its weight (grams) or its units.

    Raises:
        ValidationFailed: by weight, an item without a weight; a basis that sums to zero (naming `basis`).
    """
    if basis == "value":
        amounts = [line.quantity * line.unit_cost_minor for _, line in lines]
    elif basis == "weight":
        facts = catalog.selling_facts(uow, skus=sorted({line.sku for _, line in lines}))
        weights = {key: f.weight_g for key, f in facts.items()}
        missing = sorted({line.sku for _, line in lines if weights[catalog_rules.sku_key(line.sku)] <= 0})
        if missing:
            verb = "has" if len(missing) == 1 else "have"
            raise ValidationFailed.on(
                "basis",
                f"{', '.join(missing)} {verb} no weight: give the item its weight, or allocate by value or units",
            )
        amounts = [line.quantity * weights[catalog_rules.sku_key(line.sku)] for _, line in lines]
    else:
        amounts = [line.quantity for _, line in lines]
    if sum(amounts) <= 0:
        raise ValidationFailed.on("basis", f"the receipts' lines have no {basis} to allocate by")
    if (
        max(amounts) > _BIGINT
    ):  # a line worth more than the database's integers hold: its receipt never posted
        raise ValidationFailed.on("basis", f"a line's {basis} is too large to allocate by: allocate by units")
    return amounts


@use_case
def record_landed_cost(
    uow: UnitOfWork,
    *,
    kind: str,
    basis: str,
    amount: Money,
    receipts: Sequence[uuid.UUID] = (),
    purchase_order: str | None = None,
    reference: str = "",
    memo: str = "",
) -> LandedCost:
    """Enter a landed-cost charge against PO receipts (named, or every receipt of `purchase_order` so far) and
    allocate it over their lines by `basis` (value at the PO's cost, weight, or units), exactly: the parts add up
    to the charge. `landed_cost.recorded` is posted by the ledger's subscriber: Dr inventory for the share on units
    still in stock (their moving-average cost rises) and Dr cost of goods sold for the share on units already sold
    / Cr landed costs accrued.

    Raises:
        ValidationFailed: an unknown kind or basis, an amount not above zero, in another currency than the
            receipts' PO, too large; no receipts, unknown or repeated ones; by weight, an item without one (each
            naming its field). Nothing is written.
    """
    errors: list[FieldError] = []
    if kind not in costing.KINDS:
        errors.append(FieldError("kind", f"one of {', '.join(costing.KINDS)}"))
    if basis not in costing.BASES:
        errors.append(FieldError("basis", f"one of {', '.join(costing.BASES)}"))
    if not 0 < amount.minor <= MAX_AMOUNT_MINOR:
        errors.append(FieldError("amount", "above zero, at most 10,000,000,000"))
    reference = _text(reference, "reference", 80, errors)
    memo = _text(memo, "memo", 200, errors)
    found = _receipts(uow, receipts, purchase_order.strip() if purchase_order else None, errors)
    currencies = sorted({r.currency for r in found})
    if len(currencies) > 1:
        errors.append(
            FieldError("receipts", f"the receipts' purchase orders are in {' and '.join(currencies)}")
        )
    elif currencies and currencies[0] != amount.currency:
        errors.append(FieldError("amount.currency", f"the receipts are in {currencies[0]}: so is the charge"))
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    lines = [(receipt, line) for receipt in found for line in receipt.lines]
    amounts = _basis_amounts(uow, basis, lines)
    parts = costing.allocate(amount.minor, amounts)
    charge_id, number = new_id(), f"LC-{next_number(uow, SERIES):06d}"
    purchase_orders = sorted({r.purchase_order for r in found})
    payload = {
        "number": number,
        "kind": kind,
        "basis": basis,
        "currency": amount.currency,
        "amount": str(amount.amount),
        "reference": reference,
        "purchase_orders": purchase_orders,
        "receipts": [str(r.id) for r in found],
        "lines": [
            {
                "line": n,
                "sku": line.sku,
                "location": receipt.location,
                "quantity": line.quantity,
                "allocated_minor": part,
            }
            for n, ((receipt, line), part) in enumerate(zip(lines, parts, strict=True), start=1)
        ],
    }
    event = uow.emit("landed_cost.recorded", payload)
    now = uow.now()
    uow.execute_core(
        sa.insert(_CHARGES).values(
            id=charge_id,
            number=number,
            kind=kind,
            basis=basis,
            currency=amount.currency,
            amount_minor=amount.minor,
            reference=reference,
            memo=memo,
            event_id=event.id,
            created_by=uow.actor.label,
            created_at=now,
        )
    )
    uow.execute_core(
        sa.insert(_LINES),
        [
            {
                "charge_id": charge_id,
                "line_no": n,
                "receipt_id": receipt.id,
                "purchase_order": receipt.purchase_order,
                "po_line": line.line,
                "sku": line.sku,
                "location": receipt.location,
                "quantity": line.quantity,
                "basis_amount": basis_amount,
                "allocated_minor": part,
            }
            for n, ((receipt, line), basis_amount, part) in enumerate(
                zip(lines, amounts, parts, strict=True), 1
            )
        ],
    )
    uow.audit(
        "landed_cost.recorded",
        object_type="landed_cost",
        object_id=number,
        after={
            "kind": kind,
            "basis": basis,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "purchase_orders": purchase_orders,
            "lines": len(lines),
        },
    )
    return _load(uow, charge_id)


# ---- reading ---------------------------------------------------------------------------------------------------


def _charge(row: Any, lines: Sequence[Any], entry_id: uuid.UUID | None) -> LandedCost:
    c = row.currency

    def money(minor: int | None) -> Money | None:
        return None if minor is None else Money.from_minor(minor, c)

    posted = entry_id is not None
    return LandedCost(
        id=row.id,
        number=row.number,
        kind=row.kind,
        basis=row.basis,
        amount=Money.from_minor(row.amount_minor, c),
        reference=row.reference,
        memo=row.memo,
        purchase_orders=sorted({x.purchase_order for x in lines}),
        receipts=list(dict.fromkeys(x.receipt_id for x in lines)),
        posted=posted,
        entry_id=entry_id,
        inventory=money(sum(x.inventory_minor or 0 for x in lines)) if posted else None,
        cogs=money(sum(x.cogs_minor or 0 for x in lines)) if posted else None,
        created_by=row.created_by,
        created_at=row.created_at,
        lines=[
            LandedCostLine(
                line=x.line_no,
                receipt_id=x.receipt_id,
                purchase_order=x.purchase_order,
                po_line=x.po_line,
                sku=x.sku,
                location=x.location,
                quantity=x.quantity,
                basis_amount=x.basis_amount,
                allocated=Money.from_minor(x.allocated_minor, c),
                inventory=money(x.inventory_minor),
                cogs=money(x.cogs_minor),
                average_before=money(x.average_before_minor),
                average_after=money(x.average_after_minor),
            )
            for x in lines
        ],
    )


def _entries_of(uow: UnitOfWork, event_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    if not event_ids:
        return {}
    query = sa.select(_ENTRIES.c.source_event_id, _ENTRIES.c.id).where(
        _ENTRIES.c.source_event_id.in_(event_ids), _ENTRIES.c.rule == "landed_cost.recorded"
    )
    return {r.source_event_id: r.id for r in uow.execute_core(query)}


def _load(uow: UnitOfWork, charge_id: uuid.UUID) -> LandedCost:
    row = uow.execute_core(sa.select(_CHARGES).where(_CHARGES.c.id == charge_id)).one()
    lines = uow.execute_core(
        sa.select(_LINES).where(_LINES.c.charge_id == charge_id).order_by(_LINES.c.line_no)
    ).all()
    return _charge(row, lines, _entries_of(uow, [row.event_id]).get(row.event_id))


@use_case(readonly=True)
def get_landed_cost(uow: UnitOfWork, *, ref: str) -> LandedCost:
    """A charge by its number (`LC-000001`) or id, with each line's allocation and, once posted, its split.

    Raises:
        NotFound: no such charge.
    """
    try:
        match = _CHARGES.c.id == uuid.UUID(ref)
    except ValueError:
        match = _CHARGES.c.number == ref.strip().upper()
    row = uow.execute_core(sa.select(_CHARGES.c.id).where(match)).first()
    if row is None:
        raise NotFound(f"no landed-cost charge {ref!r}")
    return _load(uow, row.id)


@use_case(readonly=True)
def list_landed_costs(
    uow: UnitOfWork, *, purchase_order: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page[LandedCost]:
    """Charges newest first, optionally those on one purchase order (three reads a page).

    Raises:
        ValidationFailed: a malformed cursor or a limit out of range (naming the field).
    """
    check_limit(limit)
    query = sa.select(_CHARGES)
    if purchase_order is not None:
        on_po = sa.select(_LINES.c.charge_id).where(_LINES.c.purchase_order == purchase_order.strip().upper())
        query = query.where(_CHARGES.c.id.in_(on_po))
    if cursor:
        try:
            after = uuid.UUID(decode_cursor(cursor, 1)[0])
        except ValueError:
            raise ValidationFailed.on("cursor", "malformed cursor") from None
        query = query.where(_CHARGES.c.id < after)
    rows = uow.execute_core(query.order_by(_CHARGES.c.id.desc()).limit(limit + 1)).all()
    more, rows = len(rows) > limit, rows[:limit]
    lines: dict[uuid.UUID, list[Any]] = {}
    if rows:
        found = sa.select(_LINES).where(_LINES.c.charge_id.in_([r.id for r in rows]))
        for line in uow.execute_core(found.order_by(_LINES.c.charge_id, _LINES.c.line_no)):
            lines.setdefault(line.charge_id, []).append(line)
    entries = _entries_of(uow, [r.event_id for r in rows])
    return Page(
        [_charge(r, lines.get(r.id, []), entries.get(r.event_id)) for r in rows],
        encode_cursor(str(rows[-1].id)) if more else None,
    )
