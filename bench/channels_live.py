"""Channels, live: the issue's full run through real processes. An `ordersmith serve` process (on PostgreSQL with an
`ordersmith worker` beside it for the relay and jobs; on SQLite `serve` runs them in-process) and four loopback stub
servers answering as the channels' documented APIs (`bench.channel_stubs`: the tests' stubs, rate-limited).

1. Inbound: `--orders` marketplace orders, a quarter per channel, all arriving at once. Shopify and WooCommerce push
   them: every order is sent twice as a signed webhook over HTTP to the server, concurrently, in shuffled order (the
   second delivery of each must be dropped). Amazon (SP-API) and eBay (Fulfillment API) are polled — that is how
   those channels work: the stub holds the orders and the server's poll jobs pull them, page by page (Amazon with
   `getOrderItems` per order); the stubs repeat the last order of a page at the top of the next, as both channels
   are known to, so polling too sees duplicates. Timed until every order is imported; each channel order must make
   exactly one order.
2. Outbound: `--changes` stock changes (`POST /api/v1/stock/adjustments`, +1 unit each, over `--skus` items mapped
   on all four channels) fan out to the four stubs through the batched, throttled pushes
   (docs/guides/channels-stock.md). The lag of a change is from the moment its request was sent (its commit is no
   earlier) to the first time a stub receives a quantity that includes it (quantities only grow in this phase, so
   "includes" is "at least the available figure the API answered"). The stubs enforce rate limits on these calls
   and answer as documented when exceeded: Shopify's GraphQL cost bucket (2,000 points, 100 restored a second,
   10 a mutation; a THROTTLED error with `extensions.cost`), Amazon's Listings Items `patchListingsItem` (5
   requests a second, burst 10; 429 QuotaExceeded with `x-amzn-RateLimit-Limit`), eBay's
   `bulkUpdatePriceQuantity` and WooCommerce's batch endpoint (neither documents a per-second limit — eBay's are
   per day, WooCommerce's are the host's — so 5 and 4 requests a second, burst 10 and 8, are assumed; 429 with
   `Retry-After`). Order reads are not throttled: at Amazon's documented `getOrders` (one a minute after a burst
   of 20) and `getOrderItems` (0.5 a second) limits, 5,000 Amazon orders would take hours to read by polling.
3. POS: `--pos-sales` sales rung up offline, queued on four tills, synced (`POST /api/v1/pos/sales`, each till its
   queue in order, all tills at once); then the same queues are sent again (every sale a duplicate).

    python -m bench.channels_live --db sqlite|postgres [--orders 20000] [--changes 50000] [--pos-sales 1000]
        [--skus 50] [--window 1] [--senders 16] [--job-threads 4]

Prints one figure per line (`name: value unit`) and a summary line. Goals: one order per channel order, duplicates
dropped = deliveries - orders, outbound lag p99 <= 5 s on every channel, exactly `--pos-sales` POS orders and none
added by the second sync.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from tests.integration.test_channels_amazon import (
    CLIENT_ID as AMAZON_CLIENT_ID,
)
from tests.integration.test_channels_amazon import (
    CLIENT_SECRET as AMAZON_CLIENT_SECRET,
)
from tests.integration.test_channels_amazon import (
    MARKETPLACE,
    SELLER,
)
from tests.integration.test_channels_amazon import (
    REFRESH as AMAZON_REFRESH,
)
from tests.integration.test_channels_ebay import (
    CLIENT_ID as EBAY_CLIENT_ID,
)
from tests.integration.test_channels_ebay import (
    CLIENT_SECRET as EBAY_CLIENT_SECRET,
)
from tests.integration.test_channels_ebay import (
    REFRESH as EBAY_REFRESH,
)
from tests.integration.test_channels_shopify import LOCATION, VERSION
from tests.integration.test_channels_shopify import TOKEN as SHOPIFY_TOKEN
from tests.integration.test_channels_woocommerce import KEY as WOO_KEY
from tests.integration.test_channels_woocommerce import SECRET as WOO_SECRET
from tests.support.http_stub import serving
from tests.support.server import free_port

from bench.channel_stubs import (
    CHANNELS,
    SHOPIFY_SECRET,
    WOO_HOOK_SECRET,
    WOO_PRODUCT,
    Receipts,
    Stubs,
    hold_polled_orders,
    item,
    live_stubs,
    webhook_deliveries,
)
from bench.common import mark_set_up_events_delivered, own_files, percentile, pg_database, stop
from bench.pos_sync import _queues, _sync
from ordersmith.catalog import service as catalog
from ordersmith.channels import service as channels
from ordersmith.channels.pos import service as pos
from ordersmith.channels.service import polling
from ordersmith.channels.tables import PollStateRow
from ordersmith.inventory import service as inventory
from ordersmith.kernel.money import Money
from ordersmith.platform import identity, jobs, migrate, sales_channels
from ordersmith.platform.access import CHANNEL_KEY_SCOPES, ROLE_SCOPES
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings
from ordersmith.pricing import service as pricing

SALES_CHANNEL = {"web": "shopify", "woo": "woocommerce", "amazon": "amazon", "ebay": "ebay"}
CONNECTOR = {"shop": "shopify", "woo": "woocommerce", "amz": "amazon", "ebay-us": "ebay"}
POS_SKUS, TILLS = 50, 4
LAG_GOAL_S = 5.0


def _pos_item(n: int) -> str:
    return f"SKU-{n:05d}"  # the SKUs bench.pos_sync's queues ring up


# --- set-up ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    staff_key: str  # inventory:write
    till_key: str
    shift: str


def _connectors(uow: Any, stubs: Stubs, window_s: int) -> None:
    stock = {"shipping_method": "ground", "stock_window_s": window_s, "stock_buffer": 0}
    specs: list[tuple[str, str, str, dict[str, Any], dict[str, str]]] = [
        (
            "shop",
            "shopify",
            "web",
            stock | {"shop_url": stubs.shopify.api.url(), "api_version": VERSION, "location_id": LOCATION},
            {"access_token": SHOPIFY_TOKEN, "webhook_secret": SHOPIFY_SECRET},
        ),
        (
            "woo",
            "woocommerce",
            "woo",
            stock | {"store_url": stubs.woocommerce.api.url()},
            {"consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET, "webhook_secret": WOO_HOOK_SECRET},
        ),
        (
            "amz",
            "amazon",
            "amazon",
            stock
            | {
                "endpoint": stubs.amazon.api.url(),
                "marketplace_id": MARKETPLACE,
                "token_url": f"{stubs.amazon.api.url()}/auth/o2/token",
                "seller_id": SELLER,
            },
            {
                "client_id": AMAZON_CLIENT_ID,
                "client_secret": AMAZON_CLIENT_SECRET,
                "refresh_token": AMAZON_REFRESH,
            },
        ),
        (
            "ebay-us",
            "ebay",
            "ebay",
            stock | {"endpoint": stubs.ebay.api.url(), "page_size": 100},
            {"client_id": EBAY_CLIENT_ID, "client_secret": EBAY_CLIENT_SECRET, "refresh_token": EBAY_REFRESH},
        ),
    ]
    for code, kind, channel, config, credentials in specs:
        channels.create_connector(
            uow,
            code=code,
            kind=kind,
            sales_channel=channel,
            name=code,
            config=config,
            credentials=credentials,
        )


def _map(uow: Any, skus: int) -> None:
    for n in range(skus):
        sku = item(n)
        channels.map_sku(
            uow,
            connector="shop",
            channel_sku=f"SH-{sku}",
            sku=sku,
            listing_id=f"gid://shopify/InventoryItem/{n}",
        )
        channels.map_sku(
            uow, connector="woo", channel_sku=f"WC-{sku}", sku=sku, listing_id=str(WOO_PRODUCT + n)
        )
        channels.map_sku(uow, connector="amz", channel_sku=f"AZ-{sku}", sku=sku, listing_id=f"AZ-{sku}")
        channels.map_sku(uow, connector="ebay-us", channel_sku=f"EB-{sku}", sku=sku, listing_id=f"EB-{sku}")


def _prepare(url: str, folder: Path, stubs: Stubs, args: argparse.Namespace) -> Prepared:
    migrate.upgrade(url)
    settings = Settings(
        database_url=url,
        env="test",
        vault_database_url=f"sqlite:///{folder}/vault.db",
        sandbox_gateway_path=str(folder / "sandbox_gateway.db"),
        _env_file=None,
    )  # type: ignore[call-arg]
    db = Database(url)
    channels.register()
    channels.setup_channels(db, settings)
    uow = db.unit_of_work(Actor.system("bench"))
    with uow:
        for code, kind, division in (
            ("web", "web", "web"),
            ("woo", "web", "web"),
            ("amazon", "marketplace", "web"),
            ("ebay", "marketplace", "web"),
            ("till", "pos", "store"),
        ):
            sales_channels.create_sales_channel(
                uow,
                code=code,
                name=code,
                kind=kind,
                division=division,
                currency="USD",
                bills_later=kind != "pos",
            )
        inventory.create_location(uow, code="EAST", name="East", kind="warehouse")
        inventory.create_location(uow, code="STORE", name="Store", kind="store", division="store")
        prices = []
        for n in range(args.skus):
            catalog.create_item(uow, sku=item(n), name=f"Item {n}", divisions=["web"], weight_g=300)
            inventory.adjust_stock(uow, sku=item(n), location="EAST", quantity=args.orders, reason="receipt")
            prices.append(pricing.PriceEntry(item(n), Money(Decimal("20.00"), "USD")))
        for n in range(POS_SKUS):
            catalog.create_item(
                uow, sku=_pos_item(n), name=f"Store item {n}", divisions=["store"], weight_g=300
            )
            inventory.adjust_stock(
                uow, sku=_pos_item(n), location="STORE", quantity=100_000, reason="receipt"
            )
            prices.append(pricing.PriceEntry(_pos_item(n), Money(Decimal(5 + n), "USD")))
        pricing.create_price_list(uow, code="usd", name="Retail", currency="USD", prices=prices)
        pricing.create_shipping_method(
            uow, code="ground", name="Ground", kind="flat", flat=Money(Decimal("5.00"), "USD")
        )
        pricing.create_tax_rate(uow, name="CA", country="US", region="CA", rate=Decimal("0.0725"))
        pos.put_store(
            uow,
            location="STORE",
            settings=pos.StoreSettings(
                channel="till",
                name="Bench store",
                line1="865 Market St",
                city="San Francisco",
                region="CA",
                postal_code="94103",
                country="US",
            ),
        )
        for t in range(TILLS):
            pos.create_register(uow, code=f"T{t}", store="STORE", name=f"Till {t}")
        shift = pos.open_shift(uow, principal=None, register="T0", opening_float="200.00")
        till_key = identity.create_api_key(
            uow, name="till", scopes=sorted(ROLE_SCOPES["store"] & CHANNEL_KEY_SCOPES), channel_code="till"
        ).secret
        staff_key = identity.create_api_key(
            uow, name="bench", scopes=["inventory:write", "inventory:read"]
        ).secret
        _connectors(uow, stubs, args.window)
        _map(uow, args.skus)
        # The polls start when the run does (below), not when the server starts.
        uow.session.execute(
            sa.update(PollStateRow).values(next_poll_at=datetime.now(UTC) + timedelta(days=1))
        )
    mark_set_up_events_delivered(db)
    db.dispose()
    return Prepared(staff_key, till_key, str(shift.id))


# --- the processes --------------------------------------------------------------------------------------------------


def _start(
    url: str, folder: Path, split: bool, job_threads: int = 4
) -> tuple[subprocess.Popen[bytes], str, list[subprocess.Popen[bytes]]]:
    """`ordersmith serve` (and on PostgreSQL `ordersmith worker` doing the relay and jobs), with `job_threads` job
    threads."""
    env = {**os.environ, "ORDERSMITH_DATABASE_URL": url, "ORDERSMITH_ENV": "test", **own_files(folder),
           "ORDERSMITH_JOB_THREADS": str(job_threads)}  # fmt: skip
    helpers = []
    if split:
        helpers.append(
            subprocess.Popen(
                [sys.executable, "-m", "ordersmith", "worker"],
                env=env,
                stdout=(folder / "worker.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        env |= {"ORDERSMITH_RELAY_ENABLED": "false", "ORDERSMITH_JOBS_ENABLED": "false"}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ordersmith", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=(folder / "serve.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if server.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return server, base, helpers
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(server, *helpers)
    raise RuntimeError((folder / "serve.log").read_text()[-2000:])


# --- the phases -----------------------------------------------------------------------------------------------------


def _count(db: Database, sql: str, **params: Any) -> int:
    with db.session() as session:
        return int(session.scalar(sa.text(sql), params) or 0)


def _wait(what: str, done: Callable[[], bool], timeout_s: float) -> float:
    """Poll `done` every 0.1 s; returns when it became true (monotonic time). Raises after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return time.monotonic()


