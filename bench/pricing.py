"""Pricing: quotes per second for a 5-line cart with 10 active promotions — the pure pipeline alone (the floor
every other figure pays), the quote use case in process (rules loaded from the database each time), and the quote
endpoint through HTTP (16 concurrent clients), in the same run.

    python -m bench.pricing --db sqlite|postgres [--quotes 2000]

Prints one figure per line and a summary line.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx

from bench.common import percentile, pg_database, start_ordersmith, stop
from ordersmith.catalog import service as catalog
from ordersmith.kernel.clock import utcnow
from ordersmith.kernel.money import Money
from ordersmith.platform import identity, migrate
from ordersmith.platform.db import Actor, Database
from ordersmith.pricing import rules
from ordersmith.pricing import service as pricing
from ordersmith.pricing.service import PriceEntry, PromotionInput, QuoteLine, QuoteRequest

SKUS = ["TEE", "MUG", "CAP", "THROW", "CANDLE"]


def usd(amount: str | int) -> Money:
    return Money(Decimal(amount), "USD")


def _setup(url: str) -> str:
    migrate.upgrade(url)
    db = Database(url)
    uow = db.unit_of_work(Actor.system("bench"))
    for n, sku in enumerate(SKUS):
        catalog.create_item(uow, sku=sku, name=sku, divisions=["web"], weight_g=200 + 100 * n)
    pricing.create_price_list(
        uow,
        code="USD",
        name="Retail",
        currency="USD",
        prices=[PriceEntry(sku, usd(10 + 7 * n)) for n, sku in enumerate(SKUS)],
    )
    pricing.create_shipping_method(
        uow,
        code="ground",
        name="Ground",
        kind="weight_bands",
        weight_bands=[(1000, usd("6.95")), (10_000, usd("12.95"))],
    )
    pricing.create_tax_rate(uow, name="NY", country="US", region="NY", rate=Decimal("0.04"), on_shipping=True)
    promotions = [
        PromotionInput(code="P1", name="p", kind="percent_off_items", percent=Decimal(10), skus=["TEE"]),
        PromotionInput(code="P2", name="p", kind="amount_off_items", amount=usd(1), skus=["MUG"]),
        PromotionInput(code="P3", name="p", kind="buy_x_get_y", buy=2, get=1, skus=["CANDLE"]),
        PromotionInput(
            code="P4", name="p", kind="tiered_percent", tiers=[(usd(50), Decimal(5)), (usd(100), Decimal(8))]
        ),
        PromotionInput(
            code="P5", name="p", kind="order_amount_off", amount=usd(5), threshold=usd(40), stackable=False
        ),
        PromotionInput(code="P6", name="p", kind="free_shipping", threshold=usd(200)),
        PromotionInput(code="P7", name="p", kind="percent_off_items", percent=Decimal(5), channels=["web"]),
        PromotionInput(
            code="P8", name="p", kind="percent_off_items", percent=Decimal(3), customer_groups=["vip"]
        ),
        PromotionInput(code="P9", name="p", kind="gift_with_purchase", gift_sku="MUG", threshold=usd(150)),
        PromotionInput(code="P10", name="p", kind="amount_off_items", amount=usd(2), skus=["THROW"]),
    ]
    for promotion in promotions:
        pricing.create_promotion(uow, promotion=promotion)
    key = identity.create_api_key(uow, name="bench", scopes=["pricing:quote"]).secret
    db.dispose()
    return key


REQUEST = QuoteRequest(
    currency="USD",
    channel="web",
    division="web",
    lines=[QuoteLine(sku, 1 + n % 3) for n, sku in enumerate(SKUS)],
    ship_tos=[rules.ShipTo("main", "US", "ground", "NY", "10001")],
)
BODY = {
    "lines": [{"sku": sku, "quantity": 1 + n % 3} for n, sku in enumerate(SKUS)],
    "ship_tos": [{"country": "US", "region": "NY", "postal_code": "10001", "method": "ground"}],
}


def _pure(count: int) -> tuple[float, rules.Quote]:
    """The pipeline alone, on rules built once (what the database loads cost is measured against)."""
    context = rules.Context("USD", "web", "web", "retail", utcnow())
    lines = [
        rules.CartLine(str(n), sku, 1 + n % 3, "main", weight_g=200 + 100 * n) for n, sku in enumerate(SKUS)
    ]
    lists = [
        rules.PriceList(
            "USD", "USD", 0, {sku: (rules.PriceBreak(1, usd(10 + 7 * n)),) for n, sku in enumerate(SKUS)}
        )
    ]
    promos = [
        rules.Promotion("P1", "percent_off_items", percent=Decimal(10), skus=frozenset({"TEE"})),
        rules.Promotion("P3", "buy_x_get_y", buy=2, get=1, skus=frozenset({"CANDLE"})),
        rules.Promotion("P4", "tiered_percent", tiers=((usd(50), Decimal(5)), (usd(100), Decimal(8)))),
        rules.Promotion("P5", "order_amount_off", amount=usd(5), threshold=usd(40), stackable=False),
    ]
    methods = [
        rules.ShippingMethod(
            "ground", "weight_bands", weight_bands=((1000, usd("6.95")), (10_000, usd("12.95")))
        )
    ]
    rates = [rules.TaxRate("US", Decimal("0.04"), region="NY", on_shipping=True)]
    ship_tos = [rules.ShipTo("main", "US", "ground", "NY", "10001")]
    started = time.perf_counter()
    for _ in range(count):
        last = rules.price_cart(context, lines, ship_tos, lists, promos, methods, rates)
    return count / (time.perf_counter() - started), last


async def _http(url: str, key: str, count: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    remaining = [count]

    async def client_loop(client: httpx.AsyncClient) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            started = time.perf_counter()
            response = await client.post(
                url + "/api/v1/pricing/quote", json=BODY, headers={"Authorization": f"Bearer {key}"}
            )
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()

    async with httpx.AsyncClient(timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        return count / (time.perf_counter() - started), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--quotes", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-pricing-"))
    url = f"sqlite:///{folder}/ordersmith.db" if args.db == "sqlite" else pg_database("ordersmith_pricing")
    key = _setup(url)
    pure_rate, _ = _pure(args.quotes)
    db = Database(url)
    uow = db.unit_of_work(Actor.system("bench"))
    pricing.quote(uow, request=REQUEST)
    started = time.perf_counter()
    for _ in range(args.quotes):
        pricing.quote(uow, request=REQUEST)
    in_process = args.quotes / (time.perf_counter() - started)
    sample = pricing.quote(uow, request=REQUEST)
    db.dispose()
    server, server_url, helpers = start_ordersmith(
        url, "embedded" if args.db == "sqlite" else "split", folder
    )
    try:
        http_rate, latencies = asyncio.run(_http(server_url, key, args.quotes, 16))
    finally:
        stop(server, *helpers)
    print(f"database: {args.db}")
    applied = len(sample.applied_promotions)
    print(f"cart: 5 lines, 10 active promotions ({applied} apply), 1 ship-to, weight bands, state tax")
    print(f"sample_total: {sample.total} (promotions {', '.join(sample.applied_promotions)})")
    print(f"pure_pipeline: {pure_rate:.0f} quotes/s (rules built once, no database)")
    print(f"quote_use_case_in_process: {in_process:.0f} quotes/s (items, prices and coupons read per quote)")
    print(f"quote_over_http: {http_rate:.0f} quotes/s (16 clients)")
    print(f"quote_over_http_p50: {percentile(latencies, 50):.1f} ms")
    print(f"quote_over_http_p99: {percentile(latencies, 99):.1f} ms")
    print(
        f"summary: pricing {args.db} pure {pure_rate:.0f}/s, in process {in_process:.0f}/s, HTTP {http_rate:.0f}/s"
    )


if __name__ == "__main__":
    main()
