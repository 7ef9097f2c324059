"""Purchasing API models. Money crosses the API as `{amount: "4.20", currency: "USD"}`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.platform.schemas import Input, MoneyIn, MoneyOut, Output

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")]
Sku = Annotated[str, Field(min_length=1, max_length=64)]
Quantity = Annotated[int, Field(gt=0, le=10_000_000)]


class VendorIn(Input):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    terms: Annotated[str, Field(min_length=1, max_length=40, examples=["NET30"])] = "NET30"
    lead_time_days: Annotated[int, Field(ge=0, le=365)] = 14
    over_receipt_pct: Annotated[
        int, Field(ge=0, le=100, description="receiving tolerance, % of each line")
    ] = 0
    contact_name: Annotated[str, Field(max_length=200)] = ""
    email: Annotated[str, Field(max_length=320, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")] = ""
    phone: Annotated[str, Field(max_length=40)] = ""


class VendorOut(Output):
    id: uuid.UUID
    code: str
    name: str
    currency: str
    terms: str
    lead_time_days: int
    over_receipt_pct: int
    contact_name: str
    email: str
    phone: str
    active: bool


class VendorItemIn(Input):
    sku: Sku
    vendor_sku: Annotated[str, Field(min_length=1, max_length=64)]
    cost: MoneyIn
    min_order_qty: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    pack_size: Annotated[int, Field(ge=1, le=100_000)] = 1
    preferred: bool = Field(
        default=False, description="make this vendor the item's default for replenishment"
    )
    lead_time_days: Annotated[int, Field(ge=0, le=365)] | None = Field(
        default=None, description="days from order to arrival for this item (default: the vendor's lead time)"
    )


class VendorItemOut(Output):
    vendor: str
    sku: str
    vendor_sku: str
    cost: MoneyOut
    min_order_qty: int
    pack_size: int
    preferred: bool
    lead_time_days: int | None = None


class PurchaseOrderLineIn(Input):
    sku: Sku
    quantity: Quantity
    unit_cost: MoneyIn | None = Field(default=None, description="default: the vendor's listed cost")
    expected_on: date | None = Field(default=None, description="default: today plus the vendor's lead time")


class PurchaseOrderIn(Input):
    vendor: Code
    location: Code
    lines: Annotated[list[PurchaseOrderLineIn], Field(min_length=1, max_length=2_000)]
    notes: Annotated[str, Field(max_length=2_000)] = ""


class PurchaseOrderLineOut(Output):
    line: int
    sku: str
    vendor_sku: str
    ordered: int
    received: int
    cancelled: int
    open: int
    unit_cost: MoneyOut
    line_total: MoneyOut
    expected_on: date | None
    sales_line: int | None = None


class PurchaseOrderOut(Output):
    id: uuid.UUID
    number: str
    vendor: str
    location: str
    status: str
    currency: str
    notes: str
    total: MoneyOut
    created_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    sent_at: datetime | None
    ended_at: datetime | None
    version: int
    lines: list[PurchaseOrderLineOut]
    kind: str = "stock"
    ship_to: dict[str, str] | None = None
    sales_order: str | None = None
    source_reference: str | None = None


class ReceiptLineIn(Input):
    sku: Sku
    quantity: Quantity
    line: Annotated[
        int | None, Field(ge=1, le=100_000, description="the PO line, when the SKU is on several")
    ] = None


class ReceiptIn(Input):
    lines: Annotated[list[ReceiptLineIn], Field(min_length=1, max_length=2_000)]
    location: Code | None = Field(default=None, description="default: the PO's ship-to location")
    reference: Annotated[str, Field(max_length=200, description="packing slip, ASN …")] = ""


class CancelIn(Input):
    reason: Annotated[str, Field(max_length=500)] = ""


class ReplenishmentRuleIn(Input):
    method: Literal["min_max", "reorder_point"]
    min_qty: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    max_qty: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    reorder_qty: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    vendor: Code | None = None


class ReplenishmentRuleOut(Output):
    sku: str
    location: str
    method: str
    min_qty: int
    max_qty: int
    reorder_qty: int
    vendor: str | None


class SuggestionOut(Output):
    sku: str
    location: str
    vendor: str | None
    quantity: int
    unit_cost: MoneyOut | None
    on_hand: int
    reserved: int
    on_order: int
    projected: int
    trigger: int
    explanation: str


class ChosenSuggestionIn(Input):
    sku: Sku
    location: Code
    quantity: Annotated[int | None, Field(ge=1, le=1_000_000)] = Field(
        default=None, description="the units to order (default: the suggested quantity)"
    )


class OrderSuggestionsIn(Input):
    location: Code | None = None
    vendor: Code | None = None
    lines: Annotated[list[ChosenSuggestionIn] | None, Field(max_length=5_000)] = Field(
        default=None,
        description="only these suggestions (by SKU and location), optionally with other quantities",
    )


class ReceiptLineOut(Output):
    line: int
    sku: str
    quantity: int


class ReceiptOut(Output):
    id: uuid.UUID
    location: str
    reference: str
    received_at: datetime
    received_by: str
    lines: list[ReceiptLineOut]
