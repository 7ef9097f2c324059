"""Reports and exports at scale: fills N orders (two lines each, over a year, five channels, source codes,
cancellations, returns, backorders) plus invoices, gift cards and stock straight into the tables, then

- runs every catalogue report through `reporting.service.run_report` (parameters checked, SQLAlchemy Core, rows
  typed to Money/int) beside the same SQL run by the raw driver (psycopg / sqlite3 cursor, the statement
  compiled once with its values inlined): the ratio is Ordersmith's overhead over the database's own work. For
  sales by day and channel, also beside a query written by hand, independently of the catalogue's;
- exports every order line as CSV, XLSX and Parquet (rows/s), the CSV beside a raw dump of the same query in the
  same run: the query's rows written by the driver alone (psycopg `COPY (query) TO STDOUT`; sqlite3 cursor rows
  handed to the csv module unconverted, times as SQLite stores them).

    python -m bench.reports --db sqlite|postgres [--orders 20000] [--repeat 3] [--exports-only]

Prints one figure per line, `name: value unit`, and a summary line. Goals (issue 16): each report ≤ 1.5x its raw
SQL and ≤ 2 s over 1,000,000 orders on PostgreSQL; export ≥ 200,000 rows/s to CSV.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import pg_database
from ordersmith.data.exports import kinds as exports_kinds
from ordersmith.data.exports import service as exports
from ordersmith.inventory.tables import LocationRow, StockLevelRow
from ordersmith.orders.tables import OrderLineRow, OrderRow
from ordersmith.payments.tables import GiftCardRow, InvoiceRow
from ordersmith.platform import migrate
from ordersmith.platform.db import Actor, Database
from ordersmith.reporting import service as reports
from ordersmith.reporting.catalogue import CATALOGUE, QueryContext
from ordersmith.reporting.rules import parse_parameters

CHUNK = 5_000
CHANNELS = [
    ("web", "web"),
    ("phone", "catalog"),
    ("mail", "catalog"),
    ("amazon", "web"),
    ("store-1", "store"),
]
SKUS = [f"SKU-{n:04d}" for n in range(500)]
TODAY = date(2026, 12, 31)
START = datetime(2026, 1, 1, tzinfo=UTC)
# The range every dated report runs over: the whole year.
PARAMETERS = {"from": "2026-01-01", "to": "2026-12-31", "as_of": "2026-12-31"}

SALES_BY_DAY_SQL = {
    "postgresql": """
        SELECT to_char(date_trunc('day', timezone('UTC', o.placed_at)), 'YYYY-MM-DD') AS day, o.channel, o.currency,
               count(DISTINCT o.id), sum(l.quantity), sum(l.cancelled), sum(l.returned),
               sum(l.unit_price_minor * l.quantity),
               sum(l.merchandise_minor + l.surcharge_minor - l.discount_minor
                   - CASE WHEN l.returned > 0 THEN (l.merchandise_minor + l.surcharge_minor - l.discount_minor)
                          * l.returned / (l.quantity - l.cancelled) ELSE 0 END)
        FROM orders o JOIN order_lines l ON l.order_id = o.id
        WHERE o.placed_at >= '2026-01-01' AND o.placed_at < '2027-01-01'
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
    "sqlite": """
        SELECT substr(o.placed_at, 1, 10) AS day, o.channel, o.currency,
               count(DISTINCT o.id), sum(l.quantity), sum(l.cancelled), sum(l.returned),
               sum(l.unit_price_minor * l.quantity),
               sum(l.merchandise_minor + l.surcharge_minor - l.discount_minor
                   - CASE WHEN l.returned > 0 THEN (l.merchandise_minor + l.surcharge_minor - l.discount_minor)
                          * l.returned / (l.quantity - l.cancelled) ELSE 0 END)
        FROM orders o JOIN order_lines l ON l.order_id = o.id
        WHERE o.placed_at >= '2026-01-01' AND o.placed_at < '2027-01-01'
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
}


def fill(db: Database, orders: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    seconds = 365 * 86_400
    with db.engine.begin() as connection:
        for first in range(0, orders, CHUNK):
            order_rows: list[dict[str, Any]] = []
            line_rows: list[dict[str, Any]] = []
            for n in range(first, min(first + CHUNK, orders)):
                order_id = uuid.uuid4()
                channel, division = rng.choice(CHANNELS)
                at = START + timedelta(seconds=rng.randrange(seconds))
                total = 0
                for line_no in (1, 2):
                    quantity = rng.randint(1, 4)
                    price = rng.choice((999, 1500, 2500, 4999))
                    cancelled = 1 if rng.random() < 0.05 else 0
                    shipped = quantity - cancelled if rng.random() < 0.8 else 0
                    returned = 1 if shipped and rng.random() < 0.08 else 0
                    backordered = quantity - cancelled if not shipped and rng.random() < 0.1 else 0
                    merchandise = price * (quantity - cancelled)
                    total += merchandise
                    line_rows.append(
                        dict(
                            order_id=order_id,
                            line_no=line_no,
                            item_id=order_id,
                            sku=rng.choice(SKUS),
                            name="A product",
                            quantity=quantity,
                            ship_to="main",
                            personalization={},
                            gift_message="",
                            unit_price_minor=price,
                            price_list="usd",
                            merchandise_minor=merchandise,
                            surcharge_minor=0,
                            discount_minor=0,
                            tax_minor=merchandise // 10,
                            reserved=0,
                            backordered=backordered,
                            cancelled=cancelled,
                            shipped=shipped,
                            returned=returned,
                            returnable=True,
                            allocations=[],
                        )
                    )
                status = "shipped" if line_rows[-1]["shipped"] and line_rows[-2]["shipped"] else "released"
                order_rows.append(
                    dict(
                        id=order_id,
                        number=f"{n + 100000}",
                        channel=channel,
                        division=division,
                        external_id=None,
                        customer_id=None,
                        customer_number=None,
                        email="",
                        status=status,
                        payment_status="captured",
                        fulfillment_status="shipped",
                        currency="USD",
                        merchandise_minor=total,
                        surcharges_minor=0,
                        discounts_minor=0,
                        shipping_minor=500,
                        tax_minor=total // 10,
                        total_minor=total + 500 + total // 10,
                        source_code=rng.choice((None, "SPRING", "FALL", "EMAIL1", "CAT26")),
                        coupons=[],
                        billing={},
                        payment={},
                        pricing={},
                        allocation=[],
                        address_key="",
                        card_key="",
                        priority=0,
                        exchange_for=None,
                        fulfillment="ship",
                        store=None,
                        placed_at=at,
                        created_at=at,
                        updated_at=at,
                        version=1,
                        ship_tos=[
                            {
                                "ref": "main",
                                "country": "US",
                                "region": rng.choice(("CA", "NY", "TX")),
                                "shipping_minor": 500,
                                "shipping_tax_minor": 50,
                            }
                        ],
                    )
                )
            connection.execute(sa.insert(OrderRow.__table__), order_rows)
            connection.execute(sa.insert(OrderLineRow.__table__), line_rows)
        now = datetime(2026, 12, 31, tzinfo=UTC)
        connection.execute(
            sa.insert(InvoiceRow.__table__),
            [
                dict(
                    id=uuid.uuid4(),
                    number=f"I-{n}",
                    order_id=uuid.uuid4(),
                    order_number=str(n),
                    payment_id=uuid.uuid4(),
                    customer_id=uuid.uuid4(),
                    customer_number=f"C-{n % 500}",
                    terms="NET30",
                    currency="USD",
                    lines=[],
                    merchandise_minor=10_000,
                    shipping_minor=0,
                    tax_minor=0,
                    total_minor=10_000,
                    paid_minor=rng.choice((0, 0, 2500, 10_000)),
                    status="open",
                    issued_on=TODAY - timedelta(days=rng.randrange(200)),
                    due_on=TODAY - timedelta(days=rng.randrange(-30, 170)),
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
                for n in range(max(100, orders // 100))
            ],
        )
        connection.execute(
            sa.insert(GiftCardRow.__table__),
            [
                dict(
                    id=uuid.uuid4(),
                    code_digest=f"digest-{n}",
                    last_four="0000",
                    kind=rng.choice(("gift_card", "store_credit")),
                    status="active",
                    currency="USD",
                    balance_minor=rng.randrange(5000),
                    initial_minor=5000,
                    issued_by="bench",
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
                for n in range(max(100, orders // 100))
            ],
        )
        locations = [
            dict(
                id=uuid.uuid4(),
                code=f"WH{n}",
                name=f"WH{n}",
                kind="warehouse",
                division=None,
                priority=100,
                active=True,
                created_at=now,
            )
            for n in range(3)
        ]
        connection.execute(sa.insert(LocationRow.__table__), locations)
        connection.execute(
            sa.insert(StockLevelRow.__table__),
            [
                dict(
                    item_id=uuid.uuid4(),
                    location_id=loc["id"],
                    on_hand=rng.randrange(100),
                    reserved=0,
                    safety_stock=0,
                    pooled=False,
                    updated_at=now,
                )
                for loc in locations
                for _ in SKUS
            ],
        )


def best(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def raw_runner(db: Database, sql: str) -> Any:
    def run() -> int:
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            if db.dialect == "postgresql":
                cursor.execute("SET jit = off")  # as the reports run (reporting.service)
            cursor.execute(sql)
            count = len(cursor.fetchall())
            cursor.close()
            return count
        finally:
            connection.close()

    return run


def compiled(db: Database, name: str) -> str:
    report = CATALOGUE[name]
    values = parse_parameters(report.spec, _parameters(name), today=TODAY)
    query = report.query(values, QueryContext(dialect=db.dialect, now=datetime(2026, 12, 31, 12, tzinfo=UTC)))
    return str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))


def raw_csv(db: Database, path: Path) -> int:
    """The order lines export's query, its rows written as CSV by the driver with nothing converted."""
    sql = str(
        exports_kinds.KINDS["order_lines"]
        .query({})
        .compile(db.engine, compile_kwargs={"literal_binds": True})
    )
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if db.dialect == "postgresql":
            with (
                path.open("wb") as handle,
                cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER true)") as copy,
            ):
                for block in copy:
                    handle.write(block)
            count = int(cursor.rowcount)
        else:
            cursor.execute(sql)
            count = 0
            with path.open("w", newline="") as handle:
                writer = csv.writer(handle)
                while rows := cursor.fetchmany(10_000):
                    writer.writerows(rows)
                    count += len(rows)
        connection.commit()
        return count
    finally:
        connection.close()