async def _send_webhooks(
    base: str, sent: list[tuple[str, bytes, dict[str, str]]], senders: int
) -> dict[str, int]:
    answers = {"new": 0, "duplicate": 0, "refused": 0}
    queue = iter(sent)

    async def sender(client: httpx.AsyncClient) -> None:
        for code, body, headers in queue:
            answer = await client.post(
                f"{base}/api/v1/channels/webhooks/{code}", content=body, headers=headers
            )
            if answer.status_code != 200 or not answer.json().get("accepted"):
                answers["refused"] += 1
            else:
                answers["duplicate" if answer.json()["duplicate"] else "new"] += 1

    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await asyncio.gather(*(sender(client) for _ in range(senders)))
    return answers


def _inbound(db: Database, base: str, args: argparse.Namespace) -> dict[str, Any]:
    per_channel = args.orders // 4
    sent = webhook_deliveries(per_channel, args.skus)
    started = time.monotonic()
    with db.session() as session:
        polled = session.scalars(
            sa.text("SELECT id FROM channel_connectors WHERE code IN ('amz', 'ebay-us')")
        ).all()
    with db.unit_of_work(Actor.system("bench")) as uow:  # what the poll schedule does when the polls are due
        for connector_id in polled:
            jobs.enqueue(uow, polling.POLL_JOB, {"connector_id": str(connector_id)})
    answers = asyncio.run(_send_webhooks(base, sent, args.senders))
    webhooks_s = time.monotonic() - started
    total = 4 * per_channel
    done = _wait(
        "every channel order imported",
        lambda: _count(db, "SELECT count(*) FROM channel_orders WHERE status = 'imported'") >= total,
        timeout_s=600 + total / 5,
    )
    return {
        "answers": answers,
        "webhook_deliveries": len(sent),
        "webhooks_s": webhooks_s,
        "elapsed_s": done - started,
        "expected": total,
    }


