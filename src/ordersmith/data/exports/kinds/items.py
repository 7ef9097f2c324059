"""Items: the catalog's records with their custom fields (one row per item, in SKU order), and the category tree."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersmith.catalog.tables import CategoryRow, ItemRow
from ordersmith.data.exports.kinds._base import ExportColumn, ExportKind, ints, placed_between, texts

items = ItemRow.__table__


def _items(filters: dict[str, Any]) -> sa.Select[Any]:
    where = placed_between(items.c.created_at, filters.get("from"), filters.get("to"))
    if filters.get("status"):
        where.append(items.c.status == filters["status"])
    return (
        sa.select(items.c.sku, items.c.name, items.c.kind, items.c.status, items.c.tax_class,
                  items.c.backorderable, items.c.weight_g, sa.func.coalesce(items.c.hs_code, "").label("hs_code"),
                  sa.func.coalesce(items.c.country_of_origin, "").label("country_of_origin"),
                  sa.func.coalesce(items.c.category, "").label("category"), items.c.created_at)
        .where(*where)
        .order_by(items.c.sku_key)
    )  # fmt: skip


ITEMS = ExportKind(
    "items",
    "Items with their custom fields (one row per item)",
    ("from", "to", "status"),
    (
        *texts("sku", "name", "kind", "status", "tax_class"),
        ExportColumn("backorderable", "bool"),
        *ints("weight_g"),
        *texts("hs_code", "country_of_origin", "category"),
        ExportColumn("created_at", "datetime"),
    ),
    _items,
    custom_kind="item",
    record_id=items.c.id,
)


categories = CategoryRow.__table__


def _categories(filters: dict[str, Any]) -> sa.Select[Any]:
    """Parents before their children (by depth, then path): the file imports back as it is."""
    depth = sa.func.length(categories.c.path) - sa.func.length(sa.func.replace(categories.c.path, "/", ""))
    return sa.select(
        categories.c.code,
        categories.c.name,
        sa.func.coalesce(categories.c.parent_code, "").label("parent"),
        categories.c.active,
    ).order_by(depth, categories.c.path)


CATEGORIES = ExportKind(
    "categories",
    "The merchandise tree (one row per category, each after its parent: the columns of the categories import)",
    (),
    (*texts("code", "name", "parent"), ExportColumn("active", "bool")),
    _categories,
)
