"""What each export kind holds: its typed columns and one query over the owning context's tables (read-only, as
reporting reads them), with its filters. Rows stream from the query in batches; nothing here loads a whole result.

Personal data: an anonymized customer's name, e-mail and phone are never exported (the customer export blanks
them even if a row were left behind, and the order export blanks the e-mail of an anonymized buyer's orders,
which orders keep for their books). The customer export carries the consent flags and can keep only those who
agreed to be contacted one way (`contactable`: email, mail or phone).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ordersmith.data.exports.kinds._base import COLUMN_KINDS, FORMATS, ExportColumn, ExportKind
from ordersmith.data.exports.kinds.customers import CUSTOMERS
from ordersmith.data.exports.kinds.items import CATEGORIES, ITEMS
from ordersmith.data.exports.kinds.orders import INVOICES, ORDER_LINES, ORDERS, PAYMENTS, RETURNS
from ordersmith.data.exports.kinds.stock import INVENTORY, PURCHASE_ORDERS, STOCK_MOVEMENTS
from ordersmith.kernel.clock import FIRST_DAY, LAST_DAY
from ordersmith.kernel.errors import ValidationFailed

__all__ = [
    "COLUMN_KINDS",
    "FILTERS",
    "FORMATS",
    "KINDS",
    "ExportColumn",
    "ExportKind",
    "check_request",
    "query_filters",
]

KINDS: dict[str, ExportKind] = {
    k.name: k
    for k in (
        ORDERS,
        ORDER_LINES,
        CUSTOMERS,
        ITEMS,
        CATEGORIES,
        INVENTORY,
        STOCK_MOVEMENTS,
        PURCHASE_ORDERS,
        INVOICES,
        PAYMENTS,
        RETURNS,
    )
}
FILTERS = ("from", "to", "channel", "status", "location", "contactable")


def check_request(kind: str, format: str, filters: dict[str, Any]) -> dict[str, Any]:
    """The filters an export of `kind` takes, checked: dates as dates (JSON-ready: ISO strings kept), text
    short; anything the kind does not take is refused, naming it.

    Raises:
        ValidationFailed: naming `kind`, `format` or `filters.NAME`.
    """
    export = KINDS.get(kind)
    if export is None:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(KINDS)}")
    if format not in FORMATS:
        raise ValidationFailed.on("format", f"must be one of {', '.join(FORMATS)}")
    checked: dict[str, Any] = {}
    for name, value in filters.items():
        if value in (None, ""):
            continue
        if name not in export.filters:
            raise ValidationFailed.on(f"filters.{name}", f"an export of {kind} takes no such filter")
        text = str(value)
        if name in ("from", "to"):
            try:
                day = date.fromisoformat(text)
            except ValueError:
                raise ValidationFailed.on(f"filters.{name}", "must be a date, YYYY-MM-DD") from None
            if not FIRST_DAY <= day <= LAST_DAY:
                raise ValidationFailed.on(f"filters.{name}", f"must be a date from {FIRST_DAY} to {LAST_DAY}")
        elif name == "contactable" and text not in ("email", "mail", "phone"):
            raise ValidationFailed.on("filters.contactable", "must be one of email, mail, phone")
        elif len(text) > 60 or not text.isprintable():
            raise ValidationFailed.on(f"filters.{name}", "must be printable text of at most 60 characters")
        checked[name] = text
    if "from" in checked and "to" in checked and checked["to"] < checked["from"]:
        raise ValidationFailed.on("filters.to", "must not be before from")
    return checked


def query_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """Checked filters (JSON) as the queries take them: dates as dates."""
    return {k: date.fromisoformat(v) if k in ("from", "to") else v for k, v in filters.items()}
