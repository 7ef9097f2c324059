"""Drop-ship: the vendor's confirmation of what it shipped straight to the customer (one call, or a CSV of many,
all or nothing), and what waits on vendors (staff only: a channel key cannot hold these scopes)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError as PydanticValidationError

from ordersmith.fulfillment import service
from ordersmith.fulfillment.routes._common import Auth, respond, shipment_action
from ordersmith.fulfillment.schemas import (
    DropShipConfirmIn,
    DropShipCsvIn,
)
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.pagination import Page
from ordersmith.platform.http import requires, unit_of_work

router = APIRouter()

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


@shipment_action(router, "/drop-ship/{ref}/confirm", "fulfillment:write")
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
