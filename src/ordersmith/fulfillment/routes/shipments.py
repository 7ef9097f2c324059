"""Shipments: list and get (a channel key: its own channel's only), pick, scan-to-pack, pack, ship, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ordersmith.fulfillment import service
from ordersmith.fulfillment.routes._common import Auth, channel_of, respond, shipment_action, visible
from ordersmith.fulfillment.schemas import (
    PackIn,
    PickIn,
    ReasonIn,
    ScanIn,
    ShipIn,
)
from ordersmith.kernel.pagination import Page
from ordersmith.platform.http import requires, unit_of_work

router = APIRouter()


@router.get(
    "/shipments", response_model=Page[service.ShipmentSummary], openapi_extra=requires("fulfillment:read")
)
def list_shipments(
    principal: Auth,
    request: Request,
    location: str | None = None,
    status: str | None = None,
    order: str | None = None,
    wave: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """Newest first, by location, status, order number or wave (a channel key: its own channel's only)."""
    uow = unit_of_work(request)
    page = service.list_shipments(
        uow,
        location=location,
        status=status,
        order=order,
        wave=wave,
        channel=channel_of(uow, principal),
        cursor=cursor,
        limit=limit,
    )
    return respond(page, Page[service.ShipmentSummary])


@router.get("/shipments/{ref}", response_model=service.Shipment, openapi_extra=requires("fulfillment:read"))
def get_shipment(ref: str, principal: Auth, request: Request) -> Response:
    """A shipment by id or number: lines, packages (with tracking) and timeline."""
    uow = unit_of_work(request)
    return respond(service.get_shipment(uow, ref=ref, channel=channel_of(uow, principal)), service.Shipment)


@shipment_action(router, "/shipments/{ref}/pick", "fulfillment:write")
def pick_shipment(ref: str, body: PickIn, principal: Auth, request: Request) -> Response:
    """The picker confirms the units; `found` names lines where fewer were in the bin (a short pick: a count task
    opens and the order allocates the missing units again)."""
    uow = unit_of_work(request)
    shipment = service.pick_shipment(uow, ref=visible(uow, principal, ref), found=body.found or None)
    return respond(shipment, service.Shipment)


@shipment_action(router, "/shipments/{ref}/scan", "fulfillment:write")
def scan_item(ref: str, body: ScanIn, principal: Auth, request: Request) -> Response:
    """Scan-to-pack: one unit of the scanned item (GTIN or SKU) is packed; a wrong item or one too many is a 409
    `scan_refused` and nothing changes."""
    uow = unit_of_work(request)
    return respond(service.scan_item(uow, ref=visible(uow, principal, ref), code=body.code), service.Shipment)


@shipment_action(router, "/shipments/{ref}/pack", "fulfillment:write")
def pack_shipment(ref: str, body: PackIn, principal: Auth, request: Request) -> Response:
    """Close packing into packages (weighed; none named: cartons from the catalog's sizes and weights)."""
    uow = unit_of_work(request)
    specs = [service.PackageSpec(**p.model_dump()) for p in body.packages]
    packed = service.pack_shipment(
        uow, ref=visible(uow, principal, ref), packages=specs or None, all_units=body.all_units
    )
    return respond(packed, service.Shipment)


@shipment_action(router, "/shipments/{ref}/ship", "fulfillment:write")
def ship_shipment(ref: str, body: ShipIn, principal: Auth, request: Request) -> Response:
    """It left: stock consumed once, the order shipped (payments capture), `shipment.shipped` with the tracking
    number. A second confirmation is a 409 and changes nothing."""
    uow = unit_of_work(request)
    shipped = service.ship_shipment(
        uow,
        ref=visible(uow, principal, ref),
        tracking=body.tracking,
        carrier=body.carrier,
        service=body.service,
    )
    return respond(shipped, service.Shipment)


@shipment_action(router, "/shipments/{ref}/cancel", "fulfillment:write")
def cancel_shipment(ref: str, body: ReasonIn, principal: Auth, request: Request) -> Response:
    """Cancel what it was to ship: its units are cancelled on the order (payments void or refund them)."""
    uow = unit_of_work(request)
    return respond(
        service.cancel_shipment(uow, ref=visible(uow, principal, ref), reason=body.reason), service.Shipment
    )
