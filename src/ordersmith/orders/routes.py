"""Order API: reading, holds, edits, cancellation, shipments, returns.

Order intake (`POST /orders`), quotes and added tenders are checkout's routes (`checkout.routes`). A
channel-bound key acts for its own channel only: it places that channel's orders and sees and changes only
them (another channel's order answers 404, and nothing changes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from ordersmith.kernel.errors import NotFound, PreconditionRequired
from ordersmith.orders import rules, service
from ordersmith.orders.schemas import (
    CancelIn,
    HoldIn,
    HoldQueueOut,
    OrderOut,
    OrderPatch,
    OrderSummaryOut,
    ReceiveIn,
    ReleaseIn,
    ReturnIn,
    ReturnOut,
    ShipmentIn,
    TimelineEntryOut,
)
from ordersmith.platform import custom_fields, sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import (
    authorize,
    created,
    encode,
    etag,
    if_match_version,
    requires,
    unit_of_work,
)
from ordersmith.platform.schemas import CustomValuesIn, CustomValuesOut, PageOut

router = APIRouter(tags=["orders"])
Auth = Annotated[Principal, Depends(authorize)]


def order_response(order: service.Order, status_code: int, custom: dict[str, Any] | None = None) -> Response:
    out = OrderOut.model_validate(order)
    if custom is not None:
        out = out.model_copy(update={"custom_fields": custom})
    return Response(encode(out), status_code=status_code, media_type="application/json",
                    headers={"ETag": etag(order.version), "Location": f"/api/v1/orders/{order.id}"})  # fmt: skip


def own_channel(uow: UnitOfWork, principal: Principal) -> str | None:
    """The channel a channel-bound key is limited to (None for staff and unbound keys)."""
    return sales_channels.bound_channel(uow, principal)


def visible_order(uow: UnitOfWork, principal: Principal, ref: str) -> service.Order:
    """The order, as long as the caller may see it (checked before any change, so a refusal changes nothing)."""
    return service.get_order(uow, ref=ref, channel=own_channel(uow, principal))


@router.get("/orders", response_model=PageOut[OrderSummaryOut],
            openapi_extra=requires("orders:read", custom_filters=True))  # fmt: skip
def list_orders(
    principal: Auth, request: Request,
    channel: str | None = None,
    status: Literal[rules.ORDER_STATUSES] | None = None,  # type: ignore[valid-type]
    fulfillment_status: Literal[rules.FULFILLMENT_STATUSES] | None = None,  # type: ignore[valid-type]
    customer: Annotated[str | None, Query(description="id or number")] = None,
    placed_from: datetime | None = None, placed_to: datetime | None = None, source_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Newest first; a channel key sees its own channel's orders only. An unknown status (or any unknown query
    parameter) is a 422 naming it, never ignored. `custom.<name>=value` (any number) keeps the orders whose custom
    field has that value."""
    uow = unit_of_work(request)
    wanted = custom_fields.filters_from(request.query_params.multi_items())
    own = own_channel(uow, principal)
    if own is not None and channel is not None and channel != own:
        return {"items": [], "next_cursor": None}  # another channel's orders do not exist for this key
    page = service.list_orders(uow, channel=own or channel, status=status, fulfillment_status=fulfillment_status,
                               customer=customer,
                               placed_from=placed_from, placed_to=placed_to, source_code=source_code,
                               cursor=cursor, limit=limit, custom_filters=wanted)  # fmt: skip
    return {"items": [OrderSummaryOut.model_validate(o) for o in page.items], "next_cursor": page.next_cursor}


@router.get("/orders/{ref}", response_model=OrderOut, openapi_extra=requires("orders:read"))
def get_order(ref: str, principal: Auth, request: Request) -> Response:
    """By id or number, with lines (their reservation or backorder state), ship-tos, holds, custom field values
    and the ETag."""
    uow = unit_of_work(request)
    order = visible_order(uow, principal, ref)
    return order_response(order, 200, service.order_values(uow, order_id=order.id))


@router.put(
    "/orders/{ref}/custom-fields", response_model=CustomValuesOut, openapi_extra=requires("orders:write")
)
def set_order_custom_fields(
    ref: str, body: CustomValuesIn, principal: Auth, request: Request
) -> CustomValuesOut:
    """Set the custom field values sent (null clears one; fields not sent stay) and answer with all of them. A bad
    value is a 422 naming `custom_fields.<name>`, and nothing is written. A channel key: its own channel's orders."""
    uow = unit_of_work(request)
    values = service.set_order_custom_fields(uow, ref=ref, values=body.custom_fields,
                                             channel=own_channel(uow, principal))  # fmt: skip
    return CustomValuesOut(custom_fields=values)


@router.get(
    "/orders/{ref}/timeline", response_model=list[TimelineEntryOut], openapi_extra=requires("orders:read")
)
def order_timeline(ref: str, principal: Auth, request: Request) -> list[TimelineEntryOut]:
    """Everything that happened to the order, oldest first: its events and the audit entries about it."""
    uow = unit_of_work(request)
    entries = service.order_timeline(uow, ref=ref, channel=own_channel(uow, principal))
    return [TimelineEntryOut.model_validate(e) for e in entries]


