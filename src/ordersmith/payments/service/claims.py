"""A tender added to a placed order: claim (the amount set aside under the order's lock), then — after the
processor answered, with no transaction open — settle. Checkout composes these.

Invariant: an order's live tenders never cover more than its total; a card's claim carries a pending authorization
under a key derived from its row, so a process dying before it settles leaves work the resolution job finishes with
the same key.
"""

from __future__ import annotations

import uuid
from typing import cast

import sqlalchemy as sa

from ordersmith.kernel.errors import Conflict, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments.service._common import (
    Payment,
    log,
    payments_of,
    refresh_order_status,
    to_payment,
    touch,
    wiring,
)
from ordersmith.payments.service.tenders import (
    CARD_METHODS,
    LIVE_EXCLUDED,
    Tender,
    decide_credit,
    new_payment_row,
    record_authorized,
    record_declined,
    record_tender,
)
from ordersmith.payments.tables import PaymentRow, PaymentTransactionRow
from ordersmith.platform.db import UnitOfWork, use_case

_LOST = "the processor's answer to the card authorization was lost; it is asked again"


def _unpaid(uow: UnitOfWork, order: orders.Order) -> Money:
    covered = sum(
        (
            Money.from_minor(r.amount_minor, r.currency)
            for r in payments_of(uow, order.id)
            if r.status not in LIVE_EXCLUDED
        ),
        Money.zero(order.currency),
    )
    return order.total - covered


def claim_tender(uow: UnitOfWork, *, order: orders.Order, tender: Tender) -> PaymentRow:
    """Inside the caller's transaction, which holds the order's row lock: check the tender's amount against what
    the live tenders leave unpaid and set it aside as a pending payment row, so concurrent tenders can never
    cover more than the total together. Returns the row (its id keys the card's authorization).

    Raises:
        ValidationFailed: an amount beyond what is unpaid (nothing is set aside).
    """
    unpaid = _unpaid(uow, order)
    amount = tender.request.amount or unpaid
    if amount.currency != order.currency or amount.minor <= 0 or amount > unpaid:
        raise ValidationFailed.on("amount", f"{unpaid} of the order is unpaid")
    tender.amount = amount
    seq = 1 + max((r.seq for r in payments_of(uow, order.id)), default=0)
    row = new_payment_row(uow, order, tender, seq)
    uow.session.add(row)
    if tender.request.method in CARD_METHODS:
        # The authorization is pending from now on, under a key derived from this row: if this process dies
        # before the answer is recorded, the resolution job asks the processor again with the same key.
        row.status, row.gateway, row.token = "pending_review", wiring(uow).gateway.name, tender.request.token
        tender.key = f"auth:{row.id}"
        log(uow, row, "authorization", amount.minor, "pending", key=tender.key)
    uow.session.flush()
    return row


def record_claimed(uow: UnitOfWork, *, order: orders.Order, payment_id: uuid.UUID, tender: Tender) -> Payment:
    """Settle a claimed tender with what happened (the card's answer, or a tender Ordersmith settles itself: a gift
    card redeemed, a check received, credit on account) and record the order's payment status.

    Raises:
        GiftCardBalanceInsufficient: the card holds less (the caller's transaction rolls back, claim included).
    """
    row = uow.session.scalar(
        sa.select(PaymentRow).where(PaymentRow.order_id == order.id, PaymentRow.id == payment_id)
    )
    if row is None or row.status not in ("pending_review", "pending"):
        raise Conflict("this tender was settled already")
    if tender.request.method in CARD_METHODS:
        _settle_card(uow, row, tender)
        if tender.unknown:
            orders.hold_order(uow, ref=str(order.id), reason="payment_review", note=_LOST)
        refresh_order_status(uow, order.id, total=order.total)
        return to_payment(row)
    if tender.request.method == "on_account":
        note = decide_credit(uow, customer_id=_account_holder(order), amount=tender.part)
        if note:
            orders.hold_order(uow, ref=str(order.id), reason="credit_limit", note=note)
    record_tender(uow, order, tender, row)
    refresh_order_status(uow, order.id, total=order.total)
    return to_payment(row)


def _settle_card(uow: UnitOfWork, row: PaymentRow, tender: Tender) -> None:
    """Record the processor's answer on the claimed card tender's pending authorization (exactly once: the
    resolution job may have asked again and settled it first — then it stands as the job left it)."""
    if tender.unknown:
        return  # stays pending; the resolution job asks again with the same key
    result = tender.result
    approved = result is not None and result.approved
    table = cast(sa.Table, PaymentTransactionRow.__table__)
    done = uow.session.execute(
        sa.update(table)
        .where(table.c.order_id == row.order_id, table.c.payment_id == row.id,
               table.c.idempotency_key == tender.key, table.c.outcome == "pending")
        .values(outcome="approved" if approved else "declined", resolved_at=uow.now(),
                gateway_reference=result.reference if result else "",
                transaction_reference=result.transaction if result else "",
                reason_code="" if approved else tender.reason_code[:60])
    )  # fmt: skip
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return
    if not approved:
        record_declined(uow, row, tender.reason_code)
        row.updated_at, row.version = uow.now(), row.version + 1
        return
    assert result is not None
    row.brand, row.last_four = tender.card_brand, tender.card_last_four  # read by authorize_cards, outside
    record_authorized(uow, row, result)
    row.status = "pending"
    touch(uow, row)


def _account_holder(order: orders.Order) -> uuid.UUID:
    if order.customer_id is None:
        raise ValidationFailed.on("method", "on account needs a customer with payment terms")
    return order.customer_id


@use_case
def abandon_claim(uow: UnitOfWork, *, order_id: uuid.UUID, payment_id: uuid.UUID, reason: str) -> None:
    """A claimed tender whose settling failed: it no longer covers anything (status failed, with why)."""
    row = uow.session.scalar(
        sa.select(PaymentRow).where(PaymentRow.order_id == order_id, PaymentRow.id == payment_id)
    )
    if row is not None and row.status in ("pending_review", "pending"):
        row.status, row.reason_code = "failed", reason[:60]
        row.updated_at, row.version = uow.now(), row.version + 1
        table = cast(sa.Table, PaymentTransactionRow.__table__)
        uow.session.execute(  # nothing for the resolution job to ask about: the authorization was voided
            sa.update(table)
            .where(
                table.c.order_id == order_id, table.c.payment_id == payment_id, table.c.outcome == "pending"
            )
            .values(outcome="declined", resolved_at=uow.now(), reason_code=reason[:60])
        )
