"""Purchasing use cases: vendors and vendor items, purchase orders (draft → approved → sent → partially received →
received → closed, or cancelled), receipts into stock, drop-ship POs (the vendor ships to the customer, nothing
enters our stock), replenishment rules and suggestions.

Invariants: a PO moves only along `rules.TRANSITIONS`, each move one conditional UPDATE; a line never receives
more than ordered plus the vendor's tolerance; every received unit is a `receipt` movement in the stock ledger.
"""

from ordersmith.purchasing.service._common import PurchaseOrder, PurchaseOrderLine, Vendor, VendorItem
from ordersmith.purchasing.service.drop_ship import (
    cancel_drop_ship_units,
    confirm_drop_ship,
    create_drop_ship_order,
    drop_ship_sources,
)
from ordersmith.purchasing.service.orders import (
    NewLine,
    approve,
    cancel,
    close,
    create_purchase_order,
    find_purchase_order,
    get_purchase_order,
    list_purchase_orders,
    send,
)
from ordersmith.purchasing.service.receiving import (
    CostedReceipt,
    CostedReceiptLine,
    Receipt,
    ReceiptLine,
    ReceivedLine,
    costed_receipts,
    receipts_of,
    receive,
)
from ordersmith.purchasing.service.replenishment import (
    ChosenSuggestion,
    ReplenishmentRule,
    Suggestion,
    on_order,
    order_suggestions,
    set_rule,
    suggestions,
)
from ordersmith.purchasing.service.vendors import (
    create_vendor,
    get_vendor,
    import_vendor_item,
    list_vendor_items,
    list_vendors,
    set_vendor_item,
)

__all__ = [
    "ChosenSuggestion",
    "CostedReceipt",
    "CostedReceiptLine",
    "NewLine",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Receipt",
    "ReceiptLine",
    "ReceivedLine",
    "ReplenishmentRule",
    "Suggestion",
    "Vendor",
    "VendorItem",
    "approve",
    "cancel",
    "cancel_drop_ship_units",
    "close",
    "confirm_drop_ship",
    "costed_receipts",
    "create_drop_ship_order",
    "create_purchase_order",
    "create_vendor",
    "drop_ship_sources",
    "find_purchase_order",
    "get_purchase_order",
    "get_vendor",
    "import_vendor_item",
    "list_purchase_orders",
    "list_vendor_items",
    "list_vendors",
    "on_order",
    "order_suggestions",
    "receipts_of",
    "receive",
    "send",
    "set_rule",
    "set_vendor_item",
    "suggestions",
]
