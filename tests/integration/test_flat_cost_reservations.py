"""Reservation cost stays flat as open reservations accumulate (ADR 0016): division pools keep per-division
reserved counters that every path keeps exact, and the expiry job reads only what is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.inventory.service import AllocatedHold, PoolSetting
from ordersmith.inventory.tables import (
    ReservationLineRow,
    ReservationRow,
    StockLevelRow,
    StockPoolRow,
)
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import Actor, Database, UnitOfWork
from tests.builders import make_item, make_location, stock

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _pool_counters(db: Database) -> dict[str, int]:
    with db.session() as session:
        return dict(session.execute(sa.select(StockPoolRow.division, StockPoolRow.reserved)).tuples().all())


def _pooled_warehouse(uow: UnitOfWork, units: int = 40) -> None:
    """TEE in a shared DC with pools for web, catalog and the marketplace; a second shared warehouse without."""
    make_item(uow, sku="TEE", divisions=["web", "store", "catalog", "marketplace"])
    make_location(uow, code="DC", division=None, priority=10)
    make_location(uow, code="OVERFLOW", division=None, priority=20)
    stock(uow, sku="TEE", location="DC", quantity=units)
    stock(uow, sku="TEE", location="OVERFLOW", quantity=5)
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=0, pools=[
        PoolSetting("catalog", ring_fence=8), PoolSetting("web", ring_fence=2), PoolSetting("marketplace", buffer=3),
    ])  # fmt: skip


def test_pool_counters_stay_exact_through_reserve_release_expiry_and_shipment(db: Database):
    # given a pooled DC with 40 units and a clock the expiry job can be run against
    clock = FixedClock(NOW)
    uow = db.unit_of_work(Actor.system("test"), clock=clock)
    _pooled_warehouse(uow)
    assert _pool_counters(db) == {"catalog": 0, "web": 0, "marketplace": 0}
    # when each division reserves, one of them through a cart that expires
    inventory.reserve(uow, key="web-1", sku="TEE", quantity=5, division="web")
    inventory.reserve(uow, key="cat-1", sku="TEE", quantity=3, division="catalog")
    inventory.reserve(uow, key="mkt-1", sku="TEE", quantity=4, division="marketplace")
    inventory.reserve(
        uow, key="cart", sku="TEE", quantity=2, division="web", expires_in=timedelta(minutes=15)
    )
    inventory.reserve(uow, key="no-division", sku="TEE", quantity=1)
    # then each counter holds exactly its division's units
    assert _pool_counters(db) == {"catalog": 3, "web": 7, "marketplace": 4}
    # when an order's reservations are taken at the locations its allocation chose (the order path)
    tee = catalog.get_item_ref(uow, sku="TEE")
    picture = inventory.stock_picture(uow, items=[tee], division="catalog")
    holds = [AllocatedHold("order-1", "TEE", "DC", 6), AllocatedHold("order-2", "TEE", "OVERFLOW", 2)]
    inventory.reserve_allocated(uow, picture=picture, holds=holds)
    # then only the pooled DC's catalog counter moves
    assert _pool_counters(db) == {"catalog": 9, "web": 7, "marketplace": 4}
    # when one is shipped, some are released one by one or together, and the cart expires
    inventory.consume_all(uow, keys=["order-1", "order-2"])
    inventory.release(uow, key="web-1")
    inventory.consume(uow, key="mkt-1")
    inventory.release_all(uow, keys=["cat-1", "no-division"])
    clock.advance(timedelta(minutes=16))
    assert inventory.release_expired(uow) == 1
    # then every counter is back to zero, the levels agree, and verify finds nothing
    assert _pool_counters(db) == {"catalog": 0, "web": 0, "marketplace": 0}
    dc = next(x for x in inventory.get_availability(uow, sku="TEE").locations if x.location == "DC")
    assert (dc.on_hand, dc.reserved) == (30, 0)
    assert inventory.verify(uow) == []


def test_a_batch_that_fails_part_way_gives_the_pool_counters_back(uow: UnitOfWork, db: Database):
    # given a pooled DC and an order picture taken before the overflow warehouse's stock was moved away
    _pooled_warehouse(uow)
    tee = catalog.get_item_ref(uow, sku="TEE")
    picture = inventory.stock_picture(uow, items=[tee], division="web")
    inventory.adjust_stock(uow, sku="TEE", location="OVERFLOW", quantity=-5)
    # when, inside an order's transaction that goes on afterwards (to re-plan), the batch takes its DC part, then
    # finds the overflow short
    with uow:
        with pytest.raises(inventory.StalePlan):
            inventory.reserve_allocated(uow, picture=picture, holds=[
                AllocatedHold("o-1", "TEE", "DC", 4), AllocatedHold("o-2", "TEE", "OVERFLOW", 1)])  # fmt: skip
        inside = dict(
            uow.session.execute(sa.select(StockPoolRow.division, StockPoolRow.reserved)).tuples().all()
        )
    # then the batch gave back what it had taken: no counter moved, even before the transaction ended
    assert inside == {"catalog": 0, "web": 0, "marketplace": 0}
    assert _pool_counters(db) == {"catalog": 0, "web": 0, "marketplace": 0}
    assert inventory.get_availability(uow, sku="TEE").reserved == 0
    assert inventory.verify(uow) == []


def test_configuring_pools_starts_each_counter_from_the_reservations_already_active(
    uow: UnitOfWork, db: Database
):
    # given reservations taken while the DC had no pools
    make_item(uow, sku="TEE", divisions=["web", "catalog"])
    make_location(uow, code="DC", division=None)
    stock(uow, sku="TEE", location="DC", quantity=20)
    inventory.reserve(uow, key="web-1", sku="TEE", quantity=3, division="web")
    inventory.reserve(uow, key="web-2", sku="TEE", quantity=2, division="web")
    inventory.reserve(uow, key="cat-1", sku="TEE", quantity=4, division="catalog")
    inventory.reserve(uow, key="none", sku="TEE", quantity=1)
    inventory.release(uow, key="web-2")
    # when pools are configured, then replaced
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=0,
                              pools=[PoolSetting("catalog", ring_fence=6)])  # fmt: skip
    assert _pool_counters(db) == {"catalog": 4}
    inventory.configure_level(uow, sku="TEE", location="DC", safety_stock=0,
                              pools=[PoolSetting("catalog", ring_fence=6), PoolSetting("web", buffer=1)])  # fmt: skip
    # then each counter holds what its division already had reserved there, and the fence sees it
    assert _pool_counters(db) == {"catalog": 4, "web": 3}
    assert inventory.get_availability(uow, sku="TEE", division="web").available == 20 - 8 - 2 - 1
    assert inventory.verify(uow) == []


def test_verify_names_a_pool_counter_that_drifted_from_the_reservations(uow: UnitOfWork, db: Database):
    # given a catalog reservation in a pooled DC
    _pooled_warehouse(uow)
    inventory.reserve(uow, key="cat-1", sku="TEE", quantity=3, division="catalog")
    # when someone "fixes" the catalog's counter by hand
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(StockPoolRow.__table__)  # type: ignore[arg-type]
            .where(StockPoolRow.__table__.c.division == "catalog")
            .values(reserved=5)
        )
    # then verify names the pool, what it records and what the reservations say
    assert [(d.sku, d.location, d.field, d.recorded, d.expected) for d in inventory.verify(uow)] == [
        ("TEE", "DC", "reserved:catalog", 5, 3)
    ]


def _open_reservation_lines(db: Database, count: int, *, expiring: bool = False) -> None:
    """`count` active one-unit web reservations at the pooled DC, written in bulk, with the level and the web
    counter moved to match (what `count` reservations would have left)."""
    with db.engine.begin() as conn:
        item_id, location_id = conn.execute(
            sa.select(StockLevelRow.item_id, StockLevelRow.location_id).where(StockLevelRow.pooled.is_(True))
        ).one()
        ids = [new_id() for _ in range(count)]
        conn.execute(sa.insert(ReservationRow.__table__), [  # type: ignore[arg-type]
            {"id": i, "key": f"open-{i}", "item_id": item_id, "quantity": 1, "division": "web", "status": "active",
             "expires_at": NOW + timedelta(days=1) if expiring else None, "created_at": NOW, "ended_at": None}
            for i in ids])  # fmt: skip
        conn.execute(sa.insert(ReservationLineRow.__table__), [  # type: ignore[arg-type]
            {"reservation_id": i, "item_id": item_id, "location_id": location_id, "quantity": 1} for i in ids
        ])  # fmt: skip
        for table in (StockLevelRow.__table__, StockPoolRow.__table__):
            statement = (
                sa.update(table)  # type: ignore[arg-type]
                .where(table.c.item_id == item_id, table.c.location_id == location_id)
                .values(reserved=table.c.reserved + count)
            )
            if table is StockPoolRow.__table__:
                statement = statement.where(table.c.division == "web")
            conn.execute(statement)


def test_a_reservation_runs_the_same_statements_with_2000_open_reservation_lines_as_with_none(db: Database):
    # given a pooled DC with enough stock, and every statement the engine runs recorded
    uow = db.unit_of_work(Actor.system("test"))
    _pooled_warehouse(uow, units=5_000)
    inventory.reserve(uow, key="warm-up", sku="TEE", quantity=1, division="web")  # caches warm, then let go
    inventory.release(uow, key="warm-up")
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    # when one web reservation is made with no open reservation lines, then again with 2,000 of them
    inventory.reserve(uow, key="first", sku="TEE", quantity=2, division="web")
    with_none, seen[:] = list(seen), []
    inventory.release(uow, key="first")
    sa.event.remove(db.engine, "before_cursor_execute", record)
    _open_reservation_lines(db, 2_000)
    sa.event.listen(db.engine, "before_cursor_execute", record)
    seen.clear()
    inventory.reserve(uow, key="second", sku="TEE", quantity=2, division="web")
    with_many = list(seen)
    sa.event.remove(db.engine, "before_cursor_execute", record)
    # then it runs the very same statements, and none but the line insert touches reservation_lines
    assert with_many == with_none
    assert [s.split(" (")[0] for s in with_none if "reservation_lines" in s] == [
        "INSERT INTO reservation_lines"
    ]
    assert _pool_counters(db) == {"catalog": 0, "web": 2_002, "marketplace": 0}
    assert inventory.verify(uow) == []


def test_the_expiry_job_reads_due_reservations_through_the_partial_index(db: Database):
    # given 3,000 finished reservations of history, 50 orders' open reservations with no expiry, and two carts:
    # one due, one not
    clock = FixedClock(NOW)
    uow = db.unit_of_work(Actor.system("test"), clock=clock)
    _pooled_warehouse(uow, units=100)
    tee = catalog.get_item_ref(uow, sku="TEE")
    with db.engine.begin() as conn:
        conn.execute(sa.insert(ReservationRow.__table__), [  # type: ignore[arg-type]
            {"id": new_id(), "key": f"old-{n}", "item_id": tee.id, "quantity": 1, "division": "web",
             "status": "released", "expires_at": NOW - timedelta(days=30), "created_at": NOW - timedelta(days=30),
             "ended_at": NOW - timedelta(days=30)} for n in range(3_000)])  # fmt: skip
    _open_reservation_lines(db, 50)
    inventory.reserve(
        uow, key="cart-due", sku="TEE", quantity=1, division="web", expires_in=timedelta(minutes=5)
    )
    inventory.reserve(
        uow, key="cart-later", sku="TEE", quantity=1, division="web", expires_in=timedelta(hours=1)
    )
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE reservations" if db.engine.dialect.name == "postgresql" else "ANALYZE")
    clock.advance(timedelta(minutes=10))
    captured: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM reservations" in statement:
            captured.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    # when the job runs
    released = inventory.release_expired(uow)
    sa.event.remove(db.engine, "before_cursor_execute", record)
    # then it released the one due cart, and the statement that found it reads the partial index
    assert released == 1
    assert inventory.get_reservation(uow, key="cart-later").status == "active"
    statement, parameters = captured[0]
    explain = "EXPLAIN" if db.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    with db.engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"{explain} {statement}", parameters))
    assert "ix_reservations_expiring" in plan, plan
    assert "Seq Scan" not in plan and "SCAN reservations" not in plan, plan
    assert inventory.verify(uow) == []
