"""Fulfillment against real SQLite and PostgreSQL: shipments follow the order's allocation, waves, pick lists in
walk order, short picks, scan-to-pack, ship (stock leaves once), cancel, and the relay's subscription."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ordersmith.fulfillment import service as fulfillment
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import IllegalTransition, InsufficientStock, ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.platform import outbox
from ordersmith.platform.db import UnitOfWork
from tests.builders import channel, make_order_shop, order_request


@pytest.fixture
def shop(uow: UnitOfWork) -> UnitOfWork:
    make_order_shop(uow)
    return uow


def placed(uow: UnitOfWork, *lines: tuple[str, int], **fields: object) -> orders.Order:
    order = orders.place_order(uow, channel=channel(uow), request=order_request(*lines, **fields)).order
    fulfillment.sync_order(uow, order_id=order.id)  # what the subscriber does after the order's commit
    return order


def on_hand(uow: UnitOfWork, sku: str, location: str) -> int:
    found = inventory.get_availability(uow, sku=sku)
    return next(loc.on_hand for loc in found.locations if loc.location == location)


def shipment_rows(uow: UnitOfWork) -> list[tuple[str, str, str, int]]:
    page = fulfillment.list_shipments(uow, limit=100).items
    return sorted((s.number, s.location, s.status, s.units) for s in page)


def picked_and_packed(uow: UnitOfWork, number: str) -> fulfillment.Shipment:
    fulfillment.pick_shipment(uow, ref=number)
    return fulfillment.pack_shipment(uow, ref=number, all_units=True, packages=[fulfillment.PackageSpec(900)])


def test_an_order_gets_one_pending_shipment_per_location_with_its_allocation_parts(shop: UnitOfWork):
    # given an order whose lamps are at EAST and whose mugs are at WEST
    order = placed(shop, ("LAMP", 1), ("MUG", 3))
    # then each location has a pending shipment of its units, each line one allocation part
    shipments = fulfillment.order_shipments(shop, order_id=str(order.id))
    assert [(s.number, s.location, s.status, s.units, s.releasable) for s in shipments] == [
        (f"{order.number}-1", "EAST", "pending", 1, True),
        (f"{order.number}-2", "WEST", "pending", 3, True),
    ]
    keys = {p.key for line in order.lines for p in line.allocations}
    assert {line.key for s in shipments for line in s.lines} == keys
    # and syncing again changes nothing
    fulfillment.sync_order(shop, order_id=order.id)
    assert [s.version for s in fulfillment.order_shipments(shop, order_id=str(order.id))] == [
        s.version for s in shipments
    ]


def test_a_wave_takes_the_most_urgent_shipments_with_totes_and_a_second_wave_finds_none(shop: UnitOfWork):
    # given three released orders at EAST, the last one urgent
    first, second = placed(shop, ("TEE", 1)), placed(shop, ("TEE", 2))
    urgent = placed(shop, ("LAMP", 1), priority=5)
    # when a wave of at most two is built there
    wave = fulfillment.build_wave(shop, location="EAST", filters=fulfillment.WaveFilters(max_orders=2))
    # then it took the urgent one and the oldest, in that order, each into its tote
    taken = fulfillment.list_shipments(shop, wave=wave.number).items
    assert (wave.status, wave.shipments, wave.units) == ("released", 2, 2)
    assert sorted((s.order_number, s.status, s.tote) for s in taken) == sorted(
        [(urgent.number, "picking", "T01"), (first.number, "picking", "T02")]
    )
    # and a wave for single lines of 1 unit takes what is left; another finds nothing and changes nothing
    rest = fulfillment.build_wave(shop, location="EAST", filters=fulfillment.WaveFilters(max_orders=5))
    assert [s.order_number for s in fulfillment.list_shipments(shop, wave=rest.number).items] == [
        second.number
    ]
    with pytest.raises(ValidationFailed):
        fulfillment.build_wave(shop, location="EAST", filters=fulfillment.WaveFilters())
    assert len(fulfillment.list_waves(shop, location="EAST").items) == 2


def test_pick_lists_walk_the_bins_in_sequence_and_drop_each_order_into_its_tote(shop: UnitOfWork):
    # given bins where the walk passes the lamps before the tees, and two orders
    for code, walk in (("A-01-1", 20), ("B-07-2", 10)):
        fulfillment.put_bin(shop, location="EAST", code=code, walk_sequence=walk, zone=code[0])
    fulfillment.assign_bin(shop, location="EAST", sku="TEE", bin_code="A-01-1")
    fulfillment.assign_bin(shop, location="EAST", sku="LAMP", bin_code="B-07-2")
    one, two = placed(shop, ("TEE", 2), ("LAMP", 1)), placed(shop, ("TEE", 1))
    wave = fulfillment.build_wave(shop, location="EAST", filters=fulfillment.WaveFilters())
    # when its pick list is made for one picker
    (pick_list,) = fulfillment.pick_lists(shop, ref=wave.number)
    # then the lamps come first, and the tees are one stop for both orders
    assert [(s.sequence, s.bin, s.sku, s.quantity) for s in pick_list.stops] == [
        (1, "B-07-2", "LAMP", 1),
        (2, "A-01-1", "TEE", 3),
    ]
    assert [(d.tote, d.order, d.quantity) for d in pick_list.stops[1].drops] == [
        ("T01", one.number, 2),
        ("T02", two.number, 1),
    ]
    # and two pickers walk two stretches
    assert [len(p.stops) for p in fulfillment.pick_lists(shop, ref=wave.number, pickers=2)] == [1, 1]


def test_shipping_consumes_the_stock_once_and_ships_the_order(shop: UnitOfWork):
    # given a picked and packed shipment of two tees from EAST
    order = placed(shop, ("TEE", 2))
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    before = on_hand(shop, "TEE", "EAST")
    picked_and_packed(shop, shipment.number)
    # when it ships
    shipped = fulfillment.ship_shipment(shop, ref=shipment.number, tracking="1Z999", carrier="ups")
    # then stock left once, the order is shipped with the tracking number, and the timeline shows each step
    assert (shipped.status, shipped.tracking_number) == ("shipped", "1Z999")
    assert on_hand(shop, "TEE", "EAST") == before - 2
    assert orders.get_order(shop, ref=order.number).status == "shipped"
    kinds = [e.kind for e in fulfillment.get_shipment(shop, ref=shipment.number).timeline]
    assert kinds == ["shipment.created", "shipment.line_added", "shipment.picked", "shipment.packed",
                     "shipment.shipped"]  # fmt: skip
    # and a second confirmation is refused and changes nothing
    with pytest.raises(IllegalTransition):
        fulfillment.ship_shipment(shop, ref=shipment.number)
    assert on_hand(shop, "TEE", "EAST") == before - 2
    assert inventory.verify(shop) == []


def test_scan_to_pack_refuses_an_item_not_on_the_shipment_and_one_too_many(shop: UnitOfWork):
    order = placed(shop, ("TEE", 1))
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    fulfillment.pick_shipment(shop, ref=shipment.number)
    # a mug is not on it
    with pytest.raises(fulfillment.ScanRefused, match="not on shipment"):
        fulfillment.scan_item(shop, ref=shipment.number, code="MUG")
    # the tee packs once (by its SKU, any case), a second tee is one too many
    packed = fulfillment.scan_item(shop, ref=shipment.number, code="tee")
    assert [(line.sku, line.picked, line.packed) for line in packed.lines] == [("TEE", 1, 1)]
    with pytest.raises(fulfillment.ScanRefused, match="packed already"):
        fulfillment.scan_item(shop, ref=shipment.number, code="TEE")
    after = fulfillment.get_shipment(shop, ref=shipment.number)
    assert ([(line.picked, line.packed) for line in after.lines], after.version) == ([(1, 1)], packed.version)


def test_packing_needs_every_unit_scanned_and_a_weighed_package_and_a_refusal_changes_nothing(
    shop: UnitOfWork,
):
    order = placed(shop, ("TEE", 2))
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    fulfillment.pick_shipment(shop, ref=shipment.number)
    fulfillment.scan_item(shop, ref=shipment.number, code="TEE")
    with pytest.raises(ValidationFailed, match="not scanned"):
        fulfillment.pack_shipment(shop, ref=shipment.number, packages=[fulfillment.PackageSpec(500)])
    fulfillment.scan_item(shop, ref=shipment.number, code="TEE")
    with pytest.raises(ValidationFailed, match="weigh"):
        fulfillment.pack_shipment(shop, ref=shipment.number, packages=[fulfillment.PackageSpec(0)])
    still = fulfillment.get_shipment(shop, ref=shipment.number)
    assert (still.status, still.packages) == ("picked", [])
    # with no package named, cartons come from the catalog: two 200 g tees (no sizes: 250 x 200 x 50 mm each)
    # outgrow a mailer and share a small box (180 g)
    packed = fulfillment.pack_shipment(shop, ref=shipment.number)
    assert [(p.seq, p.weight_g, p.length_mm) for p in packed.packages] == [(1, 580, 300)]


def test_a_short_pick_keeps_what_was_found_opens_a_count_and_allocates_the_rest_elsewhere(shop: UnitOfWork):
    # given two tees held at EAST (WEST has tees too)
    order = placed(shop, ("TEE", 2))
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    east = on_hand(shop, "TEE", "EAST")
    # when the picker finds one
    picked = fulfillment.pick_shipment(shop, ref=shipment.number, found={1: 1})
    fulfillment.sync_order(shop, order_id=order.id)
    # then the shipment carries one, the missing one left EAST's stock, and a count task waits for the bin
    assert (picked.status, picked.units) == ("picked", 1)
    assert on_hand(shop, "TEE", "EAST") == east - 1
    (task,) = fulfillment.list_count_tasks(shop, location="EAST").items
    assert (task.sku, task.reason, task.reference) == ("TEE", "short_pick", f"shipment {shipment.number}")
    # and the order holds the other unit again, on a new shipment
    line = orders.get_order(shop, ref=order.number).lines[0]
    assert (line.reserved, line.backordered) == (2, 0)
    assert [(s.status, s.units) for s in fulfillment.order_shipments(shop, order_id=str(order.id))] == [
        ("picked", 1),
        ("pending", 1),
    ]
    assert inventory.verify(shop) == []


def test_cancelling_the_order_cancels_its_pending_shipment(shop: UnitOfWork):
    order = placed(shop, ("MUG", 1))
    orders.cancel_order(shop, ref=order.number, reason="customer changed mind")
    fulfillment.sync_order(shop, order_id=order.id)
    assert [(s.status, s.units) for s in fulfillment.order_shipments(shop, order_id=str(order.id))] == [
        ("cancelled", 0)
    ]


def test_cancelling_a_shipment_cancels_its_units_on_the_order(shop: UnitOfWork):
    order = placed(shop, ("MUG", 2))
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    with pytest.raises(ValidationFailed):
        fulfillment.cancel_shipment(shop, ref=shipment.number, reason=" ")
    cancelled = fulfillment.cancel_shipment(shop, ref=shipment.number, reason="damaged in the bin")
    assert cancelled.status == "cancelled"
    assert orders.get_order(shop, ref=order.number).status == "cancelled"


def test_an_order_shipped_through_its_own_record_confirms_its_shipment(shop: UnitOfWork):
    order = placed(shop, ("MUG", 1))
    orders.record_shipment(shop, ref=order.number, tracking="1ZOLD")
    fulfillment.sync_order(shop, order_id=order.id, tracking="1ZOLD")
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    assert (shipment.status, shipment.tracking_number) == ("shipped", "1ZOLD")


def test_a_held_order_s_shipment_waits_out_of_waves_until_it_is_released(shop: UnitOfWork):
    order = placed(shop, ("MUG", 1))
    orders.hold_order(shop, ref=order.number, note="customer asked to wait")
    fulfillment.sync_order(shop, order_id=order.id)
    with pytest.raises(ValidationFailed):
        fulfillment.build_wave(shop, location="WEST", filters=fulfillment.WaveFilters())
    orders.release_order(shop, ref=order.number, note="go")
    fulfillment.sync_order(shop, order_id=order.id)
    assert fulfillment.build_wave(shop, location="WEST", filters=fulfillment.WaveFilters()).shipments == 1


def test_the_relay_makes_the_shipments_from_the_order_s_events(shop: UnitOfWork, db):
    # given the subscription as every process registers it
    fulfillment.register()
    order = orders.place_order(shop, channel=channel(shop), request=order_request(("MUG", 1))).order
    # when the relay dispatches what is pending
    while outbox.dispatch_batch(db.unit_of_work(shop.actor)):
        pass
    # then the shipment exists, and `shipment.created` went out tagged with the order's channel
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    assert shipment.status == "pending"
    with db.engine.connect() as conn:
        channel_of = conn.execute(
            sa.text("SELECT channel FROM outbox WHERE type = 'shipment.created'")
        ).scalar_one()
    assert channel_of == "web"


def test_the_relay_syncs_a_batch_of_orders_in_statements_that_do_not_grow_with_the_batch(
    shop: UnitOfWork, db
):
    # given the subscription as every process registers it, and one order already dispatched
    fulfillment.register()
    orders.place_order(shop, channel=channel(shop), request=order_request(("MUG", 1)))
    while outbox.dispatch_batch(db.unit_of_work(shop.actor)):
        pass

    def statements_to_dispatch(count: int) -> tuple[list[orders.Order], int]:
        placed = [
            orders.place_order(
                shop, channel=channel(shop), request=order_request(("MUG", 1), ("LAMP", 1))
            ).order
            for _ in range(count)
        ]
        executed: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            executed.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            dispatched = outbox.dispatch_batch(db.unit_of_work(shop.actor))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        assert dispatched > count
        return placed, len(executed)

    # when a batch of 2 orders' events and then a batch of 8 orders' events are dispatched
    _, two = statements_to_dispatch(2)
    eight, statements = statements_to_dispatch(8)
    # then the bigger batch ran exactly as many statements (the orders, their lines, shipments and barcodes are
    # read set-wise; the new shipments, lines and timelines written as one multi-row INSERT each)
    assert statements == two
    # and every order's allocation is on its pending shipments, one per location
    for order in eight:
        shipments = fulfillment.order_shipments(shop, order_id=str(order.id))
        parts = sorted((p.location, p.quantity) for line in order.lines for p in line.allocations)
        by_location = {location: 0 for location, _ in parts}
        for location, quantity in parts:
            by_location[location] += quantity
        assert sorted((s.location, s.units, s.status) for s in shipments) == [
            (location, units, "pending") for location, units in sorted(by_location.items())
        ]


def test_a_store_sale_carried_out_consumes_that_store_s_stock_at_once_and_is_shipped(shop: UnitOfWork):
    # given a till sale at STORE1 of two tees (EAST and WEST have tees too, and a better priority)
    store_before, east_before = on_hand(shop, "TEE", "STORE1"), on_hand(shop, "TEE", "EAST")
    request = order_request(("TEE", 2), fulfillment="taken", store="STORE1")
    # when it is placed
    order = orders.place_order(shop, channel=channel(shop, "store-1"), request=request).order
    fulfillment.sync_order(shop, order_id=order.id)
    # then it is shipped at once from the store's own stock, and its shipment says it was carried out
    assert (order.status, order.fulfillment, order.lines[0].shipped) == ("shipped", "taken", 2)
    assert on_hand(shop, "TEE", "STORE1") == store_before - 2 and on_hand(shop, "TEE", "EAST") == east_before
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    assert (shipment.kind, shipment.status, shipment.location) == ("taken", "shipped", "STORE1")
    assert inventory.verify(shop) == []


def test_a_store_sale_needs_the_store_to_have_it_and_a_till_to_hand_it_over(shop: UnitOfWork):
    # the store has three tees: four cannot be carried out, whatever the warehouses hold
    with pytest.raises(InsufficientStock):
        orders.place_order(shop, channel=channel(shop, "store-1"),
                           request=order_request(("TEE", 4), fulfillment="taken", store="STORE1"))  # fmt: skip
    # a web order cannot be carried out of a store, and a warehouse is not a store
    with pytest.raises(ValidationFailed, match="fulfillment"):
        orders.place_order(shop, channel=channel(shop), request=order_request(("TEE", 1), fulfillment="taken",
                                                                              store="STORE1"))  # fmt: skip
    with pytest.raises(ValidationFailed, match="store"):
        orders.place_order(shop, channel=channel(shop, "store-1"),
                           request=order_request(("TEE", 1), fulfillment="taken", store="EAST"))  # fmt: skip
    assert orders.list_orders(shop, limit=5).items == []
    assert on_hand(shop, "TEE", "STORE1") == 3


def test_a_pickup_is_held_at_its_store_made_ready_and_collected(shop: UnitOfWork):
    # given a web order to collect at STORE1
    order = orders.place_order(shop, channel=channel(shop), request=order_request(
        ("TEE", 1), fulfillment="pickup", store="STORE1")).order  # fmt: skip
    fulfillment.sync_order(shop, order_id=order.id)
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    assert (shipment.kind, shipment.location, shipment.status) == ("pickup", "STORE1", "pending")
    # when the store picks and packs it, then the customer collects it
    fulfillment.pick_shipment(shop, ref=shipment.number)
    ready = fulfillment.pack_shipment(shop, ref=shipment.number, all_units=True,
                                      packages=[fulfillment.PackageSpec(300)])  # fmt: skip
    collected = fulfillment.ship_shipment(shop, ref=shipment.number)
    # then the timeline says it was ready, then picked up, and the order is shipped
    kinds = [e.kind for e in fulfillment.get_shipment(shop, ref=shipment.number).timeline]
    assert kinds.index("shipment.ready_for_pickup") < kinds.index("shipment.picked_up")
    assert ready.status == "packed" and collected.status == "shipped"
    assert orders.get_order(shop, ref=order.number).status == "shipped"


def test_a_wave_is_done_when_its_last_shipment_ships(shop: UnitOfWork):
    one, two = placed(shop, ("TEE", 1)), placed(shop, ("TEE", 2))
    wave = fulfillment.build_wave(shop, location="EAST", filters=fulfillment.WaveFilters())
    numbers = [fulfillment.order_shipments(shop, order_id=str(o.id))[0].number for o in (one, two)]
    for n, number in enumerate(numbers):
        picked_and_packed(shop, number)
        fulfillment.ship_shipment(shop, ref=number)
        status = fulfillment.get_wave(shop, ref=wave.number).status
        assert status == ("released" if n == 0 else "done")


def test_a_pending_order_released_later_lets_its_shipment_into_a_wave_through_the_relay(shop: UnitOfWork, db):
    fulfillment.register()
    order = orders.place_order(
        shop, channel=channel(shop), request=order_request(("MUG", 1), release=False)
    ).order
    while outbox.dispatch_batch(db.unit_of_work(shop.actor)):
        pass
    (waiting,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    assert not waiting.releasable
    orders.release_order(shop, ref=order.number, note="checked")
    while outbox.dispatch_batch(db.unit_of_work(shop.actor)):
        pass
    assert fulfillment.build_wave(shop, location="WEST", filters=fulfillment.WaveFilters()).shipments == 1


def test_a_corrected_ship_to_reaches_the_shipment_not_yet_packed_and_never_one_packed(shop: UnitOfWork):
    # given two released orders, each with a pending shipment; the second's is picked and packed
    first = placed(shop, ("MUG", 1))
    second = placed(shop, ("MUG", 1))
    (packed,) = fulfillment.order_shipments(shop, order_id=str(second.id))
    picked_and_packed(shop, packed.number)
    moved = {"ref": "main", "line1": "77 Harbor Way", "city": "Sausalito", "postal_code": "94965"}
    # when a manager corrects both orders' address and the subscriber syncs them
    for order in (first, orders.get_order(shop, ref=second.number)):
        orders.edit_order(
            shop,
            ref=order.number,
            changes=orders.OrderChanges(ship_tos=[moved]),
            expected_version=order.version,
            may_correct_released=True,
        )
        fulfillment.sync_order(shop, order_id=order.id)
    # then its pending shipment carries the new address (a new version), and syncing again changes nothing
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(first.id))
    assert (shipment.address["line1"], shipment.address["city"], shipment.address["postal_code"]) == (
        "77 Harbor Way",
        "Sausalito",
        "94965",
    )
    fulfillment.sync_order(shop, order_id=first.id)
    assert fulfillment.order_shipments(shop, order_id=str(first.id))[0].version == shipment.version
    # and the packed shipment of the other order keeps the address it was packed for
    (kept,) = fulfillment.order_shipments(shop, order_id=str(second.id))
    assert kept.address == packed.address
