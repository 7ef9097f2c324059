"""Waves and their pick lists, bins, count tasks and the warehouse's productivity (the warehouse's own:
`warehouse:read`, which a channel key cannot hold)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ordersmith.fulfillment import service
from ordersmith.fulfillment.routes._common import STATE, Auth, adapter, respond
from ordersmith.fulfillment.schemas import (
    BinIn,
    CountIn,
    ItemBinIn,
    WaveIn,
)
from ordersmith.kernel.pagination import Page
from ordersmith.platform.http import created, requires, unit_of_work

router = APIRouter()


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
        lambda uow: adapter(service.Wave).dump_python(
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
    responses=STATE,
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
