"""POS sync: tills back online send their queues of sales rung up offline (cash, 1-3 lines each) through the HTTP API
(`POST /api/v1/pos/sales`), each till its own queue in order, all tills at once; then every queue is sent again (a
till replaying it: every sale a duplicate). A few SKUs are short in the store, so some sales cannot be filled and are
flagged. Beside it, in the same run, the raw baseline: the same sales' lines as orders through a bare FastAPI
endpoint doing the writes with the raw driver (a conditional stock UPDATE per line, the order, its lines, an outbox
row).

    python -m bench.pos_sync --db sqlite|postgres [--sales 1000] [--tills 4] [--skus 200]

Prints one figure per line (`name: value unit`) and a summary line. Goals: one order per fillable sale, every
duplicate dropped (no order, no flag, no cash counted twice), the ledger agreeing, sync >= 0.5 of the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.common import (
    cpu_seconds,
    mark_set_up_events_delivered,
    pg_database,
    start_ordersmith,
    start_uvicorn,
    stop,
)
from bench.order_intake import _prepare_baseline, _sku
from ordersmith.catalog import service as catalog
from ordersmith.channels.pos import service as pos
from ordersmith.inventory import service as inventory
from ordersmith.kernel.money import Money
from ordersmith.platform import identity, migrate, sales_channels
from ordersmith.platform.access import CHANNEL_KEY_SCOPES, ROLE_SCOPES
from ordersmith.platform.db import Actor, Database
from ordersmith.pricing import service as pricing

SHORT = 5  # the first SKUs have only this many units in the store: later sales for them are flagged
STORE_ADDRESS = {
    "name": "Bench store",
    "line1": "865 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94103",
    "country": "US",
}


def _stock_of(n: int) -> int:
    return 3 if n < SHORT else 100_000


def _prepare(url: str, skus: int, tills: int) -> tuple[str, str]:
    """The store, its tills and stock; returns the till channel's key and the first shift's id."""
    migrate.upgrade(url)
    db = Database(url)
    uow = db.unit_of_work(Actor.system("bench"))
    with uow:  # one transaction for the whole set-up
        inventory.create_location(uow, code="STORE", name="Store", kind="store", division="store")
        for n in range(skus):
            catalog.create_item(uow, sku=_sku(n), name=f"Item {n}", divisions=["store"], weight_g=300)
            inventory.adjust_stock(
                uow, sku=_sku(n), location="STORE", quantity=_stock_of(n), reason="receipt"
            )
        prices = [pricing.PriceEntry(_sku(n), Money(Decimal(5 + n % 50), "USD")) for n in range(skus)]
        pricing.create_price_list(uow, code="USD", name="Retail", currency="USD", prices=prices)
        pricing.create_tax_rate(uow, name="CA", country="US", region="CA", rate=Decimal("0.0725"))
        sales_channels.create_sales_channel(
            uow, code="till", name="Tills", kind="pos", division="store", currency="USD"
        )
        pos.put_store(uow, location="STORE", settings=pos.StoreSettings(channel="till", **STORE_ADDRESS))
        for t in range(tills):
            pos.create_register(uow, code=f"T{t}", store="STORE", name=f"Till {t}")
        shift = pos.open_shift(uow, principal=None, register="T0", opening_float="200.00")
        key = identity.create_api_key(
            uow, name="till", scopes=sorted(ROLE_SCOPES["store"] & CHANNEL_KEY_SCOPES), channel_code="till"
        ).secret
    mark_set_up_events_delivered(db)
    db.dispose()
    return key, str(shift.id)


def _queues(
    sales: int, tills: int, skus: int, shift: str
) -> list[list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Each till's queue: (the sale as the till sends it, the same lines for the baseline)."""
    rng = random.Random(7)
    queues: list[list[tuple[dict[str, Any], dict[str, Any]]]] = [[] for _ in range(tills)]
    for n in range(sales):
        picked = sorted(rng.sample(range(skus), rng.choice((1, 2, 3))))
        lines = [(s, rng.choice((1, 1, 2))) for s in picked]
        till = n % tills
        sale = {
            "id": str(uuid.uuid4()),
            "register": f"T{till}",
            "rung_at": "2026-01-01T10:00:00+00:00",
            "offline": True,
            "shift": shift if till == 0 else None,
            "lines": [{"sku": _sku(s), "quantity": q} for s, q in lines],
            "tenders": [{"method": "cash", "received": "500.00"}],
        }
        base = {"channel": "till", "lines": [{"item_id": _sku(s), "quantity": q} for s, q in lines]}
        queues[till].append((sale, base))
    return queues


async def _sync(
    url: str, path: str, queues: list[list[dict[str, Any]]], headers: dict[str, str]
) -> dict[str, Any]:
    """Every till sends its queue, one sale after another, all tills at once; answers counted by kind."""
    counted = {"placed": 0, "replayed": 0, "flagged": 0, "refused": 0}
    errors: list[str] = []

    async def till(client: httpx.AsyncClient, queue: list[dict[str, Any]]) -> None:
        for body in queue:
            answer = await client.post(url + path, json=body, headers=headers)
            if answer.status_code in (200, 201):
                replayed = answer.status_code == 200 or answer.headers.get("idempotent-replayed") == "true"
                counted["replayed" if replayed else "placed"] += 1
            elif answer.status_code == 409 and answer.json().get("code") == "pos_sale_flagged":
                counted["flagged"] += 1
            elif answer.status_code == 409:
                counted["refused"] += 1  # the baseline: no stock
            else:
                errors.append(f"{answer.status_code} {answer.text[:300]}")

    limits = httpx.Limits(max_connections=len(queues), max_keepalive_connections=len(queues))
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(till(client, queue) for queue in queues))
        counted["elapsed"] = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]}")
    return counted


