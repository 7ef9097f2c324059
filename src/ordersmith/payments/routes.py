"""Payment API: an order's payments, capture / void / refund, gift cards, checks, invoices on account, and gateway
webhooks. Order intake and added tenders are checkout's (`checkout.routes`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from ordersmith.customers import service as customers
from ordersmith.kernel.errors import NotFound
from ordersmith.orders import service as orders
from ordersmith.orders.routes import own_channel, visible_order
from ordersmith.orders.schemas import money
from ordersmith.payments import service
from ordersmith.payments.schemas import (
    BalanceOut,
    CaptureIn,
    CheckMoveIn,
    GiftCardIn,
    GiftCardOut,
    InvoiceOut,
    InvoicePaymentIn,
    IssuedCardOut,
    OrderRefundIn,
    OrderRefundOut,
    PaymentOut,
    RefundIn,
    ReloadIn,
)
from ordersmith.platform.access import PUBLIC, Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, requires, unit_of_work
from ordersmith.platform.schemas import PageOut, money_in

router = APIRouter(tags=["payments"])
Auth = Annotated[Principal, Depends(authorize)]


# --- an order's payments ----------------------------------------------------------------------------------------


def _payments(payments: list[service.Payment]) -> list[PaymentOut]:
    return [PaymentOut.model_validate(p) for p in payments]


@router.get(
    "/orders/{ref}/payments", response_model=list[PaymentOut], openapi_extra=requires("payments:read")
)
def order_payments(ref: str, principal: Auth, request: Request) -> list[PaymentOut]:
    """The order's tenders in the order given, each with its status, amounts and append-only transaction log."""
    uow = unit_of_work(request)
    order = visible_order(uow, principal, ref)
    return _payments(service.order_payments(uow, order_id=order.id))


@router.post(
    "/orders/{ref}/refunds", response_model=OrderRefundOut, openapi_extra=requires("payments:refund")
)
def refund_order(ref: str, body: OrderRefundIn, principal: Auth, request: Request) -> OrderRefundOut:
    """Give back an amount of the order: to its tenders, the last captured first (a gift card is reloaded), or
    as a new store-credit card (`to_store_credit`; its code is in the answer, shown this once). `return_id` names
    the order's return by its id or its number (`R-001188`); one that is not this order's → 422 on `return_id`,
    nothing given back. Never more than
    captured and not refunded (409 with the refundable amount). Repeat with the same `Idempotency-Key` safely."""
    uow = unit_of_work(request)
    order = visible_order(uow, principal, ref)
    return_id = service.return_of(uow, ref=body.return_id, order_id=order.id)
    done = service.refund_order(uow, order_id=order.id, amount=money_in(body.amount, order.currency),
                                reason=body.reason, return_id=return_id, to_store_credit=body.to_store_credit,
                                key=request.headers.get("Idempotency-Key"))  # fmt: skip
    return OrderRefundOut.model_validate(done)


def _own_payment(uow: UnitOfWork, principal: Principal, payment_id: str) -> service.Payment:
    payment = service.get_payment(uow, payment_id=payment_id)
    try:
        visible_order(uow, principal, str(payment.order_id))
    except NotFound:
        # Another channel's payment answers exactly as an unknown id: it names neither the payment nor its order.
        raise NotFound(f"no payment {payment_id!r}") from None
    return payment


def _customer_id(uow: UnitOfWork, principal: Principal, ref: str | None) -> uuid.UUID | None:
    """The customer a list is filtered by; one the caller may not see is as unknown as one that does not exist."""
    if ref is None:
        return None
    return customers.buyer_facts(uow, ref=ref, visible_to=own_channel(uow, principal)).id


@router.get("/payments/{payment_id}", response_model=PaymentOut, openapi_extra=requires("payments:read"))
def get_payment(payment_id: str, principal: Auth, request: Request) -> PaymentOut:
    return PaymentOut.model_validate(_own_payment(unit_of_work(request), principal, payment_id))


@router.post(
    "/payments/{payment_id}/capture", response_model=PaymentOut, openapi_extra=requires("payments:capture")
)
def capture_payment(payment_id: str, body: CaptureIn, principal: Auth, request: Request) -> PaymentOut:
    """Capture part or all of what is authorized (several captures allowed). The same `Idempotency-Key` again —
    even twenty at once — captures once and answers with the same payment. A lost processor answer → 503: repeat
    with the same key."""
    uow = unit_of_work(request)
    payment = _own_payment(uow, principal, payment_id)
    amount = money(body.amount, payment.amount.currency)
    captured = service.capture_payment(uow, payment_id=payment.id, amount=amount,
                                       key=request.headers.get("Idempotency-Key"))  # fmt: skip
    return PaymentOut.model_validate(captured)


