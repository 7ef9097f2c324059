"""Stored purchase facts under concurrency (ADR 0037), through real processes: an API server and two `ordersmith
worker` relays, on SQLite and PostgreSQL. Orders for one customer are placed and cancelled at once, so both relays
recompute that customer's facts from batches handed over at the same moment; afterwards the stored facts are exactly
what a fresh recompute from the orders gives (on PostgreSQL the per-customer advisory lock makes the later
recomputation read the earlier's commit; on SQLite the single writer does)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.marketing import service as marketing
from ordersmith.marketing.fact_tables import CustomerFactRow, CustomerPurchaseRow, CustomerStyleRow
from ordersmith.platform.access import SCOPES
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.tables import OutboxRow
from tests.api.conftest import bearer
from tests.builders import make_api_key, make_order_shop
from tests.races.test_order_race import ADDRESS
from tests.races.test_payment_race import race
from tests.support.server import running_cluster

pytestmark = pytest.mark.slow

ORDERS, CANCELLED = 16, 6


def _facts(uow: UnitOfWork, customer_id: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored fact of the customer, without the moment it was written."""
    with uow:
        found = {}
        for table in (CustomerFactRow, CustomerPurchaseRow, CustomerStyleRow):
            columns = [c for c in table.__table__.columns if c.name != "updated_at"]
            found[table.__tablename__] = sorted(
                tuple(r)
                for r in uow.session.execute(
                    sa.select(*columns).where(table.__table__.c.customer_id == customer_id)
                )
            )
        return found


def _drained(db: Database, deadline_s: float) -> bool:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with db.session(readonly=True) as session:  # a read: never the writer lock
            pending = session.scalar(
                sa.select(sa.func.count()).select_from(OutboxRow).where(OutboxRow.dispatched_at.is_(None))
            )
        if pending == 0:
            return True
        time.sleep(0.2)
    return False


def test_two_relays_recomputing_one_customer_at_once_leave_what_a_fresh_recompute_gives(
    db_url: str, db: Database, uow: UnitOfWork, tmp_path: Path
) -> None:
    # given the shop, Ann, and a staff key; an API server and two worker relays
    make_order_shop(uow)
    ann = customers.create_customer(uow, details=customers.Details(first_name="Ann", last_name="Buyer"))
    key = bearer(make_api_key(uow, scopes=sorted(SCOPES), name="staff").secret)
    with running_cluster(db_url, tmp_path, api=1, workers=2) as server:
        logs = [tmp_path / f"worker{i}.log" for i in range(2)]
        deadline = time.monotonic() + 30
        while not all(log.exists() and "running" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, [log.read_text() for log in logs if log.exists()]
            time.sleep(0.1)
        url = f"{server.url}/api/v1/orders"
        # when sixteen orders for her (a lamp and a mug each: 90.00) are placed at once
        body = {"lines": [{"sku": "LAMP", "quantity": 1}, {"sku": "MUG", "quantity": 1}], "ship_tos": [ADDRESS],
                "channel": "phone", "customer": ann.number}  # fmt: skip
        placed = race(ORDERS, lambda c, n: c.post(url, json=body, headers=key))
        assert sorted(a.status_code for a in placed) == [201] * ORDERS, [a.text for a in placed]
        # and six of them are cancelled at once while the relays are still recomputing her from the placements
        ids = sorted(a.json()["id"] for a in placed)[:CANCELLED]
        cancels = race(
            CANCELLED,
            lambda c, n: c.post(f"{url}/{ids[n]}/cancel", json={"reason": "changed mind"}, headers=key),
        )
        assert [a.status_code for a in cancels] == [200] * CANCELLED, [a.text for a in cancels]
        # and the relays have handed every event on
        assert _drained(db, 90), "the relays did not drain the outbox"
    # then her stored facts are the ten orders left: what a fresh recompute from the orders writes, row for row
    stored = _facts(uow, ann.id)
    marketing.refresh_customers(uow, customer_ids=[ann.id])
    assert stored == _facts(uow, ann.id)
    [dollars] = marketing.get_purchase_facts(uow, customer_number=ann.number).currencies
    assert (dollars.orders, str(dollars.monetary.amount), dollars.returned.is_zero()) == (
        ORDERS - CANCELLED,
        "900.00",
        True,
    )
    # and no relay pass failed nor left an event undispatched on the way (the workers' job runners may log their
    # start-up race over the schedule rows, which is not the relay's)
    relay_trouble = [line for log in logs for line in log.read_text().splitlines()
                     if "ordersmith.platform.outbox" in line or "not dispatched" in line]  # fmt: skip
    assert relay_trouble == []
