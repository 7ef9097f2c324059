"""The kinds of record an import brings in: each a column spec, the key that finds a row's existing record, and a
chunk check that goes through the target context's own schema (the API's) and use case.

Invariant: a row reaches the target's use case only after the API's input schema accepted it; its errors name the
file's column (a list field's element, a money field's part: the column it came from).
"""

from ordersmith.data.imports.kinds import (
    categories,
    customers,
    items,
    orders,
    payables,
    prices,
    purchasing,
    stock,
    styles,
)
from ordersmith.data.imports.kinds._common import Kind, Outcome, Row

KINDS: dict[str, Kind] = {
    "categories": categories.KIND,
    "items": items.KIND,
    "customers": customers.KIND,
    "stock_counts": stock.COUNTS,
    "stock_adjustments": stock.ADJUSTMENTS,
    "prices": prices.KIND,
    "price_lists": prices.PRICE_LISTS,
    "styles": styles.KIND,
    "vendor_items": purchasing.VENDOR_ITEMS,
    "purchase_orders": purchasing.PURCHASE_ORDERS,
    "orders": orders.KIND,
    "vendor_bills": payables.VENDOR_BILLS,
}

__all__ = ["KINDS", "Kind", "Outcome", "Row"]
