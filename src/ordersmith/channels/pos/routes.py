"""POS API: stores and registers, the catalog slice a till keeps for offline selling, the quote, till sales in
(exactly once per sale id), flagged sales for the store manager, and shifts.

A till sale is claimed by its own id before anything runs (`platform.idempotency`, caller `pos`): the same sale sent
ten times at once is placed by one request while the others wait and answer its order — one order, one card
authorization. The claim's answer is kept for the key's lifetime; after that the sale's id (the order's
`external_id`) still answers the first order. A flagged sale's answer (409) is not kept, so a sale the manager has
placed since answers its order.
"""

from __future__ import annotations

import functools
import time
import uuid
from datetime import timedelta
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter

from ordersmith.channels.pos import service
from ordersmith.channels.pos.schemas import (
    QuoteIn,
    RegisterIn,
    RegisterPatch,
    ResolveIn,
    SaleIn,
    SaleOut,
    ShiftCloseIn,
    ShiftOpenIn,
    StoreIn,
    StoreReturnIn,
)
from ordersmith.kernel.errors import IdempotencyInProgress, NotFound
from ordersmith.kernel.pagination import Page
from ordersmith.orders.schemas import OrderOut
from ordersmith.platform import idempotency
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, encode, get_settings, parse_uuid, requires, unit_of_work
from ordersmith.pricing.schemas import QuoteOut

router = APIRouter(prefix="/pos", tags=["pos"])
Auth = Annotated[Principal, Depends(authorize)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=400)]
FLAGGED: dict[int | str, dict[str, Any]] = {
    409: {"description": "`pos_sale_flagged`: the sale waits for the store manager (with its `reason`)"}
}
WAIT_FOR_SALE_S = 30.0  # a copy of a sale being placed waits this long for the first's answer
SALE_CALLER = "pos"  # sales are claimed by their own id, whoever sends them


@functools.cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def _json(value: Any, kind: Any, status_code: int = 200) -> Response:
    return Response(_adapter(kind).dump_json(value), status_code=status_code, media_type="application/json")


# --- stores and registers ---------------------------------------------------------------------------------------


@router.put("/stores/{location}", response_model=service.Store, openapi_extra=requires("pos:manage"))
def put_store(location: str, body: StoreIn, principal: Auth, request: Request) -> Response:
    """Set a store's till up: its POS channel, its address (a till sale's tax is the store's) and the free method
    its carried-out sales are priced with (`carry_out`, made when missing)."""
    store = service.put_store(
        unit_of_work(request), location=location, settings=service.StoreSettings(**body.model_dump())
    )
    return _json(store, service.Store)


@router.get("/stores", response_model=list[service.Store], openapi_extra=requires("pos:sell"))
def list_stores(principal: Auth, request: Request) -> Response:
    return _json(service.list_stores(unit_of_work(request), principal=principal), list[service.Store])


@router.post(
    "/registers", status_code=201, response_model=service.Register, openapi_extra=requires("pos:manage")
)
def create_register(body: RegisterIn, principal: Auth, request: Request) -> Response:
    register = service.create_register(
        unit_of_work(request), code=body.code, store=body.store, name=body.name
    )
    return _json(register, service.Register, 201)


@router.patch(
    "/registers/{code}",
    response_model=service.Register,
    openapi_extra=requires("pos:manage"),
    responses={409: {"description": "`shift_open`: closing a register whose shift is open"}},
)
def update_register(code: str, body: RegisterPatch, principal: Auth, request: Request) -> Response:
    """Rename a register, close it (`active: false`: no shift opens and no sale is taken there; its history stays)
    or open it again."""
    register = service.update_register(
        unit_of_work(request), code=code, principal=principal, name=body.name, active=body.active
    )
    return _json(register, service.Register)


@router.get("/registers", response_model=list[service.Register], openapi_extra=requires("pos:sell"))
def list_registers(
    principal: Auth, request: Request, store: Annotated[str | None, Query(max_length=40)] = None
) -> Response:
    """The registers with their stores and open shifts (a POS channel's key: its own stores')."""
    found = service.list_registers(unit_of_work(request), principal=principal, store=store)
    return _json(found, list[service.Register])


