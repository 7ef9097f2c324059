"""Pure catalog rules: SKU normalisation and the item kinds and statuses a retailer uses."""

from __future__ import annotations

import re

ITEM_KINDS = ("stocked", "kit", "non_inventory", "drop_ship", "gift_card")
ITEM_STATUSES = ("active", "discontinued", "inactive")
STOCK_KEEPING_KINDS = frozenset({"stocked"})  # kinds whose units sit in stock_levels

_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


def sku_key(sku: str) -> str:
    """The case-insensitive identity of a SKU: `ab-100` and `AB-100` are the same item."""
    return sku.strip().upper()


def is_valid_sku(sku: str) -> bool:
    return bool(_SKU.match(sku.strip()))
