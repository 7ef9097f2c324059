"""What a printed document says: frozen dataclasses the integrator fills from the database.

Nothing here reads a database or another context; the renderers turn these values into PDF bytes. Invariants are
checked on construction, so a document that would print wrong figures cannot be built: a line's total is its unit
price times its quantity, an invoice's total is the sum of its parts, a pick stop's tote allocations add up to
its quantity, and every amount on one invoice is in that invoice's currency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from ordersmith.kernel.money import Money


@dataclass(frozen=True, slots=True)
class Party:
    """A name and postal address: retailer, ship-to, bill-to, shipper, consignee."""

    name: str
    lines: tuple[str, ...]
    city: str
    postal_code: str
    country: str
    company: str | None = None
    region: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One order line as printed: what it is, how many, and whatever the document at hand needs of it.

    Prices are optional (a gift packing slip shows none); customs fields matter on a commercial invoice only.
    """

    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price: Money | None = None
    total: Money | None = None
    personalization: Mapping[str, str] = field(default_factory=dict)
    gift_message: str | None = None
    bin: str | None = None
    gtin: str | None = None
    country_of_origin: str | None = None
    hs_code: str | None = None
    weight_g: int | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"line {self.line_no}: quantity must be positive, got {self.quantity}")
        if (
            self.unit_price is not None
            and self.total is not None
            and self.unit_price * self.quantity != self.total
        ):
            raise ValueError(
                f"line {self.line_no}: total {self.total} is not {self.quantity} x {self.unit_price}"
            )

    @property
    def amount(self) -> Money | None:
        """The line's total, or its unit price times its quantity when no total was given."""
        if self.total is not None:
            return self.total
        return None if self.unit_price is None else self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class PackingSlip:
    """The paper in the box: what was shipped to whom, the gift message, and how to send it back."""

    retailer: Party
    order_number: str
    ordered_on: date
    shipment_number: str
    ship_to: Party
    lines: tuple[DocumentLine, ...]
    return_instructions: str
    returns_url: str
    bill_to: Party | None = None
    retailer_logo_text: str | None = None
    gift_message: str | None = None
    returns_code: str | None = None
    tracking_number: str | None = None
    channel: str | None = None
    show_prices: bool = False


@dataclass(frozen=True, slots=True)
class ToteAllocation:
    """How many units of a stop go into which tote (or cart slot) for which order's shipment."""

    tote: str
    order_number: str
    shipment_number: str
    quantity: int


@dataclass(frozen=True, slots=True)
class PickStop:
    """One bin a picker walks to: take `quantity` of the SKU and share it out among the totes listed."""

    sequence: int
    bin: str
    sku: str
    name: str
    quantity: int
    allocations: tuple[ToteAllocation, ...] = ()
    zone: str | None = None
    aisle: str | None = None
    bay: str | None = None
    level: str | None = None
    gtin: str | None = None

    def __post_init__(self) -> None:
        allocated = sum(a.quantity for a in self.allocations)
        if self.allocations and allocated != self.quantity:
            raise ValueError(
                f"stop {self.sequence} ({self.bin}): totes take {allocated}, not {self.quantity}"
            )


@dataclass(frozen=True, slots=True)
class PickList:
    """A wave's pick list for one picker (batch picking: one walk, many orders, one tote or slot each)."""

    wave_number: str
    location: str
    created_at: datetime
    stops: tuple[PickStop, ...]
    picker: str | None = None

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError(f"pick list {self.wave_number}: created_at must be timezone-aware (UTC)")

    @property
    def walk(self) -> list[PickStop]:
        """The stops in walk order (by sequence, then bin for equal sequences)."""
        return sorted(self.stops, key=lambda stop: (stop.sequence, stop.bin))


@dataclass(frozen=True, slots=True)
class Charge:
    """A labelled amount below an invoice's lines: a discount (a positive amount taken off), shipping, a tax."""

    label: str
    amount: Money


def _sum(amounts: Sequence[Money], currency: str) -> Money:
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total


