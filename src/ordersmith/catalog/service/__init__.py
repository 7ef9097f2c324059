"""Catalog use cases: the only way other contexts reach items, divisions and categories (one module per kind of
use: divisions, categories, items, and the barcodes and facts other contexts read in bulk; every public name is
here).

Invariants: a SKU is unique case-insensitively; every barcode is a valid GTIN and belongs to one item; an item
belongs only to divisions that exist, and to at most one category (a variant to its style's).
"""

from __future__ import annotations

from ordersmith.catalog.service._common import Component, Division, Item, ItemHit, ItemRef
from ordersmith.catalog.service.bulk import RowOutcome, import_items
from ordersmith.catalog.service.bulk_reads import ItemImport
from ordersmith.catalog.service.categories import (
    KEEP,
    Category,
    category_subtrees,
    create_category,
    get_category,
    list_categories,
    set_item_category,
    set_style_category,
    update_category,
)
from ordersmith.catalog.service.categories import assignable as assignable_category
from ordersmith.catalog.service.divisions import (
    DIVISION_CACHE_TTL,
    create_division,
    division_codes,
    list_divisions,
)
from ordersmith.catalog.service.facts import (
    SellingFacts,
    barcodes_of,
    default_vendors,
    get_item_ref,
    item_refs,
    kit_components,
    kits_containing,
    selling_facts,
    sku_for_barcode,
    style_codes,
)
from ordersmith.catalog.service.items import (
    create_item,
    find_items,
    get_item,
    get_item_by_id,
    list_items,
    set_backorderable,
    set_custom_fields,
    set_default_vendor,
    set_item_status,
)

__all__ = [
    "DIVISION_CACHE_TTL",
    "KEEP",
    "Category",
    "Component",
    "Division",
    "Item",
    "ItemHit",
    "ItemImport",
    "ItemRef",
    "RowOutcome",
    "SellingFacts",
    "assignable_category",
    "barcodes_of",
    "category_subtrees",
    "create_category",
    "create_division",
    "create_item",
    "default_vendors",
    "division_codes",
    "find_items",
    "get_category",
    "get_item",
    "get_item_by_id",
    "get_item_ref",
    "import_items",
    "item_refs",
    "kit_components",
    "kits_containing",
    "list_categories",
    "list_divisions",
    "list_items",
    "selling_facts",
    "set_backorderable",
    "set_custom_fields",
    "set_default_vendor",
    "set_item_category",
    "set_item_status",
    "set_style_category",
    "sku_for_barcode",
    "style_codes",
    "update_category",
]
