"""Changing an order after capture: holds and their release, cancellation (whole or lines), shipments (edits:
`edits.py`).

Invariants: every status move follows the transition table and appends an order event; a change applies only to
the order as its caller last read it (`expected_version`, from If-Match) where the caller names one; an order's
lock is taken first (PostgreSQL), so two changes to one order run one after the other.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from ordersmith.kernel.ids import new_id
from ordersmith.orders import rules
from ordersmith.orders.service._common import (
    Order,
    fulfillment_status,
    holds_of,
    lines_of,
    load,
    load_plain,
    load_plain_many,
    move,
    order_row,
    record,
)
from ordersmith.orders.service.allocating import Wanted, hold_stock, refs_for, release_holds
from ordersmith.orders.tables import RELEASE_DUE_SQL, OrderHoldRow, OrderLineRow, OrderRow
from ordersmith.platform.db import UnitOfWork, use_case


def _check_version(row: OrderRow, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != row.version:
        raise PreconditionFailed(
            f"the order changed since version {expected_version}; it is now {row.version}"
        )


def locked(uow: UnitOfWork, ref: str, expected_version: int | None = None) -> OrderRow:
    row = order_row(uow, ref, lock=True)
    _check_version(row, expected_version)
    return row


@use_case
def lock_for_payment(uow: UnitOfWork, *, ref: str, channel: str | None = None) -> Order:
    """The order under its row lock, held to the end of the caller's transaction, so tenders added to it at the
    same moment are decided one after another (PostgreSQL `FOR UPDATE`; SQLite's writer lock).

    Raises:
        NotFound: no such order (or another channel's, for a channel-bound caller).
    """
    row = locked(uow, ref)
    if channel is not None and row.channel != channel:
        raise NotFound(f"no order {ref!r}")
    return load(uow, row)


@use_case
def lock_for_shipping(uow: UnitOfWork, *, order_id: uuid.UUID) -> Order | None:
    """The order and its lines (not its holds) under the order's row lock, held to the end of the caller's
    transaction, read as plain rows: for fulfillment's sync, which runs for every order event and reads only the
    allocation. None when there is no such order."""
    return load_plain(uow, order_id, lock=True)


@use_case
def lock_many_for_shipping(uow: UnitOfWork, *, order_ids: list[uuid.UUID]) -> list[Order]:
    """`lock_for_shipping` for many orders at once (fulfillment's sync of a relay batch): the orders that exist,
    locked in id order, with their lines, in two statements."""
    return load_plain_many(uow, sorted(set(order_ids)))


@use_case
def resolve_hold(uow: UnitOfWork, *, ref: str, reason: str, note: str) -> Order:
    """The cause of a hold went away (the payment an order waited for arrived): its active holds of `reason` are
    resolved, and the order is released when nothing else holds it."""
    row = locked(uow, ref)
    active = [h for h in holds_of(uow, row.id) if h.status == "active"]
    resolved = [h for h in active if h.reason == reason]
    for hold in resolved:
        hold.status, hold.resolved_at, hold.resolved_by, hold.note = (
            "released",
            uow.now(),
            uow.actor.label,
            note,
        )
    if resolved and len(resolved) == len(active) and row.status == "on_hold":
        move(uow, row, "release", {"note": note, "holds": [reason]})
        uow.audit(
            "order.released",
            object_type="order",
            object_id=str(row.id),
            after={"holds": [reason], "note": note},
        )
    uow.session.flush()
    return load(uow, row)


@use_case
def hold_order(
    uow: UnitOfWork, *, ref: str, reason: str = "manual", note: str = "", expected_version: int | None = None
) -> Order:
    """Put an order on hold (an agent's manual hold, or any named reason); its stock stays reserved."""
    row = locked(uow, ref, expected_version)
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
    row = locked(uow, ref, expected_version)
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


_DUE = (
    sa.select(OrderRow.id)
    .where(sa.text(RELEASE_DUE_SQL), OrderRow.release_at <= sa.bindparam("now"))
    .order_by(OrderRow.release_at)
    .limit(sa.bindparam("limit"))
)


@use_case(readonly=True)
def due_for_release(uow: UnitOfWork, *, limit: int = 200) -> list[uuid.UUID]:
    """Pending orders whose channel's edit window has ended, the earliest first (from the partial index of
    pending orders with a release time: never the order history)."""
    return list(uow.execute_core(_DUE, {"now": uow.now(), "limit": limit}).scalars())


@use_case
def release_when_due(uow: UnitOfWork, *, order_id: uuid.UUID) -> bool:
    """Release a pending order whose edit window has ended (the release job). Decided under the order's lock:
    an order released, held, edited into a hold or cancelled meanwhile is left as it is. Returns whether it was
    released."""
    row = locked(uow, str(order_id))
    if row.status != "pending" or row.release_at is None or row.release_at > uow.now():
        return False
    move(uow, row, "release", {"note": "the edit window ended", "holds": [], "window_ended": True})
    row.release_at = None
    uow.audit("order.released", object_type="order", object_id=str(row.id), after={"window_ended": True})
    uow.session.flush()
    return True


def release_due_orders(uow: UnitOfWork, *, limit: int = 200) -> int:
    """The release job's work: every order whose edit window has ended, each in its own transaction; returns
    how many were released."""
    return sum(release_when_due(uow, order_id=order_id) for order_id in due_for_release(uow, limit=limit))


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
    row = locked(uow, ref, expected_version)
    if row.status == "cancelled":  # as the docstring says: 409, not a 422 about its lines' open units
        raise rules_illegal(row, "be cancelled again")
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
                # each cancelled part inherits its line's source code (its own, else the order's)
                "lines": [
                    {"line": n, "quantity": q, "source_code": by_no[n].source_code or row.source_code}
                    for n, q in cuts.items()
                ],
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


@use_case
def set_payment_status(uow: UnitOfWork, *, order_id: uuid.UUID, status: str, detail: dict[str, Any]) -> None:
    """Record what payments made of the order's tenders (its `payment_status`, derived by payments) as an order
    event for the timeline. Payments owns the rule; orders keeps the status beside the order for lists and holds."""
    if status not in rules.PAYMENT_STATUSES:
        raise ValueError(f"unknown payment status {status!r}")
    row = uow.session.get(OrderRow, order_id)
    if row is None:
        raise NotFound(f"no order {order_id}")
    if row.payment_status != status:
        record(
            uow, row, "order.payment_status", {"from": row.payment_status, "to": status, **detail}, emit=False
        )
        row.payment_status = status
        row.updated_at = uow.now()
    uow.session.flush()


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
