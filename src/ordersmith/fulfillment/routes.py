"""Fulfillment API: shipments (list, get, pick, scan, pack, ship, cancel), waves and their pick lists, bins and
count tasks, and the warehouse's productivity.

A channel-bound key with `fulfillment:read` sees its own channel's shipments (tracking for its customers) and
nothing else: another channel's shipment answers 404 like an unknown one. Waves, bins, counts and productivity
are the warehouse's (`warehouse:read`), which a channel key cannot hold.
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from ordersmith.fulfillment import carriers, service
from ordersmith.fulfillment.schemas import (
    BinIn,
    CountIn,
    DockIn,
    DropShipConfirmIn,
    DropShipCsvIn,
    ItemBinIn,
    LabelsIn,
    ManifestIn,
    PackIn,
    PickIn,
    RatesIn,
    ReasonIn,
    ScanIn,
    ShipIn,
    WaveIn,
)
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.pagination import Page
from ordersmith.platform import sales_channels
from ordersmith.platform.access import PUBLIC, Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, requires, unit_of_work

router = APIRouter(tags=["fulfillment"])
Auth = Annotated[Principal, Depends(authorize)]
_STATE: dict[int | str, dict[str, Any]] = {
    409: {"description": "illegal_transition (with the shipment's `state`), scan_refused, or conflict"}
}


@functools.cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def respond(value: Any, kind: Any, status_code: int = 200) -> Response:
    """The service's dataclass as JSON (pydantic: money amounts as strings, times in ISO 8601)."""
    return Response(_adapter(kind).dump_json(value), status_code=status_code, media_type="application/json")


def _own(uow: UnitOfWork, principal: Principal) -> str | None:
    return sales_channels.bound_channel(uow, principal)


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
        channel=_own(uow, principal),
        cursor=cursor,
        limit=limit,
    )
    return respond(page, Page[service.ShipmentSummary])


@router.get("/shipments/{ref}", response_model=service.Shipment, openapi_extra=requires("fulfillment:read"))
def get_shipment(ref: str, principal: Auth, request: Request) -> Response:
    """A shipment by id or number: lines, packages (with tracking) and timeline."""
    uow = unit_of_work(request)
    return respond(service.get_shipment(uow, ref=ref, channel=_own(uow, principal)), service.Shipment)


def _visible(uow: UnitOfWork, principal: Principal, ref: str) -> str:
    """The shipment's id when the caller may see it (a refusal is a 404 and changes nothing)."""
    return str(service.get_shipment(uow, ref=ref, channel=_own(uow, principal)).id)


@router.post(
    "/shipments/{ref}/pick",
    response_model=service.Shipment,
    responses=_STATE,
    openapi_extra=requires("fulfillment:write"),
)
def pick_shipment(ref: str, body: PickIn, principal: Auth, request: Request) -> Response:
    """The picker confirms the units; `found` names lines where fewer were in the bin (a short pick: a count task
    opens and the order allocates the missing units again)."""
    uow = unit_of_work(request)
    shipment = service.pick_shipment(uow, ref=_visible(uow, principal, ref), found=body.found or None)
    return respond(shipment, service.Shipment)


@router.post(
    "/shipments/{ref}/scan",
    response_model=service.Shipment,
    responses=_STATE,
    openapi_extra=requires("fulfillment:write"),
)
def scan_item(ref: str, body: ScanIn, principal: Auth, request: Request) -> Response:
    """Scan-to-pack: one unit of the scanned item (GTIN or SKU) is packed; a wrong item or one too many is a 409
    `scan_refused` and nothing changes."""
    uow = unit_of_work(request)
    return respond(
        service.scan_item(uow, ref=_visible(uow, principal, ref), code=body.code), service.Shipment
    )


@router.post(
    "/shipments/{ref}/pack",
    response_model=service.Shipment,
    responses=_STATE,
    openapi_extra=requires("fulfillment:write"),
)
def pack_shipment(ref: str, body: PackIn, principal: Auth, request: Request) -> Response:
    """Close packing into packages (weighed; none named: cartons from the catalog's sizes and weights)."""
    uow = unit_of_work(request)
    specs = [service.PackageSpec(**p.model_dump()) for p in body.packages]
    packed = service.pack_shipment(
        uow, ref=_visible(uow, principal, ref), packages=specs or None, all_units=body.all_units
    )
    return respond(packed, service.Shipment)


