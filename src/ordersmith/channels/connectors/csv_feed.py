"""The CSV layout of the generic marketplace feed (docs/guides/channel-csv-sftp.md): order files in, one row per
order line grouped by the channel's order id; available-to-sell, price and shipment files out.

Pure: bytes in, payloads out (and back). An order file is split into one payload per channel order, each with its
rows and their line numbers, so a bad row makes only its own order unreadable (dead-lettered with the row and the
reason) and the file's other orders import.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ordersmith.channels import rules
from ordersmith.kernel.errors import ValidationFailed

MAX_FILE_BYTES = 20_000_000
MAX_TEXT = 200
REQUIRED = (
    "order_id",
    "placed_at",
    "currency",
    "ship_name",
    "ship_line1",
    "ship_city",
    "ship_country",
    "sku",
    "quantity",
)
LINE_COLUMNS = ("sku", "quantity", "title", "unit_price", "tax")
ORDER_COLUMNS = (
    "order_id",
    "placed_at",
    "updated_at",
    "order_number",
    "currency",
    "email",
    "ship_name",
    "ship_company",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postal_code",
    "ship_country",
    "ship_phone",
    "shipping_code",
    "shipping",
    "total",
)
COLUMNS = ORDER_COLUMNS + LINE_COLUMNS
ATTRIBUTE_PREFIX = "attr."
STOCK_HEADER = ("sku", "listing_id", "quantity")
PRICE_HEADER = ("sku", "listing_id", "price", "currency")
SHIPMENT_HEADER = ("order_id", "carrier", "tracking_number", "tracking_url", "shipped_at")


def read_orders(file_name: str, data: bytes) -> list[dict[str, Any]]:
    """The channel orders of one order file, one payload each (`id`, `order_id`, `file`, `rows`), in the order
    their first rows appear. A file that cannot be read at all (not UTF-8, no header, a required column missing)
    is one payload carrying the `problem`; a row without an order id is a payload of its own."""
    problem = _file_problem(data)
    header: list[str] = []
    rows: list[list[str]] = []
    if problem is None:
        try:
            table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        except (UnicodeDecodeError, csv.Error) as exc:
            table, problem = [], f"not a readable UTF-8 CSV file ({exc})"
        if problem is None and not table:
            problem = "empty file: a header row is required"
        if problem is None:
            header, rows = [c.strip().lower() for c in table[0]], table[1:]
            missing = [c for c in REQUIRED if c not in header]
            unknown = [c for c in header if c not in COLUMNS and not _attribute_column(c)]
            if missing:
                problem = f"the header lacks the required column(s) {', '.join(missing)}"
            elif unknown:
                problem = f"the header names unknown column(s) {', '.join(unknown)}"
            elif len(set(header)) != len(header):
                problem = "the header names a column twice"
    if problem is not None:
        return [
            {
                "id": f"file:{file_name}"[:200],
                "order_id": "",
                "file": file_name,
                "rows": [],
                "problem": problem,
            }
        ]
    grouped: dict[str, dict[str, Any]] = {}
    loose: list[dict[str, Any]] = []
    for number, cells in enumerate(rows, start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line
        row: dict[str, Any] = {"line": number}
        if len(cells) != len(header):
            row["problem"] = f"{len(cells)} cells where the header has {len(header)}"
        row.update({name: value for name, value in zip(header, cells, strict=False)})
        order_id = str(row.get("order_id", "")).strip()
        if not order_id:
            loose.append(
                {"id": f"{file_name}:{number}"[:200], "order_id": "", "file": file_name, "rows": [row]}
            )
            continue
        grouped.setdefault(order_id, {"id": order_id, "order_id": order_id, "file": file_name, "rows": []})
        grouped[order_id]["rows"].append(row)
    return list(grouped.values()) + loose


def _attribute_column(column: str) -> bool:
    """`attr.<name>`: a free-form attribute of the order (on its first row), for the connector's custom-field map."""
    return column.startswith(ATTRIBUTE_PREFIX) and 0 < len(column) - len(ATTRIBUTE_PREFIX) <= 100


def _attributes(first: Mapping[str, Any]) -> dict[str, str]:
    return {
        column.removeprefix(ATTRIBUTE_PREFIX): str(value)
        for column, value in first.items()
        if isinstance(column, str) and _attribute_column(column) and isinstance(value, str) and value.strip()
    }


def _file_problem(data: bytes) -> str | None:
    if len(data) > MAX_FILE_BYTES:
        return f"larger than {MAX_FILE_BYTES} bytes"
    if b"\x00" in data:
        return "contains NUL bytes: not a text file"
    return None


