"""The production shape on one machine, on PostgreSQL: two API processes on one port (`ordersmith serve --workers
2`) and two `ordersmith worker` processes share the work without duplicates — a hundred buyers for the last ten units
make ten orders, and one channel order posted twenty times at once is one order."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersmith.inventory import service as inventory
from ordersmith.platform.db import UnitOfWork
from tests.api.conftest import bearer
from tests.builders import ORDER_CHANNELS, make_api_key
from tests.races.test_order_race import ADDRESS, _lines, last_units_shop
from tests.races.test_payment_race import race
from tests.support.server import running_cluster

pytestmark = pytest.mark.slow


@pytest.fixture
def shop(db_url: str, uow: UnitOfWork) -> UnitOfWork:
    if not db_url.startswith("postgresql"):
        pytest.skip("several API and worker processes share the work on PostgreSQL; SQLite has one writer")
    return last_units_shop(uow)


def _buy(n: int) -> dict[str, object]:
    return {"lines": [{"sku": "LAST", "quantity": 1}], "ship_tos": [ADDRESS], "external_id": f"race-{n}"}


def test_two_api_processes_and_two_workers_sell_the_last_ten_units_exactly_ten_times(
    db_url: str,
    shop: UnitOfWork,
    tmp_path: Path,
) -> None:
    # given the production shape
    keys = [
        make_api_key(shop, scopes=["orders:write"], channel=code, name=code).secret
        for code, _, _ in ORDER_CHANNELS
    ]
    with running_cluster(db_url, tmp_path, api=2, workers=2) as server:
        # when a hundred buyers on five channels order the last ten units at once
        url = f"{server.url}/api/v1/orders"
        answers = race(100, lambda c, n: c.post(url, json=_buy(n), headers=bearer(keys[n % 5])))
    # then exactly ten orders get them, stock and the ledger exact
    statuses = [a.status_code for a in answers]
    assert (statuses.count(201), statuses.count(409)) == (10, 90), statuses
    level = inventory.get_availability(shop, sku="LAST")
    assert (level.on_hand, level.reserved, level.available) == (10, 10, 0)
    assert _lines(shop, "LAST") == (10, 0)
    assert inventory.verify(shop) == []


def test_two_api_processes_and_two_workers_place_one_channel_order_posted_twenty_times_once(
    db_url: str,
    shop: UnitOfWork,
    tmp_path: Path,
) -> None:
    # given the production shape
    key = make_api_key(shop, scopes=["orders:write"], channel="amazon", name="amazon").secret
    body = {"lines": [{"sku": "LAST", "quantity": 1}, {"sku": "MUG", "quantity": 2}], "ship_tos": [ADDRESS],
            "external_id": "AMZ-DUP-2"}  # fmt: skip
    with running_cluster(db_url, tmp_path, api=2, workers=2) as server:
        # when the same channel order arrives twenty times at once
        url = f"{server.url}/api/v1/orders"
        answers = race(20, lambda c, i: c.post(url, json=body, headers=bearer(key)))
        # and the workers deliver its events once
        with shop:
            placed = shop.session.execute(sa.text("SELECT id FROM orders")).scalars().all()
    # then one order, answered to every request
    assert sorted(a.status_code for a in answers) == [200] * 19 + [201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1 and len(placed) == 1
    assert inventory.get_availability(shop, sku="LAST").reserved == 1
    assert inventory.get_availability(shop, sku="MUG").reserved == 2
    assert inventory.verify(shop) == []
