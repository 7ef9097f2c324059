"""Placing an order with its payment: the tenders checked, cards authorized, then the order placed and every tender
recorded in one transaction (gift cards redeemed, credit on account reserved, checks received).

Why authorize before placing: a declined card then costs no order number, no stock held and no `order.placed`
sent to channels; the network call holds no database lock. If placing fails afterwards (stock gone, a gift card
short), the authorizations just taken are voided. An answer lost on the way back (a timeout) places the order on
hold for payment review with the authorization pending; the resolution job asks again with the same key, so the
card is never charged twice.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from ordersmith.customers import service as customers
from ordersmith.kernel.errors import Conflict, FieldError, NotFound, OrdersmithError, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import rules
from ordersmith.payments.gateways import CardSource, GatewayRejected, GatewayResult, GatewayUnavailable
from ordersmith.payments.service import gift_cards, invoices
from ordersmith.payments.service._common import (
    Payment,
    PaymentDeclined,
    emit,
    log,
    payments_of,
    refresh_order_status,
    to_payment,
    touch,
    wiring,
)
from ordersmith.payments.tables import PaymentRow
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.sales_channels import SalesChannel

AUTHORIZATION_LIFETIME = timedelta(days=7)
CARD_METHODS = ("card",)
SETTLED_AT_ONCE = ("cash", "marketplace", "paypal")  # collected by the till or the channel


@dataclass
class _Tender:
    n: int
    request: orders.PaymentRequest
    amount: Money | None  # None until the placed total is split (no card: no quote first)
    key: str = ""
    result: GatewayResult | None = None
    unknown: bool = False  # the gateway's answer was lost
    refused: str = ""  # the gateway refused the request itself

    @property
    def part(self) -> Money:
        assert self.amount is not None, "split before it is used"
        return self.amount


def _check_tenders(uow: UnitOfWork, request: orders.OrderRequest) -> None:
    vault = wiring(uow).vault
    for n, tender in enumerate(request.payments):
        field = f"payments.{n}"
        if tender.method in CARD_METHODS:
            if not tender.token:
                raise ValidationFailed.on(f"{field}.token", "a card is paid with a vault or gateway token")
            if tender.token.startswith("vtok_") and vault.card(tender.token) is None:
                raise ValidationFailed.on(f"{field}.token", "no such card in the vault")
        elif tender.method in ("gift_card", "store_credit"):
            if rules.normalize_gift_code(tender.token) is None:
                raise ValidationFailed.on(f"{field}.token", "not a gift card code (check the symbols)")
        elif tender.method == "check" and not tender.reference.strip():
            raise ValidationFailed.on(f"{field}.reference", "the check's number")
        elif tender.method == "on_account":
            if not request.customer:
                raise ValidationFailed.on(f"{field}.method", "on account needs a customer with payment terms")
            try:
                buyer = customers.buyer_facts(uow, ref=request.customer)
            except NotFound:
                raise ValidationFailed.on("customer", f"no customer {request.customer!r}") from None
            if not buyer.payment_terms:
                raise ValidationFailed.on(f"{field}.method", f"customer {buyer.number} has no payment terms")


def _split(total: Money, payments: Sequence[orders.PaymentRequest]) -> list[Money]:
    try:
        return rules.split_tender(total, [rules.TenderRequest(p.method, p.amount) for p in payments])
    except ValueError as wrong:
        raise ValidationFailed.on("payments", str(wrong)) from None


@use_case(readonly=True)
def _gift_cards_first(uow: UnitOfWork, total: Money, request: orders.OrderRequest) -> orders.OrderRequest:
    """Gift cards and store credit given without an amount, beside another tender without one, pay what they hold
    (up to what is left) and the other tender pays the rest — as a till does."""
    open_ended = [p for p in request.payments if p.amount is None]
    if len(open_ended) < 2:
        return request
    left = total - sum(
        (p.amount for p in request.payments if p.amount is not None), Money.zero(total.currency)
    )
    resolved: list[orders.PaymentRequest] = []
    for n, p in enumerate(request.payments):
        if p.amount is None and p.method in ("gift_card", "store_credit") and len(open_ended) > 1:
            card = gift_cards.find_by_code(uow, p.token, field=f"payments.{n}.token")
            take = min(
                Money.from_minor(card.balance_minor, card.currency), max(left, Money.zero(total.currency))
            )
            p = dataclasses.replace(p, amount=take)
            left -= take
            open_ended.remove(request.payments[n])
        resolved.append(p)
    return dataclasses.replace(request, payments=resolved)


def _authorize(uow: UnitOfWork, tenders: list[_Tender]) -> None:
    gateway = wiring(uow).gateway
    at_once = wiring(uow).capture == "at_once"
    for tender in tenders:
        if tender.request.method not in CARD_METHODS or tender.part.is_zero():
            continue
        source = CardSource(tender.request.token)
        try:
            tender.result = gateway.authorize(
                source=source, amount=tender.part, idempotency_key=tender.key, capture=at_once
            )
        except GatewayUnavailable:
            try:  # once more with the same key: the processor answers what it did the first time
                tender.result = gateway.authorize(
                    source=source, amount=tender.part, idempotency_key=tender.key, capture=at_once
                )
            except GatewayUnavailable:
                tender.unknown = True
        except GatewayRejected as refused:
            tender.refused = refused.reason_code


def _void_unused(uow: UnitOfWork, tenders: list[_Tender], keep: set[str]) -> None:
    """Release authorizations this checkout took but no order kept (placing failed, or another request placed the
    same channel order). A void that fails is left to the authorization's own expiry."""
    gateway = wiring(uow).gateway
    for tender in tenders:
        result = tender.result
        if result is None or not result.approved or result.reference in keep:
            continue
        try:
            gateway.void(reference=result.reference, idempotency_key=f"void:{tender.key}")
        except (GatewayUnavailable, GatewayRejected):
            continue


