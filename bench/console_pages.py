"""Console pages under a big history: every console screen (GET) — each role's home, the dashboard, orders (the list
with filters over 100,000 orders, an order's page), holds, the customer 360 of a customer with 500 orders, search as
you type, the phone-order screen and its look-ups, a return, stock, purchasing, the warehouse's screens, imports,
reports, exports, live events, administration — and the phone order's live quote (`POST /phone-order/quote`, a
3-line order with a coupon that does not apply), each fetched `--requests` times by one signed-in browser-like
client from a real server. Beside them, in the same run: the main query of the first pages through the raw driver,
and the HTTP floor (`GET /api/v1/health` on the same server: what any request costs before a page does anything).

    python -m bench.console_pages --db sqlite|postgres [--orders 100000] [--requests 200] [--screens-requests 100]

Set-up: a shop, 1,000 customers and 40 template orders through the services (one shipped and returned), a user per
role, then the history cloned from those templates in bulk (orders, their lines and events), so the tables hold what
a year of a busy shop holds. Prints one figure per line and a summary. Goal: p99 <= 100 ms for each screen and
p99 <= 50 ms for the live quote.
"""

from __future__ import annotations

import argparse
import os
import random
import re
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
ROLES = ("manager", "agent", "warehouse", "accountant", "marketing", "admin")


