"""Catalog items and the inventory ledger on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.inventory.tables import ReservationRow, StockLevelRow, StockMovementRow
from ordersmith.kernel.errors import (
    AlreadyExists,
    Conflict,
    InsufficientStock,
    NegativeStock,
    NotFound,
    ValidationFailed,
)
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.tables import OutboxRow
from tests.builders import make_item, make_location, stock


def _ledger(db: Database) -> tuple[list[tuple[int, int]], int, int]:
    with db.session() as session:
        levels = [(r.on_hand, r.reserved) for r in session.scalars(sa.select(StockLevelRow))]
        movements = int(session.scalar(sa.select(sa.func.count()).select_from(StockMovementRow)) or 0)
        reservations = int(session.scalar(sa.select(sa.func.count()).select_from(ReservationRow)) or 0)
    return levels, movements, reservations


def test_skus_are_unique_whatever_the_letter_case(uow: UnitOfWork):
    make_item(uow, sku="Tee-Blue-M")
    assert catalog.get_item(uow, sku="TEE-BLUE-M").sku == "Tee-Blue-M"
    with pytest.raises(AlreadyExists):
        make_item(uow, sku="tee-blue-m")


def test_barcodes_must_be_valid_gtins_and_unique(uow: UnitOfWork):
    item = catalog.create_item(
        uow, sku="MUG-1", name="Mug", divisions=["web", "store"], barcodes=["4006381333931"]
    )
    assert item.barcodes == ["04006381333931"] and item.divisions == ["store", "web"]
    with pytest.raises(ValidationFailed) as bad:
        catalog.create_item(uow, sku="MUG-2", name="Mug", barcodes=["4006381333932"])
    assert bad.value.errors[0].field == "barcodes"
    with pytest.raises(AlreadyExists):
        catalog.create_item(uow, sku="MUG-3", name="Mug", barcodes=["04006381333931"])
    with pytest.raises(ValidationFailed):
        catalog.create_item(uow, sku="MUG-4", name="Mug", divisions=["moon"])
    assert [i.sku for i in catalog.list_items(uow).items] == ["MUG-1"]


def test_a_scanned_barcode_finds_its_item_in_any_of_its_lengths_and_a_sku_finds_itself(uow: UnitOfWork):
    # given a mug whose EAN-13 is stored in its canonical 14 digits
    catalog.create_item(uow, sku="MUG-1", name="Mug", barcodes=["4006381333931"])
    # then the scanner's 13 digits, the 14 and the SKU in any case name it; an unknown code names nothing
    found = [
        catalog.sku_for_barcode(uow, code=c) for c in ("4006381333931", "04006381333931", " mug-1 ", "123")
    ]
    assert found == ["MUG-1", "MUG-1", "MUG-1", None]


def test_adjustments_write_movements_and_stock_changed_events(uow: UnitOfWork, db: Database):
    make_item(uow, sku="TEE")
    make_location(uow, code="WH1")
    stock(uow, sku="TEE", location="WH1", quantity=10)
    inventory.adjust_stock(
        uow, sku="TEE", location="WH1", quantity=-3, reason="damage", reference="broken box"
    )
    availability = inventory.get_availability(uow, sku="tee")
    assert (availability.on_hand, availability.reserved, availability.available) == (7, 0, 7)
    assert inventory.verify(uow) == []
    with db.session() as session:
        events = [
            r.payload for r in session.scalars(sa.select(OutboxRow).where(OutboxRow.type == "stock.changed"))
        ]
    assert events[-1]["available"] == {"catalog": 7, "marketplace": 7, "store": 7, "web": 7}


def test_adjusting_below_zero_or_below_reserved_is_refused_and_changes_nothing(uow: UnitOfWork, db: Database):
    make_item(uow, sku="TEE")
    make_location(uow, code="WH1")
    stock(uow, sku="TEE", location="WH1", quantity=5)
    inventory.reserve(uow, key="cart-1", sku="TEE", quantity=3)
    before = _ledger(db)
    with pytest.raises(NegativeStock):
        inventory.adjust_stock(uow, sku="TEE", location="WH1", quantity=-3)  # only 2 are free
    with pytest.raises(ValidationFailed):
        inventory.adjust_stock(uow, sku="TEE", location="WH1", quantity=0)
    with pytest.raises(NotFound):
        inventory.adjust_stock(uow, sku="NOPE", location="WH1", quantity=1)
    with pytest.raises(NotFound):
        inventory.adjust_stock(uow, sku="TEE", location="NOWHERE", quantity=1)
    assert _ledger(db) == before


def test_a_reservation_takes_from_locations_in_priority_order_and_splits(uow: UnitOfWork):
    make_item(uow, sku="TEE")
    make_location(uow, code="EAST", priority=20)
    make_location(uow, code="WEST", priority=10)
    stock(uow, sku="TEE", location="EAST", quantity=4)
    stock(uow, sku="TEE", location="WEST", quantity=3)
    held = inventory.reserve(uow, key="order-1", sku="TEE", quantity=5, division="web")
    assert [(line.location, line.quantity) for line in held.lines] == [("WEST", 3), ("EAST", 2)]
    assert inventory.get_availability(uow, sku="TEE").available == 2


def test_a_reservation_is_all_or_nothing(uow: UnitOfWork, db: Database):
    make_item(uow, sku="TEE")
    make_location(uow, code="EAST")
    make_location(uow, code="WEST")
    stock(uow, sku="TEE", location="EAST", quantity=2)
    stock(uow, sku="TEE", location="WEST", quantity=2)
    before = _ledger(db)
    with pytest.raises(InsufficientStock) as short:
        inventory.reserve(uow, key="big", sku="TEE", quantity=5)
    assert short.value.extra["available"] == 4
    assert _ledger(db) == before


def test_a_location_dedicated_to_a_division_serves_only_it(uow: UnitOfWork):
    make_item(uow, sku="TEE", divisions=["web", "store"])
    make_location(uow, code="STORE-1", kind="store", division="store")
    make_location(uow, code="DC", division=None)
    stock(uow, sku="TEE", location="STORE-1", quantity=5)
    stock(uow, sku="TEE", location="DC", quantity=2)
    assert inventory.get_availability(uow, sku="TEE", division="web").available == 2
    assert inventory.get_availability(uow, sku="TEE", division="store").available == 7
    with pytest.raises(InsufficientStock):
        inventory.reserve(uow, key="web-1", sku="TEE", quantity=3, division="web")


def test_reserve_is_idempotent_by_key_and_refuses_a_key_reused_for_another_request(uow: UnitOfWork):
    make_item(uow, sku="TEE")
    make_location(uow, code="WH1")
    stock(uow, sku="TEE", location="WH1", quantity=5)
    first = inventory.reserve(uow, key="cart-9", sku="TEE", quantity=2)
    again = inventory.reserve(uow, key="cart-9", sku="TEE", quantity=2)
    assert again == first
    assert inventory.get_availability(uow, sku="TEE").reserved == 2
    with pytest.raises(Conflict):
        inventory.reserve(uow, key="cart-9", sku="TEE", quantity=3)


def test_release_and_consume_happen_at_most_once(uow: UnitOfWork):
    make_item(uow, sku="TEE")
    make_location(uow, code="WH1")
    stock(uow, sku="TEE", location="WH1", quantity=5)
    inventory.reserve(uow, key="a", sku="TEE", quantity=2)
    inventory.reserve(uow, key="b", sku="TEE", quantity=1)
    assert inventory.release(uow, key="a").status == "released"
    assert inventory.release(uow, key="a").status == "released"  # a repeat changes nothing
    assert inventory.consume(uow, key="b").status == "consumed"
    with pytest.raises(Conflict):
        inventory.consume(uow, key="a")
    availability = inventory.get_availability(uow, sku="TEE")
    assert (availability.on_hand, availability.reserved, availability.available) == (4, 0, 4)
    assert inventory.verify(uow) == []


def test_concurrent_releases_of_one_reservation_give_the_units_back_once(db: Database):
    uow = db.unit_of_work(Actor.system("test"))
    make_item(uow, sku="TEE")
    make_location(uow, code="WH1")
    stock(uow, sku="TEE", location="WH1", quantity=5)
    inventory.reserve(uow, key="r", sku="TEE", quantity=3)
    barrier = threading.Barrier(8)

    def release() -> None:
        barrier.wait()
        inventory.release(db.unit_of_work(Actor.system("t")), key="r")

    threads = [threading.Thread(target=release) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert inventory.get_availability(uow, sku="TEE").reserved == 0
    assert inventory.verify(uow) == []


def test_expired_reservations_are_released_by_the_job(db: Database):
    from datetime import UTC, datetime, timedelta

    from ordersmith.kernel.clock import FixedClock

    clock = FixedClock(datetime(2026, 11, 1, 12, tzinfo=UTC))
    uow = db.unit_of_work(Actor.system("test"), clock=clock)
    make_item(uow, sku="TEE")
    make_location(uow, code="WH1")
    stock(uow, sku="TEE", location="WH1", quantity=5)
    inventory.reserve(uow, key="cart", sku="TEE", quantity=2, expires_in=timedelta(minutes=15))
    inventory.reserve(uow, key="order", sku="TEE", quantity=1)
    clock.advance(timedelta(minutes=16))
    assert inventory.release_expired(uow) == 1
    assert inventory.get_reservation(uow, key="cart").status == "released"
    assert inventory.get_availability(uow, sku="TEE").reserved == 1


def test_the_database_itself_refuses_reserved_above_on_hand(uow: UnitOfWork, db: Database):
    make_item(uow, sku="TEE")
    make_location(uow, code="WH1")
    stock(uow, sku="TEE", location="WH1", quantity=1)
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.update(StockLevelRow.__table__).values(reserved=2))  # type: ignore[arg-type]


def test_verify_names_a_level_that_drifted_from_its_ledger(uow: UnitOfWork, db: Database):
    make_item(uow, sku="TEE")
    make_location(uow, code="WH1")
    stock(uow, sku="TEE", location="WH1", quantity=4)
    with db.engine.begin() as conn:  # someone "fixes" a figure by hand, outside the ledger
        conn.execute(sa.update(StockLevelRow.__table__).values(on_hand=6))  # type: ignore[arg-type]
    assert [(d.sku, d.location, d.field, d.recorded, d.expected) for d in inventory.verify(uow)] == [
        ("TEE", "WH1", "on_hand", 6, 4)
    ]


def test_a_transfer_moves_only_free_units_and_writes_both_movements(uow: UnitOfWork, db: Database):
    make_item(uow, sku="TEE")
    make_location(uow, code="DC")
    make_location(uow, code="STORE", kind="store")
    stock(uow, sku="TEE", location="DC", quantity=10)
    inventory.reserve(uow, key="hold", sku="TEE", quantity=7)
    moved = inventory.transfer_stock(uow, sku="TEE", from_location="DC", to_location="STORE", quantity=3)
    assert {x.location: (x.on_hand, x.reserved) for x in moved.locations} == {"DC": (7, 7), "STORE": (3, 0)}
    before = _ledger(db)
    with pytest.raises(InsufficientStock) as short:
        inventory.transfer_stock(uow, sku="TEE", from_location="DC", to_location="STORE", quantity=1)
    assert short.value.extra["available"] == 0
    with pytest.raises(ValidationFailed):
        inventory.transfer_stock(uow, sku="TEE", from_location="DC", to_location="DC", quantity=1)
    assert _ledger(db) == before
    assert inventory.verify(uow) == []


def test_a_count_sets_on_hand_and_records_the_variance(uow: UnitOfWork, db: Database):
    make_item(uow, sku="TEE")
    make_item(uow, sku="MUG")
    make_location(uow, code="DC")
    stock(uow, sku="TEE", location="DC", quantity=10)
    inventory.reserve(uow, key="hold", sku="TEE", quantity=4)
    lines = inventory.record_count(uow, location="DC", counts={"TEE": 8, "MUG": 2}, reference="Q4 count")
    assert [(x.sku, x.on_hand_before, x.counted, x.variance) for x in lines] == [
        ("MUG", 0, 2, 2),
        ("TEE", 10, 8, -2),
    ]
    assert inventory.get_availability(uow, sku="TEE").on_hand == 8
    before = _ledger(db)
    with pytest.raises(NegativeStock):  # fewer counted than are reserved: the whole sheet is refused
        inventory.record_count(uow, location="DC", counts={"MUG": 5, "TEE": 3})
    with pytest.raises(NotFound):
        inventory.record_count(uow, location="DC", counts={"NOPE": 1})
    assert _ledger(db) == before
    assert inventory.verify(uow) == []


def _gift_set(uow: UnitOfWork) -> None:
    make_item(uow, sku="MUG")
    make_item(uow, sku="TEA")
    catalog.create_item(uow, sku="GIFT-SET", name="Mug and tea", kind="kit", divisions=["web"],
                        components=[("MUG", 1), ("TEA", 2)])  # fmt: skip
    make_location(uow, code="DC")
    stock(uow, sku="MUG", location="DC", quantity=5)
    stock(uow, sku="TEA", location="DC", quantity=7)


def test_a_kit_is_as_available_as_its_scarcest_component(uow: UnitOfWork):
    _gift_set(uow)
    assert inventory.get_availability(uow, sku="GIFT-SET").available == 3  # 7 tea / 2 per kit


def test_reserving_a_kit_holds_every_component_and_releasing_gives_them_back(uow: UnitOfWork):
    _gift_set(uow)
    held = inventory.reserve(uow, key="kit-1", sku="GIFT-SET", quantity=2)
    assert [(line.sku, line.location, line.quantity) for line in held.lines] == [
        ("MUG", "DC", 2),
        ("TEA", "DC", 4),
    ]
    assert inventory.get_availability(uow, sku="TEA").reserved == 4
    assert inventory.get_availability(uow, sku="GIFT-SET").available == 1
    inventory.consume(uow, key="kit-1")
    assert (inventory.get_availability(uow, sku="MUG").on_hand, inventory.get_availability(uow, sku="TEA").on_hand) == (
        3, 3,
    )  # fmt: skip
    assert inventory.verify(uow) == []


def test_a_kit_is_reserved_whole_or_not_at_all(uow: UnitOfWork, db: Database):
    _gift_set(uow)
    before = _ledger(db)
    with pytest.raises(InsufficientStock) as short:
        inventory.reserve(uow, key="kit-big", sku="GIFT-SET", quantity=4)  # mugs would do, tea would not
    assert short.value.extra["available"] == 3
    assert _ledger(db) == before


def test_a_kit_needs_stocked_components(uow: UnitOfWork):
    make_item(uow, sku="CARD", kind="non_inventory")
    with pytest.raises(ValidationFailed) as caught:
        catalog.create_item(uow, sku="SET", name="Set", kind="kit", components=[("CARD", 1)])
    assert caught.value.errors[0].field == "components"
    with pytest.raises(ValidationFailed):
        catalog.create_item(uow, sku="SET", name="Set", kind="kit")


def test_a_style_generates_one_sku_per_combination_and_grows_with_new_values(uow: UnitOfWork):
    from ordersmith.catalog import styles

    axes = [("colour", ["Navy", "White"]), ("size", ["S", "M"])]
    style = styles.create_style(uow, code="oxf", name="Oxford shirt", axes=axes, divisions=["web"])
    assert [v.sku for v in style.variants] == ["OXF-NAVY-M", "OXF-NAVY-S", "OXF-WHITE-M", "OXF-WHITE-S"]
    grown = styles.add_axis_value(uow, code="OXF", axis="size", value="XL")
    assert sorted(v.sku for v in grown.variants if v.values["size"] == "XL") == [
        "OXF-NAVY-XL",
        "OXF-WHITE-XL",
    ]
    assert len(grown.variants) == 6
    catalog.set_item_status(uow, sku="oxf-navy-s", status="discontinued")
    statuses = {v.sku: v.status for v in styles.get_style(uow, code="oxf").variants}
    assert statuses["OXF-NAVY-S"] == "discontinued"
    assert [s for s in statuses.values() if s == "active"] == ["active"] * 5
    assert catalog.get_item(uow, sku="OXF-WHITE-XL").variant == {"colour": "White", "size": "XL"}


def test_a_style_that_makes_no_sense_is_refused_and_creates_nothing(uow: UnitOfWork):
    from ordersmith.catalog import styles

    with pytest.raises(ValidationFailed) as caught:
        styles.create_style(uow, code="BAD", name="Bad", axes=[("size", ["S", "s"])], divisions=[])
    assert caught.value.errors[0].field == "axes"
    styles.create_style(uow, code="TEE", name="Tee", axes=[("size", ["S"])], divisions=[])
    with pytest.raises(ValidationFailed):
        styles.add_axis_value(uow, code="TEE", axis="size", value="S")  # already there
    with pytest.raises(ValidationFailed):
        styles.add_axis_value(uow, code="TEE", axis="colour", value="Red")  # no such axis
    assert [i.sku for i in catalog.list_items(uow).items] == ["TEE-S"]
