"""Cancellations and refunds a channel reports after it sent an order (Shopify's `orders/cancelled` and
`refunds/create`, WooCommerce's `order.updated` to cancelled or refunded, Amazon's `Canceled` on a poll, eBay's
cancel state and refunds), and edits read from a later version of the order (another ship-to, fewer units of a
SKU), applied through the orders and payments use cases exactly once.

A reported change is kept once under the channel's own key (`channel_order_changes`, unique on connector, order
id, kind and key) in the transaction that reads the delivery, and a job applies it: an order not imported yet
waits (a cancellation stops its import); an open order is cancelled (payments refunds what it had taken); a refund
is given back to the order's tenders under an idempotency key of its own; an order that has shipped is never
cancelled behind the warehouse's back — the change is flagged with the reason and dead-lettered, visible on the
connector's health, and replayable. An edit brings the order to the channel's latest version (the inbox keeps
it): the ship-to through the address correction, unless a shipment is packed or shipped; units down through the
lines' cancellation, never units that shipped (both flagged like a shipped cancellation).

Invariants: one change is applied at most once however often and in whatever order it is delivered (its row is
locked while it is applied; a refund's key makes a retried refund a replay); no call out inside a transaction (a
refund may reach a card gateway: it runs with no transaction open).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.channels import connectors, rules
from ordersmith.channels.service._common import Loaded, dead_letter, load
from ordersmith.channels.tables import ChangeRow, ChannelOrderRow, SkuMapRow
from ordersmith.fulfillment import service as fulfillment
from ordersmith.kernel.errors import IllegalTransition, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import jobs
from ordersmith.platform.db import UnitOfWork, use_case

APPLY_JOB = "channels.apply_change"
OPEN = ("pending", "waiting")


@dataclass(frozen=True)
class Change:
    id: uuid.UUID
    external_id: str
    kind: str
    key: str
    status: str
    detail: str | None
    deliveries: int


def _insert(uow: UnitOfWork) -> Any:
    return postgresql_insert(ChangeRow) if uow.dialect == "postgresql" else sqlite_insert(ChangeRow)


def record_changes(uow: UnitOfWork, loaded: Loaded, changes: Sequence[rules.ChannelChange]) -> int:
    """Keep the channel's reported changes (in the caller's transaction) and queue each new one to be applied; one
    seen before counts a delivery and changes nothing else. Returns how many were new."""
    new = 0
    now = uow.now()
    for change in changes:
        amount_minor = None
        if change.amount is not None:
            amount_minor = Money(change.amount, change.currency).minor
        row_id = new_id()
        inserted = uow.session.execute(
            _insert(uow)
            .values(
                id=row_id,
                connector_id=loaded.row.id,
                external_id=change.external_id[:100],
                kind=change.kind,
                change_key=change.key[:100],
                amount_minor=amount_minor,
                currency=change.currency or None,
                reason=(change.reason or f"{change.kind} on the channel")[:200],
                status="pending",
                detail=None,
                order_id=None,
                channel_at=change.at,
                deliveries=1,
                received_at=now,
                applied_at=None,
            )
            .on_conflict_do_nothing(index_elements=["connector_id", "external_id", "kind", "change_key"])
            .returning(ChangeRow.id)
        ).scalar()
        if inserted is None:
            uow.session.execute(
                sa.update(ChangeRow)
                .where(
                    ChangeRow.connector_id == loaded.row.id,
                    ChangeRow.external_id == change.external_id[:100],
                    ChangeRow.kind == change.kind,
                    ChangeRow.change_key == change.key[:100],
                )
                .values(deliveries=ChangeRow.deliveries + 1)
            )
            continue
        new += 1
        jobs.enqueue(uow, APPLY_JOB, {"change_id": str(row_id)})
    return new


def cancelled_before_import(uow: UnitOfWork, connector_id: uuid.UUID, external_id: str) -> bool:
    """Whether the channel cancelled this order before it reached us (in the caller's transaction, as the order
    is first recorded): it is then kept as `cancelled` and never imported, and the cancellation is applied."""
    waiting = uow.session.scalar(
        sa.select(ChangeRow)
        .where(
            ChangeRow.connector_id == connector_id,
            ChangeRow.external_id == external_id,
            ChangeRow.kind == "cancel",
            ChangeRow.status.in_(OPEN),
        )
        .with_for_update()
    )
    if waiting is None:
        return False
    _settle(uow, waiting, "applied", "cancelled on the channel before it was imported: never placed")
    return True


def wake(uow: UnitOfWork, connector_id: uuid.UUID, external_id: str, *, was_dropped: bool = False) -> None:
    """The channel's order was just imported (in that transaction): queue the changes waiting for it. When its
    import was dropped for a cancellation while checkout was placing it (`was_dropped`), that cancellation is
    applied again, to the order now placed."""
    wanted: sa.ColumnElement[bool] = ChangeRow.status.in_(OPEN)
    if was_dropped:
        wanted = sa.or_(wanted, sa.and_(ChangeRow.kind == "cancel", ChangeRow.order_id.is_(None)))
    waiting = uow.session.scalars(
        sa.select(ChangeRow)
        .where(ChangeRow.connector_id == connector_id, ChangeRow.external_id == external_id, wanted)
        .with_for_update()
    ).all()
    for row in waiting:
        row.status = "pending"
        jobs.enqueue(uow, APPLY_JOB, {"change_id": str(row.id)})


def requeue(uow: UnitOfWork, *, change_id: uuid.UUID) -> None:
    """Apply a flagged change again (a dead letter replayed after its cause was dealt with)."""
    row = uow.session.get(ChangeRow, change_id, with_for_update=True)
    if row is not None and row.status == "flagged":
        row.status = "pending"
        row.detail = None
        jobs.enqueue(uow, APPLY_JOB, {"change_id": str(row.id)})


@dataclass(frozen=True)
class _Plan:
    change_id: uuid.UUID
    kind: str
    outcome: str
    order_id: uuid.UUID | None
    amount: Money | None
    reason: str
    address: dict[str, str] | None = None  # an address change: the ship-to of the channel's latest version
    item: str = ""  # a quantity reduction: our SKU, and its units in the channel's latest version
    target: int = 0


@use_case(readonly=True)
def _plan(uow: UnitOfWork, *, change_id: uuid.UUID) -> _Plan | None:
    row = uow.session.get(ChangeRow, change_id)
    if row is None or row.status not in OPEN:
        return None
    inbox = uow.session.scalar(
        sa.select(ChannelOrderRow).where(
            ChannelOrderRow.connector_id == row.connector_id, ChannelOrderRow.external_id == row.external_id
        )
    )
    order = None
    if inbox is not None and inbox.order_id is not None:
        order = orders.get_order(uow, ref=str(inbox.order_id))
    order_status = order.status if order is not None else None
    if row.kind == rules.ADDRESS_CHANGED:
        return _plan_address(uow, row, inbox, order)
    if row.kind == rules.QUANTITY_REDUCED:
        return _plan_quantity(uow, row, inbox, order)
    outcome = rules.change_outcome(
        kind=row.kind, order_status=order_status, inbox_status=inbox.status if inbox is not None else None
    )
    amount = None
    if row.amount_minor is not None and row.currency:
        amount = Money.from_minor(row.amount_minor, row.currency)
    order_id = inbox.order_id if inbox is not None else None
    return _Plan(row.id, row.kind, outcome, order_id, amount, row.reason)


def _plan_address(
    uow: UnitOfWork, row: ChangeRow, inbox: ChannelOrderRow | None, order: orders.Order | None
) -> _Plan:
    latest = None
    if inbox is not None:
        loaded = load(uow, connector_id=row.connector_id)
        try:
            parsed = connectors.for_kind(loaded.row.kind).parse_order(inbox.payload)
            latest = rules.ship_to_fields(parsed.ship_to)
        except ValidationFailed:
            latest = None
    outcome = rules.address_outcome(
        key=row.change_key,
        latest=latest,
        current=_ship_to(order),
        order_status=order.status if order is not None else None,
        inbox_status=inbox.status if inbox is not None else None,
        packed=order is not None and _packed(uow, order.id),
    )
    return _Plan(row.id, row.kind, outcome, order.id if order else None, None, row.reason, latest)


def _plan_quantity(
    uow: UnitOfWork, row: ChangeRow, inbox: ChannelOrderRow | None, order: orders.Order | None
) -> _Plan:
    token, units = rules.parse_quantity_key(row.change_key)
    latest: dict[str, int] | None = None
    if inbox is not None:
        loaded = load(uow, connector_id=row.connector_id)
        try:
            latest = rules.channel_quantities(
                connectors.for_kind(loaded.row.kind).parse_order(inbox.payload).lines
            )
        except ValidationFailed:
            latest = None
    mapped = {
        m.channel_sku: m.item_sku.upper()
        for m in uow.session.scalars(sa.select(SkuMapRow).where(SkuMapRow.connector_id == row.connector_id))
    }
    channel_sku = next((c for c in sorted({*mapped, *(latest or {})}) if rules.sku_token(c) == token), None)
    item = mapped.get(channel_sku) if channel_sku is not None else None
    lines = [line for line in (order.lines if order else []) if line.sku.upper() == item]
    target = sum(q for c, q in (latest or {}).items() if mapped.get(c) == item)
    outcome = rules.quantity_outcome(
        superseded=latest is None or item is None or latest.get(channel_sku or "", 0) != units,
        target=target,
        ordered=sum(line.quantity - line.cancelled for line in lines),
        open_units=sum(line.quantity - line.cancelled - line.shipped for line in lines),
        order_status=order.status if order is not None else None,
        inbox_status=inbox.status if inbox is not None else None,
    )
    order_id = order.id if order else None
    return _Plan(row.id, row.kind, outcome, order_id, None, row.reason, item=item or "", target=target)


def _ship_to(order: orders.Order | None) -> dict[str, str] | None:
    if order is None or not order.ship_tos:
        return None
    first = order.ship_tos[0]  # a channel's order has one ship-to (`main`)
    return {
        "name": first.name,
        "line1": first.line1,
        "line2": first.line2,
        "city": first.city,
        "region": first.region,
        "postal_code": first.postal_code,
        "country": first.country,
        "phone": first.phone,
    }


def _packed(uow: UnitOfWork, order_id: uuid.UUID) -> bool:
    return any(
        s.status in rules.PACKED_SHIPMENT_STATES
        for s in fulfillment.order_shipments(uow, order_id=str(order_id))
    )


def apply_change(uow: UnitOfWork, *, change_id: uuid.UUID) -> str:
    """Apply one reported change; returns its status afterwards (`waiting`, `applied`, `flagged`) or `skipped`
    (applied or flagged already). Never called inside a transaction (a refund may call a card gateway)."""
    assert not uow.active, "a refund may call out: no transaction is open here"
    plan = _plan(uow, change_id=change_id)
    if plan is None:
        return "skipped"
    if plan.outcome == "wait":
        return _mark(
            uow, change_id=change_id, status="waiting", detail="waiting for the order to be imported"
        )
    if plan.outcome == "drop_import":
        return _drop_import(uow, change_id=change_id)
    if plan.kind == rules.ADDRESS_CHANGED:
        return _apply_address(uow, plan)
    if plan.kind == rules.QUANTITY_REDUCED:
        return _apply_quantity(uow, plan)
    if plan.outcome == "done":
        what = "the order was cancelled already" if plan.kind == "cancel" else "refunded by the cancellation"
        return _mark(uow, change_id=change_id, status="applied", detail=what)
    if plan.outcome == "flag":
        return _flag(
            uow,
            change_id=change_id,
            detail="the order has shipped: not cancelled; stop the parcel or take it back as a return",
        )
    assert plan.order_id is not None
    if plan.outcome == "cancel":
        try:
            return _cancel(uow, change_id=change_id, order_id=plan.order_id)
        except (IllegalTransition, ValidationFailed) as exc:  # shipped meanwhile: flagged, never forced
            return _flag(uow, change_id=change_id, detail=f"not cancelled: {exc}")
    if plan.amount is None or plan.amount.is_zero():
        return _mark(uow, change_id=change_id, status="applied", detail="no money moved on the channel")
    try:
        payments.refund_order(
            uow,
            order_id=plan.order_id,
            amount=plan.amount,
            reason=f"refunded on the channel: {plan.reason}"[:200],
            key=f"channel-change:{change_id}",
        )
    except payments.RefundExceedsRefundable as exc:
        return _flag(uow, change_id=change_id, detail=f"not refunded: {exc}")
    return _mark(uow, change_id=change_id, status="applied", detail=f"refunded {plan.amount}")


ADDRESS_FLAGGED = (
    "a shipment is packed or shipped: the ship-to was not changed; re-route the parcel with the carrier"
)


def _apply_address(uow: UnitOfWork, plan: _Plan) -> str:
    if plan.outcome == "done":
        return _mark(
            uow,
            change_id=plan.change_id,
            status="applied",
            detail="nothing to change: the order already ships there, or is cancelled",
            emit=False,
        )
    if plan.outcome == "superseded":
        detail = "superseded: a later version of the order on the channel names another address"
        return _mark(uow, change_id=plan.change_id, status="applied", detail=detail, emit=False)
    if plan.outcome == "flag":
        return _flag(uow, change_id=plan.change_id, detail=ADDRESS_FLAGGED)
    assert plan.outcome == "edit"
    assert plan.order_id is not None
    assert plan.address is not None
    try:
        return _edit_address(uow, change_id=plan.change_id, order_id=plan.order_id, address=plan.address)
    except (IllegalTransition, ValidationFailed) as exc:  # shipped meanwhile, or an address we cannot take
        return _flag(uow, change_id=plan.change_id, detail=f"ship-to not changed: {exc}")


@use_case
def _edit_address(
    uow: UnitOfWork, *, change_id: uuid.UUID, order_id: uuid.UUID, address: dict[str, str]
) -> str:
    row = _locked(uow, change_id)
    if row is None:
        return "skipped"
    order = orders.lock_for_payment(uow, ref=str(order_id))  # the order's row lock, to the end of this edit
    current = _ship_to(order)
    if current is not None and rules.address_fingerprint(current) == rules.address_fingerprint(address):
        # another change of this order applied the same latest address since the plan was read
        _settle(uow, row, "applied", "nothing to change: the order already ships there")
        return "applied"
    if order.status in rules.SHIPPED_STATES or _packed(uow, order_id):  # packed since the plan: never forced
        raise IllegalTransition(ADDRESS_FLAGGED)
    ref = order.ship_tos[0].ref
    # The channel owns its order's ship-to: its correction is taken after release like a manager's.
    orders.edit_order(
        uow,
        ref=str(order_id),
        changes=orders.OrderChanges(ship_tos=[{"ref": ref, **address}]),
        expected_version=order.version,
        may_correct_released=True,
    )
    row.order_id = order_id
    _settle(uow, row, "applied", f"order {order.number} now ships to {address['line1']}, {address['city']}")
    _emit(uow, row)
    return "applied"


QUANTITY_FLAGGED = "units have shipped: not cancelled; take them back as a return"


def _apply_quantity(uow: UnitOfWork, plan: _Plan) -> str:
    if plan.outcome in ("done", "superseded"):
        detail = (
            "nothing to cancel: the order has no more units than the channel's latest version, or is cancelled"
            if plan.outcome == "done"
            else "superseded: a later version of the order on the channel names other units"
        )
        return _mark(uow, change_id=plan.change_id, status="applied", detail=detail, emit=False)
    if plan.outcome == "flag":
        return _flag(uow, change_id=plan.change_id, detail=QUANTITY_FLAGGED)
    assert plan.outcome == "cut"
    assert plan.order_id is not None
    try:
        return _cut_lines(
            uow, change_id=plan.change_id, order_id=plan.order_id, item=plan.item, target=plan.target
        )
    except (IllegalTransition, ValidationFailed) as exc:  # shipped meanwhile: flagged, never forced
        return _flag(uow, change_id=plan.change_id, detail=f"not cancelled: {exc}")


@use_case
def _cut_lines(uow: UnitOfWork, *, change_id: uuid.UUID, order_id: uuid.UUID, item: str, target: int) -> str:
    row = _locked(uow, change_id)
    if row is None:
        return "skipped"
    # The cut is worked out again under the order's row lock: another change of the same item may have cut it
    # since the plan was read, and units that shipped since are never cancelled.
    order = orders.lock_for_payment(uow, ref=str(order_id))
    lines = [line for line in order.lines if line.sku.upper() == item]
    ordered = sum(line.quantity - line.cancelled for line in lines)
    if ordered <= target:
        _settle(uow, row, "applied", "nothing to cancel: an earlier change cancelled the units already")
        return "applied"
    open_lines = [(line.line_no, line.quantity - line.cancelled - line.shipped) for line in lines]
    if ordered - target > sum(units for _, units in open_lines):
        raise IllegalTransition(QUANTITY_FLAGGED)
    cuts = rules.plan_cuts(open_lines, ordered - target)
    orders.cancel_order(
        uow, ref=str(order_id), reason=f"{rules.REDUCED_ON_CHANNEL}{row.reason}"[:200], lines=cuts
    )
    row.order_id = order_id
    units = ", ".join(f"line {n}: {q}" for n, q in sorted(cuts.items()))
    _settle(uow, row, "applied", f"order {order.number}: cancelled {units}")
    _emit(uow, row)
    return "applied"


def _settle(uow: UnitOfWork, row: ChangeRow, status: str, detail: str) -> None:
    row.status = status
    row.detail = detail[:2000]
    row.applied_at = uow.now() if status == "applied" else None
    uow.audit(
        f"channel_change.{status}",
        object_type="channel_order_change",
        object_id=str(row.id),
        after={"external_id": row.external_id, "kind": row.kind, "key": row.change_key, "detail": row.detail},
    )


def _locked(uow: UnitOfWork, change_id: uuid.UUID) -> ChangeRow | None:
    row = uow.session.get(ChangeRow, change_id, with_for_update=True)
    return row if row is not None and row.status in OPEN else None


@use_case
def _mark(uow: UnitOfWork, *, change_id: uuid.UUID, status: str, detail: str, emit: bool = True) -> str:
    row = _locked(uow, change_id)
    if row is None:
        return "skipped"
    if status == "waiting":  # only the status moves: nothing happened yet
        row.status, row.detail = status, detail
        return status
    _settle(uow, row, status, detail)
    if status == "applied" and emit:
        _emit(uow, row)
    return status


@use_case
def _drop_import(uow: UnitOfWork, *, change_id: uuid.UUID) -> str:
    row = _locked(uow, change_id)
    if row is None:
        return "skipped"
    inbox = uow.session.scalar(
        sa.select(ChannelOrderRow)
        .where(
            ChannelOrderRow.connector_id == row.connector_id, ChannelOrderRow.external_id == row.external_id
        )
        .with_for_update()
    )
    if inbox is None or inbox.status not in ("received", "held", "dead"):
        jobs.enqueue(
            uow, APPLY_JOB, {"change_id": str(row.id)}
        )  # imported meanwhile: cancel the order instead
        return "pending"
    inbox.status = "cancelled"
    inbox.hold_reason = None
    _settle(uow, row, "applied", "cancelled on the channel before it was imported: never placed")
    _emit(uow, row)
    return "applied"


@use_case
def _cancel(uow: UnitOfWork, *, change_id: uuid.UUID, order_id: uuid.UUID) -> str:
    row = _locked(uow, change_id)
    if row is None:
        return "skipped"
    order = orders.get_order(uow, ref=str(order_id))
    if order.status != "cancelled":
        orders.cancel_order(uow, ref=str(order_id), reason=f"{rules.CANCELLED_ON_CHANNEL}{row.reason}"[:200])
    row.order_id = order_id
    _settle(uow, row, "applied", f"order {order.number} cancelled")
    _emit(uow, row)
    return "applied"


@use_case
def _flag(uow: UnitOfWork, *, change_id: uuid.UUID, detail: str) -> str:
    row = _locked(uow, change_id)
    if row is None:
        return "skipped"
    _settle(uow, row, "flagged", detail)
    loaded = load(uow, connector_id=row.connector_id)
    dead_letter(
        uow,
        loaded,
        operation="apply_change",
        reference=row.external_id,
        payload={"change_id": str(row.id), "kind": row.kind, "key": row.change_key, "reason": row.reason},
        error=detail,
        attempts=1,
    )
    return "flagged"


def _emit(uow: UnitOfWork, row: ChangeRow) -> None:
    loaded = load(uow, connector_id=row.connector_id)
    kinds = {
        "cancel": "channel.order_cancelled",
        rules.ADDRESS_CHANGED: "channel.order_address_changed",
        rules.QUANTITY_REDUCED: "channel.order_quantity_reduced",
    }
    uow.emit(
        kinds.get(row.kind, "channel.order_refunded"),
        {
            "connector": loaded.row.code,
            "channel": loaded.channel_code,
            "external_id": row.external_id,
            "key": row.change_key,
            "detail": row.detail or "",
        },
    )


@use_case(readonly=True)
def list_changes(uow: UnitOfWork, *, connector: str, external_id: str) -> list[Change]:
    """What the channel reported after sending one of its orders, oldest first.

    Raises:
        NotFound: no such connector.
    """
    loaded = load(uow, code=connector)
    rows = uow.session.scalars(
        sa.select(ChangeRow)
        .where(ChangeRow.connector_id == loaded.row.id, ChangeRow.external_id == external_id)
        .order_by(ChangeRow.id)
    )
    return [Change(r.id, r.external_id, r.kind, r.change_key, r.status, r.detail, r.deliveries) for r in rows]


def _apply_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    apply_change(uow, change_id=uuid.UUID(str(payload["change_id"])))
