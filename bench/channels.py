"""Channels, in process: channel orders through the connector (recorded in the inbox, each delivered twice, then
imported through checkout by the import jobs) beside the same orders placed straight through checkout (the raw
baseline: no inbox, no job); and stock changes fanned out to a Shopify connector whose Admin API answers from an
in-process transport (calls counted, figures per call).

    python -m bench.channels --db sqlite|postgres [--orders 500] [--changes 2000] [--skus 50]

Prints one figure per line (`name: value unit`) and a summary line. Goals: every duplicate dropped, one order per
channel order, channel intake >= 0.5 of the baseline, far fewer calls than stock changes. This is the foundation's
benchmark: the issue's full run (four channels by webhook over HTTP, update lag percentiles, the POS) is not here.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from tests.builders import make_order_shop, stock

from bench.common import pg_database
from ordersmith.channels import service as channels
from ordersmith.checkout import rules as checkout_rules
from ordersmith.checkout import service as checkout
from ordersmith.orders import service as orders
from ordersmith.platform import jobs, migrate, outbox, sales_channels
from ordersmith.platform.access import SCOPES, Principal
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings

SKUS = ("TEE", "MUG")


def _payload(n: int) -> dict[str, Any]:
    return {
        "id": f"B-{n}",
        "updated_at": "2026-12-01T10:00:00Z",
        "currency": "USD",
        "lines": [{"sku": f"M-{SKUS[n % 2]}", "quantity": 1}],
        "ship_to": {
            "name": "Ann Buyer",
            "line1": "1 Market St",
            "city": "San Francisco",
            "region": "CA",
            "postal_code": "94105",
            "country": "US",
        },
    }


def _shopify(calls: list[int]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        calls.append(len(body["variables"]["input"]["quantities"]))
        cost = {
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}
        }
        return httpx.Response(
            200, json={"data": {"inventorySetQuantities": {"userErrors": []}}, "extensions": {"cost": cost}}
        )

    return httpx.MockTransport(answer)


def _drain(db: Database) -> None:
    while jobs.run_due_jobs(db, worker="bench", limit=50):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--skus", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-channels-"))
    url = f"sqlite:///{folder}/bench.db" if args.db == "sqlite" else pg_database("bench_channels")
    migrate.upgrade(url)
    settings = Settings(
        database_url=url,
        env="test",
        vault_database_url=f"sqlite:///{folder}/vault.db",
        sandbox_gateway_path=str(folder / "gw.db"),
        _env_file=None,
    )  # type: ignore[call-arg]
    db = Database(url, pool_size=5)
    calls: list[int] = []
    channels.register()
    channels.setup_channels(db, settings, transport=_shopify(calls))
    from ordersmith.payments import service as payments

    wired = payments.setup_payments(db, settings)
    uow = db.unit_of_work(Actor.system("bench"))
    make_order_shop(uow)
    for sku in SKUS:
        stock(uow, sku=sku, location="EAST", quantity=args.orders * 2)
    channels.create_connector(
        uow,
        code="market",
        kind="generic",
        sales_channel="amazon",
        name="Market",
        config={"shipping_method": "ground"},
        credentials={},
    )
    for sku in SKUS:
        channels.map_sku(uow, connector="market", channel_sku=f"M-{sku}", sku=sku)

    # the raw baseline: the same orders straight through checkout
    staff = Principal(kind="user", id=None, label="bench", scopes=frozenset(SCOPES), role="admin")
    amazon = sales_channels.ordering_channel(uow, staff, "amazon")
    caller = checkout_rules.Caller(
        channel_kind="marketplace",
        scopes=frozenset({checkout_rules.IMPORT_SCOPE}),
        bills_later=True,
        channel_bound=True,
    )
    started = time.perf_counter()
    for n in range(args.orders):
        request = orders.OrderRequest(
            lines=[orders.LineRequest(sku=SKUS[n % 2], quantity=1)],
            external_id=f"R-{n}",
            ship_tos=[
                orders.ShipToRequest(
                    ref="main",
                    name="Ann Buyer",
                    line1="1 Market St",
                    city="San Francisco",
                    region="CA",
                    postal_code="94105",
                    country="US",
                    method="ground",
                )
            ],
            payments=[orders.PaymentRequest(method="marketplace", reference=f"R-{n}")],
        )
        checkout.place_order(uow, channel=amazon, caller=caller, request=request)
    baseline_s = time.perf_counter() - started

    # through the connector: every order delivered twice, then imported by its job
    started = time.perf_counter()
    duplicates = 0
    for n in range(args.orders):
        for _ in range(2):
            duplicates += channels.receive_order(uow, connector="market", payload=_payload(n)).duplicate
    _drain(db)
    channel_s = time.perf_counter() - started
    with db.session() as session:
        placed = session.scalar(sa.text("SELECT count(*) FROM orders WHERE external_id LIKE 'B-%'"))
        imported = session.scalar(sa.text("SELECT count(*) FROM channel_orders WHERE status = 'imported'"))

    # stock out: a Shopify connector on the web channel with SKUS mapped, and many stock changes
    channels.create_connector(
        uow,
        code="shop",
        kind="shopify",
        sales_channel="web",
        name="Shop",
        config={
            "shipping_method": "ground",
            "shop_url": "https://bench.myshopify.com",
            "location_id": "gid://shopify/Location/1",
            "stock_window_s": 0,
        },
        credentials={"access_token": "t", "webhook_secret": "s"},
    )
    from ordersmith.catalog import service as catalog

    items = [f"BENCH-{n}" for n in range(args.skus)]
    for sku in items:
        catalog.create_item(uow, sku=sku, name=sku, divisions=["web"])
        channels.map_sku(
            uow, connector="shop", channel_sku=sku, sku=sku, listing_id=f"gid://shopify/InventoryItem/{sku}"
        )
    while outbox.dispatch_batch(uow):
        pass
    _drain(db)
    calls.clear()
    started = time.perf_counter()
    for n in range(args.changes):
        stock(uow, sku=items[n % len(items)], location="EAST", quantity=1)
        if n % 100 == 99:  # the relay's batches, and the push jobs due every window (0 s here)
            while outbox.dispatch_batch(uow):
                pass
            _drain(db)
    while outbox.dispatch_batch(uow):
        pass
    _drain(db)
    fanout_s = time.perf_counter() - started
    wired.vault.dispose()
    db.dispose()

    ratio = baseline_s / channel_s if channel_s else 0.0
    print(f"database: {args.db}")
    print(f"baseline_orders_per_s: {args.orders / baseline_s:.0f} orders/s")
    print(f"channel_orders_per_s: {args.orders / channel_s:.0f} orders/s")
    print(f"channel_to_baseline: {ratio:.2f} ratio")
    print(f"deliveries: {2 * args.orders} deliveries")
    print(f"duplicates_dropped: {duplicates} deliveries")
    print(f"orders_placed: {placed} orders")
    print(f"channel_orders_imported: {imported} orders")
    print(f"stock_changes: {args.changes} changes")
    print(f"shopify_calls: {len(calls)} calls")
    print(f"figures_sent: {sum(calls)} figures")
    print(f"stock_changes_per_s: {args.changes / fanout_s:.0f} changes/s")
    ok = duplicates == args.orders and placed == imported == args.orders and len(calls) < args.changes
    print(
        f"summary: {'ok' if ok else 'FAILED'} — intake at {ratio:.2f} of checkout alone, {duplicates} duplicates "
        f"dropped, {args.changes} stock changes in {len(calls)} calls"
    )


if __name__ == "__main__":
    main()
