"""What we refund and cancel of a Shopify order, asked many times at once through a real server on SQLite and
PostgreSQL, reaches Shopify (a loopback stub of its Admin GraphQL API) exactly as it happened here: ten refunds of
6.00 at once on a 49.00 order — each one we made refunded there once, never more than we gave back — then ten
cancellations at once: one `orderCancel`, and the rest of the money refunded there once."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from ordersmith.channels import service as channels
from ordersmith.channels.connectors.shopify import webhook_signature
from ordersmith.platform import sales_channels
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import make_api_key, make_order_shop
from tests.integration.test_channels_shopify import ORDER, SECRET, TOKEN, VERSION, ShopifyStub
from tests.races.test_fulfillment_race import rows, wait_until
from tests.races.test_payment_race import race
from tests.support.http_stub import serving
from tests.support.server import running_server

pytestmark = pytest.mark.slow
ORDER_GID = f"gid://shopify/Order/{ORDER['id']}"


def _shopify_refunded(stub: ShopifyStub) -> Decimal:
    return sum((Decimal(t["amount"]) for r in stub.refunds for t in r["transactions"]), Decimal(0))


def test_refunds_and_cancellations_asked_at_once_reach_shopify_exactly_as_made_here(
    db_url: str, uow: UnitOfWork, settings: Settings, tmp_path: Path
) -> None:
    stub = ShopifyStub()
    with serving(stub.api):
        # given a Shopify connector on a marketplace channel (its payment recorded as collected), an imported order
        make_order_shop(uow)
        sales_channels.create_sales_channel(
            uow, code="sh-market", name="Shop", kind="marketplace", division="web", currency="USD"
        )
        channels.register()
        channels.setup_channels(uow.db, settings)
        channels.create_connector(
            uow,
            code="shop",
            kind="shopify",
            sales_channel="sh-market",
            name="Shop",
            config={"shipping_method": "ground", "shop_url": stub.api.url(), "api_version": VERSION},
            credentials={"access_token": TOKEN, "webhook_secret": SECRET},
        )
        channels.map_sku(uow, connector="shop", channel_sku="SH-TEE", sku="TEE")
        staff = {"Authorization": f"Bearer {make_api_key(uow).secret}"}
        with running_server(db_url, tmp_path / "server.log") as server:
            hook = f"{server.url}/api/v1/channels/webhooks/shop"
            created = json.dumps(ORDER).encode()
            headers = {"X-Shopify-Hmac-Sha256": webhook_signature(SECRET, created), "X-Shopify-Topic": "orders/create",
                       "Content-Type": "application/json"}  # fmt: skip
            assert httpx.post(hook, content=created, headers=headers).status_code == 200
            wait_until(
                "the import", lambda: rows(uow, "SELECT status FROM channel_orders") == [("imported",)]
            )
            ((number, captured),) = rows(uow, "SELECT o.number, p.captured_minor FROM orders o JOIN payments p "
                                              "ON p.order_id = o.id")  # fmt: skip
            stub.captured = str(Decimal(captured) / 100)
            # when ten refunds of 6.00 are asked at once (each its own request)
            answers = race(
                10,
                lambda client, i: client.post(
                    f"{server.url}/api/v1/orders/{number}/refunds",
                    json={"amount": "6.00", "reason": f"goodwill {i}"},
                    headers=staff,
                ),
            )
            made = sum(1 for a in answers if a.status_code == 200)
            assert made == min(10, captured // 600) and all(a.status_code in (200, 409) for a in answers)
            wait_until("the refunds on Shopify", lambda: len(stub.refunds) == made)
            # then Shopify refunded each once: what we gave back, no more
            ((refunded,),) = rows(uow, "SELECT refunded_minor FROM payments")
            assert _shopify_refunded(stub) * 100 == refunded == made * 600
            # when ten cancellations are asked at once
            answers = race(
                10,
                lambda client, i: client.post(
                    f"{server.url}/api/v1/orders/{number}/cancel",
                    json={"reason": "customer called"},
                    headers=staff,
                ),
            )
            assert sorted(a.status_code for a in answers) == [200] + [409] * 9
            wait_until("the rest refunded on Shopify", lambda: _shopify_refunded(stub) * 100 == captured)
            wait_until("the cancellation on Shopify", lambda: ORDER_GID in stub.cancelled)
            # then one cancellation and the rest of the money went to Shopify once, and nothing is dead-lettered
            assert len(stub.calls("orderCancel(")) == 1
            assert len(stub.refunds) == made + 1
            assert rows(uow, "SELECT refunded_minor FROM payments") == [(captured,)]
            assert rows(uow, "SELECT count(*) FROM channel_dead_letters") == [(0,)]
