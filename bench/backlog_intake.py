"""Order intake with a backlog: the same load as `bench.order_intake` (five channel pools, Zipf popularity),
measured after N open orders, each holding one open reservation line, have been preloaded in bulk at a shared
warehouse whose every level has division pools (the catalog ring-fences units). Run it at `--backlog 0` and at
`--backlog 1000000`: the cost per order should stay flat (ADR 0016).

    python -m bench.backlog_intake --db sqlite|postgres [--backlog 200000] [--seconds 30] [--skus 2000]

The backlog follows the run's own Zipf popularity (the hot SKUs hold most of it), half web and half catalog
reservations, with the stock they hold added on top of the run's stock so availability is the same at any N. On
PostgreSQL it is written server-side (INSERT … SELECT over generate_series); on SQLite with executemany. Prints one
figure per line (`name: value unit`) and a summary line; on PostgreSQL also the database's own work per order from
its statistics views (buffer pages touched, rows read) and its backends' CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from bench.common import TOPOLOGIES, cpu_seconds, percentile, pg_database, start_ordersmith, stop
from bench.order_intake import ADDRESS, CHANNELS, _prepare_ordersmith, _run, _sku, _verify
from ordersmith.catalog.tables import ItemRow
from ordersmith.inventory.tables import (
    LocationRow,
    ReservationLineRow,
    ReservationRow,
    StockLevelRow,
    StockMovementRow,
    StockPoolRow,
)
from ordersmith.orders.tables import OrderLineRow, OrderRow
from ordersmith.platform.db import Database

_TICKS = os.sysconf("SC_CLK_TCK")
FENCE = 20  # units of every level ring-fenced for the catalog division


def _shares(backlog: int, skus: int) -> list[int]:
    """Backlog lines per SKU by Zipf popularity (weight 1/rank), largest remainder so they add up to `backlog`."""
    total = sum(1 / (rank + 1) for rank in range(skus))
    exact = [backlog * (1 / (rank + 1)) / total for rank in range(skus)]
    shares = [int(x) for x in exact]
    for rank in sorted(range(skus), key=lambda r: exact[r] - shares[r], reverse=True)[
        : backlog - sum(shares)
    ]:
        shares[rank] += 1
    assert sum(shares) == backlog
    return shares


def _pool_every_level(url: str) -> None:
    """A catalog ring-fence on every level (bulk SQL: the same rows `configure_level` would write)."""
    db = Database(url)
    with db.engine.begin() as conn:
        levels, pools = StockLevelRow.__table__, StockPoolRow.__table__
        conn.execute(sa.update(levels).values(pooled=True))  # type: ignore[arg-type]
        conn.execute(
            sa.insert(pools).from_select(  # type: ignore[arg-type]
                ["item_id", "location_id", "division", "ring_fence", "buffer", "reserved", "updated_at"],
                sa.select(levels.c.item_id, levels.c.location_id, sa.literal("catalog"), sa.literal(FENCE),
                          sa.literal(0), sa.literal(0), levels.c.updated_at),
            )
        )  # fmt: skip
    db.dispose()


def _preload(url: str, backlog: int, skus: int) -> None:
    """`backlog` open orders, each with one line holding one unit through one active reservation at the DC; the
    levels, their pool counters and the ledger moved to match, so `verify` stays clean."""
    db = Database(url)
    with db.engine.begin() as conn:
        items = dict(conn.execute(sa.select(ItemRow.sku, ItemRow.id)).tuples().all())
        location_id = conn.execute(sa.select(LocationRow.id).where(LocationRow.code == "DC")).scalar_one()
    shares = _shares(backlog, skus)
    counts: list[tuple[int, Any, str, int]] = []  # (first seq, item id, sku, lines)
    first = 0
    for n, lines in enumerate(shares):
        if lines:
            counts.append((first, items[_sku(n)], _sku(n), lines))
            first += lines
    if url.startswith("postgresql"):
        _preload_postgres(url, counts, location_id)
    else:
        _preload_sqlite(db, counts, location_id)
    # Stock: the held units on top of each level's run stock; the ledger says where they came from.
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        levels, pools = StockLevelRow.__table__, StockPoolRow.__table__
        conn.execute(
            sa.update(levels)  # type: ignore[arg-type]
            .where(levels.c.item_id == sa.bindparam("b_item"), levels.c.location_id == location_id)
            .values(on_hand=levels.c.on_hand + sa.bindparam("b_units"),
                    reserved=levels.c.reserved + sa.bindparam("b_units")),
            [{"b_item": item_id, "b_units": lines} for _, item_id, _, lines in counts],
        )  # fmt: skip
        # Odd sequence numbers are catalog reservations: that many per SKU sit in its catalog pool.
        conn.execute(
            sa.update(pools)  # type: ignore[arg-type]
            .where(pools.c.item_id == sa.bindparam("b_item"), pools.c.location_id == location_id,
                   pools.c.division == "catalog")
            .values(reserved=pools.c.reserved + sa.bindparam("b_units")),
            [{"b_item": item_id, "b_units": (start + lines) // 2 - start // 2} for start, item_id, _, lines in counts],
        )  # fmt: skip
        conn.execute(sa.insert(StockMovementRow.__table__), [  # type: ignore[arg-type]
            {"id": uuid.uuid4(), "item_id": item_id, "location_id": location_id, "on_hand_delta": on_hand,
             "reserved_delta": reserved, "reason": reason, "reference": "backlog", "at": now, "actor": "bench"}
            for _, item_id, _, lines in counts
            for on_hand, reserved, reason in ((lines, 0, "receipt"), (0, lines, "reservation"))])  # fmt: skip
    db.dispose()


def _preload_postgres(url: str, counts: list[tuple[int, Any, str, int]], location_id: Any) -> None:
    division = "CASE WHEN mod(seq, 2) = 0 THEN 'web' ELSE 'catalog' END"
    channel = "CASE WHEN mod(seq, 2) = 0 THEN 'web' ELSE 'phone' END"
    placed = "now() - interval '1 day' - seq * interval '1 second'"
    allocation = (
        "json_build_array(json_build_object('seq', 1, 'location', 'DC', 'quantity', 1, 'key', 'backlog-' || seq, "
        "'status', 'active'))"
    )
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("CREATE TEMP TABLE backlog_counts (first BIGINT, item_id UUID, sku TEXT, lines INT)")
        with conn.cursor().copy("COPY backlog_counts FROM STDIN") as copy:
            for row in counts:
                copy.write_row(row)
        conn.execute(
            "CREATE TEMP TABLE backlog AS SELECT c.first + g AS seq, c.item_id, c.sku "
            "FROM backlog_counts c, generate_series(0, c.lines - 1) AS g"
        )
        statements = [
            "INSERT INTO reservations (id, key, item_id, quantity, division, status, expires_at, created_at, "
            f"ended_at) SELECT md5('r' || seq)::uuid, 'backlog-' || seq, item_id, 1, {division}, 'active', NULL, "
            f"{placed}, NULL FROM backlog",
            "INSERT INTO reservation_lines (reservation_id, item_id, location_id, quantity) "
            "SELECT md5('r' || seq)::uuid, item_id, %(location)s, 1 FROM backlog",
            "INSERT INTO orders (id, number, channel, division, email, status, payment_status, fulfillment_status, "
            "currency, merchandise_minor, surcharges_minor, discounts_minor, shipping_minor, tax_minor, total_minor, "
            "coupons, billing, payment, pricing, ship_tos, allocation, address_key, card_key, priority, placed_at, "
            f"created_at, updated_at, version) SELECT md5('o' || seq)::uuid, 'B' || seq, {channel}, {division}, "
            "'', 'pending', 'authorized', 'allocated', 'USD', 500, 0, 0, 500, 36, 1036, '[]', '{}', '{}', '{}', "
            f"'[]', '[]', 'backlog-' || seq, '', 0, {placed}, {placed}, {placed}, 1 FROM backlog",
            "INSERT INTO order_lines (order_id, line_no, item_id, sku, name, quantity, ship_to, personalization, "
            "gift_message, unit_price_minor, price_list, merchandise_minor, surcharge_minor, discount_minor, "
            "tax_minor, reserved, backordered, cancelled, shipped, returned, returnable, allocations) "
            "SELECT md5('o' || seq)::uuid, 1, item_id, sku, sku, 1, 'main', '{}', '', 500, 'USD', 500, 0, 0, 36, "
            f"1, 0, 0, 0, 0, true, {allocation} FROM backlog",
        ]
        for statement in statements:
            conn.execute(statement, {"location": location_id})  # type: ignore[arg-type]
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def _preload_sqlite(db: Database, counts: list[tuple[int, Any, str, int]], location_id: Any) -> None:
    now = datetime.now(UTC) - timedelta(days=1)
    with db.engine.begin() as conn:
        for start, item_id, sku, lines in counts:
            rows = range(start, start + lines)
            reservations = [uuid.uuid5(uuid.NAMESPACE_OID, f"r{seq}") for seq in rows]
            orders = [uuid.uuid5(uuid.NAMESPACE_OID, f"o{seq}") for seq in rows]
            conn.execute(sa.insert(ReservationRow.__table__), [  # type: ignore[arg-type]
                {"id": r, "key": f"backlog-{seq}", "item_id": item_id, "quantity": 1,
                 "division": "web" if seq % 2 == 0 else "catalog", "status": "active", "expires_at": None,
                 "created_at": now, "ended_at": None} for r, seq in zip(reservations, rows, strict=True)])  # fmt: skip
            conn.execute(sa.insert(ReservationLineRow.__table__), [  # type: ignore[arg-type]
                {"reservation_id": r, "item_id": item_id, "location_id": location_id, "quantity": 1}
                for r in reservations])  # fmt: skip
            conn.execute(sa.insert(OrderRow.__table__), [  # type: ignore[arg-type]
                {"id": o, "number": f"B{seq}", "channel": "web" if seq % 2 == 0 else "phone",
                 "division": "web" if seq % 2 == 0 else "catalog", "email": "", "status": "pending",
                 "payment_status": "authorized", "fulfillment_status": "allocated", "currency": "USD",
                 "merchandise_minor": 500, "surcharges_minor": 0, "discounts_minor": 0, "shipping_minor": 500,
                 "tax_minor": 36, "total_minor": 1036, "coupons": [], "billing": {}, "payment": {}, "pricing": {},
                 "ship_tos": [], "allocation": [], "address_key": f"backlog-{seq}", "card_key": "", "priority": 0,
                 "placed_at": now, "created_at": now, "updated_at": now, "version": 1}
                for o, seq in zip(orders, rows, strict=True)])  # fmt: skip
            conn.execute(sa.insert(OrderLineRow.__table__), [  # type: ignore[arg-type]
                {"order_id": o, "line_no": 1, "item_id": item_id, "sku": sku, "name": sku, "quantity": 1,
                 "ship_to": "main", "personalization": {}, "gift_message": "", "unit_price_minor": 500,
                 "price_list": "USD", "merchandise_minor": 500, "surcharge_minor": 0, "discount_minor": 0,
                 "tax_minor": 36, "reserved": 1, "backordered": 0, "cancelled": 0, "shipped": 0, "returned": 0,
                 "returnable": True, "allocations": [{"seq": 1, "location": "DC", "quantity": 1,
                                                      "key": f"backlog-{seq}", "status": "active"}]}
                for o, seq in zip(orders, rows, strict=True)])  # fmt: skip
        conn.exec_driver_sql("ANALYZE")


_DATABASE_WORK = """
SELECT (SELECT blks_hit + blks_read FROM pg_stat_database WHERE datname = current_database()),
       (SELECT tup_returned + tup_fetched FROM pg_stat_database WHERE datname = current_database()),
       (SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) FROM pg_stat_user_tables
         WHERE relname = 'reservation_lines'),
       (SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) FROM pg_stat_user_tables
         WHERE relname = 'reservations')