@router.post(
    "/payments/{payment_id}/void", response_model=PaymentOut, openapi_extra=requires("payments:capture")
)
def void_payment(payment_id: str, principal: Auth, request: Request) -> PaymentOut:
    """Release what is authorized and not captured."""
    uow = unit_of_work(request)
    payment = _own_payment(uow, principal, payment_id)
    return PaymentOut.model_validate(
        service.void_payment(uow, payment_id=payment.id, key=request.headers.get("Idempotency-Key"))
    )


@router.post(
    "/payments/{payment_id}/refund", response_model=PaymentOut, openapi_extra=requires("payments:refund")
)
def refund_payment(payment_id: str, body: RefundIn, principal: Auth, request: Request) -> PaymentOut:
    """Refund part or all of what was captured, with a reason or the return it belongs to (`return_id`: its id or
    its number, `R-001188`; one not of this payment's order → 422 on `return_id`). More than refundable →
    409 `refund_exceeds_refundable` with the refundable amount; concurrent refunds never exceed it together."""
    uow = unit_of_work(request)
    payment = _own_payment(uow, principal, payment_id)
    return_id = service.return_of(uow, ref=body.return_id, order_id=payment.order_id)
    refunded = service.refund_payment(uow, payment_id=payment.id, amount=money(body.amount, payment.amount.currency),
                                      reason=body.reason, return_id=return_id,
                                      key=request.headers.get("Idempotency-Key"))  # fmt: skip
    return PaymentOut.model_validate(refunded)


# --- checks -------------------------------------------------------------------------------------------------------


def _check(action: str, payment_id: str, body: CheckMoveIn, request: Request) -> PaymentOut:
    uow = unit_of_work(request)
    return PaymentOut.model_validate(
        service.move_check(uow, payment_id=payment_id, action=action, note=body.note)
    )


@router.post(
    "/checks/{payment_id}/deposit", response_model=PaymentOut, openapi_extra=requires("receivables:write")
)
def deposit_check(payment_id: str, body: CheckMoveIn, principal: Auth, request: Request) -> PaymentOut:
    """The check went to the bank: its amount counts as taken."""
    return _check("deposit", payment_id, body, request)


@router.post(
    "/checks/{payment_id}/clear", response_model=PaymentOut, openapi_extra=requires("receivables:write")
)
def clear_check(payment_id: str, body: CheckMoveIn, principal: Auth, request: Request) -> PaymentOut:
    """The bank confirmed the check."""
    return _check("clear", payment_id, body, request)


@router.post(
    "/checks/{payment_id}/bounce", response_model=PaymentOut, openapi_extra=requires("receivables:write")
)
def bounce_check(payment_id: str, body: CheckMoveIn, principal: Auth, request: Request) -> PaymentOut:
    """The check bounced: the payment is reversed, the order held and the customer's record noted (`note`
    says what the bank answered)."""
    return _check("bounce", payment_id, body, request)


# --- gift cards ---------------------------------------------------------------------------------------------------


@router.post(
    "/gift-cards", status_code=201, response_model=IssuedCardOut, openapi_extra=requires("gift_cards:issue")
)
def issue_gift_card(body: GiftCardIn, principal: Auth, request: Request) -> Response:
    """Issue a gift card or store credit. Its code is in this answer only (a digest is kept). Sold on an order
    (`order`), it stays inactive until that order is paid."""
    uow = unit_of_work(request)
    customer = customers.buyer_facts(uow, ref=body.customer).id if body.customer else None
    sold_on = orders.get_order(uow, ref=body.order).id if body.order else None

    def execute(joined: UnitOfWork) -> IssuedCardOut:
        issued = service.issue(joined, amount=money_in(body.amount, body.currency), kind=body.kind,
                               customer_id=customer, expires_on=body.expires_on, note=body.note,
                               sold_on_order=sold_on)  # fmt: skip
        return IssuedCardOut.model_validate(issued)

    return created(request, principal, body.model_dump(mode="json"), execute)


