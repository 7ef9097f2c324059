"""Customer API models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from ordersmith.platform.schemas import CustomValues, Input, MoneyIn, MoneyOut, Output

Country = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")]


class AddressIn(Input):
    kind: Literal["bill_to", "ship_to"]
    name: Annotated[str, Field(max_length=200)] = ""
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str, Field(max_length=200)] = ""
    city: Annotated[str, Field(min_length=1, max_length=100)]
    region: Annotated[str, Field(max_length=100)] = ""
    postal_code: Annotated[str, Field(max_length=20)] = ""
    country: Country
    is_default: bool = False


class PhoneIn(Input):
    number: Annotated[str, Field(min_length=3, max_length=40, description="any format; stored as E.164")]
    label: Annotated[str, Field(max_length=20)] = ""


class CustomerFields(Input):
    kind: Literal["consumer", "business"] = "consumer"
    first_name: Annotated[str, Field(max_length=100)] = ""
    last_name: Annotated[str, Field(max_length=100)] = ""
    company: Annotated[str, Field(max_length=200)] = ""
    status: Literal["prospect", "buyer"] = "prospect"
    customer_group: Annotated[str, Field(min_length=1, max_length=40)] = "retail"
    default_country: Country = "US"
    emails: Annotated[list[Annotated[str, Field(max_length=320)]], Field(max_length=10)] = []
    phones: Annotated[list[PhoneIn], Field(max_length=10)] = []
    addresses: Annotated[list[AddressIn], Field(max_length=50)] = []
    tax_exempt: bool = False
    tax_certificate: Annotated[str, Field(max_length=60)] = ""
    tax_exempt_until: date | None = None
    credit_limit: MoneyIn | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    payment_terms: Annotated[str, Field(max_length=40)] = ""
    do_not_mail: bool = False
    do_not_email: bool = False
    do_not_call: bool = False
    tags: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=50)] = []


class CustomerIn(CustomerFields):
    source_code: Annotated[str, Field(max_length=40)] = ""
    custom_fields: CustomValues = {}


class CustomerPatch(Input):
    """Only the fields sent change (send `If-Match` with the ETag you read)."""

    kind: Literal["consumer", "business"] | None = None
    first_name: Annotated[str, Field(max_length=100)] | None = None
    last_name: Annotated[str, Field(max_length=100)] | None = None
    company: Annotated[str, Field(max_length=200)] | None = None
    status: Literal["prospect", "buyer"] | None = None
    customer_group: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    default_country: Country | None = None
    emails: Annotated[list[Annotated[str, Field(max_length=320)]], Field(max_length=10)] | None = None
    phones: Annotated[list[PhoneIn], Field(max_length=10)] | None = None
    addresses: Annotated[list[AddressIn], Field(max_length=50)] | None = None
    tax_exempt: bool | None = None
    tax_certificate: Annotated[str, Field(max_length=60)] | None = None
    tax_exempt_until: date | None = None
    credit_limit: MoneyIn | None = None
    payment_terms: Annotated[str, Field(max_length=40)] | None = None
    do_not_mail: bool | None = None
    do_not_email: bool | None = None
    do_not_call: bool | None = None
    tags: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=50)] | None = None
    custom_fields: CustomValues | None = Field(
        default=None, description="the values sent change, null clears one"
    )


class AddressOut(Output):
    id: uuid.UUID | None
    kind: str
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    is_default: bool


class PhoneOut(Output):
    number: str
    label: str


class CustomerOut(Output):
    id: uuid.UUID
    number: str
    kind: str
    first_name: str
    last_name: str
    company: str
    display_name: str
    status: str
    customer_group: str
    default_country: str
    emails: list[str]
    phones: list[PhoneOut]
    addresses: list[AddressOut]
    tax_exempt: bool
    tax_certificate: str
    tax_exempt_until: date | None
    credit_limit: MoneyOut | None
    currency: str
    payment_terms: str
    do_not_mail: bool
    do_not_email: bool
    do_not_call: bool
    tags: list[str]
    created_channel: str
    source_code: str
    last_source_code: str
    anonymized_at: datetime | None
    custom_fields: dict[str, Any] = Field(
        default={}, description="the customer's custom field values, by name"
    )
    created_at: datetime
    updated_at: datetime
    version: int


class SearchHitOut(Output):
    id: uuid.UUID
    number: str
    display_name: str
    email: str | None
    phone: str | None
    postal_code: str | None
    matched: list[str]
    score: float


class NoteIn(Input):
    body: Annotated[str, Field(min_length=1, max_length=10_000)]
    kind: Literal["note", "call", "email"] = "note"
    channel: Annotated[str, Field(max_length=60)] = ""


class TimelineEntryOut(Output):
    id: uuid.UUID
    kind: str
    body: str
    channel: str
    actor: str
    data: dict[str, Any] | None
    at: datetime


class DuplicateOut(Output):
    number: str
    display_name: str
    reasons: list[str]


class MergeIn(Input):
    merged: Annotated[str, Field(min_length=1, max_length=40, description="the duplicate's number or id")]


class AnonymizeIn(Input):
    reason: Annotated[
        str, Field(min_length=1, max_length=500, description="e.g. the erasure request's reference")
    ]
