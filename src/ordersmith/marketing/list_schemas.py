"""API models of segments, list pulls (extractions), mail-hygiene flags, mail files and matchback. A segment's rules
are a JSON tree checked by `marketing.lists.validate_tree` (the errors name the part: `rules.all.0.field`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from ordersmith.marketing.schemas import Code
from ordersmith.platform.schemas import CurrencyCode, Input, MoneyOut, Output

Name = Annotated[str, Field(min_length=1, max_length=200)]
Line = Annotated[str, Field(max_length=200)]
Postal = Annotated[str, Field(max_length=20)]
Country = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]


class SegmentIn(Input):
    code: Code
    name: Name
    currency: CurrencyCode = "USD"
    rules: dict[str, Any]


class SegmentPatch(Input):
    name: Name | None = None
    currency: CurrencyCode | None = None
    rules: dict[str, Any] | None = None


class SegmentOut(Output):
    code: str
    name: str
    currency: str
    rules: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


class DefinitionIn(Input):
    """An unsaved definition to count while it is edited."""

    currency: CurrencyCode = "USD"
    rules: dict[str, Any]


class CountOut(Output):
    customers: int


class MailFlagsIn(Input):
    deceased: bool | None = None
    undeliverable: bool | None = None


class MailFlagsOut(Output):
    customer_number: str
    deceased: bool
    undeliverable: bool


class SuppressionIn(Input):
    name: Annotated[str, Field(max_length=200)] = ""
    line1: Line = ""
    postal_code: Postal = ""
    country: Annotated[str, Field(max_length=2)] = ""
    email: Annotated[str, Field(max_length=320)] = ""


class SuppressIn(Input):
    do_not_mail: bool = True
    recent_buyers_days: Annotated[int, Field(ge=1, le=36_500)] | None = None
    file: Annotated[list[SuppressionIn], Field(max_length=100_000)] = []


class CellIn(Input):
    key_code: Code
    percent: Annotated[Decimal, Field(gt=0, le=100, max_digits=7, decimal_places=4)]


class ExtractionIn(Input):
    segment: Code
    cells: Annotated[list[CellIn], Field(min_length=1, max_length=50)]
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    households: bool = True
    suppress: SuppressIn = SuppressIn()


class StepOut(Output):
    step: str
    removed: int
    remaining: int


class CellOut(Output):
    key_code: str
    percent: str
    count: int


class ExtractionOut(Output):
    id: uuid.UUID | None
    segment: str
    funnel: list[StepOut]
    cells: list[CellOut]
    names: int
    created_at: datetime


class MailedNameIn(Input):
    key_code: Code
    customer_number: Annotated[str, Field(max_length=20)] = ""
    name: Annotated[str, Field(max_length=300)] = ""
    line1: Line
    postal_code: Postal
    country: Country


class MailFileIn(Input):
    code: Code
    in_home_on: date
    window_days: Annotated[int, Field(ge=1, le=366)] = 90
    currency: CurrencyCode = "USD"
    extraction: uuid.UUID | None = None  # a pull, as exported, is the file sent …
    names: Annotated[
        list[MailedNameIn], Field(max_length=2_000_000)
    ] = []  # … or the names and addresses given


class MailFileOut(Output):
    code: str
    in_home_on: date
    window_days: int
    currency: str
    names: int
    matched_at: datetime | None


class MatchbackOut(Output):
    mail_file: str
    looked_at: int
    by_customer: int
    by_address: int


class KeyCodeResultOut(Output):
    key_code: str
    mailed: int
    keyed_orders: int
    keyed_demand: MoneyOut
    matched_orders: int
    matched_demand: MoneyOut
    response_pct: str