@router.get("/gift-cards", response_model=PageOut[GiftCardOut], openapi_extra=requires("payments:read"))
def list_gift_cards(
    principal: Auth, request: Request, customer: str | None = None, status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Newest first (a channel key: the cards sold on its own orders)."""
    uow = unit_of_work(request)
    page = service.list_gift_cards(uow, customer_id=_customer_id(uow, principal, customer), status=status,
                                   limit=limit, cursor=cursor, channel=own_channel(uow, principal))  # fmt: skip
    return {"items": [GiftCardOut.model_validate(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/gift-cards/{code}/balance",
    response_model=BalanceOut,
    openapi_extra=requires("gift_cards:balance"),
    responses={429: {"description": "too_many_requests: more balance checks a minute than allowed"}},
)
def gift_card_balance(code: str, principal: Auth, request: Request) -> BalanceOut:
    """A card's balance by its code — at most a few checks a minute per caller (429 beyond), so codes cannot be
    probed. A malformed code → 422 before any lookup."""
    card = service.balance(unit_of_work(request), code=code, caller=principal.caller_key)
    return BalanceOut.model_validate(card)


@router.get(
    "/gift-cards/by-id/{card_id}", response_model=GiftCardOut, openapi_extra=requires("payments:read")
)
def get_gift_card(card_id: uuid.UUID, principal: Auth, request: Request) -> GiftCardOut:
    """A card with its ledger (every issue, redemption, reload and refund); a channel key: a card sold on its own
    orders (any other answers 404 as an unknown id does)."""
    uow = unit_of_work(request)
    return GiftCardOut.model_validate(
        service.get_gift_card(uow, card_id=card_id, channel=own_channel(uow, principal))
    )


@router.post(
    "/gift-cards/by-id/{card_id}/reloads",
    response_model=GiftCardOut,
    openapi_extra=requires("gift_cards:issue"),
)
def reload_gift_card(card_id: uuid.UUID, body: ReloadIn, principal: Auth, request: Request) -> GiftCardOut:
    uow = unit_of_work(request)
    card = service.get_gift_card(uow, card_id=card_id)
    reloaded = service.reload(uow, card_id=card_id, amount=money_in(body.amount, card.balance.currency),
                              note=body.note)  # fmt: skip
    return GiftCardOut.model_validate(reloaded)


# --- invoices on account --------------------------------------------------------------------------------------------


@router.get("/invoices", response_model=PageOut[InvoiceOut], openapi_extra=requires("payments:read"))
def list_invoices(
    principal: Auth, request: Request, customer: str | None = None, status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Newest first; filter by customer (id or number) and status (open, paid). A channel key: its own orders'."""
    uow = unit_of_work(request)
    page = service.list_invoices(uow, customer_id=_customer_id(uow, principal, customer), status=status,
                                 limit=limit, cursor=cursor, channel=own_channel(uow, principal))  # fmt: skip
    return {"items": [InvoiceOut.model_validate(i) for i in page.items], "next_cursor": page.next_cursor}


@router.get("/invoices/{ref}", response_model=InvoiceOut, openapi_extra=requires("payments:read"))
def get_invoice(ref: str, principal: Auth, request: Request) -> InvoiceOut:
    """By id or number (a channel key: an invoice of its own orders; any other answers 404 as an unknown one)."""
    uow = unit_of_work(request)
    return InvoiceOut.model_validate(service.get_invoice(uow, ref=ref, channel=own_channel(uow, principal)))


@router.post(
    "/invoices/{ref}/payments", response_model=InvoiceOut, openapi_extra=requires("receivables:write")
)
def pay_invoice(ref: str, body: InvoicePaymentIn, principal: Auth, request: Request) -> Response:
    """Apply a customer's payment to the invoice; beyond what is owed → 409 with the balance."""
    uow = unit_of_work(request)
    invoice = service.get_invoice(uow, ref=ref)

    def execute(joined: UnitOfWork) -> InvoiceOut:
        paid = service.apply_invoice_payment(joined, invoice=str(invoice.id),
                                             amount=money_in(body.amount, invoice.currency), method=body.method,
                                             reference=body.reference, received_on=body.received_on)  # fmt: skip
        return InvoiceOut.model_validate(paid)

    return created(request, principal, body.model_dump(mode="json"), execute, status_code=200)


# --- gateway webhooks -----------------------------------------------------------------------------------------------


@router.post("/payment-webhooks/{gateway}", status_code=200, openapi_extra=requires(PUBLIC))
async def gateway_webhook(gateway: str, request: Request) -> dict[str, str]:
    """A gateway's notification. Authenticated by its signature (HMAC under the gateway's webhook secret), not a
    key: a forged or stale signature → 401 and nothing changes. Delivered again → acknowledged, ignored."""
    import anyio.to_thread

    body = await request.body()
    headers = dict(request.headers)
    uow = unit_of_work(request)
    outcome = await anyio.to_thread.run_sync(
        lambda: service.receive_notification(uow, gateway=gateway, headers=headers, body=body)
    )
    return {"outcome": outcome}
