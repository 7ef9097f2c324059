"""Returns (RMAs): authorizing shipped units back with a reason, receiving them into a location (restock or
scrap), the refund due for payments to pay, and exchanges as linked replacement orders at the original price.

Invariants: a line's returned units never exceed its shipped units (counting every open authorization); personalized
goods that their template marks non-returnable are refused; a return is received once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import IllegalTransition, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import rules
from ordersmith.orders.service._common import (
    by_ref,
    fulfillment_status,
    lines_of,
    new_order_number,
    order_row,
    record,
)
from ordersmith.orders.service.allocating import Wanted, hold_stock, refs_for
from ordersmith.orders.service.policies import return_policy
from ordersmith.orders.tables import OrderLineRow, OrderRow, ReturnLineRow, ReturnRow
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number

RETURN_SERIES = "return"


@dataclass(frozen=True)
class ReturnLineRequest:
    line_no: int
    quantity: int
    reason: str
    exchange_sku: str | None = None  # send this instead (e.g. another size), at the original price


@dataclass(frozen=True)
class ReceivedLine:
    line_no: int
    quantity: int
    disposition: str  # restock | scrap


@dataclass(frozen=True)
class ReturnLine:
    line_no: int
    sku: str
    quantity: int
    reason: str
    exchange_sku: str | None
    received: int
    disposition: str | None
    source_code: str | None = None  # inherited from the order line: its own code, else its order's


@dataclass(frozen=True)
class Return:
    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    order_number: str
    status: str
    currency: str
    location: str | None
    refund_items: Money
    refund_tax: Money
    refund_shipping: Money
    restocking_fee: Money
    refund_due: Money
    exchange_order_id: uuid.UUID | None
    note: str
    authorized_at: datetime
    expires_at: datetime
    received_at: datetime | None
    lines: list[ReturnLine] = field(default_factory=list)


def _return(
    row: ReturnRow, order: OrderRow, lines: Sequence[ReturnLineRow], order_lines: Sequence[OrderLineRow]
) -> Return:
    c = row.currency
    by_no = {line.line_no: line for line in order_lines}
    return Return(
        id=row.id,
        number=row.number,
        order_id=row.order_id,
        order_number=order.number,
        status=row.status,
        currency=c,
        location=row.location,
        refund_items=Money.from_minor(row.item_refund_minor, c),
        refund_tax=Money.from_minor(row.tax_refund_minor, c),
        refund_shipping=Money.from_minor(row.shipping_refund_minor, c),
        restocking_fee=Money.from_minor(row.fee_minor, c),
        refund_due=Money.from_minor(row.refund_due_minor, c),
        exchange_order_id=row.exchange_order_id,
        note=row.note,
        authorized_at=row.authorized_at,
        expires_at=row.expires_at,
        received_at=row.received_at,
        lines=[
            ReturnLine(
                line_no=r.line_no,
                sku=by_no[r.line_no].sku if r.line_no in by_no else "",
                quantity=r.quantity,
                reason=r.reason,
                exchange_sku=r.exchange_sku,
                received=r.received,
                disposition=r.disposition,
                source_code=(by_no[r.line_no].source_code if r.line_no in by_no else None)
                or order.source_code,
            )
            for r in sorted(lines, key=lambda r: r.line_no)
        ],
    )


def _open_returned(uow: UnitOfWork, order_id: uuid.UUID) -> dict[int, int]:
    """Units per order line already on an authorization that is not cancelled (received ones included)."""
    rows = uow.session.execute(
        sa.select(ReturnLineRow.line_no, sa.func.sum(ReturnLineRow.quantity))
        .join(ReturnRow, ReturnRow.id == ReturnLineRow.return_id)
        .where(ReturnRow.order_id == order_id, ReturnRow.status != "cancelled")
        .group_by(ReturnLineRow.line_no)
    ).all()
    return {int(n): int(q) for n, q in rows}


def _refund(
    order: OrderRow,
    lines: dict[int, OrderLineRow],
    wanted: dict[int, tuple[int, str]],
    policy: rules.ReturnPolicy,
) -> rules.RefundDue:
    returned = [
        rules.ReturnedLine(
            units=units,
            charged_units=lines[n].quantity - lines[n].cancelled,
            net_minor=lines[n].merchandise_minor + lines[n].surcharge_minor - lines[n].discount_minor,
            tax_minor=lines[n].tax_minor,
            reason=reason,
        )
        for n, (units, reason) in sorted(wanted.items())
    ]
    shipping_tax = sum(int(s.get("shipping_tax_minor", 0)) for s in order.ship_tos)
    return rules.refund_due(
        returned,
        order_net_minor=order.merchandise_minor + order.surcharges_minor - order.discounts_minor,
        shipping_minor=order.shipping_minor,
        shipping_tax_minor=shipping_tax,
        policy=policy,
    )


@use_case
def authorize_return(
    uow: UnitOfWork,
    *,
    order_ref: str,
    lines: Sequence[ReturnLineRequest],
    note: str = "",
    policy: rules.ReturnPolicy | None = None,
) -> Return:
    """Authorize units of shipped lines to come back (an RMA), with a reason per line, inside the return window
    (the return policy set in the console unless `policy` is given; its restocking fee is kept with the RMA).

    Raises:
        ValidationFailed: no lines; an unknown line or reason; more units than shipped and not yet returned;
            a non-returnable (personalized) line; an exchange SKU that does not exist; the window has closed.
    """
    order = order_row(uow, order_ref, lock=True)
    if not lines:
        raise ValidationFailed.on("lines", "a return needs at least one line")
    policy = policy or return_policy(uow)
    now = uow.now()
    if now > order.placed_at + policy.window:
        raise ValidationFailed.on(
            "order",
            f"the return window of {policy.window.days} days closed on "
            f"{(order.placed_at + policy.window).date().isoformat()}",
        )
    by_no = {line.line_no: line for line in lines_of(uow, order.id)}
    already = _open_returned(uow, order.id)
    wanted: dict[int, tuple[int, str]] = {}
    exchanges: dict[int, str] = {}
    for n, request in enumerate(lines):
        line = by_no.get(request.line_no)
        if line is None:
            raise ValidationFailed.on(
                f"lines.{n}.line_no", f"no line {request.line_no} in order {order.number}"
            )
        if request.line_no in wanted:  # one return line per order line (their key): say so, not a 409
            raise ValidationFailed.on(
                f"lines.{n}.line_no", f"line {request.line_no} is already in this return: give it once"
            )
        if request.reason not in rules.RETURN_REASONS:
            raise ValidationFailed.on(
                f"lines.{n}.reason", f"must be one of {', '.join(rules.RETURN_REASONS)}"
            )
        if not line.returnable:
            raise ValidationFailed.on(
                f"lines.{n}.line_no", f"{line.sku} is personalized and cannot be returned"
            )
        left = line.shipped - already.get(line.line_no, 0) - wanted.get(line.line_no, (0, ""))[0]
        if request.quantity <= 0 or request.quantity > left:
            raise ValidationFailed.on(
                f"lines.{n}.quantity", f"{left} shipped unit(s) of line {line.line_no} can be returned"
            )
        if request.exchange_sku is not None:
            try:  # kept as the catalog spells it (`tee` typed is TEE)
                exchanges[request.line_no] = catalog.get_item_ref(uow, sku=request.exchange_sku).sku
            except NotFound:
                raise ValidationFailed.on(
                    f"lines.{n}.exchange_sku", f"no item {request.exchange_sku!r}"
                ) from None
        wanted[line.line_no] = (request.quantity + wanted.get(line.line_no, (0, ""))[0], request.reason)
    due = _refund(order, by_no, wanted, policy)
    row = ReturnRow(
        id=new_id(),
        number=f"R-{next_number(uow, RETURN_SERIES):06d}",
        order_id=order.id,
        status="authorized",
        currency=order.currency,
        refund_shipping=due.shipping_minor > 0,
        restocking_fee_pct=policy.restocking_fee_percent,
        location=None,
        item_refund_minor=due.items_minor,
        tax_refund_minor=due.tax_minor,
        shipping_refund_minor=due.shipping_minor,
        fee_minor=due.fee_minor,
        refund_due_minor=due.total_minor,
        exchange_order_id=None,
        note=note.strip()[:1000],
        authorized_at=now,
        expires_at=now + policy.window,
        received_at=None,
    )
    uow.session.add(row)
    uow.session.flush()  # the return before its lines (no ORM relationship orders them)
    return_lines = [
        ReturnLineRow(
            return_id=row.id,
            line_no=r.line_no,
            quantity=r.quantity,
            reason=r.reason,
            exchange_sku=exchanges.get(r.line_no),
            disposition=None,
            received=0,
        )
        for r in lines
    ]
    uow.session.add_all(return_lines)
    uow.session.flush()
    record(
        uow,
        order,
        "return.authorized",
        {
            "return": row.number,
            "lines": [
                {
                    "line": r.line_no,
                    "quantity": r.quantity,
                    "reason": r.reason,
                    "exchange_sku": r.exchange_sku,
                    "source_code": by_no[r.line_no].source_code or order.source_code,
                }
                for r in lines
            ],
            "refund_due": str(Money.from_minor(due.total_minor, order.currency).amount),
        },
    )
    uow.audit(
        "return.authorized",
        object_type="return",
        object_id=str(row.id),
        after={"number": row.number, "order": order.number, "refund_due_minor": due.total_minor},
    )
    return _return(row, order, return_lines, list(by_no.values()))


def _return_row(uow: UnitOfWork, ref: str, *, lock: bool = False) -> ReturnRow:
    return by_ref(uow, ReturnRow, ref, what="return", lock=lock)


@use_case(readonly=True)
def get_return(uow: UnitOfWork, *, ref: str) -> Return:
    row = _return_row(uow, ref)
    order = uow.session.get(OrderRow, row.order_id)
    assert order is not None
    lines = list(uow.session.scalars(sa.select(ReturnLineRow).where(ReturnLineRow.return_id == row.id)))
    return _return(row, order, lines, lines_of(uow, order.id))


@use_case
def receive_return(
    uow: UnitOfWork,
    *,
    ref: str,
    location: str,
    lines: Sequence[ReceivedLine] | None = None,
    policy: rules.ReturnPolicy | None = None,
) -> Return:
    """Receive the goods of a return into `location`: restocked units go back on hand (kits: their components),
    scrapped ones are recorded only. The refund due is recomputed on what arrived; exchanges become a linked
    replacement order at the original price. All lines are received as authorized when `lines` is None.

    Raises:
        IllegalTransition: the return was received or cancelled already (409).
        ValidationFailed: an unknown location, line or disposition; more units than authorized.
    """
    row = _return_row(uow, ref, lock=True)
    if row.status != "authorized":
        raise IllegalTransition(f"return {row.number} is {row.status}", state=row.status, action="receive")
    # The restocking fee is the one authorized with the RMA, whatever the policy says since.
    policy = policy or rules.ReturnPolicy(restocking_fee_percent=row.restocking_fee_pct)
    inventory.get_location(uow, code=location)
    order = order_row(uow, str(row.order_id), lock=True)
    authorized = {
        r.line_no: r
        for r in uow.session.scalars(sa.select(ReturnLineRow).where(ReturnLineRow.return_id == row.id))
    }
    received = (
        lines
        if lines is not None
        else [ReceivedLine(n, r.quantity, "restock") for n, r in authorized.items()]
    )
    order_lines = {line.line_no: line for line in lines_of(uow, order.id, lock=True)}
    for n, got in enumerate(received):
        if got.line_no not in authorized:
            raise ValidationFailed.on(
                f"lines.{n}.line_no", f"line {got.line_no} is not on return {row.number}"
            )
        if got.disposition not in ("restock", "scrap"):
            raise ValidationFailed.on(f"lines.{n}.disposition", "must be restock or scrap")
        if got.quantity < 0 or got.quantity > authorized[got.line_no].quantity:
            raise ValidationFailed.on(
                f"lines.{n}.quantity", f"{authorized[got.line_no].quantity} unit(s) were authorized"
            )
    for got in received:
        if got.quantity == 0:
            continue
        line = order_lines[got.line_no]
        authorized[got.line_no].received = got.quantity
        authorized[got.line_no].disposition = got.disposition
        line.returned += got.quantity
        if got.disposition == "restock":
            item = catalog.get_item_ref(uow, sku=line.sku)
            parts = catalog.kit_components(uow, kit_id=item.id) if item.kind == "kit" else [(item, 1)]
            for component, per_unit in parts:
                if component.keeps_stock:
                    inventory.adjust_stock(
                        uow,
                        sku=component.sku,
                        location=location,
                        quantity=per_unit * got.quantity,
                        reason="return",
                        reference=row.number,
                    )
    arrived = {g.line_no: (g.quantity, authorized[g.line_no].reason) for g in received if g.quantity}
    due = _refund(order, order_lines, arrived, policy) if arrived else rules.RefundDue(0, 0, 0, 0)
    row.status, row.location, row.received_at = "received", location, uow.now()
    row.item_refund_minor, row.tax_refund_minor = due.items_minor, due.tax_minor
    row.shipping_refund_minor, row.fee_minor, row.refund_due_minor = (
        due.shipping_minor,
        due.fee_minor,
        due.total_minor,
    )
    exchanges = [
        (authorized[n], order_lines[n], units)
        for n, (units, _) in arrived.items()
        if authorized[n].exchange_sku
    ]
    if exchanges:
        replacement = _exchange_order(uow, order, exchanges)
        row.exchange_order_id = replacement.id
        value = replacement.total_minor
        row.refund_due_minor = max(due.total_minor - value, 0)
    uow.session.flush()
    record(
        uow,
        order,
        "return.received",
        {
            "return": row.number,
            "location": location,
            "lines": [
                {
                    "line": g.line_no,
                    "sku": order_lines[g.line_no].sku,
                    "quantity": g.quantity,
                    "disposition": g.disposition,
                    "source_code": order_lines[g.line_no].source_code or order.source_code,
                }
                for g in received
            ],
            "refund_due": str(Money.from_minor(row.refund_due_minor, row.currency).amount),
            "currency": row.currency,
            "exchange_order_id": str(row.exchange_order_id) if row.exchange_order_id else None,
        },
    )
    uow.audit(
        "return.received",
        object_type="return",
        object_id=str(row.id),
        after={"location": location, "refund_due_minor": row.refund_due_minor},
    )
    return _return(row, order, list(authorized.values()), list(order_lines.values()))


def _exchange_order(
    uow: UnitOfWork, original: OrderRow, exchanges: list[tuple[ReturnLineRow, OrderLineRow, int]]
) -> OrderRow:
    """A replacement order for the exchanged units, each at the unit price (and tax) the customer paid, shipped
    free to the original's first ship-to; linked to the original."""
    now = uow.now()
    order = OrderRow(
        id=new_id(),
        number=new_order_number(uow),
        channel=original.channel,
        division=original.division,
        external_id=None,
        customer_id=original.customer_id,
        customer_number=original.customer_number,
        email=original.email,
        status="released",
        payment_status="captured",
        fulfillment_status="unallocated",
        currency=original.currency,
        merchandise_minor=0,
        surcharges_minor=0,
        discounts_minor=0,
        shipping_minor=0,
        tax_minor=0,
        total_minor=0,
        source_code=original.source_code,
        coupons=[],
        billing=dict(original.billing),
        payment={"instructions": [{"method": "exchange", "reference": original.number}]},
        pricing={"adjustments": [], "note": f"exchange for order {original.number} at the original prices"},
        ship_tos=[{**original.ship_tos[0], "shipping_minor": 0, "shipping_tax_minor": 0}],
        allocation=[],
        address_key=original.address_key,
        card_key="",
        priority=original.priority + 10,
        exchange_for=original.id,
        placed_at=now,
        created_at=now,
        updated_at=now,
        version=1,
    )
    uow.session.add(order)
    uow.session.flush()
    lines: list[OrderLineRow] = []
    for n, (request, line, units) in enumerate(exchanges, start=1):
        item = catalog.selling_facts(uow, skus=[request.exchange_sku or line.sku])[
            (request.exchange_sku or line.sku).upper()
        ]
        charged = line.quantity - line.cancelled
        net = (line.merchandise_minor + line.surcharge_minor - line.discount_minor) * units // charged
        tax = line.tax_minor * units // charged
        new = OrderLineRow(
            order_id=order.id,
            line_no=n,
            item_id=item.id,
            sku=item.sku,
            name=item.name,
            quantity=units,
            ship_to=order.ship_tos[0]["ref"],
            personalization={},
            gift_message="",
            unit_price_minor=net // units,
            price_list="exchange",
            merchandise_minor=net,
            surcharge_minor=0,
            discount_minor=0,
            tax_minor=tax,
            reserved=0,
            backordered=0,
            cancelled=0,
            shipped=0,
            returned=0,
            returnable=True,
            allocations=[],
            source_code=line.source_code,  # the exchanged line's own code, inherited
        )
        uow.session.add(new)
        lines.append(new)
        order.merchandise_minor += net
        order.tax_minor += tax
    order.total_minor = order.merchandise_minor + order.tax_minor
    uow.session.flush()
    refs = refs_for(uow, sorted({line.sku for line in lines}))
    outcome = hold_stock(
        uow,
        order=order,
        wanted=[
            Wanted(line, line.quantity, True)
            for line in lines
            if refs[line.sku.upper()].keeps_stock or refs[line.sku.upper()].kind == "kit"
        ],
        items=refs,
    )
    for line in lines:
        line.backordered = outcome.backordered.get(line.line_no, 0)
    order.allocation = outcome.explanation
    order.fulfillment_status = fulfillment_status(lines)
    record(
        uow,
        order,
        "order.placed",
        {
            "status": order.status,
            "exchange_for": str(original.id),
            "total": str(Money.from_minor(order.total_minor, order.currency).amount),
        },
    )
    uow.audit(
        "order.placed",
        object_type="order",
        object_id=str(order.id),
        after={"number": order.number, "exchange_for": original.number},
    )
    return order