def place_paid_order(
    uow: UnitOfWork, *, channel: SalesChannel, request: orders.OrderRequest, key: str | None = None
) -> orders.Placed:
    """Place an order and take its payment: the order's tenders (cards authorized — or captured, when configured
    — gift cards and store credit redeemed, credit on account reserved, checks received, cash and marketplace
    payments recorded). A channel order sent again answers with the first order and authorizes nothing.

    Raises:
        ValidationFailed: a tender that cannot pay (no token, a malformed gift-card code, on account without
            terms, amounts that do not add up), or anything `orders.place_order` refuses.
        PaymentDeclined: a card declined and the policy is to refuse (402, with the gateway's reason code);
            nothing is placed and any other authorization is voided.
        GiftCardBalanceInsufficient: a gift card holds less than its part (409, with the balance).
    """
    if not request.payments:
        return orders.place_order(uow, channel=channel, request=request)
    if request.external_id and not uow.active:
        existing = orders.find_channel_order(uow, channel=channel.code, external_id=request.external_id)
        if existing is not None:
            return orders.Placed(order=existing, created=False)
    _check_tenders(uow, request)
    # A fresh key per attempt: an attempt that failed voided its authorization, so a retry (the same channel order
    # after a stock refusal) must authorize anew, not be handed back the voided one. Concurrent duplicates each
    # authorize; the one whose order was not kept voids its own.
    stem = f"{key}:{new_id()}" if key else str(new_id())
    quoted: Money | None = None
    if any(p.method in CARD_METHODS for p in request.payments):
        # Cards are authorized before the order is written, so their parts come from a quote first.
        quoted = orders.quote_order(uow, channel=channel, request=request).total
        request = _gift_cards_first(uow, quoted, request)
        parts: list[Money | None] = list(_split(quoted, request.payments))
    else:  # the parts are split from the placed total, inside the order's transaction
        parts = [None] * len(request.payments)
    tenders = [
        _Tender(n, p, part, key=f"auth:{stem}:{n}:{part.minor if part else ''}")
        for n, (p, part) in enumerate(zip(request.payments, parts, strict=True))
    ]
    _authorize(uow, tenders)
    declined = [t for t in tenders if (t.result is not None and not t.result.approved) or t.refused]
    if declined and wiring(uow).decline == "refuse":
        _void_unused(uow, tenders, keep=set())
        first = declined[0]
        reason = first.refused or (first.result.reason_code if first.result else "") or "declined"
        raise PaymentDeclined(
            f"the card was declined ({reason})",
            reason_code=reason,
            errors=[FieldError(f"payments.{first.n}", "declined: " + reason)],
        )
    masked = dataclasses.replace(request, payments=[_masked(p) for p in request.payments])
    try:
        placed = _record(uow, channel=channel, request=masked, tenders=tenders, quoted=quoted)
    except orders.AlreadyPlaced:
        existing = orders.find_channel_order(uow, channel=channel.code, external_id=request.external_id or "")
        assert existing is not None
        _void_unused(uow, tenders, keep=_references(uow, existing.id))
        return orders.Placed(order=existing, created=False)
    except BaseException:
        _void_unused(uow, tenders, keep=set())
        raise
    if not placed.created:
        _void_unused(uow, tenders, keep=_references(uow, placed.order.id))
    return placed


def _masked(p: orders.PaymentRequest) -> orders.PaymentRequest:
    """What the order keeps of a tender: a gift card's code is a bearer secret, so only its last four."""
    if p.method in ("gift_card", "store_credit"):
        code = rules.normalize_gift_code(p.token) or ""
        return dataclasses.replace(p, token=f"…{code[-4:]}")
    return p


