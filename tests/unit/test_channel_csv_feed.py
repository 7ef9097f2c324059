"""The CSV/SFTP feed's file layout, pure: order files split into one payload per channel order, each read strictly
(the refusal names the file's line and column), and outbound files written so a spreadsheet reads them as text."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordersmith.channels.connectors import csv_feed
from ordersmith.kernel.errors import ValidationFailed

HEADER = "order_id,placed_at,currency,ship_name,ship_line1,ship_city,ship_country,sku,quantity,unit_price,tax"


def _file(*rows: str, header: str = HEADER) -> bytes:
    return ("\ufeff" + "\r\n".join((header, *rows)) + "\r\n").encode()


def test_rows_are_grouped_by_order_id_in_order_of_first_appearance_with_their_line_numbers() -> None:
    # given: two orders interleaved, a blank line between
    data = _file(
        "A,2026-12-01T10:00:00+01:00,usd,Ann,1 Main,SF,us,S1,2,10.00,0.80",
        "B,2026-12-01T11:00:00Z,USD,Bob,2 Main,LA,US,S2,1,,",
        "",
        "A,,,,,,,S3,1,5.50,0.44",
    )
    # when
    payloads = csv_feed.read_orders("in.csv", data)
    # then
    assert [(p["id"], [r["line"] for r in p["rows"]]) for p in payloads] == [("A", [2, 5]), ("B", [3])]
    order = csv_feed.parse_order(payloads[0])
    assert (order.external_id, order.currency, order.ship_to.country) == ("A", "USD", "US")
    assert order.placed_at == order.updated_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert [(line.channel_sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("S1", 2, Decimal("10.00")),
        ("S3", 1, Decimal("5.50")),
    ]
    assert (order.subtotal, order.total_tax) == (Decimal("25.50"), Decimal("1.24"))
    assert csv_feed.parse_order(payloads[1]).subtotal is None  # a line without its price: no subtotal claimed


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("A,2026-12-01T10:00:00Z,USD,Ann,1 Main,SF,US,S1,0,,", "line.2.quantity", "a whole number"),
        ("A,2026-12-01T10:00:00Z,USD,Ann,1 Main,SF,US,S1,1.5,,", "line.2.quantity", "a whole number"),
        ("A,2026-12-01T10:00:00,USD,Ann,1 Main,SF,US,S1,1,,", "line.2.placed_at", "UTC offset"),
        ("A,yesterday,USD,Ann,1 Main,SF,US,S1,1,,", "line.2.placed_at", "ISO 8601"),
        ("A,2026-12-01T10:00:00Z,DOLLARS,Ann,1 Main,SF,US,S1,1,,", "line.2.currency", "3-letter"),
        ("A,2026-12-01T10:00:00Z,USD,,1 Main,SF,US,S1,1,,", "line.2.ship_name", "is required"),
        ("A,2026-12-01T10:00:00Z,USD,Ann,1 Main,SF,US,,1,,", "line.2.sku", "is required"),
        ("A,2026-12-01T10:00:00Z,USD,Ann,1 Main,SF,US,S1,1,1e999,", "line.2.unit_price", "finite"),
        ("A,2026-12-01T10:00:00Z,USD,Ann,1 Main,SF,US,S1,1,-3,", "line.2.unit_price", "from 0"),
        ("A,2026-12-01T10:00:00Z,USD,Ann,1 Main,SF,US,S1,1,,,extra", "line.2", "12 cells"),
    ],
)
def test_a_bad_row_is_refused_naming_its_line_and_column(row: str, field: str, message: str) -> None:
    # given
    (payload,) = csv_feed.read_orders("in.csv", _file(row))
    # when
    with pytest.raises(ValidationFailed) as refused:
        csv_feed.parse_order(payload)
    # then
    (error,) = refused.value.errors
    assert error.field == field
    assert message in error.message


def test_an_order_column_that_differs_between_its_rows_is_refused() -> None:
    (payload,) = csv_feed.read_orders(
        "in.csv",
        _file(
            "A,2026-12-01T10:00:00Z,USD,Ann,1 Main,SF,US,S1,1,,",
            "A,2026-12-01T10:00:00Z,EUR,Ann,1 Main,SF,US,S2,1,,",
        ),
    )
    with pytest.raises(ValidationFailed, match=r"line\.3\.currency: differs from line 2 of the same order"):
        csv_feed.parse_order(payload)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty file"),
        (b"\xff\xfe\x00b", "NUL bytes"),
        (b"order_id,sku\r\nA,S1\r\n", "lacks the required column(s) placed_at"),
        ((HEADER + ",colour\r\n").encode(), "unknown column(s) colour"),
        ((HEADER + ",sku\r\n").encode(), "names a column twice"),
        ("caf\u00e9".encode("latin-1"), "not a readable UTF-8 CSV file"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_payload_that_names_the_file_and_the_problem(
    data: bytes, problem: str
) -> None:
    (payload,) = csv_feed.read_orders("bad.csv", data)
    assert payload["id"] == "file:bad.csv"
    with pytest.raises(ValidationFailed) as refused:
        csv_feed.parse_order(payload)
    assert refused.value.errors[0].field == "file"
    assert problem in refused.value.errors[0].message


def test_a_row_without_an_order_id_is_a_payload_of_its_own() -> None:
    payloads = csv_feed.read_orders(
        "in.csv",
        _file(
            "A,2026-12-01T10:00:00Z,USD,Ann,1 Main,SF,US,S1,1,,",
            ",2026-12-01T10:00:00Z,USD,Ann,1,SF,US,S2,1,,",
        ),
    )
    assert [p["id"] for p in payloads] == ["A", "in.csv:3"]
    with pytest.raises(ValidationFailed, match=r"line\.3\.order_id: is required"):
        csv_feed.parse_order(payloads[1])


def test_outbound_files_have_a_header_crlf_lines_and_no_cell_a_spreadsheet_runs_as_a_formula() -> None:
    data = csv_feed.write(csv_feed.STOCK_HEADER, [("S1", "L1", 4), ("=HYPERLINK(1)", "@x", 0)])
    assert data == b"sku,listing_id,quantity\r\nS1,L1,4\r\n'=HYPERLINK(1),'@x,0\r\n"
