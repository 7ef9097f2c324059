"""POS API input. Answers are the service's own records (no mirrored output schemas), plus the order a sale became."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field

from ordersmith.channels.pos import service
from ordersmith.orders.schemas import OrderOut
from ordersmith.platform.schemas import Input, MoneyAmount

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", examples=["NYC-1"])]
Sku = Annotated[str, Field(min_length=1, max_length=64)]


class StoreIn(Input):
    channel: Annotated[str, Field(min_length=1, max_length=40, description="the store's POS sales channel")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str, Field(max_length=200)] = ""
    city: Annotated[str, Field(min_length=1, max_length=100)]
    region: Annotated[str, Field(max_length=100)] = ""
    postal_code: Annotated[str, Field(max_length=20)] = ""
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
    phone: Annotated[str, Field(max_length=40)] = ""
    method: Annotated[
        str,
        Field(
            min_length=1,
            max_length=40,
            description="a free shipping method; `carry_out` is made when missing",
        ),
    ] = service.CARRY_OUT
    receipt_footer: Annotated[str, Field(max_length=500)] = ""


class RegisterIn(Input):
    code: Code
    store: Annotated[str, Field(min_length=1, max_length=40, description="the store's location code")]
    name: Annotated[str, Field(min_length=1, max_length=200)]


class RegisterPatch(Input):
    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    active: bool | None = Field(
        default=None, description="false closes the register (refused while its shift is open); true opens it"
    )


class SaleLineIn(Input):
    sku: Sku = Field(description="a SKU or a scanned GTIN's SKU")
    quantity: Annotated[int, Field(gt=0, le=10_000)]


class TenderIn(Input):
    method: Literal["cash", "card", "gift_card", "store_credit"]
    amount: MoneyAmount | None = Field(
        default=None, description="what it pays (not for cash: it pays the rest)"
    )
    token: Annotated[str, Field(max_length=200, description="a card's vault token; a gift card's code")] = ""
    received: MoneyAmount | None = Field(default=None, description="cash: what the customer handed over")
    change: MoneyAmount | None = Field(default=None, description="cash: what was given back")


class DeliveryIn(Input):
    """Endless aisle: the sale shipped to the customer from wherever the stock is."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str, Field(max_length=200)] = ""
    city: Annotated[str, Field(min_length=1, max_length=100)]
    region: Annotated[str, Field(max_length=100)] = ""
    postal_code: Annotated[str, Field(max_length=20)] = ""
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
    phone: Annotated[str, Field(max_length=40)] = ""
    method: Annotated[str, Field(min_length=1, max_length=40, description="a shipping method")]


class SaleIn(Input):
    id: uuid.UUID = Field(
        description="the till's own id for the sale (the order's external_id): sent again, one order"
    )
    register_code: Code = Field(alias="register", description="the register's code")
    rung_at: AwareDatetime = Field(description="when the till rang it up")
    offline: bool = Field(
        default=False,
        description="handed over without the network: a refusal flags the sale for the store manager (409 "
        "`pos_sale_flagged`) instead of refusing it",
    )
    shift: uuid.UUID | None = None
    customer: Annotated[str | None, Field(max_length=40, description="id or number")] = None
    email: Annotated[str, Field(max_length=320, description="for the e-mailed receipt")] = ""
    coupons: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default=[], max_length=10)
    lines: Annotated[list[SaleLineIn], Field(min_length=1, max_length=200)]
    tenders: Annotated[list[TenderIn], Field(min_length=1, max_length=10)]
    till_total: MoneyAmount | None = Field(default=None, description="the total the till showed the customer")
    deliver_to: DeliveryIn | None = Field(
        default=None,
        description="endless aisle: ship the sale to the customer instead of handing it over (online only)",
    )

    def to_request(self) -> service.SaleRequest:
        return service.SaleRequest(
            id=self.id,
            register=self.register_code,
            rung_at=self.rung_at,
            offline=self.offline,
            shift=self.shift,
            customer=self.customer,
            email=self.email,
            coupons=list(self.coupons),
            lines=[(line.sku, line.quantity) for line in self.lines],
            tenders=[
                service.TenderText(
                    method=t.method, amount=t.amount, token=t.token, received=t.received, change=t.change
                )
                for t in self.tenders
            ],
            till_total=self.till_total,
            deliver_to=self.deliver_to.model_dump() if self.deliver_to else None,
        )


class QuoteIn(Input):
    register_code: Code = Field(alias="register", description="the register's code")
    deliver_to: DeliveryIn | None = None
    customer: Annotated[str | None, Field(max_length=40)] = None
    coupons: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default=[], max_length=10)
    lines: Annotated[list[SaleLineIn], Field(min_length=1, max_length=200)]


class ShiftOpenIn(Input):
    opening_float: MoneyAmount


class ShiftCloseIn(Input):
    counted: MoneyAmount
    note: Annotated[str, Field(max_length=1000)] = ""


class ResolveIn(Input):
    note: Annotated[str, Field(min_length=1, max_length=1000)]


class SaleOut(BaseModel):
    sale: service.Sale
    order: OrderOut


class ReturnLineIn(Input):
    line_no: Annotated[int, Field(ge=1, le=100_000)]
    quantity: Annotated[int, Field(gt=0, le=100_000)]
    reason: Literal["changed_mind", "wrong_size", "damaged", "defective", "wrong_item", "late", "other"]
    exchange_sku: Annotated[str | None, Field(min_length=1, max_length=64)] = None


class StoreReturnIn(Input):
    register_code: Code = Field(alias="register", description="the register's code")
    order: Annotated[
        str, Field(min_length=1, max_length=40, description="the order's id or number, from any channel")
    ]
    lines: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=200)]
    refund_to: Literal["tenders", "store_credit"] = Field(
        default="tenders",
        description="the order's tenders (the last captured first; cash from the drawer) or new store credit",
    )
    shift: uuid.UUID | None = Field(default=None, description="the open shift whose drawer pays cash out")
    note: Annotated[str, Field(max_length=1000)] = ""
