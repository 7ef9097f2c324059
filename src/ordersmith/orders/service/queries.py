"""Reading orders: one order, filtered pages of orders, the hold queue, an order's timeline."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ordersmith.customers import service as customers
from ordersmith.kernel.clock import ensure_utc
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.events import Event
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page
from ordersmith.orders import rules
from ordersmith.orders.service._common import Order, load, order_row
from ordersmith.orders.tables import OrderEventRow, OrderHoldRow, OrderRow
from ordersmith.platform import custom_fields as custom
from ordersmith.platform import sets
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page
from ordersmith.platform.tables import AuditRow


@dataclass(frozen=True)
class OrderSummary:
    id: uuid.UUID
    number: str
    channel: str
    external_id: str | None
    customer_number: str | None
    status: str
    payment_status: str
    fulfillment_status: str
    total: Money
    source_code: str | None
    placed_at: datetime


def _summary(row: OrderRow) -> OrderSummary:
    return OrderSummary(
        id=row.id,
        number=row.number,
        channel=row.channel,
        external_id=row.external_id,
        customer_number=row.customer_number,
        status=row.status,
        payment_status=row.payment_status,
        fulfillment_status=row.fulfillment_status,
        total=Money.from_minor(row.total_minor, row.currency),
        source_code=row.source_code,
        placed_at=row.placed_at,
    )


@use_case(readonly=True)
def get_order(uow: UnitOfWork, *, ref: str, channel: str | None = None) -> Order:
    """The order by id or number, with its lines, ship-tos and holds. With `channel` (a channel-bound caller),
    another channel's order answers NotFound, as if it did not exist."""
    row = order_row(uow, ref)
    if channel is not None and row.channel != channel:
        from ordersmith.kernel.errors import NotFound

        raise NotFound(f"no order {ref!r}")
    return load(uow, row)


def order_channels(session: Session, order_ids: set[str]) -> dict[str, str]:
    """Each order's channel, for tagging the events that name it (registered with `tag_order_events_with`)."""
    ids = []
    for order_id in order_ids:
        try:
            ids.append(uuid.UUID(order_id))
        except ValueError:
            continue
    rows = session.connection().execute(sa.select(OrderRow.id, OrderRow.channel).where(OrderRow.id.in_(ids)))
    return {str(order_id): channel for order_id, channel in rows}


def channel_order_ids(channel: str) -> sa.Select[tuple[uuid.UUID]]:
    """The ids of a channel's orders, as a subquery: other contexts filter the rows an order owns (payments,
    invoices, gift cards sold on it) to one channel's with `order_id IN (…)` (index `ix_orders_channel_placed`)."""
    return sa.select(OrderRow.id).where(OrderRow.channel == channel)


