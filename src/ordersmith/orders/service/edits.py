"""Editing an order before release: lines, quantities, ship-tos, shipping methods and personalization, re-priced
through the pricing pipeline and re-reserved in one transaction at the version the editor read; after release,
only a manager's address correction.

Invariant: an edit either applies whole (prices, stock, holds) or changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ordersmith.catalog import service as catalog
from ordersmith.kernel.errors import (
    ValidationFailed,
)
from ordersmith.kernel.money import Money
from ordersmith.marketing import service as marketing
from ordersmith.orders import rules
from ordersmith.orders.service._common import (
    Order,
    fulfillment_status,
    holds_of,
    line_state,
    lines_of,
    load,
    record,
    to_order,
)
from ordersmith.orders.service.allocating import Wanted, hold_stock, item_refs, release_holds
from ordersmith.orders.service.changes import locked, rules_illegal
from ordersmith.orders.service.holding import recheck_holds
from ordersmith.orders.service.quoting import line_offer_for
from ordersmith.orders.tables import OrderLineRow, OrderRow
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.pricing import rules as pricing_rules
from ordersmith.pricing import service as pricing


@dataclass(frozen=True)
class LineChange:
    line_no: int | None  # None: a new line
    sku: str | None = None  # new lines
    quantity: int | None = None  # 0 removes the line
    ship_to: str | None = None
    personalization: dict[str, str] | None = None
    gift_message: str | None = None
    source_code: str | None = None  # new lines: the line's own key code (another offer than the order's)


@dataclass(frozen=True)
class OrderChanges:
    lines: Sequence[LineChange] = ()
    ship_tos: Sequence[dict[str, Any]] = ()  # by ref: address fields and/or method; a new ref adds a ship-to
    address_only: bool = False  # computed by the caller: only address fields of existing ship-tos change
    notes: dict[str, Any] = field(default_factory=dict)


_ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")


@use_case
def edit_order(
    uow: UnitOfWork,
    *,
    ref: str,
    changes: OrderChanges,
    expected_version: int,
    may_correct_released: bool = False,
) -> Order:
    """Change lines, quantities, ship-tos, shipping methods and personalization of an order that is not yet
    released: re-priced through the pricing pipeline and re-reserved in one transaction, at the version the
    caller read. After release only a manager's address correction is accepted.

    Raises:
        PreconditionFailed: the order changed since `expected_version` (412).
        IllegalTransition: the order is released (or later) and this is not an address correction by a manager.
        ValidationFailed / InsufficientStock: as at capture; nothing changes.
    """
    row = locked(uow, ref, expected_version)
    correction = row.status == "released" and may_correct_released and _address_only(row, changes)
    if row.status not in rules.EDITABLE_STATUSES and not correction:
        raise rules_illegal(row, "be edited (after release only a manager may correct an address)")
    rows = lines_of(uow, row.id, lock=True)
    ship_tos = {s["ref"]: dict(s) for s in row.ship_tos}
    for n, change in enumerate(changes.ship_tos):
        refname = str(change.get("ref", ""))
        current = ship_tos.get(
            refname,
            {
                "ref": refname,
                "name": "",
                "line1": "",
                "line2": "",
                "city": "",
                "region": "",
                "postal_code": "",
                "country": "",
                "phone": "",
                "method": "",
            },
        )
        unknown = set(change) - {"ref", "method", *_ADDRESS_FIELDS}
        if unknown:
            raise ValidationFailed.on(f"ship_tos.{n}.{sorted(unknown)[0]}", "cannot be changed")
        current.update({k: (str(v).upper() if k == "country" else str(v)) for k, v in change.items()})
        for required in ("name", "line1", "city", "country", "method"):
            if not current.get(required):
                raise ValidationFailed.on(f"ship_tos.{n}.{required}", "is required")
        ship_tos[refname] = current
    before = {"lines": [(r.line_no, r.sku, r.quantity) for r in rows], "ship_tos": list(ship_tos)}
    if _address_only(row, changes):
        row.ship_tos = list(ship_tos.values())
        row.version += 1
        row.updated_at = uow.now()
        record(
            uow,
            row,
            "order.changed",
            {"change": "address_corrected", "ship_tos": [c.get("ref") for c in changes.ship_tos]},
        )
        uow.audit(
            "order.changed",
            object_type="order",
            object_id=str(row.id),
            before=before,
            after={"ship_tos": [c.get("ref") for c in changes.ship_tos]},
        )
        recheck_holds(uow, row)
        uow.session.flush()
        return load(uow, row)
    return _edit_lines(uow, row, rows, ship_tos, changes, before)


def _address_only(row: OrderRow, changes: OrderChanges) -> bool:
    refs = {s["ref"]: s for s in row.ship_tos}
    return (
        not changes.lines
        and bool(changes.ship_tos)
        and all(c.get("ref") in refs and set(c) <= {"ref", *_ADDRESS_FIELDS} for c in changes.ship_tos)
    )


def _new_line_offers(
    uow: UnitOfWork, row: OrderRow, new_codes: dict[int, tuple[int, str]], own: dict[int, str]
) -> dict[str, marketing.Offer | None]:
    """Resolve new lines' codes like intake's (the master list today, or the channel's default; each distinct code
    read once), adding each new line's kept code to `own`. Returns the offers found, by kept code.

    Raises:
        ValidationFailed: naming `lines.N.source_code`, for a code the channel neither accepts nor defaults.
    """
    offers: dict[str, marketing.Offer | None] = {}
    resolved: dict[str, marketing.Offer | None] = {}
    today = uow.now().date()
    for line_no, (n, typed) in sorted(new_codes.items()):
        key = typed.strip().upper()
        if key not in resolved:
            resolved[key] = marketing.resolve_source_code(
                uow, code=typed, channel=row.channel, on=today, field=f"lines.{n}.source_code"
            )
        offer = resolved[key]
        if offer is not None:
            own[line_no] = offer.code
            offers[offer.code] = offer
    return offers


def _edit_lines(
    uow: UnitOfWork,
    row: OrderRow,
    rows: list[OrderLineRow],
    ship_tos: dict[str, dict[str, Any]],
    changes: OrderChanges,
    before: dict[str, Any],
) -> Order:
    by_no = {r.line_no: r for r in rows}
    # The order as it will be: each line's new wanted state.
    target: dict[int, dict[str, Any]] = {
        r.line_no: {
            "sku": r.sku,
            "quantity": r.quantity - r.cancelled,
            "ship_to": r.ship_to,
            "personalization": dict(r.personalization or {}),
            "gift_message": r.gift_message,
        }
        for r in rows
        if r.quantity > r.cancelled
    }
    next_no = max(by_no, default=0) + 1
    new_codes: dict[int, tuple[int, str]] = {}  # new line's number: (its change's index, the code as typed)
    for n, change in enumerate(changes.lines):
        if change.line_no is None:
            if not change.sku or not change.quantity or change.quantity <= 0:
                raise ValidationFailed.on(f"lines.{n}", "a new line needs a SKU and a quantity above zero")
            if change.source_code and change.source_code.strip():
                new_codes[next_no] = (n, change.source_code)
            target[next_no] = {
                "sku": change.sku,
                "quantity": change.quantity,
                "ship_to": change.ship_to or next(iter(ship_tos)),
                "personalization": dict(change.personalization or {}),
                "gift_message": change.gift_message or "",
            }
            next_no += 1
            continue
        if change.line_no not in target:
            raise ValidationFailed.on(f"lines.{n}.line_no", f"no open line {change.line_no}")
        wanted = target[change.line_no]
        if change.sku is not None and change.sku.upper() != wanted["sku"].upper():
            raise ValidationFailed.on(
                f"lines.{n}.sku", "change a line's item by removing it and adding a new line"
            )
        if change.source_code is not None and change.source_code.strip().upper() != (
            by_no[change.line_no].source_code or ""
        ):
            raise ValidationFailed.on(
                f"lines.{n}.source_code", "a line keeps its code: remove it and add a new line with the code"
            )
        if change.quantity is not None:
            if change.quantity < 0:
                raise ValidationFailed.on(f"lines.{n}.quantity", "must be zero (remove) or more")
            wanted["quantity"] = change.quantity
        for name in ("ship_to", "personalization", "gift_message"):
            if getattr(change, name) is not None:
                wanted[name] = getattr(change, name)
    keep = {n: w for n, w in target.items() if w["quantity"] > 0}
    if not keep:
        raise ValidationFailed.on("lines", "an order keeps at least one line (cancel the order instead)")
    for n, w in keep.items():
        if w["ship_to"] not in ship_tos:
            raise ValidationFailed.on("lines", f"line {n}: no ship-to {w['ship_to']!r}")
    numbers = sorted(keep)
    offer = marketing.find_offer(uow, code=row.source_code)  # the offer it was placed under, still
    # Lines keyed with a code of their own keep it, and their offer, through the edit; a new line is the order's
    # unless it comes with a code, checked as intake checks a line's (ADR 0038), on the day it is added.
    own = {n: code for n in numbers if n in by_no and (code := by_no[n].source_code)}
    line_offers = _new_line_offers(uow, row, new_codes, own)
    for code in sorted(set(own.values()) - set(line_offers)):
        line_offers[code] = marketing.find_offer(uow, code=code)
    quote = pricing.quote(
        uow,
        request=pricing.QuoteRequest(
            currency=row.currency,
            channel=row.channel,
            division=row.division,
            lines=[
                pricing.QuoteLine(
                    sku=keep[n]["sku"],
                    quantity=keep[n]["quantity"],
                    ship_to=keep[n]["ship_to"],
                    personalization=keep[n]["personalization"],
                    offer=line_offer_for(line_offers.get(own.get(n) or ""), offer),
                )
                for n in numbers
            ],
            ship_tos=[
                pricing_rules.ShipTo(
                    ref=s["ref"],
                    country=s["country"].upper(),
                    method=s["method"].lower(),
                    region=s.get("region", "").upper(),
                    postal_code=s.get("postal_code", "").upper(),
                )
                for s in ship_tos.values()
            ],
            customer=str(row.customer_id) if row.customer_id else None,
            coupons=tuple(row.coupons),
            redeemed=tuple(row.coupons),
            offer_price_list=offer.price_list if offer else None,
            offer_promotions=offer.promotions if offer else (),
        ),
    )
    facts = catalog.selling_facts(uow, skus=[keep[n]["sku"] for n in numbers])
    # Stock: let go of everything this order holds or waits for, then hold the new order afresh (one batch).
    for r in rows:
        release_holds(uow, r)
        r.backordered = 0
    wanted_rows: list[OrderLineRow] = []
    priced = dict(zip(numbers, quote.lines, strict=True))
    for n in sorted(set(by_no) | set(keep)):
        line = by_no.get(n)
        wanted_now: dict[str, Any] | None = keep.get(n)
        if line is None:
            assert wanted_now is not None
            item = facts[wanted_now["sku"].upper()]
            line = OrderLineRow(
                order_id=row.id,
                line_no=n,
                item_id=item.id,
                sku=item.sku,
                name=item.name,
                quantity=wanted_now["quantity"],
                ship_to=wanted_now["ship_to"],
                personalization=wanted_now["personalization"],
                gift_message=wanted_now["gift_message"],
                reserved=0,
                backordered=0,
                cancelled=0,
                shipped=0,
                returned=0,
                returnable=True,
                allocations=[],
                source_code=own.get(n),  # a code of the master list, never the typed text
                unit_price_minor=0,
                price_list="",
                merchandise_minor=0,
                surcharge_minor=0,
                discount_minor=0,
                tax_minor=0,
            )
            uow.session.add(line)
            by_no[n] = line
        if wanted_now is None:  # removed: the line stays, cancelled in full, for the record
            line.cancelled = line.quantity
            for name in ("merchandise_minor", "surcharge_minor", "discount_minor", "tax_minor"):
                setattr(line, name, 0)
            continue
        p = priced[n]
        line.quantity = line.cancelled + wanted_now["quantity"]
        line.ship_to, line.personalization, line.gift_message = (
            wanted_now["ship_to"],
            wanted_now["personalization"],
            wanted_now["gift_message"],
        )
        line.unit_price_minor, line.price_list = p.unit_price.minor, p.price_list
        line.merchandise_minor, line.surcharge_minor = p.merchandise.minor, p.surcharge.minor
        line.discount_minor, line.tax_minor = p.discount.minor, p.tax.minor
        wanted_rows.append(line)
    refs = item_refs(facts)
    stocked = [
        Wanted(line, line.quantity - line.cancelled, facts[line.sku.upper()].backorderable)
        for line in wanted_rows
        if facts[line.sku.upper()].kind == "kit" or refs[line.sku.upper()].keeps_stock
    ]
    outcome = hold_stock(uow, order=row, wanted=stocked, items=refs)
    for line in wanted_rows:
        line.backordered = outcome.backordered.get(line.line_no, 0)
    currency = row.currency
    row.ship_tos = [
        {
            **s,
            "shipping_minor": quote.shipping.get(s["ref"], Money.zero(currency)).minor,
            "shipping_tax_minor": quote.shipping_tax.get(s["ref"], Money.zero(currency)).minor,
        }
        for s in ship_tos.values()
    ]
    row.merchandise_minor, row.surcharges_minor = quote.merchandise.minor, quote.surcharges.minor
    row.discounts_minor, row.shipping_minor = quote.discounts.minor, quote.shipping_total.minor
    row.tax_minor, row.total_minor = quote.tax.minor, quote.total.minor
    row.allocation = outcome.explanation
    all_rows = list(by_no.values())
    row.fulfillment_status = fulfillment_status(all_rows)
    row.version += 1
    row.updated_at = uow.now()
    after = {
        "lines": [(r.line_no, r.sku, r.quantity - r.cancelled) for r in all_rows],
        "total_minor": row.total_minor,
    }
    record(
        uow,
        row,
        "order.changed",
        {
            "change": "edited",
            "total": str(quote.total.amount),
            "lines": [
                {
                    "line": r.line_no,
                    "sku": r.sku,
                    "quantity": r.quantity - r.cancelled,
                    "state": line_state(r),
                }
                for r in all_rows
            ],
        },
    )
    uow.audit("order.changed", object_type="order", object_id=str(row.id), before=before, after=after)
    uow.session.flush()
    recheck_holds(uow, row)
    uow.session.flush()
    return to_order(row, all_rows, holds_of(uow, row.id))
