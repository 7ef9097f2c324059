"""Inventory API: locations, stock adjustments, availability and reservations."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from ordersmith.inventory import service
from ordersmith.inventory.schemas import (
    AdjustmentIn,
    AvailabilityOut,
    CountIn,
    CountLineOut,
    DiscrepancyOut,
    LevelSettingsIn,
    LocationIn,
    LocationOut,
    ReservationIn,
    ReservationOut,
    TransferIn,
)
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import authorize, created, requires, unit_of_work

router = APIRouter(tags=["inventory"])
Auth = Annotated[Principal, Depends(authorize)]


@router.post(
    "/locations", status_code=201, response_model=LocationOut, openapi_extra=requires("inventory:write")
)
def create_location(body: LocationIn, principal: Auth, request: Request) -> Response:
    def execute(uow: UnitOfWork) -> LocationOut:
        return LocationOut.model_validate(service.create_location(uow, **body.model_dump()))

    return created(request, principal, body.model_dump(), execute)


@router.get("/locations", response_model=list[LocationOut], openapi_extra=requires("inventory:read"))
def list_locations(principal: Auth, request: Request) -> list[LocationOut]:
    return [LocationOut.model_validate(loc) for loc in service.list_locations(unit_of_work(request))]


@router.post("/stock/adjustments", status_code=201, response_model=AvailabilityOut,
             openapi_extra=requires("inventory:write"))  # fmt: skip
def adjust_stock(body: AdjustmentIn, principal: Auth, request: Request) -> Response:
    """Add or remove units at a location. Taking on-hand below zero or below what is reserved is 409."""

    def execute(uow: UnitOfWork) -> AvailabilityOut:
        return AvailabilityOut.model_validate(service.adjust_stock(uow, **body.model_dump()))

    return created(request, principal, body.model_dump(), execute)


@router.post("/stock/transfers", status_code=201, response_model=AvailabilityOut,
             openapi_extra=requires("inventory:write"))  # fmt: skip
def transfer_stock(body: TransferIn, principal: Auth, request: Request) -> Response:
    """Move free units from one location to another (409 `insufficient_stock` when the source lacks them)."""

    def execute(uow: UnitOfWork) -> AvailabilityOut:
        return AvailabilityOut.model_validate(service.transfer_stock(uow, **body.model_dump()))

    return created(request, principal, body.model_dump(), execute)


@router.post("/stock/counts", status_code=201, response_model=list[CountLineOut],
             openapi_extra=requires("inventory:write"))  # fmt: skip
def record_count(body: CountIn, principal: Auth, request: Request) -> Response:
    """Apply a count sheet for one location: on-hand becomes the count, the variance is a `count` movement."""
    if len({line.sku.upper() for line in body.lines}) != len(body.lines):
        raise ValidationFailed.on("lines", "each SKU may appear once on a count sheet")

    def execute(uow: UnitOfWork) -> list[CountLineOut]:
        counts = {line.sku: line.counted for line in body.lines}
        lines = service.record_count(uow, location=body.location, counts=counts, reference=body.reference)
        return [CountLineOut.model_validate(line) for line in lines]

    return created(request, principal, body.model_dump(), execute)


@router.put("/stock/levels/{sku}/{location}", response_model=AvailabilityOut,
            openapi_extra=requires("inventory:write"))  # fmt: skip
def configure_level(
    sku: str, location: str, body: LevelSettingsIn, principal: Auth, request: Request
) -> AvailabilityOut:
    """Set the level's safety stock and its division pools on a shared location: a ring-fence keeps units for one
    division, a buffer keeps units away from one. Replaces the pools given before (an empty list removes them)."""
    pools = [service.PoolSetting(p.division, p.ring_fence, p.buffer) for p in body.pools]
    return AvailabilityOut.model_validate(service.configure_level(
        unit_of_work(request), sku=sku, location=location, safety_stock=body.safety_stock, pools=pools))  # fmt: skip


@router.get("/availability/{sku}", response_model=AvailabilityOut, openapi_extra=requires("inventory:read"))
def availability(sku: str, principal: Auth, request: Request, division: str | None = None) -> AvailabilityOut:
    return AvailabilityOut.model_validate(
        service.get_availability(unit_of_work(request), sku=sku, division=division)
    )


@router.post("/reservations", status_code=201, response_model=ReservationOut,
             openapi_extra=requires("reservations:write"),
             responses={409: {"description": "insufficient_stock, with `available`"}})  # fmt: skip
def reserve(body: ReservationIn, principal: Auth, request: Request) -> Response:
    """Hold units for a division; all or nothing. Repeating the same key returns the same reservation."""
    expires = timedelta(seconds=body.expires_in_s) if body.expires_in_s else None
    return created(request, principal, body.model_dump(), lambda uow: ReservationOut.model_validate(
        service.reserve(uow, key=body.key, sku=body.sku, quantity=body.quantity, division=body.division,
                        expires_in=expires)))  # fmt: skip


@router.get("/reservations/{key}", response_model=ReservationOut, openapi_extra=requires("inventory:read"))
def get_reservation(key: str, principal: Auth, request: Request) -> ReservationOut:
    return ReservationOut.model_validate(service.get_reservation(unit_of_work(request), key=key))


@router.post("/reservations/{key}/release", response_model=ReservationOut,
             openapi_extra=requires("reservations:write"))  # fmt: skip
def release(key: str, principal: Auth, request: Request) -> ReservationOut:
    return ReservationOut.model_validate(service.release(unit_of_work(request), key=key))


@router.post("/reservations/{key}/consume", response_model=ReservationOut,
             openapi_extra=requires("reservations:write"))  # fmt: skip
def consume(key: str, principal: Auth, request: Request) -> ReservationOut:
    return ReservationOut.model_validate(service.consume(unit_of_work(request), key=key))


@router.get("/stock/verify", response_model=list[DiscrepancyOut], openapi_extra=requires("inventory:read"))
def verify(principal: Auth, request: Request) -> list[DiscrepancyOut]:
    """Stock levels whose figures differ from the ledger (an empty list when all is well)."""
    return [DiscrepancyOut.model_validate(d) for d in service.verify(unit_of_work(request))]