def parse_order(payload: Mapping[str, Any]) -> rules.ChannelOrder:
    """One channel order from its rows. Raises ValidationFailed naming the file's line and column
    (`line.7.quantity`)."""
    if payload.get("problem"):
        raise ValidationFailed.on("file", f"{payload.get('file', '?')}: {payload['problem']}")
    found = payload.get("rows")
    if not isinstance(found, list) or not found:
        raise ValidationFailed.on("rows", "an order needs at least one row")
    rows: list[Mapping[str, Any]] = [r for r in found if isinstance(r, Mapping)]
    first = rows[0]
    for row in rows:
        where = f"line.{row.get('line', '?')}"
        if row.get("problem"):
            raise ValidationFailed.on(where, str(row["problem"]))
        for column in ORDER_COLUMNS:  # an order's own columns: blank after its first row, or the same
            value = _cell(row, column)
            if row is not first and value and value != _cell(first, column):
                raise ValidationFailed.on(
                    f"{where}.{column}", f"differs from line {first.get('line')} of the same order"
                )

    def head(column: str, *, required: bool = False, max_length: int = MAX_TEXT) -> str:
        return _text(first, column, required=required, max_length=max_length)

    placed_at = _timestamp(first, "placed_at", required=True)
    assert placed_at is not None
    updated_at = _timestamp(first, "updated_at", required=False) or placed_at
    lines = [_line(row) for row in rows]
    priced = all(line.unit_price is not None for line in lines)
    return rules.ChannelOrder(
        external_id=head("order_id", required=True, max_length=100),
        updated_at=updated_at,
        placed_at=placed_at,
        lines=lines,
        ship_to=rules.ChannelAddress(
            name=head("ship_name", required=True),
            company=head("ship_company"),
            line1=head("ship_line1", required=True),
            line2=head("ship_line2"),
            city=head("ship_city", required=True),
            region=head("ship_region"),
            postal_code=head("ship_postal_code", max_length=20),
            country=_code(first, "ship_country", 2),
            phone=head("ship_phone", max_length=40),
        ),
        currency=_code(first, "currency", 3),
        email=head("email", max_length=320),
        shipping_code=head("shipping_code", max_length=40),
        number=head("order_number", max_length=40),
        shipping=_decimal(first, "shipping"),
        total=_decimal(first, "total"),
        subtotal=sum(((line.unit_price or Decimal(0)) * line.quantity for line in lines), Decimal(0))
        if priced
        else None,
        total_tax=sum((_decimal(r, "tax") or Decimal(0) for r in rows), Decimal(0))
        if any(_cell(r, "tax") for r in rows)
        else None,
        attributes=_attributes(first),
    )


def _cell(row: Mapping[str, Any], column: str) -> str:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""


def _where(row: Mapping[str, Any], column: str) -> str:
    return f"line.{row.get('line', '?')}.{column}"


def _text(row: Mapping[str, Any], column: str, *, required: bool = False, max_length: int = MAX_TEXT) -> str:
    value = _cell(row, column)
    if not value and required:
        raise ValidationFailed.on(_where(row, column), "is required")
    if len(value) > max_length:
        raise ValidationFailed.on(_where(row, column), f"at most {max_length} characters")
    return value


def _code(row: Mapping[str, Any], column: str, length: int) -> str:
    value = _text(row, column, required=True).upper()
    if len(value) != length or not value.isalpha() or not value.isascii():
        raise ValidationFailed.on(_where(row, column), f"a {length}-letter ISO code")
    return value


def _timestamp(row: Mapping[str, Any], column: str, *, required: bool) -> datetime | None:
    value = _cell(row, column)
    if not value:
        if required:
            raise ValidationFailed.on(_where(row, column), "is required")
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed.on(_where(row, column), "an ISO 8601 date-time with its offset") from None
    if stamp.tzinfo is None:
        raise ValidationFailed.on(_where(row, column), "must carry its UTC offset")
    return stamp.astimezone(UTC)


def _decimal(row: Mapping[str, Any], column: str) -> Decimal | None:
    value = _cell(row, column)
    if not value:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValidationFailed.on(_where(row, column), 'a decimal such as "19.99"') from None
    if not amount.is_finite() or not 0 <= amount < Decimal(10) ** 12:
        raise ValidationFailed.on(_where(row, column), "a finite amount from 0 below 10^12")
    return amount


def _line(row: Mapping[str, Any]) -> rules.ChannelLine:
    quantity = _cell(row, "quantity")
    if not quantity.isdigit() or not 1 <= int(quantity) <= 1_000_000:
        raise ValidationFailed.on(_where(row, "quantity"), "a whole number from 1 to 1000000")
    return rules.ChannelLine(
        channel_sku=_text(row, "sku", required=True, max_length=100),
        quantity=int(quantity),
        title=_text(row, "title"),
        unit_price=_decimal(row, "unit_price"),
        tax=_decimal(row, "tax") or Decimal(0),
    )


def write(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV file (UTF-8, CRLF, a header row). A cell a spreadsheet would read as a formula is prefixed with `'`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(str(cell)) for cell in row])
    return out.getvalue().encode("utf-8")


def _safe(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell
