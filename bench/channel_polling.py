"""Channel polling, in process: an Amazon connector polls `--orders` orders (getOrders pages of 100 with NextToken,
getOrderItems per order, an LWA token and a Restricted Data Token) from an in-process transport that answers as the
SP-API does; the orders are recorded in the inbox page by page with the cursor, then imported through checkout.
Then the same window is polled again (a rewound cursor: every order a duplicate).

    python -m bench.channel_polling --db sqlite|postgres [--orders 500]

Prints one figure per line (`name: value unit`) and a summary line. Goals: one order per Amazon order, every
re-polled order dropped as a duplicate, calls per order near one (the items call) plus one per page.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import sqlalchemy as sa
from tests.builders import make_order_shop, stock

from bench.common import pg_database
from ordersmith.channels import service as channels
from ordersmith.channels.tables import PollStateRow
from ordersmith.platform import jobs, migrate
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings

PAGE = 100


def _amazon(count: int, calls: list[str]) -> httpx.MockTransport:
    updated = datetime.now(UTC) - timedelta(hours=1)
    ids = [f"900-{n:07d}-{n:07d}" for n in range(count)]

    def money(amount: str) -> dict[str, str]:
        return {"CurrencyCode": "USD", "Amount": amount}

    def order(order_id: str) -> dict[str, Any]:
        return {
            "AmazonOrderId": order_id,
            "PurchaseDate": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "LastUpdateDate": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "OrderStatus": "Unshipped",
            "FulfillmentChannel": "MFN",
            "ShipmentServiceLevelCategory": "Standard",
            "OrderTotal": money("24.00"),
            "LatestShipDate": (updated + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "BuyerInfo": {"BuyerEmail": "b@marketplace.amazon.com"},
            "ShippingAddress": {
                "Name": "Ann Buyer",
                "AddressLine1": "1 Market St",
                "City": "San Francisco",
                "StateOrRegion": "CA",
                "PostalCode": "94105",
                "CountryCode": "US",
            },
        }

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        calls.append(path)
        headers = {"x-amzn-RateLimit-Limit": "20.0"}
        if path == "/auth/o2/token":
            assert dict(parse_qsl(request.content.decode()))["grant_type"] == "refresh_token"
            return httpx.Response(
                200, json={"access_token": "Atza|t", "token_type": "bearer", "expires_in": 3600}
            )
        if path.endswith("/restrictedDataToken"):
            return httpx.Response(200, json={"restrictedDataToken": "Atz.sprdt|t", "expiresIn": 3600})
        if path == "/orders/v0/orders":
            params = request.url.params
            if (
                "NextToken" not in params
            ):  # a new window: the orders in it, by their last update (both ends included)
                after = datetime.fromisoformat(params["LastUpdatedAfter"])
                before = datetime.fromisoformat(params["LastUpdatedBefore"])
                if not after <= updated.replace(microsecond=0) <= before:
                    return httpx.Response(200, json={"payload": {"Orders": []}}, headers=headers)
            start = int(params.get("NextToken") or 0)
            body: dict[str, Any] = {"Orders": [order(i) for i in ids[start : start + PAGE]]}
            if start + PAGE < len(ids):
                body["NextToken"] = str(start + PAGE)
            return httpx.Response(200, json={"payload": body}, headers=headers)
        order_id = path.split("/")[-2]
        item = {
            "SellerSKU": "AZ-TEE",
            "OrderItemId": order_id[-7:],
            "QuantityOrdered": 1,
            "ItemPrice": money("20.00"),
            "ItemTax": money("0.00"),
            "ShippingPrice": money("4.00"),
            "TaxCollection": {"Model": "MarketplaceFacilitator"},
        }
        return httpx.Response(200, json={"payload": {"OrderItems": [item]}}, headers=headers)

    return httpx.MockTransport(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--orders", type=int, default=500)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-polling-"))
    url = f"sqlite:///{folder}/bench.db" if args.db == "sqlite" else pg_database("bench_polling")
    migrate.upgrade(url)
    settings = Settings(
        database_url=url,
        env="test",
        vault_database_url=f"sqlite:///{folder}/vault.db",
        sandbox_gateway_path=str(folder / "gw.db"),
        _env_file=None,
    )  # type: ignore[call-arg]
    db = Database(url, pool_size=5)
    calls: list[str] = []
    channels.register()
    channels.setup_channels(db, settings, transport=_amazon(args.orders, calls))
    from ordersmith.payments import service as payments

    wired = payments.setup_payments(db, settings)
    uow = db.unit_of_work(Actor.system("bench"))
    make_order_shop(uow)
    stock(uow, sku="TEE", location="EAST", quantity=args.orders * 2)
    channels.create_connector(
        uow,
        code="amz",
        kind="amazon",
        sales_channel="amazon",
        name="Amazon",
        config={
            "shipping_method": "ground",
            "endpoint": "https://sp.example",
            "marketplace_id": "ATVPDKIKX0DER",
            "seller_id": "A2BENCH",
            "token_url": "https://sp.example/auth/o2/token",
        },
        credentials={"client_id": "c", "client_secret": "s", "refresh_token": "r"},
    )
    channels.map_sku(uow, connector="amz", channel_sku="AZ-TEE", sku="TEE")
    connector_id = channels.get_connector(uow, code="amz").id

    started = time.perf_counter()
    recorded = 0
    while True:
        result = channels.poll_orders(uow, connector_id=connector_id, worker="bench")
        recorded += result.recorded
        if result.outcome != "more":
            break
    poll_s = time.perf_counter() - started
    poll_calls = len(calls)
    started = time.perf_counter()
    while jobs.run_due_jobs(db, worker="bench", limit=50):
        pass
    import_s = time.perf_counter() - started

    # the same window again: the cursor rewound, as after a crash between reading and recording
    with uow:
        state = uow.session.get(PollStateRow, connector_id)
        assert state is not None
        state.cursor = {}
    duplicates = 0
    while True:
        result = channels.poll_orders(uow, connector_id=connector_id, worker="bench")
        duplicates += result.orders - result.recorded
        if result.outcome != "more":
            break
    with db.session() as session:
        placed = session.scalar(sa.text("SELECT count(*) FROM orders WHERE external_id LIKE '900-%'"))
        deliveries = session.scalar(sa.text("SELECT sum(deliveries) FROM channel_orders"))
    wired.vault.dispose()
    db.dispose()

    print(f"database: {args.db}")
    print(f"orders_polled: {recorded} orders")
    print(f"poll_orders_per_s: {args.orders / poll_s:.0f} orders/s")
    print(f"poll_calls: {poll_calls} calls")
    print(f"calls_per_order: {poll_calls / args.orders:.2f} calls/order")
    print(f"import_orders_per_s: {args.orders / import_s:.0f} orders/s")
    print(f"orders_placed: {placed} orders")
    print(f"repoll_duplicates_dropped: {duplicates} orders")
    print(f"deliveries_counted: {deliveries} deliveries")
    ok = recorded == placed == duplicates == args.orders and deliveries == 2 * args.orders
    print(
        f"summary: {'ok' if ok else 'FAILED'} — {recorded} orders polled at {args.orders / poll_s:.0f}/s in "
        f"{poll_calls} calls, {placed} placed, {duplicates} re-polled dropped"
    )


if __name__ == "__main__":
    main()
