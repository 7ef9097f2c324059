"""Marketing API models: campaigns with their drops, source codes with their offers, channels' code policies, the
results per key code, how a currency's buyers are RFM-scored and a customer's stored purchase facts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.platform.schemas import CurrencyCode, Input, MoneyAmount, MoneyIn, MoneyOut, Output

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


# --- RFM scoring and a customer's stored purchase facts (ADR 0037) -------------------------------------------------

# Days or orders: bounded like every integer a request may send (a 32-bit column's range).
Cutoff = Annotated[list[Annotated[int, Field(ge=0, le=2_147_483_647)]], Field(min_length=4, max_length=4)]


class CutoffsIn(Input):
    """Four increasing cut-offs a measure: a customer scores 1 plus how many of them they reach."""

    recency_days: Annotated[Cutoff, Field(examples=[[30, 90, 180, 365]])]
    frequency_orders: Annotated[Cutoff, Field(examples=[[2, 3, 5, 10]])]
    monetary: Annotated[
        list[MoneyAmount],
        Field(min_length=4, max_length=4, examples=[["50.00", "100.00", "250.00", "500.00"]]),
    ]  # in the path's currency


class RfmScoringIn(Input):
    method: Literal["quintiles", "cutoffs"]
    cutoffs: CutoffsIn | None = None


class CutoffsOut(Output):
    recency_days: list[int]
    frequency_orders: list[int]
    monetary: list[MoneyOut]


class RfmScoringOut(Output):
    currency: str
    method: str
    cutoffs: CutoffsOut | None
    scored_customers: int  # buyers the last scoring run scored
    scored_at: datetime | None  # the last scoring run; None before the first
    version: int  # 0 until somebody sets a method or a run scores the currency


class CurrencyFactsOut(Output):
    currency: str
    first_order_at: datetime
    last_order_at: datetime
    orders: int
    spent: MoneyOut  # goods charged: merchandise + surcharges - discounts
    returned: MoneyOut  # the share of that returned units carry
    lifetime_value: MoneyOut  # spent - returned
    recency: int | None  # scores 1-5; None before the currency's first scoring run
    frequency: int | None
    monetary: int | None
    cell: str | None  # "RFM", e.g. "543"
    updated_at: datetime  # when the relay last recomputed these figures


class PurchaseFactsOut(Output):
    customer_number: str
    orders: int  # not cancelled, any currency, exchanges too
    last_order_at: datetime | None
    divisions: list[str]
    styles: int
    categories: list[str] = Field(
        description="the merchandise categories of what they bought (not those above)"
    )
    currencies: list[CurrencyFactsOut]
