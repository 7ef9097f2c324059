"""A tender added to a placed order (the rest paid another way, a declined card replaced, an edit that raised the
total): claim, authorize, settle.

Invariant: the tenders of an order never cover more than its total, whatever arrives at once. The amount is set
aside as a pending payment row under the order's row lock (claim, one transaction, committed); the card is
authorized with no transaction open, keyed by that row; the answer settles the row (a second transaction). A
concurrent tender sees the claimed amount as covered, so ten identical calls authorize once.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from ordersmith.checkout import rules
from ordersmith.checkout.service.placing import check_caller
from ordersmith.kernel.errors import IllegalTransition, OrdersmithError, ValidationFailed
from ordersmith.kernel.events import Event
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import jobs
from ordersmith.platform.db import UnitOfWork, use_case

OnSettled = Callable[[UnitOfWork, payments.Payment], None]
_COVERED = ("authorized", "partially_captured", "captured")


def add_tender(
    uow: UnitOfWork,
    *,
    order_ref: str,
    caller: rules.Caller,
    tender: orders.PaymentRequest,
    channel: str | None = None,
    attempt: str | None = None,
    on_settled: OnSettled | None = None,
) -> payments.Payment:
    """Add a tender to a placed order; without an amount it pays what the live tenders leave unpaid. An order that
    waited for its payment is released once covered.

    Raises:
        NotFound: no such order (or another channel's, for a channel-bound caller).
        ValidationFailed: a tender this caller may not use or that cannot pay; an amount beyond what is unpaid.
        PaymentDeclined: the card was declined (402): the attempt is recorded as failed, nothing is covered.
        Conflict: the order is cancelled or completed.
    """
    assert not uow.active, "checkout opens its own transactions: the processor is never called inside one"
    order = orders.get_order(
        uow, ref=order_ref, channel=channel
    )  # another channel's: 404 before anything else
    check_caller(uow, caller=caller, request=orders.OrderRequest(lines=[], ship_tos=[], payments=[tender]))
    if order.status in ("cancelled", "completed"):
        raise IllegalTransition(f"order {order.number} is {order.status}", state=order.status, action="pay")
    customer = str(order.customer_id) if order.customer_id else None
    payments.check_tenders(uow, customer=customer, tenders=[tender])
    pending = payments.Tender(0, tender)
    if tender.method in payments.CALLED_OUT:
        claimed = _claim(uow, order_id=order.id, tender=pending)
        pending.key = f"auth:{claimed}"
        if tender.method in rules.WALLETS:
            _verify(uow, pending, claimed, order.id)
        payments.authorize_cards(uow, [pending])
        if pending.declined:
            _settle(uow, order_id=order.id, payment_id=claimed, tender=pending, on_settled=None)
            raise payments.PaymentDeclined(
                f"the card was declined ({pending.reason_code})", reason_code=pending.reason_code
            )
        try:
            return _settle(uow, order_id=order.id, payment_id=claimed, tender=pending, on_settled=on_settled)
        except OrdersmithError:
            payments.void_unused(uow, [pending])
            payments.abandon_claim(uow, order_id=order.id, payment_id=claimed, reason="not recorded")
            raise
    return _settle(uow, order_id=order.id, payment_id=None, tender=pending, on_settled=on_settled)


def _verify(uow: UnitOfWork, pending: payments.Tender, claimed: uuid.UUID, order_id: uuid.UUID) -> None:
    check = payments.verify_wallet(
        uow, method=pending.request.method, reference=pending.request.reference, amount=pending.part
    )
    if not check.verified:
        payments.abandon_claim(uow, order_id=order_id, payment_id=claimed, reason=check.reason)
        raise ValidationFailed.on(
            "reference",
            f"{pending.request.method} did not confirm {pending.part} collected under this reference ({check.reason})",
        )


@use_case
def _claim(uow: UnitOfWork, *, order_id: uuid.UUID, tender: payments.Tender) -> uuid.UUID:
    order = orders.lock_for_payment(uow, ref=str(order_id))
    return payments.claim_tender(uow, order=order, tender=tender).id


@use_case
def _settle(
    uow: UnitOfWork,
    *,
    order_id: uuid.UUID,
    payment_id: uuid.UUID | None,
    tender: payments.Tender,
    on_settled: OnSettled | None,
) -> payments.Payment:
    order = orders.lock_for_payment(uow, ref=str(order_id))
    if payment_id is None:  # settled by Ordersmith itself: claim and settle in this one transaction
        payments.find_gift_cards(uow, [tender], currency=order.currency)
        payment_id = payments.claim_tender(uow, order=order, tender=tender).id
    payment = payments.record_claimed(uow, order=order, payment_id=payment_id, tender=tender)
    limit = payments.checkout_policy(uow).check_hold_above(order.currency)
    if tender.request.method == "check" and limit is not None:
        # Every check of the order not cleared yet, this one included: splitting a check must not avoid the hold.
        received = payments.uncleared_checks(uow, order_id=order_id, currency=order.currency)
        if received > limit:
            with contextlib.suppress(IllegalTransition):  # a check for an order already shipped holds nothing
                orders.hold_order(uow, ref=str(order_id), reason="check_clearance",
                                  note=f"{received} in checks (above {limit}) is held until they clear")  # fmt: skip
    now = orders.get_order(uow, ref=str(order_id))
    waiting = any(h.reason == "pending_payment" and h.status == "active" for h in now.holds)
    if waiting and now.payment_status in _COVERED:
        orders.resolve_hold(
            uow, ref=str(order_id), reason="pending_payment", note=f"paid by {tender.request.method}"
        )
    if on_settled is not None:
        on_settled(uow, payment)
    return payment


# --- an edit raised the total -------------------------------------------------------------------------------------


def on_order_changed(uow: UnitOfWork, event: Event) -> None:
    """An edited order may now cost more than its tenders cover: queue the top-up."""
    if event.payload.get("change") == "edited":
        jobs.enqueue(uow, "checkout.cover_total", {"order_id": event.payload["order_id"]})


def cover_total(uow: UnitOfWork, *, order_id: uuid.UUID) -> payments.Payment | None:
    """After an edit raised the total: authorize the difference on the card the order was paid with (the same
    token, a tender of its own), so nothing ships unpaid. Declined → the order is held for payment. An order paid
    otherwise (gift card, check, account) is left for a person to add a tender (its page shows what is covered).
    Safe to run twice: what the tenders cover is read again under the order's lock each time."""
    order = orders.get_order(uow, ref=str(order_id))
    if order.status == "cancelled":
        return None
    short, token = payments.shortfall(uow, order_id=order.id, total=order.total)
    if short.minor <= 0 or not token:
        return None
    tender = orders.PaymentRequest(method="card", token=token, amount=short)
    staff = rules.Caller(channel_kind="", scopes=frozenset())
    try:
        return add_tender(uow, order_ref=str(order.id), caller=staff, tender=tender)
    except ValidationFailed:
        return None  # covered meanwhile (another run, or a person added a tender)
    except payments.PaymentDeclined as declined:
        _hold_for_payment(
            uow,
            order_ref=str(order.id),
            note=f"the card was declined for the {short} the edit added ({declined.extra.get('reason_code', '')})",
        )
        return None


@use_case
def _hold_for_payment(uow: UnitOfWork, *, order_ref: str, note: str) -> None:
    with contextlib.suppress(IllegalTransition):
        orders.hold_order(uow, ref=order_ref, reason="payment_declined", note=note)


def _cover_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    cover_total(uow, order_id=uuid.UUID(payload["order_id"]))


def register() -> None:
    """Subscribers and jobs (idempotent: safe to call at every start)."""
    from ordersmith.platform import outbox

    outbox.unsubscribe(on_order_changed)
    outbox.subscribe("order.changed", on_order_changed)
    jobs.register("checkout.cover_total", _cover_job)
    # Jobs queued under the name they had when payments ran them.
    jobs.register("payments.cover_total", _cover_job)
