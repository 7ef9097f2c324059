"""Payments following the order: captured as it ships (cards captured, invoices on account issued), voided or
refunded when it is cancelled, checks deposited/cleared/bounced, authorizations whose answer was lost asked again,
and gateway notifications.

Shipments and cancellations arrive as `order.*` events; the subscribers only queue a job (inside the relay's
transaction), and the job talks to the gateway with no transaction open. Every gateway call in here carries a key
derived from what it settles, so a job run twice takes nothing twice.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.kernel.errors import Conflict, IllegalTransition, NotAuthenticated, NotFound, ValidationFailed
from ordersmith.kernel.events import Event
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import rules
from ordersmith.payments.gateways import SignatureInvalid
from ordersmith.payments.service import gift_cards, invoices, recovery
from ordersmith.payments.service._common import (
    Payment,
    emit,
    log,
    payment_row,
    payments_of,
    refresh_order_status,
    to_payment,
    touch,
    wiring,
)
from ordersmith.payments.service.operations import capture_payment, refund_payment, void_payment
from ordersmith.payments.tables import GatewayNotificationRow, PaymentRow
from ordersmith.platform import jobs
from ordersmith.platform.db import UnitOfWork, use_case

# --- shipments -------------------------------------------------------------------------------------------------------


def on_order_shipped(uow: UnitOfWork, event: Event) -> None:
    """`order.shipped` / `order.shipped_in_part`: queue the capture (runs after this transaction commits)."""
    jobs.enqueue(
        uow,
        "payments.capture_shipped",
        {"order_id": event.payload["order_id"], "lines": event.payload.get("lines", {})},
    )


def on_order_cancelled(uow: UnitOfWork, event: Event) -> None:
    jobs.enqueue(uow, "payments.settle_cancelled", {"order_id": event.payload["order_id"]})


@use_case
def hold_for_payment(uow: UnitOfWork, *, order_ref: str, note: str) -> None:
    with contextlib.suppress(IllegalTransition):
        orders.hold_order(uow, ref=order_ref, reason="payment_declined", note=note)


def on_payment_captured(uow: UnitOfWork, event: Event) -> None:
    """Gift cards sold on an order become usable once the order is paid."""
    order = orders.get_order(uow, ref=event.payload["order_id"])
    if order.payment_status == "captured":
        gift_cards.activate_sold_cards(uow, order_id=order.id)


def capture_shipped(
    uow: UnitOfWork, *, order_id: uuid.UUID, shipped: Mapping[str, int] | None = None
) -> list[Payment]:
    """Capture what the order's shipments so far have made due: cards captured, an invoice on account issued,
    oldest tender first; when everything has shipped, what is still authorized beyond the total is released.
    Gift cards, store credit, cash and marketplace payments were taken at placing; checks are deposited by hand."""
    order = orders.get_order(uow, ref=str(order_id))
    due = rules.shipped_value_minor(
        [
            rules.LineValue(line.total.minor, line.quantity - line.cancelled, line.shipped)
            for line in order.lines
        ],
        order.total.minor,
    )
    rows = _payments(uow, order_id=order.id)
    live = [r for r in rows if r.status not in ("failed", "voided", "pending_review")]
    taken = sum(r.captured_minor for r in live) + sum(
        r.authorized_minor - r.captured_minor for r in live if r.method == "check"
    )
    need = due - taken
    for row in live:
        capturable = row.authorized_minor - row.captured_minor
        if need <= 0 or capturable <= 0 or row.method == "check":
            continue
        part = min(need, capturable)
        amount = Money.from_minor(part, row.currency)
        if row.method == "on_account":
            _invoice(uow, payment_id=row.id, amount=amount, shipped=dict(shipped or {}))
        else:
            capture_payment(uow, payment_id=row.id, amount=amount, key=f"ship:{order.id}:{due}")
        need -= part
    if order.fulfillment_status == "shipped":
        for row in _payments(uow, order_id=order.id):
            if (
                row.authorized_minor > row.captured_minor
                and row.method in ("card", "on_account")
                and row.status not in ("failed", "voided", "pending_review")
            ):
                void_payment(uow, payment_id=row.id, key=f"shipped:{order.id}")
    return _views(uow, order_id=order.id)


@use_case(readonly=True)
def _payments(uow: UnitOfWork, *, order_id: uuid.UUID) -> list[PaymentRow]:
    rows = payments_of(uow, order_id)
    for row in rows:
        uow.session.expunge(row)
    return rows


@use_case(readonly=True)
def _views(uow: UnitOfWork, *, order_id: uuid.UUID) -> list[Payment]:
    return [to_payment(r) for r in payments_of(uow, order_id)]


@use_case
def _invoice(uow: UnitOfWork, *, payment_id: uuid.UUID, amount: Money, shipped: dict[str, int]) -> None:
    row = payment_row(uow, payment_id, lock=True)
    if row.authorized_minor - row.captured_minor < amount.minor:
        return  # another run invoiced it meanwhile
    order = orders.get_order(uow, ref=str(row.order_id))
    if not shipped:  # called without the shipment's lines: everything shipped so far
        shipped = {str(line.line_no): line.shipped for line in order.lines if line.shipped}
    invoice = invoices.invoice_shipment(
        uow,
        payment=row,
        order=order,
        amount_minor=amount.minor,
        shipped={int(k): int(v) for k, v in shipped.items()},
    )
    row.captured_minor += amount.minor
    touch(uow, row)
    log(uow, row, "capture", amount.minor, "approved", gateway_reference=invoice.number, reason="invoiced")
    emit(uow, "payment.captured", row, amount.minor, invoice=invoice.number)
    refresh_order_status(uow, row.order_id)


def settle_cancelled(uow: UnitOfWork, *, order_id: uuid.UUID) -> list[Payment]:
    """A cancelled order's money goes back: what is authorized is released, what was taken is refunded (gift
    cards reloaded, the credit on account released)."""
    for row in _payments(uow, order_id=order_id):
        if row.status in ("failed", "voided", "pending_review"):
            continue
        if row.authorized_minor > row.captured_minor:
            void_payment(uow, payment_id=row.id, key=f"cancel:{order_id}")
        if row.captured_minor > row.refunded_minor:
            refund_payment(
                uow, payment_id=row.id, amount=None, reason="order cancelled", key=f"cancel:{order_id}"
            )
    return _views(uow, order_id=order_id)


# --- checks -------------------------------------------------------------------------------------------------------

_CHECK_MOVES = {
    "deposit": ("received",),
    "clear": ("received", "deposited"),
    "bounce": ("received", "deposited"),
}


@use_case
def move_check(uow: UnitOfWork, *, payment_id: uuid.UUID | str, action: str, note: str = "") -> Payment:
    """A check's life: deposited (the money counts as taken), cleared, or bounced — which reverses the payment,
    holds the order and notes the customer's record.

    Raises:
        Conflict: not a check, or a move its state does not allow (409 naming the state).
    """
    row = payment_row(uow, payment_id, lock=True)
    if row.method != "check":
        raise Conflict("this payment is not a check")
    if row.check_status not in _CHECK_MOVES[action]:
        raise IllegalTransition(
            f"a check that is {row.check_status} cannot {action}", state=row.check_status, action=action
        )
    if action in ("deposit", "clear"):
        taken_now = row.check_status == "received"  # the money counts as taken once, at the first of the two
        if taken_now:
            row.captured_minor = row.authorized_minor
        row.check_status = "deposited" if action == "deposit" else "cleared"
        log(
            uow,
            row,
            f"check_{row.check_status}",
            row.captured_minor,
            "approved",
            gateway_reference=row.check_number,
        )
        if taken_now:
            emit(uow, "payment.captured", row, row.captured_minor, check=row.check_number)
    else:
        if not note.strip():
            raise ValidationFailed.on("note", "say what the bank answered")
        amount = row.authorized_minor
        taken_back = row.captured_minor - row.refunded_minor  # what the ledger holds as received (ADR 0030)
        row.check_status, row.status = "bounced", "failed"
        row.captured_minor = row.refunded_minor = 0
        row.authorized_minor = 0
        row.reason_code = "check_bounced"
        log(uow, row, "check_bounced", amount, "declined", gateway_reference=row.check_number, reason=note)
        emit(
            uow,
            "payment.failed",
            row,
            amount,
            operation="check",
            reason_code="check_bounced",
            check=row.check_number,
            reversed=str(Money.from_minor(taken_back, row.currency).amount),
        )
        order = orders.get_order(uow, ref=str(row.order_id))
        with contextlib.suppress(IllegalTransition):  # shipped or closed already: the note and event tell A/R
            orders.hold_order(
                uow,
                ref=str(order.id),
                reason="check_bounced",
                note=f"check {row.check_number} bounced: {note.strip()}",
            )
        if order.customer_id is not None:
            customers.add_note(
                uow,
                ref=str(order.customer_id),
                body=f"Check {row.check_number} ({Money.from_minor(amount, row.currency)}) for order "
                f"{order.number} bounced: {note.strip()}",
            )
    row.updated_at, row.version = uow.now(), row.version + 1
    uow.audit(f"payment.check_{action}", object_type="payment", object_id=str(row.id), after={"note": note})
    uow.session.flush()
    refresh_order_status(uow, row.order_id)
    return to_payment(row)


def _resolve_pending_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    recovery.resolve_pending_authorizations(uow)
    recovery.resolve_pending_operations(uow)


def _capture_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    capture_shipped(uow, order_id=uuid.UUID(payload["order_id"]), shipped=payload.get("lines") or {})


def _cancel_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    settle_cancelled(uow, order_id=uuid.UUID(payload["order_id"]))


# --- gateway notifications ----------------------------------------------------------------------------------------


def receive_notification(uow: UnitOfWork, *, gateway: str, headers: Mapping[str, str], body: bytes) -> str:
    """A gateway's webhook: its signature verified first (a forged or stale one → 401 and nothing changes), then
    recorded once (a notification delivered again is acknowledged and ignored) in the log of the payment whose
    gateway reference it names. Returns what was done: recorded, duplicate, or unknown_reference.

    It records; it does not move money: what Ordersmith holds is settled by its own calls (and a lost answer by
    asking again with the same key, `resolve_pending_authorizations`). A change made at the gateway behind our back
    (a refund in its dashboard) shows in the log for a person to reconcile."""
    port = wiring(uow).gateway
    if gateway != port.name:
        raise NotFound(f"no gateway {gateway!r} is configured")
    try:
        event = port.parse_webhook(headers=headers, body=body)
    except SignatureInvalid:
        raise NotAuthenticated("the notification's signature does not verify") from None
    # The gateway cannot correct what it sent, so a card number in it is masked where kept, never refused.
    return _record_notification(
        uow,
        gateway=gateway,
        event_id=rules.redact(event.event_id),
        kind=event.kind,
        raw_type=rules.redact(event.raw_type),
        reference=event.reference,
        amount=event.amount,
        details={k: rules.redact(v)[:100] for k, v in event.details.items()},
    )


@use_case
def _record_notification(
    uow: UnitOfWork,
    *,
    gateway: str,
    event_id: str,
    kind: str,
    raw_type: str,
    reference: str,
    amount: Money | None = None,
    details: Mapping[str, str] | None = None,
) -> str:
    if uow.session.get(GatewayNotificationRow, (gateway, event_id)) is not None:
        return "duplicate"
    # The reference is looked up as sent (a processor's id may hold 13 digits that pass Luhn: masked, it would
    # match no payment) and kept masked.
    kept = rules.redact(reference)
    uow.session.add(
        GatewayNotificationRow(
            gateway=gateway,
            event_id=event_id[:100],
            kind=raw_type[:40],
            reference=kept[:100],
            received_at=uow.now(),
        )
    )
    row = uow.session.scalar(
        sa.select(PaymentRow).where(PaymentRow.gateway == gateway, PaymentRow.reference == reference[:100])
    )
    if row is None:
        return "unknown_reference"
    log(uow, row, "webhook", 0, "approved", gateway_reference=kept, reason=raw_type)
    if kind in DISPUTE_EVENTS and (details or {}).get("dispute"):
        _emit_dispute(uow, row, DISPUTE_EVENTS[kind], amount, details or {})
    uow.session.flush()
    return "recorded"


# A cardholder's dispute (chargeback) moves money at the processor without us: finance keeps the dispute and its
# books (ADR 0040); payments passes on what the gateway said.
DISPUTE_EVENTS = {"disputed": "payment.disputed", "dispute_closed": "payment.dispute_closed"}


def _emit_dispute(
    uow: UnitOfWork, row: PaymentRow, event: str, amount: Money | None, details: Mapping[str, str]
) -> None:
    disputed = amount.minor if amount is not None and amount.currency == row.currency else row.captured_minor
    fee = details.get("fee_minor", "0")
    emit(
        uow,
        event,
        row,
        max(disputed, 0),
        gateway=row.gateway,
        dispute=details["dispute"],
        capture_reference=details.get("charge") or row.reference,
        reason=details.get("reason", ""),
        status=details.get("status", ""),
        fee=str(Money.from_minor(int(fee) if fee.isdigit() else 0, row.currency).amount),
    )


def register() -> None:
    """Subscribers and jobs (idempotent: safe to call at every start)."""
    from ordersmith.platform import outbox

    for handler in (on_order_shipped, on_order_cancelled, on_payment_captured):
        outbox.unsubscribe(handler)
    outbox.subscribe("order.shipped", on_order_shipped)
    outbox.subscribe("order.shipped_in_part", on_order_shipped)
    outbox.subscribe("order.cancelled", on_order_cancelled)
    outbox.subscribe("payment.captured", on_payment_captured)
    jobs.register("payments.capture_shipped", _capture_job)
    jobs.register("payments.settle_cancelled", _cancel_job)
    jobs.register("payments.resolve_pending", _resolve_pending_job)
    jobs.register("payments.expire_gift_cards", gift_cards.expire_job)
    jobs.register("payments.mark_overdue", invoices.overdue_job)
    jobs.schedule("mark-overdue-invoices", kind="payments.mark_overdue", every_s=3600)
    jobs.schedule("expire-gift-cards", kind="payments.expire_gift_cards", every_s=3600)
    jobs.schedule("resolve-pending-authorizations", kind="payments.resolve_pending", every_s=60)