def _settled(db: Database) -> bool:
    return _count(db, "SELECT count(*) FROM channel_stock_pending") == 0


async def _send_changes(
    base: str, key: str, changes: int, skus: int, senders: int
) -> list[tuple[int, int, float]]:
    """+1 unit per change, item `change % skus`; each sender owns its items, so an item's figures only grow and
    each answer's `available` is the figure after that change. Returns (item, available, sent at)."""
    done: list[tuple[int, int, float]] = []
    senders = min(senders, skus)
    mine = [[c for c in range(changes) if (c % skus) % senders == s] for s in range(senders)]
    headers = {"Authorization": f"Bearer {key}"}

    async def sender(client: httpx.AsyncClient, chosen: list[int]) -> None:
        for c in chosen:
            n = c % skus
            at = time.time()
            answer = await client.post(
                f"{base}/api/v1/stock/adjustments",
                json={"sku": item(n), "location": "EAST", "quantity": 1, "reason": "adjustment"},
                headers=headers | {"Idempotency-Key": str(uuid.uuid4())},
            )
            if answer.status_code != 201:
                raise RuntimeError(f"stock adjustment answered {answer.status_code}: {answer.text[:300]}")
            done.append((n, int(answer.json()["available"]), at))

    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await asyncio.gather(*(sender(client, chosen) for chosen in mine))
    return done


