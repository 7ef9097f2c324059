"""Inventory API models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.platform.schemas import Input, Output

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")]
# `damage` is the former spelling of `damaged`, accepted on input and stored as `damaged` (README "Reason codes").
Reason = Literal["adjustment", "receipt", "count", "damaged", "damage", "return", "transfer", "shrinkage"]


class LocationIn(Input):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["warehouse", "store"]
    division: Annotated[str | None, Field(max_length=40)] = None
    priority: Annotated[int, Field(ge=0, le=10_000)] = 100


class LocationOut(Output):
    id: uuid.UUID
    code: str
    name: str
    kind: str
    division: str | None
    priority: int
    active: bool


class AdjustmentIn(Input):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    location: Code
    quantity: Annotated[
        int, Field(ge=-1_000_000, le=1_000_000, description="units to add (or remove, negative)")
    ]
    reason: Reason = "adjustment"
    reference: Annotated[str, Field(max_length=200)] = ""


class PoolOut(Output):
    division: str
    ring_fence: int
    buffer: int
    reserved: int = Field(description="units this division holds reserved at the location")


class LocationStockOut(Output):
    location: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    pools: list[PoolOut]


class PoolIn(Input):
    division: Annotated[str, Field(min_length=1, max_length=40)]
    ring_fence: Annotated[int, Field(ge=0, le=10_000_000, description="units kept for this division")] = 0
    buffer: Annotated[int, Field(ge=0, le=10_000_000, description="units kept away from this division")] = 0


class LevelSettingsIn(Input):
    safety_stock: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    pools: Annotated[list[PoolIn], Field(max_length=50)] = []


class AvailabilityOut(Output):
    sku: str
    division: str | None
    on_hand: int
    reserved: int
    available: int
    locations: list[LocationStockOut]


class ReservationIn(Input):
    key: Annotated[
        str, Field(min_length=1, max_length=200, description="your id for this hold; retries reuse it")
    ]
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(gt=0, le=1_000_000)]
    division: Annotated[str | None, Field(max_length=40)] = None
    expires_in_s: Annotated[int | None, Field(gt=0, le=30 * 24 * 3600)] = None


class ReservationLineOut(Output):
    location: str
    quantity: int
    sku: str


class ReservationOut(Output):
    key: str
    sku: str
    quantity: int
    division: str | None
    status: str
    expires_at: datetime | None
    created_at: datetime
    lines: list[ReservationLineOut]


class DiscrepancyOut(Output):
    sku: str
    location: str
    field: str
    recorded: int
    expected: int


class TransferIn(Input):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    from_location: Code
    to_location: Code
    quantity: Annotated[int, Field(gt=0, le=1_000_000)]
    reference: Annotated[str, Field(max_length=200)] = ""


class CountLineIn(Input):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    counted: Annotated[int, Field(ge=0, le=10_000_000)]


class CountIn(Input):
    location: Code
    lines: Annotated[list[CountLineIn], Field(min_length=1, max_length=10_000)]
    reference: Annotated[str, Field(max_length=200)] = ""


class CountLineOut(Output):
    sku: str
    counted: int
    on_hand_before: int
    variance: int
