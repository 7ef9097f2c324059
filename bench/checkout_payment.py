"""Checkout with payment: web orders through the HTTP API paid by a sandbox card (a vault token) split with a gift
card, against the same orders paid on account, in the same run and on the same server (the in-process sandbox
processor).

    python -m bench.checkout_payment --db sqlite|postgres [--seconds 30] [--clients 8]

The on-account orders pay their way too (the credit limit checked by a conditional UPDATE), so the difference is
what a card and a gift card cost: the quote before the authorization, the vault's audited reveal, the
processor's call, the gift card's conditional UPDATE and ledger row, two payment rows and their log. Prints one
figure per line and a summary line. Goal: card + gift card adds <= 30 % to p99.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    TOPOLOGIES,
    cpu_seconds,
    mark_set_up_events_delivered,
    own_files,
    percentile,
    pg_database,
    start_ordersmith,
    stop,
)
from ordersmith.catalog import service as catalog
from ordersmith.customers import service as customers
from ordersmith.inventory import service as inventory
from ordersmith.kernel.money import Money
from ordersmith.payments import service as payments
from ordersmith.platform import identity, migrate, sales_channels
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings
from ordersmith.pricing import service as pricing

SKUS = 200
ACCOUNTS = 50
CARDS = ["4242424242424242", "5555555555554444", "378282246310005", "6011111111111117"]
ADDRESS = {
    "ref": "main",
    "name": "Bench Buyer",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
    "method": "ground",
}


def _usd(amount: str | int) -> Money:
    return Money(Decimal(amount), "USD")


def _prepare(url: str, folder: Path, gift_cards: int) -> tuple[str, list[str], list[str], list[str]]:
    """Items, prices, the web channel and its key, business accounts with terms, vault tokens and gift cards."""
    migrate.upgrade(url)
    settings = Settings(
        database_url=url,
        env="test",
        _env_file=None,  # type: ignore[call-arg]
        **{k.removeprefix("ORDERSMITH_").lower(): v for k, v in own_files(folder).items()},
    )
    db = Database(url)
    wired = payments.setup_payments(db, settings)
    uow = db.unit_of_work(Actor.system("bench"))
    with uow:
        inventory.create_location(uow, code="DC", name="DC", kind="warehouse")
        for n in range(SKUS):
            catalog.create_item(uow, sku=f"SKU-{n:04d}", name=f"Item {n}", divisions=["web"], weight_g=300)
            inventory.adjust_stock(
                uow, sku=f"SKU-{n:04d}", location="DC", quantity=1_000_000, reason="receipt"
            )
        pricing.create_price_list(
            uow,
            code="USD",
            name="Retail",
            currency="USD",
            prices=[pricing.PriceEntry(f"SKU-{n:04d}", _usd(10 + n % 40)) for n in range(SKUS)],
        )
        pricing.create_shipping_method(uow, code="ground", name="Ground", kind="flat", flat=_usd("5.00"))
        pricing.create_tax_rate(uow, name="CA", country="US", region="CA", rate=Decimal("0.0725"))
        sales_channels.create_sales_channel(
            uow, code="web", name="Web", kind="web", division="web", currency="USD"
        )
        key = identity.create_api_key(uow, name="web", scopes=["orders:write"], channel_code="web").secret
        accounts = [
            customers.create_customer(
                uow,
                details=customers.Details(
                    kind="business",
                    company=f"Account {n}",
                    payment_terms="net30",
                    credit_limit=_usd(10_000_000),
                ),
                created_channel="web",  # the web key names only its own channel's customers
            ).number
            for n in range(ACCOUNTS)
        ]
        codes = [payments.issue(uow, amount=_usd(1_000)).code for _ in range(gift_cards)]
    tokens = [
        wired.vault.tokenize(number=number, exp_month=month, exp_year=year, actor="bench").token
        for number in CARDS
        for month in range(1, 13)
        for year in range(2028, 2033)
    ]
    wired.vault.dispose()
    mark_set_up_events_delivered(db)
    db.dispose()
    return key, accounts, tokens, codes


async def _run(
    url: str, key: str, seconds: float, clients: int, body_for: Any
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    placed = 0
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    async def loop(client: httpx.AsyncClient, c: int) -> None:
        nonlocal placed
        n = 0
        while time.perf_counter() < deadline and not errors:
            n += 1
            started = time.perf_counter()
            response = await client.post(
                f"{url}/api/v1/orders", json=body_for(c, n), headers={"Authorization": f"Bearer {key}"}
            )
            latencies.append(time.perf_counter() - started)
            if response.status_code == 201:
                placed += 1
            else:
                errors.append(f"{response.status_code} {response.text[:300]}")

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=clients)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(loop(client, c) for c in range(clients)))
        elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]}")
    return latencies, placed, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--topology", choices=sorted(TOPOLOGIES), default=None)
    args = parser.parse_args()
    topology = args.topology or ("embedded" if args.db == "sqlite" else "split")
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-checkout-payment-"))
    url = (
        f"sqlite:///{folder}/ordersmith.db"
        if args.db == "sqlite"
        else pg_database("ordersmith_checkout_payment")
    )
    set_up = time.perf_counter()
    key, accounts, tokens, codes = _prepare(url, folder, gift_cards=2_000)
    set_up = time.perf_counter() - set_up

    def lines(c: int, n: int) -> list[dict[str, Any]]:
        return [
            {"sku": f"SKU-{(c * 7919 + n * 104_729 + k * 31) % SKUS:04d}", "quantity": 1}
            for k in range(1 + n % 2)
        ]

    def on_account(c: int, n: int) -> dict[str, Any]:
        return {
            "lines": lines(c, n),
            "ship_tos": [ADDRESS | {"line1": f"{c}-{n} Account St"}],
            "customer": accounts[(c * 1000 + n) % ACCOUNTS],
            "payments": [{"method": "on_account"}],
        }

    def card_and_gift_card(c: int, n: int) -> dict[str, Any]:
        return {
            "lines": lines(c, n),
            "ship_tos": [ADDRESS | {"line1": f"{c}-{n} Card St"}],
            "payments": [
                {"method": "gift_card", "token": codes[(c * 1000 + n) % len(codes)], "amount": "5.00"},
                {"method": "card", "token": tokens[(c * 1000 + n) % len(tokens)]},
            ],
        }

    server, server_url, helpers = start_ordersmith(url, topology, folder)
    try:
        asyncio.run(_run(server_url, key, 3, args.clients, on_account))  # warm-up: caches, connections
        cpu = cpu_seconds(server, *helpers)
        account_lat, account_placed, account_elapsed = asyncio.run(
            _run(server_url, key, args.seconds, args.clients, on_account)
        )
        account_cpu = cpu_seconds(server, *helpers) - cpu
        cpu = cpu_seconds(server, *helpers)
        card_lat, card_placed, card_elapsed = asyncio.run(
            _run(server_url, key, args.seconds, args.clients, card_and_gift_card)
        )
        card_cpu = cpu_seconds(server, *helpers) - cpu
    finally:
        stop(server, *helpers)
    account_rate, card_rate = account_placed / account_elapsed, card_placed / card_elapsed
    account_p99, card_p99 = percentile(account_lat, 99), percentile(card_lat, 99)
    added = card_p99 / account_p99 - 1
    print(f"database: {args.db}")
    print(f"topology: {TOPOLOGIES[topology]}")
    print(f"clients: {args.clients}")
    print(f"set_up: {set_up:.0f} s")
    print(f"on_account_orders_per_s: {account_rate:.0f} orders/s ({account_placed} orders)")
    print(f"card_and_gift_card_orders_per_s: {card_rate:.0f} orders/s ({card_placed} orders)")
    for name, lat in (("on_account", account_lat), ("card_and_gift_card", card_lat)):
        print(
            f"{name}_latency: p50 {percentile(lat, 50):.1f} ms, p95 {percentile(lat, 95):.1f} ms, "
            f"p99 {percentile(lat, 99):.1f} ms"
        )
    print(f"on_account_server_cpu: {account_cpu / max(account_placed, 1) * 1000:.2f} ms per order")
    print(f"card_and_gift_card_server_cpu: {card_cpu / max(card_placed, 1) * 1000:.2f} ms per order")
    print(f"p99_added_by_card_and_gift_card: {added * 100:.0f} % (goal <= 30 %)")
    print(
        f"summary: checkout_payment {args.db} card+gift card {card_rate:.0f}/s p99 {card_p99:.0f} ms vs on account "
        f"{account_rate:.0f}/s p99 {account_p99:.0f} ms: {added * 100:+.0f} % p99 -> "
        f"{'meets' if added <= 0.30 else 'misses'} goal"
    )


if __name__ == "__main__":
    main()
