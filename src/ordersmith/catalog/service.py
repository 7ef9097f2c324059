"""Catalog use cases: the only way other contexts reach items and divisions.

Invariants: a SKU is unique case-insensitively; every barcode is a valid GTIN and belongs to one item; an item
belongs only to divisions that exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from stdnum import ean

from ordersmith.catalog import rules
from ordersmith.catalog.tables import (
    DivisionRow,
    ItemBarcodeRow,
    ItemDivisionRow,
    ItemRow,
    KitComponentRow,
    PersonalizationTemplateRow,
    StyleRow,
)
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page


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
    components: list[Component] = field(default_factory=list)  # a kit's: what one kit is made of

    @property
    def keeps_stock(self) -> bool:
        return self.kind in rules.STOCK_KEEPING_KINDS


@dataclass(frozen=True)
class Component:
    sku: str
    quantity: int


_ITEMS = ItemRow.__table__
# Hot-path statements are built once: SQLAlchemy then only binds parameters (no per-call construction).
_ITEM_REF_BY_SKU_KEY = sa.select(_ITEMS.c.id, _ITEMS.c.sku, _ITEMS.c.kind).where(
    _ITEMS.c.sku_key == sa.bindparam("sku_key")
)
_ACTIVE_DIVISION_CODES = (
    sa.select(DivisionRow.__table__.c.code)
    .where(DivisionRow.__table__.c.active.is_(True))
    .order_by(DivisionRow.__table__.c.code)
)


DIVISION_CACHE_TTL = timedelta(seconds=30)


@use_case(readonly=True)
def division_codes(uow: UnitOfWork) -> list[str]:
    """The active divisions' codes (hot paths: per-division availability in every `stock.changed`). Divisions
    change rarely: a short-lived cache per database; this process's own changes clear it at once, another
    process's take effect within DIVISION_CACHE_TTL."""
    cached: tuple[datetime, list[str]] | None = uow.db.caches.get("catalog.divisions")
    now = uow.now()
    if cached is not None and timedelta(0) <= now - cached[0] < DIVISION_CACHE_TTL:
        return list(cached[1])
    codes = list(uow.execute_core(_ACTIVE_DIVISION_CODES).scalars())
    uow.db.caches["catalog.divisions"] = (now, codes)
    return list(codes)


@use_case(readonly=True)
def list_divisions(uow: UnitOfWork) -> list[Division]:
    rows = uow.session.scalars(sa.select(DivisionRow).order_by(DivisionRow.code))
    return [Division(code=r.code, name=r.name, active=r.active) for r in rows]


@use_case
def create_division(uow: UnitOfWork, *, code: str, name: str) -> Division:
    """Add a division (e.g. `wholesale`) that items, locations and channels can belong to.

    Raises:
        AlreadyExists: the code is taken.
    """
    uow.insert_unique(
        DivisionRow, DivisionRow(code=code, name=name.strip(), active=True), f"division {code!r} exists"
    )
    uow.db.caches.pop("catalog.divisions", None)
    uow.audit("division.created", object_type="division", object_id=code, after={"name": name})
    return Division(code=code, name=name.strip(), active=True)


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
        hs_code=row.hs_code, country_of_origin=row.country_of_origin, components=components,
    )  # fmt: skip


def _customs(hs_code: str | None, country: str | None) -> tuple[str | None, str | None]:
    """An HS code of 6 to 10 digits (dots allowed: 6109.10) and a two-letter country, or ValidationFailed."""
    if hs_code is not None:
        digits = hs_code.replace(".", "").strip()
        if not (digits.isascii() and digits.isdigit() and 6 <= len(digits) <= 10):
            raise ValidationFailed.on("hs_code", "6 to 10 digits of the Harmonized System (dots allowed)")
        hs_code = hs_code.strip()
    if country is not None:
        country = country.strip().upper()
        if not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise ValidationFailed.on("country_of_origin", "a two-letter ISO 3166 country code")
    return hs_code, country


def _snapshot(item: Item) -> dict[str, Any]:
    return {"sku": item.sku, "name": item.name, "kind": item.kind, "status": item.status,
            "divisions": item.divisions, "barcodes": item.barcodes, "backorderable": item.backorderable}  # fmt: skip


