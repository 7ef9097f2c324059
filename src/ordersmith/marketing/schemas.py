"""Marketing API models: campaigns with their drops, source codes with their offers, channels' code policies and
the results per key code."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.platform.schemas import CurrencyCode, Input, MoneyIn, MoneyOut, Output

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", examples=["F26A1"])]
Kind = Literal["catalog", "email", "web", "space_ad", "marketplace"]
Quantity = Annotated[int, Field(ge=0, le=1_000_000_000)]  # a billion pieces; fits any integer column
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]


class DropIn(Input):
    code: Code
    in_home_on: date
    quantity_mailed: Quantity
    cost_per_piece: MoneyIn
    creative: Annotated[str, Field(max_length=80)] = ""


class CampaignIn(Input):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Kind
    currency: CurrencyCode = "USD"
    notes: Annotated[str, Field(max_length=2000)] = ""
    drops: Annotated[list[DropIn], Field(max_length=200)] = []


class DropsIn(Input):
    drops: Annotated[list[DropIn], Field(min_length=1, max_length=200)]


class CampaignPatch(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None
    active: bool | None = None


class DropOut(Output):
    code: str
    in_home_on: date
    quantity_mailed: int
    cost_per_piece: MoneyOut
    creative: str
    cost: MoneyOut


class CampaignOut(Output):
    code: str
    name: str
    kind: str
    currency: str
    notes: str
    active: bool
    version: int
    drops: list[DropOut]


class SourceCodeIn(Input):
    code: Code
    campaign: Code
    drop: Code
    segment: Annotated[str, Field(min_length=1, max_length=80)]
    quantity_mailed: Quantity = 0
    price_list: Code | None = None
    promotions: Annotated[list[Code], Field(max_length=20)] = []
    starts_on: date | None = None
    ends_on: date | None = None
    expected_response_pct: Percent = Decimal(0)


class SourceCodePatch(Input):
    ends_on: date | None = None
    open_ended: bool = False
    active: bool | None = None
    expected_response_pct: Percent | None = None


class SourceCodeOut(Output):
    code: str
    campaign: str
    drop: str
    in_home_on: date
    segment: str
    quantity_mailed: int
    price_list: str | None
    promotions: list[str]
    starts_on: date
    ends_on: date | None
    expected_response_pct: Decimal
    active: bool
    version: int


class ChannelPolicyIn(Input):
    on_unknown: Literal["refuse", "default"]
    default_code: Code | None = None


class ChannelPolicyOut(Output):
    channel: str
    on_unknown: str
    default_code: str | None
