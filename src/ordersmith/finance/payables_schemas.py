"""Accounts payable API models: vendor bills and their lines, the match-exception queue, decisions on a bill,
vendor payments, match tolerances and AP aging. (Apart from `schemas.py`, which holds the ledger's, to keep each
module under ~500 lines.)"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.finance.service import PayableAgingRow, PayablesAging
from ordersmith.platform.schemas import CurrencyCode, Input, MoneyAmount, MoneyIn, MoneyOut, Output

Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$", examples=["ACME"])]
Note = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2, examples=["2.5"])]
BillStatus = Literal["entered", "matched", "exception", "approved", "partially_paid", "paid", "rejected"]


BillLineKind = Literal["goods", "freight", "duty", "brokerage", "other"]


class BillLineIn(Input):
    kind: BillLineKind = Field(
        "goods", description="goods (a PO line), or a landed-cost charge line that bills no PO line"
    )
    po_line: (
        Annotated[
            int, Field(ge=1, le=100_000, description="the PO line this line bills (goods)", examples=[1])
        ]
        | None
    ) = None
    quantity: Annotated[int, Field(ge=1, le=10_000_000)]
    unit_price: MoneyAmount
    sku: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]*$")] | None = None


class VendorBillIn(Input):
    purchase_order: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
    vendor_invoice: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[^\x00-\x1f]+$")]
    billed_on: date
    currency: CurrencyCode | None = None  # default: the PO's (another is refused)
    vendor: Code | None = (
        None  # when given, the PO's (or, for a bill of charge lines only, a carrier or broker)
    )
    lines: Annotated[list[BillLineIn], Field(min_length=1, max_length=500)]


class BillLineOut(Output):
    line: int
    kind: BillLineKind
    po_line: int  # 0 on a charge line
    sku: str
    quantity: int
    unit_price: MoneyOut
    amount: MoneyOut
    unit_cost: MoneyOut


class MatchReasonOut(Output):
    code: Literal["not_received", "quantity", "price", "amount"]
    line: int | None
    detail: str


class VendorBillOut(Output):
    id: uuid.UUID
    number: str
    vendor: str
    vendor_invoice: str
    purchase_order: str
    currency: str
    billed_on: date
    due_on: date
    status: BillStatus
    total: MoneyOut
    receipt_value: MoneyOut
    charges: MoneyOut  # freight, duty, brokerage and other charge lines (landed costs, outside the match)
    variance: MoneyOut
    paid: MoneyOut
    balance: MoneyOut
    reasons: list[MatchReasonOut]
    note: str
    source: str
    entered_by: str
    approved_by: str | None
    approved_at: datetime | None
    created_at: datetime
    version: int
    lines: list[BillLineOut]


class DecisionIn(Input):
    note: Note


class MatchExceptionOut(Output):
    id: uuid.UUID
    bill: str
    bill_id: uuid.UUID
    bill_version: int
    vendor: str
    vendor_invoice: str
    purchase_order: str
    total: MoneyOut
    due_on: date
    status: Literal["open", "resolved"]
    reasons: list[MatchReasonOut]
    raised_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    note: str


class ResolveIn(Input):
    action: Literal["accept", "reject"]
    note: Note


class PayBillIn(Input):
    bill: Annotated[
        str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$", examples=["VB-000001"])
    ]
    amount: MoneyAmount


class VendorPaymentIn(Input):
    vendor: Code
    amount: MoneyIn
    method: Literal["check", "ach", "wire", "card"] = "ach"
    reference: Annotated[str, Field(max_length=80, pattern=r"^[^\x00-\x1f]*$")] = ""
    paid_on: date | None = None
    bills: Annotated[list[PayBillIn], Field(min_length=1, max_length=500)]


class PaidBillOut(Output):
    bill: str
    vendor_invoice: str
    amount: MoneyOut


class VendorPaymentOut(Output):
    id: uuid.UUID
    number: str
    vendor: str
    amount: MoneyOut
    method: str
    reference: str
    paid_on: date
    created_by: str
    created_at: datetime
    bills: list[PaidBillOut]


class ToleranceIn(Input):
    quantity_pct: Percent
    price_pct: Percent
    amount: MoneyIn


class ToleranceOut(Output):
    vendor: str
    quantity_pct: Decimal
    price_pct: Decimal
    amount: MoneyOut
    default: bool


class PayableAgingRowOut(Output):
    vendor: str  # "" on a currency's total
    currency: str
    bills: int
    buckets: dict[str, MoneyOut]  # current, days_1_30, days_31_60, days_61_90, over_90
    total: MoneyOut

    @classmethod
    def of(cls, row: PayableAgingRow, names: tuple[str, ...]) -> PayableAgingRowOut:
        return cls(
            vendor=row.vendor,
            currency=row.currency,
            bills=row.bills,
            buckets={n: MoneyOut.model_validate(m) for n, m in zip(names, row.buckets, strict=True)},
            total=MoneyOut.model_validate(row.total),
        )


class PayablesReconciliationOut(Output):
    currency: str
    subledger: MoneyOut
    control: MoneyOut
    difference: MoneyOut


class PayablesAgingOut(Output):
    as_of: date
    rows: list[PayableAgingRowOut]
    totals: list[PayableAgingRowOut]
    reconciliation: list[PayablesReconciliationOut]

    @classmethod
    def of(cls, aging: PayablesAging) -> PayablesAgingOut:
        return cls(
            as_of=aging.as_of,
            rows=[PayableAgingRowOut.of(r, aging.buckets) for r in aging.rows],
            totals=[PayableAgingRowOut.of(r, aging.buckets) for r in aging.totals],
            reconciliation=[PayablesReconciliationOut.model_validate(r) for r in aging.reconciliation],
        )
