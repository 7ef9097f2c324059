"""The customer invoice: Letter portrait, the bill for an order.

Lines with their prices, then the subtotal, discounts, shipping, taxes, total, amount paid and balance due, all
taken from the model (whose construction checked that they add up), and how to pay.
"""

from __future__ import annotations

from fpdf.enums import XPos, YPos

from .canvas import FONT, LINE_MM, Cell, Column, DocumentPage, midnight
from .model import CustomerInvoice, DocumentLine
from .text import address_lines, date_text, money_text

_MONEY_MM = 30


def customer_invoice_pdf(invoice: CustomerInvoice) -> bytes:
    """Render a customer invoice as PDF bytes (byte-identical for the same invoice)."""
    pdf = DocumentPage(
        title="Invoice", reference=f"No. {invoice.invoice_number}", created_at=midnight(invoice.issued_on)
    )
    pdf.add_page()
    _heading(pdf, invoice)
    _parties(pdf, invoice)
    columns = [Column("#", 8), Column("SKU", 38), Column("Item", pdf.epw - 8 - 38 - 14 - 2 * _MONEY_MM)]
    columns += [Column("Qty", 14, "R"), Column("Unit price", _MONEY_MM, "R"), Column("Total", _MONEY_MM, "R")]
    pdf.start_table(columns)
    for line in invoice.lines:
        pdf.row(_cells(line))
    pdf.end_table()
    _totals(pdf, invoice)
    if invoice.payment_instructions:
        pdf.keep_together(pdf.text_height(invoice.payment_instructions, pdf.epw) + 8)
        pdf.paragraph("How to pay", style="B", size=10)
        pdf.paragraph(invoice.payment_instructions)
    return pdf.finish()


def _heading(pdf: DocumentPage, invoice: CustomerInvoice) -> None:
    top = pdf.y
    half = pdf.epw / 2
    seller_bottom = pdf.block(
        "From", address_lines(invoice.retailer), x=pdf.l_margin, y=top, width_mm=half - 4
    )
    facts = [("Invoice date", date_text(invoice.issued_on)), ("Order", invoice.order_number)]
    if invoice.ordered_on is not None:
        facts.append(("Order date", date_text(invoice.ordered_on)))
    if invoice.due_on is not None:
        facts.append(("Due date", date_text(invoice.due_on)))
    if invoice.terms:
        facts.append(("Terms", invoice.terms))
    pdf.set_xy(pdf.l_margin + half, top)
    for label, value in facts:
        pdf.set_font(FONT, "B", 9)
        pdf.cell(30, LINE_MM + 0.4, f"{label}:")
        pdf.set_font(FONT, size=9)
        pdf.cell(half - 30, LINE_MM + 0.4, value, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_x(pdf.l_margin + half)
    pdf.set_xy(pdf.l_margin, max(seller_bottom, pdf.y) + 4)


def _parties(pdf: DocumentPage, invoice: CustomerInvoice) -> None:
    top = pdf.y
    half = pdf.epw / 2
    bottom = pdf.block("Bill to", address_lines(invoice.bill_to), x=pdf.l_margin, y=top, width_mm=half - 4)
    if invoice.ship_to is not None:
        shipped = address_lines(invoice.ship_to)
        bottom = max(bottom, pdf.block("Ship to", shipped, x=pdf.l_margin + half, y=top, width_mm=half - 4))
    pdf.set_xy(pdf.l_margin, bottom + 4)


def _cells(line: DocumentLine) -> list[str | Cell]:
    amount = line.amount
    assert amount is not None, "checked when the invoice was built"
    item = "\n".join([line.name, *(f"{key}: {value}" for key, value in line.personalization.items())])
    unit_price = money_text(line.unit_price) if line.unit_price is not None else ""
    return [str(line.line_no), line.sku, item, str(line.quantity), unit_price, Cell(money_text(amount), "B")]


def _totals(pdf: DocumentPage, invoice: CustomerInvoice) -> None:
    rows = [("Subtotal", money_text(invoice.subtotal))]
    rows += [(discount.label, money_text(-discount.amount)) for discount in invoice.discounts]
    rows += [(charge.label, money_text(charge.amount)) for charge in [*invoice.shipping, *invoice.taxes]]
    rows.append(("Total", money_text(invoice.total)))
    bold = 1
    if invoice.amount_paid is not None:
        rows += [
            ("Amount paid", money_text(invoice.amount_paid)),
            ("Balance due", money_text(invoice.balance_due)),
        ]
        bold = 3
    pdf.totals(rows, bold_last=bold)
