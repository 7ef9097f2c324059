"""Placing the shipments that are due: the periodic job claims due subscriptions and places each one's order
through checkout — the same path as `POST /api/v1/orders`: priced by pricing, the vaulted card authorized with no
transaction open, then the order and its tender in one transaction.

Exactly one order per shipment, whatever the number of workers, crashes and restarts:
- a claim is a lease on the subscription row (`claimed_until`), taken by a conditional read-and-update under
  `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite's writer lock serialises it), so two workers never hold the same
  subscription at once; a crashed worker's claim lapses and another takes the shipment over;
- the order carries a channel order id made of the subscription's number and the shipment's number, so placing it
  twice answers with the first order (orders are unique on channel + external id), and the card's authorization is
  keyed by subscription, shipment and attempt, so the processor answers a repeated request as it did the first;
- the shipment is recorded (`continuity_shipments`, primary key subscription + shipment) and the subscription moved
  on in one transaction, only by the claim's owner at that shipment.

The due query reads the partial index of subscriptions that have something due (`next_run_on IS NOT NULL`): never
the history.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from ordersmith.checkout import rules as checkout_rules
from ordersmith.checkout import service as checkout
from ordersmith.continuity import rules
from ordersmith.continuity.tables import ProgramRow, ShipmentRow, SubscriptionRow
from ordersmith.kernel.errors import OrdersmithError
from ordersmith.kernel.ids import new_id
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import sales_channels
from ordersmith.platform.db import UnitOfWork, use_case

log = logging.getLogger(__name__)

CLAIM_BATCH = 5  # subscriptions claimed at once by one worker (small: workers share the day's run)
RUN_BUDGET_S = 120.0  # one job run stops claiming after this long (the next run carries on)


@dataclass(frozen=True)
class Due:
    """A claimed shipment: what placing its order needs, read when it was claimed."""

    id: uuid.UUID
    number: str
    claim: str
    cycle: int
    cycle_on: date
    attempt: int  # failed attempts at this shipment so far
    attempt_seq: int  # keys the authorization (see the table)
    channel: str
    customer_id: uuid.UUID
    ship_to: dict[str, str]
    quantity: int
    card_token: str
    kind: str
    items: tuple[rules.ProgramItem, ...]
    interval_weeks: int
    max_shipments: int | None
    source_code: str | None


def due_query(now: datetime, limit: int) -> sa.Select[tuple[SubscriptionRow]]:
    """Subscriptions with a shipment due by `now`'s day that no live claim holds, oldest due first: read through
    the partial index of what is due (never the cancelled, suspended or completed history)."""
    return (
        sa.select(SubscriptionRow)
        .where(
            SubscriptionRow.next_run_on.is_not(None),
            SubscriptionRow.next_run_on <= now.date(),
            sa.or_(SubscriptionRow.claimed_until.is_(None), SubscriptionRow.claimed_until < now),
        )
        .order_by(SubscriptionRow.next_run_on, SubscriptionRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


@use_case
def claim_due(uow: UnitOfWork, *, worker: str, lease_s: int, limit: int = CLAIM_BATCH) -> list[Due]:
    """Claim up to `limit` subscriptions whose shipment is due today or earlier and that no live claim holds, for
    `lease_s` seconds. A subscription paused until today is resumed by its claim."""
    now = uow.now()
    rows = list(uow.session.scalars(due_query(now, limit)))
    if not rows:
        return []
    programs = {p.id: p for p in uow.session.scalars(
        sa.select(ProgramRow).where(ProgramRow.id.in_({r.program_id for r in rows})))}  # fmt: skip
    claimed: list[Due] = []
    for row in rows:
        program = programs[row.program_id]
        row.claimed_by = f"{worker}:{new_id()}"
        row.claimed_until = now + timedelta(seconds=lease_s)
        if row.status == "paused":  # paused until today: shipping starts again by itself
            row.status = "active"
            row.version += 1
            uow.audit("subscription.resumed", object_type="subscription", object_id=row.number,
                      after={"status": "active", "cycle_on": str(row.cycle_on)})  # fmt: skip
            uow.emit("subscription.resumed", {"subscription_id": str(row.id), "number": row.number,
                                              "customer_id": str(row.customer_id), "channel": row.channel,
                                              "status": "active", "next_shipment_on": str(row.cycle_on)})  # fmt: skip
        claimed.append(Due(
            id=row.id, number=row.number, claim=row.claimed_by, cycle=row.cycle, cycle_on=row.cycle_on,
            attempt=row.failed_attempts, attempt_seq=row.attempt_seq, channel=row.channel, customer_id=row.customer_id,
            ship_to=dict(row.ship_to), quantity=row.quantity, card_token=row.card_token, kind=program.kind,
            items=tuple(rules.ProgramItem(sku=i["sku"], quantity=int(i["quantity"])) for i in program.items),
            interval_weeks=program.interval_weeks, max_shipments=program.max_shipments,
            source_code=program.source_code,
        ))  # fmt: skip
    return claimed


@use_case(readonly=True)
def _still_ours(uow: UnitOfWork, due: Due) -> bool:
    """Whether the claim still holds and the member has not cancelled meanwhile (read just before placing)."""
    row = uow.session.get(SubscriptionRow, due.id)
    return (
        row is not None and row.claimed_by == due.claim and row.status == "active" and row.cycle == due.cycle
    )


def place_shipment(uow: UnitOfWork, due: Due) -> str:
    """Place the order of one claimed shipment and record the outcome: `placed`, `failed` (a retry scheduled or
    the subscription suspended), `postponed` (the processor did not answer: tried again on the next run with the
    same keys) or `dropped` (cancelled meanwhile, or the claim taken over)."""
    assert not uow.active
    if not _still_ours(uow, due):
        _release(uow, due)
        return "dropped"
    lines = rules.shipment_items(due.kind, due.items, cycle=due.cycle, quantity=due.quantity)
    channel = sales_channels.find_channel(uow, code=due.channel)
    if lines is None or channel is None or not channel.active:
        why = (
            "the series has no more items" if lines is None else f"sales channel {due.channel} is not active"
        )
        _record_failure(uow, due, reason=why, payment=False)
        return "failed"
    request = orders.OrderRequest(
        lines=[orders.LineRequest(sku=line.sku, quantity=line.quantity) for line in lines],
        ship_tos=[orders.ShipToRequest(ref="main", **due.ship_to)],
        customer=str(due.customer_id),
        source_code=due.source_code,
        external_id=rules.order_reference(due.number, due.cycle),
        payments=[orders.PaymentRequest(method="card", token=due.card_token)],
    )
    caller = checkout_rules.Caller(channel_kind=channel.kind, scopes=frozenset(), bills_later=False)
    try:
        placed = checkout.place_order(uow, channel=channel, caller=caller, request=request, refuse_declined=True,
                                      attempt=f"continuity:{due.id}:{due.cycle}:{due.attempt_seq}")  # fmt: skip
    except payments.GatewayTimedOut as exc:
        _postpone(uow, due, reason=exc.detail)
        return "postponed"
    except payments.PaymentDeclined as exc:
        _record_failure(uow, due, reason=f"the card was declined ({exc.extra.get('reason_code', 'declined')})",
                        payment=True)  # fmt: skip
        return "failed"
    except OrdersmithError as exc:
        _record_failure(uow, due, reason=exc.detail, payment=False)
        return "failed"
    _record_placed(uow, due, placed.order)
    return "placed"


@use_case
def _record_placed(uow: UnitOfWork, due: Due, order: orders.Order) -> None:
    row = uow.session.scalar(sa.select(SubscriptionRow).where(SubscriptionRow.id == due.id).with_for_update())
    assert row is not None
    if row.claimed_by == due.claim:
        row.claimed_by = row.claimed_until = None
    if row.cycle != due.cycle:
        return  # a worker that took the lapsed claim over recorded this shipment first (the same order)
    now = uow.now()
    uow.session.add(ShipmentRow(subscription_id=row.id, cycle=due.cycle, due_on=due.cycle_on, order_id=order.id,
                                order_number=order.number, total_minor=order.total.minor,
                                currency=order.total.currency, attempts=due.attempt + 1, placed_at=now))  # fmt: skip
    before = {"cycle": row.cycle, "cycle_on": str(row.cycle_on), "status": row.status}
    row.cycle = due.cycle + 1
    row.last_order_id, row.last_order_number = order.id, order.number
    row.failed_attempts, row.last_failure = 0, None
    if row.status == "active":
        if rules.is_last(due.kind, len(due.items), due.max_shipments, cycle=due.cycle):
            row.status = "completed"
            row.next_run_on = None
        else:
            row.cycle_on = rules.following(due.cycle_on, due.interval_weeks, now.date())
            row.next_run_on = row.cycle_on
    row.version += 1
    row.updated_at = now
    uow.session.flush()
    uow.audit("subscription.shipment_placed", object_type="subscription", object_id=row.number, before=before,
              after={"cycle": row.cycle, "cycle_on": str(row.cycle_on), "status": row.status,
                     "order": order.number})  # fmt: skip
    payload = {"subscription_id": str(row.id), "number": row.number, "customer_id": str(row.customer_id),
               "channel": row.channel, "status": row.status, "shipment": due.cycle, "order_id": str(order.id),
               "order_number": order.number,
               "next_shipment_on": str(row.next_run_on) if row.next_run_on else None}  # fmt: skip
    uow.emit("subscription.shipment_placed", payload)
    if row.status == "completed":
        uow.emit("subscription.completed", payload)


@use_case
def _record_failure(uow: UnitOfWork, due: Due, *, reason: str, payment: bool) -> None:
    row = uow.session.scalar(sa.select(SubscriptionRow).where(SubscriptionRow.id == due.id).with_for_update())
    assert row is not None
    if row.claimed_by != due.claim or row.cycle != due.cycle:
        return  # the claim was taken over: the new owner's outcome counts
    row.claimed_by = row.claimed_until = None
    if row.status != "active" or row.attempt_seq != due.attempt_seq:
        return  # cancelled, or given another card, meanwhile
    now = uow.now()
    row.failed_attempts += 1
    row.attempt_seq += 1
    row.last_failure = reason[:400]
    row.last_failure_at = now
    retry = rules.retry_on(now.date(), row.failed_attempts)
    payload = {"subscription_id": str(row.id), "number": row.number, "customer_id": str(row.customer_id),
               "channel": row.channel, "shipment": row.cycle, "attempt": row.failed_attempts,
               "reason": row.last_failure, "payment": payment,
               "next_attempt_on": str(retry) if retry else None}  # fmt: skip
    if retry is not None:
        row.next_run_on = retry
    else:
        row.status = "suspended"
        row.next_run_on = None
    row.version += 1
    row.updated_at = now
    uow.session.flush()
    uow.audit("subscription.shipment_failed", object_type="subscription", object_id=row.number,
              after={**payload, "status": row.status})  # fmt: skip
    uow.emit("subscription.payment_failed" if payment else "subscription.shipment_failed",
             {**payload, "status": row.status})  # fmt: skip
    if retry is None:
        # The dunning notice: the customer is asked (by whatever sends the shop's mail, through this event) for
        # another card; changing the card re-activates the subscription and tries the shipment at once.
        uow.emit("subscription.suspended", {**payload, "status": row.status, "dunning": payment})


@use_case
def _postpone(uow: UnitOfWork, due: Due, *, reason: str) -> None:
    row = uow.session.scalar(sa.select(SubscriptionRow).where(SubscriptionRow.id == due.id).with_for_update())
    if row is not None and row.claimed_by == due.claim:
        row.claimed_by = row.claimed_until = None
        row.last_failure = f"not placed yet: {reason}"[:400]
        row.last_failure_at = uow.now()


@use_case
def _release(uow: UnitOfWork, due: Due) -> None:
    row = uow.session.scalar(sa.select(SubscriptionRow).where(SubscriptionRow.id == due.id).with_for_update())
    if row is not None and row.claimed_by == due.claim:
        row.claimed_by = row.claimed_until = None


def place_due_shipments(uow: UnitOfWork, *, worker: str, lease_s: int, budget_s: float = RUN_BUDGET_S) -> int:
    """Claim and place due shipments, a few at a time, until none is left or the run's time is up. Returns how
    many were handled. A shipment that raises something unexpected keeps its claim until the lease lapses and is
    then taken up again (with the same keys: never a second order or charge)."""
    handled = 0
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        batch = claim_due(uow, worker=worker, lease_s=lease_s)
        for due in batch:
            try:
                place_shipment(uow, due)
            except Exception:
                log.exception("continuity shipment %s/%s not placed; retried when its claim lapses",
                              due.number, due.cycle)  # fmt: skip
            handled += 1
        if len(batch) < CLAIM_BATCH:
            break
    return handled