def _lags(changes: list[tuple[int, int, float]], receipts: Receipts) -> tuple[list[float], int]:
    """Each change's lag to the first quantity the stub took that includes it; and how many never arrived."""
    with receipts.lock:
        got = sorted(receipts.got)
    times: dict[int, list[float]] = {}
    highest: dict[int, list[int]] = {}
    for at, n, quantity in got:
        top = highest.setdefault(n, [])
        times.setdefault(n, []).append(at)
        top.append(max(quantity, top[-1]) if top else quantity)
    lags, missing = [], 0
    for n, available, sent_at in changes:
        tops = highest.get(n, [])
        i = bisect.bisect_left(tops, available)
        if i == len(tops):
            missing += 1
        else:
            lags.append(max(0.0, times[n][i] - sent_at))
    return lags, missing


def _outbound(
    db: Database, base: str, stubs: Stubs, prepared: Prepared, args: argparse.Namespace
) -> dict[str, Any]:
    _wait("the inbound phase's pushes", lambda: _settled(db), timeout_s=600)
    time.sleep(args.window + 1.5)  # the last push of the inbound phase lands
    for receipts in stubs.receipts().values():
        receipts.clear()
    started = time.monotonic()
    changes = asyncio.run(_send_changes(base, prepared.staff_key, args.changes, args.skus, args.senders))
    applied_s = time.monotonic() - started
    final = {}
    for n, available, _ in changes:
        final[n] = max(final.get(n, 0), available)

    def all_arrived() -> bool:
        for receipts in stubs.receipts().values():
            with receipts.lock:
                seen: dict[int, int] = {}
                for _, n, quantity in receipts.got:
                    seen[n] = max(seen.get(n, 0), quantity)
            if any(seen.get(n, -1) < q for n, q in final.items()):
                return False
        return True

    with suppress(RuntimeError):  # what never arrives is counted below
        _wait("the last figures at every channel", all_arrived, timeout_s=300)
    return {
        "changes": changes,
        "applied_s": applied_s,
        "lags": {name: _lags(changes, r) for name, r in stubs.receipts().items()},
        "calls": {name: r.calls for name, r in stubs.receipts().items()},
        "refused": {name: getattr(stubs, name).bucket.refused for name in CHANNELS},
    }


