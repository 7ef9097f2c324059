"""Platform overhead: an authenticated, idempotent, audited POST that writes one row and one outbox event,
against a bare FastAPI endpoint doing one INSERT with the raw driver. Both run as real uvicorn processes
started by this benchmark, measured one after the other by the same load generator in the same run.

    python -m bench.platform_overhead --db sqlite|postgres [--requests 2000] [--concurrency 16] [--rounds 3]
                                      [--topology embedded|split]

Prints one figure per line (`name: value unit`) and a summary line. Goal: ratio >= 0.6.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from bench.common import (
    TOPOLOGIES,
    percentile,
    pg_database,
    start_ordersmith,
    start_uvicorn,
    stop,
    wait_for_relay,
)
from ordersmith.platform import identity, migrate
from ordersmith.platform.db import Actor, Database


def _databases(kind: str, folder: Path) -> tuple[str, str]:
    if kind == "sqlite":
        return f"sqlite:///{folder}/ordersmith.db", f"sqlite:///{folder}/baseline.db"
    return pg_database("ordersmith_bench"), pg_database("ordersmith_bench_baseline")


def _prepare_baseline(url: str) -> None:
    ddl = (
        "CREATE TABLE bench_rows (id {uuid} PRIMARY KEY, code VARCHAR(40) NOT NULL, name VARCHAR(200) NOT NULL, "
        "created_at {ts} NOT NULL)"
    )
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(ddl.format(uuid="CHAR(32)", ts="VARCHAR(40)"))
    else:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute(ddl.format(uuid="UUID", ts="TIMESTAMPTZ"))


def _prepare_ordersmith(url: str) -> str:
    migrate.upgrade(url)
    db = Database(url)
    key = identity.create_api_key(
        db.unit_of_work(Actor.system("bench")), name="bench", scopes=["sales_channels:write"]
    )
    db.dispose()
    return key.secret


async def _load(
    url: str,
    path: str,
    headers: dict[str, str],
    prefix: str,
    requests: int,
    concurrency: int,
    idempotent: bool,
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    counter = iter(range(requests))
    failures: list[str] = []

    async def worker(client: httpx.AsyncClient) -> None:
        for i in counter:
            body = {"code": f"{prefix}{i}", "name": f"Bench channel {i}", "kind": "web", "division": "web"}
            request_headers = {**headers, "Idempotency-Key": f"{prefix}-{i}"} if idempotent else headers
            started = time.perf_counter()
            response = await client.post(url + path, json=body, headers=request_headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 201:
                failures.append(f"{response.status_code} {response.text[:200]}")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return requests / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds per side; medians are reported"
    )
    parser.add_argument(
        "--topology",
        choices=sorted(TOPOLOGIES),
        default=None,
        help="embedded (relay and jobs inside serve; the SQLite default) or split (serve + a worker process; "
        "the PostgreSQL default)",
    )
    args = parser.parse_args()
    args.topology = args.topology or ("embedded" if args.db == "sqlite" else "split")

    folder = Path(tempfile.mkdtemp(prefix="ordersmith-bench-"))
    ordersmith_url, baseline_url = _databases(args.db, folder)
    _prepare_baseline(baseline_url)
    key = _prepare_ordersmith(ordersmith_url)

    baseline, base_url = start_uvicorn(
        "bench.baseline_app:app", {"BENCH_DATABASE_URL": baseline_url}, folder / "baseline.log"
    )
    ours, our_url, helpers = start_ordersmith(ordersmith_url, args.topology, folder)
    auth = {"Authorization": f"Bearer {key}"}
    base_runs: list[tuple[float, list[float]]] = []
    our_runs: list[tuple[float, list[float]]] = []
    try:
        warm = min(300, args.requests // 5)
        asyncio.run(_load(base_url, "/rows", {}, "warm", warm, args.concurrency, False))
        asyncio.run(_load(our_url, "/api/v1/sales-channels", auth, "warm", warm, args.concurrency, True))
        for round_no in range(args.rounds):
            # alternate the sides so that drift on a shared machine hits both alike
            base_runs.append(
                asyncio.run(
                    _load(base_url, "/rows", {}, f"b{round_no}-", args.requests, args.concurrency, False)
                )
            )
            our_runs.append(
                asyncio.run(
                    _load(
                        our_url,
                        "/api/v1/sales-channels",
                        auth,
                        f"o{round_no}-",
                        args.requests,
                        args.concurrency,
                        True,
                    )
                )
            )
        undelivered = wait_for_relay(ordersmith_url)
    finally:
        stop(baseline, ours, *helpers)

    base_rps = statistics.median(r for r, _ in base_runs)
    our_rps = statistics.median(r for r, _ in our_runs)
    base_lat = [x for _, lat in base_runs for x in lat]
    our_lat = [x for _, lat in our_runs for x in lat]
    ratio = our_rps / base_rps
    print(f"database: {args.db}")
    print(f"requests: {args.requests} per side per round, {args.rounds} rounds (median throughput)")
    print(f"concurrency: {args.concurrency} clients")
    print(f"topology: {TOPOLOGIES[args.topology]}")
    print(f"baseline_throughput: {base_rps:.0f} requests/s")
    print(f"baseline_p50: {percentile(base_lat, 50):.1f} ms")
    print(f"baseline_p99: {percentile(base_lat, 99):.1f} ms")
    print(f"ordersmith_throughput: {our_rps:.0f} requests/s")
    print(f"ordersmith_p50: {percentile(our_lat, 50):.1f} ms")
    print(f"ordersmith_p99: {percentile(our_lat, 99):.1f} ms")
    print(f"events_undispatched_5s_after_load: {undelivered} events")
    print(f"ratio: {ratio:.2f} (goal >= 0.6)")
    print(
        f"summary: platform_overhead {args.db} ordersmith {our_rps:.0f} req/s vs baseline {base_rps:.0f} req/s, "
        f"ratio {ratio:.2f} -> {'meets' if ratio >= 0.6 else 'misses'} goal 0.6"
    )


if __name__ == "__main__":
    main()
