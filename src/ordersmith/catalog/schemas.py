"""Catalog API models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ordersmith.catalog.rules import Template
from ordersmith.catalog.styles import Style
from ordersmith.platform.schemas import CurrencyCode, CustomValues, Input, MoneyAmount, MoneyOut, Output


class KitComponentIn(Input):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(gt=0, le=10_000)]


CategoryCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$",
        description="a merchandise category's code (any letter case)",
        examples=["KITCHEN"],
    ),
]

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
    weight_g: Annotated[int | None, Field(ge=0, le=10_000_000)] = None
    length_mm: Annotated[int | None, Field(ge=0, le=100_000)] = None
    width_mm: Annotated[int | None, Field(ge=0, le=100_000)] = None
    height_mm: Annotated[int | None, Field(ge=0, le=100_000)] = None
    components: list[KitComponentIn] = Field(default=[], description="a kit's components")
    personalization_template: Annotated[str | None, Field(max_length=60, description="a template's code")] = (
        None
    )
    backorderable: bool = Field(default=False, description="orders may take more than is in stock")
    hs_code: Annotated[
        str | None, Field(max_length=12, description="customs tariff number, e.g. 6109.10")
    ] = None
    country_of_origin: Annotated[str | None, Field(min_length=2, max_length=2)] = None
    category: CategoryCode | None = None
    custom_fields: CustomValues = {}


class ComponentOut(Output):
    sku: str
    quantity: int = Field(description="units of this SKU in one kit")


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
    variant: dict[str, str] | None
    personalization_template: str | None
    backorderable: bool
    hs_code: str | None = None
    country_of_origin: str | None = None
    category: str | None = Field(
        default=None, description="the merchandise category (a variant: its style's)"
    )
    components: list[ComponentOut] = Field(
        default=[], description="a kit's components; empty for other kinds"
    )
    custom_fields: dict[str, Any] = Field(default={}, description="the item's custom field values, by name")
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


class CategoryIn(Input):
    code: CategoryCode
    name: Annotated[str, Field(min_length=1, max_length=200)]
    parent: CategoryCode | None = Field(
        default=None, description="the category it sits under; none: top level"
    )


class CategoryPatch(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    parent: CategoryCode | None = Field(
        default=None, description="move it (and everything under it) here; null: to the top level"
    )
    active: bool | None = Field(
        default=None, description="an inactive category is given to no more items; those that have it keep it"
    )


class CategoryOut(Output):
    code: str
    name: str
    parent: str | None
    path: str = Field(description="the codes from the top down, e.g. APPAREL/TOPS/TEES")
    depth: int = Field(description="0 at the top level")
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int


class CategoryAssignmentIn(Input):
    category: CategoryCode | None = Field(description="the category's code; null: in no category")


class TemplateFieldIn(Input):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    kind: Literal["text", "choice", "font", "thread_colour"]
    label: Annotated[str, Field(min_length=1, max_length=100)]
    required: bool = False
    max_length: Annotated[int | None, Field(ge=1, le=500)] = None
    characters: Literal["letters", "letters_digits", "monogram", "printable"] | None = None
    options: list[Annotated[str, Field(min_length=1, max_length=60)]] = []
    surcharge: MoneyAmount | None = None
    per_character: MoneyAmount | None = None


class TemplateIn(Input):
    code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,59}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    currency: CurrencyCode = "USD"
    non_returnable: bool = False
    fields: Annotated[list[TemplateFieldIn], Field(min_length=1, max_length=50)]


class TemplateFieldOut(BaseModel):
    name: str
    kind: str
    label: str
    required: bool
    max_length: int | None
    characters: str | None
    options: list[str]
    surcharge: MoneyAmount | None
    per_character: MoneyAmount | None


class TemplateOut(BaseModel):
    code: str
    name: str
    currency: str
    non_returnable: bool
    fields: list[TemplateFieldOut]

    @classmethod
    def of(cls, template: Template) -> TemplateOut:
        return cls(
            code=template.code, name=template.name, currency=template.currency,
            non_returnable=template.non_returnable,
            fields=[
                TemplateFieldOut(
                    name=f.name, kind=f.kind, label=f.label, required=f.required, max_length=f.max_length,
                    characters=f.characters, options=list(f.options),
                    surcharge=str(f.surcharge.amount) if f.surcharge else None,
                    per_character=str(f.per_character.amount) if f.per_character else None,
                )
                for f in template.fields
            ],
        )  # fmt: skip


class QuoteIn(Input):
    values: dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=500)]]


class QuoteOut(BaseModel):
    values: dict[str, str]
    surcharge: MoneyOut
    non_returnable: bool


class AxisIn(Input):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,29}$")]
    values: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=20)]], Field(min_length=1, max_length=100)
    ]


class StyleIn(Input):
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,29}$")]
    name: Annotated[str, Field(min_length=1, max_length=300)]
    axes: Annotated[list[AxisIn], Field(min_length=1, max_length=4)]
    divisions: list[Annotated[str, Field(max_length=40)]] = []
    tax_class: Annotated[str, Field(min_length=1, max_length=40)] = "standard"
    category: CategoryCode | None = Field(
        default=None, description="the style's and every variant's category"
    )


class AxisValueIn(Input):
    value: Annotated[str, Field(min_length=1, max_length=20)]


class VariantOut(Output):
    sku: str
    values: dict[str, str]
    status: str


class StyleOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    axes: list[dict[str, object]]
    divisions: list[str]
    category: str | None
    created_at: datetime
    variants: list[VariantOut]

    @classmethod
    def of(cls, style: Style) -> StyleOut:
        return cls(
            id=style.id, code=style.code, name=style.name, divisions=style.divisions, created_at=style.created_at,
            category=style.category,
            axes=[{"name": n, "values": v} for n, v in style.axes],
            variants=[VariantOut.model_validate(v) for v in style.variants],
        )  # fmt: skip


class ItemStatusIn(Input):
    status: ItemStatus


class BackorderableIn(Input):
    backorderable: bool
