"""Barcodes and facts: what other contexts' hot paths read about items, each for many items in one query (ids and
kinds, kit components, default vendors, selling facts, style codes, barcodes, the SKU a scanned code names)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from ordersmith.catalog import rules
from ordersmith.catalog.service._common import (
    _ITEMS,
    ItemRef,
)
from ordersmith.catalog.tables import (
    ItemBarcodeRow,
    ItemRow,
    KitComponentRow,
    StyleRow,
)
from ordersmith.kernel.errors import NotFound
from ordersmith.platform.db import UnitOfWork, use_case

_ITEM_REF_BY_SKU_KEY = sa.select(_ITEMS.c.id, _ITEMS.c.sku, _ITEMS.c.kind).where(
    _ITEMS.c.sku_key == sa.bindparam("sku_key")
)

# Built once (stock's hot paths ask for the refs of every item they touch): only the ids are bound.
_ITEM_REFS = sa.select(_ITEMS.c.id, _ITEMS.c.sku, _ITEMS.c.kind).where(
    _ITEMS.c.id.in_(sa.bindparam("ids", expanding=True))
)


@use_case(readonly=True)
def item_refs(uow: UnitOfWork, *, ids: list[uuid.UUID]) -> dict[uuid.UUID, ItemRef]:
    """Id, SKU and kind of each of these items, in one query."""
    rows = uow.execute_core(_ITEM_REFS, {"ids": ids}).all()
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


@use_case(readonly=True)
def get_item_ref(uow: UnitOfWork, *, sku: str) -> ItemRef:
    """Id, SKU and kind of the item with this SKU (any letter case). Raises NotFound."""
    found = uow.execute_core(_ITEM_REF_BY_SKU_KEY, {"sku_key": rules.sku_key(sku)}).first()
    if found is None:
        raise NotFound(f"no item with SKU {sku!r}")
    return ItemRef(id=found.id, sku=found.sku, kind=found.kind)


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