def _priced_amounts(lines: Sequence[DocumentLine], currency: str, document: str) -> list[Money]:
    amounts: list[Money] = []
    for line in lines:
        amount = line.amount
        if amount is None:
            raise ValueError(f"{document}: line {line.line_no} has no price")
        if amount.currency != currency:
            raise ValueError(f"{document}: line {line.line_no} is in {amount.currency}, not {currency}")
        amounts.append(amount)
    return amounts


@dataclass(frozen=True, slots=True)
class CommercialInvoice:
    """The customs declaration that travels with an international shipment.

    Its value is the sum of its lines (each unit value times quantity) plus freight and insurance when given.
    """

    invoice_number: str
    issued_on: date
    shipment_number: str
    shipper: Party
    consignee: Party
    export_reason: str
    incoterm: str
    currency: str
    lines: tuple[DocumentLine, ...]
    declaration: str
    signature_name: str
    order_number: str | None = None
    tracking_number: str | None = None
    package_count: int = 1
    freight: Money | None = None
    insurance: Money | None = None
    signature_title: str | None = None

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError(f"commercial invoice {self.invoice_number} has no lines")
        _priced_amounts(self.lines, self.currency, f"commercial invoice {self.invoice_number}")
        for line in self.lines:
            if not (
                line.hs_code
                and line.country_of_origin
                and line.weight_g is not None
                and line.unit_price is not None
            ):
                raise ValueError(
                    f"commercial invoice {self.invoice_number}: line {line.line_no} needs an HS code,"
                    " a country of origin, a weight and a unit value"
                )
        for extra in (self.freight, self.insurance):
            if extra is not None and extra.currency != self.currency:
                raise ValueError(
                    f"commercial invoice {self.invoice_number}: {extra} is not in {self.currency}"
                )

    @property
    def lines_total(self) -> Money:
        return _sum(_priced_amounts(self.lines, self.currency, self.invoice_number), self.currency)

    @property
    def total_value(self) -> Money:
        extras = [m for m in (self.freight, self.insurance) if m is not None]
        return _sum([self.lines_total, *extras], self.currency)

    @property
    def total_weight_g(self) -> int:
        return sum((line.weight_g or 0) * line.quantity for line in self.lines)

    @property
    def total_quantity(self) -> int:
        return sum(line.quantity for line in self.lines)


@dataclass(frozen=True, slots=True)
class CustomerInvoice:
    """The bill a customer keeps: lines, discounts, shipping, taxes, what was paid and what is still due.

    `total` is given (it is what the order stored) and checked: it must equal the lines' subtotal less the
    discounts plus the shipping and tax charges.
    """

    invoice_number: str
    order_number: str
    issued_on: date
    currency: str
    bill_to: Party
    lines: tuple[DocumentLine, ...]
    total: Money
    retailer: Party
    ordered_on: date | None = None
    due_on: date | None = None
    terms: str | None = None
    ship_to: Party | None = None
    discounts: tuple[Charge, ...] = ()
    shipping: tuple[Charge, ...] = ()
    taxes: tuple[Charge, ...] = ()
    amount_paid: Money | None = None
    payment_instructions: str | None = None

    def __post_init__(self) -> None:
        name = f"invoice {self.invoice_number}"
        _priced_amounts(self.lines, self.currency, name)
        charges = [*self.discounts, *self.shipping, *self.taxes]
        for money in [*(c.amount for c in charges), self.total, self.amount_paid]:
            if money is not None and money.currency != self.currency:
                raise ValueError(f"{name}: {money} is not in {self.currency}")
        expected = (
            self.subtotal
            - _sum([c.amount for c in self.discounts], self.currency)
            + _sum([c.amount for c in [*self.shipping, *self.taxes]], self.currency)
        )
        if expected != self.total:
            raise ValueError(f"{name}: total {self.total} does not add up; its parts come to {expected}")

    @property
    def subtotal(self) -> Money:
        return _sum(_priced_amounts(self.lines, self.currency, self.invoice_number), self.currency)

    @property
    def balance_due(self) -> Money:
        paid = self.amount_paid if self.amount_paid is not None else Money.zero(self.currency)
        return self.total - paid
