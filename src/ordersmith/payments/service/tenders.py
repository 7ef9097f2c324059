"""Tenders: checking what a tender needs, the card authorizations (network calls, never inside a transaction),
recording a new order's tenders inside checkout's transaction, and the claim, authorize and settle of a tender
added to a placed order.

Checkout (the context above) composes these; payments never decides whether or when an order is placed. Invariant:
a tender's row is written in the same transaction as what it moves (a gift card's balance, credit on account); a
card's authorization happens with no transaction open, under a key derived from a row already committed (an added
tender) or from the caller's claimed idempotency key (a new order), so asking again never charges twice.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from ordersmith.customers import service as customers
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import rules
from ordersmith.payments.gateways import CardSource, GatewayRejected, GatewayResult, GatewayUnavailable
from ordersmith.payments.service import credit, gift_cards
from ordersmith.payments.service._common import (
    emit,
    log,
    payments_of,
    touch,
    wiring,
)
from ordersmith.payments.tables import PaymentRow
from ordersmith.platform.db import UnitOfWork, use_case

AUTHORIZATION_LIFETIME = timedelta(days=7)
CARD_METHODS = ("card",)
GIFT_METHODS = ("gift_card", "store_credit")
SETTLED_AT_ONCE = ("cash", "marketplace", "paypal")  # collected by the till, the marketplace or the wallet
CALLED_OUT = (*CARD_METHODS, "paypal")  # asked of a processor or a wallet before anything is written
LIVE_EXCLUDED = ("failed", "voided")  # statuses of tenders that no longer cover anything


@dataclass
class Tender:
    """One tender of a checkout: what was asked, its part of the total, and what the processor answered."""

    n: int
    request: orders.PaymentRequest
    amount: Money | None = None  # None until the total is known and split
    key: str = ""  # the authorization's idempotency key at the processor
    result: GatewayResult | None = None
    unknown: bool = False  # the processor's answer was lost (asked twice)
    refused: str = ""  # the processor refused the request itself
    gift_card_id: uuid.UUID | None = None  # a gift card's or store credit's card, found by its code
    gift_last_four: str = ""
    gift_kind: str = ""  # the card's kind: a store-credit card given as "gift_card" pays as store credit
    card_brand: str = (
        ""  # a card's brand and last four, from the processor's answer or the vault (read before
    )
    card_last_four: str = ""  # any transaction opens: the vault may be a service of its own)

    @property
    def part(self) -> Money:
        assert self.amount is not None, "split before it is used"
        return self.amount

    @property
    def declined(self) -> bool:
        return bool(self.refused) or (self.result is not None and not self.result.approved)

    @property
    def reason_code(self) -> str:
        return self.refused or (self.result.reason_code if self.result else "") or "declined"


# --- checks before anything happens ---------------------------------------------------------------------------------


def check_tenders(
    uow: UnitOfWork,
    *,
    customer: str | None,
    tenders: Sequence[orders.PaymentRequest],
    terms_later: bool = False,
) -> None:
    """What each tender needs before anything is authorized or written (a token, a well-formed gift-card code, a
    check number, payment terms for on account — or, with `terms_later`, only that a customer is named: the
    caller checks the terms with `check_terms` on the buyer it reads anyway).

    Raises:
        ValidationFailed: naming the tender's field.
    """
    vault = wiring(uow).vault
    for n, tender in enumerate(tenders):
        field = f"payments.{n}"
        if tender.method in CARD_METHODS:
            if not tender.token:
                raise ValidationFailed.on(f"{field}.token", "a card is paid with a vault or gateway token")
            if tender.token.startswith("vtok_") and vault.card(tender.token) is None:
                raise ValidationFailed.on(f"{field}.token", "no such card in the vault")
        elif tender.method in GIFT_METHODS:
            if rules.normalize_gift_code(tender.token) is None:
                raise ValidationFailed.on(f"{field}.token", "not a gift card code (check the symbols)")
        elif tender.method == "check" and not tender.reference.strip():
            raise ValidationFailed.on(f"{field}.reference", "the check's number")
        elif tender.method == "on_account":
            if not customer:
                raise ValidationFailed.on(f"{field}.method", "on account needs a customer with payment terms")
            if terms_later:
                continue
            try:
                buyer = customers.buyer_facts(uow, ref=customer)
            except NotFound:
                raise ValidationFailed.on("customer", f"no customer {customer!r}") from None
            check_terms(buyer, field=f"{field}.method")


def check_terms(buyer: customers.BuyerFacts | None, *, field: str) -> None:
    """On account needs a customer with payment terms.

    Raises:
        ValidationFailed: naming `field`.
    """
    if buyer is None:
        raise ValidationFailed.on(field, "on account needs a customer with payment terms")
    if not buyer.payment_terms:
        raise ValidationFailed.on(field, f"customer {buyer.number} has no payment terms")


def split(total: Money, tenders: Sequence[Tender]) -> None:
    """Give each tender its part of `total` (those with an amount pay it, the one without pays the rest).

    Raises:
        ValidationFailed: amounts that do not add up, or a tender in another currency.
    """
    try:
        parts = rules.split_tender(
            total, [rules.TenderRequest(t.request.method, t.request.amount) for t in tenders]
        )
    except ValueError as wrong:
        raise ValidationFailed.on("payments", str(wrong)) from None
    for tender, part in zip(tenders, parts, strict=True):
        tender.amount = part


def find_gift_cards(uow: UnitOfWork, tenders: Sequence[Tender], *, currency: str) -> None:
    """Find each gift card / store credit by its code (kept on the tender as the card's id: the code itself is a
    bearer secret and goes no further), refusing a card in another currency than the order's.

    Raises:
        ValidationFailed: a malformed code, or a card in another currency.
        NotFound: no card with this code (answered as a 422 naming the field).
    """
    for tender in tenders:
        if tender.request.method not in GIFT_METHODS:
            continue
        field = f"payments.{tender.n}.token"
        try:
            card = gift_cards.find_by_code(uow, tender.request.token, field=field)
        except NotFound:
            raise ValidationFailed.on(field, "no gift card with this code") from None
        if card.currency != currency:
            raise ValidationFailed.on(
                field, f"this card holds {card.currency}; it pays {card.currency} orders only"
            )
        tender.gift_card_id, tender.gift_last_four, tender.gift_kind = card.id, card.last_four, card.kind


def gift_cards_first(uow: UnitOfWork, total: Money, tenders: Sequence[Tender]) -> None:
    """Gift cards and store credit given without an amount, beside another tender without one, pay what they hold
    (up to what is left) and the other tender pays the rest — as a till does."""
    open_ended = [t for t in tenders if t.request.amount is None]
    if len(open_ended) < 2:
        return
    left = total - sum(
        (t.request.amount for t in tenders if t.request.amount is not None), Money.zero(total.currency)
    )
    for tender in tenders:
        if tender.request.amount is None and tender.gift_card_id is not None and len(open_ended) > 1:
            card = gift_cards.get_gift_card(uow, card_id=tender.gift_card_id)
            take = min(card.balance, max(left, Money.zero(total.currency)))
            tender.request = dataclasses.replace(tender.request, amount=take)
            left -= take
            open_ended.remove(tender)


def masked(p: orders.PaymentRequest) -> orders.PaymentRequest:
    """What an order keeps of a tender: a gift card's code is a bearer secret, so only its last four."""
    if p.method in GIFT_METHODS:
        code = rules.normalize_gift_code(p.token) or ""
        return dataclasses.replace(p, token=f"…{code[-4:]}")
    return p


