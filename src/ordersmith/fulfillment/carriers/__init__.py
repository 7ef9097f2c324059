"""Carriers: the port fulfillment ships through (rates, labels, voids, tracking, webhooks, address checks,
manifests) and its adapters — the sandbox carrier, EasyPost and Shippo.

A leaf package: it imports only `ordersmith.kernel`, httpx, fpdf2, python-barcode and the standard library, never
another context or the database. `carriers_from(config)` builds the configured carriers by name.
"""

from ordersmith.fulfillment.carriers.base import (
    Address,
    AddressCheck,
    Carrier,
    CarrierRejected,
    CarrierUnavailable,
    Label,
    LabelFormat,
    LabelRequest,
    Manifest,
    Parcel,
    Rate,
    RateRequest,
    Service,
    SignatureInvalid,
    TrackingEvent,
    TrackingStatus,
)
from ordersmith.fulfillment.carriers.registry import CarrierConfig, carriers_from

__all__ = [
    "Address",
    "AddressCheck",
    "Carrier",
    "CarrierConfig",
    "CarrierRejected",
    "CarrierUnavailable",
    "Label",
    "LabelFormat",
    "LabelRequest",
    "Manifest",
    "Parcel",
    "Rate",
    "RateRequest",
    "Service",
    "SignatureInvalid",
    "TrackingEvent",
    "TrackingStatus",
    "carriers_from",
]