def _pos(db: Database, base: str, prepared: Prepared, sales: int) -> dict[str, Any]:
    queues = [[sale for sale, _ in queue] for queue in _queues(sales, TILLS, POS_SKUS, prepared.shift)]
    auth = {"Authorization": f"Bearer {prepared.till_key}"}
    pos_orders = "SELECT count(*) FROM orders o WHERE o.channel = 'till'"
    before = _count(db, pos_orders)
    first = asyncio.run(_sync(base, "/api/v1/pos/sales", queues, auth))
    after_first = _count(db, pos_orders)
    again = asyncio.run(_sync(base, "/api/v1/pos/sales", queues, auth))
    after_again = _count(db, pos_orders)
    return {
        "first": first,
        "again": again,
        "orders": after_first - before,
        "added_again": after_again - after_first,
    }


# --- the report -----------------------------------------------------------------------------------------------------


def _per_channel(db: Database) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {name: {"orders": 0, "twice": 0, "deliveries": 0} for name in CHANNELS}
    with db.session() as session:
        for channel, orders, distinct in session.execute(
            sa.text("SELECT channel, count(*), count(DISTINCT external_id) FROM orders GROUP BY channel")
        ):
            name = SALES_CHANNEL.get(channel)
            if name is not None:
                found[name]["orders"], found[name]["twice"] = int(orders), int(orders) - int(distinct)
        for code, deliveries in session.execute(
            sa.text(
                "SELECT k.code, sum(o.deliveries) FROM channel_orders o JOIN channel_connectors k "
                "ON k.id = o.connector_id GROUP BY k.code"
            )
        ):
            found[CONNECTOR[code]]["deliveries"] = int(deliveries or 0)
    return found