# --- the processor (no transaction may be open) -----------------------------------------------------------------------


def authorize_cards(uow: UnitOfWork, tenders: Sequence[Tender]) -> None:
    """Authorize every card tender for its part (captured at once when so configured). A lost answer is asked once
    more with the same key — the processor answers what it did the first time — then marked unknown."""
    assert not uow.active, "a processor call never runs inside a transaction"
    gateway = wiring(uow).gateway
    at_once = wiring(uow).capture == "at_once"
    for tender in tenders:
        if tender.request.method not in CARD_METHODS or tender.part.is_zero():
            continue
        source = CardSource(tender.request.token)
        for attempt in (1, 2):
            try:
                tender.result = gateway.authorize(
                    source=source, amount=tender.part, idempotency_key=tender.key, capture=at_once
                )
                break
            except GatewayUnavailable:
                tender.unknown = attempt == 2
            except GatewayRejected as refused:
                tender.refused = refused.reason_code
                break
        _card_facts(uow, tender)


def _card_facts(uow: UnitOfWork, tender: Tender) -> None:
    """The card's brand and last four for its payment row: the processor's answer, else the vault's record."""
    result = tender.result
    if result is not None and result.brand and result.last_four:
        tender.card_brand, tender.card_last_four = result.brand, result.last_four
    elif tender.request.token.startswith("vtok_"):
        card = wiring(uow).vault.card(tender.request.token)
        if card is not None:
            tender.card_brand, tender.card_last_four = card.brand, card.last_four


