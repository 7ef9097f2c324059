"""Builders of document inputs and readers of rendered PDFs (text, filled rectangles, barcodes, QR modules)."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import UTC, date, datetime

from pypdf import PdfReader
from pypdf.generic import ContentStream

from ordersmith.fulfillment.documents import (
    DocumentLine,
    PackingSlip,
    Party,
    PickList,
    PickStop,
    ToteAllocation,
)
from ordersmith.kernel.money import Money

Rectangle = tuple[float, float, float, float]  # x, top y (PDF points, origin bottom left), width, height


def make_party(name: str = "Ada Lovelace", **overrides: object) -> Party:
    values: dict[str, object] = {
        "name": name,
        "lines": ("12 Analytical Row", "Flat 3"),
        "city": "Portland",
        "region": "OR",
        "postal_code": "97201",
        "country": "US",
    }
    values.update(overrides)
    return Party(**values)  # type: ignore[arg-type]


def make_line(line_no: int, **overrides: object) -> DocumentLine:
    values: dict[str, object] = {
        "line_no": line_no,
        "sku": f"SKU-{line_no:04d}",
        "name": f"Walnut desk organiser no. {line_no}",
        "quantity": line_no % 3 + 1,
    }
    values.update(overrides)
    return DocumentLine(**values)  # type: ignore[arg-type]


def numbered_lines(count: int) -> tuple[DocumentLine, ...]:
    return tuple(make_line(n) for n in range(1, count + 1))


def make_slip(**overrides: object) -> PackingSlip:
    values: dict[str, object] = {
        "retailer": make_party("Northwind Goods", lines=("1 Dock Street",), city="Seattle", region="WA"),
        "order_number": "100234",
        "ordered_on": date(2026, 3, 4),
        "shipment_number": "S-100234-1",
        "ship_to": make_party(),
        "bill_to": make_party("Charles Babbage", lines=("7 Difference Lane",)),
        "lines": numbered_lines(2),
        "return_instructions": "Return unworn items within 30 days in their original box.",
        "returns_url": "https://shop.example/returns?code=R-1188",
        "returns_code": "R-1188",
        "tracking_number": "1Z999AA10123456784",
        "channel": "web",
    }
    values.update(overrides)
    return PackingSlip(**values)  # type: ignore[arg-type]


def make_stop(sequence: int, **overrides: object) -> PickStop:
    values: dict[str, object] = {
        "sequence": sequence,
        "bin": f"A-{sequence:03d}-2",
        "sku": f"SKU-{sequence:04d}",
        "name": f"Ceramic mug, speckled glaze no. {sequence}",
        "quantity": 3,
        "allocations": (
            ToteAllocation("T-01", "100234", "S-100234-1", 1),
            ToteAllocation("T-02", "100235", "S-100235-1", 2),
        ),
        "zone": "A",
        "aisle": "3",
        "bay": str(sequence),
        "level": "2",
    }
    values.update(overrides)
    return PickStop(**values)  # type: ignore[arg-type]


def make_pick_list(stops: tuple[PickStop, ...]) -> PickList:
    return PickList(
        wave_number="W-2041",
        location="Main DC",
        created_at=datetime(2026, 3, 4, 9, 15, tzinfo=UTC),
        stops=stops,
        picker="Ana",
    )


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def rectangles(pdf: bytes, page_index: int, *, filled: bool) -> list[Rectangle]:
    """The rectangles a page fills (or strokes), as drawn by `re` followed by `f` (or `S`)."""
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[page_index]
    operations = ContentStream(page.get_contents(), reader).operations
    found: list[Rectangle] = []
    pending: list[Rectangle] = []
    wanted = (b"f", b"F", b"f*") if filled else (b"S", b"s")
    for operands, operator in operations:
        if operator == b"re":
            x, y, width, height = (float(value) for value in operands)
            pending.append((x, max(y, y + height), width, abs(height)))
        elif operator in (b"f", b"F", b"f*", b"S", b"s", b"B", b"b", b"n"):
            if operator in wanted:
                found.extend(pending)
            pending = []
    return found


def barcodes(pdf: bytes, page_index: int) -> list[str]:
    """Every Code 128 symbol drawn on a page, as its "1"/"0" modules: bars are filled rectangles sharing a top
    and a height (taller than 5 pt, so not QR modules), at least 8 of them in a row."""
    rows: dict[tuple[float, float], list[Rectangle]] = defaultdict(list)
    for rectangle in rectangles(pdf, page_index, filled=True):
        if rectangle[3] > 5:
            rows[(round(rectangle[1], 1), round(rectangle[3], 1))].append(rectangle)
    symbols = []
    for bars in rows.values():
        if len(bars) < 8:
            continue
        bars.sort()
        # PDF coordinates are rounded to 0.01 pt: estimate the module from all the bars, not the narrowest.
        narrowest = min(width for _, _, width, _ in bars)
        module = sum(width for _, _, width, _ in bars) / sum(
            round(width / narrowest) for _, _, width, _ in bars
        )
        modules = ["0"] * round((bars[-1][0] + bars[-1][2] - bars[0][0]) / module)
        for x, _, width, _ in bars:
            start = round((x - bars[0][0]) / module)
            modules[start : start + round(width / module)] = ["1"] * round(width / module)
        symbols.append("".join(modules))
    return symbols


def qr_modules(pdf: bytes, page_index: int) -> set[tuple[int, int]]:
    """The dark (row, column) modules of the QR code on a page: filled rectangles under 5 pt high."""
    cells = [r for r in rectangles(pdf, page_index, filled=True) if r[3] < 5]
    module = cells[0][3]
    left = min(x for x, _, _, _ in cells)
    top = max(y for _, y, _, _ in cells)
    dark: set[tuple[int, int]] = set()
    for x, y, width, _ in cells:
        row, column = round((top - y) / module), round((x - left) / module)
        dark.update((row, column + offset) for offset in range(round(width / module)))
    return dark
