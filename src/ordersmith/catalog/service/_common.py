"""What the catalog's use cases share: the records they answer with (division, item, its reference and search
hit) and how an item row becomes one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from stdnum import ean

from ordersmith.catalog import rules
from ordersmith.catalog.tables import (
    ItemBarcodeRow,
    ItemDivisionRow,
    ItemRow,
    KitComponentRow,
)
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.platform.db import UnitOfWork


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    active: bool


@dataclass(frozen=True)
class Item:
    id: uuid.UUID
    sku: str
    name: str
    description: str
    kind: str
    status: str
    tax_class: str
    weight_g: int | None
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    default_vendor_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int
    barcodes: list[str] = field(default_factory=list)
    divisions: list[str] = field(default_factory=list)
    variant: dict[str, str] | None = None
    personalization_template: str | None = None
    backorderable: bool = False
    hs_code: str | None = None
    country_of_origin: str | None = None
    category: str | None = None  # the merchandise category's code (a variant: its style's)
    components: list[Component] = field(default_factory=list)  # a kit's: what one kit is made of

    @property
    def keeps_stock(self) -> bool:
        return self.kind in rules.STOCK_KEEPING_KINDS


@dataclass(frozen=True)
class Component:
    sku: str
    quantity: int


@dataclass(frozen=True)
class ItemRef:
    """The few facts a hot path needs about an item, read in one query."""

    id: uuid.UUID
    sku: str
    kind: str

    @property
    def keeps_stock(self) -> bool:
        return self.kind in rules.STOCK_KEEPING_KINDS


@dataclass(frozen=True)
class ItemHit:
    id: uuid.UUID
    sku: str
    name: str
    kind: str
    status: str


_ITEMS = ItemRow.__table__


def _check_gtin(gtin: str) -> str:
    value = gtin.strip()
    if not (value.isdigit() and len(value) in (8, 12, 13, 14) and ean.is_valid(value)):
        raise ValidationFailed.on("barcodes", f"{gtin!r} is not a valid GTIN-8, -12, -13 or -14")
    return value.zfill(14)  # one canonical form, so the same code in two lengths is one barcode


def _item(uow: UnitOfWork, row: ItemRow) -> Item:
    barcodes = uow.session.scalars(sa.select(ItemBarcodeRow.gtin).where(ItemBarcodeRow.item_id == row.id))
    divisions = uow.session.scalars(
        sa.select(ItemDivisionRow.division)
        .where(ItemDivisionRow.item_id == row.id)
        .order_by(ItemDivisionRow.division)
    )
    components = []
    if row.kind == "kit":
        components = [Component(sku=r.sku, quantity=r.quantity) for r in uow.session.execute(
            sa.select(ItemRow.sku, KitComponentRow.quantity)
            .join(KitComponentRow, KitComponentRow.component_id == ItemRow.id)
            .where(KitComponentRow.kit_id == row.id).order_by(ItemRow.sku_key))]  # fmt: skip
    return Item(
        id=row.id, sku=row.sku, name=row.name, description=row.description, kind=row.kind, status=row.status,
        tax_class=row.tax_class, weight_g=row.weight_g, length_mm=row.length_mm, width_mm=row.width_mm,
        height_mm=row.height_mm, default_vendor_id=row.default_vendor_id, created_at=row.created_at,
        updated_at=row.updated_at, version=row.version, barcodes=sorted(barcodes), divisions=list(divisions),
        variant=row.variant, personalization_template=row.personalization_template, backorderable=row.backorderable,
        hs_code=row.hs_code, country_of_origin=row.country_of_origin, category=row.category, components=components,
    )  # fmt: skip


def _snapshot(item: Item) -> dict[str, Any]:
    return {"sku": item.sku, "name": item.name, "kind": item.kind, "status": item.status,
            "divisions": item.divisions, "barcodes": item.barcodes, "backorderable": item.backorderable,
            "category": item.category}  # fmt: skip


def _row_by_sku(uow: UnitOfWork, sku: str) -> ItemRow:
    row = uow.session.scalar(sa.select(ItemRow).where(ItemRow.sku_key == rules.sku_key(sku)))
    if row is None:
        raise NotFound(f"no item with SKU {sku!r}")
    return row
