"""Checkout API: order intake with its payment (`POST /orders`), quotes, and tenders added to a placed order.

With an `Idempotency-Key` the key is claimed first in a transaction of its own, the processor is asked with no
transaction open, and the order and the stored response commit together; a concurrent request with the same key
waits (without holding a request thread) for the first answer and replays it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response

from ordersmith.checkout import rules, service
from ordersmith.checkout.schemas import order_request
from ordersmith.kernel.errors import IdempotencyInProgress
from ordersmith.orders import service as orders
from ordersmith.orders.schemas import OrderIn, OrderOut, money
from ordersmith.payments import service as payments
from ordersmith.payments.schemas import PaymentOut, TenderIn
from ordersmith.platform import idempotency, sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, encode, etag, get_settings, requires, unit_of_work
from ordersmith.platform.sales_channels import SalesChannel
from ordersmith.pricing.schemas import QuoteOut

router = APIRouter(tags=["orders"])
Auth = Annotated[Principal, Depends(authorize)]
T = TypeVar("T")

# How long a request waits for another holding the same Idempotency-Key before answering 409 (retry later), and
# after how long without an answer a claim counts as abandoned (its process died) and may be taken over: longer
# than a checkout can take (each card asked twice at most, each call within the gateway's timeout).
WAIT_FOR_KEY_S = 30.0
MIN_KEY_LEASE_S = 60.0


def _lease(gateway_timeout_s: float) -> timedelta:
    return timedelta(seconds=max(MIN_KEY_LEASE_S, 4 * gateway_timeout_s + 30))


def _caller(principal: Principal, channel: SalesChannel) -> rules.Caller:
    return rules.Caller(channel_kind=channel.kind, scopes=principal.scopes, bills_later=channel.bills_later,
                        channel_bound=principal.channel_id is not None)  # fmt: skip


def _order_out(order: orders.Order, custom: dict[str, Any]) -> OrderOut:
    return OrderOut.model_validate(order).model_copy(update={"custom_fields": custom})


def _order_response(order: orders.Order, status_code: int, custom: dict[str, Any]) -> Response:
    headers = {"ETag": etag(order.version), "Location": f"/api/v1/orders/{order.id}"}
    return Response(encode(_order_out(order, custom)), status_code=status_code,
                    media_type="application/json", headers=headers)  # fmt: skip


async def _once(
    request: Request,
    principal: Principal,
    payload: Callable[[], object],
    work: Callable[[uuid.UUID | None, Callable[[UnitOfWork, int, str], None] | None], Response],
) -> Response:
    """Run `work` once per Idempotency-Key: claim the key (its own transaction; `payload` gives the body its
    fingerprint is taken of, only when a key was sent), run the work in a thread with the claim's id (to key
    processor calls) and a `store` to call inside its write transaction; replay the stored answer to a repeat;
    free the key when the work fails."""
    uow = unit_of_work(request)
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return await anyio.to_thread.run_sync(work, None, None)
    settings = get_settings(request)
    fingerprint = idempotency.request_fingerprint(request.method, request.url.path, payload())
    deadline = time.monotonic() + WAIT_FOR_KEY_S
    while True:
        claim = await anyio.to_thread.run_sync(lambda: idempotency.claim(
            uow, caller=principal.caller_key, key=key, method=request.method, path=request.url.path,
            fingerprint=fingerprint,
            ttl=timedelta(hours=settings.idempotency_ttl_hours), lease=_lease(settings.gateway_timeout_s)))  # fmt: skip
        if claim.replay is not None:
            return Response(claim.replay.body, status_code=claim.replay.status, media_type="application/json",
                            headers={"Idempotent-Replayed": "true"})  # fmt: skip
        if claim.row_id is not None:
            break
        if time.monotonic() > deadline:
            raise IdempotencyInProgress(
                "a request with this Idempotency-Key is still being processed; retry shortly"
            )
        await anyio.sleep(0.05)
    row_id = claim.row_id
    stored: list[bool] = []

    def store(joined: UnitOfWork, status: int, body: str) -> None:
        idempotency.complete(joined, row_id=row_id, status=status, body=body)
        stored.append(True)

    try:
        response = await anyio.to_thread.run_sync(work, row_id, store)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(lambda: idempotency.give_up(uow, row_id=row_id))
        raise
    if not stored:  # answered without writing (a channel order placed before): keep that answer under the key
        body = bytes(response.body).decode()
        await anyio.to_thread.run_sync(lambda: idempotency.store(uow, row_id=row_id, status=response.status_code,
                                                                 body=body))  # fmt: skip
    return response


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    openapi_extra=requires("orders:write", check_in_transaction=True),
    responses={
        200: {
            "model": OrderOut,
            "description": "this channel order (external_id) was placed before: the first order",
        },
        402: {"description": "a card was declined (`payment_declined`, with the gateway's `reason_code`)"},
    },
)
async def place_order(body: OrderIn, principal: Auth, request: Request) -> Response:
    """Place an order from any channel and take its payment: priced once by our pricing, stock reserved for every
    line (or backordered when the item allows), holds applied; cards (vault or gateway tokens) authorized before
    anything is written, gift cards and store credit redeemed, credit on account decided, checks received; cash
    only from a POS channel or staff with `payments:cash`, marketplace payments only from a marketplace channel,
    PayPal only with an order id PayPal confirms. Nothing collected, received or authorized (and no terms, and a
    channel that does not bill later) → the order waits on hold `pending_payment`. `placed_at` needs
    `orders:import`; `priority` needs `orders:priority` or `orders:import`. A channel key's orders are its
    channel's; staff name the channel. The same channel order (`external_id`) or the same `Idempotency-Key` sent
    again answers with the first order and charges nothing again."""
    uow = unit_of_work(request)

    # One thread hop for the whole call: the channel comes from a cache, and a cached key's revocation check is
    # the first read of the order's own transaction (`check_in_transaction`).
    def work(attempt: uuid.UUID | None, store: Callable[[UnitOfWork, int, str], None] | None) -> Response:
        channel = sales_channels.ordering_channel(uow, principal, body.channel)
        wanted = order_request(body, channel.currency)
        caller = _caller(principal, channel)
        # Custom fields: refused here, before a card is asked, by the cached fields (no statement when none are
        # sent or required); checked again and stored inside the order's transaction by the current ones.
        orders.check_placed(uow, values=body.custom_fields, early=True)
        custom: dict[str, Any] = {}

        def on_placed(joined: UnitOfWork, order: orders.Order) -> None:
            custom.update(orders.write_placed(joined, order_id=order.id, values=body.custom_fields))
            if store is not None:
                store(joined, 201, encode(_order_out(order, custom)))

        placed = service.place_order(uow, channel=channel, caller=caller, request=wanted,
                                     attempt=str(attempt) if attempt else None, on_placed=on_placed)  # fmt: skip
        if not placed.created:  # the channel order placed before: its own values
            custom = orders.order_values(uow, order_id=placed.order.id)
        return _order_response(placed.order, 201 if placed.created else 200, custom)

    return await _once(request, principal, lambda: body.model_dump(mode="json"), work)


@router.post("/orders/quote", response_model=QuoteOut, openapi_extra=requires("orders:write"))
def quote_order(body: OrderIn, principal: Auth, request: Request) -> QuoteOut:
    """Price the same request without placing it: nothing is reserved, counted or written."""
    uow = unit_of_work(request)
    channel = sales_channels.ordering_channel(uow, principal, body.channel)
    customer_of = channel.code if principal.channel_id is not None else None
    return QuoteOut.model_validate(
        orders.quote_order(
            uow, channel=channel, request=order_request(body, channel.currency), customer_of=customer_of
        )
    )


@router.post(
    "/orders/{ref}/payments",
    status_code=201,
    response_model=PaymentOut,
    openapi_extra=requires("payments:write"),
    responses={402: {"description": "the card was declined (`payment_declined`)"}},
)
async def add_tender(ref: str, body: TenderIn, principal: Auth, request: Request) -> Response:
    """Add a tender to a placed order (without an amount: what is still unpaid). Tenders never cover more than
    the order's total, however many arrive at once: the amount is set aside under the order's lock before a card
    is authorized. A gift card or store credit pays in its own currency only. An order waiting for its payment is
    released once covered. A declined card → 402."""
    uow = unit_of_work(request)

    def channel_of() -> tuple[str | None, rules.Caller]:
        if principal.channel_id is None:
            return None, rules.Caller(channel_kind="", scopes=principal.scopes)
        own = sales_channels.ordering_channel(uow, principal, None)
        return own.code, _caller(principal, own)

    channel, caller = await anyio.to_thread.run_sync(channel_of)

    def work(attempt: uuid.UUID | None, store: Callable[[UnitOfWork, int, str], None] | None) -> Response:
        order = orders.get_order(uow, ref=ref, channel=channel)
        tender = orders.PaymentRequest(method=body.method, amount=money(body.amount, order.currency),
                                       token=body.token, reference=body.reference, bank=body.bank)  # fmt: skip

        def on_settled(joined: UnitOfWork, payment: payments.Payment) -> None:
            if store is not None:
                store(joined, 201, encode(PaymentOut.model_validate(payment)))

        payment = service.add_tender(uow, order_ref=str(order.id), caller=caller, tender=tender, channel=channel,
                                     attempt=str(attempt) if attempt else None, on_settled=on_settled)  # fmt: skip
        return Response(
            encode(PaymentOut.model_validate(payment)), status_code=201, media_type="application/json"
        )

    return await _once(request, principal, lambda: {"ref": ref, **body.model_dump(mode="json")}, work)