@router.get("/registers/{code}", response_model=service.Register, openapi_extra=requires("pos:sell"))
def get_register(code: str, principal: Auth, request: Request) -> Response:
    return _json(
        service.get_register(unit_of_work(request), code=code, principal=principal), service.Register
    )


@router.get(
    "/registers/{code}/catalog", response_model=service.CatalogSlice, openapi_extra=requires("pos:sell")
)
def catalog_slice(
    code: str, principal: Auth, request: Request, limit: Limit = 200, cursor: Cursor = None
) -> Response:
    """One page of what the till keeps for selling offline: items of the store's division with barcodes, the price
    of one unit at this store, the tax rate at the store, and the units free there."""
    page = service.catalog_slice(
        unit_of_work(request), principal=principal, register=code, limit=limit, cursor=cursor
    )
    return _json(page, service.CatalogSlice)


@router.get("/registers/{code}/lookup", response_model=service.SliceItem, openapi_extra=requires("pos:sell"))
def lookup(
    code: str, principal: Auth, request: Request, scan: Annotated[str, Query(min_length=1, max_length=64)]
) -> Response:
    """What a scanned barcode (GTIN) or typed SKU is at this register: its price, tax rate and free units."""
    found = service.lookup(unit_of_work(request), principal=principal, register=code, code=scan)
    if found is None:
        raise NotFound(f"nothing sold at this store is {scan!r}")
    return _json(found, service.SliceItem)


@router.get(
    "/registers/{code}/availability", response_model=service.Elsewhere, openapi_extra=requires("pos:sell")
)
def availability(
    code: str, principal: Auth, request: Request, sku: Annotated[str, Query(min_length=1, max_length=64)]
) -> Response:
    """Endless aisle: what this store and every other location hold of an item, to sell it for delivery."""
    found = service.elsewhere(unit_of_work(request), principal=principal, register=code, sku=sku)
    return _json(found, service.Elsewhere)


# --- sales --------------------------------------------------------------------------------------------------------


@router.post("/quote", response_model=QuoteOut, openapi_extra=requires("pos:sell"))
def quote(body: QuoteIn, principal: Auth, request: Request) -> QuoteOut:
    """A sale priced as it stands — the same pipeline as `POST /api/v1/orders/quote` (promotions, coupons, the
    customer's prices, the store's tax) — nothing held or written."""
    sale = service.SaleRequest(
        id=uuid.UUID(int=0),
        register=body.register_code,
        rung_at=unit_of_work(request).now(),
        lines=[(line.sku, line.quantity) for line in body.lines],
        tenders=[],
        customer=body.customer,
        coupons=body.coupons,
        deliver_to=body.deliver_to.model_dump() if body.deliver_to else None,
    )
    return QuoteOut.model_validate(service.quote_sale(unit_of_work(request), principal=principal, sale=sale))


def _sale_answer(rung: service.Rung) -> Response:
    body = SaleOut(sale=rung.sale, order=OrderOut.model_validate(rung.order))
    return Response(
        encode(body),
        status_code=201 if rung.created else 200,
        media_type="application/json",
        headers={"Location": f"/api/v1/pos/sales/{rung.sale.id}"},
    )