def _parameters(name: str) -> dict[str, str]:
    known = {p.name for p in CATALOGUE[name].spec.parameters}
    return {k: v for k, v in PARAMETERS.items() if k in known}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exports-only", action="store_true", help="skip the reports")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-bench-reports-"))
    url = f"sqlite:///{folder}/bench.db" if args.db == "sqlite" else pg_database("bench_reports")
    migrate.upgrade(url)
    db = Database(url)
    start = time.perf_counter()
    fill(db, args.orders)
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    print(
        f"load_seconds: {time.perf_counter() - start:.1f} s ({args.orders} orders, {2 * args.orders} lines)"
    )
    from ordersmith.kernel.clock import FixedClock

    uow = db.unit_of_work(Actor.system("bench"), clock=FixedClock(datetime(2026, 12, 31, 12, tzinfo=UTC)))
    worst_ratio, slowest = 0.0, 0.0
    for name in [] if args.exports_only else CATALOGUE:
        params = _parameters(name)
        ours = best(
            lambda name=name, params=params: reports.run_report(uow, name=name, parameters=params),
            args.repeat,
        )
        raw = best(raw_runner(db, compiled(db, name)), args.repeat)
        ratio = ours / raw if raw > 0 else 0.0
        worst_ratio, slowest = max(worst_ratio, ratio), max(slowest, ours)
        print(f"report_{name}: {ours * 1000:.1f} ms (raw SQL {raw * 1000:.1f} ms, ratio {ratio:.2f})")
    if not args.exports_only:
        hand = best(raw_runner(db, SALES_BY_DAY_SQL[db.dialect]), args.repeat)
        ours = best(
            lambda: reports.run_report(
                uow, name="sales_by_day_channel", parameters=_parameters("sales_by_day_channel")
            ),
            args.repeat,
        )
        print(
            f"report_sales_by_day_channel_vs_hand_written: {ours / hand:.2f} ratio "
            f"(hand-written {hand * 1000:.1f} ms)"
        )
    rates, counts = {}, {}
    for format in ("csv", "xlsx", "parquet"):
        path = folder / f"lines.{format}"

        def export(format: str = format, path: Path = path) -> None:
            counts[format] = exports.stream_to_file(
                db, kind="order_lines", format=format, filters={}, path=path
            )

        seconds = best(
            export, args.repeat if format == "csv" else 1
        )  # CSV beside the raw dump: best of repeat
        count = counts[format]
        rates[format] = count / seconds
        print(
            f"export_order_lines_{format}: {rates[format]:,.0f} rows/s ({count} rows, "
            f"{path.stat().st_size / 1e6:.1f} MB)"
        )
    seconds = best(lambda: counts.update(raw=raw_csv(db, folder / "raw.csv")), args.repeat)
    assert counts["raw"] == counts["csv"], counts
    rates["raw"] = counts["raw"] / seconds
    print(f"export_order_lines_csv_raw_driver: {rates['raw']:,.0f} rows/s")
    print(f"export_order_lines_csv_vs_raw: {rates['csv'] / rates['raw']:.2f} x")
    print(
        f"summary: {args.db}, {args.orders} orders: {len(CATALOGUE)} reports, worst ratio {worst_ratio:.2f} "
        f"(goal <= 1.5), slowest {slowest:.2f} s (goal <= 2 s at 1M on PostgreSQL); export CSV "
        f"{rates['csv']:,.0f} rows/s (goal >= 200,000; raw driver dump {rates['raw']:,.0f}), "
        f"XLSX {rates['xlsx']:,.0f}, Parquet {rates['parquet']:,.0f}"
    )
    db.dispose()


if __name__ == "__main__":
    main()
