"""Items: create one (with its barcodes, divisions, kit components and customs facts), change its status,
backorderability and default vendor, and read them (one, a page, a search as you type)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ordersmith.catalog import rules
from ordersmith.catalog.service._common import (
    Item,
    ItemHit,
    _check_gtin,
    _item,
    _row_by_sku,
    _snapshot,
)
from ordersmith.catalog.service.categories import assignable, under
from ordersmith.catalog.tables import (
    DivisionRow,
    ItemBarcodeRow,
    ItemDivisionRow,
    ItemRow,
    KitComponentRow,
    PersonalizationTemplateRow,
)
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform import custom_fields as custom
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page


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
    category: str | None = None,
    custom_fields: Mapping[str, Any] | None = None,
) -> Item:
    """Create an item, audited, with an `item.created` event. A kit lists its components as (SKU, quantity).

    Raises:
        ValidationFailed: malformed SKU, unknown kind, status or division, an invalid GTIN, an unknown or
            inactive category (a variant's is its style's), or a custom field's bad value (`custom_fields.<name>`).
        AlreadyExists: the SKU (in any letter case) or a barcode is taken.
    """
    checked = custom.check_values(uow, kind="item", values=custom_fields or {}, creating=True)
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
    if style_id is None:  # a variant takes its style's category as it stands (even one made inactive since)
        category = assignable(uow, category)
    now = uow.now()
    row = ItemRow(
        id=new_id(), sku=sku.strip(), sku_key=rules.sku_key(sku), name=name.strip(), description=description,
        kind=kind, status=status, tax_class=tax_class, weight_g=weight_g, length_mm=length_mm, width_mm=width_mm,
        height_mm=height_mm, default_vendor_id=default_vendor_id, created_at=now, updated_at=now, version=1,
        style_id=style_id, variant=variant, personalization_template=personalization_template,
        backorderable=backorderable, hs_code=hs_code, country_of_origin=country_of_origin, category=category,
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
    custom.write_values(uow, kind="item", record_id=row.id, checked=checked)
    item = _item(uow, uow.session.get(ItemRow, row.id) or row)
    after = _snapshot(item)
    if checked:
        after["custom_fields"] = custom.shown(uow, kind="item", checked=checked)
    uow.audit("item.created", object_type="item", object_id=str(row.id), after=after)
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


@use_case
def set_custom_fields(uow: UnitOfWork, *, sku: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set (or, with null, clear) an item's custom field values; the others stay. Audited with before and after.

    Raises:
        NotFound: no such item. ValidationFailed: an unknown field or a bad value (`custom_fields.<name>`).
    """
    row = _row_by_sku(uow, sku)
    checked = custom.check_values(uow, kind="item", values=values, creating=False)
    before = custom.read_values(uow, kind="item", record_id=row.id)
    custom.write_values(uow, kind="item", record_id=row.id, checked=checked)
    after = custom.read_values(uow, kind="item", record_id=row.id)
    if after != before:
        row.version += 1
        row.updated_at = uow.now()
        uow.audit("item.custom_fields_changed", object_type="item", object_id=str(row.id),
                  before={"custom_fields": before}, after={"custom_fields": after})  # fmt: skip
        uow.emit("item.custom_fields_changed", {"id": str(row.id), "sku": row.sku, "fields": sorted(values)})
    return after


@use_case(readonly=True)
def get_item(uow: UnitOfWork, *, sku: str) -> Item:
    """The item with this SKU (any letter case). Raises NotFound."""
    return _item(uow, _row_by_sku(uow, sku))


@use_case(readonly=True)
def get_item_by_id(uow: UnitOfWork, *, item_id: uuid.UUID) -> Item:
    row = uow.session.get(ItemRow, item_id)
    if row is None:
        raise NotFound("no such item")
    return _item(uow, row)


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
    cursor: str | None = None, custom_filters: Mapping[str, str] | None = None, category: str | None = None,
) -> Page[Item]:  # fmt: skip
    """Items in SKU order, optionally of one division or status, of a category (or any category below it), or
    with custom field values (`custom_filters`, by field name; an unknown field or a value of the wrong type is a
    ValidationFailed naming `custom.<name>`)."""
    query = sa.select(ItemRow)
    for matching in custom.matching(uow, kind="item", filters=custom_filters or {}):
        query = query.where(ItemRow.id.in_(matching))
    if division:
        query = query.where(
            ItemRow.id.in_(sa.select(ItemDivisionRow.item_id).where(ItemDivisionRow.division == division))
        )
    if status:
        query = query.where(ItemRow.status == status)
    if category:
        query = query.where(ItemRow.category.in_(under([category])))
    return keyset_page(uow, query, keys=[ItemRow.sku_key], to_item=lambda r: _item(uow, r), cursor=cursor,
                       limit=limit)  # fmt: skip
