"""Files an import hands out: each kind's template (CSV or XLSX, from the same column spec as the checks) and an
import's error file (the rows that failed, as read, with an `error` column).

Invariant: a template's header is exactly the kind's column spec, so a filled-in template always imports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from ordersmith.data.imports.rules import Spec

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def template(spec: Spec, format: str) -> bytes:
    """The kind's header and one example row."""
    header = [c.name for c in spec.columns]
    example = [c.example for c in spec.columns]
    if format == "xlsx":
        notes = [f"{'required. ' if c.required else ''}{c.description}" for c in spec.columns]
        return _xlsx([header, example], notes=notes)
    return _csv([header, example])


def error_file(
    columns: list[str], rows: Iterable[tuple[int, list[str] | None, str]], format: str
) -> Iterator[bytes]:
    """The failed rows (row number, cells, what is wrong), streamed as CSV, or built as XLSX in constant memory."""
    header = ["row", *columns, "error"]
    lines = (
        [str(number), *(cells or []), *[""] * (len(columns) - len(cells or [])), reason]
        for number, cells, reason in rows
    )
    if format == "xlsx":
        yield _xlsx([header, *lines])
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for line in lines:
        writer.writerow(line)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def _xlsx(rows: Iterable[list[str]], *, notes: list[str] | None = None) -> bytes:
    import xlsxwriter  # only XLSX answers pay for it

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"constant_memory": True, "in_memory": True, "strings_to_numbers": False}
    )
    sheet = book.add_worksheet("import")
    text = book.add_format({"num_format": "@"})  # cells stay text: SKUs and GTINs keep their leading zeros
    bold = book.add_format({"bold": True, "num_format": "@"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value, bold if r == 0 else text)
    if notes:
        for c, note in enumerate(notes):
            sheet.set_column(c, c, max(12, min(40, len(note) // 2)), text)
    book.close()
    return buffer.getvalue()
