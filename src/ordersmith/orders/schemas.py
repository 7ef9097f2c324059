"""Order API models. Inputs refuse unknown fields; a price or total sent by a caller is refused by name (prices
come from our pricing, never from the request)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from ordersmith.kernel.errors import FieldError, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import rules
from ordersmith.platform.schemas import CustomValues, Input, MoneyAmount, MoneyOut, Output, money_in

_PRICE_FIELDS = frozenset({"price", "unit_price", "prices", "total", "totals", "subtotal", "tax", "taxes",
                           "discount", "discounts", "shipping_cost", "shipping_total", "merchandise"})  # fmt: skip


def _refuse_prices(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        sent = sorted(_PRICE_FIELDS & set(value))
        if sent:
            raise ValidationFailed(
                "prices and totals are computed by Ordersmith, never taken from a request",
                errors=[
                    FieldError(f"{where}{name}", "not accepted: prices come from the price lists")
                    for name in sent
                ],
            )
    return value


Sku = Annotated[str, Field(min_length=1, max_length=64)]
Ref = Annotated[str, Field(min_length=1, max_length=40)]


class OrderLineIn(Input):
    sku: Sku
    quantity: Annotated[int, Field(gt=0, le=100_000)]
    ship_to: Ref = "main"
    personalization: dict[str, Annotated[str, Field(max_length=200)]] = {}
    gift_message: Annotated[str, Field(max_length=500)] = ""
    source_code: Annotated[
        str | None,
        Field(
            max_length=40,
            description="this line came from another offer than the order's: that offer's source (key) code, "
            "checked against the master list like the order's; the line is priced with its offer",
        ),
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _no_prices(cls, value: Any) -> Any:
        return _refuse_prices(value, "lines.")


class AddressIn(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str, Field(max_length=200)] = ""
    city: Annotated[str, Field(min_length=1, max_length=100)]
    region: Annotated[str, Field(max_length=100)] = ""
    postal_code: Annotated[str, Field(max_length=20)] = ""
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
    phone: Annotated[str, Field(max_length=40)] = ""


class OrderShipToIn(AddressIn):
    ref: Ref = "main"
    method: Annotated[str, Field(min_length=1, max_length=40)]


class NewCustomerIn(Input):
    first_name: Annotated[str, Field(max_length=100)] = ""
    last_name: Annotated[str, Field(max_length=100)] = ""
    company: Annotated[str, Field(max_length=200)] = ""
    email: Annotated[str, Field(max_length=320)] = ""
    phone: Annotated[str, Field(max_length=40)] = ""


class PaymentIn(Input):
    method: Literal[
        "card", "gift_card", "store_credit", "check", "on_account", "marketplace", "cash", "paypal"
    ]
    amount: MoneyAmount | None = None
    token: Annotated[
        str, Field(max_length=200, description="a vault or gateway token; never a card number")
    ] = ""
    reference: Annotated[str, Field(max_length=200, description="check number, settlement id, …")] = ""
    bank: Annotated[str, Field(max_length=100, description="a check's bank")] = ""


class OrderIn(Input):
    channel: Annotated[
        str | None, Field(max_length=40, description="staff name it; a channel key's own is used")
    ] = None
    customer: Annotated[str | None, Field(max_length=40, description="id or number")] = None
    new_customer: NewCustomerIn | None = None
    email: Annotated[str, Field(max_length=320)] = ""
    billing: AddressIn | None = None
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=500)]
    ship_tos: Annotated[list[OrderShipToIn], Field(min_length=1, max_length=50)]
    source_code: Annotated[str | None, Field(max_length=40)] = None
    coupons: list[Annotated[str, Field(max_length=40)]] = Field(default=[], max_length=10)
    external_id: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    placed_at: AwareDatetime | None = None
    payments: list[PaymentIn] = Field(default=[], max_length=10)
    priority: Annotated[int, Field(ge=0, le=100)] = 0
    release: bool = Field(default=True, description="false: keep the order pending (editable) until released")
    fulfillment: Literal["ship", "taken", "pickup"] = Field(
        default="ship",
        description="ship; taken: carried out of the store at the sale (a POS channel; shipped at once); pickup: "
        "collected at a store",
    )
    store: Annotated[
        str | None, Field(max_length=40, description="the store's location, for taken and pickup")
    ] = None
    custom_fields: CustomValues = {}

    @model_validator(mode="before")
    @classmethod
    def _no_prices(cls, value: Any) -> Any:
        return _refuse_prices(value, "")


class AllocationOut(Output):
    location: str
    quantity: int
    status: str


class OrderLineOut(Output):
    line_no: int
    sku: str
    name: str
    quantity: int
    ship_to: str
    personalization: dict[str, str]
    gift_message: str
    unit_price: MoneyOut
    price_list: str
    merchandise: MoneyOut
    surcharge: MoneyOut
    discount: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    reserved: int
    backordered: int
    cancelled: int
    shipped: int
    returned: int
    returnable: bool
    state: str
    allocations: list[AllocationOut]
    source_code: str | None = Field(
        default=None, description="the source code the line counts under: its own, else its order's"
    )
    own_source_code: str | None = Field(
        default=None, description="the line's own code (it came from another offer); null: its order's"
    )


class ShipToOut(Output):
    ref: str
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    phone: str
    method: str
    shipping: MoneyOut | None
    shipping_tax: MoneyOut | None


class HoldOut(Output):
    id: uuid.UUID
    reason: str
    detail: str
    status: str
    placed_at: datetime
    placed_by: str
    resolved_at: datetime | None
    resolved_by: str | None
    note: str


class OrderOut(Output):
    id: uuid.UUID
    number: str
    channel: str
    division: str
    external_id: str | None
    customer_id: uuid.UUID | None
    customer_number: str | None
    email: str
    status: str
    payment_status: str
    fulfillment_status: str
    currency: str
    merchandise: MoneyOut
    surcharges: MoneyOut
    discounts: MoneyOut
    shipping: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    source_code: str | None
    coupons: list[str]
    billing: dict[str, Any]
    payment: dict[str, Any]
    pricing: dict[str, Any] = Field(description="how the total was reached: every adjustment and promotion")
    allocation: list[str] = Field(description="why each location was chosen")
    priority: int
    exchange_for: uuid.UUID | None
    fulfillment: str = "ship"
    store: str | None = None
    release_at: datetime | None = Field(
        default=None, description="a pending order in its channel's edit window is released at this time"
    )
    imported: bool = Field(
        default=False,
        description="brought in from another system's history: no stock moved, no payment taken",
    )
    placed_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int
    lines: list[OrderLineOut]
    ship_tos: list[ShipToOut]
    holds: list[HoldOut]
    custom_fields: dict[str, Any] | None = Field(
        default=None,
        description="the order's custom field values by name: in GET /orders/{ref}, the answer to POST /orders and "
        "to PUT …/custom-fields; null in other actions' answers (not read there)",
    )


class OrderSummaryOut(Output):
    id: uuid.UUID
    number: str
    channel: str
    external_id: str | None
    customer_number: str | None
    status: str
    payment_status: str
    fulfillment_status: str
    total: MoneyOut
    source_code: str | None
    placed_at: datetime


class HoldIn(Input):
    note: Annotated[str, Field(min_length=1, max_length=1000)]
    reason: Annotated[str, Field(pattern=r"^[a-z_]{2,40}$")] = "manual"


class ReleaseIn(Input):
    note: Annotated[str, Field(max_length=1000)] = ""


class CancelIn(Input):
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    lines: dict[int, Annotated[int, Field(gt=0, le=100_000)]] | None = Field(
        default=None, description="line number -> units to cancel; the whole order when absent"
    )


class ShipmentIn(Input):
    lines: dict[int, Annotated[int, Field(gt=0, le=100_000)]] | None = Field(
        default=None, description="line number -> units shipped; everything held when absent"
    )
    tracking: Annotated[str, Field(max_length=100)] = ""


class LineChangeIn(Input):
    line_no: Annotated[int | None, Field(ge=1, le=100_000, description="absent: a new line")] = None
    sku: Sku | None = None
    quantity: Annotated[int | None, Field(ge=0, le=100_000, description="0 removes the line")] = None
    ship_to: Ref | None = None
    personalization: dict[str, Annotated[str, Field(max_length=200)]] | None = None
    gift_message: Annotated[str | None, Field(max_length=500)] = None
    source_code: Annotated[
        str | None,
        Field(
            max_length=40,
            description="a new line from another offer than the order's: that offer's source (key) code, checked "
            "against the master list as of today like an order line's; an existing line keeps its code",
        ),
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _no_prices(cls, value: Any) -> Any:
        return _refuse_prices(value, "lines.")


class ShipToChangeIn(Input):
    ref: Ref
    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    line1: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    line2: Annotated[str | None, Field(max_length=200)] = None
    city: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    region: Annotated[str | None, Field(max_length=100)] = None
    postal_code: Annotated[str | None, Field(max_length=20)] = None
    country: Annotated[str | None, Field(pattern=r"^[A-Za-z]{2}$")] = None
    phone: Annotated[str | None, Field(max_length=40)] = None
    method: Annotated[str | None, Field(min_length=1, max_length=40)] = None


class OrderPatch(Input):
    lines: list[LineChangeIn] = Field(default=[], max_length=500)
    ship_tos: list[ShipToChangeIn] = Field(default=[], max_length=50)

    @model_validator(mode="before")
    @classmethod
    def _no_prices(cls, value: Any) -> Any:
        return _refuse_prices(value, "")


class HoldQueueOut(Output):
    order_id: uuid.UUID
    order_number: str
    channel: str
    total: MoneyOut
    hold_id: uuid.UUID
    reason: str
    detail: str
    placed_at: datetime


class TimelineEntryOut(Output):
    at: datetime
    kind: str
    source: str
    actor: str
    detail: dict[str, Any]


class ReturnLineIn(Input):
    line_no: Annotated[int, Field(ge=1, le=100_000)]
    quantity: Annotated[int, Field(gt=0, le=100_000)]
    reason: Literal[rules.RETURN_REASONS]  # type: ignore[valid-type]
    exchange_sku: Sku | None = None


class ReturnIn(Input):
    lines: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=500)]
    note: Annotated[str, Field(max_length=1000)] = ""


class ReceivedLineIn(Input):
    line_no: Annotated[int, Field(ge=1, le=100_000)]
    quantity: Annotated[int, Field(ge=0, le=100_000)]
    disposition: Literal["restock", "scrap"] = "restock"


class ReceiveIn(Input):
    location: Annotated[str, Field(min_length=1, max_length=40)]
    lines: list[ReceivedLineIn] | None = Field(default=None, description="absent: everything as authorized")


class ReturnLineOut(Output):
    line_no: int
    sku: str
    quantity: int
    reason: str
    exchange_sku: str | None
    received: int
    disposition: str | None
    source_code: str | None = Field(
        default=None, description="inherited from the order line: its own code, else its order's"
    )


class ReturnOut(Output):
    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    order_number: str
    status: str
    currency: str
    location: str | None
    refund_items: MoneyOut
    refund_tax: MoneyOut
    refund_shipping: MoneyOut
    restocking_fee: MoneyOut
    refund_due: MoneyOut
    exchange_order_id: uuid.UUID | None
    note: str
    authorized_at: datetime
    expires_at: datetime
    received_at: datetime | None
    lines: list[ReturnLineOut]


def money(amount: str | None, currency: str, *, field: str = "amount") -> Money | None:
    """An optional API amount in `currency`; refused (naming `field`) when finer than its minor unit."""
    return None if amount is None else money_in(amount, currency, field=field)
