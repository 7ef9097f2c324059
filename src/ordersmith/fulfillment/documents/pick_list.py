"""The pick list: Letter landscape, one per wave and picker, for batch picking onto a cart of totes.

Page one lists the cart's totes (which order's shipment goes in which tote), then the stops follow in walk
sequence: a checkbox, the bin and its zone/aisle/bay/level, the SKU with a Code 128 barcode (of the GTIN when
there is one), the name, the quantity, and how many units go into which tote. Every page repeats the wave
number with its barcode and the column headings; a stop's row never splits across pages.
"""

from __future__ import annotations

from .canvas import CELL_PAD_MM, Cell, Column, DocumentPage
from .model import PickList, PickStop
from .text import printable

STOP_BARCODE_MM = 8
CHECKBOX_MM = 5

_STOP_COLUMNS = (
    Column("Done", 12),
    Column("Seq", 12, "R"),
    Column("Bin", 42),
    Column("SKU", 64),
    Column("Item", 62),
    Column("Qty", 14, "R"),
    Column("Totes: tote - order / shipment x units", 49.4),
)
_TOTE_COLUMNS = (Column("Tote", 40), Column("Order", 60), Column("Shipment", 60), Column("Units", 20, "R"))


def pick_list_pdf(pick_list: PickList) -> bytes:
    """Render a wave's pick list as PDF bytes (byte-identical for the same pick list)."""
    pdf = DocumentPage(
        title="Pick list",
        reference=f"Wave {pick_list.wave_number}",
        created_at=pick_list.created_at,
        landscape=True,
        header_barcode=pick_list.wave_number,
    )
    pdf.add_page()
    walk = pick_list.walk
    _summary(pdf, pick_list, walk)
    _totes(pdf, walk)
    pdf.start_table(_STOP_COLUMNS)
    for stop in walk:
        _stop(pdf, stop)
    pdf.end_table()
    return pdf.finish()


def _summary(pdf: DocumentPage, pick_list: PickList, walk: list[PickStop]) -> None:
    units = sum(stop.quantity for stop in walk)
    totes = {allocation.tote for stop in walk for allocation in stop.allocations}
    facts = [
        f"Location: {pick_list.location}",
        f"Picker: {pick_list.picker or '-'}",
        f"Created: {pick_list.created_at:%Y-%m-%d %H:%M %Z}".strip(),
        f"{len(walk)} stops, {units} units, {len(totes)} totes",
    ]
    pdf.paragraph("    ".join(facts), style="B", size=10)
    pdf.ln(2)


def _totes(pdf: DocumentPage, walk: list[PickStop]) -> None:
    units: dict[tuple[str, str, str], int] = {}
    for stop in walk:
        for allocation in stop.allocations:
            key = (allocation.tote, allocation.order_number, allocation.shipment_number)
            units[key] = units.get(key, 0) + allocation.quantity
    if not units:
        return
    pdf.start_table(_TOTE_COLUMNS)
    for (tote, order_number, shipment_number), quantity in sorted(units.items()):
        pdf.row([Cell(tote, "B"), order_number, shipment_number, str(quantity)])
    pdf.end_table()
    pdf.ln(2)


def _location(stop: PickStop) -> str:
    # Two labelled parts per line: "Zone A  Aisle 7" then "Bay 1  Level 3" fit the column at 11 pt bold.
    parts = [
        f"{label} {value}"
        for label, value in (
            ("Zone", stop.zone),
            ("Aisle", stop.aisle),
            ("Bay", stop.bay),
            ("Level", stop.level),
        )
        if value
    ]
    return "\n".join([stop.bin, *("  ".join(parts[i : i + 2]) for i in range(0, len(parts), 2))])


def _allocations(stop: PickStop) -> str:
    return "\n".join(
        f"{a.tote} - {a.order_number} / {a.shipment_number} x {a.quantity}" for a in stop.allocations
    )


def _stop(pdf: DocumentPage, stop: PickStop) -> None:
    sku_column = _STOP_COLUMNS[3]
    sku_text = stop.sku if not stop.gtin else f"{stop.sku}\nGTIN {stop.gtin}"
    sku_height = pdf.text_height(sku_text, sku_column.width_mm, style="B")
    cells: list[str | Cell] = [
        "",
        str(stop.sequence),
        Cell(_location(stop), "B", 11),
        Cell(sku_text, "B"),
        stop.name,
        Cell(str(stop.quantity), "B", 12),
        _allocations(stop),
    ]
    top, _ = pdf.row(cells, min_height_mm=sku_height + STOP_BARCODE_MM + 1)
    pdf.checkbox(pdf.l_margin + 3, top + CELL_PAD_MM, CHECKBOX_MM)
    sku_x = pdf.l_margin + sum(column.width_mm for column in _STOP_COLUMNS[:3])
    pdf.barcode(
        printable(stop.gtin or stop.sku),
        x=sku_x + 1,
        y=top + CELL_PAD_MM + sku_height + 0.5,
        height_mm=STOP_BARCODE_MM,
        max_width_mm=sku_column.width_mm - 2,
    )
