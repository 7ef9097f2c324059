"""Division pools on a shared warehouse: ring-fences keep units for a division, buffers keep units away from one."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ordersmith.inventory import service as inventory
from ordersmith.inventory.service import PoolSetting
from ordersmith.inventory.tables import StockLevelRow, StockPoolRow
from ordersmith.kernel.errors import InsufficientStock, NotFound, ValidationFailed
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.tables import OutboxRow
from tests.builders import make_item, make_location, stock


def _shared_warehouse(uow: UnitOfWork, units: int = 20) -> None:
    make_item(uow, sku="TEE", divisions=["web", "store", "catalog", "marketplace"])
    make_location(uow, code="DC", division=None, priority=10)
    stock(uow, sku="TEE", location="DC", quantity=units)


def _available(uow: UnitOfWork, division: str) -> int:
    return inventory.get_availability(uow, sku="TEE", division=division).available


def test_a_ring_fence_keeps_units_for_its_division_until_that_division_reserves_them(uow: UnitOfWork):
    # given 20 units in a shared warehouse, 8 of them ring-fenced for the catalog division
    _shared_warehouse(uow)
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=0,
                              pools=[PoolSetting("catalog", ring_fence=8)])  # fmt: skip
    # then the other divisions see 12 and the catalog sees all 20
    assert (_available(uow, "web"), _available(uow, "marketplace"), _available(uow, "catalog")) == (
        12,
        12,
        20,
    )
    # when the web takes its 12, the 13th is refused with what is left for the web
    inventory.reserve(uow, key="web-1", sku="TEE", quantity=12, division="web")
    with pytest.raises(InsufficientStock) as short:
        inventory.reserve(uow, key="web-2", sku="TEE", quantity=1, division="web")
    assert short.value.extra["available"] == 0
    # and the catalog still gets its fenced units
    inventory.reserve(uow, key="cat-1", sku="TEE", quantity=8, division="catalog")
    assert _available(uow, "catalog") == 0
    assert inventory.verify(uow) == []


def test_units_a_division_reserves_count_against_its_own_fence_first(uow: UnitOfWork):
    _shared_warehouse(uow)
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=0,
                              pools=[PoolSetting("catalog", ring_fence=8)])  # fmt: skip
    inventory.reserve(uow, key="cat-1", sku="TEE", quantity=5, division="catalog")
    # 15 left: 3 of them still fenced for the catalog
    assert (_available(uow, "web"), _available(uow, "catalog")) == (12, 15)
    # the catalog going beyond its fence eats into the shared units, not into anyone's fence
    inventory.reserve(uow, key="cat-2", sku="TEE", quantity=6, division="catalog")
    assert (_available(uow, "web"), _available(uow, "catalog")) == (9, 9)
    # releasing gives the units back to the fence first
    inventory.release(uow, key="cat-2")
    inventory.release(uow, key="cat-1")
    assert (_available(uow, "web"), _available(uow, "catalog")) == (12, 20)


def test_a_buffer_keeps_units_away_from_one_division_only(uow: UnitOfWork):
    _shared_warehouse(uow, units=10)
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=0,
                              pools=[PoolSetting("marketplace", buffer=5)])  # fmt: skip
    assert (_available(uow, "marketplace"), _available(uow, "web")) == (5, 10)
    inventory.reserve(uow, key="mkt-1", sku="TEE", quantity=5, division="marketplace")
    with pytest.raises(InsufficientStock):
        inventory.reserve(uow, key="mkt-2", sku="TEE", quantity=1, division="marketplace")
    # the web may still sell the last five; then the marketplace has nothing, and never goes negative
    inventory.reserve(uow, key="web-1", sku="TEE", quantity=3, division="web")
    assert (_available(uow, "marketplace"), _available(uow, "web")) == (0, 2)


def test_fences_buffers_and_safety_stock_add_up_in_the_availability_formula(uow: UnitOfWork):
    # ATP(D) = on hand - reserved - safety - unfilled fences of other divisions - buffer(D)
    _shared_warehouse(uow, units=30)
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=2, pools=[
        PoolSetting("catalog", ring_fence=6), PoolSetting("store", ring_fence=4),
        PoolSetting("marketplace", buffer=3)])  # fmt: skip
    inventory.reserve(uow, key="store-1", sku="TEE", quantity=1, division="store")
    assert _available(uow, "web") == 30 - 1 - 2 - 6 - 3
    assert _available(uow, "marketplace") == 30 - 1 - 2 - 6 - 3 - 3
    assert _available(uow, "catalog") == 30 - 1 - 2 - 3
    assert _available(uow, "store") == 30 - 1 - 2 - 6
    figures = inventory.get_availability(uow, sku="TEE", division="web").locations[0]
    assert [(p.division, p.ring_fence, p.buffer, p.reserved) for p in figures.pools] == [
        ("catalog", 6, 0, 0), ("marketplace", 0, 3, 0), ("store", 4, 0, 1)]  # fmt: skip


def test_a_warehouse_serving_two_divisions_beside_a_dedicated_store(uow: UnitOfWork):
    # given a shared DC (web and catalog draw from it) with 6 units fenced for the catalog, and a web-only store
    make_item(uow, sku="TEE", divisions=["web", "catalog", "store"])
    make_location(uow, code="DC", division=None, priority=10)
    make_location(uow, code="WEB-STORE", kind="store", division="web", priority=20)
    stock(uow, sku="TEE", location="DC", quantity=10)
    stock(uow, sku="TEE", location="WEB-STORE", quantity=3)
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=0,
                              pools=[PoolSetting("catalog", ring_fence=6)])  # fmt: skip
    assert (_available(uow, "web"), _available(uow, "catalog")) == (4 + 3, 10)
    # when the web reserves 6, it takes the 4 unfenced DC units and 2 from its own store
    held = inventory.reserve(uow, key="web-1", sku="TEE", quantity=6, division="web")
    assert [(line.location, line.quantity) for line in held.lines] == [("DC", 4), ("WEB-STORE", 2)]
    # then the catalog's six are intact and the web has one left, at its store
    assert (_available(uow, "web"), _available(uow, "catalog")) == (1, 6)
    inventory.reserve(uow, key="cat-1", sku="TEE", quantity=6, division="catalog")
    assert inventory.verify(uow) == []


def test_a_reservation_without_a_division_cannot_take_fenced_units(uow: UnitOfWork):
    _shared_warehouse(uow, units=5)
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=0,
                              pools=[PoolSetting("web", ring_fence=5)])  # fmt: skip
    with pytest.raises(InsufficientStock):
        inventory.reserve(uow, key="any-1", sku="TEE", quantity=1)


def test_a_kit_reserves_components_within_their_pools(uow: UnitOfWork):
    from ordersmith.catalog import service as catalog

    _shared_warehouse(uow, units=4)
    make_item(uow, sku="MUG", divisions=["web", "catalog"])
    stock(uow, sku="MUG", location="DC", quantity=10)
    catalog.create_item(uow, sku="SET", name="Tee and mug", kind="kit", divisions=["web", "catalog"],
                        components=[("TEE", 1), ("MUG", 1)])  # fmt: skip
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=0,
                              pools=[PoolSetting("catalog", ring_fence=3)])  # fmt: skip
    assert inventory.get_availability(uow, sku="SET", division="web").available == 1
    with pytest.raises(InsufficientStock) as short:
        inventory.reserve(uow, key="web-kits", sku="SET", quantity=2, division="web")
    assert short.value.extra["available"] == 1
    inventory.reserve(uow, key="cat-kits", sku="SET", quantity=4, division="catalog")
    assert inventory.verify(uow) == []


def test_pools_are_replaced_and_removed_and_each_change_emits_stock_changed(uow: UnitOfWork, db: Database):
    _shared_warehouse(uow, units=10)
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=1,
                              pools=[PoolSetting("catalog", ring_fence=4)])  # fmt: skip
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=1,
                              pools=[PoolSetting("store", ring_fence=2)])  # fmt: skip
    assert _available(uow, "web") == 10 - 1 - 2
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=0, pools=[])
    assert _available(uow, "web") == 10
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StockPoolRow)) == 0
        assert session.scalar(sa.select(StockLevelRow.pooled)) is False
        events = [r.payload for r in session.scalars(
            sa.select(OutboxRow).where(OutboxRow.type == "stock.changed").order_by(OutboxRow.id))]  # fmt: skip
    assert events[-2]["available"]["web"] == 7 and events[-1]["available"]["web"] == 10


@pytest.mark.parametrize(
    ("location", "pools", "field"),
    [
        ("DC", [PoolSetting("moon", ring_fence=1)], "pools.0.division"),
        ("DC", [PoolSetting("web", ring_fence=1), PoolSetting("web", buffer=1)], "pools.1.division"),
        ("DC", [PoolSetting("web", ring_fence=-1)], "pools.0"),
        ("WEB-ONLY", [PoolSetting("catalog", ring_fence=1)], "pools"),
    ],
)
def test_pools_that_make_no_sense_are_refused_and_change_nothing(
    uow: UnitOfWork, db: Database, location: str, pools: list[PoolSetting], field: str
):
    _shared_warehouse(uow, units=10)
    make_location(uow, code="WEB-ONLY", division="web")
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=1,
                              pools=[PoolSetting("catalog", ring_fence=4)])  # fmt: skip
    before = inventory.get_availability(uow, sku="TEE")
    with pytest.raises(ValidationFailed) as bad:
        inventory.configure_level(uow, sku="TEE", location=location, safety_stock=0, pools=pools)
    assert bad.value.errors[0].field == field
    assert inventory.get_availability(uow, sku="TEE") == before
    with pytest.raises(NotFound):
        inventory.configure_level(uow, sku="NOPE", location="DC", safety_stock=0)
    with pytest.raises(ValidationFailed):
        inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=-1)
    assert inventory.get_availability(uow, sku="TEE") == before
