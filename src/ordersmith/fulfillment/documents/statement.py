"""The customer account statement: Letter portrait, what a customer owes on account as of a day.

Every open invoice (issued, due, total, paid, balance, days past due), the balances by days past due, the total due
and any unapplied cash the customer holds. Its construction checks that the balances add up to the total due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ordersmith.kernel.money import Money

from .canvas import Cell, Column, DocumentPage, midnight
from .model import Party
from .text import address_lines, date_text, money_text

_MONEY_MM = 26


@dataclass(frozen=True, slots=True)
class StatementInvoice:
    invoice: str
    order: str
    issued_on: date
    due_on: date
    total: Money
    paid: Money
    balance: Money
    days_past_due: int


@dataclass(frozen=True, slots=True)
class AccountStatement:
    retailer: Party
    customer: Party
    customer_number: str
    as_of: date
    terms: str
    invoices: tuple[StatementInvoice, ...]
    buckets: tuple[tuple[str, Money], ...]  # label, amount (current, 1-30, …), in one currency
    total_due: Money
    unapplied: Money | None = None
    note: str = ""  # e.g. the credit standing

    def __post_init__(self) -> None:
        currency = self.total_due.currency
        assert all(i.balance.currency == currency for i in self.invoices), "one currency per statement"
        assert sum(i.balance.minor for i in self.invoices) == self.total_due.minor, (
            "balances add to the total"
        )
        assert sum(m.minor for _, m in self.buckets) == self.total_due.minor, "buckets add to the total"


def account_statement_pdf(statement: AccountStatement) -> bytes:
    """Render a customer's account statement as PDF bytes (byte-identical for the same statement)."""
    pdf = DocumentPage(
        title="Statement", reference=statement.customer_number, created_at=midnight(statement.as_of)
    )
    pdf.add_page()
    top, half = pdf.y, pdf.epw / 2
    left = pdf.block("From", address_lines(statement.retailer), x=pdf.l_margin, y=top, width_mm=half - 4)
    facts = [f"Statement date: {date_text(statement.as_of)}", f"Customer: {statement.customer_number}"]
    if statement.terms:
        facts.append(f"Terms: {statement.terms}")
    right = pdf.block("Account", facts, x=pdf.l_margin + half, y=top, width_mm=half - 4)
    pdf.set_xy(pdf.l_margin, max(left, right) + 4)
    bottom = pdf.block("To", address_lines(statement.customer), x=pdf.l_margin, y=pdf.y, width_mm=half - 4)
    pdf.set_xy(pdf.l_margin, bottom + 4)
    rest = pdf.epw - 3 * 24 - 3 * _MONEY_MM - 18
    columns: Sequence[Column] = [
        Column("Invoice", 24),
        Column("Order", rest),
        Column("Issued", 24, "R"),
        Column("Due", 24, "R"),
        Column("Total", _MONEY_MM, "R"),
        Column("Paid", _MONEY_MM, "R"),
        Column("Balance", _MONEY_MM, "R"),
        Column("Days late", 18, "R"),
    ]
    pdf.start_table(columns)
    for item in statement.invoices:
        pdf.row(
            [
                item.invoice,
                item.order,
                date_text(item.issued_on),
                date_text(item.due_on),
                money_text(item.total),
                money_text(item.paid),
                Cell(money_text(item.balance), "B"),
                str(item.days_past_due) if item.days_past_due else "",
            ]
        )
    pdf.end_table()
    rows = [(label, money_text(amount)) for label, amount in statement.buckets]
    rows.append(("Total due", money_text(statement.total_due)))
    if statement.unapplied is not None and statement.unapplied.minor:
        rows.append(("Unapplied payments held", money_text(statement.unapplied)))
    pdf.totals(rows, bold_last=1 if statement.unapplied is None or not statement.unapplied.minor else 2)
    if statement.note:
        pdf.paragraph(statement.note)
    return pdf.finish()
