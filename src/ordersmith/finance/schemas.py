"""Finance API models: accounts, mapping rules, journal entries, periods and the trial balance."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.platform.schemas import CurrencyCode, Input, MoneyAmount, MoneyOut, Output

AccountCode = Annotated[
    str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9._-]+$", examples=["4010"])
]
AccountType = Literal["asset", "liability", "equity", "revenue", "expense"]
PeriodCode = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-11"])]


class AccountIn(Input):
    code: AccountCode
    name: Annotated[str, Field(min_length=1, max_length=200)]
    type: AccountType


class AccountPatch(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    active: bool | None = None


class AccountOut(Output):
    code: str
    name: str
    type: AccountType
    active: bool
    version: int


class MappingIn(Input):
    kind: Literal["tender", "revenue", "tax", "role"]
    key: Annotated[str, Field(min_length=1, max_length=60)]
    account_code: AccountCode


class MappingOut(Output):
    kind: str
    key: str
    account_code: str


class LineIn(Input):
    account_code: AccountCode
    debit: MoneyAmount | None = None
    credit: MoneyAmount | None = None
    memo: Annotated[str, Field(max_length=200)] = ""


class EntryIn(Input):
    posted_on: date
    currency: CurrencyCode
    memo: Annotated[str, Field(min_length=1, max_length=500)]
    reference: Annotated[str, Field(max_length=80)] = ""
    lines: Annotated[list[LineIn], Field(min_length=2, max_length=500)]


class ReverseIn(Input):
    posted_on: date
    memo: Annotated[str, Field(max_length=500)] = ""


class LineOut(Output):
    line_no: int
    account_code: str
    debit: MoneyOut
    credit: MoneyOut
    memo: str


class EntryOut(Output):
    id: uuid.UUID
    posted_on: date
    period: str
    currency: str
    rule: str
    source_event_id: uuid.UUID | None
    source_type: str
    reference: str
    memo: str
    note: str
    reverses_id: uuid.UUID | None
    created_by: str
    created_at: datetime
    lines: list[LineOut]


class PeriodOut(Output):
    code: str
    starts_on: date
    ends_on: date
    status: Literal["open", "closed"]
    closed_by: str | None
    closed_at: datetime | None


class TrialBalanceRowOut(Output):
    account_code: str
    name: str
    type: AccountType
    currency: str
    debit: MoneyOut
    credit: MoneyOut
    balance: MoneyOut


class TrialBalanceOut(Output):
    period: str
    balanced: bool
    rows: list[TrialBalanceRowOut]
