"""Gateway operations whose answer was lost: a process killed (or a processor that stopped answering) between
asking the gateway and writing its answer leaves a pending row in the payment's log. These jobs ask again with the
same key, so the processor answers what it did the first time and nothing is charged, captured or refunded twice;
the pending row then gets its outcome exactly once (`_resolve`'s conditional update).

An authorization's lost answer decides the payment (authorized or failed); a capture's, refund's or void's settles
what its claim set aside (given back when the processor refused). Each runs from the `payments.resolve_pending`
job every minute; each scans only the pending rows (an index on outcome), never the log's history.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import cast

import sqlalchemy as sa

from ordersmith.kernel.errors import Conflict
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments.gateways import CardSource, GatewayRejected, GatewayUnavailable
from ordersmith.payments.service._common import (
    GatewayTimedOut,
    emit,
    payment_row,
    refresh_order_status,
    touch,
    wiring,
)
from ordersmith.payments.service.operations import Claim, carry_out
from ordersmith.payments.tables import PaymentRow, PaymentTransactionRow
from ordersmith.platform.db import UnitOfWork, use_case

OPERATIONS = ("capture", "refund", "void")


def resolve_pending_authorizations(uow: UnitOfWork, *, older_than_s: int = 30, limit: int = 50) -> int:
    """Ask the gateway again, with the same key, about authorizations whose answer was lost; the processor answers
    what it did the first time (so nothing is charged twice). Returns how many were resolved."""
    resolved = 0
    for transaction_id, order_id in _pending(
        uow, kinds=("authorization",), older_than_s=older_than_s, limit=limit
    ):
        row, transaction = _pending_row(uow, order_id=order_id, transaction_id=transaction_id)
        try:
            result = wiring(uow).gateway.authorize(
                source=CardSource(row.token),
                amount=Money.from_minor(transaction.amount_minor, row.currency),
                idempotency_key=transaction.idempotency_key,
            )
        except GatewayUnavailable:
            continue
        except GatewayRejected as refused:
            _resolve_authorization(
                uow,
                order_id=order_id,
                transaction_id=transaction_id,
                approved=False,
                reference="",
                reason_code=refused.reason_code,
            )
        else:
            _resolve_authorization(
                uow,
                order_id=order_id,
                transaction_id=transaction_id,
                approved=result.approved,
                reference=result.reference,
                reason_code=result.reason_code,
            )
        resolved += 1
    return resolved


def resolve_pending_operations(uow: UnitOfWork, *, older_than_s: int = 30, limit: int = 50) -> int:
    """Ask the gateway again, with the key the claim derived, about captures, refunds and voids whose answer was
    lost, and settle each once. Returns how many were settled (a processor still silent leaves the row pending)."""
    resolved = 0
    for transaction_id, order_id in _pending(uow, kinds=OPERATIONS, older_than_s=older_than_s, limit=limit):
        if resolve_claim(uow, order_id=order_id, transaction_id=transaction_id):
            resolved += 1
    return resolved


def resolve_claim(uow: UnitOfWork, *, order_id: uuid.UUID, transaction_id: uuid.UUID) -> bool:
    """Carry out a capture, refund or void whose claim was written and whose answer never was (the process died,
    or the processor stopped answering): asked again with the claim's own key, so the processor answers what it
    did the first time. Returns whether the claim now has its outcome (False: the processor is still silent)."""
    claim = _pending_claim(uow, order_id=order_id, transaction_id=transaction_id)
    if claim is None:
        return False
    try:
        carry_out(uow, claim)
    except GatewayTimedOut:
        return False
    except Conflict:
        pass  # refused: settled as failed, what the claim set aside given back
    return True


@use_case(readonly=True)
def _pending_claim(uow: UnitOfWork, *, order_id: uuid.UUID, transaction_id: uuid.UUID) -> Claim | None:
    transaction = uow.session.get(PaymentTransactionRow, (order_id, transaction_id))
    if transaction is None or transaction.outcome != "pending" or transaction.kind not in OPERATIONS:
        return None
    row = payment_row(uow, transaction.payment_id)
    return Claim(
        transaction.id,
        row.id,
        row.order_id,
        transaction.kind,
        Money.from_minor(transaction.amount_minor, row.currency),
        f"{transaction.kind}:{transaction.id}",
        transaction.gateway_reference or row.reference,
        row.last_four,
        settled=False,
    )


@use_case(readonly=True)
def _pending(
    uow: UnitOfWork, *, kinds: tuple[str, ...], older_than_s: int, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    t = PaymentTransactionRow
    rows = uow.session.execute(
        sa.select(t.id, t.order_id)
        .where(
            t.outcome == "pending",
            t.kind.in_(kinds),
            t.at <= uow.now() - timedelta(seconds=older_than_s),
        )
        .order_by(t.at)
        .limit(limit)
    ).all()
    return [(r.id, r.order_id) for r in rows]


@use_case(readonly=True)
def _pending_row(
    uow: UnitOfWork, *, order_id: uuid.UUID, transaction_id: uuid.UUID
) -> tuple[PaymentRow, PaymentTransactionRow]:
    transaction = uow.session.get(PaymentTransactionRow, (order_id, transaction_id))
    assert transaction is not None
    row = payment_row(uow, transaction.payment_id)
    uow.session.expunge_all()
    return row, transaction


@use_case
def _resolve_authorization(
    uow: UnitOfWork,
    *,
    order_id: uuid.UUID,
    transaction_id: uuid.UUID,
    approved: bool,
    reference: str,
    reason_code: str,
) -> None:
    table = cast(sa.Table, PaymentTransactionRow.__table__)
    done = uow.session.execute(
        sa.update(table)
        .where(table.c.order_id == order_id, table.c.id == transaction_id, table.c.outcome == "pending")
        .values(
            outcome="approved" if approved else "declined",
            resolved_at=uow.now(),
            gateway_reference=reference,
            reason_code=reason_code[:60],
        )
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return
    transaction = uow.session.get(PaymentTransactionRow, (order_id, transaction_id))
    assert transaction is not None
    row = payment_row(uow, transaction.payment_id, lock=True)
    if approved:
        row.reference, row.status = reference, "authorized"
        row.authorized_minor = transaction.amount_minor
        row.expires_at = uow.now() + timedelta(days=7)
        emit(uow, "payment.authorized", row, row.authorized_minor, resolved=True)
    else:
        row.status, row.reason_code = "failed", reason_code[:60]
        emit(
            uow,
            "payment.failed",
            row,
            transaction.amount_minor,
            operation="authorization",
            reason_code=reason_code,
        )
    touch(uow, row)
    uow.session.flush()
    status = refresh_order_status(uow, order_id)
    if status in ("authorized", "partially_captured", "captured"):
        # An order that waited for this payment goes on now (a card added to it whose answer was settled here).
        order = orders.get_order(uow, ref=str(order_id))
        if any(h.reason == "pending_payment" and h.status == "active" for h in order.holds):
            orders.resolve_hold(uow, ref=str(order_id), reason="pending_payment", note="paid by card")
