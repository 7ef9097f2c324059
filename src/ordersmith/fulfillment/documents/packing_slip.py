"""The packing slip: Letter portrait, one per shipment, packed in the box.

It shows who shipped what to whom (every line with its SKU, name, quantity and personalization), the gift
message, and how to return it: the instructions, the return code and a QR code of the returns URL. Code 128
barcodes of the order and shipment numbers let the packing station scan the slip. Prices appear only when the
slip asks for them (`show_prices`), never on a slip with a gift message.
"""

from __future__ import annotations

from fpdf.enums import XPos, YPos

from .canvas import FONT, LINE_MM, Cell, Column, DocumentPage, midnight
from .model import DocumentLine, PackingSlip
from .text import address_lines, date_text, money_text

BARCODE_HEIGHT_MM = 10
QR_SIZE_MM = 30
RETURNS_BLOCK_MM = 48


def packing_slip_pdf(slip: PackingSlip) -> bytes:
    """Render a packing slip as PDF bytes (byte-identical for the same slip)."""
    pdf = DocumentPage(
        title="Packing slip", reference=f"Order {slip.order_number}", created_at=midnight(slip.ordered_on)
    )
    pdf.add_page()
    _heading(pdf, slip)
    _addresses(pdf, slip)
    if slip.gift_message:
        _gift_message(pdf, slip.gift_message)
    _lines(pdf, slip)
    _returns(pdf, slip)
    return pdf.finish()


def _heading(pdf: DocumentPage, slip: PackingSlip) -> None:
    top = pdf.y
    left_width = pdf.epw * 0.55
    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(left_width, 7, slip.retailer_logo_text or slip.retailer.name, new_x=XPos.LEFT)
    pdf.set_font(FONT, size=8)
    pdf.multi_cell(left_width, 3.6, "\n".join(address_lines(slip.retailer)), new_x=XPos.LMARGIN)
    left_bottom = pdf.y
    x = pdf.l_margin + left_width + 4
    width = pdf.epw - left_width - 4
    y = top
    for label, value in (("Order", slip.order_number), ("Shipment", slip.shipment_number)):
        pdf.barcode(value, x=x, y=y, height_mm=BARCODE_HEIGHT_MM, max_width_mm=width)
        pdf.set_xy(x, y + BARCODE_HEIGHT_MM + 0.5)
        pdf.set_font(FONT, size=8)
        pdf.cell(width, 3.6, f"{label} {value}")
        y += BARCODE_HEIGHT_MM + 6
    pdf.set_xy(pdf.l_margin, max(left_bottom, y) + 2)
    facts = [f"Order date: {date_text(slip.ordered_on)}", f"Shipment: {slip.shipment_number}"]
    if slip.channel:
        facts.append(f"Channel: {slip.channel}")
    if slip.tracking_number:
        facts.append(f"Tracking: {slip.tracking_number}")
    pdf.paragraph("    ".join(facts))
    pdf.ln(2)


def _addresses(pdf: DocumentPage, slip: PackingSlip) -> None:
    top = pdf.y
    half = pdf.epw / 2
    bottom = pdf.block("Ship to", address_lines(slip.ship_to), x=pdf.l_margin, y=top, width_mm=half - 4)
    if slip.bill_to is not None:
        billed = address_lines(slip.bill_to)
        bottom = max(bottom, pdf.block("Bill to", billed, x=pdf.l_margin + half, y=top, width_mm=half - 4))
    pdf.set_xy(pdf.l_margin, bottom + 4)


def _gift_message(pdf: DocumentPage, message: str) -> None:
    height = pdf.text_height(message, pdf.epw - 6, style="I", size=11) + LINE_MM + 4
    if pdf.will_page_break(height):
        pdf.add_page()
    top = pdf.y
    pdf.set_draw_color(120)
    pdf.rect(pdf.l_margin, top, pdf.epw, height, style="D")
    pdf.set_draw_color(0)
    pdf.set_xy(pdf.l_margin + 3, top + 2)
    pdf.set_font(FONT, "B", 8)
    pdf.cell(0, LINE_MM, "GIFT MESSAGE", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "I", 11)
    pdf.multi_cell(pdf.epw - 6, LINE_MM, message, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_xy(pdf.l_margin, top + height + 4)


def _item_text(line: DocumentLine) -> str:
    parts = [line.name]
    parts.extend(f"{key}: {value}" for key, value in line.personalization.items())
    if line.gift_message:
        parts.append(f"Gift message: {line.gift_message}")
    return "\n".join(parts)


def _lines(pdf: DocumentPage, slip: PackingSlip) -> None:
    prices = slip.show_prices and not slip.gift_message
    money_width = 28 if prices else 0
    columns = [Column("#", 10), Column("SKU", 40), Column("Item", pdf.epw - 10 - 40 - 16 - 2 * money_width)]
    columns.append(Column("Qty", 16, "R"))
    if prices:
        columns += [Column("Unit price", money_width, "R"), Column("Total", money_width, "R")]
    pdf.start_table(columns)
    for line in slip.lines:
        cells: list[str | Cell] = [
            str(line.line_no),
            Cell(line.sku, "B"),
            _item_text(line),
            str(line.quantity),
        ]
        if prices:
            amount = line.amount
            cells.append(money_text(line.unit_price) if line.unit_price is not None else "")
            cells.append(money_text(amount) if amount is not None else "")
        pdf.row(cells)
    pdf.end_table()
    units = sum(line.quantity for line in slip.lines)
    pdf.paragraph(f"{len(slip.lines)} lines, {units} units", style="B")
    pdf.ln(4)


def _returns(pdf: DocumentPage, slip: PackingSlip) -> None:
    text_width = pdf.epw - QR_SIZE_MM - 8
    height = max(RETURNS_BLOCK_MM, pdf.text_height(slip.return_instructions, text_width) + 5 * LINE_MM)
    if pdf.will_page_break(height):
        pdf.add_page()
    top = pdf.y
    pdf.set_draw_color(0)
    pdf.line(pdf.l_margin, top, pdf.w - pdf.r_margin, top)
    pdf.set_xy(pdf.l_margin, top + 2)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(text_width, 6, "Returns", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.paragraph(slip.return_instructions, width_mm=text_width)
    if slip.returns_code:
        pdf.paragraph(f"Return code: {slip.returns_code}", style="B", width_mm=text_width)
    pdf.paragraph(slip.returns_url, width_mm=text_width)
    pdf.qr_code(slip.returns_url, x=pdf.w - pdf.r_margin - QR_SIZE_MM, y=top + 4, size_mm=QR_SIZE_MM)
    pdf.set_xy(pdf.l_margin, max(pdf.y, top + QR_SIZE_MM + 8))
