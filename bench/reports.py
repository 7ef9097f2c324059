"""Reports and exports at scale: fills N orders (two lines each, over a year, five channels, source codes,
cancellations, returns, backorders) plus invoices, gift cards and stock straight into the tables, then

- runs every catalogue report through `reporting.service.run_report` (parameters checked, SQLAlchemy Core, rows
  typed to Money/int) beside the same SQL run by the raw driver (psycopg / sqlite3 cursor, the statement
  compiled once with its values inlined): the ratio is Ordersmith's overhead over the database's own work. For
  sales by day and channel, also beside a query written by hand, independently of the catalogue's;
- exports every order line as CSV, XLSX and Parquet (rows/s), the CSV beside a raw dump of the same query in the
  same run: the query's rows written by the driver alone (psycopg `COPY (query) TO STDOUT`; sqlite3 cursor rows
  handed to the csv module unconverted, times as SQLite stores them).

    python -m bench.reports --db sqlite|postgres [--orders 20000] [--repeat 3] [--exports-only|--reports-only]
        [--keep]    # PostgreSQL: keep bench_reports_N filled for the next run (reused; dropped otherwise)

Prints one figure per line, `name: value unit`, and a summary line. Goals (issue 16): each report ≤ 1.5x its raw
SQL and ≤ 2 s over 1,000,000 orders on PostgreSQL; export ≥ 200,000 rows/s to CSV.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from bench.common import PG_ADMIN, pg_database
from ordersmith.data.exports import kinds as exports_kinds
from ordersmith.data.exports import service as exports
from ordersmith.inventory.tables import LocationRow, StockLevelRow
from ordersmith.orders.tables import OrderLineRow, OrderRow
from ordersmith.payments.tables import GiftCardRow, InvoiceRow
from ordersmith.platform import migrate
from ordersmith.platform.db import Actor, Database
from ordersmith.reporting import facts as report_facts
from ordersmith.reporting import service as reports
from ordersmith.reporting.catalogue import CATALOGUE, QueryContext
from ordersmith.reporting.catalogue import _daily as report_daily
from ordersmith.reporting.rules import parse_parameters

CHUNK = 5_000
EXPORT_LINES = 1_000_000  # how many order lines the exports write (about: whole days)
CHANNELS = [
    ("web", "web"),
    ("phone", "catalog"),
    ("mail", "catalog"),
    ("amazon", "web"),
    ("store-1", "store"),
]
SKUS = [f"SKU-{n:04d}" for n in range(500)]
ITEM_IDS = {
    sku: uuid.UUID(hashlib.md5(sku.encode()).hexdigest()) for sku in SKUS
}  # as PostgreSQL's md5(sku)::uuid
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


# One set-based statement per table on PostgreSQL (1,000,000 orders in about a minute rather than the Python
# loop's many): the same shape of orders and lines as `_fill_python` draws, from random() under a fixed seed.
ORDERS_SQL = """
SELECT setseed(0.11);
CREATE TEMP TABLE bench_lines ON COMMIT DROP AS
SELECT n, line_no, quantity, price, cancelled, sku, shipped,
       CASE WHEN shipped > 0 AND u_return < 0.08 THEN 1 ELSE 0 END AS returned,
       CASE WHEN shipped = 0 AND u_back < 0.1 THEN quantity - cancelled ELSE 0 END AS backordered
FROM (
    SELECT n, line_no, quantity, price, cancelled, sku, u_return, u_back,
           CASE WHEN u_ship < 0.8 THEN quantity - cancelled ELSE 0 END AS shipped
    FROM (
        SELECT g.n, l.line_no, 1 + floor(random() * 4)::int AS quantity,
               (ARRAY[999, 1500, 2500, 4999])[1 + floor(random() * 4)::int] AS price,
               CASE WHEN random() < 0.05 THEN 1 ELSE 0 END AS cancelled,
               'SKU-' || lpad(floor(random() * 500)::int::text, 4, '0') AS sku,
               random() AS u_ship, random() AS u_return, random() AS u_back
        FROM generate_series(0, :orders - 1) AS g(n) CROSS JOIN (VALUES (1), (2)) AS l(line_no)
    ) drawn
) shipped;
CREATE TEMP TABLE bench_orders ON COMMIT DROP AS
SELECT o.n, gen_random_uuid() AS id,
       timestamptz '2026-01-01 00:00:00+00' + floor(random() * 31536000) * interval '1 second' AS at,
       (ARRAY['web', 'phone', 'mail', 'amazon', 'store-1'])[c] AS channel,
       (ARRAY['web', 'catalog', 'catalog', 'web', 'store'])[c] AS division,
       (ARRAY[NULL, 'SPRING', 'FALL', 'EMAIL1', 'CAT26'])[1 + floor(random() * 5)::int] AS source_code,
       (ARRAY['CA', 'NY', 'TX'])[1 + floor(random() * 3)::int] AS region,
       t.total, t.all_shipped
