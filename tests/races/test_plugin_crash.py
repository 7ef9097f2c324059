"""Crashing plugins through a real server process: a plugin whose hold rules raise, run late or answer nonsense,
whose tax provider raises and whose subscriber raises, next to plugins that fail to import or to register. The
server starts, lists each failure, and intake goes on as without them: orders placed and released, taxed by the
built-in table, their events delivered to webhooks while the plugin's subscriber waits for its retry alone."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from ordersmith.platform import webhooks
from ordersmith.platform.access import SCOPES
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow, PluginDeliveryRow
from tests.builders import make_api_key, make_order_shop
from tests.support.receiver import webhook_receiver
from tests.support.server import running_server

ADDRESS = {"ref": "main", "name": "Ann Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
           "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip
ORDER = {"lines": [{"sku": "TEE", "quantity": 2}, {"sku": "MUG", "quantity": 1}], "ship_tos": [ADDRESS]}
PLUGINS = ",".join([
    "tests.support.crashing_plugins",  # loads; every contribution misbehaves at run time
    "tests.support.crashing_plugins:broken_register",  # register() raises half-way
    "tests.support.plugin_failing_import",  # the module raises on import
    "ordersmith_no_such_plugin:plugin",  # not installed
])  # fmt: skip


def test_crashing_plugins_leave_intake_working(
    db_url: str, db: Database, uow: UnitOfWork, settings: Settings, tmp_path: Path
) -> None:
    # given the order shop, a web channel's key, an admin's key, and a webhook on placed orders
    make_order_shop(uow)
    web = make_api_key(uow, scopes=["orders:write", "orders:read"], channel="web", name="web").secret
    admin = make_api_key(uow, scopes=sorted(SCOPES), name="admin").secret
    with webhook_receiver() as receiver:
        webhooks.create_subscription(
            uow, url=receiver.url, event_types=["order.placed"], description="", settings=settings
        )
        # when a server starts with the crashing plugins and three orders are placed
        server_env = {"plugins": PLUGINS, "plugins_entry_points": "false", "plugin_hold_budget_ms": "500"}
        with (
            running_server(db_url, tmp_path / "server.log", **server_env) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            started = time.monotonic()
            placed = [
                client.post("/api/v1/orders", json=ORDER | {"external_id": f"crash-{n}"},
                            headers={"Authorization": f"Bearer {web}"})
                for n in range(3)
            ]  # fmt: skip
            elapsed = time.monotonic() - started
            # then each is placed, released (no plugin hold applied) and taxed by the built-in table
            assert [r.status_code for r in placed] == [201, 201, 201], placed[-1].text
            assert [r.json()["status"] for r in placed] == ["released"] * 3
            assert [r.json()["holds"] for r in placed] == [[], [], []]
            # 50 + 5 + 10 % CA tax on goods: the raising tax provider was passed over for the built-in table
            assert {r.json()["total"]["amount"] for r in placed} == {"60.00"}
            assert elapsed < 3 * 2  # the slow rule's 3 s was never waited out (3 orders: 9 s)
            # and the webhook receives every placed order although the plugin's subscriber raised on each
            received = receiver.wait_for(3, timeout_s=20)
            listed = client.get("/api/v1/plugins", headers={"Authorization": f"Bearer {admin}"})
    assert len(received) == 3
    # and the admin's listing says which plugins failed and why, and what the loaded one's contributions did
    assert listed.status_code == 200, listed.text
    by_name = {p["name"]: p for p in listed.json()["items"]}
    assert {name: (p["status"], (p["error"] or "").split(":")[0]) for name, p in by_name.items()} == {
        "tests.support.crashing_plugins": ("loaded", ""),
        "broken_register": ("failed", "ValueError"),
        "tests.support.plugin_failing_import": ("failed", "ImportError"),
        "plugin": ("failed", "ModuleNotFoundError"),
    }
    assert by_name["broken_register"]["contributions"] == []  # its half-registered rule was not kept
    counts = {(c["kind"], c["name"]): (c["calls"], c["failures"], c["timeouts"])
              for c in by_name["tests.support.crashing_plugins"]["contributions"]}  # fmt: skip
    assert counts[("hold_rule", "raises")] == (3, 3, 0)
    assert counts[("hold_rule", "slow")] == (3, 3, 3)
    assert counts[("hold_rule", "nonsense")] == (3, 3, 0)
    assert counts[("tax_provider", "raises")][1] == counts[("tax_provider", "raises")][0] > 0
    # and every placed order's event was dispatched; the plugin's subscriber has one retry of its own per event
    with db.session(readonly=True) as session:  # a read: never the writer lock
        events = session.scalars(sa.select(OutboxRow).where(OutboxRow.type == "order.placed")).all()
        retries = session.scalars(sa.select(PluginDeliveryRow)).all()
    assert len(events) == 3 and all(e.dispatched_at is not None and e.attempts == 0 for e in events)
    assert sorted((r.event_id, r.plugin, r.subscriber, r.status, r.attempts) for r in retries) == sorted(
        (e.id, "tests.support.crashing_plugins", "order.placed", "pending", 1) for e in events
    )
    assert {r.last_error for r in retries} == {"RuntimeError: subscriber broke on order.placed"}