def _report(
    args: argparse.Namespace,
    topology: str,
    inbound: dict[str, Any],
    per_channel: dict[str, dict[str, int]],
    outbound: dict[str, Any],
    till: dict[str, Any],
) -> None:
    per = args.orders // 4
    print(f"database: {args.db}")
    print(f"topology: {topology}")
    print(f"load_average: {os.getloadavg()[0]:.1f} (1 min, at the end; {os.cpu_count()} cores)")
    print(
        "channels: 4 (shopify, woocommerce by signed webhook, each order twice; amazon, ebay polled by the server)"
    )
    print(f"inbound_orders: {inbound['expected']} orders")
    print(f"inbound_orders_per_s: {inbound['expected'] / inbound['elapsed_s']:.0f} orders/s")
    print(f"inbound_elapsed: {inbound['elapsed_s']:.1f} s")
    print(
        f"webhook_deliveries_per_s: {inbound['webhook_deliveries'] / inbound['webhooks_s']:.0f} deliveries/s"
    )
    answers = inbound["answers"]
    print(
        f"webhook_answers: {answers['new']} new, {answers['duplicate']} duplicate, {answers['refused']} refused"
    )
    deliveries = sum(c["deliveries"] for c in per_channel.values())
    orders = sum(c["orders"] for c in per_channel.values())
    for name, counted in per_channel.items():
        print(
            f"{name}_orders: {counted['orders']} orders of {per} ({counted['deliveries']} deliveries, "
            f"{counted['twice']} made twice)"
        )
    print(f"deliveries: {deliveries} deliveries")
    print(f"duplicates_dropped: {deliveries - orders} deliveries")
    print(f"stock_changes: {len(outbound['changes'])} changes over {args.skus} items, window {args.window} s")
    print(f"job_threads: {args.job_threads} threads")
    print(f"stock_changes_per_s: {len(outbound['changes']) / outbound['applied_s']:.0f} changes/s")
    worst = 0.0
    for name in CHANNELS:
        lags, missing = outbound["lags"][name]
        p50 = percentile(lags, 50) / 1000 if len(lags) > 1 else 0.0
        p99 = percentile(lags, 99) / 1000 if len(lags) > 1 else 0.0
        worst = max(worst, p99 if not missing else float("inf"))
        print(f"{name}_lag_p50: {p50:.2f} s")
        print(f"{name}_lag_p99: {p99:.2f} s")
        print(
            f"{name}_calls: {outbound['calls'][name]} calls ({outbound['refused'][name]} refused as over the "
            f"rate limit, {missing} changes never arrived)"
        )
    first = till["first"]
    print(f"pos_sync: {args.pos_sales} sales in {first['elapsed']:.1f} s")
    print(f"pos_sync_sales_per_s: {args.pos_sales / first['elapsed']:.0f} sales/s")
    print(f"pos_orders: {till['orders']} orders ({first['flagged']} flagged)")
    print(f"pos_second_sync_added: {till['added_again']} orders ({till['again']['replayed']} replayed)")
    once = all(c["orders"] == per and c["twice"] == 0 for c in per_channel.values())
    pos_ok = till["orders"] == args.pos_sales and till["added_again"] == 0
    ok = once and pos_ok and worst <= LAG_GOAL_S
    print(
        f"summary: {'ok' if ok else 'FAILED'} — {inbound['expected']} orders from 4 channels at "
        f"{inbound['expected'] / inbound['elapsed_s']:.0f}/s, one per channel order: {once}; "
        f"duplicates dropped {deliveries - orders} = deliveries {deliveries} - orders {orders}; outbound lag p99 "
        f"{worst:.2f} s at worst (goal <= {LAG_GOAL_S:.0f} s); POS {till['orders']} orders of {args.pos_sales}, "
        f"second sync added {till['added_again']}"
    )


def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-channels-live-"))
    url = f"sqlite:///{folder}/bench.db" if args.db == "sqlite" else pg_database("bench_channels_live")
    split = args.db == "postgres"
    stubs = live_stubs(args.skus)
    with ExitStack() as stack:
        for name in CHANNELS:
            stack.enter_context(serving(getattr(stubs, name).api))
        prepared = _prepare(url, folder, stubs, args)
        hold_polled_orders(stubs, args.orders // 4, args.skus)
        server, base, helpers = _start(url, folder, split, args.job_threads)
        db = Database(url)
        try:
            inbound = _inbound(db, base, args)
            per_channel = _per_channel(db)
            outbound = _outbound(db, base, stubs, prepared, args)
            till = _pos(db, base, prepared, args.pos_sales)
        finally:
            stop(server, *helpers)
            db.dispose()
    _report(
        args,
        "serve + worker" if split else "serve (relay and jobs in-process)",
        inbound,
        per_channel,
        outbound,
        till,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--orders", type=int, default=20_000, help="marketplace orders, a quarter per channel"
    )
    parser.add_argument("--changes", type=int, default=50_000)
    parser.add_argument("--pos-sales", type=int, default=1000)
    parser.add_argument("--skus", type=int, default=50, help="items mapped on every channel")
    parser.add_argument("--window", type=int, default=1, help="each connector's stock_window_s")
    parser.add_argument("--senders", type=int, default=16, help="concurrent HTTP clients")
    parser.add_argument(
        "--job-threads",
        type=int,
        default=4,
        help="ORDERSMITH_JOB_THREADS of the server/worker (default 4: the setting's own default)",
    )
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