FROM (SELECT n, 1 + floor(random() * 5)::int AS c FROM generate_series(0, :orders - 1) AS g(n)) o
JOIN (SELECT n, sum(price * (quantity - cancelled)) AS total, bool_and(shipped > 0) AS all_shipped
      FROM bench_lines GROUP BY n) t ON t.n = o.n;
INSERT INTO orders (id, number, channel, division, external_id, customer_id, customer_number, email, status,
    payment_status, fulfillment_status, currency, merchandise_minor, surcharges_minor, discounts_minor,
    shipping_minor, tax_minor, total_minor, source_code, coupons, billing, payment, pricing, ship_tos, allocation,
    address_key, card_key, priority, exchange_for, placed_at, created_at, updated_at, version, fulfillment)
SELECT id, (n + 100000)::text, channel, division, NULL, NULL, NULL, '',
       CASE WHEN all_shipped THEN 'shipped' ELSE 'released' END, 'captured', 'shipped', 'USD', total, 0, 0,
       500, total / 10, total + 500 + total / 10, source_code, '[]', '{}', '{}', '{}',
       json_build_array(json_build_object('ref', 'main', 'country', 'US', 'region', region,
                                          'shipping_minor', 500, 'shipping_tax_minor', 50)),
       '[]', '', '', 0, NULL, at, at, at, 1, 'ship'
FROM bench_orders ORDER BY at;
INSERT INTO order_lines (order_id, line_no, item_id, sku, name, quantity, ship_to, personalization, gift_message,
    unit_price_minor, price_list, merchandise_minor, surcharge_minor, discount_minor, tax_minor, reserved,
    backordered, cancelled, shipped, returned, returnable, allocations)
SELECT o.id, l.line_no, md5(l.sku)::uuid, l.sku, 'A product', l.quantity, 'main', '{}', '', l.price, 'usd',
       l.price * (l.quantity - l.cancelled), 0, 0, l.price * (l.quantity - l.cancelled) / 10, 0,
       l.backordered, l.cancelled, l.shipped, l.returned, true, '[]'
