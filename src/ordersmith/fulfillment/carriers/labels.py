"""Shipping label documents the sandbox carrier prints: a 4x6 in PDF (fpdf2) with a Code 128 barcode of the
tracking number, and the same label in ZPL II for thermal printers (4x6 in at 203 dpi = 812x1218 dots).

Invariant: both formats carry the tracking number as a Code 128 barcode and as readable text, and the same
addresses, service and reference. The PDF's bars come from python-barcode's Code 128 encoder (it picks the code
set and the check character); fpdf2 draws them as rectangles, so no image or SVG step is involved.
"""

from __future__ import annotations

from dataclasses import dataclass

from barcode.codex import Code128
from fpdf import FPDF

from ordersmith.fulfillment.carriers.base import Address

PAGE_WIDTH_IN = 4.0
PAGE_HEIGHT_IN = 6.0
ZPL_DOTS_PER_INCH = 203


@dataclass(frozen=True)
class LabelContent:
    carrier_title: str
    service_name: str
    tracking_number: str
    reference: str
    ship_from: Address
    ship_to: Address
    weight_g: int
    ship_on_text: str


def _address_lines(address: Address) -> list[str]:
    lines = [address.name, address.company, address.line1, address.line2]
    lines.append(f"{address.city} {address.region} {address.postal_code}".strip())
    lines.append(address.country)
    return [line for line in lines if line]


def _ascii(text: str) -> str:
    """Core PDF fonts and ZPL's default font are Latin-1 / ASCII: replace what they cannot show."""
    return text.encode("ascii", "replace").decode("ascii")


def code128_modules(text: str) -> str:
    """The barcode as a string of modules, "1" for a bar and "0" for a space (quiet zones excluded)."""
    modules: str = Code128(text).build()[0]
    return modules


def render_pdf(content: LabelContent) -> bytes:
    """The label as a one-page 4x6 in PDF."""
    pdf = FPDF(unit="in", format=(PAGE_WIDTH_IN, PAGE_HEIGHT_IN))
    pdf.set_margins(0.2, 0.2, 0.2)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_title(f"Label {content.tracking_number}")
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 0.3, _ascii(content.carrier_title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(0, 0.14, _ascii("FROM: " + ", ".join(_address_lines(content.ship_from))))
    pdf.ln(0.1)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 0.2, "SHIP TO:", new_x="LMARGIN", new_y="NEXT")
    for line in _address_lines(content.ship_to):
        pdf.cell(0, 0.2, _ascii(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(0.1)
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 0.3, _ascii(content.service_name.upper()), new_x="LMARGIN", new_y="NEXT")
    _draw_barcode(pdf, content.tracking_number, top_in=3.4, height_in=1.0)
    pdf.set_xy(0.2, 4.5)
    pdf.set_font("Courier", "B", 12)
    pdf.cell(0, 0.25, f"TRACKING # {content.tracking_number}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 0.2, _ascii(f"Ref: {content.reference}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 0.2, f"Weight: {content.weight_g} g   Ship date: {content.ship_on_text}")
    return bytes(pdf.output())


def _draw_barcode(pdf: FPDF, text: str, *, top_in: float, height_in: float) -> None:
    modules = code128_modules(text)
    usable = PAGE_WIDTH_IN - 0.4
    module_in = usable / len(modules)
    left = 0.2
    run_start = -1
    for index, module in enumerate(modules + "0"):
        if module == "1" and run_start < 0:
            run_start = index
        elif module == "0" and run_start >= 0:
            pdf.rect(
                left + run_start * module_in, top_in, (index - run_start) * module_in, height_in, style="F"
            )
            run_start = -1


def _zpl_text(text: str) -> str:
    """ZPL field data: ASCII, without the command characters ^ and ~."""
    return _ascii(text).replace("^", " ").replace("~", " ")


def render_zpl(content: LabelContent) -> bytes:
    """The label in ZPL II for a 203 dpi printer with 4x6 in stock."""
    width = int(PAGE_WIDTH_IN * ZPL_DOTS_PER_INCH)
    height = int(PAGE_HEIGHT_IN * ZPL_DOTS_PER_INCH)
    commands = ["^XA", "^CI0", f"^PW{width}", f"^LL{height}", "^LH0,0"]
    commands.append(f"^FO40,30^A0N,40,40^FD{_zpl_text(content.carrier_title)}^FS")
    commands.append(f"^FO40,85^A0N,22,22^FDFROM: {_zpl_text(content.ship_from.name)}^FS")
    y = 150
    commands.append(f"^FO40,{y}^A0N,30,30^FDSHIP TO:^FS")
    for line in _address_lines(content.ship_to):
        y += 40
        commands.append(f"^FO40,{y}^A0N,34,34^FD{_zpl_text(line)}^FS")
    commands.append(f"^FO40,{y + 70}^A0N,48,48^FD{_zpl_text(content.service_name.upper())}^FS")
    commands.append("^FO40,560^BY3,3,200")
    commands.append(f"^BCN,200,Y,N,N^FD{_zpl_text(content.tracking_number)}^FS")
    commands.append(f"^FO40,880^A0N,28,28^FDRef: {_zpl_text(content.reference)}^FS")
    commands.append(
        f"^FO40,920^A0N,28,28^FDWeight: {content.weight_g} g  Ship date: {content.ship_on_text}^FS"
    )
    commands.append("^XZ")
    return ("\n".join(commands) + "\n").encode("ascii")


def render_manifest_pdf(*, carrier_title: str, manifest_id: str, ship_on_text: str, rows: list[str]) -> bytes:
    """An end-of-day manifest: a Letter page listing every tracking number, with a barcode of the manifest id."""
    pdf = FPDF(unit="in", format="letter")
    pdf.set_auto_page_break(True, margin=0.5)
    pdf.add_page()
    pdf.set_title(f"Manifest {manifest_id}")
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 0.4, _ascii(f"{carrier_title} manifest {manifest_id}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 0.3, f"Ship date: {ship_on_text}   Parcels: {len(rows)}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", "", 11)
    for row in rows:
        pdf.cell(0, 0.22, _ascii(row), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