def _state(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        with db.session() as session:
            one = lambda sql: int(session.scalar(sa.text(sql)) or 0)  # noqa: E731
            found = {
                "orders": one("SELECT count(*) FROM orders"),
                "sales": one("SELECT count(*) FROM pos_sales"),
                "flagged": one("SELECT count(*) FROM pos_sales WHERE status = 'flagged'"),
                "shift_sales": one("SELECT sales FROM pos_shifts"),
            }
        found["ledger"] = len(inventory.verify(db.unit_of_work(Actor.system("bench"))))
        return found
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sales", type=int, default=1000)
    parser.add_argument("--tills", type=int, default=4)
    parser.add_argument("--skus", type=int, default=200)
    args = parser.parse_args()
    topology = "embedded" if args.db == "sqlite" else "split"
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-pos-sync-"))
    if args.db == "sqlite":
        ours_db, base_db = f"sqlite:///{folder}/ordersmith.db", f"sqlite:///{folder}/baseline.db"
    else:
        ours_db, base_db = pg_database("ordersmith_pos_sync"), pg_database("ordersmith_pos_sync_baseline")
    set_up = time.perf_counter()
    key, shift = _prepare(ours_db, args.skus, args.tills)
    _prepare_baseline(base_db, args.skus)
    set_up = time.perf_counter() - set_up
    queues = _queues(args.sales, args.tills, args.skus, shift)
    sales_of = [[sale for sale, _ in queue] for queue in queues]
    baseline, base_url = start_uvicorn(
        "bench.baseline_app:app", {"BENCH_DATABASE_URL": base_db}, folder / "baseline.log"
    )
    ours, our_url, helpers = start_ordersmith(ours_db, topology, folder)
    auth = {"Authorization": f"Bearer {key}"}
    try:
        base_cpu = cpu_seconds(baseline)
        base = asyncio.run(_sync(base_url, "/orders", [[b for _, b in queue] for queue in queues], {}))
        base_cpu = cpu_seconds(baseline) - base_cpu
        our_cpu = cpu_seconds(ours, *helpers)
        first = asyncio.run(_sync(our_url, "/api/v1/pos/sales", sales_of, auth))
        our_cpu = cpu_seconds(ours, *helpers) - our_cpu
        after_first = _state(ours_db)
        again = asyncio.run(_sync(our_url, "/api/v1/pos/sales", sales_of, auth))
        after_again = _state(ours_db)
    finally:
        stop(baseline, ours, *helpers)
    base_rate = (base["placed"] + base["refused"]) / base["elapsed"]
    our_rate = (first["placed"] + first["flagged"]) / first["elapsed"]
    dropped = again["replayed"] + again["flagged"]
    new_after_replay = (
        after_again["orders"] - after_first["orders"] + after_again["sales"] - after_first["sales"]
    )
    ratio = our_rate / base_rate
    print(f"database: {args.db}")
    print(f"tills: {args.tills}, each sending its own queue in order; topology {topology}")
    print(f"set_up: {set_up:.0f} s")
    print(f"baseline_orders_per_s: {base_rate:.0f} orders/s ({base['refused']} refused: no stock)")
    print(
        f"pos_sync_sales_per_s: {our_rate:.0f} sales/s ({first['placed']} placed, {first['flagged']} flagged)"
    )
    print(f"pos_sync_orders_per_s: {first['placed'] / first['elapsed']:.0f} orders/s")
    print(f"replay_sales_per_s: {(again['replayed'] + again['flagged']) / again['elapsed']:.0f} sales/s")
    print(f"duplicates_dropped: {dropped} of {args.sales} ({again['placed']} placed again)")
    print(f"new_rows_after_replay: {new_after_replay} rows")
    print(
        f"orders: {after_again['orders']} (one per placed sale: {after_again['orders'] == first['placed']})"
    )
    print(f"flagged_sales: {after_again['flagged']}")
    print(f"shift_sales_counted: {after_again['shift_sales']} (till T0's queue: {len(sales_of[0])})")
    print(f"ledger_discrepancies: {after_again['ledger']} rows")
    print(f"baseline_server_cpu: {base_cpu / args.sales * 1000:.2f} ms per sale")
    print(f"ordersmith_server_cpu: {our_cpu / args.sales * 1000:.2f} ms per sale")
    print(f"ratio: {ratio:.2f} (goal >= 0.5)")
    print(
        f"summary: pos_sync {args.db}: {args.sales} queued sales from {args.tills} tills at {our_rate:.0f}/s "
        f"(baseline {base_rate:.0f}/s, ratio {ratio:.2f}), {first['placed']} orders, {first['flagged']} flagged, "
        f"replayed: {dropped} duplicates dropped, {new_after_replay} new rows"
    )


if __name__ == "__main__":
    main()