@use_case(readonly=True)
def _references(uow: UnitOfWork, order_id: uuid.UUID) -> set[str]:
    return {r.reference for r in payments_of(uow, order_id) if r.reference}


@use_case
def _record(
    uow: UnitOfWork,
    *,
    channel: SalesChannel,
    request: orders.OrderRequest,
    tenders: list[_Tender],
    quoted: Money | None,
) -> orders.Placed:
    placed = orders.place_order(uow, channel=channel, request=request)
    if not placed.created:
        return placed
    order = placed.order
    if quoted is None:  # no card: split the placed total now
        paying = dataclasses.replace(request, payments=[t.request for t in tenders])
        paying = _gift_cards_first(uow, order.total, paying)
        for tender, wanted, part in zip(
            tenders, paying.payments, _split(order.total, paying.payments), strict=True
        ):
            tender.request, tender.amount = wanted, part
    elif order.total != quoted:
        raise Conflict("the order's prices changed while it was being paid; send it again")
    holds: list[tuple[str, str]] = []
    for tender in tenders:
        hold = _record_tender(uow, order, tender)
        if hold:
            holds.append(hold)
    for reason, note in holds:
        orders.hold_order(uow, ref=str(order.id), reason=reason, note=note)
    status = refresh_order_status(uow, order.id, total=order.total)
    if holds:
        return orders.Placed(order=orders.get_order(uow, ref=str(order.id)), created=True)
    return orders.Placed(order=dataclasses.replace(order, payment_status=status), created=True)


def _record_tender(uow: UnitOfWork, order: orders.Order, tender: _Tender) -> tuple[str, str] | None:
    """Write one tender of a new order; returns a hold (reason, note) it calls for."""
    request, part = tender.request, tender.part
    now = uow.now()
    row = PaymentRow(
        order_id=order.id,
        id=new_id(),
        seq=tender.n + 1,
        method=request.method,
        status="pending",
        currency=part.currency,
        amount_minor=part.minor,
        authorized_minor=0,
        captured_minor=0,
        refunded_minor=0,
        gateway="",
        reference="",
        token="",
        brand="",
        last_four="",
        gift_card_id=None,
        customer_id=None,
        check_number="",
        check_bank="",
        check_status="",
        reason_code="",
        expires_at=None,
        created_at=now,
        updated_at=now,
        version=1,
    )
    uow.session.add(row)
    hold: tuple[str, str] | None = None
    if part.is_zero():
        row.status = "captured"
    elif request.method in CARD_METHODS:
        hold = _record_card(uow, row, tender)
    elif request.method in ("gift_card", "store_credit"):
        card = gift_cards.find_by_code(uow, request.token, field=f"payments.{tender.n}.token")
        uow.session.flush()
        gift_cards.redeem(uow, card_id=card.id, amount_minor=part.minor, order_id=order.id, payment_id=row.id)
        row.gift_card_id, row.last_four = card.id, card.last_four
        row.authorized_minor = row.captured_minor = part.minor
        log(uow, row, "capture", part.minor, "approved", reason="redeemed")
        emit(uow, "payment.captured", row, part.minor)
    elif request.method == "on_account":
        buyer = customers.buyer_facts(uow, ref=str(order.customer_id))
        row.customer_id = buyer.id
        limit = (
            buyer.credit_limit
            if buyer.credit_limit and buyer.credit_limit.currency == part.currency
            else None
        )
        if not invoices.reserve_credit(uow, customer_id=buyer.id, amount=part, limit=limit):
            invoices.owe(uow, customer_id=buyer.id, amount=part)
            if not any(h.reason == "credit_limit" and h.status == "active" for h in order.holds):
                hold = ("credit_limit", f"{part} on account exceeds the credit limit of {limit}")
        row.authorized_minor = part.minor
        log(uow, row, "authorization", part.minor, "approved", reason="on account")
        emit(uow, "payment.authorized", row, part.minor)
    elif request.method == "check":
        row.check_number, row.check_bank = request.reference.strip()[:40], request.bank.strip()[:100]
        row.check_status = "received"
        row.authorized_minor = part.minor
        log(uow, row, "check_received", part.minor, "approved", gateway_reference=row.check_number)
        emit(uow, "payment.authorized", row, part.minor)
    else:  # cash at the till, or collected by the marketplace or wallet
        row.reference = request.reference[:100]
        row.authorized_minor = row.captured_minor = part.minor
        log(uow, row, "capture", part.minor, "approved", gateway_reference=row.reference)
        emit(uow, "payment.captured", row, part.minor)
    touch(uow, row)
    return hold