@router.post(
    "/sales",
    status_code=201,
    response_model=SaleOut,
    openapi_extra=requires("pos:sell", check_in_transaction=True),
    responses={
        200: {"model": SaleOut, "description": "this sale was placed before: its first order"},
        402: {"description": "an online sale's card was declined (nothing written)"},
        **FLAGGED,
    },
)
async def ring_up(body: SaleIn, principal: Auth, request: Request) -> Response:
    """A till sale in, exactly once: placed through checkout as the store's POS-channel order carried out of the
    store (`fulfillment: taken`, the store's stock consumed at once), the sale's `id` as its `external_id`. Cash pays
    what the other tenders leave (`received` and `change` are the drawer's); a card is authorized through the
    gateway. Sent again — however often, however concurrently — it answers the first order and charges nothing
    again. A sale handed over `offline` that can no longer be filled (stock gone, a gift card short) is flagged
    for the store manager and answered 409 `pos_sale_flagged`, every time; an online sale is refused as any order
    is, and nothing is written."""
    uow = unit_of_work(request)
    sale = body.to_request()
    settings = get_settings(request)
    key = f"sale:{sale.id}"
    fingerprint = idempotency.request_fingerprint("POST", "/api/v1/pos/sales", {"sale": str(sale.id)})
    lease = timedelta(seconds=max(60.0, 4 * settings.gateway_timeout_s + 30))
    deadline = time.monotonic() + WAIT_FOR_SALE_S
    while True:
        claim = await anyio.to_thread.run_sync(
            lambda: idempotency.claim(
                uow,
                caller=SALE_CALLER,
                key=key,
                method="POST",
                path="/api/v1/pos/sales",
                fingerprint=fingerprint,
                ttl=timedelta(hours=settings.idempotency_ttl_hours),
                lease=lease,
            )
        )
        if claim.replay is not None:
            return Response(
                claim.replay.body,
                status_code=claim.replay.status,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        if claim.row_id is not None:
            break
        if time.monotonic() > deadline:
            raise IdempotencyInProgress("this sale is being placed by another request; send it again shortly")
        await anyio.sleep(0.05)
    row_id = claim.row_id
    stored: list[str] = []

    def on_rung(joined: UnitOfWork, rung: service.Rung) -> None:
        body = encode(SaleOut(sale=rung.sale, order=OrderOut.model_validate(rung.order)))
        idempotency.complete(joined, row_id=row_id, status=201, body=body)
        stored.append(body)

    def work() -> Response:
        rung = service.ring_up(uow, principal=principal, sale=sale, attempt=str(row_id), on_rung=on_rung)
        if rung.created and stored:  # the answer stored with the order, encoded once
            return Response(
                stored[-1],
                status_code=201,
                media_type="application/json",
                headers={"Location": f"/api/v1/pos/sales/{rung.sale.id}"},
            )
        return _sale_answer(rung)

    try:
        response = await anyio.to_thread.run_sync(work)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(lambda: idempotency.give_up(uow, row_id=row_id))
        raise
    if not stored:  # answered without placing (placed before): keep that answer under the sale's claim
        answer = bytes(response.body).decode()
        await anyio.to_thread.run_sync(
            lambda: idempotency.store(uow, row_id=row_id, status=response.status_code, body=answer)
        )
    return response


@router.get("/sales/{sale_id}", response_model=service.Sale, openapi_extra=requires("pos:sell"))
def get_sale(sale_id: str, principal: Auth, request: Request) -> Response:
    """A till sale: placed (with its order's number), flagged (with its reason) or resolved."""
    found = service.get_sale(
        unit_of_work(request), sale_id=parse_uuid(sale_id, "sale_id"), principal=principal
    )
    return _json(found, service.Sale)


@router.get("/flagged-sales", response_model=Page[service.Sale], openapi_extra=requires("pos:manage"))
def list_flagged(
    principal: Auth,
    request: Request,
    store: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Sales handed over offline that could not become orders, the oldest first, each with its reason."""
    page = service.list_flagged(
        unit_of_work(request), principal=principal, store=store, limit=limit, cursor=cursor
    )
    return _json(page, Page[service.Sale])


@router.post(
    "/flagged-sales/{sale_id}/place",
    response_model=SaleOut,
    openapi_extra=requires("pos:manage"),
    responses={409: {"description": "refused again (the sale stays flagged), or not flagged"}},
)
def place_flagged(sale_id: str, principal: Auth, request: Request) -> Response:
    """Place a flagged sale again as it was rung up (once it can be filled: the stock counted back, say)."""
    rung = service.place_flagged(
        unit_of_work(request), principal=principal, sale_id=parse_uuid(sale_id, "sale_id")
    )
    return _sale_answer(rung)


@router.post(
    "/flagged-sales/{sale_id}/resolve",
    response_model=service.Sale,
    openapi_extra=requires("pos:manage"),
    responses={409: {"description": "the sale is not flagged"}},
)
def resolve_flagged(sale_id: str, body: ResolveIn, principal: Auth, request: Request) -> Response:
    """Close a flagged sale without an order, with a note saying what was done (audited)."""
    found = service.resolve_flagged(
        unit_of_work(request), principal=principal, sale_id=parse_uuid(sale_id, "sale_id"), note=body.note
    )
    return _json(found, service.Sale)


@router.post(
    "/returns",
    status_code=201,
    response_model=service.StoreReturn,
    openapi_extra=requires("pos:returns"),
)
def return_in_store(body: StoreReturnIn, principal: Auth, request: Request) -> Response:
    """A return taken at the till for an order from any channel (bought online, returned in store): authorized as
    `POST /api/v1/orders/{ref}/returns` authorizes it, its goods received into this store's stock, and the refund
    due given back to the order's tenders (cash from the drawer, counted into the open `shift`) or as new store
    credit (its code in this answer only). A refund the gateway refuses is named in `refund_problem`; the return
    stays received with its refund due."""
    done = service.return_in_store(
        unit_of_work(request),
        principal=principal,
        register=body.register_code,
        order_ref=body.order,
        lines=[
            service.ReturnLineRequest(
                line_no=x.line_no, quantity=x.quantity, reason=x.reason, exchange_sku=x.exchange_sku
            )
            for x in body.lines
        ],
        to_store_credit=body.refund_to == "store_credit",
        shift=body.shift,
        note=body.note,
    )
    return _json(done, service.StoreReturn, 201)


# --- shifts -------------------------------------------------------------------------------------------------------


@router.post(
    "/registers/{code}/shifts",
    status_code=201,
    response_model=service.Shift,
    openapi_extra=requires("pos:shifts"),
    responses={409: {"description": "`shift_open`: the register has an open shift"}},
)
def open_shift(code: str, body: ShiftOpenIn, principal: Auth, request: Request) -> Response:
    """Open a shift with the cash put in the drawer (its float)."""
    shift = service.open_shift(
        unit_of_work(request), principal=principal, register=code, opening_float=body.opening_float
    )
    return _json(shift, service.Shift, 201)


@router.get(
    "/registers/{code}/shifts", response_model=Page[service.Shift], openapi_extra=requires("pos:shifts")
)
def list_shifts(
    code: str, principal: Auth, request: Request, limit: Limit = 20, cursor: Cursor = None
) -> Response:
    page = service.list_shifts(
        unit_of_work(request), principal=principal, register=code, limit=limit, cursor=cursor
    )
    return _json(page, Page[service.Shift])


@router.get("/shifts/{shift_id}", response_model=service.Shift, openapi_extra=requires("pos:shifts"))
def get_shift(shift_id: str, principal: Auth, request: Request) -> Response:
    """A shift with its drawer: float, cash handed over, change, cash refunds, expected; once closed, the count and
    the difference (counted - expected)."""
    found = service.get_shift(
        unit_of_work(request), principal=principal, shift_id=parse_uuid(shift_id, "shift_id")
    )
    return _json(found, service.Shift)


@router.post(
    "/shifts/{shift_id}/close",
    response_model=service.Shift,
    openapi_extra=requires("pos:shifts"),
    responses={
        409: {"description": "closed already"},
        412: {"description": "If-Match is not the shift's version"},
    },
)
def close_shift(shift_id: str, body: ShiftCloseIn, principal: Auth, request: Request) -> Response:
    """Close a shift with the cash counted in its drawer; the expected cash and the difference are kept (audited)."""
    match = request.headers.get("If-Match")
    version = int(match.strip('W/"')) if match and match.strip('W/"').isdigit() else None
    found = service.close_shift(
        unit_of_work(request),
        principal=principal,
        shift_id=parse_uuid(shift_id, "shift_id"),
        counted=body.counted,
        note=body.note,
        expected_version=version,
    )
    return _json(found, service.Shift)