FROM bench_lines l JOIN bench_orders o ON o.n = l.n ORDER BY o.at, l.line_no;
"""


def fill(db: Database, orders: int, seed: int = 11) -> None:
    """Orders and lines (set-based on PostgreSQL, a Python loop on SQLite), then invoices, gift cards, stock."""
    rng = random.Random(seed)
    with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            for statement in ORDERS_SQL.split(";"):
                if statement.strip():
                    connection.execute(
                        sa.text(statement), {"orders": orders} if ":orders" in statement else {}
                    )
        else:
            _fill_python(connection, orders, rng)
        _fill_rest(connection, orders, rng)


def _fill_python(connection: sa.Connection, orders: int, rng: random.Random) -> None:
    seconds = 365 * 86_400
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
                sku = rng.choice(SKUS)
                line_rows.append(
                    dict(
                        order_id=order_id,
                        line_no=line_no,
                        item_id=ITEM_IDS[sku],
                        sku=sku,
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


def _fill_rest(connection: sa.Connection, orders: int, rng: random.Random) -> None:
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


def compiled(db: Database, name: str, stored: tuple[tuple[date, date], ...] = ()) -> str:
    """The report's statement with its values inlined: reading the stored daily facts of `stored`, or (empty) the
    orders alone, the query the report ran before daily facts."""
    report = CATALOGUE[name]
    values = parse_parameters(report.spec, _parameters(name), today=TODAY)
    now = datetime(2026, 12, 31, 12, tzinfo=UTC)
    query = report.query(values, QueryContext(dialect=db.dialect, now=now, stored=stored))
    return str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))


def raw_csv(db: Database, path: Path, filters: dict[str, str]) -> int:
    """The order lines export's query, its rows written as CSV by the driver with nothing converted."""
    sql = str(
        exports_kinds.KINDS["order_lines"]
        .query(exports_kinds.query_filters(filters))
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
    parser.add_argument("--reports-only", action="store_true", help="skip the exports")
    parser.add_argument("--reports", default="", help="only these reports (comma-separated names)")
    parser.add_argument("--formats", default="csv,xlsx,parquet", help="exports to time (CSV always)")
    parser.add_argument(
        "--no-facts", action="store_true", help="leave the daily facts out: every report reads the orders"
    )
    parser.add_argument(
        "--live-repeat", type=int, default=1, help="runs of each report over the orders alone"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="PostgreSQL: keep the filled database (bench_reports_N) for the next run, and reuse it if there",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-bench-reports-"))
    database = f"bench_reports_{args.orders}"
    reused = args.db == "postgres" and args.keep and _filled(database, args.orders)
    if args.db == "sqlite":
        url = f"sqlite:///{folder}/bench.db"
    elif reused:
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + database
    else:
        url = pg_database(database)
    migrate.upgrade(url)
    db = Database(url)
    start = time.perf_counter()
    if not reused:
        fill(db, args.orders)
        if db.dialect == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        else:
            with db.engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
    print(
        f"load_seconds: {time.perf_counter() - start:.1f} s ({args.orders} orders, {2 * args.orders} lines"
        f"{', kept from an earlier run' if reused else ''})"
    )
    from ordersmith.kernel.clock import FixedClock

    uow = db.unit_of_work(Actor.system("bench"), clock=FixedClock(datetime(2026, 12, 31, 12, tzinfo=UTC)))
    worst_ratio, slowest, worst_live = 0.0, 0.0, 0.0
    names = [n for n in CATALOGUE if not args.reports or n in args.reports.split(",")]
    stored: tuple[tuple[date, date], ...] = ()
    if not args.exports_only and not args.no_facts:
        start, cpu_start = time.perf_counter(), time.process_time()
        done = reports.refresh_facts(uow)
        with uow:
            stored = report_facts.stored_days(uow, date(2026, 1, 1), TODAY)
            kept = {
                g.name: int(uow.execute_core(sa.select(sa.func.count()).select_from(g.table)).scalar_one())
                for g in report_daily.GRAINS
            }
        print(
            f"facts_backfill_seconds: {time.perf_counter() - start:.1f} s ({done.days} days {done.first} to "
            f"{done.last}, Python CPU {time.process_time() - cpu_start:.1f} s; rows kept: "
            + ", ".join(f"{k} {v}" for k, v in kept.items())
            + ")"
        )
    for name in [] if args.exports_only else names:
        params = _parameters(name)
        cpu: list[float] = []

        def run(name: str = name, params: dict[str, str] = params, cpu: list[float] = cpu) -> None:
            start = time.process_time()
            reports.run_report(uow, name=name, parameters=params)
            cpu.append(time.process_time() - start)

        ours = best(run, args.repeat)
        daily = CATALOGUE[name].daily
        raw = best(raw_runner(db, compiled(db, name, stored if daily else ())), args.repeat)
        ratio = ours / raw if raw > 0 else 0.0
        worst_ratio, slowest = max(worst_ratio, ratio), max(slowest, ours)
        line = (
            f"report_{name}: {ours * 1000:.1f} ms (raw SQL {raw * 1000:.1f} ms, ratio {ratio:.2f}; "
            f"Python CPU in ours {min(cpu) * 1000:.1f} ms"
        )
        if daily and stored:
            # The same report as one SQL statement over the orders and lines alone (no stored facts): the
            # query this report ran before daily facts, and the baseline the goal names.
            live = best(raw_runner(db, compiled(db, name)), args.live_repeat)
            worst_live = max(worst_live, ours / live)
            line += f"; over the orders alone, raw {live * 1000:.1f} ms: ours/that {ours / live:.3f}"
        print(line + ")")
    if not args.exports_only and "sales_by_day_channel" in names:
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
    summary = f"summary: {args.db}, {args.orders} orders"
    if not args.exports_only:
        summary += (
            f": {len(names)} reports, worst ratio {worst_ratio:.2f} (goal <= 1.5), slowest {slowest:.2f} s "
            "(goal <= 2 s at 1M on PostgreSQL)"
            + (f", daily-facts reports vs raw SQL over the orders: worst {worst_live:.3f}" if stored else "")
        )
    if not args.reports_only:
        formats = ["csv", *(f for f in args.formats.split(",") if f in ("xlsx", "parquet"))]
        summary += "; " + run_exports(db, folder, args.repeat, args.orders, formats)
    print(summary)
    db.dispose()
    if args.db == "postgres" and not args.keep:
        drop_database(database)


def rss_mb() -> float:
    """This process's resident set size now (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def backend_cpu_s(db: Database) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving the bench's database (the server runs on this
    machine): the export's database work, apart from whatever else loads the machine. 0 on SQLite."""
    if db.dialect != "postgresql":
        return 0.0
    with psycopg.connect(PG_ADMIN.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        pids = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (db.engine.url.database,)
            )
        ]
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def timed(fn: Any, db: Database) -> tuple[float, float, float]:
    """Wall seconds, this process's CPU seconds and the database backends' CPU seconds of one call."""
    wall, cpu, server = time.perf_counter(), time.process_time(), backend_cpu_s(db)
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu, backend_cpu_s(db) - server


def run_exports(db: Database, folder: Path, repeat: int, orders: int, formats: list[str]) -> str:
    """About 1,000,000 order lines (the first days of the year that hold them; every line when there are fewer)
    as CSV, XLSX and Parquet: rows/s and the process's RSS growth while streaming (sampled every 50,000 rows), the
    CSV beside the raw driver's dump of the same query."""
    days = min(365, math.ceil(EXPORT_LINES * 365 / (2 * orders)))
    filters = {"from": START.date().isoformat(), "to": (START.date() + timedelta(days=days - 1)).isoformat()}
    print(f"export_filters: {filters['from']} to {filters['to']} ({days} days)")
    rates, counts = {}, {}
    for format in formats:
        path = folder / f"lines.{format}"
        before = rss_mb()
        peak = [before, 0.0]  # the highest RSS seen, the row count of the next sample

        def sample(count: int, peak: list[float] = peak) -> None:
            if count >= peak[1]:  # progress comes per COPY block: read /proc only every 50,000 rows
                peak[0], peak[1] = max(peak[0], rss_mb()), count + 50_000

        def export(format: str = format, path: Path = path, sample: Any = sample) -> None:
            counts[format] = exports.stream_to_file(
                db, kind="order_lines", format=format, filters=filters, path=path, progress=sample
            )

        db.engine.dispose()  # the export's connection is new: its backend is measured from its start
        seconds, cpu, server = timed(export, db)
        count = counts[format]
        rates[format] = count / seconds
        print(
            f"export_order_lines_{format}: {rates[format]:,.0f} rows/s ({count} rows in {seconds:.1f} s, "
            f"{path.stat().st_size / 1e6:.1f} MB; RSS growth while streaming {peak[0] - before:.0f} MB; "
            f"CPU: ours {count / cpu:,.0f} rows/s, database {_per(count, server)} rows/s)"
        )
        path.unlink()
    db.engine.dispose()
    seconds, cpu, server = timed(lambda: counts.update(raw=raw_csv(db, folder / "raw.csv", filters)), db)
    assert counts["raw"] == counts["csv"], counts
    (folder / "raw.csv").unlink()
    rates["raw"] = counts["raw"] / seconds
    print(
        f"export_order_lines_csv_raw_driver: {rates['raw']:,.0f} rows/s (CPU: ours {counts['raw'] / cpu:,.0f} "
        f"rows/s, database {_per(counts['raw'], server)} rows/s)"
    )
    print(f"export_order_lines_csv_vs_raw: {rates['csv'] / rates['raw']:.2f} x")
    return "; ".join(
        [
            f"export CSV {rates['csv']:,.0f} rows/s (goal >= 200,000; raw driver dump {rates['raw']:,.0f})",
            *(f"{f.upper()} {rates[f]:,.0f}" for f in formats if f != "csv"),
        ]
    )


def _per(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "n/a"


def _filled(name: str, orders: int) -> bool:
    """Whether database `name` exists and holds exactly `orders` orders (an earlier run's, kept)."""
    with psycopg.connect(PG_ADMIN.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            return False
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://") + "/" + name
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            found = conn.execute("SELECT count(*) FROM orders").fetchone()
        except psycopg.Error:
            return False
    return found is not None and found[0] == orders


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
