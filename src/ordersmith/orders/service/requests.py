"""What a channel sends to place an order, and the checks of its shape that need no database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordersmith.kernel.cards import contains_card_number
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money

PAYMENT_METHODS = (
    "card",
    "gift_card",
    "store_credit",
    "check",
    "on_account",
    "marketplace",
    "cash",
    "paypal",
)


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int
    ship_to: str = "main"
    personalization: dict[str, str] = field(default_factory=dict)
    gift_message: str = ""
    source_code: str | None = (
        None  # the line came from another offer than the order's (checked like the order's)
    )


@dataclass(frozen=True)
class ShipToRequest:
    ref: str
    name: str
    line1: str
    city: str
    country: str
    method: str
    line2: str = ""
    region: str = ""
    postal_code: str = ""
    phone: str = ""


@dataclass(frozen=True)
class NewCustomer:
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class PaymentRequest:
    method: str
    amount: Money | None = None  # None: the rest of the total
    token: str = ""  # a vault or gateway token, never a card number
    reference: str = ""  # check number, marketplace settlement id, …
    bank: str = ""  # a check's bank


@dataclass(frozen=True)
class OrderRequest:
    lines: Sequence[LineRequest]
    ship_tos: Sequence[ShipToRequest]
    customer: str | None = None  # id or number
    new_customer: NewCustomer | None = None
    email: str = ""
    billing: dict[str, str] | None = None  # name, line1, line2, city, region, postal_code, country
    source_code: str | None = None
    coupons: Sequence[str] = ()
    external_id: str | None = None
    placed_at: datetime | None = None
    payments: Sequence[PaymentRequest] = ()
    priority: int = 0
    release: bool = True  # False: keep it pending (editable) until someone releases it
    fulfillment: str = (
        "ship"  # ship | taken (carried out of the store at the sale) | pickup (collected at a store)
    )
    store: str | None = None  # the store's location, for taken and pickup


@dataclass(frozen=True)
class PaymentFact:
    """What checkout decided about the order's payment, handed to orders so the order is written once with it:
    its payment status, whether it is paid on account (credit already decided by checkout: orders does not
    estimate it again), the card (token) for the velocity rule, and holds the payment calls for (a lost
    authorization answer, a declined card under the hold policy, credit beyond the limit, nothing collected)."""

    status: str = "pending"
    on_account: bool = False
    card_token: str = ""
    holds: tuple[tuple[str, str], ...] = ()


# --- checking the request ---------------------------------------------------------------------------------------


FULFILLMENTS = ("ship", "taken", "pickup")


def check_shape(request: OrderRequest) -> None:
    if not request.lines:
        raise ValidationFailed.on("lines", "an order needs at least one line")
    if not request.ship_tos:
        raise ValidationFailed.on("ship_tos", "an order needs at least one ship-to address")
    refs = [s.ref for s in request.ship_tos]
    if len(refs) != len(set(refs)):
        raise ValidationFailed.on("ship_tos", "each ship-to needs its own ref")
    for n, line in enumerate(request.lines):
        if line.quantity <= 0:
            raise ValidationFailed.on(f"lines.{n}.quantity", "must be greater than zero")
        if line.ship_to not in refs:
            raise ValidationFailed.on(f"lines.{n}.ship_to", f"no ship-to {line.ship_to!r} in this order")
    if request.customer and request.new_customer:
        raise ValidationFailed.on("customer", "give a customer or a new customer, not both")
    if request.fulfillment not in FULFILLMENTS:
        raise ValidationFailed.on("fulfillment", f"must be one of {', '.join(FULFILLMENTS)}")
    if (request.fulfillment == "ship") != (request.store is None):
        raise ValidationFailed.on("store", "name the store for taken and pickup orders (and only for them)")
    for n, payment in enumerate(request.payments):
        if payment.method not in PAYMENT_METHODS:
            raise ValidationFailed.on(f"payments.{n}.method", f"must be one of {', '.join(PAYMENT_METHODS)}")
        for name in ("token", "reference"):
            if contains_card_number(getattr(payment, name)):
                # A card number never enters an order: the vault tokenizes it first.
                raise ValidationFailed.on(
                    f"payments.{n}.{name}", "looks like a card number: send a vault token"
                )


def payment_dict(p: PaymentRequest) -> dict[str, Any]:
    return {
        "method": p.method,
        "amount": str(p.amount.amount) if p.amount else None,
        "token": p.token,
        "reference": p.reference,
        **({"bank": p.bank} if p.bank else {}),
    }


def ship_to_dict(s: ShipToRequest) -> dict[str, str]:
    return {
        "ref": s.ref,
        "name": s.name,
        "line1": s.line1,
        "line2": s.line2,
        "city": s.city,
        "region": s.region,
        "postal_code": s.postal_code,
        "country": s.country.upper(),
        "phone": s.phone,
        "method": s.method.lower(),
    }
