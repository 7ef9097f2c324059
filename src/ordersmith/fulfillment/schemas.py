"""Fulfillment API inputs (pydantic; unknown fields refused). Outputs are the service's own dataclasses, serialized
by pydantic (money as strings), so the API and the service never drift apart."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.platform.schemas import Input

Code = Annotated[str, Field(min_length=1, max_length=40)]


class WaveIn(Input):
    location: Code
    methods: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=20)
    channels: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=20)
    ship_by_on: date | None = None
    undated: bool = True
    min_priority: int | None = Field(default=None, ge=-1000, le=1000)
    single_line: bool | None = None
    max_orders: int = Field(default=100, ge=1, le=1000)
    max_units: int | None = Field(default=None, ge=1, le=100000)


class PickIn(Input):
    found: dict[int, Annotated[int, Field(ge=0, le=100000)]] = Field(
        default_factory=dict, description="line number -> units found, for lines where fewer were in the bin"
    )


class ScanIn(Input):
    code: Annotated[str, Field(min_length=1, max_length=64)]


class PackageIn(Input):
    weight_g: int = Field(ge=1, le=1_000_000)
    length_mm: int = Field(default=0, ge=0, le=10_000)
    width_mm: int = Field(default=0, ge=0, le=10_000)
    height_mm: int = Field(default=0, ge=0, le=10_000)


class PackIn(Input):
    packages: list[PackageIn] = Field(default_factory=list, max_length=50)
    all_units: bool = Field(default=False, description="vouch for every picked unit without scanning each")


class ShipIn(Input):
    tracking: Annotated[str, Field(max_length=60)] = ""
    carrier: Annotated[str, Field(max_length=40)] = ""
    service: Annotated[str, Field(max_length=40)] = ""


class ReasonIn(Input):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class BinIn(Input):
    walk_sequence: int = Field(ge=0, le=10_000_000)
    zone: Annotated[str, Field(max_length=10)] = ""
    aisle: Annotated[str, Field(max_length=10)] = ""
    bay: Annotated[str, Field(max_length=10)] = ""
    level: Annotated[str, Field(max_length=10)] = ""
    active: bool = True


class ItemBinIn(Input):
    bin: Code


class CountIn(Input):
    counted: int = Field(ge=0, le=10_000_000)


class AddressIn(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    company: Annotated[str, Field(max_length=200)] = ""
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str, Field(max_length=200)] = ""
    city: Annotated[str, Field(min_length=1, max_length=100)]
    region: Annotated[str, Field(max_length=50)] = ""
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    phone: Annotated[str, Field(max_length=40)] = ""


class DockIn(Input):
    address: AddressIn
    label_format: Literal["pdf", "zpl"] = "pdf"
    carrier: Annotated[str, Field(min_length=1, max_length=40)] = "sandbox"


class RatesIn(Input):
    shipment: Annotated[str, Field(min_length=1, max_length=40)]
    carrier: Annotated[str | None, Field(max_length=40)] = None


class LabelsIn(Input):
    carrier: Annotated[str | None, Field(max_length=40)] = None
    service: Annotated[
        str | None, Field(max_length=60, description="a service code; none: rate shopping")
    ] = None
    label_format: Literal["pdf", "zpl"] | None = None


class ManifestIn(Input):
    location: Code
    carrier: Annotated[str, Field(min_length=1, max_length=40)] = "sandbox"
    day: date | None = None


class DropShipConfirmIn(Input):
    tracking: Annotated[str, Field(min_length=1, max_length=60)]
    carrier: Annotated[str, Field(max_length=40)] = ""
    lines: dict[int, Annotated[int, Field(ge=1, le=100000)]] | None = Field(
        default=None, description="order line -> units the vendor shipped; none: everything on the shipment"
    )


class DropShipCsvIn(Input):
    csv: Annotated[str, Field(min_length=1, max_length=2_000_000)]
