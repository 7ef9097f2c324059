"""Kill the server (SIGKILL) after a commit and before delivery: after a restart the event is delivered."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from ordersmith.platform import webhooks
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow
from tests.builders import make_api_key
from tests.support.receiver import webhook_receiver
from tests.support.server import running_server, start_server

BODY = {"code": "store-12", "name": "Store 12", "kind": "pos", "division": "store"}


def test_an_event_committed_before_a_crash_is_delivered_after_restart(
    db_url: str, db: Database, uow: UnitOfWork, settings: Settings, tmp_path: Path
):
    key = make_api_key(uow, scopes=["sales_channels:write"]).secret
    with webhook_receiver() as receiver:
        sub = webhooks.create_subscription(
            uow, url=receiver.url, event_types=["sales_channel.created"], description="", settings=settings
        )
        # given a server whose relay has not delivered yet (it is switched off, so the gap is certain)
        server = start_server(db_url, tmp_path / "first.log", relay_enabled="false")
        created = httpx.post(
            f"{server.url}/api/v1/sales-channels", json=BODY, headers={"Authorization": f"Bearer {key}"}
        )
        assert created.status_code == 201
        # when the process dies without any chance to clean up
        server.kill()
        with db.session(readonly=True) as session:  # a read: never the writer lock
            pending = session.scalars(
                sa.select(OutboxRow).where(OutboxRow.type == "sales_channel.created")
            ).one()
        assert pending.dispatched_at is None
        assert receiver.requests == []
        # then a restarted server delivers it, signed
        with running_server(db_url, tmp_path / "second.log"):
            received = receiver.wait_for(1, timeout_s=20)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                deliveries = webhooks.list_deliveries(uow, subscription_id=sub.subscription.id).items
                if deliveries and deliveries[0].status == "delivered":
                    break
                time.sleep(0.05)
    assert len(received) == 1
    request = received[0]
    body = json.loads(request.body)
    assert body["id"] == str(pending.id) and body["data"]["id"] == created.json()["id"]
    timestamp = int(request.headers[webhooks.TIMESTAMP_HEADER])
    assert webhooks.verify_signature(
        sub.secret, timestamp, request.body, request.headers[webhooks.SIGNATURE_HEADER]
    )
    assert [d.status for d in webhooks.list_deliveries(uow, subscription_id=sub.subscription.id).items] == [
        "delivered"
    ]
    with db.session(readonly=True) as session:  # a read: never the writer lock
        assert session.get(OutboxRow, pending.id).dispatched_at is not None  # type: ignore[union-attr]
