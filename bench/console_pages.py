"""Console pages under a big history: the customer 360 of a customer with 500 orders, an order's detail, the order
list with filters over 100,000 orders, and search as you type — each page fetched 200 times by one signed-in
browser-like client from a real server; beside each, in the same run, the page's main query through the raw
driver.

    python -m bench.console_pages --db sqlite|postgres [--orders 100000] [--requests 200]

Set-up: a shop, 1,000 customers and 40 template orders through the services, then the history cloned from those
templates in bulk (orders, their lines and events), so the tables hold what a year of a busy shop holds. Prints one
figure per line and a summary. Goal: p99 <= 100 ms for each page.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa

from bench.common import (
    TOPOLOGIES,
    mark_set_up_events_delivered,
    percentile,
    pg_database,
    start_ordersmith,
    stop,
)
from ordersmith.catalog import service as catalog
from ordersmith.customers import service as customers
from ordersmith.inventory import service as inventory
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderEventRow, OrderLineRow, OrderRow
from ordersmith.platform import identity, migrate, sales_channels
from ordersmith.platform.access import SCOPES, Principal
from ordersmith.platform.db import Actor, Database
from ordersmith.pricing import service as pricing

CHANNELS = [("web", "web", "web"), ("phone", "call_center", "catalog"), ("amazon", "marketplace", "web")]
STATUSES = ["shipped"] * 8 + ["released", "cancelled", "on_hold", "completed"]
PASSWORD = "bench-manager-password"
STAFF = Principal(kind="user", id=None, label="bench", scopes=frozenset(SCOPES), role="admin")


def _prepare(url: str, order_count: int) -> tuple[str, list[str], list[str]]:
    """Returns the big customer's number, some order numbers and some customers' phones."""
    migrate.upgrade(url)
    db = Database(url)
    rng = random.Random(7)
    uow = db.unit_of_work(Actor.system("bench"))
    with uow:
        inventory.create_location(uow, code="DC", name="DC", kind="warehouse")
        for n in range(50):
            catalog.create_item(uow, sku=f"SKU-{n:03d}", name=f"Item {n}", divisions=["web", "catalog"])
            inventory.adjust_stock(uow, sku=f"SKU-{n:03d}", location="DC", quantity=100_000, reason="receipt")
        pricing.create_price_list(
            uow,
            code="USD",
            name="Retail",
            currency="USD",
            prices=[pricing.PriceEntry(f"SKU-{n:03d}", Money(Decimal(10 + n), "USD")) for n in range(50)],
        )
        pricing.create_shipping_method(
            uow, code="ground", name="Ground", kind="flat", flat=Money(Decimal(5), "USD")
        )
        for code, kind, division in CHANNELS:
            sales_channels.create_sales_channel(
                uow, code=code, name=code, kind=kind, division=division, currency="USD"
            )
        identity.create_user(
            uow, email="manager@bench.example", name="Manager", role="manager", password=PASSWORD
        )
        people = [
            customers.create_customer(
                uow,
                details=customers.Details(
                    first_name=rng.choice(["Ann", "Bob", "Cho", "Dee", "Eli", "Fay", "Gus", "Hal"]),
                    last_name=f"Smith{n}",
                    emails=[f"buyer{n}@bench.example"],
                    phones=[customers.Phone(f"+1415555{n:04d}")],
                ),
            )
            for n in range(1_000)
        ]
        templates = []
        for n in range(40):
            ship_to = orders.ShipToRequest(
                ref="main",
                name="Bench Buyer",
                line1=f"{n} Market St",
                city="San Francisco",
                region="CA",
                postal_code="94105",
                country="US",
                method="ground",
            )
            request = orders.OrderRequest(
                lines=[
                    orders.LineRequest(sku=f"SKU-{(n + k) % 50:03d}", quantity=1 + k)
                    for k in range(1 + n % 3)
                ],
                ship_tos=[ship_to],
                customer=people[n].number,
            )
            web = sales_channels.ordering_channel(uow, STAFF, "web")
            templates.append(orders.place_order(uow, channel=web, request=request).order.id)
    big = people[0]
    _clone(
        db,
        templates,
        order_count,
        [p.id for p in people],
        [p.number for p in people],
        big.id,
        big.number,
        rng,
    )
    mark_set_up_events_delivered(db)
    db.dispose()
    numbers = [str(300_000 + rng.randrange(order_count)) for _ in range(50)]
    phones = [f"(415) 555-{n:04d}" for n in rng.sample(range(1_000), 50)]
    return big.number, numbers, phones


def _clone(
    db: Database,
    templates: list[Any],
    count: int,
    ids: list[Any],
    numbers: list[str],
    big_id: Any,
    big_number: str,
    rng: random.Random,
) -> None:
    """The history: `count` orders cloned from the templates (500 of them the big customer's)."""
    now = datetime.now(UTC)
    with db.engine.begin() as conn:

        def rows(table: Any, where: Any) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in conn.execute(sa.select(table).where(where))]

        template_orders = rows(OrderRow.__table__, OrderRow.id.in_(templates))
        lines = {t: rows(OrderLineRow.__table__, OrderLineRow.order_id == t) for t in templates}
        events = {t: rows(OrderEventRow.__table__, OrderEventRow.order_id == t) for t in templates}
        batch: dict[str, list[dict[str, Any]]] = {"orders": [], "lines": [], "events": []}
        for n in range(count):
            template = template_orders[n % len(template_orders)]
            order_id = new_id()
            who = (
                (big_id, big_number)
                if n % (count // 500) == 0
                else (lambda i: (ids[i], numbers[i]))(rng.randrange(len(ids)))
            )
            status = rng.choice(STATUSES)
            placed = now - timedelta(seconds=rng.randrange(365 * 86400))
            batch["orders"].append(
                {
                    **template,
                    "id": order_id,
                    "number": str(300_000 + n),
                    "channel": rng.choice(CHANNELS)[0],
                    "external_id": None,
                    "customer_id": who[0],
                    "customer_number": who[1],
                    "status": status,
                    "fulfillment_status": "shipped" if status in ("shipped", "completed") else "allocated",
                    "payment_status": "captured" if status in ("shipped", "completed") else "authorized",
                    "placed_at": placed,
                    "created_at": placed,
                    "updated_at": placed,
                }
            )
            for line in lines[template["id"]]:
                batch["lines"].append(
                    {
                        **line,
                        "order_id": order_id,
                        "reserved": 0,
                        "allocations": [],
                        "shipped": line["quantity"] if status in ("shipped", "completed") else 0,
                    }
                )
            for event in events[template["id"]]:
                batch["events"].append({**event, "order_id": order_id, "id": new_id(), "at": placed})
            if len(batch["orders"]) == 5_000 or n == count - 1:
                conn.execute(sa.insert(OrderRow.__table__), batch["orders"])
                conn.execute(sa.insert(OrderLineRow.__table__), batch["lines"])
                conn.execute(sa.insert(OrderEventRow.__table__), batch["events"])
                batch = {"orders": [], "lines": [], "events": []}


def _sign_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    response = client.post("/login", data={"email": "manager@bench.example", "password": PASSWORD})
    assert response.status_code in (200, 303), response.text[:300]
    return client


def _time(client: httpx.Client, paths: list[str]) -> list[float]:
    latencies = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    return latencies


def _raw(url: str, statements: dict[str, tuple[str, list[tuple[Any, ...]]]]) -> dict[str, list[float]]:
    """Each page's main query through the raw driver, with the same parameters the pages used."""
    found: dict[str, list[float]] = {}
    if url.startswith("sqlite"):
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
        mark = "?"
    else:
        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        mark = "%s"
    for name, (sql, params) in statements.items():
        times = []
        for values in params:
            started = time.perf_counter()
            conn.execute(sql.replace("?", mark), values).fetchall()
            times.append(time.perf_counter() - started)
        found[name] = times
    conn.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-console-pages-"))
    url = (
        f"sqlite:///{folder}/ordersmith.db"
        if args.db == "sqlite"
        else pg_database("ordersmith_console_pages")
    )
    set_up = time.perf_counter()
    big, numbers, phones = _prepare(url, args.orders)
    set_up = time.perf_counter() - set_up
    rng = random.Random(11)
    n = args.requests
    today = datetime.now(UTC).date()
    lists = [
        f"/orders?channel={rng.choice(CHANNELS)[0]}&status={rng.choice(STATUSES)}"
        f"&placed_from={today - timedelta(days=rng.randrange(30, 365))}&placed_to={today}"
        for _ in range(n)
    ]
    typed = [p[: rng.randrange(6, len(p) + 1)] for p in phones] + [
        f"Smith{rng.randrange(1000)}" for _ in range(50)
    ]
    typed += [num[: rng.randrange(3, 7)] for num in numbers]
    pages = {
        "customer_360_500_orders": [f"/customers/{big}"] * n,
        "order_detail": [f"/orders/{rng.choice(numbers)}" for _ in range(n)],
        "order_list_filtered_100k": lists,
        "search_as_you_type": [
            f"/search/results?q={httpx.QueryParams({'q': rng.choice(typed)})['q']}" for _ in range(n)
        ],
    }
    server, server_url, helpers = start_ordersmith(url, "embedded", folder)
    try:
        client = _sign_in(server_url)
        for paths in pages.values():  # warm-up: caches, connections, templates
            _time(client, paths[:10])
        measured = {name: _time(client, paths) for name, paths in pages.items()}
    finally:
        stop(server, *helpers)
    raw = _raw(
        url,
        {
            "customer_360_500_orders": (
                "SELECT * FROM orders WHERE customer_number = ? ORDER BY id DESC LIMIT 26",
                [(big,)] * n,
            ),
            "order_detail": (
                "SELECT * FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.number = ?",
                [(rng.choice(numbers),) for _ in range(n)],
            ),
            "order_list_filtered_100k": (
                "SELECT * FROM orders WHERE channel = ? AND status = ? ORDER BY id DESC LIMIT 51",
                [(rng.choice(CHANNELS)[0], rng.choice(STATUSES)) for _ in range(n)],
            ),
            "search_as_you_type": (
                "SELECT * FROM orders WHERE number >= ? AND number < ? LIMIT 6",
                [(p, p + "~") for p in (num[:4] for num in rng.choices(numbers, k=n))],
            ),
        },
    )
    print(f"database: {args.db}")
    print(f"topology: {TOPOLOGIES['embedded']}")
    print(f"orders: {args.orders} (the big customer: 500), customers: 1000")
    print(f"set_up: {set_up:.0f} s")
    worst = 0.0
    for name, latencies in measured.items():
        p99 = percentile(latencies, 99)
        worst = max(worst, p99)
        print(
            f"{name}: p50 {percentile(latencies, 50):.1f} ms, p99 {p99:.1f} ms ({len(latencies)} requests); "
            f"raw query p50 {percentile(raw[name], 50):.2f} ms, p99 {percentile(raw[name], 99):.2f} ms"
        )
    print(
        f"summary: console_pages {args.db} worst p99 {worst:.0f} ms -> {'meets' if worst <= 100 else 'misses'} "
        "goal (p99 <= 100 ms each)"
    )


if __name__ == "__main__":
    main()
