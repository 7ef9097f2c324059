"""Placing an order with its payment: price once, authorize cards with no transaction open, then the order, its
tenders, events, audit and (with an Idempotency-Key) the stored response in one transaction.

Why authorize before placing: a declined card then costs no order number, no stock held and no `order.placed`
sent to channels, and the processor's network holds no database lock. If placing fails afterwards (stock gone, a
gift card short), the authorizations just taken are voided. An order without a card is priced inside its one
write transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from ordersmith.checkout import rules
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import (
    FieldError,
    IdempotencyInProgress,
    InsufficientStock,
    OrdersmithError,
    ValidationFailed,
)
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.sales_channels import SalesChannel

OnPlaced = Callable[[UnitOfWork, orders.Order], None]


def check_caller(uow: UnitOfWork, *, caller: rules.Caller, request: orders.OrderRequest) -> None:
    """Refuse what this caller may not say: money collected it cannot vouch for, when the order was placed, its
    priority.

    Raises:
        ValidationFailed: naming the field; nothing is authorized or written.
    """
    refused = rules.request_refusal(
        placed_at_given=request.placed_at is not None,
        placed_in_future=request.placed_at is not None and request.placed_at > uow.now(),
        priority=request.priority,
        scopes=caller.scopes,
    )
    if refused is not None:
        raise ValidationFailed.on(*refused)
    for n, tender in enumerate(request.payments):
        why = rules.tender_refusal(tender.method, caller)
        if why is not None:
            raise ValidationFailed.on(f"payments.{n}.method", why)
        if tender.method in rules.WALLETS and not tender.reference.strip():
            raise ValidationFailed.on(
                f"payments.{n}.reference", f"the {tender.method} order's id, to be verified"
            )


def place_order(
    uow: UnitOfWork,
    *,
    channel: SalesChannel,
    caller: rules.Caller,
    request: orders.OrderRequest,
    attempt: str | None = None,
    on_placed: OnPlaced | None = None,
    refuse_declined: bool = False,
) -> orders.Placed:
    """Place an order and take its payment: cards authorized (or captured, when configured) before anything is
    written, then in one transaction the order (priced once, stock held, holds applied, its payment status final),
    gift cards and store credit redeemed, credit on account decided, checks received, cash and marketplace
    payments recorded, verified wallet payments recorded. A channel order sent again answers with the first order
    and authorizes nothing.

    `attempt` keys the processor calls (an Idempotency-Key's claim, so a request taken over after a crash is
    answered what the processor did the first time); `on_placed` runs inside the write transaction once the order
    is written (storing the idempotent response). `refuse_declined` refuses a declined card whatever the
    configured decline policy (a continuity shipment is retried on its schedule rather than placed on hold).

    Raises:
        ValidationFailed: a tender this caller may not use or that cannot pay, a placed_at or priority the caller
            may not set, or anything `orders.place_order` refuses.
        PaymentDeclined: a card declined and the policy is to refuse (402); nothing is placed and any other
            authorization is voided.
        GiftCardBalanceInsufficient: a gift card holds less than its part (409, with the balance).
    """
    assert not uow.active, "checkout opens its own transactions: the processor is never called inside one"
    if request.external_id:
        existing = orders.find_channel_order(uow, channel=channel.code, external_id=request.external_id)
        if existing is not None:
            return orders.Placed(order=existing, created=False)
    check_caller(uow, caller=caller, request=request)
    # Terms for on account are checked with the buyer the pricing pass reads (no read of its own).
    payments.check_tenders(uow, customer=request.customer, tenders=request.payments, terms_later=True)
    stem = attempt or str(new_id())
    tenders = [payments.Tender(n, p, key=f"auth:{stem}:{n}") for n, p in enumerate(request.payments)]
    priced: orders.Priced | None = None
    if any(t.request.method in payments.CALLED_OUT for t in tenders):
        # Cards and wallets are asked before the order is written, so their parts come from the price first.
        priced = _prepare(uow, channel=channel, caller=caller, request=request, tenders=tenders)
        payments.authorize_cards(uow, tenders)
        _verify_wallets(uow, tenders)
        declined = [t for t in tenders if t.declined]
        if declined and (refuse_declined or payments.checkout_policy(uow).decline == "refuse"):
            payments.void_unused(uow, tenders)
            first = declined[0]
            raise payments.PaymentDeclined(
                f"the card was declined ({first.reason_code})",
                reason_code=first.reason_code,
                errors=[FieldError(f"payments.{first.n}", "declined: " + first.reason_code)],
            )
    try:
        placed = _write_again_if_stock_moved(uow, channel=channel, caller=caller, request=request, tenders=tenders,
                                             priced=priced, on_placed=on_placed)  # fmt: skip
    except orders.AlreadyPlaced:
        existing = orders.find_channel_order(uow, channel=channel.code, external_id=request.external_id or "")
        assert existing is not None
        payments.void_unused(uow, tenders, keep=payments.kept_references(uow, order_id=existing.id))
        return orders.Placed(order=existing, created=False)
    except IdempotencyInProgress:
        # This request's claim on its Idempotency-Key was taken over (it outlived the lease) and the other owner
        # answered first: the authorizations carry the claim's keys, so they are that owner's — never void them.
        raise
    except OrdersmithError:
        payments.void_unused(uow, tenders)
        # A duplicate that lost the race may fail on what the first one took (its stock, its coupon): if the
        # channel order exists now, that order is the answer.
        found = (
            orders.find_channel_order(uow, channel=channel.code, external_id=request.external_id)
            if request.external_id
            else None
        )
        if found is None:
            raise
        return orders.Placed(order=found, created=False)
    except BaseException:
        payments.void_unused(uow, tenders)
        raise
    return placed


@use_case(readonly=True)
def _prepare(
    uow: UnitOfWork,
    *,
    channel: SalesChannel,
    caller: rules.Caller,
    request: orders.OrderRequest,
    tenders: list[payments.Tender],
) -> orders.Priced:
    priced = orders.price_order(
        uow, channel=channel, request=request, customer_of=_customer_of(caller, channel)
    )
    _split(uow, priced.quote.total, tenders)
    return priced


def _customer_of(caller: rules.Caller, channel: SalesChannel) -> str | None:
    return channel.code if caller.channel_bound else None


def _split(uow: UnitOfWork, total: Money, tenders: list[payments.Tender]) -> None:
    payments.find_gift_cards(uow, tenders, currency=total.currency)
    payments.gift_cards_first(uow, total, tenders)
    payments.split(total, tenders)


def _verify_wallets(uow: UnitOfWork, tenders: Sequence[payments.Tender]) -> None:
    for tender in tenders:
        if tender.request.method not in rules.WALLETS:
            continue
        check = payments.verify_wallet(
            uow, method=tender.request.method, reference=tender.request.reference, amount=tender.part
        )
        if not check.verified:
            raise ValidationFailed.on(
                f"payments.{tender.n}.reference",
                f"{tender.request.method} did not confirm {tender.part} collected under this reference "
                f"({check.reason})",
            )


_ATTEMPTS = 4


def _write_again_if_stock_moved(uow: UnitOfWork, **write: Any) -> orders.Placed:
    """The write transaction, run again from a fresh stock picture when another order took the units between the
    plan and the holds (rare): a whole transaction per attempt, so the usual one needs no savepoint."""
    for _ in range(_ATTEMPTS - 1):
        try:
            return _write(uow, **write)
        except inventory.StalePlan:
            continue
    try:
        return _write(uow, **write)
    except inventory.StalePlan:
        raise InsufficientStock(
            "stock kept moving while this order was placed; try again", requested=0, available=0
        ) from None


@use_case
def _write(
    uow: UnitOfWork,
    *,
    channel: SalesChannel,
    caller: rules.Caller,
    request: orders.OrderRequest,
    tenders: list[payments.Tender],
    priced: orders.Priced | None,
    on_placed: OnPlaced | None,
) -> orders.Placed:
    if priced is None:
        priced = orders.price_order(
            uow, channel=channel, request=request, customer_of=_customer_of(caller, channel)
        )
        if not tenders and priced.buyer is not None and priced.buyer.payment_terms:
            # A customer with terms and no tender named is billed on account (the credit rule decides).
            tenders = [payments.Tender(0, orders.PaymentRequest(method="on_account"))]
            request = dataclasses.replace(request, payments=[tenders[0].request])
        if tenders:
            _split(uow, priced.quote.total, tenders)
    total = priced.quote.total
    holds: list[tuple[str, str]] = []
    for tender in tenders:
        if tender.request.method != "on_account":
            continue
        payments.check_terms(priced.buyer, field=f"payments.{tender.n}.method")
        if not tender.part.is_zero():
            assert priced.buyer is not None
            note = payments.decide_credit(
                uow, customer_id=priced.buyer.id, amount=tender.part, buyer=priced.buyer
            )
            if note:
                holds.append(("credit_limit", note))
    policy = payments.checkout_policy(uow)
    outcomes = [
        rules.Outcome(method=t.request.method, part=t.part, declined=t.declined, unknown=t.unknown)
        for t in tenders
    ]
    holds += rules.payment_holds(
        [o for o in outcomes if o.method != "on_account"] if holds else outcomes,
        total=total,
        policy=rules.Policy(decline=policy.decline, check_hold_above=policy.check_hold_above(total.currency)),
        bills_later=caller.bills_later or any(t.request.method == "on_account" for t in tenders),
    )
    masked = dataclasses.replace(request, payments=[payments.masked(t.request) for t in tenders])
    card = next((p.token for p in masked.payments if p.method in ("card", "gift_card") and p.token), "")
    fact = orders.PaymentFact(
        status=payments.planned_status(uow, total, tenders) if tenders else "pending",
        on_account=any(t.request.method == "on_account" for t in tenders),
        card_token=card,
        holds=tuple(holds),
    )
    placed = orders.place_order(
        uow, channel=channel, request=masked, priced=priced, payment=fact, retry_whole=True
    )
    if not placed.created:
        return placed
    payments.record_tenders(uow, order=placed.order, tenders=tenders)
    if on_placed is not None:
        on_placed(uow, placed.order)
    return placed
