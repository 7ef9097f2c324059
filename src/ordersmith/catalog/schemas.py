"""Catalog API models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.platform.schemas import Input, Output

ItemKind = Literal["stocked", "kit", "non_inventory", "drop_ship", "gift_card"]
ItemStatus = Literal["active", "discontinued", "inactive"]


class ItemIn(Input):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=300)]
    description: Annotated[str, Field(max_length=20_000)] = ""
    kind: ItemKind = "stocked"
    status: ItemStatus = "active"
    tax_class: Annotated[str, Field(min_length=1, max_length=40)] = "standard"
    divisions: list[Annotated[str, Field(max_length=40)]] = []
    barcodes: list[Annotated[str, Field(max_length=14)]] = []
    weight_g: Annotated[int | None, Field(ge=0)] = None
    length_mm: Annotated[int | None, Field(ge=0)] = None
    width_mm: Annotated[int | None, Field(ge=0)] = None
    height_mm: Annotated[int | None, Field(ge=0)] = None


class ItemOut(Output):
    id: uuid.UUID
    sku: str
    name: str
    description: str
    kind: str
    status: str
    tax_class: str
    divisions: list[str]
    barcodes: list[str]
    weight_g: int | None
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    default_vendor_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class DivisionIn(Input):
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,39}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]


class DivisionOut(Output):
    code: str
    name: str
    active: bool
