"""A channel's refunds and cancellation of one order under concurrency, through a real server on SQLite and
PostgreSQL: twenty `refunds/create` deliveries of two refunds at once give back exactly the two amounts (one
payment refund each), then ten `orders/cancelled` deliveries at once cancel the order once and payments gives back
the rest — never more than was taken."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ordersmith.channels import service as channels
from ordersmith.channels.connectors.shopify import webhook_signature
from ordersmith.platform import sales_channels
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import make_order_shop
from tests.races.test_fulfillment_race import rows, wait_until
from tests.races.test_payment_race import race
from tests.support.server import running_server

pytestmark = pytest.mark.slow
SECRET = "race-client-secret"
ORDER = {
    "id": 7101,
    "name": "#7101",
    "currency": "USD",
    "email": "ann@example.com",
    "updated_at": "2026-12-01T10:00:00Z",
    "line_items": [{"sku": "SH-TEE", "quantity": 2, "price": "20.00"}],
    "shipping_address": {
        "name": "Ann Buyer",
        "address1": "1 Market St",
        "city": "San Francisco",
        "province_code": "CA",
        "zip": "94105",
        "country_code": "US",
    },
}


def _refund(refund_id: int, amount: str) -> bytes:
    return json.dumps(
        {
            "id": refund_id,
            "order_id": ORDER["id"],
            "created_at": "2026-12-01T11:00:00Z",
            "transactions": [{"kind": "refund", "status": "success", "amount": amount, "currency": "USD"}],
        }
    ).encode()


def _cancelled() -> bytes:
    return json.dumps(dict(ORDER, cancelled_at="2026-12-01T12:00:00Z", cancel_reason="customer")).encode()


def _headers(body: bytes, topic: str) -> dict[str, str]:
    return {
        "X-Shopify-Hmac-Sha256": webhook_signature(SECRET, body),
        "X-Shopify-Topic": topic,
        "Content-Type": "application/json",
    }


def test_refunds_and_a_cancellation_delivered_many_times_at_once_move_the_money_once(
    db_url: str, uow: UnitOfWork, settings: Settings, tmp_path: Path
) -> None:
    # given a Shopify connector on a marketplace channel (its payment recorded as collected), its SKU mapped
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
        config={"shipping_method": "ground", "shop_url": "https://unused.example"},
        credentials={"access_token": "t", "webhook_secret": SECRET},
    )
    channels.map_sku(uow, connector="shop", channel_sku="SH-TEE", sku="TEE")
    with running_server(db_url, tmp_path / "server.log") as server:
        hook = f"{server.url}/api/v1/channels/webhooks/shop"
        created = json.dumps(ORDER).encode()
        assert (
            httpx.post(hook, content=created, headers=_headers(created, "orders/create")).status_code == 200
        )
        wait_until("the import", lambda: rows(uow, "SELECT status FROM channel_orders") == [("imported",)])
        ((captured,),) = rows(uow, "SELECT captured_minor FROM payments")
        assert captured > 800
        # when twenty deliveries of two refunds arrive at once
        bodies = [_refund(1 + n % 2, ("5.00", "3.00")[n % 2]) for n in range(20)]
        answers = race(
            20,
            lambda client, i: client.post(
                hook, content=bodies[i], headers=_headers(bodies[i], "refunds/create")
            ),
        )
        wait_until(
            "the refunds",
            lambda: (
                rows(uow, "SELECT status FROM channel_order_changes ORDER BY change_key")
                == [("applied",), ("applied",)]
            ),
        )
        # then: 8.00 given back, one payment refund per channel refund
        assert [a.status_code for a in answers] == [200] * 20
        assert sum(a.json().get("changes", 0) for a in answers) == 2
        assert rows(uow, "SELECT refunded_minor FROM payments") == [(800,)]
        assert rows(
            uow, "SELECT amount_minor FROM payment_transactions WHERE kind = 'refund' ORDER BY amount_minor"
        ) == [(300,), (500,)]
        assert rows(uow, "SELECT change_key, deliveries FROM channel_order_changes ORDER BY change_key") == [
            ("1", 10),
            ("2", 10),
        ]
        # when ten deliveries of the cancellation arrive at once
        cancel = _cancelled()
        answers = race(
            10,
            lambda client, i: client.post(hook, content=cancel, headers=_headers(cancel, "orders/cancelled")),
        )
        wait_until("the cancellation", lambda: rows(uow, "SELECT status FROM orders") == [("cancelled",)])
        wait_until(
            "the money back", lambda: rows(uow, "SELECT refunded_minor FROM payments") == [(captured,)]
        )
        # then: cancelled once, the rest given back once
        assert [a.status_code for a in answers] == [200] * 10
        assert rows(uow, "SELECT status, deliveries FROM channel_order_changes WHERE kind = 'cancel'") == [
            ("applied", 10)
        ]
        assert rows(uow, "SELECT count(*) FROM payment_transactions WHERE kind = 'refund'") == [(3,)]