@use_case
def create_item(
    uow: UnitOfWork,
    *,
    sku: str,
    name: str,
    kind: str = "stocked",
    status: str = "active",
    description: str = "",
    tax_class: str = "standard",
    divisions: list[str] | None = None,
    barcodes: list[str] | None = None,
    weight_g: int | None = None,
    length_mm: int | None = None,
    width_mm: int | None = None,
    height_mm: int | None = None,
    default_vendor_id: uuid.UUID | None = None,
    components: list[tuple[str, int]] | None = None,
    style_id: uuid.UUID | None = None,
    variant: dict[str, str] | None = None,
    personalization_template: str | None = None,
    backorderable: bool = False,
    hs_code: str | None = None,
    country_of_origin: str | None = None,
) -> Item:
    """Create an item, audited, with an `item.created` event. A kit lists its components as (SKU, quantity).

    Raises:
        ValidationFailed: malformed SKU, unknown kind, status or division, or an invalid GTIN.
        AlreadyExists: the SKU (in any letter case) or a barcode is taken.
    """
    if not rules.is_valid_sku(sku):
        raise ValidationFailed.on(
            "sku", "1-64 letters, digits, '.', '_', '/' or '-', starting with a letter or digit"
        )
    if kind not in rules.ITEM_KINDS:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(rules.ITEM_KINDS)}")
    if status not in rules.ITEM_STATUSES:
        raise ValidationFailed.on("status", f"must be one of {', '.join(rules.ITEM_STATUSES)}")
    division_codes = sorted(set(divisions or []))
    known = set(uow.session.scalars(sa.select(DivisionRow.code).where(DivisionRow.code.in_(division_codes))))
    if unknown := [d for d in division_codes if d not in known]:
        raise ValidationFailed.on("divisions", f"unknown division(s): {', '.join(unknown)}")
    gtins = sorted({_check_gtin(b) for b in barcodes or []})
    parts = _check_components(uow, kind, components or [])
    if (
        personalization_template is not None
        and uow.session.scalar(
            sa.select(PersonalizationTemplateRow.id).where(
                PersonalizationTemplateRow.code == personalization_template
            )
        )
        is None
    ):
        raise ValidationFailed.on("personalization_template", f"no template {personalization_template!r}")
    hs_code, country_of_origin = _customs(hs_code, country_of_origin)
    now = uow.now()
    row = ItemRow(
        id=new_id(), sku=sku.strip(), sku_key=rules.sku_key(sku), name=name.strip(), description=description,
        kind=kind, status=status, tax_class=tax_class, weight_g=weight_g, length_mm=length_mm, width_mm=width_mm,
        height_mm=height_mm, default_vendor_id=default_vendor_id, created_at=now, updated_at=now, version=1,
        style_id=style_id, variant=variant, personalization_template=personalization_template,
        backorderable=backorderable, hs_code=hs_code, country_of_origin=country_of_origin,
    )  # fmt: skip
    uow.insert_unique(ItemRow, row, f"SKU {sku.strip()!r} exists")
    for gtin in gtins:
        uow.insert_unique(
            ItemBarcodeRow, ItemBarcodeRow(gtin=gtin, item_id=row.id), f"barcode {gtin} is taken"
        )
    for code in division_codes:
        uow.execute_core(sa.insert(ItemDivisionRow.__table__), {"item_id": row.id, "division": code})  # type: ignore[arg-type]
    for component_id, quantity in parts:
        uow.execute_core(
            sa.insert(KitComponentRow.__table__),  # type: ignore[arg-type]
            {"kit_id": row.id, "component_id": component_id, "quantity": quantity},
        )
    item = _item(uow, uow.session.get(ItemRow, row.id) or row)
    uow.audit("item.created", object_type="item", object_id=str(row.id), after=_snapshot(item))
    uow.emit("item.created", {"id": str(row.id), **_snapshot(item)})
    return item


