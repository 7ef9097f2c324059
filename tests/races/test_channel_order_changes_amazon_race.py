"""What we refund and cancel of an Amazon order, asked many times at once through a real server on SQLite and
PostgreSQL, reaches Amazon (a loopback stub of the SP-API with its Feeds API) exactly as it happened here: ten
refunds of 4.00 at once on a polled order — ten adjustment feeds, each taking its own stretch of the order's items,
so Amazon takes every one and no more than we gave back — then ten cancellations at once: one acknowledgement feed,
and no adjustment for the cancellation's money (Amazon charges at shipment)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from ordersmith.channels import service as channels
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import make_api_key, make_order_shop
from tests.integration.test_channel_order_changes_amazon import FEEDS, AmazonFeedsStub
from tests.integration.test_channels_amazon import (
    CLIENT_ID,
    CLIENT_SECRET,
    MARKETPLACE,
    REFRESH,
    SELLER,
    SKUS,
)
from tests.races.test_fulfillment_race import rows, wait_until
from tests.races.test_payment_race import race
from tests.support.http_stub import serving
from tests.support.server import running_server

pytestmark = pytest.mark.slow
ORDER_ID = "444-0000000-0000001"


def test_refunds_and_cancellations_asked_at_once_reach_amazon_as_feeds_exactly_as_made_here(
    db_url: str, uow: UnitOfWork, settings: Settings, tmp_path: Path
) -> None:
    stub = AmazonFeedsStub()
    with serving(stub.api):
        # given an Amazon connector (feeds looked at every second) and an order Amazon holds for it
        make_order_shop(uow)
        channels.register()
        channels.setup_channels(uow.db, settings)
        channels.create_connector(
            uow,
            code="amz",
            kind="amazon",
            sales_channel="amazon",
            name="Amazon US",
            config={"shipping_method": "ground", "endpoint": stub.api.url(),
                    "token_url": f"{stub.api.url()}/auth/o2/token", "marketplace_id": MARKETPLACE,
                    "seller_id": SELLER, "feed_check_s": 1},
            credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH},
        )  # fmt: skip
        for sku, channel_sku in SKUS.items():
            channels.map_sku(uow, connector="amz", channel_sku=channel_sku, sku=sku, listing_id=channel_sku)
        stub.add(ORDER_ID, updated=datetime.now(UTC) - timedelta(minutes=10))
        staff = {"Authorization": f"Bearer {make_api_key(uow).secret}"}
        with running_server(db_url, tmp_path / "server.log") as server:
            # when the server's poll imports it
            wait_until(
                "the import", lambda: rows(uow, "SELECT status FROM channel_orders") == [("imported",)]
            )
            ((number, captured),) = rows(uow, "SELECT o.number, p.captured_minor FROM orders o JOIN payments p "
                                              "ON p.order_id = o.id")  # fmt: skip
            # and ten refunds of 4.00 are asked at once (each its own request)
            answers = race(
                10,
                lambda client, i: client.post(
                    f"{server.url}/api/v1/orders/{number}/refunds",
                    json={"amount": "4.00", "reason": f"goodwill {i}"},
                    headers=staff,
                ),
            )
            assert [a.status_code for a in answers] == [200] * 10
            wait_until("the adjustments on Amazon", lambda: len(stub.adjustments) == 10)
            # then Amazon took ten adjustments whose stretches join up: 40.00 given back, net of the tax Amazon
            # collects (40.00 x 44.00/47.30), none refused for asking an item more than it had left
            sent = sum(
                (c[0] for a in stub.adjustments for i in a["items"] for c in i["components"].values()),
                Decimal(0),
            )
            assert sent == (Decimal(40) * 44 / Decimal("47.30")).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            )
            assert len(stub.calls(f"{FEEDS}/feeds")) == 10
            # when ten cancellations are asked at once
            answers = race(
                10,
                lambda client, i: client.post(
                    f"{server.url}/api/v1/orders/{number}/cancel",
                    json={"reason": "out of stock"},
                    headers=staff,
                ),
            )
            assert sorted(a.status_code for a in answers) == [200] + [409] * 9
            wait_until("the cancellation on Amazon", lambda: ORDER_ID in stub.cancelled)
            wait_until(
                "the rest refunded here",
                lambda: rows(uow, "SELECT refunded_minor FROM payments") == [(captured,)],
            )
            wait_until(
                "every push settled",
                lambda: (
                    rows(uow, "SELECT count(*) FROM channel_order_pushes WHERE status <> 'sent'") == [(0,)]
                ),
            )
            # then one acknowledgement, no adjustment for the cancellation's money, nothing dead-lettered
            assert stub.cancelled == {ORDER_ID: [(f"{ORDER_ID[-5:]}01", "NoInventory")]}
            assert len(stub.calls(f"{FEEDS}/feeds")) == 11 and len(stub.adjustments) == 10
            assert rows(uow, "SELECT count(*) FROM channel_dead_letters") == [(0,)]
