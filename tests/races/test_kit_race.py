"""Two kits share a component; shoppers race for both through a real server: the shared stock is never
oversold, every kit sold is whole, and the ledger agrees."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_api_key, make_item, make_location, stock
from tests.support.server import running_server


def test_racing_for_two_kits_that_share_a_component_never_oversells_it(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    # given 10 bottles shared by two kits (2 per wine set, 1 per picnic set) and plenty of everything else
    for sku in ("BOTTLE", "GLASS", "BASKET"):
        make_item(uow, sku=sku)
    catalog.create_item(
        uow, sku="WINE-SET", name="Wine set", kind="kit", components=[("BOTTLE", 2), ("GLASS", 2)]
    )
    catalog.create_item(
        uow, sku="PICNIC-SET", name="Picnic", kind="kit", components=[("BASKET", 1), ("BOTTLE", 1)]
    )
    make_location(uow, code="DC")
    stock(uow, sku="BOTTLE", location="DC", quantity=10)
    stock(uow, sku="GLASS", location="DC", quantity=100)
    stock(uow, sku="BASKET", location="DC", quantity=100)
    key = make_api_key(uow, scopes=["reservations:write"]).secret
    results: list[tuple[str, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(40)

    def buy(n: int) -> None:
        sku = "WINE-SET" if n % 2 else "PICNIC-SET"
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            body = {"key": f"k{n}", "sku": sku, "quantity": 1}
            response = client.post(
                f"{server.url}/api/v1/reservations", json=body, headers={"Authorization": f"Bearer {key}"}
            )
        with lock:
            results.append((sku, response.status_code))

    with running_server(db_url, tmp_path / "server.log") as server:
        threads = [threading.Thread(target=buy, args=(n,)) for n in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # then every answer is a sale or a clean refusal, and the bottles add up exactly
    assert {status for _, status in results} <= {201, 409}
    wine = sum(1 for sku, status in results if sku == "WINE-SET" and status == 201)
    picnic = sum(1 for sku, status in results if sku == "PICNIC-SET" and status == 201)
    bottles = inventory.get_availability(uow, sku="BOTTLE")
    assert bottles.reserved == 2 * wine + picnic <= 10
    assert bottles.available == 10 - bottles.reserved < 2  # nothing sellable was left unsold
    assert inventory.get_availability(uow, sku="GLASS").reserved == 2 * wine
    assert inventory.verify(uow) == []