def void_unused(
    uow: UnitOfWork, tenders: Sequence[Tender], *, keep: set[str] | frozenset[str] = frozenset()
) -> None:
    """Release authorizations a checkout took but no order kept. A void that fails is left to the
    authorization's own expiry."""
    assert not uow.active, "a processor call never runs inside a transaction"
    gateway = wiring(uow).gateway
    for tender in tenders:
        result = tender.result
        if result is None or not result.approved or result.reference in keep:
            continue
        try:
            gateway.void(reference=result.reference, idempotency_key=f"void:{tender.key}")
        except (GatewayUnavailable, GatewayRejected):
            continue


@use_case(readonly=True)
def kept_references(uow: UnitOfWork, *, order_id: uuid.UUID) -> set[str]:
    """The processor references an order's tenders hold (so a duplicate's own authorizations can be voided)."""
    return {r.reference for r in payments_of(uow, order_id) if r.reference}


# --- a new order's tenders, inside checkout's transaction -------------------------------------------------------------


def planned_status(uow: UnitOfWork, total: Money, tenders: Sequence[Tender]) -> str:
    """The order's payment status its tenders will give once recorded (the rule `refresh_order_status` applies)."""
    at_once = wiring(uow).capture == "at_once"
    zero = Money.zero(total.currency)
    authorized = captured = zero
    failed = False
    for tender in tenders:
        part = tender.part
        method = tender.request.method
        if method in CARD_METHODS and not part.is_zero():
            if tender.unknown:
                continue
            if tender.declined:
                failed = True
                continue
            authorized += part
            captured += part if at_once else zero
        elif method in GIFT_METHODS or method in SETTLED_AT_ONCE:
            authorized, captured = authorized + part, captured + part
        else:  # on account, a check received
            authorized += part
    return rules.payment_status(total, authorized, captured, zero, failed=failed)


def decide_credit(
    uow: UnitOfWork, *, customer_id: uuid.UUID, amount: Money, buyer: customers.BuyerFacts | None = None
) -> str:
    """The one credit decision of an order on account: `amount` is added to what the customer owes in one
    conditional statement against the limit. Returns "" when it fits and nothing the customer owes is past due,
    else the hold's note (the amount is owed all the same: held, not refused). `buyer`: the customer's facts when
    the caller read them already."""
    buyer = buyer or customers.buyer_facts(uow, ref=str(customer_id))
    limit = (
        buyer.credit_limit if buyer.credit_limit and buyer.credit_limit.currency == amount.currency else None
    )
    if limit is None:
        credit.owe(uow, customer_id=customer_id, amount=amount)
        return (
            f"customer {buyer.number} has payment terms but no credit limit in {amount.currency}: "
            "set a credit limit (scope customers:credit) or release the hold to ship on account"
        )
    if not credit.reserve_credit(uow, customer_id=customer_id, amount=amount, limit=limit):
        credit.owe(uow, customer_id=customer_id, amount=amount)
        return (
            f"{amount} on account takes customer {buyer.number} past the credit limit of {limit}: raise the "
            "limit (scope customers:credit), take another tender, or release the hold"
        )
    past_due = credit.oldest_past_due(uow, customer_id=customer_id, today=uow.now().date())
    if past_due is not None:
        number, due_on = past_due
        return (
            f"customer {buyer.number} has invoice {number} past due since {due_on.isoformat()}: collect it, "
            "take another tender, or release the hold"
        )
    return ""


