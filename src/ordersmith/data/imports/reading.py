"""Reading an uploaded file: CSV (encoding and delimiter detected, BOM tolerated) or XLSX, one row at a time.

Invariant: memory stays bounded whatever the file's size — the upload is copied to a private temporary file in
pieces while its hash and encoding are worked out, and rows are read back one by one (csv from the standard
library). An XLSX file up to IN_MEMORY_XLSX_BYTES is read by calamine (Rust, about 15x faster than openpyxl),
which holds the sheet's cells while it is read (about 16x the file's size); a larger one streams through
openpyxl's read-only mode, whose memory stays flat (ADR 0045).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.files import FILE_MODE

PIECE_BYTES = 1 << 20
# The largest XLSX file read whole by calamine (8 MiB: some 250,000 rows of a dozen short columns, about 130 MB
# held while it is read); above it openpyxl streams the sheet in flat memory, about 15 times slower.
IN_MEMORY_XLSX_BYTES = 8 << 20
SNIFF_BYTES = 64 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
# cp1252 leaves these five bytes undefined: a file holding one is read as latin-1 instead
_CP1252_HOLES = frozenset(b"\x81\x8d\x8f\x90\x9d")


class TooLarge(ValidationFailed):
    """The upload is over ORDERSMITH_IMPORT_MAX_BYTES (its own code: a request body over the API's limit is
    `payload_too_large`; this is a file over the import limit, named by the field that carried it)."""

    status = 413
    code = "import_file_too_large"
    title = "Import file too large"


@dataclass(frozen=True)
class Upload:
    """An upload copied to a private temporary file, with what was learnt while copying it."""

    path: Path
    sha256: str
    size_bytes: int
    format: str  # csv | xlsx
    encoding: str | None  # csv only


@contextmanager
def private_temp_file(suffix: str = "") -> Iterator[tuple[IO[bytes], Path]]:
    """A temporary file only its owner can read (0600), removed on exit."""
    fd, name = tempfile.mkstemp(prefix="ordersmith-import-", suffix=suffix)
    os.fchmod(fd, FILE_MODE)
    path = Path(name)
    try:
        with os.fdopen(fd, "w+b") as handle:
            yield handle, path
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def spool(source: IO[bytes], *, max_bytes: int) -> Iterator[Upload]:
    """Copy `source` to a private temporary file, hashing it and checking its size and (for text) its encoding.

    Raises:
        TooLarge: more than `max_bytes` (nothing more is read).
        ValidationFailed: an empty file or an old binary .xls.
    """
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    cp1252_holes = False
    size = 0
    head = b""
    with private_temp_file() as (handle, path):
        while piece := source.read(PIECE_BYTES):
            size += len(piece)
            if size > max_bytes:
                raise TooLarge.on(
                    "file",
                    f"the file is larger than the import limit of {max_bytes:,} bytes "
                    "(ORDERSMITH_IMPORT_MAX_BYTES); split it into smaller files",
                )
            if len(head) < SNIFF_BYTES:
                head += piece[: SNIFF_BYTES - len(head)]
            digest.update(piece)
            handle.write(piece)
            if is_utf8:
                try:
                    utf8.decode(piece)
                except UnicodeDecodeError:
                    is_utf8 = False
            if not cp1252_holes and not _CP1252_HOLES.isdisjoint(piece):
                cp1252_holes = True
        if is_utf8:
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                is_utf8 = False
        handle.flush()
        if size == 0:
            raise ValidationFailed.on("file", "the file is empty")
        if head.startswith(_OLE_MAGIC):
            raise ValidationFailed.on(
                "file", "an old Excel .xls file: save it as .xlsx or CSV and upload that"
            )
        if head.startswith(_ZIP_MAGIC):
            yield Upload(path=path, sha256=digest.hexdigest(), size_bytes=size, format="xlsx", encoding=None)
            return
        encoding = _encoding(head, is_utf8=is_utf8, cp1252_holes=cp1252_holes)
        yield Upload(path=path, sha256=digest.hexdigest(), size_bytes=size, format="csv", encoding=encoding)


def _encoding(head: bytes, *, is_utf8: bool, cp1252_holes: bool) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if is_utf8:
        return "utf-8"
    return "latin-1" if cp1252_holes else "cp1252"


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel  # one column, or nothing to tell by: commas


def read_rows(path: Path, *, format: str, encoding: str | None) -> Iterator[tuple[int, list[str]]]:
    """The file's rows (the header first) as (row number, cells as text); empty rows are skipped, and numbered
    as a spreadsheet numbers them (the header is row 1)."""
    if format == "xlsx":
        small = path.stat().st_size <= IN_MEMORY_XLSX_BYTES
        yield from (_calamine_rows(path) if small else _xlsx_rows(path))
        return
    with path.open(encoding=encoding or "utf-8", newline="") as text:
        sample = text.read(SNIFF_BYTES)
        # a sample cut inside a quoted field or a line would mislead the sniffer: judge whole lines only
        cut = sample.rfind("\n")
        dialect = _dialect(sample[: cut + 1] if cut > 0 else sample)
        text.seek(0)
        for number, row in enumerate(csv.reader(text, dialect), start=1):
            if any(cell.strip() for cell in row):
                yield number, row


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Excel keeps every number as a float: 12.0 is the integer 12, 19.99 stays as typed
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _trimmed(values: Any) -> list[str]:
    row = [_cell(v) for v in values]
    while row and not row[-1].strip():
        row.pop()
    return row


def _calamine_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The first sheet's rows through calamine, numbered and padded as openpyxl gives them: calamine yields every
    row from the sheet's first (python-calamine 0.9; tests/unit/test_import_reading.py holds it to that) but each
    row from the first used column."""
    import python_calamine  # imported here: only XLSX imports pay for it

    try:
        with path.open("rb") as handle:
            book = python_calamine.CalamineWorkbook.from_filelike(handle)
            sheet = book.get_sheet_by_index(0)
    except (python_calamine.CalamineError, OSError, ValueError, IndexError) as exc:  # its errors all derive
        raise ValidationFailed.on(
            "file", "not a readable XLSX workbook (or a zip file of another kind)"
        ) from exc
    padding = [""] * (sheet.start or (0, 0))[1]
    try:
        for number, values in enumerate(sheet.iter_rows(), start=1):
            row = _trimmed(values)
            if row:
                yield number, [*padding, *row] if padding else row
    finally:
        book.close()


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    import openpyxl  # imported here: only XLSX imports pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    handle = path.open("rb")  # a file object: openpyxl judges a path by its extension, and ours has none
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError, zipfile.BadZipFile) as exc:
        handle.close()
        raise ValidationFailed.on(
            "file", "not a readable XLSX workbook (or a zip file of another kind)"
        ) from exc
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            row = _trimmed(values)
            if row:
                yield number, row
    finally:
        book.close()
        handle.close()
