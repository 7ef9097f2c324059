"""A hundred buyers on five channels order the last ten units of an item at once, through a real server: exactly ten
orders get it; the rest are refused (or backordered, when the item allows it); stock and the ledger stay exact."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.orders.tables import OrderLineRow
from ordersmith.platform.db import UnitOfWork
from tests.builders import ORDER_CHANNELS, make_api_key, make_order_shop, stock
from tests.support.server import running_server

ADDRESS = {"name": "Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "CA", "postal_code": "94105",
           "country": "US", "method": "ground"}  # fmt: skip


def _race(db_url: str, uow: UnitOfWork, tmp_path: Path, sku: str) -> list[int]:
    keys = [
        make_api_key(uow, scopes=["orders:write"], channel=code, name=code).secret
        for code, _, _ in ORDER_CHANNELS
    ]
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(100)

    def buy(n: int) -> None:
        body = {"lines": [{"sku": sku, "quantity": 1}], "ship_tos": [ADDRESS], "external_id": f"race-{n}"}
        with httpx.Client(timeout=120) as client:
            barrier.wait()
            response = client.post(f"{server.url}/api/v1/orders", json=body,
                                   headers={"Authorization": f"Bearer {keys[n % 5]}"})  # fmt: skip
        with lock:
            statuses.append(response.status_code)

    with running_server(db_url, tmp_path / "server.log") as server:
        threads = [threading.Thread(target=buy, args=(n,)) for n in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return statuses


def _lines(uow: UnitOfWork, sku: str) -> tuple[int, int]:
    with uow:
        reserved, backordered = uow.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(OrderLineRow.reserved), 0),
                      sa.func.coalesce(sa.func.sum(OrderLineRow.backordered), 0)).where(OrderLineRow.sku == sku)
        ).one()  # fmt: skip
    return int(reserved), int(backordered)


@pytest.fixture
def shop(uow: UnitOfWork) -> UnitOfWork:
    return last_units_shop(uow)


def last_units_shop(uow: UnitOfWork) -> UnitOfWork:
    """The order shop with ten units each of LAST and LAST-BO (backorderable) at EAST, priced 9.00."""
    make_order_shop(uow)
    # ten units of a new item, at a warehouse every channel's division is served by
    for sku, backorderable in (("LAST", False), ("LAST-BO", True)):
        catalog.create_item(
            uow, sku=sku, name=sku, divisions=["web", "catalog", "store"], backorderable=backorderable
        )
        stock(uow, sku=sku, location="EAST", quantity=10)
    from decimal import Decimal

    from ordersmith.kernel.money import Money
    from ordersmith.pricing import service as pricing

    pricing.create_price_list(uow, code="race", name="Race", currency="USD", priority=5, prices=[
        pricing.PriceEntry("LAST", Money(Decimal("9.00"), "USD")),
        pricing.PriceEntry("LAST-BO", Money(Decimal("9.00"), "USD"))])  # fmt: skip
    return uow


def test_a_hundred_buyers_for_the_last_ten_units_make_exactly_ten_orders(
    db_url: str, shop: UnitOfWork, tmp_path: Path
) -> None:
    statuses = _race(db_url, shop, tmp_path, "LAST")
    assert (statuses.count(201), statuses.count(409)) == (10, 90), statuses
    level = inventory.get_availability(shop, sku="LAST")
    assert (level.on_hand, level.reserved, level.available) == (10, 10, 0)
    assert _lines(shop, "LAST") == (10, 0)
    assert inventory.verify(shop) == []


def test_when_the_item_may_be_backordered_the_other_ninety_wait_for_stock(
    db_url: str, shop: UnitOfWork, tmp_path: Path
) -> None:
    statuses = _race(db_url, shop, tmp_path, "LAST-BO")
    assert statuses.count(201) == 100, statuses
    assert _lines(shop, "LAST-BO") == (10, 90)
    level = inventory.get_availability(shop, sku="LAST-BO")
    assert (level.on_hand, level.reserved) == (10, 10)
    assert inventory.verify(shop) == []


def test_the_same_channel_order_posted_twenty_times_at_once_is_one_order(
    db_url: str, shop: UnitOfWork, tmp_path: Path
) -> None:
    key = make_api_key(shop, scopes=["orders:write"], channel="amazon", name="amazon").secret
    body = {"lines": [{"sku": "LAST", "quantity": 1}, {"sku": "MUG", "quantity": 2}], "ship_tos": [ADDRESS],
            "external_id": "AMZ-DUP-1"}  # fmt: skip
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def send() -> None:
        with httpx.Client(timeout=120) as client:
            barrier.wait()
            response = client.post(
                f"{server.url}/api/v1/orders", json=body, headers={"Authorization": f"Bearer {key}"}
            )
        with lock:
            answers.append((response.status_code, response.json().get("id", response.text)))

    with running_server(db_url, tmp_path / "server.log") as server:
        threads = [threading.Thread(target=send) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    statuses = sorted(code for code, _ in answers)
    assert statuses == [200] * 19 + [201], answers
    assert len({order_id for _, order_id in answers}) == 1
    with shop:
        assert shop.session.execute(sa.text("SELECT count(*) FROM orders")).scalar() == 1
    assert inventory.get_availability(shop, sku="LAST").reserved == 1
    assert inventory.get_availability(shop, sku="MUG").reserved == 2
    assert inventory.verify(shop) == []