def _check_components(
    uow: UnitOfWork, kind: str, components: list[tuple[str, int]]
) -> list[tuple[uuid.UUID, int]]:
    if kind != "kit":
        if components:
            raise ValidationFailed.on("components", "only kits have components")
        return []
    if not components:
        raise ValidationFailed.on("components", "a kit needs at least one component")
    parts: dict[uuid.UUID, int] = {}
    for sku, quantity in components:
        if quantity <= 0:
            raise ValidationFailed.on("components", f"{sku}: quantity must be greater than zero")
        found = uow.session.execute(
            sa.select(ItemRow.id, ItemRow.kind).where(ItemRow.sku_key == rules.sku_key(sku))
        ).first()
        if found is None:
            raise ValidationFailed.on("components", f"no item with SKU {sku!r}")
        if found.kind not in rules.STOCK_KEEPING_KINDS:
            raise ValidationFailed.on(
                "components", f"{sku} is a {found.kind} item; kit components must keep stock"
            )
        if found.id in parts:
            raise ValidationFailed.on("components", f"{sku} is listed twice")
        parts[found.id] = quantity
    return list(parts.items())


@use_case(readonly=True)
def item_refs(uow: UnitOfWork, *, ids: list[uuid.UUID]) -> dict[uuid.UUID, ItemRef]:
    """Id, SKU and kind of each of these items, in one query."""
    rows = uow.session.execute(
        sa.select(ItemRow.id, ItemRow.sku, ItemRow.kind).where(ItemRow.id.in_(ids))
    ).all()
    return {r.id: ItemRef(id=r.id, sku=r.sku, kind=r.kind) for r in rows}


@use_case(readonly=True)
def kit_components(uow: UnitOfWork, *, kit_id: uuid.UUID) -> list[tuple[ItemRef, int]]:
    """A kit's components and how many of each one kit takes, in a stable (id) order."""
    rows = uow.session.execute(
        sa.select(ItemRow.id, ItemRow.sku, ItemRow.kind, KitComponentRow.quantity)
        .join(KitComponentRow, KitComponentRow.component_id == ItemRow.id)
        .where(KitComponentRow.kit_id == kit_id)
        .order_by(ItemRow.id)
    ).all()
    return [(ItemRef(id=r.id, sku=r.sku, kind=r.kind), r.quantity) for r in rows]


@use_case(readonly=True)
def kits_containing(uow: UnitOfWork, *, item_id: uuid.UUID) -> list[uuid.UUID]:
    """The ids of the kits this item is a component of."""
    return list(
        uow.session.scalars(sa.select(KitComponentRow.kit_id).where(KitComponentRow.component_id == item_id))
    )


@use_case
def set_item_status(uow: UnitOfWork, *, sku: str, status: str) -> Item:
    """Change an item's status, e.g. discontinue one variant of a style while the others sell on."""
    if status not in rules.ITEM_STATUSES:
        raise ValidationFailed.on("status", f"must be one of {', '.join(rules.ITEM_STATUSES)}")
    row = _row_by_sku(uow, sku)
    before = row.status
    row.status = status
    row.version += 1
    row.updated_at = uow.now()
    uow.audit("item.status_changed", object_type="item", object_id=str(row.id), before={"status": before},
              after={"status": status})  # fmt: skip
    uow.emit("item.status_changed", {"id": str(row.id), "sku": row.sku, "status": status})
    return _item(uow, row)


@use_case
def set_backorderable(uow: UnitOfWork, *, sku: str, backorderable: bool) -> Item:
    """Allow (or stop) orders taking more of this item than is in stock; the rest waits for the next receipt."""
    row = _row_by_sku(uow, sku)
    if row.backorderable != backorderable:
        row.backorderable = backorderable
        row.version += 1
        row.updated_at = uow.now()
        uow.audit("item.backorderable_changed", object_type="item", object_id=str(row.id),
                  before={"backorderable": not backorderable}, after={"backorderable": backorderable})  # fmt: skip
        uow.emit(
            "item.backorderable_changed", {"id": str(row.id), "sku": row.sku, "backorderable": backorderable}
        )
    return _item(uow, row)


