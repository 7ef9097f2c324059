"""POS use cases: stores and registers, the catalog slice for offline selling, till sales in exactly once (placed
through checkout, or flagged for the store manager when a sale handed over offline can no longer be filled), the
manager's work on flagged sales, and shifts with their cash drawer's count.

Invariants: one sale id is at most one order and its cash is counted into its shift once; no card is asked for
inside a transaction (checkout's rule); a flagged sale is kept until a manager places or resolves it.
"""

from ordersmith.channels.pos.service._common import Address, Register, Sale, Shift, Store
from ordersmith.channels.pos.service.catalog import (
    CatalogSlice,
    Elsewhere,
    SliceItem,
    catalog_slice,
    elsewhere,
    lookup,
)
from ordersmith.channels.pos.service.flags import list_flagged, place_flagged, resolve_flagged
from ordersmith.channels.pos.service.receipts import email_receipt, receipt
from ordersmith.channels.pos.service.sales import (
    Rung,
    SaleFlagged,
    SaleRequest,
    TenderText,
    get_sale,
    quote_sale,
    ring_up,
)
from ordersmith.channels.pos.service.setup import (
    CARRY_OUT,
    StoreSettings,
    create_register,
    get_register,
    get_store,
    list_registers,
    list_stores,
    put_store,
    update_register,
)
from ordersmith.channels.pos.service.shifts import (
    ShiftOpen,
    close_shift,
    count_cash_refund,
    get_shift,
    list_shifts,
    open_shift,
)
from ordersmith.channels.pos.service.store_returns import StoreReturn, return_in_store
from ordersmith.orders.service import ReturnLineRequest

__all__ = [
    "CARRY_OUT",
    "Address",
    "CatalogSlice",
    "Elsewhere",
    "Register",
    "ReturnLineRequest",
    "Rung",
    "Sale",
    "SaleFlagged",
    "SaleRequest",
    "Shift",
    "ShiftOpen",
    "SliceItem",
    "Store",
    "StoreReturn",
    "StoreSettings",
    "TenderText",
    "catalog_slice",
    "close_shift",
    "count_cash_refund",
    "create_register",
    "elsewhere",
    "email_receipt",
    "get_register",
    "get_sale",
    "get_shift",
    "get_store",
    "list_flagged",
    "list_registers",
    "list_shifts",
    "list_stores",
    "lookup",
    "open_shift",
    "place_flagged",
    "put_store",
    "quote_sale",
    "receipt",
    "resolve_flagged",
    "return_in_store",
    "ring_up",
    "update_register",
]
