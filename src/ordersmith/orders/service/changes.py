"""Changing an order after capture: holds and their release, cancellation (whole or lines), shipments, edits.

Invariants: every status move follows the transition table and appends an order event; a change applies only to
the order as its caller last read it (`expected_version`, from If-Match) where the caller names one; an order's
lock is taken first (PostgreSQL), so two changes to one order run one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    PreconditionFailed,
    ValidationFailed,
)
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import rules
from ordersmith.orders.service._common import (
    Order,
    fulfillment_status,
    holds_of,
    line_state,
    lines_of,
    load,
    move,
    order_row,
    record,
    to_order,
)
from ordersmith.orders.service.allocating import Wanted, hold_stock, item_refs, refs_for, release_holds
from ordersmith.orders.tables import OrderHoldRow, OrderLineRow, OrderRow
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.pricing import rules as pricing_rules
from ordersmith.pricing import service as pricing


def _check_version(row: OrderRow, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != row.version:
        raise PreconditionFailed(
            f"the order changed since version {expected_version}; it is now {row.version}"
        )


def _locked(uow: UnitOfWork, ref: str, expected_version: int | None = None) -> OrderRow:
    row = order_row(uow, ref, lock=True)
    _check_version(row, expected_version)
    return row


@use_case
def hold_order(
    uow: UnitOfWork, *, ref: str, reason: str = "manual", note: str = "", expected_version: int | None = None
) -> Order:
    """Put an order on hold (an agent's manual hold, or any named reason); its stock stays reserved."""
    row = _locked(uow, ref, expected_version)
    if not note.strip() and reason == "manual":
        raise ValidationFailed.on("note", "say why the order is held")
    if row.status != "on_hold":
        move(uow, row, "hold", {"reasons": [reason]})
    hold = OrderHoldRow(
        order_id=row.id,
        id=new_id(),
        reason=reason,
        detail=note.strip()[:500] or reason,
        status="active",
        placed_at=uow.now(),
        placed_by=uow.actor.label,
        resolved_at=None,
        resolved_by=None,
        note="",
    )
    uow.session.add(hold)
    uow.audit("order.held", object_type="order", object_id=str(row.id), after={"reason": reason})
    uow.session.flush()
    return load(uow, row)


@use_case
def release_order(
    uow: UnitOfWork,
    *,
    ref: str,
    note: str,
    expected_version: int | None = None,
    may_release_held: bool = True,
) -> Order:
    """Release an order: a held one (a manager's decision, with a note, resolving every active hold) or a pending
    one (sent on to fulfillment)."""
    row = _locked(uow, ref, expected_version)
    if row.status == "on_hold" and not may_release_held:
        raise Forbidden("a held order is released by a manager")
    active = [h for h in holds_of(uow, row.id) if h.status == "active"]
    if row.status == "on_hold" and not note.strip():
        raise ValidationFailed.on("note", "a held order is released with a note")
    move(uow, row, "release", {"note": note.strip(), "holds": [h.reason for h in active]})
    for hold in active:
        hold.status, hold.resolved_at, hold.resolved_by, hold.note = (
            "released",
            uow.now(),
            uow.actor.label,
            note,
        )
    uow.audit(
        "order.released",
        object_type="order",
        object_id=str(row.id),
        after={"holds": [h.reason for h in active], "note": note.strip()},
    )
    uow.session.flush()
    return load(uow, row)


@use_case
def cancel_order(
    uow: UnitOfWork,
    *,
    ref: str,
    reason: str,
    lines: dict[int, int] | None = None,
    expected_version: int | None = None,
    may_cancel_held: bool = True,
) -> Order:
    """Cancel the whole order, or `lines` (line number -> units): reservations are released, backorders dropped,
    totals recomputed; `order.cancelled` (or `order.changed`) tells payments what to void or refund.

    Raises:
        IllegalTransition: the order is shipped, completed or already cancelled (409).
        Forbidden: a held order, and the caller may not decide on holds.
        ValidationFailed: a line that does not exist, or more units than are still open on it.
    """
    row = _locked(uow, ref, expected_version)
    if row.status == "on_hold" and not may_cancel_held:
        raise Forbidden("a held order is cancelled by a manager")
    if not reason.strip():
        raise ValidationFailed.on("reason", "say why the order is cancelled")
    rows = lines_of(uow, row.id, lock=True)
    by_no = {line.line_no: line for line in rows}
    whole = lines is None
    cuts = (
        {n: line.quantity - line.cancelled - line.shipped for n, line in by_no.items()}
        if whole
        else dict(lines or {})
    )
    for n, units in cuts.items():
        line = by_no.get(n)
        if line is None:
            raise ValidationFailed.on(f"lines.{n}", f"no line {n} in order {row.number}")
        open_units = line.quantity - line.cancelled - line.shipped
        if units <= 0 or units > open_units:
            raise ValidationFailed.on(
                f"lines.{n}", f"{open_units} unit(s) of line {n} can still be cancelled"
            )
    if whole or all(
        cuts.get(n, 0) == line.quantity - line.cancelled - line.shipped for n, line in by_no.items()
    ):
        if any(line.shipped for line in rows):
            raise ValidationFailed.on(
                "lines", "part of this order has shipped: cancel the open lines instead"
            )
        move(uow, row, "cancel", {"reason": reason.strip()})
    elif row.status not in ("pending", "on_hold", "released", "partially_shipped"):
        raise rules_illegal(row, "cancel lines")
    _reprice_after_cut(row, rows, cuts)  # shares of what is still charged: before the units are cut
    released = _cut(uow, row, by_no, cuts)
    row.fulfillment_status = fulfillment_status(rows)
    row.version += 0 if row.status == "cancelled" else 1
    row.updated_at = uow.now()
    if row.status != "cancelled":
        record(
            uow,
            row,
            "order.changed",
            {
                "change": "lines_cancelled",
                "reason": reason.strip(),
                "lines": [{"line": n, "quantity": q} for n, q in cuts.items()],
            },
        )
    for hold in holds_of(uow, row.id):
        if hold.status == "active" and row.status == "cancelled":
            hold.status, hold.resolved_at, hold.resolved_by, hold.note = (
                "cancelled",
                uow.now(),
                uow.actor.label,
                reason,
            )
    uow.audit(
        "order.cancelled" if row.status == "cancelled" else "order.lines_cancelled",
        object_type="order",
        object_id=str(row.id),
        after={"lines": cuts, "released_units": released, "total_minor": row.total_minor},
    )
    uow.session.flush()
    return load(uow, row)


def rules_illegal(row: OrderRow, action: str) -> Conflict:
    """409 `illegal_transition` naming the order's state, for changes outside the status table's moves."""
    return IllegalTransition(
        f"an order that is {row.status} cannot {action}", state=row.status, action=action
    )


def _cut(uow: UnitOfWork, row: OrderRow, by_no: dict[int, OrderLineRow], cuts: dict[int, int]) -> int:
    """Take `cuts` units off each line: first from what waits (backorders), then from what is held (released
    back to stock; a part larger than the cut is released and the rest held again)."""
    released = 0
    for n, units in sorted(cuts.items()):
        line = by_no[n]
        from_backorder = min(units, line.backordered)
        line.backordered -= from_backorder
        rest = units - from_backorder
        if rest:
            released += _release_units(uow, row, line, rest)
        line.cancelled += units
    return released


def _release_units(uow: UnitOfWork, row: OrderRow, line: OrderLineRow, units: int) -> int:
    """Release `units` held units of a line. Reservations are released whole, so when the cut falls inside a
    part the whole line is released and what stays is held again (re-allocated)."""
    exact = release_holds(uow, line, units)
    if exact == units:
        return units
    keep = line.reserved - (units - exact)
    release_holds(uow, line)
    if keep > 0:
        items = refs_for(uow, [line.sku])
        outcome = hold_stock(uow, order=row, wanted=[Wanted(line, keep, True)], items=items)
        line.backordered += keep - outcome.reserved.get(line.line_no, 0)
    return units


def _reprice_after_cut(row: OrderRow, rows: list[OrderLineRow], cuts: dict[int, int]) -> None:
    """A cancelled unit takes its share of the line's amounts off the order (shipping stays as charged)."""
    for n, units in cuts.items():
        line = next(r for r in rows if r.line_no == n)
        share = _share(line, units)
        line_total_before = (
            line.merchandise_minor + line.surcharge_minor - line.discount_minor + line.tax_minor
        )
        line.merchandise_minor -= share["merchandise"]
        line.surcharge_minor -= share["surcharge"]
        line.discount_minor -= share["discount"]
        line.tax_minor -= share["tax"]
        line_total_after = (
            line.merchandise_minor + line.surcharge_minor - line.discount_minor + line.tax_minor
        )
        row.merchandise_minor -= share["merchandise"]
        row.surcharges_minor -= share["surcharge"]
        row.discounts_minor -= share["discount"]
        row.tax_minor -= share["tax"]
        row.total_minor -= line_total_before - line_total_after
    if all(r.quantity - r.cancelled - cuts.get(r.line_no, 0) == 0 for r in rows):
        row.total_minor -= row.shipping_minor  # nothing ships: no shipping is owed
        row.shipping_minor = 0


def _share(line: OrderLineRow, units: int) -> dict[str, int]:
    """The part of each of the line's remaining amounts that `units` of its still-charged units carry (the last
    units carry whatever is left, so the parts always add back to the whole)."""
    charged = line.quantity - line.cancelled
    if units >= charged:
        return {
            "merchandise": line.merchandise_minor,
            "surcharge": line.surcharge_minor,
            "discount": line.discount_minor,
            "tax": line.tax_minor,
        }
    return {
        name: amount * units // charged
        for name, amount in (
            ("merchandise", line.merchandise_minor),
            ("surcharge", line.surcharge_minor),
            ("discount", line.discount_minor),
            ("tax", line.tax_minor),
        )
    }


@use_case
def record_shipment(
    uow: UnitOfWork, *, ref: str, lines: dict[int, int] | None = None, tracking: str = ""
) -> Order:
    """The warehouse shipped `lines` (line -> units; all that is held when None): their reservations are consumed
    (stock leaves on hand) and the order moves to partially shipped or shipped.

    Raises:
        IllegalTransition: the order is not released (held, pending, cancelled, shipped).
        ValidationFailed: more units than are held for a line.
    """
    row = _locked(uow, ref)
    rows = lines_of(uow, row.id, lock=True)
    by_no = {line.line_no: line for line in rows}
    wanted = (
        {n: line.reserved for n, line in by_no.items() if line.reserved} if lines is None else dict(lines)
    )
    if not wanted:
        raise ValidationFailed.on("lines", "nothing is held for this order yet")
    for n, units in wanted.items():
        line = by_no.get(n)
        if line is None:
            raise ValidationFailed.on(f"lines.{n}", f"no line {n} in order {row.number}")
        if units <= 0 or units > line.reserved:
            raise ValidationFailed.on(f"lines.{n}", f"{line.reserved} unit(s) of line {n} are held to ship")
    open_after = sum(
        line.quantity - line.cancelled - line.shipped - wanted.get(n, 0) for n, line in by_no.items()
    )
    move(uow, row, "ship_all" if open_after == 0 else "ship_part", {"lines": wanted, "tracking": tracking})
    keys: list[str] = []
    for n, units in sorted(wanted.items()):
        line = by_no[n]
        left = units
        parts = [dict(p) for p in line.allocations]
        for part in sorted(parts, key=lambda p: int(p["seq"])):
            if left == 0 or part["status"] != "active":
                continue
            if part["quantity"] > left:
                raise ValidationFailed.on(
                    f"lines.{n}",
                    f"ship a whole allocation: {part['quantity']} unit(s) from {part['location']}",
                )
            keys.append(part["key"])
            part["status"] = "shipped"
            left -= part["quantity"]
        line.allocations = parts
        line.reserved -= units
        line.shipped += units
    inventory.consume_all(uow, keys=keys)
    row.fulfillment_status = fulfillment_status(rows)
    uow.audit(
        "order.shipped",
        object_type="order",
        object_id=str(row.id),
        after={"lines": wanted, "tracking": tracking},
    )
    uow.session.flush()
    return load(uow, row)


# --- edits ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineChange:
    line_no: int | None  # None: a new line
    sku: str | None = None  # new lines
    quantity: int | None = None  # 0 removes the line
    ship_to: str | None = None
    personalization: dict[str, str] | None = None
    gift_message: str | None = None


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
    row = _locked(uow, ref, expected_version)
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
        _recheck_holds(uow, row, rows)
        uow.session.flush()
        return load(uow, row)
    return _edit_lines(uow, row, rows, ship_tos, changes, before)


def _recheck_holds(uow: UnitOfWork, row: OrderRow, rows: list[OrderLineRow]) -> None:
    """Evaluate the hold rules again after a change: an address that cannot be delivered to, a total beyond the
    credit limit, personalized text to check. A reason not already holding the order holds it (the fraud rules
    ran at capture and are not run again)."""
    from ordersmith.customers import service as customers
    from ordersmith.orders.service.capture import OPEN_ON_ACCOUNT

    on_account = row.card_key == "on_account"
    buyer = customers.buyer_facts(uow, ref=str(row.customer_id)) if row.customer_id else None
    open_balance = Money.zero(row.currency)
    if on_account and buyer is not None:
        owed = int(uow.execute_core(OPEN_ON_ACCOUNT, {"customer": buyer.id}).scalar() or 0)
        open_balance = Money.from_minor(
            owed - row.total_minor, row.currency
        )  # this order's old total is in it
    limit = (
        buyer.credit_limit
        if buyer and buyer.credit_limit and buyer.credit_limit.currency == row.currency
        else None
    )
    facts = rules.OrderFacts(
        total=Money.from_minor(row.total_minor, row.currency),
        billing_country=(row.billing or {}).get("country", "").upper() or None,
        ship_countries=tuple(s["country"] for s in row.ship_tos),
        first_order=False,
        on_account=on_account,
        credit_limit=limit,
        open_balance=open_balance,
        recent_orders_same_card=0,
        recent_orders_same_address=0,
        undeliverable=tuple(
            s["ref"] for s in row.ship_tos
            if rules.address_problems(country=s["country"], postal_code=s.get("postal_code", ""), line1=s["line1"],
                                      city=s["city"])
        ),
        personalization_review=False,
    )  # fmt: skip
    active = {h.reason for h in holds_of(uow, row.id) if h.status == "active"}
    new = [h for h in rules.holds(facts, None) if h.reason not in active]
    if not new:
        return
    if row.status != "on_hold":
        move(uow, row, "hold", {"reasons": [h.reason for h in new]})
    for hold in new:
        uow.session.add(OrderHoldRow(order_id=row.id, id=new_id(), reason=hold.reason, detail=hold.detail[:500],
                                     status="active", placed_at=uow.now(), placed_by="rules", resolved_at=None,
                                     resolved_by=None, note=""))  # fmt: skip


def _address_only(row: OrderRow, changes: OrderChanges) -> bool:
    refs = {s["ref"]: s for s in row.ship_tos}
    return (
        not changes.lines
        and bool(changes.ship_tos)
        and all(c.get("ref") in refs and set(c) <= {"ref", *_ADDRESS_FIELDS} for c in changes.ship_tos)
    )


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
    for n, change in enumerate(changes.lines):
        if change.line_no is None:
            if not change.sku or not change.quantity or change.quantity <= 0:
                raise ValidationFailed.on(f"lines.{n}", "a new line needs a SKU and a quantity above zero")
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
    _recheck_holds(uow, row, all_rows)
    uow.session.flush()
    return to_order(row, all_rows, holds_of(uow, row.id))
