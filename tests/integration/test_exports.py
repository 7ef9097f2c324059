"""Streaming exports on both databases: every kind in every format reads back with the same rows (CSV, openpyxl,
pyarrow), the rows equal a hand-written query, an anonymized customer never appears with personal data, an export
asked for runs as a job into a 0600 file and is audited, and memory stays flat while rows stream."""

from __future__ import annotations

import csv
import os
import stat
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.customers.service import Details
from ordersmith.data.exports import service as exports
from ordersmith.data.exports.kinds import KINDS
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import Conflict, ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.platform import jobs
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.tables import AuditRow, JobRow
from tests.builders import channel, make_order_shop, order_request

NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)


@pytest.fixture
def shop(db: Database) -> UnitOfWork:
    uow = db.unit_of_work(Actor.system("test", origin="pytest"), clock=FixedClock(NOW))
    make_order_shop(uow)
    kept = customers.create_customer(
        uow, details=Details(first_name="Ann", last_name="Keep", emails=["ann@example.com"])
    )
    gone = customers.create_customer(
        uow,
        details=Details(first_name="Bob", last_name="Gone", emails=["bob@example.com"], do_not_email=True),
    )
    for n, buyer in enumerate([kept, gone]):
        at = NOW - timedelta(days=2 - n)
        request = order_request(
            ("TEE", 1 + n),
            ("MUG", 1),
            placed_at=at,
            customer=buyer.number,
            email=f"{buyer.first_name.lower()}@example.com",
        )
        placed = orders.place_order(uow, channel=channel(uow, "web"), request=request).order
        orders.record_shipment(uow, ref=placed.number)
    rma = orders.authorize_return(
        uow, order_ref=placed.number, lines=[orders.ReturnLineRequest(1, 1, "damaged")]
    )
    orders.receive_return(uow, ref=rma.number, location="EAST")
    customers.anonymize_customer(uow, ref=gone.number)
    return uow


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _text(value: object) -> str:
    """A cell read back from XLSX or Parquet as the CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_xlsx(path: Path) -> list[list[str]]:
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    rows[0] = [name.removesuffix(" (UTC)") for name in rows[0]]
    return rows


def read_parquet(path: Path) -> list[list[str]]:
    table = pq.read_table(path)
    return [table.column_names, *([_text(v) for v in row.values()] for row in table.to_pylist())]


def _same_numbers(a: list[list[str]], b: list[list[str]]) -> bool:
    """Rows equal, money compared as numbers (XLSX keeps 2.5 where CSV writes 2.50)."""
    from decimal import Decimal, InvalidOperation

    def norm(cell: str) -> object:
        try:
            return Decimal(cell).normalize() if cell and not cell.isalpha() and "-" not in cell[1:] else cell
        except InvalidOperation:
            return cell

    return [[norm(c) for c in row] for row in a] == [[norm(c) for c in row] for row in b]


def test_every_kind_reads_back_the_same_rows_in_csv_xlsx_and_parquet(shop: UnitOfWork, tmp_path: Path):
    for kind in sorted(KINDS):
        _reads_back_the_same(shop, tmp_path, kind)


def _reads_back_the_same(shop: UnitOfWork, tmp_path: Path, kind: str) -> None:
    # when
    found = {}
    for format in ("csv", "xlsx", "parquet"):
        path = tmp_path / f"{kind}.{format}"
        count = exports.stream_to_file(shop.db, kind=kind, format=format, filters={}, path=path, batch_rows=2)
        found[format] = (count, path)
        # then: the file is the owner's only
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    csv_rows = read_csv(found["csv"][1])
    assert csv_rows[0] == [c.name for c in KINDS[kind].columns]
    assert found["csv"][0] == found["xlsx"][0] == found["parquet"][0] == len(csv_rows) - 1
    assert _same_numbers(read_xlsx(found["xlsx"][1]), csv_rows)
    assert _same_numbers(read_parquet(found["parquet"][1]), csv_rows)


def test_order_lines_equal_a_hand_written_query(shop: UnitOfWork, tmp_path: Path):
    path = tmp_path / "lines.csv"
    exports.stream_to_file(shop.db, kind="order_lines", format="csv", filters={"channel": "web"}, path=path)
    with shop.db.session() as session:
        expected = session.execute(
            sa.text("""
            SELECT o.number, l.line_no, l.sku, l.quantity, l.shipped, l.returned, l.unit_price_minor, l.tax_minor
            FROM orders o JOIN order_lines l ON l.order_id = o.id ORDER BY o.placed_at, o.id, l.line_no""")
        ).all()
    rows = read_csv(path)
    header = rows[0]
    picked = [
        [
            row[header.index(n)]
            for n in ("order", "line_no", "sku", "quantity", "shipped", "returned", "unit_price", "tax")
        ]
        for row in rows[1:]
    ]
    assert picked == [
        [number, str(n), sku, str(q), str(s), str(r), f"{price / 100:.2f}", f"{tax / 100:.2f}"]
        for number, n, sku, q, s, r, price, tax in expected
    ]
    assert [p[2:6] for p in picked] == [
        ["TEE", "1", "1", "0"],
        ["MUG", "1", "1", "0"],
        ["TEE", "2", "2", "1"],
        ["MUG", "1", "1", "0"],
    ]


def test_an_anonymized_customer_never_appears_with_personal_data(shop: UnitOfWork, tmp_path: Path):
    for format, reader in (("csv", read_csv), ("xlsx", read_xlsx), ("parquet", read_parquet)):
        people = tmp_path / f"customers.{format}"
        exports.stream_to_file(shop.db, kind="customers", format=format, filters={}, path=people)
        rows = reader(people)
        header, body = rows[0], rows[1:]
        at = {name: header.index(name) for name in header}
        by_number = {row[at["number"]]: row for row in body}
        kept, gone = by_number["C-100001"], by_number["C-100002"]
        assert (kept[at["source_code"]], kept[at["last_source_code"]]) == ("", "")  # keyed by no code yet
        assert (kept[at["first_name"]], kept[at["email"]], kept[at["anonymized"]]) == (
            "Ann",
            "ann@example.com",
            "false",
        )
        assert [
            gone[at[n]] for n in ("first_name", "last_name", "company", "email", "phone", "anonymized")
        ] == ["", "", "", "", "", "true"]
        assert "Gone" not in str(rows) and "bob@" not in str(rows)
        sold = tmp_path / f"orders.{format}"
        exports.stream_to_file(shop.db, kind="orders", format=format, filters={}, path=sold)
        order_rows = reader(sold)
        emails = [row[order_rows[0].index("email")] for row in order_rows[1:]]
        assert emails == ["ann@example.com", ""]  # the anonymized buyer's order keeps no e-mail
    # and only those who agreed to e-mail, when asked
    path = tmp_path / "mailable.csv"
    exports.stream_to_file(
        shop.db, kind="customers", format="csv", filters={"contactable": "email"}, path=path
    )
    assert [row[0] for row in read_csv(path)[1:]] == ["C-100001"]


def test_a_bad_request_is_refused_naming_the_field_and_queues_nothing(shop: UnitOfWork, tmp_path: Path):
    for kind, format, filters, field in (
        ("everything", "csv", {}, "kind"),
        ("orders", "pdf", {}, "format"),
        ("orders", "csv", {"from": "yesterday"}, "filters.from"),
        ("orders", "csv", {"to": "9999-12-31"}, "filters.to"),  # its range would end past the last date
        ("inventory", "csv", {"channel": "web"}, "filters.channel"),
        ("orders", "csv", {"from": "2026-03-02", "to": "2026-03-01"}, "filters.to"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            exports.request_export(shop, kind=kind, format=format, filters=filters, folder=tmp_path / "out")
        assert refused.value.errors[0].field == field
    assert exports.list_exports(shop).items == []
    assert not (tmp_path / "out").exists()


def test_an_export_asked_for_runs_as_a_job_into_a_private_file_and_is_audited(
    shop: UnitOfWork, tmp_path: Path
):
    # given
    exports.register()
    asked = exports.request_export(
        shop, kind="orders", format="parquet", filters={"channel": "web"}, folder=tmp_path / "exports"
    )
    assert asked.status == "queued"
    # when the job runner comes by
    jobs.run_due_jobs(shop.db, worker="test")
    # then
    done = exports.get_export(shop, export_id=asked.id)
    assert (done.status, done.rows, done.error) == ("done", 2, "")
    _export, path = exports.export_file(shop, export_id=asked.id)
    assert path.parent == (tmp_path / "exports").resolve() and path.stat().st_size == done.size_bytes
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert pq.read_table(path).num_rows == 2
    with shop.db.session() as session:
        audited = session.execute(
            sa.select(AuditRow.action, AuditRow.actor_label)
            .where(AuditRow.object_id == str(asked.id))
            .order_by(AuditRow.at, AuditRow.action)
        ).all()
    assert sorted(a for a, _ in audited) == ["export.finished", "export.requested"]
    assert ("export.requested", "test") in audited
    # a second pass of the runner runs the export no more (other contexts' periodic jobs may be due)
    jobs.run_due_jobs(shop.db, worker="test")
    with shop.db.session() as session:
        ran = session.execute(
            sa.select(JobRow.status, sa.func.count())
            .where(JobRow.kind == exports.JOB_KIND)
            .group_by(JobRow.status)
        ).all()
    # (the export's job is done, or already purged: its fixed clock dates it long before the purge's week)
    assert {status for status, _ in ran} <= {"done"}


MEMORY_ROWS = int(os.environ.get("ORDERSMITH_EXPORT_MEMORY_ROWS", "10000"))


def _fill_raw(db: Database, orders_count: int) -> None:
    """ORDERS_COUNT orders of two lines each, inserted raw (no service: this is about reading them back)."""
    from ordersmith.orders.tables import OrderLineRow, OrderRow

    start = datetime(2026, 1, 1, tzinfo=UTC)
    with db.engine.begin() as connection:
        for first in range(0, orders_count, 5000):
            ids = [uuid.uuid4() for _ in range(first, min(first + 5000, orders_count))]
            connection.execute(
                sa.insert(OrderRow.__table__),
                [
                    dict(
                        id=i,
                        number=f"9{first + n:09d}",
                        channel="web",
                        division="web",
                        external_id=None,
                        customer_id=None,
                        customer_number=None,
                        email="",
                        status="released",
                        payment_status="pending",
                        fulfillment_status="allocated",
                        currency="USD",
                        merchandise_minor=3000,
                        surcharges_minor=0,
                        discounts_minor=0,
                        shipping_minor=500,
                        tax_minor=300,
                        total_minor=3800,
                        source_code=None,
                        coupons=[],
                        billing={},
                        payment={},
                        pricing={},
                        ship_tos=[],
                        allocation=[],
                        address_key="",
                        card_key="",
                        priority=0,
                        exchange_for=None,
                        fulfillment="ship",
                        store=None,
                        placed_at=start + timedelta(seconds=first + n),
                        created_at=start,
                        updated_at=start,
                        version=1,
                    )
                    for n, i in enumerate(ids)
                ],
            )
            connection.execute(
                sa.insert(OrderLineRow.__table__),
                [
                    dict(
                        order_id=i,
                        line_no=line,
                        item_id=i,
                        sku=f"SKU-{line}",
                        name="A thing with a long enough name",
                        quantity=1,
                        ship_to="main",
                        personalization={},
                        gift_message="",
                        unit_price_minor=1500,
                        price_list="usd",
                        merchandise_minor=1500,
                        surcharge_minor=0,
                        discount_minor=0,
                        tax_minor=150,
                        reserved=1,
                        backordered=0,
                        cancelled=0,
                        shipped=0,
                        returned=0,
                        returnable=True,
                        allocations=[],
                    )
                    for i in ids
                    for line in (1, 2)
                ],
            )


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_memory_stays_flat_while_an_export_streams(db: Database, tmp_path: Path):
    # given many order lines (ORDERSMITH_EXPORT_MEMORY_ROWS: 10,000 in the suite, 1,000,000 by hand)
    _fill_raw(db, MEMORY_ROWS // 2)
    # when each format is written while a thread samples the process's resident memory
    for format in ("csv", "xlsx", "parquet"):
        before, peak, stop = _rss_kib(), [0], threading.Event()

        def sample(peak: list[int] = peak, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _rss_kib())
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            count = exports.stream_to_file(
                db,
                kind="order_lines",
                format=format,
                filters={},
                path=tmp_path / f"big.{format}",
                batch_rows=2000,
            )
        finally:
            stop.set()
            sampler.join()
        # then: every row is there, and memory grew by a bounded amount, not in proportion to the rows
        assert count == MEMORY_ROWS
        growth_mib = (peak[0] - before) / 1024
        assert growth_mib < 60, f"{format}: resident memory grew {growth_mib:.0f} MiB over {count} rows"


def test_an_export_that_cannot_be_written_is_recorded_as_failed_without_internals(
    shop: UnitOfWork, tmp_path: Path
):
    # given an export whose file cannot be created (a folder stands where the file would go)
    exports.register()
    asked = exports.request_export(shop, kind="customers", format="csv", filters={}, folder=tmp_path / "out")
    Path(asked.file_path).mkdir(parents=True)
    # when
    jobs.run_due_jobs(shop.db, worker="test")
    # then
    failed = exports.get_export(shop, export_id=asked.id)
    assert (failed.status, failed.rows, failed.error) == (
        "failed",
        0,
        "the export failed; the server log has why",
    )
    with pytest.raises(Conflict):
        exports.export_file(shop, export_id=asked.id)
    with shop.db.session() as session:
        actions = session.scalars(sa.select(AuditRow.action).where(AuditRow.object_id == str(asked.id))).all()
    assert sorted(actions) == ["export.failed", "export.requested"]


def test_the_csv_the_database_writes_equals_the_python_writers_for_awkward_values(
    db: Database, tmp_path: Path
):
    from ordersmith.data.exports import copy, writers
    from ordersmith.data.exports.kinds import ExportColumn
    from ordersmith.platform.db import UTCDateTime

    # given negative, zero-place and three-place amounts, times with and without microseconds, flags and NULLs
    values = [
        (-50, "USD", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), True),
        (7, "USD", datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=UTC), False),
        (-123456, "JPY", datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None),
        (-7, "BHD", None, True),
        (None, "USD", datetime(2026, 6, 1, tzinfo=UTC), False),
    ]
    query = sa.union_all(
        *(
            sa.select(
                sa.literal(n, sa.Integer).label("n"),
                sa.literal(amount, sa.Integer).label("amount"),
                sa.literal(currency, sa.String).label("currency"),
                sa.literal(at, UTCDateTime()).label("at"),
                sa.literal(flag, sa.Boolean).label("flag"),
            )
            for n, (amount, currency, at, flag) in enumerate(values)
        )
    )
    ordered = sa.select(query.subquery()).order_by("n")
    columns = [
        ExportColumn("n", "int"),
        ExportColumn("amount", "money", currency_column="currency"),
        ExportColumn("currency", "text"),
        ExportColumn("at", "datetime"),
        ExportColumn("flag", "bool"),
    ]
    # when the database writes the text, and when Python does
    ours = tmp_path / "database.csv"
    if db.dialect == "postgresql":
        copy.copy_csv(db, ours, columns, ordered, lambda _n: None)
    else:
        copy.sqlite_csv(db, ours, columns, ordered, lambda _n: None, 2)
    python = tmp_path / "python.csv"
    with db.engine.connect() as connection:
        result = connection.execute(ordered)
        writers.write_csv(python, columns, writers.batches_of(result.partitions(2)), lambda _n: None)
    # then cell for cell the same
    assert read_csv(ours) == read_csv(python)
    assert read_csv(ours)[1:] == [
        ["0", "-0.50", "USD", "2026-01-02T03:04:05+00:00", "true"],
        ["1", "0.07", "USD", "2026-01-02T03:04:05.000120+00:00", "false"],
        ["2", "-123456", "JPY", "2026-12-31T23:59:59.999999+00:00", ""],
        ["3", "-0.007", "BHD", "", "true"],
        ["4", "", "USD", "2026-06-01T00:00:00+00:00", "false"],
    ]


def test_parquet_amounts_and_times_are_exact_for_negative_zero_and_three_place_currencies(
    db: Database, tmp_path: Path
):
    from decimal import Decimal

    from ordersmith.data.exports import service, writers
    from ordersmith.data.exports.kinds import ExportColumn
    from ordersmith.platform.db import UTCDateTime

    # given negative, zero-place and three-place amounts, a NULL amount and times with and without microseconds
    values = [
        (-50, "USD", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (-123456, "JPY", datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        (-7, "BHD", None),
        (None, "USD", datetime(2026, 6, 1, tzinfo=UTC)),
        (9_007_199_254_740_993, "USD", datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=UTC)),
    ]
    query = sa.union_all(
        *(
            sa.select(
                sa.literal(n, sa.Integer).label("n"),
                sa.literal(amount, sa.BigInteger).label("amount"),
                sa.literal(currency, sa.String).label("currency"),
                sa.literal(at, UTCDateTime()).label("at"),
            )
            for n, (amount, currency, at) in enumerate(values)
        )
    )
    ordered = sa.select(query.subquery()).order_by("n")
    columns = [
        ExportColumn("n", "int"),
        ExportColumn("amount", "money", currency_column="currency"),
        ExportColumn("currency", "text"),
        ExportColumn("at", "datetime"),
    ]
    path = tmp_path / "amounts.parquet"
    # when written as Parquet from the rows the export reads (PostgreSQL: the driver's binary cursor), 2 per batch
    if db.dialect == "postgresql":
        batches = service._pg_batches(db, ordered, 2)
        writers.write_parquet(path, columns, batches, lambda _n: None)
    else:
        with db.engine.connect() as connection:
            result = connection.execute(ordered)
            writers.write_parquet(path, columns, writers.batches_of(result.partitions(2)), lambda _n: None)
    # then every amount is exact in its currency's places and every time is the same instant
    table = pq.read_table(path).to_pylist()
    assert [row["amount"] for row in table] == [
        Decimal("-0.5"),
        Decimal("-123456"),
        Decimal("-0.007"),
        None,
        Decimal("90071992547409.93"),
    ]
    assert [row["at"] for row in table] == [at for _amount, _currency, at in values]