@router.post(
    "/shipments/{ref}/ship",
    response_model=service.Shipment,
    responses=_STATE,
    openapi_extra=requires("fulfillment:write"),
)
def ship_shipment(ref: str, body: ShipIn, principal: Auth, request: Request) -> Response:
    """It left: stock consumed once, the order shipped (payments capture), `shipment.shipped` with the tracking
    number. A second confirmation is a 409 and changes nothing."""
    uow = unit_of_work(request)
    shipped = service.ship_shipment(
        uow,
        ref=_visible(uow, principal, ref),
        tracking=body.tracking,
        carrier=body.carrier,
        service=body.service,
    )
    return respond(shipped, service.Shipment)


@router.post(
    "/shipments/{ref}/cancel",
    response_model=service.Shipment,
    responses=_STATE,
    openapi_extra=requires("fulfillment:write"),
)
def cancel_shipment(ref: str, body: ReasonIn, principal: Auth, request: Request) -> Response:
    """Cancel what it was to ship: its units are cancelled on the order (payments void or refund them)."""
    uow = unit_of_work(request)
    return respond(
        service.cancel_shipment(uow, ref=_visible(uow, principal, ref), reason=body.reason), service.Shipment
    )


@router.post(
    "/waves", status_code=201, response_model=service.Wave, openapi_extra=requires("fulfillment:write")
)
def build_wave(body: WaveIn, principal: Auth, request: Request) -> Response:
    """Gather the most urgent released shipments at a location that the filters admit, each into its tote."""
    filters = service.WaveFilters(
        methods=frozenset(body.methods),
        channels=frozenset(body.channels),
        ship_by_on=body.ship_by_on,
        undated=body.undated,
        min_priority=body.min_priority,
        single_line=body.single_line,
        max_orders=body.max_orders,
        max_units=body.max_units,
    )
    return created(
        request,
        principal,
        body.model_dump(mode="json"),
        lambda uow: _adapter(service.Wave).dump_python(
            service.build_wave(uow, location=body.location, filters=filters), mode="json"
        ),
    )


