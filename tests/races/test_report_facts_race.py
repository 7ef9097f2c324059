"""The sales reports' daily facts under concurrency (ADR 0055), through real processes: an API server and two
`ordersmith worker` relays, on SQLite and PostgreSQL. Orders of a stored day are cancelled at once, so both relays
recompute that day from batches handed over at the same moment; afterwards the stored rows are exactly what a fresh
recompute from the orders gives (on PostgreSQL the per-day advisory lock makes the later recomputation read the
earlier's commit; on SQLite the single writer does), and the report reads the same from them as from the orders."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ordersmith.platform.access import SCOPES
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.reporting import facts
from ordersmith.reporting import service as reporting
from ordersmith.reporting.catalogue._daily import GRAINS
from tests.api.conftest import bearer
from tests.builders import make_api_key, make_order_shop
from tests.races.test_marketing_facts_race import _drained
from tests.races.test_order_race import ADDRESS
from tests.races.test_payment_race import race
from tests.support.server import running_cluster

pytestmark = pytest.mark.slow

ORDERS, CANCELLED = 12, 6


def _stored(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.session(readonly=True) as session:  # a read: never the writer lock
        return {g.name: sorted(tuple(r) for r in session.execute(sa.select(g.table))) for g in GRAINS}


def test_two_relays_recomputing_one_stored_day_at_once_leave_what_a_fresh_recompute_gives(
    db_url: str, db: Database, uow: UnitOfWork, tmp_path: Path
) -> None:
    # given the shop and a staff key; an API server and two worker relays
    make_order_shop(uow)
    key = bearer(make_api_key(uow, scopes=sorted(SCOPES), name="staff").secret)
    yesterday = uow.now().date() - timedelta(days=1)
    with running_cluster(db_url, tmp_path, api=1, workers=2) as server:
        url = f"{server.url}/api/v1/orders"
        body = {"lines": [{"sku": "LAMP", "quantity": 1}, {"sku": "MUG", "quantity": 1}], "ship_tos": [ADDRESS],
                "channel": "phone"}  # fmt: skip
        placed = race(ORDERS, lambda c, n: c.post(url, json=body, headers=key))
        assert sorted(a.status_code for a in placed) == [201] * ORDERS, [a.text for a in placed]
        assert _drained(db, 90), "the relays did not drain the outbox"
        # and those orders were placed yesterday (moved there), whose facts are stored
        with db.engine.begin() as connection:
            moved = sa.text("UPDATE orders SET placed_at = :at")
            connection.execute(moved, {"at": uow.now() - timedelta(days=1)})
        assert reporting.compute_days(uow, days=[yesterday]) == [yesterday]
        before = _stored(db)
        # when six of them are cancelled at once
        ids = sorted(a.json()["id"] for a in placed)[:CANCELLED]
        cancels = race(
            CANCELLED,
            lambda c, n: c.post(f"{url}/{ids[n]}/cancel", json={"reason": "changed mind"}, headers=key),
        )
        assert [a.status_code for a in cancels] == [200] * CANCELLED, [a.text for a in cancels]
        assert _drained(db, 90), "the relays did not drain the outbox"
    # then the stored day is what a fresh recompute from the orders writes, row for row
    stored = _stored(db)
    assert stored != before
    reporting.compute_days(uow, days=[yesterday])
    assert _stored(db) == stored
    day = yesterday.isoformat()
    report = reporting.run_report(uow, name="open_orders", parameters={"from": day, "to": day})
    assert [(r["orders"], r["orders_not_cancelled"]) for r in report.rows] == [(ORDERS, ORDERS - CANCELLED)]
    with uow:
        uow.session.execute(sa.delete(facts.MARKERS))
    live = reporting.run_report(uow, name="open_orders", parameters={"from": day, "to": day})
    assert live.rows == report.rows
