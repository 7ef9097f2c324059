"""Fifty concurrent reservations for the last five units, through a real server: exactly five win."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from ordersmith.inventory import service as inventory
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_api_key, make_item, make_location, stock
from tests.support.server import running_server


def test_fifty_racing_reservations_for_the_last_five_units_sell_exactly_five(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    # given five units left, spread over two warehouses
    make_item(uow, sku="HOT-1")
    make_location(uow, code="WH1", priority=10)
    make_location(uow, code="WH2", priority=20)
    stock(uow, sku="HOT-1", location="WH1", quantity=3)
    stock(uow, sku="HOT-1", location="WH2", quantity=2)
    key = make_api_key(uow, scopes=["reservations:write"]).secret
    responses: list[httpx.Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(50)

    def buy(n: int) -> None:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            response = client.post(
                f"{server.url}/api/v1/reservations",
                json={"key": f"checkout-{n}", "sku": "HOT-1", "quantity": 1, "division": "web"},
                headers={"Authorization": f"Bearer {key}"},
            )
        with lock:
            responses.append(response)

    with running_server(db_url, tmp_path / "server.log") as server:
        # when fifty shoppers check out at once
        threads = [threading.Thread(target=buy, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # then
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 5, [r.text for r in responses if r.status_code not in (201, 409)]
    assert statuses.count(409) == 45
    refused = [r.json() for r in responses if r.status_code == 409]
    assert {p["code"] for p in refused} == {"insufficient_stock"}
    assert all(p["available"] < 5 for p in refused)
    availability = inventory.get_availability(uow, sku="HOT-1")
    assert (availability.on_hand, availability.reserved, availability.available) == (5, 5, 0)
    assert inventory.verify(uow) == []
