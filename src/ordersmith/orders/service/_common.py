"""Shared pieces of the order use cases: the order as callers see it, loading it, its events and holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa

from ordersmith.kernel.errors import IllegalTransition, NotFound
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import rules
from ordersmith.orders.tables import OrderEventRow, OrderHoldRow, OrderLineRow, OrderRow
from ordersmith.platform.db import Base, UnitOfWork
from ordersmith.platform.numbers import next_number

R = TypeVar("R", bound=Base)


@dataclass(frozen=True)
class AllocationPart:
    location: str
    quantity: int
    status: str  # active | released | shipped | short (a picker found none of its units)
    key: str = ""  # the inventory reservation holding these units (fulfillment ships parts by it)
    seq: int = 0


@dataclass(frozen=True)
class OrderLine:
    line_no: int
    sku: str
    name: str
    quantity: int
    ship_to: str
    personalization: dict[str, str]
    gift_message: str
    unit_price: Money
    price_list: str
    merchandise: Money
    surcharge: Money
    discount: Money
    tax: Money
    total: Money
    reserved: int
    backordered: int
    cancelled: int
    shipped: int
    returned: int
    returnable: bool
    state: str  # reserved | partially_backordered | backordered | shipped | cancelled | …
    allocations: list[AllocationPart]
    # The source code the line counts under: its own (it came from another offer) or else its order's; its
    # returns and cancellations inherit it. `own_source_code` tells which: None when it is the order's.
    source_code: str | None = None
    own_source_code: str | None = None


@dataclass(frozen=True)
class ShipTo:
    ref: str
    name: str
    line1: str
    city: str
    country: str
    method: str
    line2: str = ""
    region: str = ""
    postal_code: str = ""
    phone: str = ""
    shipping: Money | None = None
    shipping_tax: Money | None = None


@dataclass(frozen=True)
class Hold:
    id: uuid.UUID
    reason: str
    detail: str
    status: str  # active | released | cancelled
    placed_at: datetime
    placed_by: str
    resolved_at: datetime | None
    resolved_by: str | None
    note: str


@dataclass(frozen=True)
class Order:
    id: uuid.UUID
    number: str
    channel: str
    division: str
    external_id: str | None
    customer_id: uuid.UUID | None
    customer_number: str | None
    email: str
    status: str
    payment_status: str
    fulfillment_status: str
    currency: str
    merchandise: Money
    surcharges: Money
    discounts: Money
    shipping: Money
    tax: Money
    total: Money
    source_code: str | None
    coupons: list[str]
    billing: dict[str, Any]
    payment: dict[str, Any]
    pricing: dict[str, Any]
    allocation: list[str]
    priority: int
    exchange_for: uuid.UUID | None
    placed_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int
    lines: list[OrderLine] = field(default_factory=list)
    ship_tos: list[ShipTo] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    fulfillment: str = "ship"  # ship | taken | pickup
    store: str | None = None
    release_at: datetime | None = (
        None  # pending in its channel's edit window: released then by the release job
    )
    imported: bool = False  # brought in from another system's history: no stock moved, no payment taken


def line_state(line: OrderLineRow) -> str:
    open_units = line.quantity - line.cancelled
    if open_units == 0:
        return "cancelled"
    if line.shipped >= open_units:
        return "shipped"
    if line.shipped:
        return "partially_shipped"
    if line.backordered == open_units:
        return "backordered"
    if line.backordered:
        return "partially_backordered"
    return "reserved" if line.reserved else "open"


def fulfillment_status(lines: list[OrderLineRow]) -> str:
    open_lines = [line for line in lines if line.quantity > line.cancelled]
    wanted = sum(line.quantity - line.cancelled for line in open_lines)
    shipped = sum(line.shipped for line in open_lines)
    backordered = sum(line.backordered for line in open_lines)
    if wanted and shipped >= wanted:
        return "shipped"
    if shipped:
        return "partially_shipped"
    if wanted and backordered == wanted:
        return "backordered"
    if backordered:
        return "partially_allocated"
    return "allocated" if open_lines else "unallocated"


def _money(minor: int, currency: str) -> Money:
    return Money.from_minor(minor, currency)


def to_line(row: OrderLineRow, currency: str, order_code: str | None = None) -> OrderLine:
    m = _money
    return OrderLine(
        line_no=row.line_no,
        sku=row.sku,
        name=row.name,
        quantity=row.quantity,
        ship_to=row.ship_to,
        personalization=dict(row.personalization or {}),
        gift_message=row.gift_message,
        unit_price=m(row.unit_price_minor, currency),
        price_list=row.price_list,
        merchandise=m(row.merchandise_minor, currency),
        surcharge=m(row.surcharge_minor, currency),
        discount=m(row.discount_minor, currency),
        tax=m(row.tax_minor, currency),
        total=m(row.merchandise_minor + row.surcharge_minor - row.discount_minor + row.tax_minor, currency),
        reserved=row.reserved,
        backordered=row.backordered,
        cancelled=row.cancelled,
        shipped=row.shipped,
        returned=row.returned,
        returnable=row.returnable,
        state=line_state(row),
        allocations=[
            AllocationPart(a["location"], a["quantity"], a["status"], a["key"], int(a["seq"]))
            for a in row.allocations
        ],
        source_code=row.source_code or order_code,
        own_source_code=row.source_code,
    )


def to_ship_to(data: dict[str, Any], currency: str) -> ShipTo:
    return ShipTo(
        ref=data["ref"],
        name=data["name"],
        line1=data["line1"],
        line2=data.get("line2", ""),
        city=data["city"],
        region=data.get("region", ""),
        postal_code=data.get("postal_code", ""),
        country=data["country"],
        phone=data.get("phone", ""),
        method=data["method"],
        shipping=_money(data.get("shipping_minor", 0), currency),
        shipping_tax=_money(data.get("shipping_tax_minor", 0), currency),
    )


def to_hold(row: OrderHoldRow) -> Hold:
    return Hold(
        id=row.id,
        reason=row.reason,
        detail=row.detail,
        status=row.status,
        placed_at=row.placed_at,
        placed_by=row.placed_by,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        note=row.note,
    )


def to_order(row: OrderRow, lines: list[OrderLineRow], holds: list[OrderHoldRow]) -> Order:
    c = row.currency
    return Order(
        id=row.id,
        number=row.number,
        channel=row.channel,
        division=row.division,
        external_id=row.external_id,
        customer_id=row.customer_id,
        customer_number=row.customer_number,
        email=row.email,
        status=row.status,
        payment_status=row.payment_status,
        fulfillment_status=row.fulfillment_status,
        currency=c,
        merchandise=_money(row.merchandise_minor, c),
        surcharges=_money(row.surcharges_minor, c),
        discounts=_money(row.discounts_minor, c),
        shipping=_money(row.shipping_minor, c),
        tax=_money(row.tax_minor, c),
        total=_money(row.total_minor, c),
        source_code=row.source_code,
        coupons=list(row.coupons or []),
        billing=dict(row.billing or {}),
        payment=dict(row.payment or {}),
        pricing=dict(row.pricing or {}),
        allocation=list(row.allocation or []),
        priority=row.priority,
        exchange_for=row.exchange_for,
        placed_at=row.placed_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        lines=[to_line(line, c, row.source_code) for line in sorted(lines, key=lambda r: r.line_no)],
        ship_tos=[to_ship_to(s, c) for s in row.ship_tos],
        holds=[to_hold(h) for h in sorted(holds, key=lambda h: (h.placed_at, h.id))],
        fulfillment=row.fulfillment,
        store=row.store,
        release_at=row.release_at if row.status == "pending" else None,
        imported=bool(row.imported),
    )


ORDER_SERIES = "order"
ORDER_NUMBER_SEQUENCE = "order_numbers"  # PostgreSQL: created by migration 0011, starts at 100001
_NEXT_ORDER_NUMBER = sa.text(f"SELECT nextval('{ORDER_NUMBER_SEQUENCE}')")


def new_order_number(uow: UnitOfWork) -> str:
    """The next order number: PostgreSQL's sequence (no lock held to commit; gaps tolerated), SQLite's counter
    (one writer at a time anyway). Capture on PostgreSQL takes it inside its INSERT instead (one statement less)."""
    if uow.dialect == "postgresql":
        return str(uow.execute_core(_NEXT_ORDER_NUMBER).scalar_one())
    return str(100000 + next_number(uow, ORDER_SERIES))


def by_ref(uow: UnitOfWork, model: type[R], ref: str, *, what: str, lock: bool = False) -> R:
    """An order or a return by id or by number (any letter case); `lock` takes its row lock (PostgreSQL).

    Raises:
        NotFound: naming `what` and the reference.
    """
    query = sa.select(model)
    try:
        query = query.where(model.id == uuid.UUID(ref))  # type: ignore[attr-defined]
    except ValueError:
        query = query.where(model.number == ref.strip().upper())  # type: ignore[attr-defined]
    if lock:
        query = query.with_for_update()
    row = uow.session.scalar(query)
    if row is None:
        raise NotFound(f"no {what} {ref!r}")
    return row


def order_row(uow: UnitOfWork, ref: str, *, lock: bool = False) -> OrderRow:
    """The order by id or number; `lock` takes its row lock (PostgreSQL) for a change."""
    return by_ref(uow, OrderRow, ref, what="order", lock=lock)


def lines_of(uow: UnitOfWork, order_id: uuid.UUID, *, lock: bool = False) -> list[OrderLineRow]:
    query = sa.select(OrderLineRow).where(OrderLineRow.order_id == order_id).order_by(OrderLineRow.line_no)
    if lock:
        query = query.with_for_update()
    return list(uow.session.scalars(query))


def holds_of(uow: UnitOfWork, order_id: uuid.UUID) -> list[OrderHoldRow]:
    return list(uow.session.scalars(sa.select(OrderHoldRow).where(OrderHoldRow.order_id == order_id)))


def load(uow: UnitOfWork, row: OrderRow) -> Order:
    return to_order(row, lines_of(uow, row.id), holds_of(uow, row.id))


_ORDERS = OrderRow.__table__
_LINES = OrderLineRow.__table__
_ORDER_BY_ID = sa.select(_ORDERS).where(_ORDERS.c.id == sa.bindparam("order_id"))
_ORDER_BY_ID_LOCKED = _ORDER_BY_ID.with_for_update()
_LINES_OF_ORDER = sa.select(_LINES).where(_LINES.c.order_id == sa.bindparam("order_id"))


def load_plain(uow: UnitOfWork, order_id: uuid.UUID, *, lock: bool) -> Order | None:
    """The order and its lines as plain rows (no ORM objects, no holds: `holds` is empty), for the event
    subscribers that only read the order — two prebuilt statements. `lock` takes the order's row lock
    (PostgreSQL `FOR UPDATE`; SQLite's writer lock is already held by any writing transaction)."""
    row = uow.execute_core(_ORDER_BY_ID_LOCKED if lock else _ORDER_BY_ID, {"order_id": order_id}).first()
    if row is None:
        return None
    lines = uow.execute_core(_LINES_OF_ORDER, {"order_id": order_id}).all()
    # Core rows carry the same names as the mapped attributes: to_order reads either.
    return to_order(cast(OrderRow, row), cast(list[OrderLineRow], lines), [])


_ORDERS_BY_IDS_LOCKED = (
    sa.select(_ORDERS)
    .where(_ORDERS.c.id.in_(sa.bindparam("order_ids", expanding=True)))
    .order_by(_ORDERS.c.id)
    .with_for_update()
)
_LINES_OF_ORDERS = sa.select(_LINES).where(_LINES.c.order_id.in_(sa.bindparam("order_ids", expanding=True)))


def load_plain_many(uow: UnitOfWork, order_ids: list[uuid.UUID]) -> list[Order]:
    """`load_plain(lock=True)` for many orders in two statements: the orders (locked in id order, the one lock
    order every batch takes) and all their lines. Orders that do not exist are left out."""
    if not order_ids:
        return []
    rows = uow.execute_core(_ORDERS_BY_IDS_LOCKED, {"order_ids": order_ids}).all()
    lines: dict[uuid.UUID, list[Any]] = {row.id: [] for row in rows}
    for line in uow.execute_core(_LINES_OF_ORDERS, {"order_ids": [row.id for row in rows]}).all():
        lines[line.order_id].append(line)
    return [to_order(cast(OrderRow, row), cast(list[OrderLineRow], lines[row.id]), []) for row in rows]


_INSERT_EVENTS = sa.insert(OrderEventRow.__table__)  # type: ignore[arg-type]


def record(uow: UnitOfWork, order: OrderRow, kind: str, detail: dict[str, Any], *, emit: bool = True) -> None:
    """Append an order event (the order's own history) and, unless told not to, the outbox event of that name."""
    uow.execute_core(
        _INSERT_EVENTS,
        {
            "order_id": order.id,
            "id": new_id(),
            "kind": kind,
            "detail": detail,
            "actor": uow.actor.label,
            "at": uow.now(),
        },
    )
    if emit:
        uow.emit(
            kind, {"order_id": str(order.id), "number": order.number, "channel": order.channel, **detail}
        )


def move(uow: UnitOfWork, order: OrderRow, action: str, detail: dict[str, Any] | None = None) -> str:
    """Move the order's status along the transition table (409 `illegal_transition` naming the state otherwise),
    bump its version and record the move."""
    try:
        target = rules.next_status(order.status, action)
    except rules.IllegalMove as exc:
        raise IllegalTransition(str(exc), state=order.status, action=action) from None
    before = order.status
    order.status = target
    order.version += 1
    order.updated_at = uow.now()
    record(
        uow, order, f"order.{_EVENT_OF.get(action, action)}", {"from": before, "to": target, **(detail or {})}
    )
    return target


_EVENT_OF = {
    "hold": "held",
    "release": "released",
    "cancel": "cancelled",
    "ship_part": "shipped_in_part",
    "ship_all": "shipped",
    "complete": "completed",
}


def shipped_from(parts: dict[int, list[dict[str, Any]]], keys: set[str] | None) -> dict[int, dict[str, int]]:
    """Line -> location code -> units of the allocation parts shipping now (`keys`; None: those already marked
    shipped), for the ledger's cost per location."""
    where: dict[int, dict[str, int]] = {}
    for line_no, line_parts in parts.items():
        for part in line_parts:
            if (
                (part["status"] == "active" and part["key"] in keys)
                if keys is not None
                else part["status"] == "shipped"
            ):
                here = where.setdefault(line_no, {})
                here[part["location"]] = here.get(part["location"], 0) + int(part["quantity"])
    return where
