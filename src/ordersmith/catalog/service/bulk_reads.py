"""What the catalog's bulk item import reads before it checks a chunk: its rows (`ItemImport`) and, in one query per
table for the whole chunk, the facts every check needs (`_Facts`: the items named, their barcodes, divisions and
components, the known divisions, templates and active categories, the kit components named, the GTINs' owners and
the existing items' custom values)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.catalog import rules
from ordersmith.catalog.service._common import _check_gtin
from ordersmith.catalog.tables import (
    CategoryRow,
    DivisionRow,
    ItemBarcodeRow,
    ItemDivisionRow,
    ItemRow,
    KitComponentRow,
    PersonalizationTemplateRow,
)
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform import custom_fields as custom
from ordersmith.platform.db import UnitOfWork


@dataclass(frozen=True)
class ItemImport:
    """One row: `values` holds the fields its file sets (the same names as `create_item`'s arguments;
    components as (SKU, quantity)). A field the file has no column for keeps its value on an existing item.
    `custom_fields`: custom field values by name, as the API takes them (None clears one)."""

    sku: str
    values: dict[str, Any]
    custom_fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class _Facts:
    """What the checks need, read in one query per table for the whole chunk."""

    items: dict[str, dict[str, Any]]  # by SKU key
    barcodes: dict[uuid.UUID, list[str]]
    divisions_of: dict[uuid.UUID, list[str]]
    components_of: dict[uuid.UUID, list[tuple[uuid.UUID, int]]]
    known_divisions: set[str]
    templates: set[str]
    categories: set[str]  # the active categories' codes
    parts: dict[str, tuple[uuid.UUID, str]]  # component SKU key → (id, kind)
    gtin_owner: dict[str, uuid.UUID]
    custom_values: dict[uuid.UUID, dict[str, Any]]  # existing items' custom values (when rows carry some)

    @classmethod
    def read(cls, uow: UnitOfWork, rows: list[ItemImport]) -> _Facts:
        table = cast(sa.Table, ItemRow.__table__)
        keys = sorted({rules.sku_key(r.sku) for r in rows if rules.is_valid_sku(r.sku)})
        items = (
            {
                m["sku_key"]: dict(m)
                for m in uow.execute_core(sa.select(table).where(table.c.sku_key.in_(keys))).mappings()
            }
            if keys
            else {}
        )
        ids = [m["id"] for m in items.values()]
        barcodes: dict[uuid.UUID, list[str]] = {}
        divisions_of: dict[uuid.UUID, list[str]] = {}
        components_of: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = {}
        if ids:
            for item_id, gtin in uow.execute_core(
                sa.select(ItemBarcodeRow.item_id, ItemBarcodeRow.gtin).where(ItemBarcodeRow.item_id.in_(ids))
            ):
                barcodes.setdefault(item_id, []).append(gtin)
            for item_id, code in uow.execute_core(
                sa.select(ItemDivisionRow.item_id, ItemDivisionRow.division).where(
                    ItemDivisionRow.item_id.in_(ids)
                )
            ):
                divisions_of.setdefault(item_id, []).append(code)
            for kit_id, part_id, quantity in uow.execute_core(
                sa.select(
                    KitComponentRow.kit_id, KitComponentRow.component_id, KitComponentRow.quantity
                ).where(KitComponentRow.kit_id.in_(ids))
            ):
                components_of.setdefault(kit_id, []).append((part_id, quantity))
        wanted_gtins: set[str] = set()
        part_keys: set[str] = set()
        for row in rows:
            for code in row.values.get("barcodes") or []:
                try:
                    wanted_gtins.add(_check_gtin(code))
                except ValidationFailed:
                    continue
            part_keys |= {rules.sku_key(sku) for sku, _ in row.values.get("components") or []}
        gtin_owner = (
            dict(
                uow.execute_core(  # a Result has keys(): dict() would take it for a mapping without .all()
                    sa.select(ItemBarcodeRow.gtin, ItemBarcodeRow.item_id).where(
                        ItemBarcodeRow.gtin.in_(sorted(wanted_gtins))
                    )
                )
                .tuples()
                .all()
            )
            if wanted_gtins
            else {}
        )
        parts = (
            {
                key: (item_id, kind)
                for key, item_id, kind in uow.execute_core(
                    sa.select(ItemRow.sku_key, ItemRow.id, ItemRow.kind).where(
                        ItemRow.sku_key.in_(sorted(part_keys))
                    )
                ).tuples()
            }
            if part_keys
            else {}
        )
        custom_values = (
            custom.read_values_many(uow, kind="item", record_ids=ids)
            if ids and any(row.custom_fields for row in rows)
            else {}
        )
        known_divisions = set(uow.execute_core(sa.select(DivisionRow.code)).scalars())
        templates = set(uow.execute_core(sa.select(PersonalizationTemplateRow.code)).scalars())
        categories = (
            set(uow.execute_core(sa.select(CategoryRow.code).where(CategoryRow.active.is_(True))).scalars())
            if any(row.values.get("category") for row in rows)
            else set()
        )
        return cls(
            items=items,
            barcodes=barcodes,
            divisions_of=divisions_of,
            components_of=components_of,
            known_divisions=known_divisions,
            templates=templates,
            categories=categories,
            parts=parts,
            gtin_owner=gtin_owner,
            custom_values=custom_values,
        )
