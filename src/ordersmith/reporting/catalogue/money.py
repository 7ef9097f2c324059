"""Money owed and owing: accounts-receivable aging of invoices on account, the overdue invoices behind it, and
gift-card and store-credit balances outstanding.

An invoice's open balance is its total less what was paid on it; only `open` invoices count (paid and void ones
owe nothing). Aging is by days past the due date as of a day (default: today, UTC).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from ordersmith.payments.rules import AGING_BUCKETS, aging_due_bounds
from ordersmith.payments.tables import GiftCardRow, InvoiceRow
from ordersmith.reporting.catalogue._base import QueryContext, Report
from ordersmith.reporting.catalogue._sql import zero
from ordersmith.reporting.rules import (
    AS_OF,
    Chart,
    Column,
    Parameter,
    ReportSpec,
)

invoices = InvoiceRow.__table__
CUSTOMER = Parameter("customer", "text", "Customer number")


def _open_invoices(params: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    where = [invoices.c.status == "open", invoices.c.total_minor > invoices.c.paid_minor]
    if params.get("customer"):
        where.append(invoices.c.customer_number == params["customer"])
    return where


def _ar_aging(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    balance = invoices.c.total_minor - invoices.c.paid_minor
    as_of: date = params["as_of"]
    buckets = []
    for name, earliest, latest in aging_due_bounds(as_of):
        inside = []
        if earliest is not None:
            inside.append(invoices.c.due_on >= earliest)
        if latest is not None:
            inside.append(invoices.c.due_on <= latest)
        buckets.append(zero(sa.func.sum(sa.case((sa.and_(*inside), balance), else_=0))).label(name))
    return (
        sa.select(
            invoices.c.customer_number.label("customer"),
            sa.func.count().label("invoices"),
            invoices.c.currency.label("currency"),
            *buckets,
            sa.func.sum(balance).label("total"),
        )
        .where(*_open_invoices(params))
        .group_by(invoices.c.customer_number, invoices.c.currency)
        .order_by(sa.desc("total"), invoices.c.customer_number)
    )


AR_AGING = Report(
    ReportSpec(
        name="ar_aging",
        title="Accounts receivable aging",
        description="Open balances of invoices on account per customer, by days past due as of a day: current "
        "(not yet due), 1-30, 31-60, 61-90, 91-120 and over 120 days.",
        parameters=(AS_OF, CUSTOMER),
        columns=(
            Column("customer", "Customer", "text"),
            Column("invoices", "Open invoices", "int"),
            Column("currency", "Currency", "text"),
            *(
                Column(name, label, "money", currency_column="currency")
                for name, label, _l, _h in AGING_BUCKETS
            ),
            Column("total", "Total open", "money", currency_column="currency"),
        ),
        chart=Chart("stacked_bar", x="customer", y="total"),
        behind="payments' invoices (status open; total - paid) by due_on",
    ),
    _ar_aging,
)


def _overdue(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    return (
        sa.select(
            invoices.c.number.label("invoice"),
            invoices.c.customer_number.label("customer"),
            invoices.c.order_number.label("order"),
            invoices.c.terms.label("terms"),
            invoices.c.issued_on.label("issued_on"),
            invoices.c.due_on.label("due_on"),
            invoices.c.currency.label("currency"),
            invoices.c.total_minor.label("total"),
            invoices.c.paid_minor.label("paid"),
            (invoices.c.total_minor - invoices.c.paid_minor).label("balance"),
        )
        .where(*_open_invoices(params), invoices.c.due_on < params["as_of"])
        .order_by(invoices.c.due_on, invoices.c.number)
    )


def _days_overdue(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    row["days_overdue"] = (params["as_of"] - _as_date(row["due_on"])).days
    return row


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


OVERDUE_INVOICES = Report(
    ReportSpec(
        name="overdue_invoices",
        title="Overdue invoices",
        description="Every open invoice on account past its due date as of a day, oldest due first.",
        parameters=(AS_OF, CUSTOMER),
        columns=(
            Column("invoice", "Invoice", "text"),
            Column("customer", "Customer", "text"),
            Column("order", "Order", "text"),
            Column("terms", "Terms", "text"),
            Column("issued_on", "Issued", "date"),
            Column("due_on", "Due", "date"),
            Column("days_overdue", "Days overdue", "int"),
            Column("currency", "Currency", "text"),
            Column("total", "Total", "money", currency_column="currency"),
            Column("paid", "Paid", "money", currency_column="currency"),
            Column("balance", "Balance", "money", currency_column="currency"),
        ),
        chart=Chart("bar", x="invoice", y="balance"),
        behind="payments' invoices (status open, due_on before the day)",
    ),
    _overdue,
    _days_overdue,
)


def _gift_cards(params: dict[str, Any], ctx: QueryContext) -> sa.Select[Any]:
    cards = GiftCardRow.__table__
    where = [cards.c.status == "active"]
    if params.get("kind"):
        where.append(cards.c.kind == params["kind"])
    return (
        sa.select(
            cards.c.kind.label("kind"),
            sa.func.count().label("cards"),
            sa.func.count(sa.case((cards.c.balance_minor > 0, 1))).label("with_balance"),
            cards.c.currency.label("currency"),
            sa.func.sum(cards.c.initial_minor).label("issued"),
            sa.func.sum(cards.c.balance_minor).label("outstanding"),
        )
        .where(*where)
        .group_by(cards.c.kind, cards.c.currency)
        .order_by(cards.c.kind, cards.c.currency)
    )


GIFT_CARDS_OUTSTANDING = Report(
    ReportSpec(
        name="gift_cards_outstanding",
        title="Gift cards and store credit outstanding",
        description="Active gift cards and store credit: how many, how many still hold a balance, what they were "
        "issued for and the balance outstanding (a liability until redeemed).",
        parameters=(Parameter("kind", "choice", "Kind", choices=("gift_card", "store_credit")),),
        columns=(
            Column("kind", "Kind", "text"),
            Column("cards", "Active cards", "int"),
            Column("with_balance", "With a balance", "int"),
            Column("currency", "Currency", "text"),
            Column("issued", "Issued value", "money", currency_column="currency"),
            Column("outstanding", "Outstanding", "money", currency_column="currency"),
        ),
        chart=Chart("pie", x="kind", y="outstanding"),
        behind="payments' gift_cards (status active)",
    ),
    _gift_cards,
)

REPORTS = (AR_AGING, OVERDUE_INVOICES, GIFT_CARDS_OUTSTANDING)