@router.get("/waves", response_model=Page[service.Wave], openapi_extra=requires("warehouse:read"))
def list_waves(
    principal: Auth,
    request: Request,
    location: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    page = service.list_waves(
        unit_of_work(request), location=location, status=status, cursor=cursor, limit=limit
    )
    return respond(page, Page[service.Wave])


@router.get("/waves/{ref}", response_model=service.Wave, openapi_extra=requires("warehouse:read"))
def get_wave(ref: str, principal: Auth, request: Request) -> Response:
    return respond(service.get_wave(unit_of_work(request), ref=ref), service.Wave)


@router.get(
    "/waves/{ref}/pick-lists", response_model=list[service.PickList], openapi_extra=requires("warehouse:read")
)
def pick_lists(
    ref: str, principal: Auth, request: Request, pickers: Annotated[int, Query(ge=1, le=50)] = 1
) -> Response:
    """What is left to pick, as stops in walk order (one per bin and SKU, with each order's tote), cut into one
    stretch of the walk per picker."""
    return respond(
        service.pick_lists(unit_of_work(request), ref=ref, pickers=pickers), list[service.PickList]
    )


@router.post(
    "/waves/{ref}/cancel",
    response_model=service.Wave,
    responses=_STATE,
    openapi_extra=requires("fulfillment:write"),
)
def cancel_wave(ref: str, principal: Auth, request: Request) -> Response:
    """Stop a wave: shipments not yet picked wait for another."""
    return respond(service.cancel_wave(unit_of_work(request), ref=ref), service.Wave)


@router.get("/bins", response_model=Page[service.Bin], openapi_extra=requires("warehouse:read"))
def list_bins(
    principal: Auth,
    request: Request,
    location: str,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> Response:
    """A location's bins in walk order."""
    return respond(
        service.list_bins(unit_of_work(request), location=location, cursor=cursor, limit=limit),
        Page[service.Bin],
    )


@router.put(
    "/bins/{location}/{code}", response_model=service.Bin, openapi_extra=requires("fulfillment:write")
)
def put_bin(location: str, code: str, body: BinIn, principal: Auth, request: Request) -> Response:
    return respond(
        service.put_bin(unit_of_work(request), location=location, code=code, **body.model_dump()), service.Bin
    )


@router.put("/bins/{location}/items/{sku}", status_code=204, openapi_extra=requires("fulfillment:write"))
def assign_bin(location: str, sku: str, body: ItemBinIn, principal: Auth, request: Request) -> Response:
    """Make a bin the item's primary pick bin at the location."""
    service.assign_bin(unit_of_work(request), location=location, sku=sku, bin_code=body.bin)
    return Response(status_code=204)


@router.get("/count-tasks", response_model=Page[service.CountTask], openapi_extra=requires("warehouse:read"))
def list_count_tasks(
    principal: Auth,
    request: Request,
    location: str | None = None,
    status: str | None = "open",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    page = service.list_count_tasks(
        unit_of_work(request), location=location, status=status, cursor=cursor, limit=limit
    )
    return respond(page, Page[service.CountTask])


@router.post(
    "/count-tasks/{task_id}/complete",
    response_model=service.CountTask,
    openapi_extra=requires("fulfillment:write"),
)
def complete_count_task(task_id: uuid.UUID, body: CountIn, principal: Auth, request: Request) -> Response:
    """Record the bin's count: on hand becomes the count (a `count` movement), the task is done."""
    return respond(
        service.complete_count_task(unit_of_work(request), task_id=task_id, counted=body.counted),
        service.CountTask,
    )


@router.get(
    "/reports/warehouse-productivity",
    response_model=service.Productivity,
    openapi_extra=requires("warehouse:read"),
)
def warehouse_productivity(
    principal: Auth, request: Request, location: str, start: datetime, end: datetime
) -> Response:
    """Picks, units and orders per hour per picker and packer, order-to-ship time, fill rate and short-pick rate
    at a location between two moments (at most 93 days)."""
    report = service.warehouse_productivity(unit_of_work(request), location=location, start=start, end=end)
    return respond(report, service.Productivity)


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


@router.post(
    "/shipments/{ref}/labels",
    response_model=service.Shipment,
    responses=_STATE,
    openapi_extra=requires("fulfillment:labels"),
)
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


@router.post(
    "/shipments/{ref}/labels/void",
    response_model=service.Shipment,
    responses=_STATE,
    openapi_extra=requires("fulfillment:labels"),
)
def void_labels(ref: str, principal: Auth, request: Request) -> Response:
    """Void the shipment's labels before it leaves (the carrier refunds them)."""
    return respond(service.void_labels(unit_of_work(request), ref=ref), service.Shipment)


_PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}, "description": "a PDF"}}
_KINDS = ("packing-slip", "invoice", "commercial-invoice", "label")


@router.get(
    "/shipments/{ref}/documents/{kind}",
    response_class=Response,
    responses=_PDF,
    openapi_extra=requires("fulfillment:read"),
)
def shipment_document(
    ref: str, kind: str, principal: Auth, request: Request, package: Annotated[int, Query(ge=1, le=50)] = 1
) -> Response:
    """A shipment's document: `packing-slip`, `invoice` (the customer's), `commercial-invoice` (customs, for a
    parcel leaving the country) or a package's `label` (PDF, or ZPL for a thermal printer)."""
    uow = unit_of_work(request)
    own = _own(uow, principal)
    ref = _visible(uow, principal, ref)  # another channel's shipment: 404 before anything else is said
    if kind not in _KINDS:
        raise NotFound(f"no document {kind[:40]!r}: {', '.join(_KINDS)}")
    if kind == "label":
        label_format, content = service.label_of(uow, ref=ref, seq=package, channel=own)
        media = "application/pdf" if label_format == "pdf" else "application/zpl"
        return Response(content, media_type=media, headers=_inline(f"{ref}-{package}.{label_format}"))
    render = {
        "packing-slip": service.packing_slip_pdf,
        "invoice": service.customer_invoice_pdf,
        "commercial-invoice": service.commercial_invoice_pdf,
    }[kind]
    return Response(
        render(uow, ref=ref, channel=own), media_type="application/pdf", headers=_inline(f"{ref}-{kind}.pdf")
    )


