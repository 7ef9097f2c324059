"""Continuity API models: programs, subscriptions with their shipments, and the member's actions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.orders.schemas import AddressIn
from ordersmith.platform.schemas import Input, MoneyOut, Output

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", examples=["COFFEE4W"])]
Kind = Literal["replenish", "series"]
Status = Literal["active", "paused", "suspended", "cancelled", "completed"]
Token = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class ProgramItemIn(Input):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=1000)] = 1


class ProgramIn(Input):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Kind
    items: Annotated[list[ProgramItemIn], Field(min_length=1, max_length=100)]
    interval_weeks: Annotated[int, Field(ge=1, le=52)]
    max_shipments: Annotated[int | None, Field(ge=1, le=1000)] = None
    source_code: Code | None = None
    terms: Annotated[str, Field(min_length=1, max_length=4000)]


class ProgramPatch(Input):
    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    terms: Annotated[str | None, Field(min_length=1, max_length=4000)] = None
    active: bool | None = None


class ProgramItemOut(Output):
    sku: str
    quantity: int


class ProgramOut(Output):
    code: str
    name: str
    kind: str
    items: list[ProgramItemOut]
    interval_weeks: int
    max_shipments: int | None
    source_code: str | None
    terms: str
    terms_version: int
    active: bool
    version: int
    created_at: datetime


class SubscriptionShipToIn(AddressIn):
    method: Annotated[str, Field(min_length=1, max_length=40)]


class SubscriptionIn(Input):
    program: Code
    customer: Annotated[str, Field(min_length=1, max_length=40)]  # id or number
    channel: Annotated[str | None, Field(min_length=1, max_length=40)] = (
        None  # staff name it; a key is its own
    )
    ship_to: SubscriptionShipToIn
    card_token: Token
    quantity: Annotated[int, Field(ge=1, le=1000)] = 1
    starts_on: date | None = None
    accepted_terms: bool  # the customer saw the program's terms and accepted them
    terms_version: Annotated[int, Field(ge=1, le=1_000_000)]  # the version shown to the customer


class PauseIn(Input):
    until: date | None = None


class ResumeIn(Input):
    next_shipment_on: date | None = None


class CancelIn(Input):
    reason: Annotated[str, Field(max_length=400)] = ""


class CardIn(Input):
    card_token: Token


class SubscriptionPatch(Input):
    ship_to: SubscriptionShipToIn | None = None
    quantity: Annotated[int | None, Field(ge=1, le=1000)] = None


class CardOut(Output):
    brand: str
    last_four: str
    exp_month: int
    exp_year: int


class ShipmentOut(Output):
    cycle: int
    due_on: date
    order_id: uuid.UUID
    order_number: str
    total: MoneyOut
    attempts: int
    placed_at: datetime


class SubscriptionOut(Output):
    id: uuid.UUID
    number: str
    program: str
    program_name: str
    customer_id: uuid.UUID
    customer_number: str
    channel: str
    ship_to: dict[str, str]
    quantity: int
    card: CardOut
    status: str
    next_shipment: int
    next_shipment_on: date | None
    next_attempt_on: date | None
    past_due: bool
    failed_attempts: int
    last_failure: str | None
    last_order_number: str | None
    terms_version: int
    terms_digest: str
    terms_accepted_at: datetime
    signed_up_by: str
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    version: int
    shipments: list[ShipmentOut]