def record_tenders(uow: UnitOfWork, *, order: orders.Order, tenders: Sequence[Tender]) -> None:
    """Write a new order's tenders in the order's transaction: gift cards redeemed (a conditional UPDATE each), the
    card authorizations and their log, checks received, cash and marketplace payments recorded. The order's payment
    status was written with the order (`planned_status`).

    Raises:
        GiftCardBalanceInsufficient: a gift card holds less than its part (the caller's transaction rolls back).
    """
    for tender in tenders:
        record_tender(uow, order, tender)


def new_payment_row(uow: UnitOfWork, order: orders.Order, tender: Tender, seq: int) -> PaymentRow:
    now = uow.now()
    part = tender.part
    return PaymentRow(
        order_id=order.id, id=new_id(), seq=seq, method=tender.request.method, status="pending",
        currency=part.currency, amount_minor=part.minor, authorized_minor=0, captured_minor=0, refunded_minor=0,
        gateway="", reference="", token="", brand="", last_four="", gift_card_id=None, customer_id=None,
        check_number="", check_bank="", check_status="", reason_code="", expires_at=None, created_at=now,
        updated_at=now, version=1,
    )  # fmt: skip


def record_tender(
    uow: UnitOfWork, order: orders.Order, tender: Tender, row: PaymentRow | None = None
) -> None:
    request, part = tender.request, tender.part
    if row is None:
        row = new_payment_row(uow, order, tender, tender.n + 1)
        uow.add_at_commit(row)  # with the order's other rows (platform.pending_rows)
    if part.is_zero():
        row.status = "captured"
    elif request.method in CARD_METHODS:
        _record_card(uow, row, tender)
    elif request.method in GIFT_METHODS:
        assert tender.gift_card_id is not None, "found by find_gift_cards"
        gift_cards.redeem(uow, card_id=tender.gift_card_id, amount_minor=part.minor, order_id=order.id,
                          payment_id=row.id)  # fmt: skip
        row.gift_card_id, row.last_four = tender.gift_card_id, tender.gift_last_four
        # the card's kind names its liability (gift card or store credit), whichever word the request used
        row.method = tender.gift_kind or row.method
        row.authorized_minor = row.captured_minor = part.minor
        log(uow, row, "capture", part.minor, "approved", reason="redeemed")
        emit(uow, "payment.captured", row, part.minor)
    elif request.method == "on_account":
        assert order.customer_id is not None
        row.customer_id = order.customer_id
        row.authorized_minor = part.minor
        log(uow, row, "authorization", part.minor, "approved", reason="on account")
        emit(uow, "payment.authorized", row, part.minor)
    elif request.method == "check":
        row.check_number, row.check_bank = request.reference.strip()[:40], request.bank.strip()[:100]
        row.check_status = "received"
        row.authorized_minor = part.minor
        log(uow, row, "check_received", part.minor, "approved", gateway_reference=row.check_number)
        emit(uow, "payment.authorized", row, part.minor)
    else:  # cash at the till, or collected by the marketplace or a verified wallet
        row.reference = request.reference[:100]
        row.authorized_minor = row.captured_minor = part.minor
        log(uow, row, "capture", part.minor, "approved", gateway_reference=row.reference)
        emit(uow, "payment.captured", row, part.minor)
    touch(uow, row)


