"""Carriers: a location's dock, rates, address checks, labels (buy, void), the end-of-day manifest and the
carriers' tracking webhooks (public, signature checked)."""

from __future__ import annotations

import json

import anyio.to_thread
from fastapi import APIRouter, Request, Response

from ordersmith.fulfillment import carriers, service
from ordersmith.fulfillment.routes._common import Auth, respond, shipment_action
from ordersmith.fulfillment.schemas import (
    DockIn,
    LabelsIn,
    ManifestIn,
    RatesIn,
)
from ordersmith.platform.access import PUBLIC
from ordersmith.platform.http import requires, unit_of_work

router = APIRouter()


@router.put(
    "/locations/{code}/dock", response_model=service.Dock, openapi_extra=requires("fulfillment:write")
)
def set_dock(code: str, body: DockIn, principal: Auth, request: Request) -> Response:
    """Where a location ships from: the address on its labels, its label format (PDF or ZPL) and its carrier."""
    dock = service.set_dock(
        unit_of_work(request),
        location=code,
        address=body.address.model_dump(),
        label_format=body.label_format,
        carrier=body.carrier,
    )
    return respond(dock, service.Dock)


@router.post("/rates", response_model=service.RateQuote, openapi_extra=requires("warehouse:read"))
def rate_shipment(body: RatesIn, principal: Auth, request: Request) -> Response:
    """The carrier's rates for a packed shipment's packages, and the cheapest that keeps the delivery its
    shipping method promised (with why, when none does)."""
    quote = service.rate_shipment(unit_of_work(request), ref=body.shipment, carrier=body.carrier)
    return respond(quote, service.RateQuote)


@router.post(
    "/shipments/{ref}/address-check",
    response_model=carriers.AddressCheck,
    openapi_extra=requires("warehouse:read"),
)
def check_address(ref: str, principal: Auth, request: Request) -> Response:
    """The carrier's view of the shipment's ship-to: valid or why not, and the cleaned-up form it would ship to
    (nothing changes; correct the order's address with the order's own edit)."""
    return respond(service.check_address(unit_of_work(request), ref=ref), carriers.AddressCheck)


@shipment_action(router, "/shipments/{ref}/labels", "fulfillment:labels")
def buy_labels(ref: str, body: LabelsIn, principal: Auth, request: Request) -> Response:
    """A label for each unlabelled package (the service named, else the rate shopped for the promise). The carrier
    charges for each: a second purchase of the same packages is a 409 and buys nothing."""
    shipment = service.buy_labels(
        unit_of_work(request),
        ref=ref,
        carrier=body.carrier,
        service=body.service,
        label_format=body.label_format,
    )
    return respond(shipment, service.Shipment)


@shipment_action(router, "/shipments/{ref}/labels/void", "fulfillment:labels")
def void_labels(ref: str, principal: Auth, request: Request) -> Response:
    """Void the shipment's labels before it leaves (the carrier refunds them)."""
    return respond(service.void_labels(unit_of_work(request), ref=ref), service.Shipment)


@router.post("/manifests", response_model=service.ManifestOut, openapi_extra=requires("fulfillment:write"))
def close_day(body: ManifestIn, principal: Auth, request: Request) -> Response:
    """The end-of-day manifest of what shipped from a location with a carrier (the driver scans it once)."""
    manifest = service.close_day(
        unit_of_work(request), location=body.location, carrier=body.carrier, day=body.day
    )
    out = service.ManifestOut(
        manifest.carrier, manifest.manifest_id, list(manifest.tracking_numbers), manifest.created_at
    )
    return respond(out, service.ManifestOut)


@router.post("/carrier-webhooks/{carrier}", openapi_extra=requires(PUBLIC), status_code=200)
async def carrier_webhook(carrier: str, request: Request) -> Response:
    """A carrier's tracking notification, its signature checked first: a forged one is a 401 and changes
    nothing; one delivered again is acknowledged and applied once."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = dict(request.query_params)
    uow = unit_of_work(request)
    applied = await anyio.to_thread.run_sync(
        lambda: service.receive_webhook(uow, carrier=carrier, headers=headers, body=body, query=query)
    )
    return Response(json.dumps({"applied": applied}), media_type="application/json")
