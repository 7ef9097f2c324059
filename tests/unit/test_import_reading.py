"""Reading XLSX uploads: calamine (files up to IN_MEMORY_XLSX_BYTES) and openpyxl's streaming reader (larger
files) give the same rows, numbered as a spreadsheet numbers them."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
import xlsxwriter

from ordersmith.data.imports import reading
from ordersmith.kernel.errors import ValidationFailed


def _workbook(path: Path) -> None:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Items")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    stamps = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    # the data starts at B3 (row 3, column 2), with an empty row inside and trailing blank cells
    sheet.write_row(2, 1, ["sku", "name", "weight_g", "price", "backorderable", "on", "at"])
    sheet.write_row(3, 1, ["MUG-1", "Mug", 340, 19.99, True])
    sheet.write_datetime(3, 6, dt.datetime(2026, 3, 1), dates)
    sheet.write_datetime(3, 7, dt.datetime(2026, 3, 1, 9, 30), stamps)
    sheet.write_row(5, 1, ["TEA-2", "Tea", 12.0, 0.1, False, "", "  "])
    sheet.write_formula(6, 1, '="CUP"&"-3"', None, "CUP-3")
    sheet.write_row(6, 2, ["Cup"])
    book.add_worksheet("Other").write(0, 0, "not read")
    book.close()
    path.write_bytes(buffer.getvalue())


EXPECTED = [
    (3, ["", "sku", "name", "weight_g", "price", "backorderable", "on", "at"]),
    (4, ["", "MUG-1", "Mug", "340", "19.99", "true", "2026-03-01", "2026-03-01T09:30:00"]),
    (6, ["", "TEA-2", "Tea", "12", "0.1", "false"]),
    (7, ["", "CUP-3", "Cup"]),
]


def test_calamine_and_openpyxl_read_the_same_rows_with_the_same_numbers(tmp_path: Path) -> None:
    # given a workbook whose data starts at B3, with numbers, booleans, dates, a formula and an empty row
    path = tmp_path / "upload"
    _workbook(path)
    # when
    fast = list(reading._calamine_rows(path))
    streamed = list(reading._xlsx_rows(path))
    # then
    assert fast == EXPECTED
    assert streamed == EXPECTED


def test_a_large_xlsx_file_is_streamed_by_openpyxl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a file over the in-memory limit (the limit lowered for the test)
    path = tmp_path / "upload"
    _workbook(path)
    monkeypatch.setattr(reading, "IN_MEMORY_XLSX_BYTES", path.stat().st_size - 1)
    monkeypatch.setattr(reading, "_calamine_rows", None)  # calling it would fail the test
    # when
    rows = list(reading.read_rows(path, format="xlsx", encoding=None))
    # then
    assert rows == EXPECTED


def test_a_zip_file_that_is_no_workbook_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "upload"
    path.write_bytes(b"PK\x03\x04not really a zip file")
    with pytest.raises(ValidationFailed) as refused:
        list(reading.read_rows(path, format="xlsx", encoding=None))
    assert refused.value.errors[0].field == "file"
