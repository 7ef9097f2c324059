"""The page every document is drawn on: fpdf2 with a repeated header, "Page N of M", tables whose rows wrap and
never split across pages, and barcodes and QR codes drawn as filled rectangles.

Invariants: all text reaches the core fonts through `printable` (one override of `normalize_text`, so no path
can skip it); the PDF's creation date comes from the document's own date, and fpdf2's file id is a hash of the
content plus that date, so the same document always renders to the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

from .codes import code128_modules, qr_matrix, runs
from .text import printable

FONT = "helvetica"
LINE_MM = 4.2
CELL_PAD_MM = 1.2
# Code 128 X-dimension: 0.33 mm (13 mil) scans easily; below 0.19 mm (7.5 mil) warehouse scanners miss bars.
BAR_MODULE_MM = 0.33
MIN_BAR_MODULE_MM = 0.19


def midnight(day: date) -> datetime:
    """A document date as the PDF creation time (midnight UTC of that day)."""
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width_mm: float
    align: str = "L"


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell's text with its own style ("B" bold) and size; a plain str cell is regular 9 pt."""

    text: str
    style: str = ""
    size: float = 9


class DocumentPage(FPDF):
    """An fpdf2 document with Ordersmith's header, footer and table rows."""

    def __init__(
        self,
        *,
        title: str,
        reference: str,
        created_at: datetime,
        landscape: bool = False,
        header_barcode: str | None = None,
    ) -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="letter")
        self.document_title = title
        self.reference = reference
        self.header_barcode = header_barcode
        self.columns: tuple[Column, ...] = ()
        self.set_creation_date(created_at)
        self.set_title(printable(f"{title} {reference}"))
        self.set_creator("Ordersmith")
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(True, margin=16)
        self.alias_nb_pages()
        self.set_font(FONT, size=9)

    def normalize_text(self, text: str) -> str:
        return super().normalize_text(printable(text))

    def header(self) -> None:
        self.set_font(FONT, "B", 14)
        self.cell(self.epw / 2, 7, self.document_title)
        self.set_font(FONT, "B", 11)
        self.cell(self.epw / 2, 7, self.reference, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if self.header_barcode:
            width = self.epw / 3
            self.barcode(
                self.header_barcode, x=self.l_margin + width, y=self.t_margin, height_mm=7, max_width_mm=width
            )
        self.set_draw_color(0)
        self.line(self.l_margin, self.y + 1, self.w - self.r_margin, self.y + 1)
        self.set_y(self.y + 3)
        if self.columns:
            self.column_heading()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(self.epw / 2, 5, f"{self.document_title} {self.reference}")
        self.cell(self.epw / 2, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    def start_table(self, columns: Sequence[Column]) -> None:
        """Draw the column headings here and again at the top of every following page until `end_table`."""
        self.columns = tuple(columns)
        if self.will_page_break(4 * LINE_MM):
            self.add_page()
        else:
            self.column_heading()

    def end_table(self) -> None:
        self.columns = ()
        self.ln(2)

    def column_heading(self) -> None:
        self.set_font(FONT, "B", 8)
        self.set_fill_color(225)
        for column in self.columns:
            self.cell(column.width_mm, 6, column.title, align=column.align, fill=True)
        self.ln(6)
        self.set_font(FONT, size=9)

    def text_height(self, text: str, width_mm: float, *, style: str = "", size: float = 9) -> float:
        """How tall `text` wraps to in a column `width_mm` wide."""
        self.set_font(FONT, style, size)
        if self._fits_one_line(text, width_mm):
            return LINE_MM
        lines = self.multi_cell(width_mm, LINE_MM, text, dry_run=True, output=MethodReturnValue.LINES)
        assert isinstance(lines, list)
        return max(1, len(lines)) * LINE_MM

    def _fits_one_line(self, text: str, width_mm: float) -> bool:
        # fpdf2's line breaking is most of a document's render time; most cells hold one short line.
        return "\n" not in text and self.get_string_width(text) <= width_mm - 2 * self.c_margin

    def row(self, cells: Sequence[str | Cell], *, min_height_mm: float = 0) -> tuple[float, float]:
        """Draw one table row (each cell wrapped in its column), on a new page if it would not fit on this one.

        Returns the row's top y and its height, for drawing barcodes or checkboxes into it.
        """
        assert len(cells) == len(self.columns), "one cell per column"
        styled = [cell if isinstance(cell, Cell) else Cell(cell) for cell in cells]
        heights = [
            self.text_height(cell.text, column.width_mm, style=cell.style, size=cell.size)
            for cell, column in zip(styled, self.columns, strict=True)
        ]
        height = max([*heights, min_height_mm]) + 2 * CELL_PAD_MM
        if self.will_page_break(height):
            self.add_page()
        top, x = self.y, self.l_margin
        for cell, column in zip(styled, self.columns, strict=True):
            self.set_font(FONT, cell.style, cell.size)
            self.set_xy(x, top + CELL_PAD_MM)
            if self._fits_one_line(cell.text, column.width_mm):
                self.cell(column.width_mm, LINE_MM, cell.text, align=column.align)
            else:
                self.multi_cell(column.width_mm, LINE_MM, cell.text, align=column.align)
            x += column.width_mm
        self.set_draw_color(190)
        self.line(
            self.l_margin, top + height, self.l_margin + sum(c.width_mm for c in self.columns), top + height
        )
        self.set_draw_color(0)
        self.set_xy(self.l_margin, top + height)
        self.set_font(FONT, size=9)
        return top, height

    def paragraph(self, text: str, *, style: str = "", size: float = 9, width_mm: float = 0) -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(width_mm, LINE_MM, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, size=9)

    def block(self, title: str, lines: Sequence[str], *, x: float, y: float, width_mm: float) -> float:
        """A titled block of lines (an address) at (x, y); returns the y below it."""
        self.set_xy(x, y)
        self.set_font(FONT, "B", 8)
        self.cell(width_mm, LINE_MM, title.upper(), new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_font(FONT, size=9)
        for line in lines:
            self.multi_cell(width_mm, LINE_MM, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
        return self.y

    def totals(self, rows: Sequence[tuple[str, str]], *, bold_last: int = 1, width_mm: float = 90) -> None:
        """Label and amount pairs right-aligned under a table, kept together on one page; the last `bold_last`
        rows are bold."""
        if self.will_page_break(len(rows) * (LINE_MM + 0.6) + 2):
            self.add_page()
        x = self.w - self.r_margin - width_mm
        for index, (label, amount) in enumerate(rows):
            self.set_font(FONT, "B" if index >= len(rows) - bold_last else "", 9)
            self.set_x(x)
            self.cell(width_mm * 0.55, LINE_MM + 0.6, label, align="R")
            self.cell(width_mm * 0.45, LINE_MM + 0.6, amount, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, size=9)
        self.ln(3)

    def keep_together(self, height_mm: float) -> None:
        """Start a new page unless `height_mm` more fits on this one."""
        if self.will_page_break(height_mm):
            self.add_page()

    def checkbox(self, x: float, y: float, size_mm: float = 4) -> None:
        self.set_draw_color(0)
        self.rect(x, y, size_mm, size_mm, style="D")

    def barcode(self, value: str, *, x: float, y: float, height_mm: float, max_width_mm: float) -> float:
        """Draw `value` as Code 128 bars at (x, y); returns the width drawn, 0 when it cannot be drawn legibly
        (not encodable, or too long for `max_width_mm` at the smallest scannable bar width)."""
        modules = code128_modules(value)
        if modules is None:
            return 0
        module_mm = min(BAR_MODULE_MM, max_width_mm / len(modules))
        if module_mm < MIN_BAR_MODULE_MM:
            return 0
        self.set_fill_color(0)
        for start, length in runs(modules):
            self.rect(x + start * module_mm, y, length * module_mm, height_mm, style="F")
        return len(modules) * module_mm

    def qr_code(self, data: str, *, x: float, y: float, size_mm: float) -> None:
        """Draw the QR code of `data` as a `size_mm` square at (x, y); the caller leaves the quiet zone."""
        matrix = qr_matrix(data)
        module_mm = size_mm / len(matrix)
        self.set_fill_color(0)
        for row_index, row in enumerate(matrix):
            for start, length in runs(row):
                self.rect(
                    x + start * module_mm, y + row_index * module_mm, length * module_mm, module_mm, "F"
                )

    def finish(self) -> bytes:
        return bytes(self.output())