@use_case(readonly=True)
def order_numbers(uow: UnitOfWork, *, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The numbers of these orders (one read; unknown ids are absent): to show people numbers, not ids."""
    if not ids:
        return {}
    rows = uow.execute_core(sa.select(OrderRow.id, OrderRow.number).where(OrderRow.id.in_(sorted(set(ids)))))
    return {order_id: number for order_id, number in rows}


@use_case(readonly=True)
def order_dimensions(uow: UnitOfWork, *, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    """Each order's (division, channel), one read by primary key (unknown ids are absent): what the ledger tags
    the lines of an order's entries with."""
    if not ids:
        return {}
    query = _DIMENSIONS.get(uow.dialect)
    if query is None:
        query = _DIMENSIONS[uow.dialect] = sa.select(OrderRow.id, OrderRow.division, OrderRow.channel).where(
            sets.among(OrderRow.id, "ids", dialect=uow.dialect)  # type: ignore[arg-type]
        )
    rows = uow.execute_core(query, {"ids": list(set(ids))})
    return {order_id: (division, channel) for order_id, division, channel in rows}


_DIMENSIONS: dict[str, sa.Select[Any]] = {}


@use_case(readonly=True)
def order_in_channel(uow: UnitOfWork, *, order_id: uuid.UUID | None, channel: str) -> bool:
    """Whether the order exists and was placed through `channel`."""
    if order_id is None:
        return False
    found = uow.session.scalar(sa.select(OrderRow.channel).where(OrderRow.id == order_id))
    return found == channel


@use_case(readonly=True)
def list_orders(
    uow: UnitOfWork,
    *,
    channel: str | None = None,
    status: str | None = None,
    fulfillment_status: str | None = None,
    customer: str | None = None,
    placed_from: datetime | None = None,
    placed_to: datetime | None = None,
    source_code: str | None = None,
    hold_reason: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    custom_filters: Mapping[str, str] | None = None,
) -> Page[OrderSummary]:
    """Newest placed first (then by id), filtered by channel, status (of the order or of its fulfillment),
    customer (id or number), placing time range, source code and the reason of an active hold. Each filter's index
    ends in placed_at, so a page reads about its own orders whatever the history (ADR 0028).

    Raises:
        ValidationFailed: a status that is not one of the known ones (named by its field), or a range backwards.
    """
    for name, value, known in (("status", status, rules.ORDER_STATUSES),
                               ("fulfillment_status", fulfillment_status, rules.FULFILLMENT_STATUSES)):  # fmt: skip
        if value is not None and value not in known:
            raise ValidationFailed.on(name, f"must be one of {', '.join(known)}")
    query = sa.select(OrderRow)
    if hold_reason:
        query = query.where(OrderRow.id.in_(sa.select(OrderHoldRow.order_id).where(
            OrderHoldRow.status == "active", OrderHoldRow.reason == hold_reason)))  # fmt: skip
    if channel:
        query = query.where(OrderRow.channel == channel)
    if status:
        query = query.where(OrderRow.status == status)
    if fulfillment_status:
        query = query.where(OrderRow.fulfillment_status == fulfillment_status)
    if customer:
        query = query.where(_customer_is(uow, customer))
    if placed_from and placed_to and placed_from > placed_to:
        raise ValidationFailed.on("placed_from", "must not be after placed_to")
    if placed_from:
        query = query.where(OrderRow.placed_at >= placed_from)
    if placed_to:
        query = query.where(OrderRow.placed_at < placed_to)
    if source_code:
        query = query.where(OrderRow.source_code == source_code.upper())
    for matching in custom.matching(uow, kind="order", filters=custom_filters or {}):
        query = query.where(OrderRow.id.in_(matching))  # custom field values: an index lookup each
    return keyset_page(
        uow,
        query,
        keys=[OrderRow.placed_at, OrderRow.id],
        to_item=_summary,
        cursor=cursor,
        limit=limit,
        descending=True,
    )


def _customer_is(uow: UnitOfWork, customer: str) -> sa.ColumnElement[bool]:
    """Orders of a customer given by id or number: a number goes through the customer's id (one light read), the
    column the orders' index (customer_id, placed_at) is on; an unknown number matches nothing."""
    try:
        return OrderRow.customer_id == uuid.UUID(customer)
    except ValueError:
        try:
            return OrderRow.customer_id == customers.buyer_facts(uow, ref=customer).id
        except NotFound:
            return sa.false()


@dataclass(frozen=True)
class QueuedHold:
    order_id: uuid.UUID
    order_number: str
    channel: str
    total: Money
    hold_id: uuid.UUID
    reason: str
    detail: str
    placed_at: datetime


@use_case(readonly=True)
def list_holds(
    uow: UnitOfWork, *, reason: str | None = None, channel: str | None = None, limit: int = 100
) -> list[QueuedHold]:
    """The hold queue: every active hold (of one channel's orders, with `channel`), oldest first — the order that
    has waited longest is worked first."""
    query = (
        sa.select(OrderHoldRow, OrderRow.number, OrderRow.channel, OrderRow.total_minor, OrderRow.currency)
        .join(OrderRow, OrderRow.id == OrderHoldRow.order_id)
        .where(OrderHoldRow.status == "active")
        .order_by(OrderHoldRow.placed_at, OrderHoldRow.id)
        .limit(limit)
    )
    if reason:
        query = query.where(OrderHoldRow.reason == reason)
    if channel:
        query = query.where(OrderRow.channel == channel)
    return [
        QueuedHold(
            order_id=h.order_id,
            order_number=number,
            channel=channel,
            total=Money.from_minor(total, currency),
            hold_id=h.id,
            reason=h.reason,
            detail=h.detail,
            placed_at=h.placed_at,
        )
        for h, number, channel, total, currency in uow.session.execute(query)
    ]


@dataclass(frozen=True)
class HeldOrder:
    """One order in the hold queue, with every active hold it has (the console's dense row)."""

    order_id: uuid.UUID
    order_number: str
    channel: str
    customer_number: str | None
    customer_name: str
    total: Money
    placed_at: datetime
    held_since: datetime  # its oldest active hold
    holds: list[tuple[str, str]]  # (reason, detail), oldest first
    version: int


@use_case(readonly=True)
def list_held_orders(
    uow: UnitOfWork, *, reason: str | None = None, channel: str | None = None, limit: int = 200
) -> list[HeldOrder]:
    """The hold queue one order per row, the order held longest first: its customer, amount and every active
    hold's reason (with `reason`, only orders held for that reason; with `channel`, one channel's orders).
    Reads the active holds only (an index range), never the order history."""
    oldest = (
        sa.select(OrderHoldRow.order_id, sa.func.min(OrderHoldRow.placed_at).label("since"))
        .where(OrderHoldRow.status == "active")
        .group_by(OrderHoldRow.order_id)
    )
    if reason:
        oldest = oldest.where(OrderHoldRow.order_id.in_(sa.select(OrderHoldRow.order_id).where(
            OrderHoldRow.status == "active", OrderHoldRow.reason == reason)))  # fmt: skip
    queued = oldest.subquery()
    query = (
        sa.select(OrderRow, queued.c.since)
        .join(queued, queued.c.order_id == OrderRow.id)
        .order_by(queued.c.since, OrderRow.id)
        .limit(limit)
    )
    if channel:
        query = query.where(OrderRow.channel == channel)
    rows = uow.session.execute(query).all()
    holds: dict[uuid.UUID, list[tuple[str, str]]] = {}
    for hold in uow.session.scalars(
        sa.select(OrderHoldRow)
        .where(OrderHoldRow.order_id.in_([row.id for row, _ in rows]), OrderHoldRow.status == "active")
        .order_by(OrderHoldRow.placed_at, OrderHoldRow.id)
    ):
        holds.setdefault(hold.order_id, []).append((hold.reason, hold.detail))
    return [
        HeldOrder(
            order_id=row.id,
            order_number=row.number,
            channel=row.channel,
            customer_number=row.customer_number,
            customer_name=_buyer_name(row),
            total=Money.from_minor(row.total_minor, row.currency),
            placed_at=ensure_utc(row.placed_at),
            held_since=ensure_utc(since),
            holds=holds.get(row.id, []),
            version=row.version,
        )
        for row, since in rows
    ]


def _buyer_name(row: OrderRow) -> str:
    """Who the order is for, as the order recorded it: the payer's name, else the first recipient's."""
    for address in (row.billing or {}, *(row.ship_tos or [])):
        name = str(address.get("name") or "").strip() if isinstance(address, dict) else ""
        if name:
            return name
    return ""


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # the event's name, or the audited action
    source: str  # event | audit
    actor: str
    detail: dict[str, Any]


@use_case(readonly=True)
def order_timeline(uow: UnitOfWork, *, ref: str, channel: str | None = None) -> list[TimelineEntry]:
    """The order's history, oldest first: its events and the audit entries written about it (and its returns)."""
    order = get_order(uow, ref=ref, channel=channel)
    events = [
        TimelineEntry(at=e.at, kind=e.kind, source="event", actor=e.actor, detail=dict(e.detail))
        for e in uow.session.scalars(sa.select(OrderEventRow).where(OrderEventRow.order_id == order.id))
    ]
    audits = [
        TimelineEntry(at=a.at, kind=a.action, source="audit", actor=a.actor_label, detail=dict(a.after or {}))
        for a in uow.session.scalars(
            sa.select(AuditRow).where(AuditRow.object_type == "order", AuditRow.object_id == str(order.id))
        )
    ]
    return sorted(events + audits, key=lambda e: (e.at, e.source != "event"))


@use_case
def move_orders_to_survivor(
    uow: UnitOfWork, *, merged_id: uuid.UUID, survivor_id: uuid.UUID, survivor: str
) -> int:
    """After two customers were merged, the merged one's orders belong to the survivor; returns how many moved."""
    moved = uow.execute_core(
        sa.update(OrderRow.__table__)  # type: ignore[arg-type]
        .where(OrderRow.__table__.c.customer_id == merged_id)
        .values(customer_id=survivor_id, customer_number=survivor)
    ).rowcount
    if moved:
        uow.audit("orders.customer_merged", object_type="customer", object_id=survivor,
                  after={"merged_id": str(merged_id), "orders": int(moved)})  # fmt: skip
    return int(moved or 0)


def on_customer_merged(uow: UnitOfWork, event: Event) -> None:
    """Subscriber: orders follow a merged customer to the survivor."""
    payload = event.payload
    merged, survivor_id = uuid.UUID(payload["merged_id"]), uuid.UUID(payload["survivor_id"])
    move_orders_to_survivor(uow, merged_id=merged, survivor_id=survivor_id, survivor=payload["survivor"])


@use_case(readonly=True)
def find_orders(uow: UnitOfWork, *, q: str, limit: int = 10) -> list[OrderSummary]:
    """Orders whose number or channel order id starts with what was typed (search as you type)."""
    typed = q.strip()
    if len(typed) < 2:
        return []
    # Prefix ranges, not LIKE, each answered from its own index (number, external_id) in its own order; the newest
    # of those few come first. (One query ordered by placing time let PostgreSQL walk the placed_at index instead.)
    found: dict[uuid.UUID, OrderRow] = {}
    for column, prefix in ((OrderRow.number, typed.upper()), (OrderRow.external_id, typed)):
        query = (
            sa.select(OrderRow)
            .where(column >= prefix, column < prefix + "\uffff")
            .order_by(column)
            .limit(limit)
        )
        found.update((row.id, row) for row in uow.session.scalars(query))
    newest = sorted(found.values(), key=lambda row: row.placed_at, reverse=True)[:limit]
    return [_summary(row) for row in newest]


@dataclass(frozen=True)
class ChannelDay:
    channel: str
    orders: int
    revenue: Money


@dataclass(frozen=True)
class Barometers:
    """A manager's figures since `since` (today, in UTC): orders and revenue by channel, the average order, what
    waits (orders on hold, backordered lines and units), and the newest orders."""

    since: datetime
    by_channel: list[ChannelDay]
    orders: int
    revenue: Money
    average_order: Money
    on_hold: int
    backordered_lines: int
    backordered_units: int
    latest: list[OrderSummary]


@use_case(readonly=True)
def barometers(uow: UnitOfWork, *, since: datetime, currency: str = "USD") -> Barometers:
    """The dashboard's figures in five small aggregate queries (cancelled orders count for nothing)."""
    from ordersmith.orders.tables import OrderLineRow

    # Grouped by `channel || ''`, not by the column: SQLite (no statistics) would otherwise walk the whole
    # (channel, placed_at) index in channel order to skip a sort, reading every order ever placed; over the
    # expression both databases read only the orders since `since` from ix_orders_placed, then sort a few groups.
    by = OrderRow.channel.concat("")
    rows = uow.session.execute(
        sa.select(by, sa.func.count(), sa.func.coalesce(sa.func.sum(OrderRow.total_minor), 0))
        .where(OrderRow.placed_at >= since, OrderRow.status != "cancelled", OrderRow.currency == currency)
        .group_by(by).order_by(by)
    ).all()  # fmt: skip
    by_channel = [
        ChannelDay(channel, int(n), Money.from_minor(int(total), currency)) for channel, n, total in rows
    ]
    count = sum(c.orders for c in by_channel)
    revenue = sum((c.revenue for c in by_channel), Money.zero(currency))
    on_hold = int(uow.session.scalar(sa.select(sa.func.count()).where(OrderRow.status == "on_hold")) or 0)
    lines, units = uow.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(OrderLineRow.backordered), 0))
        .where(OrderLineRow.backordered > 0)
    ).one()  # fmt: skip
    latest = [_summary(r) for r in uow.session.scalars(
        sa.select(OrderRow).order_by(OrderRow.placed_at.desc()).limit(10))]  # fmt: skip
    average = Money.from_minor(revenue.minor // count, currency) if count else Money.zero(currency)
    return Barometers(since=since, by_channel=by_channel, orders=count, revenue=revenue, average_order=average,
                      on_hold=on_hold, backordered_lines=int(lines), backordered_units=int(units),
                      latest=latest)  # fmt: skip


@dataclass(frozen=True)
class CustomerTotals:
    orders: int
    lifetime_value: Money
    last_order_at: datetime | None


@use_case(readonly=True)
def customer_totals(uow: UnitOfWork, *, customer_id: uuid.UUID, currency: str = "USD") -> CustomerTotals:
    """How many orders a customer placed, what they were worth (cancelled ones count for nothing) and when the
    last one came — one aggregate over the customer's index."""
    count, total, last = uow.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(OrderRow.total_minor), 0),
                  sa.func.max(OrderRow.placed_at))
        .where(OrderRow.customer_id == customer_id, OrderRow.status != "cancelled", OrderRow.currency == currency)
    ).one()  # fmt: skip
    return CustomerTotals(int(count), Money.from_minor(int(total), currency), last)


@dataclass(frozen=True)
class ReturnSummary:
    number: str
    order_number: str
    status: str
    refund_due: Money
    authorized_at: datetime


@use_case(readonly=True)
def customer_returns(uow: UnitOfWork, *, customer_id: uuid.UUID, limit: int = 20) -> list[ReturnSummary]:
    """A customer's returns, newest first (for the customer's page)."""
    from ordersmith.orders.tables import ReturnRow

    rows = uow.session.execute(
        sa.select(ReturnRow, OrderRow.number).join(OrderRow, OrderRow.id == ReturnRow.order_id)
        .where(OrderRow.customer_id == customer_id).order_by(ReturnRow.authorized_at.desc()).limit(limit)
    ).all()  # fmt: skip
    return [ReturnSummary(r.number, number, r.status, Money.from_minor(r.refund_due_minor, r.currency),
                          r.authorized_at) for r, number in rows]  # fmt: skip
