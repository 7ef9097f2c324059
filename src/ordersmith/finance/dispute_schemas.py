"""API models of card disputes and of captures and refunds awaiting a settlement (ADR 0040)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.platform.schemas import Input, MoneyAmount, MoneyIn, MoneyOut, Output


class DisputeOut(Output):
    id: uuid.UUID
    number: str = Field(examples=["DP-000001"])
    processor: str = Field(description="the gateway the disputed capture went through")
    reference: str = Field(description="the processor's dispute id")
    capture_reference: str = Field(description="the charge or transaction the dispute is against")
    transaction_id: uuid.UUID | None = Field(description="our capture it disputes (null: none found)")
    order_id: uuid.UUID | None
    payment_id: uuid.UUID | None
    method: str
    amount: MoneyOut
    fee: MoneyOut = Field(description="the processor's dispute fee")
    fee_returned: MoneyOut = Field(description="the part of the fee the processor gave back (a won dispute)")
    reason: str
    source: Literal["webhook", "settlement", "manual"]
    status: Literal["open", "won", "lost"]
    opened_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    note: str
    version: int


class DisputeIn(Input):
    processor: Literal["stripe", "authorizenet", "sandbox"] = Field(
        description="the gateway the disputed charge went through"
    )
    reference: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")] = Field(
        description="the processor's dispute id (e.g. Stripe's dp_…)"
    )
    capture_reference: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")] = (
        Field(description="the disputed charge or transaction, as the processor names it")
    )
    amount: MoneyIn = Field(description="what the processor took back")
    fee: MoneyAmount = Field(
        default="0.00", description="the processor's dispute fee, in the amount's currency"
    )
    reason: Annotated[str, Field(max_length=100, pattern=r"^[^\x00-\x1f]*$")] = ""


class DisputeOutcomeIn(Input):
    outcome: Literal["won", "lost"] = Field(
        description="won: the processor put the amount back; lost: the amount is a loss"
    )
    fee_returned: MoneyAmount | None = Field(
        default=None,
        description="a won dispute: the part of the fee the processor gave back, in its currency",
    )
    note: Annotated[str, Field(max_length=500)] = ""


class UnsettledOut(Output):
    transaction_id: uuid.UUID
    kind: Literal["capture", "refund"]
    order_id: uuid.UUID
    payment_id: uuid.UUID
    processor: str
    reference: str = Field(description="what the processor's settlement names it by")
    amount: MoneyOut
    at: datetime
    days: int = Field(description="whole days since it happened")
    flagged_on: date | None = Field(description="the day the daily job flagged it (null: not yet)")