"""


def _database_work(url: str) -> tuple[int, ...]:
    """Buffer pages touched, rows read, and rows read from reservation_lines and reservations, so far."""
    time.sleep(1.5)  # backends report their statistics at most once a second
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        row = conn.execute(_DATABASE_WORK).fetchone()
    assert row is not None
    return tuple(int(x) for x in row)


def _backends_cpu(url: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend connected to this database (same machine only)."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))]
        own = conn.info.backend_pid
    found = {}
    for pid in pids:
        if pid == own:
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--backlog", type=int, default=0, help="open orders (and reservation lines) preloaded"
    )
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--skus", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=8, help="clients per channel pool")
    parser.add_argument("--topology", choices=sorted(TOPOLOGIES), default=None)
    args = parser.parse_args()
    topology = args.topology or ("embedded" if args.db == "sqlite" else "split")
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-backlog-intake-"))
    url = (
        f"sqlite:///{folder}/ordersmith.db"
        if args.db == "sqlite"
        else pg_database("ordersmith_backlog_intake")
    )

    started = time.perf_counter()
    keys = _prepare_ordersmith(url, args.skus)
    _pool_every_level(url)
    set_up = time.perf_counter() - started
    started = time.perf_counter()
    if args.backlog:
        _preload(url, args.backlog, args.skus)
    preload = time.perf_counter() - started

    def body(channel: str, lines: list[tuple[int, int]], ref: str) -> dict[str, Any]:
        order: dict[str, Any] = {"lines": [{"sku": _sku(n), "quantity": q} for n, q in lines],
                                 "ship_tos": [ADDRESS | {"line1": f"{ref} Market St"}]}  # fmt: skip
        if channel == "amazon":
            order["external_id"] = f"AMZ-{ref}"
        return order

    postgres = args.db == "postgres"
    ours, our_url, helpers = start_ordersmith(url, topology, folder)
    try:
        work = _database_work(url) if postgres else ()
        backends = _backends_cpu(url) if postgres else {}
        cpu = cpu_seconds(ours, *helpers)
        latencies, placed, refused, elapsed = asyncio.run(
            _run(our_url, args.seconds, args.clients, args.skus, body,
                 lambda channel: {"Authorization": f"Bearer {keys[channel]}"}, "/api/v1/orders"))  # fmt: skip
        cpu = cpu_seconds(ours, *helpers) - cpu
        after = _backends_cpu(url) if postgres else {}
        database_cpu = sum(seconds - backends.get(pid, 0.0) for pid, seconds in after.items())
    finally:
        stop(ours, *helpers)
    work = tuple(b - a for a, b in zip(work, _database_work(url), strict=True)) if postgres else ()
    oversold, ledger = _verify(url, args.skus)
    requests = max(placed + refused, 1)
    rate = placed / elapsed
    everything = [x for lat in latencies.values() for x in lat]
    print(f"database: {args.db}")
    print(f"backlog: {args.backlog} open orders, each holding one reservation line at the pooled DC")
    print(f"skus: {args.skus} (every level pooled: {FENCE} units ring-fenced for the catalog)")
    print(f"clients: {len(CHANNELS)} channel pools x {args.clients}")
    print(f"topology: {TOPOLOGIES[topology]}")
    print(f"set_up: {set_up:.0f} s")
    print(f"preload: {preload:.1f} s")
    print(f"orders_per_s: {rate:.0f} orders/s ({refused} refused: no stock)")
    print(f"latency_all_channels: p50 {percentile(everything, 50):.1f} ms, p95 {percentile(everything, 95):.1f} ms, "
          f"p99 {percentile(everything, 99):.1f} ms ({len(everything)} requests)")  # fmt: skip
    print(f"server_cpu: {cpu / requests * 1000:.2f} ms per request (API process + worker)")
    if postgres:
        pages, rows, line_rows, reservation_rows = work
        print(f"database_cpu: {database_cpu / requests * 1000:.2f} ms per request (its backends)")
        print(f"database_pages: {pages / requests:.0f} buffer pages per request")
        print(f"database_rows_read: {rows / requests:.0f} rows per request")
        print(f"reservation_lines_rows_read: {line_rows / requests:.1f} rows per request")
        print(f"reservations_rows_read: {reservation_rows / requests:.1f} rows per request")
    print(f"oversold: {oversold} units")
    print(f"ledger_discrepancies: {ledger} rows")
    per_order = f", database {database_cpu / requests * 1000:.2f} ms/request" if postgres else ""
    server = f"server {cpu / requests * 1000:.2f} ms/request"
    print(f"summary: backlog_intake {args.db} backlog {args.backlog}: {rate:.0f} orders/s, {server}{per_order}, "
          f"oversold {oversold}, discrepancies {ledger}")  # fmt: skip


if __name__ == "__main__":
    main()
