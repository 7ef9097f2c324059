"""Streaming writers: rows come from a server-side cursor in batches and go to the file as they come, so memory
stays flat however many rows an export holds.

- CSV: the csv module; money as a plain decimal amount beside its currency column.
- XLSX: xlsxwriter in constant-memory mode (each row is flushed to a temporary file as soon as the next starts).
- Parquet: pyarrow's ParquetWriter, one row group per batch; money as decimal128(20, 4) (every ISO 4217 currency
  has at most four decimal places, so every amount is exact), times as UTC timestamps (microseconds).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xlsxwriter

from ordersmith.data.exports.kinds import ExportColumn
from ordersmith.kernel.money import currency_exponent
from ordersmith.platform.files import FILE_MODE, private_folder

Rows = Iterable[Sequence[Sequence[Any]]]  # batches of row tuples
Converter = Callable[[Sequence[Any]], Any]

_exponents: dict[str, int] = {}


def _exponent(currency: str) -> int:
    found = _exponents.get(currency)
    if found is None:
        found = _exponents[currency] = currency_exponent(currency)
    return found


def amount_text(minor: int, currency: str) -> str:
    """Integer minor units as a decimal amount, exactly (no Decimal or float on the way)."""
    exponent = _exponent(currency)
    if exponent == 2 and minor >= 0:
        return f"{minor // 100}.{minor % 100:02d}"
    if exponent == 0:
        return str(minor)
    whole, part = divmod(abs(minor), 10**exponent)
    return f"{'-' if minor < 0 else ''}{whole}.{part:0{exponent}d}"


def amount(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-_exponent(currency))


def _converters(
    columns: Sequence[ExportColumn], money: Callable[[int, str], Any], others: Callable[[str, Any], Any]
) -> list[Converter]:
    names = [c.name for c in columns]

    def money_at(n: int, at: int) -> Converter:
        return lambda row: None if row[n] is None else money(int(row[n]), row[at])

    def other_at(n: int, kind: str) -> Converter:
        return lambda row: others(kind, row[n])

    found: list[Converter] = []
    for n, column in enumerate(columns):
        if column.kind == "money":
            assert column.currency_column is not None
            found.append(money_at(n, names.index(column.currency_column)))
        else:
            found.append(other_at(n, column.kind))
    return found


def open_private(path: Path) -> int:
    """Open `path` for writing, created (or truncated) with mode 0600, its folder made if missing."""
    private_folder(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def _csv_value(kind: str, value: Any) -> Any:
    if value is None:
        return ""
    if kind == "datetime":
        return value.isoformat()
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind == "bool":
        return "true" if value else "false"
    return value


def write_csv(
    path: Path, columns: Sequence[ExportColumn], batches: Rows, progress: Callable[[int], None]
) -> int:
    # Text and whole numbers go to the csv module as they are; only money, times and flags are converted.
    converted = [
        (n, convert)
        for n, (column, convert) in enumerate(
            zip(columns, _converters(columns, amount_text, _csv_value), strict=True)
        )
        if column.kind in ("money", "datetime", "date", "bool")
    ]
    count = 0
    with os.fdopen(open_private(path), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.name for c in columns])
        for batch in batches:
            rows = []
            for row in batch:
                line = list(row)
                for n, convert in converted:
                    line[n] = convert(row)
                rows.append(line)
            writer.writerows(rows)
            count += len(batch)
            progress(count)
    return count


def _plain(kind: str, value: Any) -> Any:
    if kind == "datetime" and value is not None:
        return value.replace(tzinfo=None)  # UTC: the header says so
    return value


def write_xlsx(
    path: Path, columns: Sequence[ExportColumn], batches: Rows, progress: Callable[[int], None]
) -> int:
    os.close(open_private(path))  # the file exists 0600 before xlsxwriter writes into it
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    sheet = workbook.add_worksheet("export")
    bold = workbook.add_format({"bold": True})
    formats = {
        "money": workbook.add_format({"num_format": "#,##0.00##"}),
        "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
    }
    for n, column in enumerate(columns):
        label = f"{column.name} (UTC)" if column.kind == "datetime" else column.name
        sheet.write_string(0, n, label, bold)
    converters = _converters(columns, amount, _plain)
    writers = [_xlsx_writer(sheet, column.kind, formats) for column in columns]
    count = 0
    for batch in batches:
        for row in batch:
            count += 1
            for n, (convert, write) in enumerate(zip(converters, writers, strict=True)):
                value = convert(row)
                if value is None:
                    continue  # an empty cell
                write(count, n, value)
        progress(count)
    workbook.close()
    os.chmod(path, FILE_MODE)
    return count


def _xlsx_writer(sheet: Any, kind: str, formats: dict[str, Any]) -> Callable[[int, int, Any], Any]:
    if kind == "money":
        return lambda r, n, v: sheet.write_number(r, n, v, formats["money"])
    if kind in ("datetime", "date"):
        return lambda r, n, v: sheet.write_datetime(r, n, v, formats[kind])
    if kind == "int":
        return lambda r, n, v: sheet.write_number(r, n, v)
    if kind == "bool":
        return lambda r, n, v: sheet.write_boolean(r, n, v)
    return lambda r, n, v: sheet.write_string(r, n, str(v))


MONEY_TYPE = pa.decimal128(20, 4)
_ARROW_TYPES = {
    "text": pa.string(),
    "int": pa.int64(),
    "money": MONEY_TYPE,
    "datetime": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "bool": pa.bool_(),
}


def _arrow_value(kind: str, value: Any) -> Any:
    if kind == "date" and value is not None and not isinstance(value, date):
        return date.fromisoformat(str(value))
    if kind == "datetime" and isinstance(value, datetime):
        return value
    return value


def arrow_schema(columns: Sequence[ExportColumn]) -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.kind]) for c in columns])


def _money_array(minors: Sequence[Any], currencies: Sequence[Any]) -> pa.Array:
    """Integer minor units as exact decimal128(20, 4) amounts, column-wise (no Decimal made per value): the units
    times 10^(4 - the currency's exponent) are the amount's digits at four places."""
    encoded = pa.array(currencies, pa.string()).dictionary_encode()
    factors = pa.array(
        [10 ** (4 - _exponent(c)) for c in encoded.dictionary.to_pylist()], pa.decimal128(5, 0)
    ).take(encoded.indices)
    digits = pc.multiply(pa.array(minors, pa.int64()).cast(pa.decimal128(19, 0)), factors)
    return pc.multiply(digits, pa.scalar(Decimal("0.0001"), pa.decimal128(4, 4))).cast(MONEY_TYPE)


def _arrow_table(
    columns: Sequence[ExportColumn], schema: pa.Schema, batch: Sequence[Sequence[Any]]
) -> pa.Table:
    """One batch of rows as an Arrow table, built column by column."""
    values = list(zip(*batch, strict=True))
    names = [c.name for c in columns]
    arrays = []
    for n, (column, field) in enumerate(zip(columns, schema, strict=True)):
        if column.kind == "money":
            assert column.currency_column is not None
            arrays.append(_money_array(values[n], values[names.index(column.currency_column)]))
        elif column.kind == "date":
            arrays.append(pa.array([_arrow_value("date", v) for v in values[n]], type=field.type))
        else:
            arrays.append(pa.array(values[n], type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_parquet(
    path: Path, columns: Sequence[ExportColumn], batches: Rows, progress: Callable[[int], None]
) -> int:
    schema = arrow_schema(columns)
    count = 0
    with (
        os.fdopen(open_private(path), "wb") as handle,
        pq.ParquetWriter(handle, schema, compression="zstd") as writer,
    ):
        for batch in batches:
            if not batch:
                continue
            writer.write_table(_arrow_table(columns, schema, batch))
            count += len(batch)
            progress(count)
        if count == 0:
            writer.write_table(schema.empty_table())
    return count


WRITERS: dict[str, Callable[[Path, Sequence[ExportColumn], Rows, Callable[[int], None]], int]] = {
    "csv": write_csv,
    "xlsx": write_xlsx,
    "parquet": write_parquet,
}
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "parquet": "parquet"}
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}


def batches_of(partitions: Iterator[Sequence[Any]]) -> Iterator[Sequence[Sequence[Any]]]:
    """Partitions of a streamed result as lists of plain tuples."""
    for partition in partitions:
        yield [tuple(row) for row in partition]
