"""Captures and refunds by the processor's transaction reference: what a settlement file's lines are matched to."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ordersmith.payments.tables import PaymentRow, PaymentTransactionRow
from ordersmith.platform.db import UnitOfWork, use_case

_TXNS = PaymentTransactionRow.__table__


@dataclass(frozen=True)
class SettledTransaction:
    id: uuid.UUID
    kind: str  # capture | refund
    amount_minor: int
    currency: str
    transaction_reference: str
    gateway_reference: str


@use_case(readonly=True)
def transactions_by_reference(uow: UnitOfWork, *, references: Sequence[str]) -> list[SettledTransaction]:
    """Approved captures and refunds whose processor transaction reference (or, for a processor that names a sale
    by one reference, its gateway reference) is one of `references` (`ix_payment_transactions_transaction_ref`,
    `ix_payment_transactions_gateway_ref`; asked in chunks of 500)."""
    wanted = sorted({r for r in references if r})
    found: list[SettledTransaction] = []
    for at in range(0, len(wanted), 500):
        chunk = wanted[at : at + 500]
        query = sa.select(
            _TXNS.c.id,
            _TXNS.c.kind,
            _TXNS.c.amount_minor,
            _TXNS.c.currency,
            _TXNS.c.transaction_reference,
            _TXNS.c.gateway_reference,
        ).where(
            sa.or_(_TXNS.c.transaction_reference.in_(chunk), _TXNS.c.gateway_reference.in_(chunk)),
            _TXNS.c.kind.in_(("capture", "refund")),
            _TXNS.c.outcome == "approved",
        )
        found += [SettledTransaction(*row) for row in uow.execute_core(query).all()]
    return found


@use_case(readonly=True)
def recent_captures(uow: UnitOfWork, *, since: datetime, limit: int = 100) -> list[SettledTransaction]:
    """Approved captures from `since` on, oldest first (`ix_payment_transactions_pending`: outcome, at): what a
    processor's next payout would settle."""
    query = (
        sa.select(
            _TXNS.c.id,
            _TXNS.c.kind,
            _TXNS.c.amount_minor,
            _TXNS.c.currency,
            _TXNS.c.transaction_reference,
            _TXNS.c.gateway_reference,
        )
        .where(_TXNS.c.outcome == "approved", _TXNS.c.at >= since, _TXNS.c.kind == "capture")
        .order_by(_TXNS.c.at, _TXNS.c.id)
        .limit(limit)
    )
    return [SettledTransaction(*row) for row in uow.execute_core(query).all()]


@dataclass(frozen=True)
class DisputedCapture:
    """The capture a processor's dispute names, with its payment's tender (which clearing account it went to)."""

    transaction_id: uuid.UUID
    order_id: uuid.UUID
    payment_id: uuid.UUID
    method: str
    gateway: str
    amount_minor: int
    currency: str


@use_case(readonly=True)
def disputed_capture(
    uow: UnitOfWork, *, reference: str = "", payment_id: uuid.UUID | None = None
) -> DisputedCapture | None:
    """The approved capture a dispute is against: the one whose processor transaction or gateway reference is
    `reference` (a settlement line names the charge), or the latest of the payment `payment_id` (a gateway's
    notification names the payment). None when there is none (through the reference indexes or the payment's)."""
    payments = PaymentRow.__table__
    query = (
        sa.select(_TXNS.c.id, _TXNS.c.order_id, _TXNS.c.payment_id, payments.c.method, payments.c.gateway,
                  _TXNS.c.amount_minor, _TXNS.c.currency)
        .join(payments, sa.and_(payments.c.order_id == _TXNS.c.order_id, payments.c.id == _TXNS.c.payment_id))
        .where(_TXNS.c.kind == "capture", _TXNS.c.outcome == "approved")
        .order_by(_TXNS.c.at.desc(), _TXNS.c.id.desc())
        .limit(1)
    )  # fmt: skip
    if payment_id is not None:
        query = query.where(_TXNS.c.payment_id == payment_id)
    elif reference:
        query = query.where(
            sa.or_(_TXNS.c.transaction_reference == reference, _TXNS.c.gateway_reference == reference)
        )
    else:
        return None
    row = uow.execute_core(query).first()
    return None if row is None else DisputedCapture(*row)
