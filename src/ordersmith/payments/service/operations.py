"""Capture, void and refund: each one claimed, sent, settled.

1. **Claim** (one transaction, the payment's row locked): the amount is checked against what is still
   capturable or refundable and set aside at once (`captured_minor` or `refunded_minor` moves before the gateway is
   asked), and a pending row is appended to the log under the caller's idempotency key — so two requests can never
   both take the same money, and the same key finds the same row.
2. **Send** (no transaction open): the gateway is called with a key derived from that row; a lost answer is asked
   again once with the same key (the processor dedupes), and if it stays unknown the row stays pending (503; repeat
   with the same key).
3. **Settle** (one transaction): the pending row gets its outcome exactly once; a refusal gives the set-aside amount
   back. Tenders Ordersmith settles itself (gift cards, store credit, on account, checks, cash, marketplace) are
   claimed and settled in the one transaction.

Invariant: captured ≤ authorized and refunded ≤ captured for every payment, under any concurrency (and CHECK
constraints in the database say so too).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa

from ordersmith.kernel.errors import Conflict, IdempotencyKeyReused, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import rules
from ordersmith.payments.gateways import GatewayRejected, GatewayResult, GatewayUnavailable
from ordersmith.payments.service import credit, gift_cards, invoices
from ordersmith.payments.service._common import (
    CaptureExceedsAuthorized,
    GatewayTimedOut,
    Payment,
    RefundExceedsRefundable,
    emit,
    log,
    payment_row,
    payments_of,
    refresh_order_status,
    to_payment,
    touch,
    transactions_of,
    wiring,
)
from ordersmith.payments.tables import PaymentRow, PaymentTransactionRow
from ordersmith.platform.db import UnitOfWork, use_case

EVENTS = {"capture": "payment.captured", "void": "payment.voided", "refund": "payment.refunded"}


@dataclass(frozen=True)
class Claim:
    transaction_id: uuid.UUID
    payment_id: uuid.UUID
    order_id: uuid.UUID
    kind: str
    amount: Money
    gateway_key: str
    reference: str
    last_four: str
    settled: bool  # known already (a replay, or a tender settled inside the claim)


@use_case
def _claim(
    uow: UnitOfWork,
    *,
    payment_id: uuid.UUID | str,
    kind: str,
    amount: Money | None,
    key: str,
    reason: str,
    return_id: uuid.UUID | None,
) -> Claim:
    row = payment_row(uow, payment_id, lock=True)
    existing = uow.session.scalar(
        sa.select(PaymentTransactionRow).where(
            PaymentTransactionRow.order_id == row.order_id,
            PaymentTransactionRow.payment_id == row.id,
            PaymentTransactionRow.kind == kind,
            PaymentTransactionRow.idempotency_key == key,
        )
    )
    if existing is not None:
        if amount is not None and amount.minor != existing.amount_minor:
            raise IdempotencyKeyReused("this Idempotency-Key was used for another amount")
        return Claim(
            existing.id,
            row.id,
            row.order_id,
            kind,
            Money.from_minor(existing.amount_minor, row.currency),
            f"{kind}:{existing.id}",
            row.reference,
            row.last_four,
            settled=existing.outcome != "pending",
        )
    if amount is not None and (amount.currency != row.currency or amount.minor <= 0):
        raise ValidationFailed.on("amount", f"a positive amount in {row.currency}")
    if kind == "capture":
        capturable = row.authorized_minor - row.captured_minor
        wanted = capturable if amount is None else amount.minor
        if row.status in ("failed", "voided") or capturable <= 0 or wanted > capturable:
            raise CaptureExceedsAuthorized(
                f"{Money.from_minor(max(capturable, 0), row.currency)} can be captured on this payment",
                capturable=str(Money.from_minor(max(capturable, 0), row.currency).amount),
            )
        row.captured_minor += wanted
    elif kind == "refund":
        refundable = row.captured_minor - row.refunded_minor
        wanted = refundable if amount is None else amount.minor
        if wanted <= 0 or wanted > refundable:
            raise RefundExceedsRefundable(
                f"{Money.from_minor(refundable, row.currency)} can be refunded on this payment",
                refundable=str(Money.from_minor(refundable, row.currency).amount),
            )
        row.refunded_minor += wanted
    else:  # void: release what is authorized and not captured
        wanted = row.authorized_minor - row.captured_minor
        if wanted <= 0 or row.status in ("failed", "voided"):
            raise Conflict("nothing authorized is left to release on this payment")
        row.authorized_minor -= wanted
        row.amount_minor = min(row.amount_minor, row.authorized_minor)
    touch(uow, row)
    transaction = log(
        uow,
        row,
        kind,
        wanted,
        "pending",
        key=key,
        gateway_reference=row.reference,
        reason=reason,
        return_id=return_id,
    )
    settled = False
    if not row.gateway:  # a tender Ordersmith settles itself: done now, in this transaction
        _settle_internally(uow, row, kind, wanted, reason)
        _resolve(uow, row, transaction, "approved", None)
        settled = True
    uow.session.flush()
    return Claim(
        transaction.id,
        row.id,
        row.order_id,
        kind,
        Money.from_minor(wanted, row.currency),
        f"{kind}:{transaction.id}",
        row.reference,
        row.last_four,
        settled,
    )


def _settle_internally(uow: UnitOfWork, row: PaymentRow, kind: str, amount_minor: int, reason: str) -> None:
    if row.method in ("gift_card", "store_credit") and kind in ("refund", "void") and row.gift_card_id:
        gift_cards.credit(
            uow,
            card_id=row.gift_card_id,
            amount_minor=amount_minor,
            kind="refunded",
            order_id=row.order_id,
            payment_id=row.id,
            note=reason,
        )
    elif row.method == "on_account" and kind == "void" and row.customer_id:
        credit.release_credit(uow, customer_id=row.customer_id, amount_minor=amount_minor)
    elif row.method == "on_account" and kind == "refund":
        # What was invoiced is credited against the payment's open invoices (oldest first); what they no longer
        # owe (already paid) is the customer's to be paid back, recorded in the log.
        invoices.credit_invoices(uow, payment_id=row.id, amount_minor=amount_minor, note=reason)
    # Checks, cash and marketplace payments are given back outside Ordersmith (a refund check, the till, the
    # marketplace); the log records that it was done and by whom.


def _resolve(
    uow: UnitOfWork,
    row: PaymentRow,
    transaction: PaymentTransactionRow,
    outcome: str,
    result: GatewayResult | None,
    reason_code: str = "",
) -> bool:
    """Give a pending row its outcome, once. Returns whether this call did it."""
    table = cast(sa.Table, PaymentTransactionRow.__table__)
    done = uow.session.execute(
        sa.update(table)
        .where(
            table.c.order_id == transaction.order_id,
            table.c.id == transaction.id,
            table.c.outcome == "pending",
        )
        .values(
            outcome=outcome,
            resolved_at=uow.now(),
            reason_code=reason_code or (result.reason_code if result else ""),
            transaction_reference=result.transaction if result else "",
        )
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    kind, amount = transaction.kind, transaction.amount_minor
    if outcome != "approved":  # give back what the claim set aside
        if kind == "capture":
            row.captured_minor -= amount
        elif kind == "refund":
            row.refunded_minor -= amount
        else:
            row.authorized_minor += amount
    elif kind == "void" and row.captured_minor == 0:
        row.status = "voided"
    touch(uow, row)
    if outcome == "approved":
        # The transaction's id on every outcome event; for a processor's captures and refunds also what its
        # settlement will name it by (finance watches for those, ADR 0040).
        settled_by = {"transaction_id": str(transaction.id)}
        if row.gateway and kind in ("capture", "refund"):
            settled_by = {"transaction_id": str(transaction.id), "gateway": row.gateway,
                          "transaction_reference": result.transaction if result else "",
                          "gateway_reference": transaction.gateway_reference or row.reference}  # fmt: skip
        emit(uow, EVENTS[kind], row, amount, reason=transaction.reason, **settled_by)
        uow.audit(
            EVENTS[kind],
            object_type="payment",
            object_id=str(row.id),
            after={"amount_minor": amount, "reason": transaction.reason},
        )
    else:
        emit(
            uow,
            "payment.failed",
            row,
            amount,
            operation=kind,
            reason_code=reason_code or (result.reason_code if result else ""),
        )
    uow.session.flush()
    refresh_order_status(uow, row.order_id)
    return True


@use_case
def _settle(
    uow: UnitOfWork, *, claim: Claim, outcome: str, result: GatewayResult | None, reason_code: str = ""
) -> None:
    row = payment_row(uow, claim.payment_id, lock=True)
    transaction = uow.session.get(PaymentTransactionRow, (claim.order_id, claim.transaction_id))
    assert transaction is not None
    _resolve(uow, row, transaction, outcome, result, reason_code)


def _send(call: Callable[[], GatewayResult]) -> GatewayResult:
    """Call the gateway; a lost answer is asked again once with the same key (the only retry whose outcome is
    known to be safe: the processor dedupes by key)."""
    try:
        return call()
    except GatewayUnavailable:
        return call()


def _operate(
    uow: UnitOfWork,
    *,
    payment_id: uuid.UUID | str,
    kind: str,
    amount: Money | None,
    key: str | None,
    reason: str = "",
    return_id: uuid.UUID | None = None,
) -> Payment:
    key = key or f"auto:{new_id()}"
    claim = _claim(
        uow, payment_id=payment_id, kind=kind, amount=amount, key=key, reason=reason, return_id=return_id
    )
    if not claim.settled:
        carry_out(uow, claim)
    return get_payment(uow, payment_id=payment_id)


def carry_out(uow: UnitOfWork, claim: Claim) -> None:
    """Send a claimed operation to the gateway (no transaction open) and settle it with the answer."""
    gateway = wiring(uow).gateway
    kind = claim.kind
    try:
        if kind == "capture":
            result = _send(
                lambda: gateway.capture(
                    reference=claim.reference, amount=claim.amount, idempotency_key=claim.gateway_key
                )
            )
        elif kind == "refund":
            result = _send(
                lambda: gateway.refund(
                    reference=claim.reference,
                    amount=claim.amount,
                    idempotency_key=claim.gateway_key,
                    last_four=claim.last_four,
                )
            )
        else:
            result = _send(lambda: gateway.void(reference=claim.reference, idempotency_key=claim.gateway_key))
    except GatewayUnavailable:
        raise GatewayTimedOut(
            f"the processor did not answer this {kind}; repeat the request with the same Idempotency-Key "
            "to learn its outcome (nothing is taken twice)"
        ) from None
    except GatewayRejected as refused:
        _settle(uow, claim=claim, outcome="failed", result=None, reason_code=refused.reason_code)
        raise Conflict(
            f"the processor refused the {kind}: {refused}", reason_code=refused.reason_code
        ) from None
    _settle(uow, claim=claim, outcome="approved" if result.approved else "declined", result=result)


def capture_payment(
    uow: UnitOfWork, *, payment_id: uuid.UUID | str, amount: Money | None = None, key: str | None = None
) -> Payment:
    """Capture part or all of what a payment still has authorized (several captures allowed).

    Raises:
        CaptureExceedsAuthorized: more than is authorized and not yet captured (409).
        GatewayTimedOut: the processor's answer was lost; repeat with the same key (503).
    """
    return _operate(uow, payment_id=payment_id, kind="capture", amount=amount, key=key)


def void_payment(uow: UnitOfWork, *, payment_id: uuid.UUID | str, key: str | None = None) -> Payment:
    """Release what a payment has authorized and not captured (a gift card or store credit gets it back)."""
    return _operate(uow, payment_id=payment_id, kind="void", amount=None, key=key)


def refund_payment(
    uow: UnitOfWork,
    *,
    payment_id: uuid.UUID | str,
    amount: Money | None,
    reason: str,
    key: str | None = None,
    return_id: uuid.UUID | None = None,
) -> Payment:
    """Give back part or all of what a payment captured (a gift card is reloaded). Never more than captured and
    not yet refunded, however many refunds race.

    Raises:
        ValidationFailed: no reason given.
        RefundExceedsRefundable: more than is refundable (409, with the refundable amount).
    """
    if not reason.strip() and return_id is None:
        raise ValidationFailed.on("reason", "say why the money is given back (or name the return)")
    return _operate(
        uow,
        payment_id=payment_id,
        kind="refund",
        amount=amount,
        key=key,
        reason=reason.strip(),
        return_id=return_id,
    )


@use_case(readonly=True)
def transaction_key(uow: UnitOfWork, *, order_id: uuid.UUID, transaction_id: uuid.UUID) -> str | None:
    """The idempotency key a payment operation was made under (None: no such transaction): who asked for a refund
    can be told by the key it chose (a channel's own refund, say)."""
    return uow.session.scalar(
        sa.select(PaymentTransactionRow.idempotency_key).where(
            PaymentTransactionRow.order_id == order_id, PaymentTransactionRow.id == transaction_id
        )
    )


@dataclass(frozen=True)
class ApprovedTransaction:
    amount_minor: int
    return_id: uuid.UUID | None  # the return it refunded, when it was a return's refund


def approved_transactions(
    uow: UnitOfWork, *, order_id: uuid.UUID, transaction_ids: list[uuid.UUID]
) -> dict[uuid.UUID, ApprovedTransaction]:
    """The order's approved transactions among `transaction_ids`, each with its amount in minor units and the return
    it refunded (what earlier refunds sent to a channel came to, and for which units)."""
    if not transaction_ids:
        return {}
    rows = uow.session.execute(
        sa.select(
            PaymentTransactionRow.id, PaymentTransactionRow.amount_minor, PaymentTransactionRow.return_id
        ).where(
            PaymentTransactionRow.order_id == order_id,
            PaymentTransactionRow.id.in_(transaction_ids),
            PaymentTransactionRow.outcome == "approved",
        )
    ).all()
    return {row.id: ApprovedTransaction(int(row.amount_minor), row.return_id) for row in rows}


@use_case(readonly=True)
def get_payment(uow: UnitOfWork, *, payment_id: uuid.UUID | str) -> Payment:
    row = payment_row(uow, payment_id)
    return to_payment(row, transactions_of(uow, row.order_id).get(row.id, []))


@use_case(readonly=True)
def order_payments(uow: UnitOfWork, *, order_id: uuid.UUID) -> list[Payment]:
    """An order's tenders in the order they were given, each with its transaction log."""
    logs = transactions_of(uow, order_id)
    return [to_payment(r, logs.get(r.id, [])) for r in payments_of(uow, order_id)]


@use_case(readonly=True)
def _refundable(uow: UnitOfWork, *, order_id: uuid.UUID) -> list[rules.Captured]:
    """What each tender has refundable, with when it was last captured (from its log; the ids, UUIDv7, order
    tenders written in one transaction)."""
    logs = transactions_of(uow, order_id)
    found = []
    for row in payments_of(uow, order_id):
        if row.captured_minor <= row.refunded_minor:
            continue
        captured = [
            t.at
            for t in logs.get(row.id, [])
            if t.outcome == "approved" and t.kind in ("capture", "check_deposited")
        ]
        found.append(
            rules.Captured(
                payment=str(row.id),
                captured=Money.from_minor(row.captured_minor, row.currency),
                refunded=Money.from_minor(row.refunded_minor, row.currency),
                captured_at=max(captured, default=row.created_at),
            )
        )
    return found


@dataclass(frozen=True)
class Refunded:
    payments: list[Payment]
    store_credit: gift_cards.IssuedCard | None = None


@use_case(readonly=True)
def return_of(uow: UnitOfWork, *, ref: str | None, order_id: uuid.UUID) -> uuid.UUID | None:
    """The id of the order's return named by its id or its number (`R-001188`), for a refund that belongs to it.

    Raises:
        ValidationFailed: on `return_id`, when no return has that id or number, or the return is another order's
            (answered alike, so a caller learns nothing of others' returns).
    """
    if ref is None:
        return None
    try:
        found = orders.get_return(uow, ref=ref.strip())
    except NotFound:
        found = None
    if found is None or found.order_id != order_id:
        raise ValidationFailed.on("return_id", f"no return {ref.strip()!r} on this order")
    return found.id


def refund_order(
    uow: UnitOfWork,
    *,
    order_id: uuid.UUID,
    amount: Money,
    reason: str,
    key: str | None = None,
    return_id: uuid.UUID | None = None,
    to_store_credit: bool = False,
) -> Refunded:
    """Give back `amount` of an order: to its tenders, the last captured first (so a gift card used after a card
    is reloaded before the card is refunded), or — when the customer takes it — as store credit (a new store-credit
    card for the amount; the tenders keep their money).

    Raises:
        RefundExceedsRefundable: more than the order has captured and not refunded (409).
    """
    captures = _refundable(uow, order_id=order_id)
    try:
        plan = rules.refund_plan(amount, captures)
    except ValueError as too_much:
        available = sum((c.refundable for c in captures), Money.zero(amount.currency))
        raise RefundExceedsRefundable(str(too_much), refundable=str(available.amount)) from None
    key = key or f"auto:{new_id()}"
    if not reason.strip() and return_id is None:
        raise ValidationFailed.on("reason", "say why the money is given back (or name the return)")
    if to_store_credit:
        issued = _refund_as_store_credit(
            uow, order_id=order_id, plan=plan, reason=reason.strip(), key=key, return_id=return_id
        )
        return Refunded(order_payments(uow, order_id=order_id), issued)
    return Refunded(
        [
            refund_payment(
                uow,
                payment_id=payment,
                amount=part,
                reason=reason,
                key=f"{key}:{payment}",
                return_id=return_id,
            )
            for payment, part in plan
        ]
    )


@use_case
def _refund_as_store_credit(
    uow: UnitOfWork,
    *,
    order_id: uuid.UUID,
    plan: list[tuple[str, Money]],
    reason: str,
    key: str,
    return_id: uuid.UUID | None,
) -> gift_cards.IssuedCard:
    """The refund as one new store-credit card; each tender in the plan records its part as refunded (so the same
    money cannot also go back to the card), checked under its row lock."""
    total = sum((part for _, part in plan), Money.zero(plan[0][1].currency))
    order = orders.get_order(uow, ref=str(order_id))
    for payment_id, part in sorted(plan):  # a fixed lock order
        row = payment_row(uow, payment_id, lock=True)
        if part.minor > row.captured_minor - row.refunded_minor:
            raise RefundExceedsRefundable("the order's refundable amount changed meanwhile; read it again")
        row.refunded_minor += part.minor
        touch(uow, row)
        log(
            uow,
            row,
            "refund",
            part.minor,
            "approved",
            key=f"{key}:{payment_id}",
            reason=f"as store credit: {reason}",
            return_id=return_id,
        )
        emit(uow, "payment.refunded", row, part.minor, reason=reason, to="store_credit")
    issued = gift_cards.issue(
        uow,
        amount=total,
        kind="store_credit",
        customer_id=order.customer_id,
        note=f"refund of order {order.number}: {reason}",
        refund=True,
    )
    refresh_order_status(uow, order_id)
    return issued