@use_case
def set_default_vendor(uow: UnitOfWork, *, sku: str, vendor_id: uuid.UUID | None) -> None:
    """Record the vendor replenishment buys this item from (purchasing checks the vendor exists)."""
    row = _row_by_sku(uow, sku)
    if row.default_vendor_id == vendor_id:
        return
    before = row.default_vendor_id
    row.default_vendor_id = vendor_id
    row.version += 1
    row.updated_at = uow.now()
    uow.audit("item.default_vendor_changed", object_type="item", object_id=str(row.id),
              before={"default_vendor_id": str(before) if before else None},
              after={"default_vendor_id": str(vendor_id) if vendor_id else None})  # fmt: skip


@use_case(readonly=True)
def default_vendors(uow: UnitOfWork, *, ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID | None]:
    """Each item's default vendor id (None when it has none), in one query."""
    if not ids:
        return {}
    rows = uow.session.execute(sa.select(ItemRow.id, ItemRow.default_vendor_id).where(ItemRow.id.in_(ids)))
    return {item_id: vendor_id for item_id, vendor_id in rows}


@dataclass(frozen=True)
class SellingFacts:
    """What pricing and order capture need to know about an item, read for a whole cart in one query."""

    id: uuid.UUID
    sku: str
    kind: str
    status: str
    tax_class: str
    weight_g: int
    largest_dimension_mm: int
    personalization_template: str | None
    style: str | None
    name: str = ""
    backorderable: bool = False


_SELLING_FACTS = (
    sa.select(_ITEMS.c.id, _ITEMS.c.sku, _ITEMS.c.sku_key, _ITEMS.c.kind, _ITEMS.c.status, _ITEMS.c.tax_class,
              _ITEMS.c.weight_g, _ITEMS.c.length_mm, _ITEMS.c.width_mm, _ITEMS.c.height_mm,
              _ITEMS.c.personalization_template, StyleRow.__table__.c.code.label("style"), _ITEMS.c.name,
              _ITEMS.c.backorderable)
    .outerjoin(StyleRow.__table__, StyleRow.__table__.c.id == _ITEMS.c.style_id)
    .where(_ITEMS.c.sku_key.in_(sa.bindparam("keys", expanding=True)))
)  # fmt: skip


@use_case(readonly=True)
def selling_facts(uow: UnitOfWork, *, skus: list[str]) -> dict[str, SellingFacts]:
    """Facts for each SKU, keyed by its upper-cased SKU. Raises NotFound naming the first SKU that does not exist."""
    keys = [rules.sku_key(sku) for sku in skus]
    found = {
        r.sku_key: SellingFacts(id=r.id, sku=r.sku, kind=r.kind, status=r.status, tax_class=r.tax_class,
                                weight_g=r.weight_g or 0,
                                largest_dimension_mm=max(r.length_mm or 0, r.width_mm or 0, r.height_mm or 0),
                                personalization_template=r.personalization_template, style=r.style, name=r.name,
                                backorderable=r.backorderable)
        for r in uow.execute_core(_SELLING_FACTS, {"keys": sorted(set(keys))})
    }  # fmt: skip
    for sku, key in zip(skus, keys, strict=True):
        if key not in found:
            raise NotFound(f"no item with SKU {sku!r}")
    return found


