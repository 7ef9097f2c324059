"""The commercial invoice: Letter portrait, the customs declaration for an international shipment.

Every line carries its HS code, country of origin, quantity, unit value, net weight and value; the totals printed
are the model's (the sum of the lines plus freight and insurance), never summed again here. It ends with the
exporter's declaration, the signatory's name and the date.
"""

from __future__ import annotations

from decimal import Decimal

from fpdf.enums import XPos, YPos

from .canvas import FONT, LINE_MM, Cell, Column, DocumentPage, midnight
from .model import CommercialInvoice, DocumentLine
from .text import address_lines, date_text, money_text

_COLUMNS = (
    Column("#", 8),
    Column("Description", 58.9),
    Column("HS code", 22),
    Column("Origin", 14),
    Column("Qty", 12, "R"),
    Column("Unit value", 25, "R"),
    Column("Net kg", 20, "R"),
    Column("Value", 32, "R"),
)


def kilograms(grams: int) -> str:
    """Grams as kilograms with three decimals (1250 -> "1.250"), exactly."""
    return f"{Decimal(grams).scaleb(-3):.3f}"


def commercial_invoice_pdf(invoice: CommercialInvoice) -> bytes:
    """Render a commercial invoice as PDF bytes (byte-identical for the same invoice)."""
    pdf = DocumentPage(
        title="Commercial invoice",
        reference=f"Invoice {invoice.invoice_number}",
        created_at=midnight(invoice.issued_on),
        header_barcode=invoice.shipment_number,
    )
    pdf.add_page()
    _facts(pdf, invoice)
    _parties(pdf, invoice)
    pdf.start_table(_COLUMNS)
    for line in invoice.lines:
        pdf.row(_cells(line))
    pdf.end_table()
    _totals(pdf, invoice)
    _declaration(pdf, invoice)
    return pdf.finish()


def _facts(pdf: DocumentPage, invoice: CommercialInvoice) -> None:
    facts = [
        ("Date", date_text(invoice.issued_on)),
        ("Shipment", invoice.shipment_number),
        ("Order", invoice.order_number or "-"),
        ("Tracking", invoice.tracking_number or "-"),
        ("Packages", str(invoice.package_count)),
        ("Incoterm", invoice.incoterm),
        ("Currency", invoice.currency),
        ("Reason for export", invoice.export_reason),
    ]
    half = pdf.epw / 2
    for index, (label, value) in enumerate(facts):
        pdf.set_font(FONT, "B", 9)
        pdf.cell(32, LINE_MM + 0.4, f"{label}:")
        pdf.set_font(FONT, size=9)
        last_in_row = index % 2 == 1
        pdf.cell(
            half - 32,
            LINE_MM + 0.4,
            value,
            new_x=XPos.LMARGIN if last_in_row else XPos.RIGHT,
            new_y=YPos.NEXT if last_in_row else YPos.TOP,
        )
    pdf.ln(4)


def _parties(pdf: DocumentPage, invoice: CommercialInvoice) -> None:
    top = pdf.y
    half = pdf.epw / 2
    left = pdf.block(
        "Shipper / exporter", address_lines(invoice.shipper), x=pdf.l_margin, y=top, width_mm=half - 4
    )
    consignee = address_lines(invoice.consignee)
    right = pdf.block("Consignee", consignee, x=pdf.l_margin + half, y=top, width_mm=half - 4)
    pdf.set_xy(pdf.l_margin, max(left, right) + 4)


def _cells(line: DocumentLine) -> list[str | Cell]:
    amount = line.amount
    assert line.unit_price is not None, "checked when the invoice was built"
    assert amount is not None, "checked when the invoice was built"
    return [
        str(line.line_no),
        f"{line.name}\nSKU {line.sku}",
        line.hs_code or "",
        line.country_of_origin or "",
        str(line.quantity),
        f"{line.unit_price.amount:,}",
        kilograms((line.weight_g or 0) * line.quantity),
        Cell(f"{amount.amount:,}", "B"),
    ]


def _totals(pdf: DocumentPage, invoice: CommercialInvoice) -> None:
    rows = [
        ("Total quantity", str(invoice.total_quantity)),
        ("Total net weight (kg)", kilograms(invoice.total_weight_g)),
        ("Lines total", money_text(invoice.lines_total)),
    ]
    if invoice.freight is not None:
        rows.append(("Freight", money_text(invoice.freight)))
    if invoice.insurance is not None:
        rows.append(("Insurance", money_text(invoice.insurance)))
    rows.append(("Total value", money_text(invoice.total_value)))
    pdf.totals(rows)


def _declaration(pdf: DocumentPage, invoice: CommercialInvoice) -> None:
    pdf.keep_together(pdf.text_height(invoice.declaration, pdf.epw) + 30)
    pdf.paragraph("Declaration", style="B", size=10)
    pdf.paragraph(invoice.declaration)
    pdf.ln(10)
    pdf.set_draw_color(0)
    pdf.line(pdf.l_margin, pdf.y, pdf.l_margin + 80, pdf.y)
    pdf.ln(1)
    signatory = invoice.signature_name
    if invoice.signature_title:
        signatory = f"{signatory}, {invoice.signature_title}"
    pdf.paragraph(f"Signature: {signatory}")
    pdf.paragraph(f"Date: {date_text(invoice.issued_on)}")
