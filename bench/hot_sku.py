"""Hot SKU: 64 concurrent clients reserve one unit each of one SKU until it sells out, through the HTTP API;
beside it, in the same run, a bare FastAPI endpoint doing the same conditional UPDATE + movement INSERT with the
raw driver. Also measures how long a `stock.changed` event takes to reach an SSE client.

    python -m bench.hot_sku --db sqlite|postgres [--units 10000] [--concurrency 64] [--topology embedded|split]

Prints one figure per line (`name: value unit`) and a summary line. Goals: ratio >= 0.5 with 0 oversold;
p99 from commit to the SSE client <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
import psycopg

from bench.common import (
    TOPOLOGIES,
    cpu_seconds,
    percentile,
    pg_database,
    start_ordersmith,
    start_uvicorn,
    stop,
)
from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.platform import identity, migrate
from ordersmith.platform.db import Actor, Database

SKU = "HOT-SKU-1"


def _prepare_ordersmith(url: str, units: int) -> str:
    migrate.upgrade(url)
    db = Database(url)
    uow = db.unit_of_work(Actor.system("bench"))
    catalog.create_item(uow, sku=SKU, name="The hot item", divisions=["web"])
    inventory.create_location(uow, code="DC", name="DC", kind="warehouse")
    inventory.adjust_stock(uow, sku=SKU, location="DC", quantity=units, reason="receipt")
    key = identity.create_api_key(uow, name="bench", scopes=["reservations:write", "events:read"]).secret
    db.dispose()
    return key


def _prepare_baseline(url: str, units: int) -> None:
    ddl = [
        "CREATE TABLE bench_stock (item_id VARCHAR(40) PRIMARY KEY, on_hand INTEGER NOT NULL, "
        "reserved INTEGER NOT NULL, CHECK (reserved <= on_hand))",
        "CREATE TABLE bench_movements (id {uuid} PRIMARY KEY, item_id VARCHAR(40) NOT NULL, "
        "reserved_delta INTEGER NOT NULL, at {ts} NOT NULL)",
    ]
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            for statement in ddl:
                conn.execute(statement.format(uuid="CHAR(32)", ts="VARCHAR(40)"))
            conn.execute("INSERT INTO bench_stock VALUES (?, ?, 0)", (SKU, units))
    else:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            for statement in ddl:
                conn.execute(statement.format(uuid="UUID", ts="TIMESTAMPTZ"))
            conn.execute("INSERT INTO bench_stock VALUES (%s, %s, 0)", (SKU, units))


async def _sell_out(
    url: str, path: str, body_for: Callable[[int], dict[str, object] | None], headers: dict[str, str],
    concurrency: int,
) -> tuple[float, list[float], int]:  # fmt: skip
    """Every client reserves one unit at a time until its first 409; returns (rate, latencies, units sold)."""
    latencies: list[float] = []
    errors: list[str] = []
    sold = 0
    counter = itertools.count()

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal sold
        while True:
            body = body_for(next(counter))
            started = time.perf_counter()
            response = await client.post(url + path, json=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code == 201:
                sold += 1
            elif response.status_code == 409:
                return
            else:
                errors.append(f"{response.status_code} {response.text[:200]}")
                return

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]}")
    return sold / elapsed, latencies, sold


def _follow_events(
    url: str, key: str, delays: list[float], ready: threading.Event, stop_at: threading.Event
) -> None:
    """An SSE client: for each stock.changed, how long after the event happened did it arrive."""
    headers = {"Authorization": f"Bearer {key}"}
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=None)) as client,
        client.stream(
            "GET", f"{url}/api/v1/events", params={"type": "stock.changed"}, headers=headers
        ) as response,
    ):
        for line in response.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            elif line.startswith("data: "):
                arrived = time.time()
                event = json.loads(line[6:])
                delays.append(arrived - datetime.fromisoformat(event["occurred_at"]).timestamp())
            if stop_at.is_set():
                return


def _verify_ordersmith(url: str) -> tuple[int, int, int]:
    db = Database(url)
    try:
        availability = inventory.get_availability(db.unit_of_work(Actor.system("bench")), sku=SKU)
        problems = len(inventory.verify(db.unit_of_work(Actor.system("bench"))))
        return availability.on_hand, availability.reserved, problems
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--topology", choices=sorted(TOPOLOGIES), default=None)
    args = parser.parse_args()
    topology = args.topology or ("embedded" if args.db == "sqlite" else "split")

    folder = Path(tempfile.mkdtemp(prefix="ordersmith-hot-sku-"))
    if args.db == "sqlite":
        ours_url, base_url_db = f"sqlite:///{folder}/ordersmith.db", f"sqlite:///{folder}/baseline.db"
    else:
        ours_url, base_url_db = pg_database("ordersmith_hot_sku"), pg_database("ordersmith_hot_sku_baseline")
    key = _prepare_ordersmith(ours_url, args.units)
    _prepare_baseline(base_url_db, args.units)

    baseline, base_url = start_uvicorn("bench.baseline_app:app", {"BENCH_DATABASE_URL": base_url_db},
                                       folder / "baseline.log")  # fmt: skip
    ours, our_url, helpers = start_ordersmith(ours_url, topology, folder)
    delays: list[float] = []
    ready, stop_events = threading.Event(), threading.Event()
    try:
        base_cpu, client_cpu = cpu_seconds(baseline), time.process_time()
        base_rate, base_lat, base_sold = asyncio.run(
            _sell_out(base_url, f"/reserve/{SKU}", lambda _: None, {}, args.concurrency)
        )
        base_cpu, base_client_cpu = cpu_seconds(baseline) - base_cpu, time.process_time() - client_cpu
        follower = threading.Thread(target=_follow_events, args=(our_url, key, delays, ready, stop_events),
                                    daemon=True)  # fmt: skip
        follower.start()
        ready.wait(10)
        our_cpu, client_cpu = cpu_seconds(ours, *helpers), time.process_time()
        our_rate, our_lat, our_sold = asyncio.run(
            _sell_out(
                our_url,
                "/api/v1/reservations",
                lambda n: {"key": f"cart-{n}", "sku": SKU, "quantity": 1, "division": "web"},
                {"Authorization": f"Bearer {key}"},
                args.concurrency,
            )
        )
        our_cpu, our_client_cpu = cpu_seconds(ours, *helpers) - our_cpu, time.process_time() - client_cpu
        deadline = time.monotonic() + 10
        while len(delays) < our_sold + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop_events.set()
    finally:
        stop(baseline, ours, *helpers)

    on_hand, reserved, ledger_problems = _verify_ordersmith(ours_url)
    oversold = max(our_sold - args.units, 0) + max(reserved - on_hand, 0)
    ratio = our_rate / base_rate
    print(f"database: {args.db}")
    print(f"units: {args.units}")
    print(f"concurrency: {args.concurrency} clients")
    print(f"topology: {TOPOLOGIES[topology]}")
    print(f"baseline_reservations_per_s: {base_rate:.0f} reservations/s")
    print(f"baseline_p50: {percentile(base_lat, 50):.1f} ms")
    print(f"baseline_p99: {percentile(base_lat, 99):.1f} ms")
    print(f"baseline_sold: {base_sold} units")
    print(f"ordersmith_reservations_per_s: {our_rate:.0f} reservations/s")
    print(f"ordersmith_p50: {percentile(our_lat, 50):.1f} ms")
    print(f"ordersmith_p99: {percentile(our_lat, 99):.1f} ms")
    print(f"ordersmith_sold: {our_sold} units")
    print(f"oversold: {oversold} units")
    print(f"ledger_discrepancies: {ledger_problems} rows")
    print(f"sse_events_received: {len(delays)} events")
    if delays:
        print(f"sse_delay_p50: {percentile(delays, 50):.1f} ms")
        print(f"sse_delay_p99: {percentile(delays, 99):.1f} ms")
    # Server and load generator share this machine's cores: what each side costs per reservation tells them apart.
    print(f"baseline_server_cpu: {base_cpu / base_sold * 1000:.2f} ms per reservation")
    print(f"ordersmith_server_cpu: {our_cpu / our_sold * 1000:.2f} ms per reservation (API process + worker)")
    print(f"client_cpu_baseline_run: {base_client_cpu / base_sold * 1000:.2f} ms per reservation")
    print(
        f"client_cpu_ordersmith_run: {our_client_cpu / our_sold * 1000:.2f} ms per reservation (with the SSE follower)"
    )
    print(f"ratio: {ratio:.2f} (goal >= 0.5)")
    sse_p99 = percentile(delays, 99) if delays else float("nan")
    print(
        f"summary: hot_sku {args.db} ordersmith {our_rate:.0f}/s vs baseline {base_rate:.0f}/s, ratio {ratio:.2f}, "
        f"oversold {oversold}, sse p99 {sse_p99:.0f} ms -> "
        f"{'meets' if ratio >= 0.5 and oversold == 0 and sse_p99 <= 100 else 'misses'} goals"
    )


if __name__ == "__main__":
    main()