@router.patch("/orders/{ref}", response_model=OrderOut, openapi_extra=requires("orders:write"))
def edit_order(ref: str, body: OrderPatch, principal: Auth, request: Request) -> Response:
    """Change lines, quantities, ship-tos, methods or personalization before release — re-priced and re-reserved
    at once. Needs `If-Match` (the ETag you read). After release only a manager's address correction."""
    expected = if_match_version(request)
    if expected is None:
        raise PreconditionRequired("send If-Match with the ETag of the order you read")
    uow = unit_of_work(request)
    order = visible_order(uow, principal, ref)
    changes = service.OrderChanges(
        lines=[service.LineChange(line_no=c.line_no, sku=c.sku, quantity=c.quantity, ship_to=c.ship_to,
                                  personalization=c.personalization, gift_message=c.gift_message,
                                  source_code=c.source_code)
               for c in body.lines],
        ship_tos=[c.model_dump(exclude_none=True) for c in body.ship_tos],
    )  # fmt: skip
    edited = service.edit_order(uow, ref=str(order.id), changes=changes, expected_version=expected,
                                may_correct_released=principal.can("orders:release"))  # fmt: skip
    return order_response(edited, 200)


@router.post("/orders/{ref}/hold", response_model=OrderOut, openapi_extra=requires("orders:hold"))
def hold_order(ref: str, body: HoldIn, principal: Auth, request: Request) -> Response:
    """Put the order on hold with a note; its stock stays reserved."""
    uow = unit_of_work(request)
    order = visible_order(uow, principal, ref)
    held = service.hold_order(uow, ref=str(order.id), reason=body.reason, note=body.note,
                              expected_version=if_match_version(request))  # fmt: skip
    return order_response(held, 200)


@router.post("/orders/{ref}/release", response_model=OrderOut, openapi_extra=requires("orders:write"))
def release_order(ref: str, body: ReleaseIn, principal: Auth, request: Request) -> Response:
    """Release a pending order to fulfillment, or a held one (a manager, with a note)."""
    uow = unit_of_work(request)
    order = visible_order(uow, principal, ref)
    released = service.release_order(uow, ref=str(order.id), note=body.note, expected_version=if_match_version(request),
                                      may_release_held=principal.can("orders:release"))  # fmt: skip
    return order_response(released, 200)


@router.post("/orders/{ref}/cancel", response_model=OrderOut, openapi_extra=requires("orders:write"))
def cancel_order(ref: str, body: CancelIn, principal: Auth, request: Request) -> Response:
    """Cancel the whole order or some units of its lines: reservations released, totals reduced, and
    `order.cancelled` / `order.changed` for payments to void or refund. A held order: a manager."""
    uow = unit_of_work(request)
    order = visible_order(uow, principal, ref)
    cancelled = service.cancel_order(uow, ref=str(order.id), reason=body.reason, lines=body.lines,
                                     expected_version=if_match_version(request),
                                     may_cancel_held=principal.can("orders:release"))  # fmt: skip
    return order_response(cancelled, 200)


@router.post("/orders/{ref}/shipments", response_model=OrderOut, openapi_extra=requires("orders:ship"))
def record_shipment(ref: str, body: ShipmentIn, principal: Auth, request: Request) -> Response:
    """The warehouse shipped these units: their reservations are consumed and the order moves on."""
    uow = unit_of_work(request)
    order = visible_order(uow, principal, ref)
    return order_response(
        service.record_shipment(uow, ref=str(order.id), lines=body.lines, tracking=body.tracking), 200
    )


@router.get("/holds", response_model=list[HoldQueueOut], openapi_extra=requires("orders:read"))
def list_holds(
    principal: Auth,
    request: Request,
    reason: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[HoldQueueOut]:
    """The hold queue, oldest first (a channel key: its own channel's held orders)."""
    uow = unit_of_work(request)
    own = own_channel(uow, principal)
    holds = service.list_holds(uow, reason=reason, channel=own, limit=limit)
    return [HoldQueueOut.model_validate(h) for h in holds]


@router.post(
    "/orders/{ref}/returns",
    status_code=201,
    response_model=ReturnOut,
    openapi_extra=requires("returns:write"),
)
def authorize_return(ref: str, body: ReturnIn, principal: Auth, request: Request) -> Response:
    """Authorize shipped units to come back (an RMA) with a reason each; exchanges name the SKU to send instead."""
    uow = unit_of_work(request)
    order = visible_order(uow, principal, ref)
    lines = [service.ReturnLineRequest(line_no=r.line_no, quantity=r.quantity, reason=r.reason,
                                       exchange_sku=r.exchange_sku) for r in body.lines]  # fmt: skip
    return created(request, principal, body.model_dump(mode="json"), lambda joined: ReturnOut.model_validate(
        service.authorize_return(joined, order_ref=str(order.id), lines=lines, note=body.note)))  # fmt: skip


def visible_return(uow: UnitOfWork, principal: Principal, ref: str) -> service.Return:
    """The return, as long as the caller may see its order; another channel's answers as an unknown one does."""
    found = service.get_return(uow, ref=ref)
    try:
        visible_order(uow, principal, str(found.order_id))
    except NotFound:
        raise NotFound(f"no return {ref!r}") from None
    return found


@router.get("/returns/{ref}", response_model=ReturnOut, openapi_extra=requires("orders:read"))
def get_return(ref: str, principal: Auth, request: Request) -> ReturnOut:
    return ReturnOut.model_validate(visible_return(unit_of_work(request), principal, ref))


@router.post("/returns/{ref}/receive", response_model=ReturnOut, openapi_extra=requires("returns:receive"))
def receive_return(ref: str, body: ReceiveIn, principal: Auth, request: Request) -> ReturnOut:
    """Receive the goods into a location: restocked units go back on hand, the refund due is set, exchanges
    become a linked replacement order at the original price."""
    uow = unit_of_work(request)
    visible_return(uow, principal, ref)
    lines = None
    if body.lines is not None:
        lines = [service.ReceivedLine(line_no=r.line_no, quantity=r.quantity, disposition=r.disposition)
                 for r in body.lines]  # fmt: skip
    return ReturnOut.model_validate(service.receive_return(uow, ref=ref, location=body.location, lines=lines))
