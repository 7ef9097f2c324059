"""Card disputes (chargebacks): opened against one of our captures when a processor says so — its notification
(`payment.disputed`, passed on by payments from the gateway's webhook) or a dispute line of an imported settlement —
then won or lost, by the processor's word (`payment.dispute_closed`, a settlement's reinstatement line) or a person's
(`record_dispute_outcome`). Each step is posted through the outbox (`dispute.opened`, `dispute.won`, `dispute.lost`:
`finance.dispute_rules`, ADR 0040).

Invariants: one dispute per processor and processor's dispute id (unique; a second notification or a settlement
line naming it finds the first); an outcome is set once, by a conditional UPDATE of an open dispute, so two at once
post one entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ordersmith.finance.dispute_tables import DisputeRow
from ordersmith.kernel.errors import AlreadyExists, Conflict, NotFound, PreconditionFailed, ValidationFailed
from ordersmith.kernel.events import Event
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page
from ordersmith.payments import service as payments
from ordersmith.platform import outbox
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.numbers import next_number
from ordersmith.platform.paging import keyset_page

_DISPUTES = cast(sa.Table, DisputeRow.__table__)
SERIES = "dispute"
STATUSES = ("open", "won", "lost")
OUTCOMES = ("won", "lost")
# A settlement names its processor as the import does; a dispute keeps the gateway's name, as payments do.
GATEWAY_OF = {"stripe": "stripe", "authorize_net": "authorizenet"}
# The processors a person may open a dispute of, as the gateways name themselves.
MANUAL_PROCESSORS = ("stripe", "authorizenet", "sandbox")


class DisputeClosed(Conflict):
    code = "dispute_closed"
    title = "The dispute has its outcome already"


@dataclass(frozen=True)
class Dispute:
    id: uuid.UUID
    number: str
    processor: str
    reference: str
    capture_reference: str
    transaction_id: uuid.UUID | None
    order_id: uuid.UUID | None
    payment_id: uuid.UUID | None
    method: str
    amount: Money
    fee: Money
    fee_returned: Money
    reason: str
    source: str
    status: str
    opened_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    note: str
    version: int

    @property
    def currency(self) -> str:
        return self.amount.currency


def _dispute(row: Any) -> Dispute:
    c = row.currency
    return Dispute(
        id=row.id, number=row.number, processor=row.processor, reference=row.reference,
        capture_reference=row.capture_reference, transaction_id=row.transaction_id, order_id=row.order_id,
        payment_id=row.payment_id, method=row.method, amount=Money.from_minor(row.amount_minor, c),
        fee=Money.from_minor(row.fee_minor, c), fee_returned=Money.from_minor(row.fee_returned_minor, c),
        reason=row.reason, source=row.source, status=row.status, opened_at=row.opened_at, closed_at=row.closed_at,
        closed_by=row.closed_by, note=row.note, version=row.version,
    )  # fmt: skip


def _find(uow: UnitOfWork, processor: str, reference: str) -> Any:
    query = sa.select(_DISPUTES).where(_DISPUTES.c.processor == processor, _DISPUTES.c.reference == reference)
    return uow.execute_core(query).first()


def _payload(row: Any, **extra: Any) -> dict[str, Any]:
    c = row.currency
    return {
        "id": str(row.id), "number": row.number, "processor": row.processor, "reference": row.reference,
        "capture_reference": row.capture_reference, "method": row.method, "currency": c,
        "order_id": str(row.order_id) if row.order_id else None,
        "payment_id": str(row.payment_id) if row.payment_id else None,
        "amount": str(Money.from_minor(row.amount_minor, c).amount),
        "fee": str(Money.from_minor(row.fee_minor, c).amount), **extra,
    }  # fmt: skip


@use_case
def open_dispute(
    uow: UnitOfWork,
    *,
    processor: str,
    reference: str,
    capture_reference: str,
    amount: Money,
    fee: Money,
    reason: str = "",
    source: str,
    payment_id: uuid.UUID | None = None,
) -> tuple[Dispute, bool]:
    """Open the dispute `reference` of `processor` against the capture it names (by the payment, or by the charge's
    reference), unless it is open already; answers (the dispute, whether this call opened it). Its amount and fee
    are posted (`dispute.opened`) once, when it opens.

    Raises:
        ValidationFailed: no reference, an amount not above zero, a negative fee, mixed currencies.
    """
    reference = reference.strip()
    if not reference or len(reference) > 100 or not reference.isprintable():
        raise ValidationFailed.on("reference", "the processor's dispute id: 1 to 100 printable characters")
    if amount.minor <= 0:
        raise ValidationFailed.on("amount", "a dispute takes more than zero")
    if fee.minor < 0 or fee.currency != amount.currency:
        raise ValidationFailed.on("fee", "zero or more, in the disputed amount's currency")
    capture = payments.disputed_capture(uow, reference=capture_reference, payment_id=payment_id)
    processor = capture.gateway if capture is not None and capture.gateway else processor
    found = _find(uow, processor, reference)
    if found is not None:
        return _dispute(found), False
    dispute_id, now = new_id(), uow.now()
    values = {
        "id": dispute_id, "processor": processor[:20], "reference": reference,
        "capture_reference": capture_reference.strip()[:100],
        "transaction_id": capture.transaction_id if capture else None,
        "order_id": capture.order_id if capture else None, "payment_id": capture.payment_id if capture else None,
        "method": capture.method if capture else "card", "currency": amount.currency,
        "amount_minor": amount.minor, "fee_minor": fee.minor, "fee_returned_minor": 0,
        "reason": "".join(ch for ch in reason if ch.isprintable())[:100], "source": source, "status": "open",
        "opened_at": now, "closed_at": None, "closed_by": None, "note": "", "version": 1,
    }  # fmt: skip
    try:
        with uow.session.begin_nested():
            values["number"] = f"DP-{next_number(uow, SERIES):06d}"
            uow.execute_core(_DISPUTES.insert().values(**values))
    except IntegrityError:  # the same dispute, opened by another notification at the same moment
        again = _find(uow, processor, reference)
        if again is None:
            raise
        return _dispute(again), False
    row = _find(uow, processor, reference)
    uow.emit("dispute.opened", _payload(row))
    uow.audit(
        "dispute.opened",
        object_type="dispute",
        object_id=row.number,
        after={"processor": processor, "reference": reference, "amount_minor": amount.minor,
               "fee_minor": fee.minor, "source": source, "capture": str(values["transaction_id"] or "")},
    )  # fmt: skip
    return _dispute(row), True


@use_case
def open_dispute_by_hand(
    uow: UnitOfWork,
    *,
    processor: str,
    reference: str,
    capture_reference: str,
    amount: Money,
    fee: Money,
    reason: str = "",
) -> Dispute:
    """Open a dispute a processor reported by other means (a letter, its dashboard): as a webhook-opened one — the
    same row, the same `dispute.opened` posting, once — with `source` `manual`. The capture is found by the
    charge's processor reference when it is ours (the processor is then the capture's gateway).

    Raises:
        ValidationFailed: as `open_dispute`; an unknown processor (naming `processor`); no charge reference.
        AlreadyExists: this processor's dispute `reference` is recorded already (by hand, a webhook or a
            settlement): nothing changes.
    """
    if processor not in MANUAL_PROCESSORS:
        raise ValidationFailed.on("processor", f"one of {', '.join(MANUAL_PROCESSORS)}")
    if not capture_reference.strip():
        raise ValidationFailed.on("capture_reference", "the disputed charge's processor reference")
    dispute, opened = open_dispute(
        uow,
        processor=processor,
        reference=reference,
        capture_reference=capture_reference,
        amount=amount,
        fee=fee,
        reason=reason,
        source="manual",
    )
    if not opened:
        raise AlreadyExists(
            f"{dispute.processor} dispute {dispute.reference} is recorded already as {dispute.number}",
            number=dispute.number,
        )
    return dispute


def _get_row(uow: UnitOfWork, ref: str) -> Any:
    query = sa.select(_DISPUTES)
    try:
        query = query.where(_DISPUTES.c.id == uuid.UUID(ref))
    except ValueError:
        query = query.where(_DISPUTES.c.number == ref.strip().upper())
    row = uow.execute_core(query).first()
    if row is None:
        raise NotFound(f"no dispute {ref!r}")
    return row


@use_case(readonly=True)
def get_dispute(uow: UnitOfWork, *, ref: str) -> Dispute:
    """By number (`DP-000001`) or id."""
    return _dispute(_get_row(uow, ref))


@use_case(readonly=True)
def list_disputes(
    uow: UnitOfWork, *, status: str | None = None, limit: int = 50, cursor: str | None = None
) -> Page[Dispute]:
    """Newest first; only those of `status` (open, won, lost) when given (`ix_finance_disputes_status`)."""
    query = sa.select(DisputeRow)
    if status is not None:
        if status not in STATUSES:
            raise ValidationFailed.on("status", f"one of {', '.join(STATUSES)}")
        query = query.where(DisputeRow.status == status)
    return keyset_page(
        uow, query, keys=[DisputeRow.opened_at, DisputeRow.id], to_item=_dispute, cursor=cursor, limit=limit,
        descending=True,
    )  # fmt: skip


@use_case
def record_dispute_outcome(
    uow: UnitOfWork,
    *,
    ref: str,
    outcome: str,
    fee_returned: Money | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> Dispute:
    """Close an open dispute as `won` (the processor put the amount back, and `fee_returned` of its fee) or `lost`
    (the amount is a loss). Posted once (`dispute.won` / `dispute.lost`).

    Raises:
        NotFound: no such dispute.
        ValidationFailed: an outcome other than won or lost; a fee returned on a lost dispute, below zero or above
            the fee; a note longer than 500 characters.
        DisputeClosed: the dispute has its outcome already (nothing changes).
        PreconditionFailed: `expected_version` is not the dispute's (the caller read it before a change).
    """
    if outcome not in OUTCOMES:
        raise ValidationFailed.on("outcome", "won or lost")
    if len(note) > 500 or not all(ch.isprintable() or ch in "\n\t" for ch in note):
        raise ValidationFailed.on("note", "at most 500 printable characters")
    row = _get_row(uow, ref)
    returned = 0 if fee_returned is None else fee_returned.minor
    if fee_returned is not None and (
        outcome != "won" or fee_returned.currency != row.currency or not 0 <= returned <= row.fee_minor
    ):
        raise ValidationFailed.on(
            "fee_returned", "only on a won dispute: zero up to its fee, in its currency"
        )
    where = [_DISPUTES.c.id == row.id, _DISPUTES.c.status == "open"]
    if expected_version is not None:
        where.append(_DISPUTES.c.version == expected_version)
    done = uow.execute_core(
        _DISPUTES.update()
        .where(*where)
        .values(status=outcome, fee_returned_minor=returned, closed_at=uow.now(), closed_by=uow.actor.label,
                note=note, version=_DISPUTES.c.version + 1)
    )  # fmt: skip
    if not done.rowcount:
        current = _get_row(uow, ref)
        if current.status != "open":
            raise DisputeClosed(f"dispute {row.number} was {current.status} already")
        raise PreconditionFailed(f"dispute {row.number} is at version {current.version}: read it again")
    closed = _get_row(uow, ref)
    fee_text = str(Money.from_minor(returned, row.currency).amount)
    uow.emit(f"dispute.{outcome}", _payload(closed, fee_returned=fee_text))
    uow.audit(
        f"dispute.{outcome}",
        object_type="dispute",
        object_id=row.number,
        before={"status": "open"},
        after={"status": outcome, "fee_returned_minor": returned, "note": note},
    )
    return _dispute(closed)


def _money(text: Any, currency: str) -> Money:
    try:
        return Money(Decimal(str(text or "0")), currency)
    except (InvalidOperation, ValueError):
        return Money.zero(currency)


def on_payment_disputed(uow: UnitOfWork, event: Event) -> None:
    """A gateway said a cardholder disputed a payment: the dispute opens (once)."""
    p = event.payload
    currency = str(p["currency"])
    open_dispute(
        uow, processor=str(p.get("gateway") or ""), reference=str(p["dispute"]),
        capture_reference=str(p.get("capture_reference") or ""), amount=_money(p.get("amount"), currency),
        fee=_money(p.get("fee"), currency), reason=str(p.get("reason") or ""), source="webhook",
        payment_id=uuid.UUID(str(p["payment_id"])),
    )  # fmt: skip


def on_payment_dispute_closed(uow: UnitOfWork, event: Event) -> None:
    """A gateway said a dispute closed, won or lost: its outcome is recorded, unless a person (or a settlement)
    recorded one first."""
    p = event.payload
    status = str(p.get("status") or "")
    if status not in OUTCOMES:
        return  # warning_closed, charge_refunded, …: no outcome for the books
    on_payment_disputed(uow, event)  # opened, should the notification that opened it never have come
    row = _find(uow, str(p.get("gateway") or ""), str(p["dispute"]))
    if row is None or row.status != "open":
        return
    try:
        record_dispute_outcome(uow, ref=str(row.id), outcome=status, note="the processor's decision")
    except DisputeClosed:
        return


def register() -> None:
    """Subscribe to the disputes payments pass on (idempotent)."""
    unregister()
    outbox.subscribe("payment.disputed", on_payment_disputed)
    outbox.subscribe("payment.dispute_closed", on_payment_dispute_closed)


def unregister() -> None:
    outbox.unsubscribe(on_payment_disputed)
    outbox.unsubscribe(on_payment_dispute_closed)