def _inline(filename: str) -> dict[str, str]:
    safe = "".join(c for c in filename if c.isascii() and (c.isalnum() or c in "-_.")) or "document"
    return {"Content-Disposition": f'inline; filename="{safe}"', "Cache-Control": "no-store"}


@router.get(
    "/waves/{ref}/pick-lists.pdf",
    response_class=Response,
    responses=_PDF,
    openapi_extra=requires("warehouse:read"),
)
def pick_list_pdf(
    ref: str,
    principal: Auth,
    request: Request,
    pickers: Annotated[int, Query(ge=1, le=50)] = 1,
    picker: Annotated[int, Query(ge=1, le=50)] = 1,
) -> Response:
    """One picker's printable pick list (stops in walk order, each order's tote, barcodes)."""
    content = service.pick_list_pdf(unit_of_work(request), ref=ref, pickers=pickers, picker=picker)
    return Response(content, media_type="application/pdf", headers=_inline(f"{ref}-picker-{picker}.pdf"))


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


# --- drop-ship: the vendor's confirmation of what it shipped straight to the customer ---

_CSV_LIMIT = 2_000_000
_CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string", "maxLength": _CSV_LIMIT}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["csv"],
                    "additionalProperties": False,
                    "properties": {"csv": {"type": "string", "minLength": 1, "maxLength": _CSV_LIMIT}},
                }
            },
        },
    }
}


@router.post(
    "/drop-ship/{ref}/confirm",
    response_model=service.Shipment,
    responses=_STATE,
    openapi_extra=requires("fulfillment:write"),
)
def confirm_drop_ship(ref: str, body: DropShipConfirmIn, principal: Auth, request: Request) -> Response:
    """The vendor shipped the drop-ship shipment `ref` (its number, or its PO's number): the order ships those
    units, the PO confirms them at its cost, the shipment is shipped with the vendor's tracking number. A second
    confirmation is a 409 and changes nothing."""
    shipped = service.confirm_drop_ship(
        unit_of_work(request), ref=ref, tracking=body.tracking, carrier=body.carrier, lines=body.lines
    )
    return respond(shipped, service.Shipment)


@router.post(
    "/drop-ship/confirmations",
    responses={422: {"description": "a bad row: `errors[].field` is `rows.<row>.<column>` (header = row 1)"}},
    openapi_extra={**requires("fulfillment:write"), **_CSV_BODY},
)
async def import_drop_ship_confirmations(principal: Auth, request: Request) -> Response:
    """A vendor's CSV (`text/csv`, or JSON `{"csv": "..."}`): columns `po_number` or `shipment`, `tracking`,
    `carrier`, optional `line` and `quantity`. Every row is checked first; then all apply, or none. Answers
    `{"rows", "shipments", "units"}`."""
    raw = await request.body()
    if len(raw) > _CSV_LIMIT + 100:
        raise ValidationFailed.on("csv", f"at most {_CSV_LIMIT} bytes")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json":
        try:
            text = DropShipCsvIn.model_validate_json(raw).csv
        except PydanticValidationError:
            raise ValidationFailed.on("csv", 'a JSON body is {"csv": "<the CSV text>"}') from None
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed.on("csv", "UTF-8 text") from None
    uow = unit_of_work(request)
    counts = await anyio.to_thread.run_sync(
        lambda: service.import_drop_ship_confirmations(uow, csv_text=text)
    )
    return Response(json.dumps(counts), media_type="application/json")


@router.get("/drop-ship", response_model=Page[service.DropShip], openapi_extra=requires("warehouse:read"))
def list_drop_ships(
    principal: Auth,
    request: Request,
    vendor: Annotated[str | None, Query(max_length=40)] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """Open drop-ship shipments (waiting on their vendor), newest first, with their PO, ship-to and open lines;
    `vendor` (its code) keeps one vendor's."""
    page = service.list_drop_ships(unit_of_work(request), vendor=vendor, cursor=cursor, limit=limit)
    return respond(page, Page[service.DropShip])
