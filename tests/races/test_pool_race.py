"""Two divisions race for one shared warehouse through a real server: the ring-fence holds under contention."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from ordersmith.inventory import service as inventory
from ordersmith.inventory.service import PoolSetting
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_api_key, make_item, make_location, stock
from tests.support.server import running_server


def test_web_shoppers_racing_catalog_agents_never_take_the_catalogs_fenced_units(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    # given 10 units in a shared DC, 4 of them ring-fenced for the catalog, and a web-only store with 2
    make_item(uow, sku="TEE", divisions=["web", "catalog"])
    make_location(uow, code="DC", division=None, priority=10)
    make_location(uow, code="WEB-STORE", kind="store", division="web", priority=20)
    stock(uow, sku="TEE", location="DC", quantity=10)
    stock(uow, sku="TEE", location="WEB-STORE", quantity=2)
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=0,
                              pools=[PoolSetting("catalog", ring_fence=4)])  # fmt: skip
    key = make_api_key(uow, scopes=["reservations:write"]).secret
    results: list[tuple[str, int]] = []
    lock = threading.Lock()
    requests = [("web", n) for n in range(36)] + [("catalog", n) for n in range(4)]
    barrier = threading.Barrier(len(requests))

    def buy(division: str, n: int) -> None:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            response = client.post(
                f"{server.url}/api/v1/reservations",
                json={"key": f"{division}-{n}", "sku": "TEE", "quantity": 1, "division": division},
                headers={"Authorization": f"Bearer {key}"},
            )
        with lock:
            results.append((division, response.status_code))

    with running_server(db_url, tmp_path / "server.log") as server:
        # when 36 web shoppers and 4 catalog agents reserve one unit each at once
        threads = [threading.Thread(target=buy, args=r) for r in requests]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # then the web gets the 6 unfenced DC units and its store's 2, and every catalog agent gets a fenced unit
    assert sorted(status for division, status in results if division == "catalog") == [201] * 4
    web = [status for division, status in results if division == "web"]
    assert (web.count(201), web.count(409)) == (8, 28), results
    availability = inventory.get_availability(uow, sku="TEE")
    assert (availability.on_hand, availability.reserved, availability.available) == (12, 12, 0)
    # and the catalog's counter at the DC holds exactly its four units (verify also sums them from the lines)
    dc = next(x for x in availability.locations if x.location == "DC")
    assert [(p.division, p.reserved) for p in dc.pools] == [("catalog", 4)]
    assert inventory.verify(uow) == []
