"""Orders, their lines, returns, payments and invoices. An anonymized buyer's orders leave out the e-mail (orders keep
it for their books)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersmith.customers.tables import CustomerRow
from ordersmith.data.exports.kinds._base import ExportColumn, ExportKind, amounts, ints, placed_between, texts
from ordersmith.orders.tables import OrderLineRow, OrderRow, ReturnLineRow, ReturnRow
from ordersmith.payments.tables import InvoiceRow, PaymentRow

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
        *texts("number"),
        ExportColumn("placed_at", "datetime"),
        *texts(
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
        *amounts("merchandise", "surcharges", "discounts", "shipping", "tax", "total"),
    ),
    _orders,
    custom_kind="order",
    record_id=orders.c.id,
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
            sa.func.coalesce(lines.c.source_code, orders.c.source_code, "").label("source_code"),
        )
        .select_from(orders.join(lines, lines.c.order_id == orders.c.id))
        .where(*_order_where(filters))
        .order_by(orders.c.placed_at, orders.c.id, lines.c.line_no)
    )


ORDER_LINES = ExportKind(
    "order_lines",
    "Order lines (one row per line, with its order's number, time, channel and status, and the source code the "
    "line counts under: its own, else its order's)",
    ("from", "to", "channel", "status"),
    (
        *texts("order"),
        ExportColumn("placed_at", "datetime"),
        *texts("channel", "status"),
        *ints("line_no"),
        *texts("sku", "name"),
        *ints("quantity", "reserved", "backordered", "cancelled", "shipped", "returned"),
        *texts("currency"),
        *amounts("unit_price", "merchandise", "surcharge", "discount", "tax"),
        *texts("source_code"),
    ),
    _order_lines,
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
        *texts("number", "customer", "order", "terms", "status"),
        ExportColumn("issued_on", "date"),
        ExportColumn("due_on", "date"),
        *texts("currency"),
        *amounts("merchandise", "shipping", "tax", "total", "paid", "balance"),
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
        *texts("order", "channel"),
        *ints("seq"),
        *texts("method", "status"),
        ExportColumn("created_at", "datetime"),
        *texts("currency"),
        *amounts("amount", "authorized", "captured", "refunded"),
        *texts("gateway", "brand", "last_four", "check_number", "check_status"),
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
            sa.func.coalesce(lines.c.source_code, orders.c.source_code, "").label("source_code"),
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
    "Return lines with their RMA's status and refund (the refund figures are the RMA's, repeated on each line) "
    "and the source code each inherits from its order line",
    ("from", "to", "channel", "status"),
    (
        *texts("number", "order", "channel", "status"),
        ExportColumn("authorized_at", "datetime"),
        ExportColumn("received_at", "datetime"),
        *ints("line_no"),
        *texts("sku"),
        *ints("quantity"),
        *texts("reason"),
        *ints("received"),
        *texts("disposition", "currency"),
        *amounts("item_refund", "tax_refund", "shipping_refund", "fee", "refund_due"),
        *texts("source_code"),
    ),
    _returns,
)
