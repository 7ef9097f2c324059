"""The carrier port: what fulfillment asks of a parcel carrier, whoever it is (the sandbox, EasyPost, Shippo).

It owns the value types that cross the port (addresses, parcels, rates, labels, tracking events, manifests),
the `Carrier` protocol and the three errors an adapter raises. Invariants: weights are integer grams and
dimensions integer millimetres; money is `Money`, never float; every time is timezone-aware UTC; an adapter
raises `CarrierUnavailable` when the carrier could not be asked or did not answer (the outcome is unknown) and
`CarrierRejected` when it answered no (the outcome is known: nothing was bought, voided or changed).

Ids an adapter hands out (`Rate.rate_id`, `Label.label_id`, `Manifest.manifest_id`) are opaque to the rest of
Ordersmith: store them and pass them back, never parse them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol, runtime_checkable

from ordersmith.kernel.errors import OrdersmithError, ValidationFailed
from ordersmith.kernel.money import Money

LabelFormat = Literal["pdf", "zpl"]
TrackingStatus = Literal[
    "pre_transit", "in_transit", "out_for_delivery", "delivered", "exception", "returned"
]
TRACKING_STATUSES: tuple[TrackingStatus, ...] = (
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "exception",
    "returned",
)


# --- errors -------------------------------------------------------------------------------------------------------


class CarrierUnavailable(OrdersmithError):
    """The carrier could not be asked or did not answer usefully (refused connection, timeout, a 5xx, an answer
    that is not the documented format). Whether anything happened there is unknown: ask again later."""

    code = "carrier_unavailable"
    status = 503
    title = "The carrier did not answer"


class CarrierRejected(ValidationFailed):
    """The carrier answered and refused (unknown service, an invalid address, a parcel without weight, a label
    that can no longer be voided). `reason_code` is stable and machine-readable; the message is the carrier's."""

    code = "carrier_rejected"
    title = "The carrier refused the request"

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message, reason_code=reason_code)
        self.reason_code = reason_code


class SignatureInvalid(OrdersmithError):
    """A webhook whose signature (or shared token) is missing, malformed, stale or does not match."""

    code = "carrier_signature_invalid"
    status = 401
    title = "Webhook signature invalid"


# --- values -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """A postal address. `country` is ISO 3166-1 alpha-2; `region` a state or province code."""

    name: str
    line1: str
    city: str
    region: str
    postal_code: str
    country: str
    company: str = ""
    line2: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Parcel:
    """One box: actual weight in grams, outside dimensions in millimetres."""

    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    delivery_days: int


@dataclass(frozen=True)
class RateRequest:
    ship_from: Address
    ship_to: Address
    parcels: list[Parcel]
    ship_on: date


@dataclass(frozen=True)
class Rate:
    """A price to ship a request with one service. `carrier` is the adapter's name (the one to buy the label
    from); `service` is that adapter's service code (an aggregator's is `PROVIDER:service`)."""

    carrier: str
    service: str
    amount: Money
    delivery_days: int
    estimated_delivery_on: date | None
    rate_id: str


@dataclass(frozen=True)
class LabelRequest:
    """A label to buy: for a `rate` the adapter quoted, or for a `service` code (the adapter rates first).
    `reference` (e.g. the shipment number) is printed on the label."""

    ship_from: Address
    ship_to: Address
    parcel: Parcel
    reference: str
    rate: Rate | None = None
    carrier: str = ""
    service: str = ""
    label_format: LabelFormat = "pdf"

    def __post_init__(self) -> None:
        if self.rate is None and not self.service:
            raise ValueError("a label request needs a rate or a service")
        if self.label_format not in ("pdf", "zpl"):
            raise ValueError(f"label_format must be pdf or zpl, not {self.label_format!r}")

    @property
    def service_code(self) -> str:
        return self.rate.service if self.rate is not None else self.service


@dataclass(frozen=True)
class Label:
    """A bought label. `content` is PDF bytes or ZPL text (ASCII), as `label_format` says."""

    carrier: str
    service: str
    tracking_number: str
    amount: Money
    label_format: LabelFormat
    content: bytes
    label_id: str


@dataclass(frozen=True)
class TrackingEvent:
    """One scan. `event_id` is stable across polls and webhooks, so a consumer can drop duplicates by it."""

    tracking_number: str
    status: TrackingStatus
    detail: str
    at: datetime
    event_id: str

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("tracking event times are timezone-aware UTC")
        if self.status not in TRACKING_STATUSES:
            raise ValueError(f"unknown tracking status {self.status!r}")


@dataclass(frozen=True)
class AddressCheck:
    """The carrier's view of an address: `corrected` is set when it would ship to a cleaned-up form."""

    valid: bool
    corrected: Address | None = None
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Manifest:
    """An end-of-day manifest (scan form) the driver scans once for every listed label."""

    carrier: str
    manifest_id: str
    tracking_numbers: list[str]
    content: bytes
    created_at: datetime


# --- the port -----------------------------------------------------------------------------------------------------


@runtime_checkable  # plugins' adapters are checked when loaded (docs/guides/plugins.md)
class Carrier(Protocol):
    """A parcel carrier or a shipping aggregator.

    `label_id` (where a call takes one) is the `Label.label_id` the carrier gave: pass it when known. An
    aggregator may need it (Shippo tracks by its own carrier token); others look the label up by tracking number.
    """

    name: str

    def services(self) -> list[Service]: ...

    def rates(self, request: RateRequest) -> list[Rate]:
        """Every service's price for the request, in no particular order.

        Raises:
            CarrierRejected: an address or parcel the carrier refuses.
            CarrierUnavailable: the carrier did not answer.
        """
        ...

    def buy_label(self, request: LabelRequest) -> Label:
        """Buy one label.

        Raises:
            CarrierRejected: unknown service, parcel without weight, invalid address.
            CarrierUnavailable: the carrier did not answer; whether a label was bought is unknown.
        """
        ...

    def void_label(self, *, tracking_number: str, label_id: str = "") -> None:
        """Void (refund) an unused label. Voiding a label already voided does nothing.

        Raises:
            CarrierRejected: the label is unknown or already moving.
            CarrierUnavailable: the carrier did not answer.
        """
        ...

    def track(self, *, tracking_number: str, label_id: str = "") -> list[TrackingEvent]:
        """Every tracking event so far, oldest first."""
        ...

    def parse_webhook(
        self, *, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> list[TrackingEvent]:
        """Verify and read a webhook the carrier posted (`query`: the URL's query parameters, for carriers that
        authenticate by a token in the URL).

        Raises:
            SignatureInvalid: a bad, missing or stale signature; a body that is not the carrier's format.
        """
        ...

    def validate_address(self, address: Address) -> AddressCheck: ...

    def manifest(
        self, *, tracking_numbers: list[str], ship_on: date, label_ids: list[str] | None = None
    ) -> Manifest:
        """Close out the labels shipping on `ship_on` into one manifest (`label_ids` in the same order)."""
        ...
