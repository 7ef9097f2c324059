"""Payment API models. Money is a decimal string with its currency; no model here has a field a card number could
travel in (cards arrive as vault or gateway tokens, and order capture refuses anything that looks like a number)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from ordersmith.platform.schemas import Input, MoneyAmount, MoneyOut, Output


class TransactionOut(Output):
    id: uuid.UUID
    kind: str
    amount: MoneyOut
    outcome: str
    gateway_reference: str
    transaction_reference: str
    reason_code: str
    reason: str
    return_id: uuid.UUID | None
    actor: str
    at: datetime


class PaymentOut(Output):
    id: uuid.UUID
    order_id: uuid.UUID
    seq: int
    method: str
    status: str
    amount: MoneyOut
    authorized: MoneyOut
    captured: MoneyOut
    refunded: MoneyOut
    capturable: MoneyOut
    refundable: MoneyOut
    gateway: str
    reference: str
    brand: str
    last_four: str
    gift_card_id: uuid.UUID | None
    check_number: str
    check_bank: str
    check_status: str
    reason_code: str
    expires_at: datetime | None
    version: int
    transactions: list[TransactionOut]


class TenderIn(Input):
    method: Literal[
        "card", "gift_card", "store_credit", "check", "on_account", "cash", "marketplace", "paypal"
    ]
    amount: MoneyAmount | None = Field(default=None, description="omitted: what the order still has unpaid")
    token: Annotated[
        str, Field(max_length=200, description="a vault or gateway token, or a gift-card code")
    ] = ""
    reference: Annotated[str, Field(max_length=200, description="check number, settlement id, …")] = ""
    bank: Annotated[str, Field(max_length=100)] = ""


class CaptureIn(Input):
    amount: MoneyAmount | None = Field(default=None, description="omitted: everything still authorized")


ReturnRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="the return this money belongs to: its id or its number (`R-001188`, any letter case)",
        examples=["R-001188"],
    ),
]


class RefundIn(Input):
    amount: MoneyAmount | None = Field(default=None, description="omitted: everything still refundable")
    reason: Annotated[str, Field(max_length=500)] = ""
    return_id: ReturnRef | None = None


class OrderRefundIn(Input):
    amount: MoneyAmount
    reason: Annotated[str, Field(max_length=500)] = ""
    return_id: ReturnRef | None = None
    to_store_credit: bool = Field(default=False, description="a new store-credit card instead of the tenders")


class LedgerEntryOut(Output):
    kind: str
    amount: MoneyOut
    balance_after: MoneyOut
    order_id: uuid.UUID | None
    actor: str
    note: str
    at: datetime


class GiftCardOut(Output):
    id: uuid.UUID
    last_four: str
    kind: str
    status: str
    balance: MoneyOut
    initial: MoneyOut
    customer_id: uuid.UUID | None
    expires_on: date | None
    sold_on_order: uuid.UUID | None
    created_at: datetime
    version: int
    ledger: list[LedgerEntryOut]


class IssuedCardOut(Output):
    code: str = Field(description="shown this once: only a digest of it is kept")
    card: GiftCardOut


class GiftCardIn(Input):
    amount: MoneyAmount
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    kind: Literal["gift_card", "store_credit"] = "gift_card"
    customer: Annotated[str | None, Field(max_length=40, description="id or number")] = None
    order: Annotated[
        str | None, Field(max_length=40, description="sold on this order: active once the order is paid")
    ] = None
    expires_on: date | None = None
    note: Annotated[str, Field(max_length=500)] = ""


class BalanceOut(Output):
    last_four: str
    status: str
    balance: MoneyOut
    expires_on: date | None


class ReloadIn(Input):
    amount: MoneyAmount
    note: Annotated[str, Field(max_length=500)] = ""


class CheckMoveIn(Input):
    note: Annotated[str, Field(max_length=500)] = ""


class InvoicePaymentOut(Output):
    id: uuid.UUID
    amount: MoneyOut
    method: str
    reference: str
    received_on: date
    actor: str
    at: datetime


class InvoiceOut(Output):
    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    order_number: str
    customer_id: uuid.UUID
    customer_number: str
    terms: str
    currency: str
    lines: list[dict[str, Any]]
    merchandise: MoneyOut
    shipping: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    paid: MoneyOut
    balance: MoneyOut
    status: str
    issued_on: date
    due_on: date
    version: int
    payments: list[InvoicePaymentOut]


class InvoicePaymentIn(Input):
    amount: MoneyAmount
    method: Literal["check", "transfer", "card", "cash"]
    reference: Annotated[str, Field(max_length=100)] = ""
    received_on: date | None = None


class OrderRefundOut(Output):
    payments: list[PaymentOut]
    store_credit: IssuedCardOut | None = Field(
        description="the new store-credit card; its code is shown this once"
    )