def _record_card(uow: UnitOfWork, row: PaymentRow, tender: _Tender) -> tuple[str, str] | None:
    wired = wiring(uow)
    row.gateway, row.token = wired.gateway.name, tender.request.token
    result = tender.result
    if row.token.startswith("vtok_") and not (result and result.brand and result.last_four):
        card = wired.vault.card(row.token)
        if card is not None:
            row.brand, row.last_four = card.brand, card.last_four
    if tender.unknown:
        row.status = "pending_review"
        log(uow, row, "authorization", row.amount_minor, "pending", key=tender.key)
        return (
            "payment_review",
            "the processor's answer to the card authorization was lost; it is asked again",
        )
    if result is None or not result.approved:
        row.status = "failed"
        row.reason_code = (tender.refused or (result.reason_code if result else "") or "declined")[:60]
        log(
            uow,
            row,
            "authorization",
            row.amount_minor,
            "declined",
            key=tender.key,
            gateway_reference=result.reference if result else "",
            reason_code=row.reason_code,
        )
        emit(
            uow,
            "payment.failed",
            row,
            row.amount_minor,
            operation="authorization",
            reason_code=row.reason_code,
        )
        return ("payment_declined", f"the card was declined ({row.reason_code})")
    row.reference = result.reference
    row.brand, row.last_four = row.brand or result.brand, row.last_four or result.last_four
    row.authorized_minor = row.amount_minor
    row.expires_at = uow.now() + AUTHORIZATION_LIFETIME
    log(
        uow,
        row,
        "authorization",
        row.amount_minor,
        "approved",
        key=tender.key,
        gateway_reference=result.reference,
        transaction_reference=result.transaction,
    )
    emit(uow, "payment.authorized", row, row.amount_minor)
    if wired.capture == "at_once":
        row.captured_minor = row.amount_minor
        log(uow, row, "capture", row.amount_minor, "approved", gateway_reference=result.reference)
        emit(uow, "payment.captured", row, row.amount_minor)
    return None


# --- a tender added later ---------------------------------------------------------------------------------------


def add_tender(
    uow: UnitOfWork, *, order_ref: str, tender: orders.PaymentRequest, key: str | None = None
) -> Payment:
    """Add a tender to a placed order (the customer pays the rest another way, or replaces a declined card).
    Without an amount it pays what the live tenders leave unpaid.

    Raises:
        ValidationFailed: a tender that cannot pay, or an amount beyond what is unpaid.
        PaymentDeclined: the card was declined (402): nothing is recorded but the failed attempt.
    """
    order = orders.get_order(uow, ref=order_ref)
    if order.status in ("cancelled", "completed"):
        raise Conflict(f"order {order.number} is {order.status}")
    request = orders.OrderRequest(
        lines=[],
        ship_tos=[],
        customer=str(order.customer_id) if order.customer_id else None,
        payments=[tender],
    )
    _check_tenders(uow, request)
    unpaid = order.total - _covered(uow, order.id, order.currency)
    amount = tender.amount or unpaid
    if amount.currency != order.currency or amount.minor <= 0 or amount > unpaid:
        raise ValidationFailed.on("amount", f"{unpaid} of the order is unpaid")
    n = len(_seqs(uow, order.id))
    pending = _Tender(n, tender, amount, key=f"auth:{key or new_id()}:{order.id}")
    _authorize(uow, [pending])
    if (pending.result is not None and not pending.result.approved) or pending.refused:
        reason = pending.refused or (pending.result.reason_code if pending.result else "")
        _record_added(uow, order_id=order.id, tender=pending)
        raise PaymentDeclined(f"the card was declined ({reason})", reason_code=reason)
    try:
        return _record_added(
            uow, order_id=order.id, tender=dataclasses.replace(pending, request=_masked(tender))
        )
    except OrdersmithError:
        _void_unused(uow, [pending], keep=set())
        raise


@use_case(readonly=True)
def _covered(uow: UnitOfWork, order_id: uuid.UUID, currency: str) -> Money:
    return sum(
        (
            Money.from_minor(r.amount_minor, r.currency)
            for r in payments_of(uow, order_id)
            if r.status not in ("failed", "voided")
        ),
        Money.zero(currency),
    )


@use_case(readonly=True)
def _seqs(uow: UnitOfWork, order_id: uuid.UUID) -> list[int]:
    return [r.seq for r in payments_of(uow, order_id)]


@use_case
def _record_added(uow: UnitOfWork, *, order_id: uuid.UUID, tender: _Tender) -> Payment:
    order = orders.get_order(uow, ref=str(order_id))
    hold = _record_tender(uow, order, tender)
    if hold and hold[0] != "payment_declined":
        orders.hold_order(uow, ref=str(order.id), reason=hold[0], note=hold[1])
    refresh_order_status(uow, order.id, total=order.total)
    row = payments_of(uow, order_id)[-1]
    return to_payment(row)
