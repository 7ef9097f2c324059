"""What each export kind holds: its typed columns and one query over the owning context's tables (read-only, as
reporting reads them), with its filters. Rows stream from the query in batches; nothing here loads a whole result.

Personal data: an anonymized customer's name, e-mail and phone are never exported (the customer export blanks
them even if a row were left behind, and the order export blanks the e-mail of an anonymized buyer's orders,
which orders keep for their books). The customer export carries the consent flags and can keep only those who
agreed to be contacted one way (`contactable`: email, mail or phone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.catalog.tables import ItemRow
from ordersmith.customers.tables import CustomerEmailRow, CustomerPhoneRow, CustomerRow
from ordersmith.inventory.tables import LocationRow, StockLevelRow, StockMovementRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.orders.tables import OrderLineRow, OrderRow, ReturnLineRow, ReturnRow
from ordersmith.payments.tables import InvoiceRow, PaymentRow
from ordersmith.purchasing.tables import PurchaseOrderLineRow, PurchaseOrderRow, VendorRow

COLUMN_KINDS = ("text", "int", "money", "datetime", "date", "bool")
FORMATS = ("csv", "xlsx", "parquet")


@dataclass(frozen=True)
class ExportColumn:
    name: str
    kind: str
    currency_column: str | None = None  # money: the column naming its currency

    def __post_init__(self) -> None:
        assert self.kind in COLUMN_KINDS, self.kind


@dataclass(frozen=True)
class ExportKind:
    name: str
    description: str
    filters: tuple[str, ...]
    columns: tuple[ExportColumn, ...]
    query: Callable[[dict[str, Any]], sa.Select[Any]]


def placed_between(column: Any, start: date | None, end: date | None) -> list[sa.ColumnElement[bool]]:
    """`start` ≤ column < the day after `end` (UTC days); open where None."""
    where: list[sa.ColumnElement[bool]] = []
    if start is not None:
        where.append(column >= datetime.combine(start, time(), tzinfo=UTC))
    if end is not None:
        where.append(column < datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC))
    return where


def _text(*names: str) -> list[ExportColumn]:
    return [ExportColumn(n, "text") for n in names]


def _int(*names: str) -> list[ExportColumn]:
    return [ExportColumn(n, "int") for n in names]


def _money(*names: str) -> list[ExportColumn]:
    return [ExportColumn(n, "money", currency_column="currency") for n in names]


orders, lines = OrderRow.__table__, OrderLineRow.__table__
customers = CustomerRow.__table__


def _order_where(filters: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    where = placed_between(orders.c.placed_at, filters.get("from"), filters.get("to"))
    if filters.get("channel"):
        where.append(orders.c.channel == filters["channel"])
    if filters.get("status"):
        where.append(orders.c.status == filters["status"])
    return where


def _orders(filters: dict[str, Any]) -> sa.Select[Any]:
    email = sa.case((customers.c.anonymized_at.is_(None), orders.c.email), else_="")
    return (
        sa.select(
            orders.c.number,
            orders.c.placed_at,
            orders.c.channel,
            orders.c.division,
            orders.c.status,
            orders.c.payment_status,
            orders.c.fulfillment_status,
            orders.c.customer_number,
            email.label("email"),
            sa.func.coalesce(orders.c.source_code, "").label("source_code"),
            orders.c.currency,
            orders.c.merchandise_minor,
            orders.c.surcharges_minor,
            orders.c.discounts_minor,
            orders.c.shipping_minor,
            orders.c.tax_minor,
            orders.c.total_minor,
        )
        .select_from(orders.outerjoin(customers, customers.c.id == orders.c.customer_id))
        .where(*_order_where(filters))
        .order_by(orders.c.placed_at, orders.c.id)
    )


ORDERS = ExportKind(
    "orders",
    "Orders with their totals (one row per order)",
    ("from", "to", "channel", "status"),
    (
        *_text("number"),
        ExportColumn("placed_at", "datetime"),
        *_text(
            "channel",
            "division",
            "status",
            "payment_status",
            "fulfillment_status",
            "customer_number",
            "email",
            "source_code",
            "currency",
        ),
        *_money("merchandise", "surcharges", "discounts", "shipping", "tax", "total"),
    ),
    _orders,
)


def _order_lines(filters: dict[str, Any]) -> sa.Select[Any]:
    return (
        sa.select(
            orders.c.number,
            orders.c.placed_at,
            orders.c.channel,
            orders.c.status,
            lines.c.line_no,
            lines.c.sku,
            lines.c.name,
            lines.c.quantity,
            lines.c.reserved,
            lines.c.backordered,
            lines.c.cancelled,
            lines.c.shipped,
            lines.c.returned,
            orders.c.currency,
            lines.c.unit_price_minor,
            lines.c.merchandise_minor,
            lines.c.surcharge_minor,
            lines.c.discount_minor,
            lines.c.tax_minor,
        )
        .select_from(orders.join(lines, lines.c.order_id == orders.c.id))
        .where(*_order_where(filters))
        .order_by(orders.c.placed_at, orders.c.id, lines.c.line_no)
    )


ORDER_LINES = ExportKind(
    "order_lines",
    "Order lines (one row per line, with its order's number, time, channel and status)",
    ("from", "to", "channel", "status"),
    (
        *_text("order"),
        ExportColumn("placed_at", "datetime"),
        *_text("channel", "status"),
        *_int("line_no"),
        *_text("sku", "name"),
        *_int("quantity", "reserved", "backordered", "cancelled", "shipped", "returned"),
        *_text("currency"),
        *_money("unit_price", "merchandise", "surcharge", "discount", "tax"),
    ),
    _order_lines,
)


def _customers(filters: dict[str, Any]) -> sa.Select[Any]:
    emails, phones = CustomerEmailRow.__table__, CustomerPhoneRow.__table__
    email = (
        sa.select(emails.c.customer_id, sa.func.min(emails.c.email).label("email"))
        .where(emails.c.is_primary.is_(True))
        .group_by(emails.c.customer_id)
        .subquery("primary_email")
    )
    phone = (
        sa.select(phones.c.customer_id, sa.func.min(phones.c.phone).label("phone"))
        .where(phones.c.is_primary.is_(True))
        .group_by(phones.c.customer_id)
        .subquery("primary_phone")
    )
    present = customers.c.anonymized_at.is_(None)

    def personal(column: Any, name: str) -> Any:
        return sa.case((present, sa.func.coalesce(column, "")), else_="").label(name)

    where: list[sa.ColumnElement[bool]] = [customers.c.merged_into_id.is_(None)]
    where += placed_between(customers.c.created_at, filters.get("from"), filters.get("to"))
    contactable = filters.get("contactable")
    if contactable:
        flag = {
            "email": customers.c.do_not_email,
            "mail": customers.c.do_not_mail,
            "phone": customers.c.do_not_call,
        }
        where += [present, flag[contactable].is_(False)]
    return (
        sa.select(
            customers.c.number,
            customers.c.kind,
            customers.c.status,
            customers.c.customer_group,
            personal(customers.c.first_name, "first_name"),
            personal(customers.c.last_name, "last_name"),
            personal(customers.c.company, "company"),
            personal(customers.c.display_name, "display_name"),
            personal(email.c.email, "email"),
            personal(phone.c.phone, "phone"),
            customers.c.default_country,
            customers.c.do_not_mail,
            customers.c.do_not_email,
            customers.c.do_not_call,
            customers.c.created_channel,
            customers.c.source_code,
            customers.c.created_at,
            sa.not_(present).label("anonymized"),
        )
        .select_from(
            customers.outerjoin(email, email.c.customer_id == customers.c.id).outerjoin(
                phone, phone.c.customer_id == customers.c.id
            )
        )
        .where(*where)
        .order_by(customers.c.created_at, customers.c.id)
    )


CUSTOMERS = ExportKind(
    "customers",
    "Customers (merged duplicates left out) with their consent flags; an anonymized customer's personal fields "
    "are empty",
    ("from", "to", "contactable"),
    (
        *_text(
            "number",
            "kind",
            "status",
            "customer_group",
            "first_name",
            "last_name",
            "company",
            "display_name",
            "email",
            "phone",
            "country",
        ),
        ExportColumn("do_not_mail", "bool"),
        ExportColumn("do_not_email", "bool"),
        ExportColumn("do_not_call", "bool"),
        *_text("created_channel", "source_code"),
        ExportColumn("created_at", "datetime"),
        ExportColumn("anonymized", "bool"),
    ),
    _customers,
)

items, locations = ItemRow.__table__, LocationRow.__table__


def _location(filters: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    return [locations.c.code == filters["location"]] if filters.get("location") else []


def _inventory(filters: dict[str, Any]) -> sa.Select[Any]:
    levels = StockLevelRow.__table__
    return (
        sa.select(
            items.c.sku,
            items.c.name,
            locations.c.code,
            levels.c.on_hand,
            levels.c.reserved,
            (levels.c.on_hand - levels.c.reserved).label("available"),
            levels.c.safety_stock,
            levels.c.updated_at,
        )
        .select_from(
            levels.join(items, items.c.id == levels.c.item_id).join(
                locations, locations.c.id == levels.c.location_id
            )
        )
        .where(*_location(filters))
        .order_by(items.c.sku, locations.c.code)
    )


INVENTORY = ExportKind(
    "inventory",
    "Inventory positions: on hand, reserved and available per item and location",
    ("location",),
    (
        *_text("sku", "name", "location"),
        *_int("on_hand", "reserved", "available", "safety_stock"),
        ExportColumn("updated_at", "datetime"),
    ),
    _inventory,
)


def _movements(filters: dict[str, Any]) -> sa.Select[Any]:
    moves = StockMovementRow.__table__
    return (
        sa.select(
            moves.c.at,
            items.c.sku,
            locations.c.code,
            moves.c.on_hand_delta,
            moves.c.reserved_delta,
            moves.c.reason,
            moves.c.reference,
            moves.c.actor,
        )
        .select_from(
            moves.join(items, items.c.id == moves.c.item_id).join(
                locations, locations.c.id == moves.c.location_id
            )
        )
        .where(*placed_between(moves.c.at, filters.get("from"), filters.get("to")), *_location(filters))
        .order_by(moves.c.at, moves.c.id)
    )


STOCK_MOVEMENTS = ExportKind(
    "stock_movements",
    "The stock movement ledger",
    ("from", "to", "location"),
    (
        ExportColumn("at", "datetime"),
        *_text("sku", "location"),
        *_int("on_hand_delta", "reserved_delta"),
        *_text("reason", "reference", "actor"),
    ),
    _movements,
)


def _purchase_orders(filters: dict[str, Any]) -> sa.Select[Any]:
    pos, po_lines, vendors = PurchaseOrderRow.__table__, PurchaseOrderLineRow.__table__, VendorRow.__table__
    where = placed_between(pos.c.created_at, filters.get("from"), filters.get("to"))
    if filters.get("status"):
        where.append(pos.c.status == filters["status"])
    return (
        sa.select(
            pos.c.number,
            vendors.c.code,
            locations.c.code.label("location"),
            pos.c.kind,
            pos.c.status,
            pos.c.created_at,
            po_lines.c.line_no,
            items.c.sku,
            po_lines.c.ordered,
            po_lines.c.received,
            po_lines.c.cancelled,
            pos.c.currency,
            po_lines.c.unit_cost_minor,
            po_lines.c.expected_on,
        )
        .select_from(
            pos.join(po_lines, po_lines.c.purchase_order_id == pos.c.id)
            .join(vendors, vendors.c.id == pos.c.vendor_id)
            .join(locations, locations.c.id == pos.c.location_id)
            .join(items, items.c.id == po_lines.c.item_id)
        )
        .where(*where)
        .order_by(pos.c.created_at, pos.c.id, po_lines.c.line_no)
    )


PURCHASE_ORDERS = ExportKind(
    "purchase_orders",
    "Purchase order lines with their PO's vendor, location, kind and status",
    ("from", "to", "status"),
    (
        *_text("number", "vendor", "location", "kind", "status"),
        ExportColumn("created_at", "datetime"),
        *_int("line_no"),
        *_text("sku"),
        *_int("ordered", "received", "cancelled"),
        *_text("currency"),
        *_money("unit_cost"),
        ExportColumn("expected_on", "date"),
    ),
    _purchase_orders,
)


def _invoices(filters: dict[str, Any]) -> sa.Select[Any]:
    invoices = InvoiceRow.__table__
    where: list[sa.ColumnElement[bool]] = []
    if filters.get("from"):
        where.append(invoices.c.issued_on >= filters["from"])
    if filters.get("to"):
        where.append(invoices.c.issued_on <= filters["to"])
    if filters.get("status"):
        where.append(invoices.c.status == filters["status"])
    return (
        sa.select(
            invoices.c.number,
            invoices.c.customer_number,
            invoices.c.order_number,
            invoices.c.terms,
            invoices.c.status,
            invoices.c.issued_on,
            invoices.c.due_on,
            invoices.c.currency,
            invoices.c.merchandise_minor,
            invoices.c.shipping_minor,
            invoices.c.tax_minor,
            invoices.c.total_minor,
            invoices.c.paid_minor,
            (invoices.c.total_minor - invoices.c.paid_minor).label("balance"),
        )
        .where(*where)
        .order_by(invoices.c.issued_on, invoices.c.number)
    )


INVOICES = ExportKind(
    "invoices",
    "Invoices on account with what was paid and what is still open",
    ("from", "to", "status"),
    (
        *_text("number", "customer", "order", "terms", "status"),
        ExportColumn("issued_on", "date"),
        ExportColumn("due_on", "date"),
        *_text("currency"),
        *_money("merchandise", "shipping", "tax", "total", "paid", "balance"),
    ),
    _invoices,
)


def _payments(filters: dict[str, Any]) -> sa.Select[Any]:
    payments = PaymentRow.__table__
    where = placed_between(payments.c.created_at, filters.get("from"), filters.get("to"))
    if filters.get("status"):
        where.append(payments.c.status == filters["status"])
    if filters.get("channel"):
        where.append(orders.c.channel == filters["channel"])
    return (
        sa.select(
            orders.c.number,
            orders.c.channel,
            payments.c.seq,
            payments.c.method,
            payments.c.status,
            payments.c.created_at,
            payments.c.currency,
            payments.c.amount_minor,
            payments.c.authorized_minor,
            payments.c.captured_minor,
            payments.c.refunded_minor,
            payments.c.gateway,
            payments.c.brand,
            payments.c.last_four,
            payments.c.check_number,
            payments.c.check_status,
        )
        .select_from(payments.join(orders, orders.c.id == payments.c.order_id))
        .where(*where)
        .order_by(payments.c.created_at, payments.c.id)
    )


PAYMENTS = ExportKind(
    "payments",
    "Payments (tenders) of orders: method, status and amounts authorized, captured and refunded (cards as brand "
    "and last four only)",
    ("from", "to", "channel", "status"),
    (
        *_text("order", "channel"),
        *_int("seq"),
        *_text("method", "status"),
        ExportColumn("created_at", "datetime"),
        *_text("currency"),
        *_money("amount", "authorized", "captured", "refunded"),
        *_text("gateway", "brand", "last_four", "check_number", "check_status"),
    ),
    _payments,
)


def _returns(filters: dict[str, Any]) -> sa.Select[Any]:
    returns, return_lines = ReturnRow.__table__, ReturnLineRow.__table__
    where = placed_between(returns.c.authorized_at, filters.get("from"), filters.get("to"))
    if filters.get("status"):
        where.append(returns.c.status == filters["status"])
    if filters.get("channel"):
        where.append(orders.c.channel == filters["channel"])
    return (
        sa.select(
            returns.c.number,
            orders.c.number.label("order"),
            orders.c.channel,
            returns.c.status,
            returns.c.authorized_at,
            returns.c.received_at,
            return_lines.c.line_no,
            lines.c.sku,
            return_lines.c.quantity,
            return_lines.c.reason,
            return_lines.c.received,
            return_lines.c.disposition,
            returns.c.currency,
            returns.c.item_refund_minor,
            returns.c.tax_refund_minor,
            returns.c.shipping_refund_minor,
            returns.c.fee_minor,
            returns.c.refund_due_minor,
        )
        .select_from(
            returns.join(return_lines, return_lines.c.return_id == returns.c.id)
            .join(orders, orders.c.id == returns.c.order_id)
            .join(
                lines,
                sa.and_(lines.c.order_id == returns.c.order_id, lines.c.line_no == return_lines.c.line_no),
            )
        )
        .where(*where)
        .order_by(returns.c.authorized_at, returns.c.id, return_lines.c.line_no)
    )


RETURNS = ExportKind(
    "returns",
    "Return lines with their RMA's status and refund (the refund figures are the RMA's, repeated on each line)",
    ("from", "to", "channel", "status"),
    (
        *_text("number", "order", "channel", "status"),
        ExportColumn("authorized_at", "datetime"),
        ExportColumn("received_at", "datetime"),
        *_int("line_no"),
        *_text("sku"),
        *_int("quantity"),
        *_text("reason"),
        *_int("received"),
        *_text("disposition", "currency"),
        *_money("item_refund", "tax_refund", "shipping_refund", "fee", "refund_due"),
    ),
    _returns,
)

KINDS: dict[str, ExportKind] = {
    k.name: k
    for k in (
        ORDERS,
        ORDER_LINES,
        CUSTOMERS,
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
                date.fromisoformat(text)
            except ValueError:
                raise ValidationFailed.on(f"filters.{name}", "must be a date, YYYY-MM-DD") from None
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
