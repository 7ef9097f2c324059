"""eBay polling under concurrency, through two real `ordersmith worker` processes on SQLite and PostgreSQL: a dozen
poll jobs for one eBay connector queued at once, run by both workers side by side, make one poll at a time (the
stub never sees two `getOrders` in flight), each paid order exactly once — though an order ships on eBay while its
window is read, shifting the offsets under the pages — and leave the cursor at the end of the window."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ordersmith.channels import service as channels
from ordersmith.channels.service import polling
from ordersmith.platform import jobs
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import make_order_shop
from tests.integration.test_channels_ebay import EbayStub, connect
from tests.races.test_fulfillment_race import rows, wait_until
from tests.support.http_stub import serving
from tests.support.server import ordersmith_process

pytestmark = pytest.mark.slow


def test_ebay_poll_jobs_run_by_two_worker_processes_poll_one_at_a_time_and_make_each_order_once(
    db_url: str, uow: UnitOfWork, settings: Settings, tmp_path: Path
) -> None:
    # given: an eBay connector, six paid orders over six pages, each page slow to come; after the second page the
    # newest order ships on eBay (it leaves the open orders, every later order moves one offset down)
    make_order_shop(uow)
    channels.register()
    channels.setup_channels(uow.db, settings)
    stub = EbayStub()
    stub.delay_s = 0.2
    now = datetime.now(UTC)
    ids = [f"27-00000-0000{n}" for n in range(6)]
    for n, order_id in enumerate(ids):
        stub.add(
            order_id,
            updated=now - timedelta(hours=1),
            created=now - timedelta(hours=2, minutes=n),
            quantity=1,
        )
    served = 0

    def ship_the_newest() -> None:
        nonlocal served
        served += 1
        if served == 2:
            stub.orders[ids[0]]["orderFulfillmentStatus"] = "FULFILLED"
            stub.orders[ids[0]]["lastModifiedDate"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()

    stub.after_page = ship_the_newest
    with serving(stub.api):
        connect(uow, stub, page_size=1)
        connector_id = channels.get_connector(uow, code="ebay-us").id
        with uow:
            for _ in range(12):
                jobs.enqueue(uow, polling.POLL_JOB, {"connector_id": str(connector_id)})
        environment = {
            **os.environ,
            "ORDERSMITH_DATABASE_URL": db_url,
            "ORDERSMITH_ENV": "test",
            "ORDERSMITH_VAULT_DATABASE_URL": f"sqlite:///{tmp_path}/vault.db",
        }
        workers = [ordersmith_process(["worker"], environment, tmp_path / f"worker{n}.log") for n in range(2)]
        try:
            # when
            wait_until(
                "every poll and import",
                lambda: (
                    rows(
                        uow,
                        "SELECT count(*) FROM jobs WHERE kind = :k AND status <> 'done'",
                        k=polling.POLL_JOB,
                    )
                    == [(0,)]
                    and rows(uow, "SELECT count(*) FROM channel_orders WHERE status = 'imported'") == [(6,)]
                ),
            )
        finally:
            for process in workers:
                process.terminate()
            for process in workers:
                process.wait(timeout=20)
    # then
    assert stub.most_in_flight == 1
    placed = rows(uow, "SELECT external_id FROM orders ORDER BY external_id")
    assert placed == [(order_id,) for order_id in sorted(ids)]
    assert rows(uow, "SELECT count(*) FROM channel_orders") == [(6,)]
    (cursor,) = rows(uow, "SELECT cursor FROM channel_poll_state")[0]
    assert set(json.loads(cursor) if isinstance(cursor, str) else cursor) == {"after"}
