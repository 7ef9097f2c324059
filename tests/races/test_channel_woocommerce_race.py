"""WooCommerce order webhooks under concurrency, through a real server on SQLite and PostgreSQL: twenty deliveries of
one paid order at once — `order.created` and newer `order.updated` versions, each several times, with unpaid
versions among them — make exactly one order, and every delivery is answered 200."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ordersmith.channels import service as channels
from ordersmith.channels.connectors.woocommerce import webhook_signature
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import make_order_shop
from tests.races.test_fulfillment_race import rows, wait_until
from tests.races.test_payment_race import race
from tests.support.server import running_server

pytestmark = pytest.mark.slow
SECRET = "race-woo-secret"


def _order(version: int) -> bytes:
    return json.dumps(
        {
            "id": 7101,
            "status": "pending" if version == 0 else "processing",
            "currency": "USD",
            "date_modified_gmt": f"2026-12-01T10:00:{version:02d}",
            "billing": {"first_name": "Ann", "last_name": "Buyer", "email": "ann@example.com"},
            "shipping": {
                "first_name": "Ann",
                "last_name": "Buyer",
                "address_1": "1 Market St",
                "city": "San Francisco",
                "state": "CA",
                "postcode": "94105",
                "country": "US",
            },
            "line_items": [{"sku": "WC-TEE", "quantity": version, "product_id": 701}],
        }
    ).encode()


def test_twenty_deliveries_of_one_woocommerce_order_at_once_make_one_order(
    db_url: str, uow: UnitOfWork, settings: Settings, tmp_path: Path
) -> None:
    # given a WooCommerce connector on the web channel, its SKU mapped
    make_order_shop(uow)
    channels.register()
    channels.setup_channels(uow.db, settings)
    channels.create_connector(
        uow,
        code="woo",
        kind="woocommerce",
        sales_channel="web",
        name="Woo",
        config={"shipping_method": "ground", "store_url": "https://unused.example"},
        credentials={"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": SECRET},
    )
    channels.map_sku(uow, connector="woo", channel_sku="WC-TEE", sku="TEE")
    bodies = [_order(n % 4) for n in range(20)]  # version 0 unpaid, 1-3 paid, each several times
    with running_server(db_url, tmp_path / "server.log") as server:
        # when
        answers = race(
            20,
            lambda client, i: client.post(
                f"{server.url}/api/v1/channels/webhooks/woo",
                content=bodies[i],
                headers={
                    "X-WC-Webhook-Signature": webhook_signature(SECRET, bodies[i]),
                    "X-WC-Webhook-Topic": "order.updated" if i % 4 else "order.created",
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
        assert sum(1 for a in answers if a.json() == {"accepted": False}) == 5  # the unpaid version
        assert len(rows(uow, "SELECT id FROM orders WHERE external_id = '7101'")) == 1
        (quantity,) = rows(uow, "SELECT quantity FROM order_lines")
        assert quantity[0] in (1, 2, 3)
        assert rows(uow, "SELECT deliveries FROM channel_orders") == [(15,)]
        assert httpx.get(f"{server.url}/api/v1/health").status_code == 200