@use_case(readonly=True)
def style_codes(uow: UnitOfWork, *, ids: list[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """Each item's style code (None for an item outside any style), in one query."""
    if not ids:
        return {}
    rows = uow.session.execute(
        sa.select(ItemRow.id, StyleRow.code)
        .outerjoin(StyleRow, StyleRow.id == ItemRow.style_id)
        .where(ItemRow.id.in_(ids))
    )
    return {item_id: code for item_id, code in rows}


def _row_by_sku(uow: UnitOfWork, sku: str) -> ItemRow:
    row = uow.session.scalar(sa.select(ItemRow).where(ItemRow.sku_key == rules.sku_key(sku)))
    if row is None:
        raise NotFound(f"no item with SKU {sku!r}")
    return row


@use_case(readonly=True)
def get_item(uow: UnitOfWork, *, sku: str) -> Item:
    """The item with this SKU (any letter case). Raises NotFound."""
    return _item(uow, _row_by_sku(uow, sku))


@dataclass(frozen=True)
class ItemRef:
    """The few facts a hot path needs about an item, read in one query."""

    id: uuid.UUID
    sku: str
    kind: str

    @property
    def keeps_stock(self) -> bool:
        return self.kind in rules.STOCK_KEEPING_KINDS


@use_case(readonly=True)
def get_item_ref(uow: UnitOfWork, *, sku: str) -> ItemRef:
    """Id, SKU and kind of the item with this SKU (any letter case). Raises NotFound."""
    found = uow.execute_core(_ITEM_REF_BY_SKU_KEY, {"sku_key": rules.sku_key(sku)}).first()
    if found is None:
        raise NotFound(f"no item with SKU {sku!r}")
    return ItemRef(id=found.id, sku=found.sku, kind=found.kind)


@use_case(readonly=True)
def get_item_by_id(uow: UnitOfWork, *, item_id: uuid.UUID) -> Item:
    row = uow.session.get(ItemRow, item_id)
    if row is None:
        raise NotFound("no such item")
    return _item(uow, row)


@dataclass(frozen=True)
class ItemHit:
    id: uuid.UUID
    sku: str
    name: str
    kind: str
    status: str


@use_case(readonly=True)
def find_items(uow: UnitOfWork, *, q: str, limit: int = 10) -> list[ItemHit]:
    """Items whose SKU starts with, or whose name contains, what was typed (search as you type)."""
    typed = q.strip()
    if len(typed) < 2:
        return []
    rows = uow.session.execute(
        sa.select(ItemRow.id, ItemRow.sku, ItemRow.name, ItemRow.kind, ItemRow.status)
        .where(sa.or_(ItemRow.sku_key.startswith(typed.upper(), autoescape=True),
                      sa.func.lower(ItemRow.name).contains(typed.lower(), autoescape=True)))
        .order_by(ItemRow.sku_key).limit(limit)
    ).all()  # fmt: skip
    return [ItemHit(id=r.id, sku=r.sku, name=r.name, kind=r.kind, status=r.status) for r in rows]


@use_case(readonly=True)
def list_items(
    uow: UnitOfWork, *, division: str | None = None, status: str | None = None, limit: int = 50,
    cursor: str | None = None,
) -> Page[Item]:  # fmt: skip
    """Items in SKU order, optionally of one division or status."""
    query = sa.select(ItemRow)
    if division:
        query = query.where(
            ItemRow.id.in_(sa.select(ItemDivisionRow.item_id).where(ItemDivisionRow.division == division))
        )
    if status:
        query = query.where(ItemRow.status == status)
    return keyset_page(uow, query, keys=[ItemRow.sku_key], to_item=lambda r: _item(uow, r), cursor=cursor,
                       limit=limit)  # fmt: skip


@use_case(readonly=True)
def barcodes_of(uow: UnitOfWork, *, skus: list[str]) -> dict[str, list[str]]:
    """Each SKU's barcodes (GTINs), keyed by the upper-cased SKU, in one query (SKUs without any are absent)."""
    rows = uow.session.execute(
        sa.select(ItemRow.sku_key, ItemBarcodeRow.gtin)
        .join(ItemBarcodeRow, ItemBarcodeRow.item_id == ItemRow.id)
        .where(ItemRow.sku_key.in_(sorted({rules.sku_key(s) for s in skus})))
        .order_by(ItemRow.sku_key, ItemBarcodeRow.gtin)
    ).all()
    found: dict[str, list[str]] = {}
    for key, gtin in rows:
        found.setdefault(key, []).append(gtin)
    return found


@use_case(readonly=True)
def sku_for_barcode(uow: UnitOfWork, *, code: str) -> str | None:
    """The SKU a scanned code names: a GTIN on an item, else the SKU itself (any case); None when neither."""
    code = code.strip()
    # GTINs are stored in one canonical form (14 digits): a scanner reads an EAN-13 or a UPC-A as 13 or 12
    gtin = code.zfill(14) if code.isdigit() and len(code) in (8, 12, 13, 14) else code
    sku = uow.session.scalar(
        sa.select(ItemRow.sku)
        .join(ItemBarcodeRow, ItemBarcodeRow.item_id == ItemRow.id)
        .where(ItemBarcodeRow.gtin == gtin)
    )
    if sku is None:
        sku = uow.session.scalar(sa.select(ItemRow.sku).where(ItemRow.sku_key == rules.sku_key(code)))
    return sku