def _prepare(url: str, order_count: int) -> tuple[str, list[str], list[str], str]:
    """Returns the big customer's number, some order numbers, some customers' phones and a return's number."""
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
        for role in ROLES:
            identity.create_user(
                uow, email=f"{role}@bench.example", name=role.title(), role=role, password=PASSWORD
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
        shipped = orders.get_order(uow, ref=str(templates[0]))
        orders.record_shipment(uow, ref=shipped.number, tracking="1Z")
        rma = orders.authorize_return(
            uow, order_ref=shipped.number, lines=[orders.ReturnLineRequest(1, 1, "damaged")]
        ).number
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
    if db.dialect == "postgresql":
        # What autovacuum does after a bulk load in production (the test server runs with autovacuum off): without
        # statistics PostgreSQL plans every query as if the tables were empty. SQLite is measured as the product
        # runs it, with no ANALYZE at all.
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    db.dispose()
    numbers = [str(300_000 + rng.randrange(order_count)) for _ in range(50)]
    phones = [f"(415) 555-{n:04d}" for n in rng.sample(range(1_000), 50)]
    return big.number, numbers, phones, rma


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


def _sign_in(url: str, role: str = "manager") -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    response = client.post("/login", data={"email": f"{role}@bench.example", "password": PASSWORD})
    assert response.status_code in (200, 303), response.text[:300]
    return client


def _screens(big: str, numbers: list[str], rma: str, rng: random.Random) -> dict[str, tuple[str, list[str]]]:
    """Every console screen (GET) as (the role that opens it, the paths to fetch), beyond the four pages above."""
    order = rng.choice(numbers)
    return {
        # the warehouse's home is /warehouse itself (`/` sends them there): measured as "warehouse"
        **{f"home_{role}": (role, ["/"]) for role in ROLES if role != "warehouse"},
        "dashboard": ("manager", ["/dashboard"]),
        "dashboard_figures": ("manager", ["/dashboard/figures"]),
        "order_list_unfiltered": ("manager", ["/orders"]),
        "hold_queue": ("manager", ["/holds"]),
        "customer_search": ("agent", ["/customers?q=Smith1"]),
        "search_page": ("agent", [f"/search?q={order}", "/search?q=Smith12"]),
        "phone_order": ("agent", ["/phone-order", f"/phone-order?customer={big}"]),
        "phone_order_customer": ("agent", [f"/phone-order/customer?ref={big}"]),
        "phone_order_item": ("agent", ["/phone-order/item?sku=SKU-007&division=catalog"]),
        "phone_order_items": ("agent", ["/phone-order/items?q=SKU-01"]),
        "return_page": ("manager", [f"/returns/{rma}"]),
        "stock": ("manager", ["/stock", "/stock?sku=SKU-001"]),
        "purchasing": ("manager", ["/purchasing"]),
        "warehouse": ("warehouse", ["/warehouse"]),
        "warehouse_waves": ("warehouse", ["/warehouse/waves"]),
        "warehouse_counts": ("warehouse", ["/warehouse/counts"]),
        "warehouse_manifests": ("warehouse", ["/warehouse/manifests"]),
        "warehouse_productivity": ("warehouse", ["/warehouse/productivity"]),
        "warehouse_pack": ("warehouse", ["/warehouse/pack"]),
        "warehouse_shipments": ("warehouse", ["/warehouse/shipments"]),
        "warehouse_drop_ship": ("warehouse", ["/warehouse/drop-ship"]),
        "offers": ("marketing", ["/marketing"]),
        "campaigns": ("marketing", ["/campaigns"]),
        "key_codes": ("marketing", ["/source-codes"]),
        "campaign_results": ("marketing", ["/campaign-results", "/campaign-results?by=campaign"]),
        "list_pulls": ("marketing", ["/extractions"]),
        "mail_files": ("marketing", ["/mail-files"]),
        "reports": ("accountant", ["/reports"]),
        "exports": ("accountant", ["/exports"]),
        "imports": ("admin", ["/imports"]),
        "live_events": ("admin", ["/events"]),
        "users": ("admin", ["/admin/users"]),
        "api_keys": ("admin", ["/admin/api-keys"]),
        "webhooks": ("admin", ["/admin/webhooks"]),
        "channels": ("admin", ["/admin/channels"]),
        "account_security": ("agent", ["/account/security"]),
    }


def _quote_forms(client: httpx.Client, people: list[str], rng: random.Random, n: int) -> list[dict[str, str]]:
    """The phone-order form as the screen posts it for its live quote: 3 lines, a customer, a bad coupon."""
    page = client.get("/phone-order")
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match is not None, page.text[:300]
    forms = []
    for _ in range(n):
        form = {"csrf_token": match.group(1), "channel": "phone", "customer": rng.choice(people),
                "coupons": "NOSUCH", "ship-0-ref": "A", "ship-0-name": "Bench Buyer", "ship-0-line1": "1 Market St",
                "ship-0-city": "San Francisco", "ship-0-region": "CA", "ship-0-postal_code": "94105",
                "ship-0-country": "US", "ship-0-method": "ground"}  # fmt: skip
        for k in range(3):
            form |= {f"line-{k}-sku": f"SKU-{rng.randrange(50):03d}", f"line-{k}-quantity": str(1 + k),
                     f"line-{k}-ship_to": "A"}  # fmt: skip
        forms.append(form)
    return forms


def _time_posts(client: httpx.Client, path: str, forms: list[dict[str, str]]) -> list[float]:
    latencies = []
    for form in forms:
        started = time.perf_counter()
        response = client.post(path, data=form)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200 or 'id="quote-total"' not in response.text:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    return latencies


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


def _placed_range(db: str, today: Any, rng: random.Random) -> tuple[Any, Any]:
    """The filtered list's placing range as each driver compares it (SQLite stores naive UTC text)."""
    start = datetime.combine(today - timedelta(days=rng.randrange(30, 365)), datetime.min.time(), UTC)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    if db == "sqlite":
        return (str(start.replace(tzinfo=None)), str(end.replace(tzinfo=None)))
    return (start, end)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--screens-requests", type=int, default=100, help="per screen beyond the first four")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-console-pages-"))
    url = (
        f"sqlite:///{folder}/ordersmith.db"
        if args.db == "sqlite"
        else pg_database("ordersmith_console_pages")
    )
    set_up = time.perf_counter()
    big, numbers, phones, rma = _prepare(url, args.orders)
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
    screens = _screens(big, numbers, rma, rng)
    m = args.screens_requests
    people = [big] + [f"C-{100_001 + k}" for k in range(1, 1_000)]
    server, server_url, helpers = start_ordersmith(url, "embedded", folder)
    try:
        client = _sign_in(server_url)
        for paths in pages.values():  # warm-up: caches, connections, templates
            _time(client, paths[:10])
        measured = {name: _time(client, paths) for name, paths in pages.items()}
        by_role = {role: _sign_in(server_url, role) for role in ROLES}
        for name, (role, paths) in screens.items():
            wanted = [paths[k % len(paths)] for k in range(m)]
            _time(by_role[role], wanted[:5])
            measured[name] = _time(by_role[role], wanted)
        forms = _quote_forms(by_role["agent"], people, rng, m + 10)
        _time_posts(by_role["agent"], "/phone-order/quote", forms[:10])
        quote = _time_posts(by_role["agent"], "/phone-order/quote", forms[10:])
        floor = _time(client, ["/api/v1/health"] * m)
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
                "SELECT * FROM orders WHERE channel = ? AND status = ? AND placed_at >= ? AND placed_at < ? "
                "ORDER BY placed_at DESC, id DESC LIMIT 51",
                [
                    (rng.choice(CHANNELS)[0], rng.choice(STATUSES), *_placed_range(args.db, today, rng))
                    for _ in range(n)
                ],
            ),
            "search_as_you_type": (
                "SELECT * FROM orders WHERE number >= ? AND number < ? LIMIT 6",
                [(p, p + "~") for p in (num[:4] for num in rng.choices(numbers, k=n))],
            ),
            "live_quote": (
                "SELECT * FROM items WHERE sku IN (?, ?, ?)",
                [tuple(f"SKU-{rng.randrange(50):03d}" for _ in range(3)) for _ in range(m)],
            ),
        },
    )
    print(f"database: {args.db}")
    print(f"topology: {TOPOLOGIES['embedded']}")
    print(f"orders: {args.orders} (the big customer: 500), customers: 1000")
    print(f"set_up: {set_up:.0f} s")
    print(f"statistics: {'VACUUM ANALYZE after the load' if args.db == 'postgres' else 'none (no ANALYZE)'}")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1, 5, 15 min)")
    print(
        f"http_floor (GET /api/v1/health): p50 {percentile(floor, 50):.1f} ms, p99 {percentile(floor, 99):.1f} ms"
    )
    worst, worst_name = 0.0, ""
    for name, latencies in measured.items():
        p99 = percentile(latencies, 99)
        if p99 > worst:
            worst, worst_name = p99, name
        beside = (
            f"raw query p50 {percentile(raw[name], 50):.2f} ms, p99 {percentile(raw[name], 99):.2f} ms"
            if name in raw
            else f"{percentile(latencies, 50) / percentile(floor, 50):.1f}x the HTTP floor at p50"
        )
        print(
            f"{name}: p50 {percentile(latencies, 50):.1f} ms, p99 {p99:.1f} ms ({len(latencies)} requests); {beside}"
        )
    quote_p99 = percentile(quote, 99)
    print(
        f"phone_order_live_quote: p50 {percentile(quote, 50):.1f} ms, p99 {quote_p99:.1f} ms ({len(quote)} requests, "
        f"3 lines and a refused coupon); raw price query p50 {percentile(raw['live_quote'], 50):.2f} ms, "
        f"p99 {percentile(raw['live_quote'], 99):.2f} ms"
    )
    meets = worst <= 100 and quote_p99 <= 50
    print(
        f"summary: console_pages {args.db} {len(measured)} screens, worst p99 {worst:.0f} ms ({worst_name}), live "
        f"quote p99 {quote_p99:.0f} ms -> {'meets' if meets else 'misses'} goal (p99 <= 100 ms each screen, "
        "<= 50 ms the live quote)"
    )


if __name__ == "__main__":
    main()