def _record_card(uow: UnitOfWork, row: PaymentRow, tender: Tender) -> None:
    wired = wiring(uow)
    row.gateway, row.token = wired.gateway.name, tender.request.token
    result = tender.result
    row.brand, row.last_four = tender.card_brand, tender.card_last_four  # read by authorize_cards, outside
    if tender.unknown:
        row.status = "pending_review"
        log(uow, row, "authorization", row.amount_minor, "pending", key=tender.key)
        return
    if result is None or not result.approved:
        log(uow, row, "authorization", row.amount_minor, "declined", key=tender.key,
            gateway_reference=result.reference if result else "", reason_code=tender.reason_code[:60])  # fmt: skip
        record_declined(uow, row, tender.reason_code)
        return
    log(uow, row, "authorization", row.amount_minor, "approved", key=tender.key, gateway_reference=result.reference,
        transaction_reference=result.transaction)  # fmt: skip
    record_authorized(uow, row, result)


def record_declined(uow: UnitOfWork, row: PaymentRow, reason_code: str) -> None:
    row.status, row.reason_code = "failed", reason_code[:60]
    emit(uow, "payment.failed", row, row.amount_minor, operation="authorization", reason_code=row.reason_code)


def record_authorized(uow: UnitOfWork, row: PaymentRow, result: GatewayResult) -> None:
    """The card authorized for the row's amount (and captured at once when so configured)."""
    row.reference = result.reference
    row.brand, row.last_four = row.brand or result.brand, row.last_four or result.last_four
    row.authorized_minor = row.amount_minor
    row.expires_at = uow.now() + AUTHORIZATION_LIFETIME
    emit(uow, "payment.authorized", row, row.amount_minor)
    if wiring(uow).capture == "at_once":
        row.captured_minor = row.amount_minor
        captured = log(uow, row, "capture", row.amount_minor, "approved", gateway_reference=result.reference)
        emit(uow, "payment.captured", row, row.amount_minor, transaction_id=str(captured.id), gateway=row.gateway,
             transaction_reference="", gateway_reference=result.reference)  # fmt: skip


@use_case(readonly=True)
def shortfall(uow: UnitOfWork, *, order_id: uuid.UUID, total: Money) -> tuple[Money, str]:
    """What the live tenders leave of `total` unpaid, and the card token the order was last paid with ("" if
    none) — for topping up after an edit."""
    live = [r for r in payments_of(uow, order_id) if r.status not in LIVE_EXCLUDED]
    short = total.minor - sum(r.amount_minor for r in live)
    card = next((r for r in reversed(live) if r.method in CARD_METHODS and r.token), None)
    return Money.from_minor(short, total.currency), card.token if card else ""


@use_case(readonly=True)
def uncleared_checks(uow: UnitOfWork, *, order_id: uuid.UUID, currency: str) -> Money:
    """What the order's checks received and not yet cleared (nor bounced) add up to."""
    return sum(
        (
            Money.from_minor(r.amount_minor, r.currency)
            for r in payments_of(uow, order_id)
            if r.method == "check"
            and r.check_status in ("received", "deposited")
            and r.status not in LIVE_EXCLUDED
        ),
        Money.zero(currency),
    )


@dataclass(frozen=True)
class CheckoutPolicy:
    decline: str  # refuse | hold
    check_hold_above_amount: Decimal | None

    def check_hold_above(self, currency: str) -> Money | None:
        """A check above this amount (in the order's currency) holds the order until it clears."""
        if self.check_hold_above_amount is None:
            return None
        return Money(self.check_hold_above_amount, currency)


def checkout_policy(uow: UnitOfWork) -> CheckoutPolicy:
    wired = wiring(uow)
    return CheckoutPolicy(decline=wired.decline, check_hold_above_amount=wired.check_hold_above)
