"""Shopify order webhooks under concurrency, through a real server on SQLite and PostgreSQL: twenty deliveries of one
order at once — the same `orders/create` again and again, with newer `orders/updated` versions among them — make
exactly one order (of one of the versions sent: an order imported is not changed by a later version), and every
delivery is answered 200."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ordersmith.channels import service as channels
from ordersmith.channels.connectors.shopify import webhook_signature
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import make_order_shop
from tests.races.test_fulfillment_race import rows, wait_until
from tests.races.test_payment_race import race
from tests.support.server import running_server

pytestmark = pytest.mark.slow
SECRET = "race-client-secret"


def _order(version: int) -> bytes:
    return json.dumps(
        {
            "id": 7001,
            "name": "#7001",
            "currency": "USD",
            "email": "ann@example.com",
            "updated_at": f"2026-12-01T10:00:{version:02d}Z",
            "line_items": [{"sku": "SH-TEE", "quantity": 1 + version, "price": "20.00"}],
            "shipping_address": {
                "name": "Ann Buyer",
                "address1": "1 Market St",
                "city": "San Francisco",
                "province_code": "CA",
                "zip": "94105",
                "country_code": "US",
            },
        }
    ).encode()


def test_twenty_deliveries_of_one_shopify_order_at_once_make_one_order(
    db_url: str, uow: UnitOfWork, settings: Settings, tmp_path: Path
) -> None:
    # given a Shopify connector on the web channel, its SKU mapped
    make_order_shop(uow)
    channels.register()
    channels.setup_channels(uow.db, settings)
    channels.create_connector(
        uow,
        code="shop",
        kind="shopify",
        sales_channel="web",
        name="Shop",
        config={"shipping_method": "ground", "shop_url": "https://unused.example"},
        credentials={"access_token": "t", "webhook_secret": SECRET},
    )
    channels.map_sku(uow, connector="shop", channel_sku="SH-TEE", sku="TEE")
    bodies = [_order(n % 4) for n in range(20)]  # versions 0-3, each several times, in no particular order
    with running_server(db_url, tmp_path / "server.log") as server:
        # when
        answers = race(
            20,
            lambda client, i: client.post(
                f"{server.url}/api/v1/channels/webhooks/shop",
                content=bodies[i],
                headers={
                    "X-Shopify-Hmac-Sha256": webhook_signature(SECRET, bodies[i]),
                    "X-Shopify-Topic": "orders/create",
                    "Content-Type": "application/json",
                },
            ),
        )
        wait_until("the import", lambda: rows(uow, "SELECT status FROM channel_orders") == [("imported",)])
        # then
        assert [a.status_code for a in answers] == [200] * 20, [
            a.text for a in answers if a.status_code != 200
        ]
        assert sum(1 for a in answers if a.json() == {"accepted": True, "duplicate": False}) == 1
        placed = rows(uow, "SELECT id FROM orders WHERE external_id = '7001'")
        assert len(placed) == 1
        (quantity,) = rows(uow, "SELECT quantity FROM order_lines")
        assert quantity[0] in (1, 2, 3, 4)
        assert rows(uow, "SELECT deliveries FROM channel_orders") == [(20,)]
        assert httpx.get(f"{server.url}/api/v1/health").status_code == 200
