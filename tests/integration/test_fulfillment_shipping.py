"""The ship step against real SQLite and PostgreSQL, on the paths the common case does not take: a shipment named
by its id after a short pick (a removed line shown, never shipped), a channel-bound caller and another channel's
shipment, a shipment that is not packed yet — and the events the channel and payments read."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from ordersmith.fulfillment import service as fulfillment
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import IllegalTransition, NotFound
from ordersmith.orders import service as orders
from ordersmith.platform.db import Database, UnitOfWork
from tests.builders import channel, make_order_shop, order_request


@pytest.fixture
def shop(uow: UnitOfWork) -> UnitOfWork:
    make_order_shop(uow)
    return uow


def placed(uow: UnitOfWork, *lines: tuple[str, int]) -> orders.Order:
    order = orders.place_order(uow, channel=channel(uow), request=order_request(*lines)).order
    fulfillment.sync_order(uow, order_id=order.id)  # what the subscriber does after the order's commit
    return order


def on_hand(uow: UnitOfWork, sku: str, location: str) -> int:
    found = inventory.get_availability(uow, sku=sku)
    return next(loc.on_hand for loc in found.locations if loc.location == location)


def payloads(db: Database, kind: str) -> list[dict[str, object]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT payload FROM outbox WHERE type = :kind ORDER BY id"), {"kind": kind}
        ).scalars()
        return [value if isinstance(value, dict) else json.loads(value) for value in rows]


def test_a_shipment_shipped_by_its_id_after_a_short_pick_ships_what_was_found_and_shows_the_removed_line(
    shop: UnitOfWork, db: Database
):
    # given a shipment at EAST of two tees and a lamp, packed after the picker found no lamp
    order = placed(shop, ("TEE", 2), ("LAMP", 1))
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    fulfillment.pick_shipment(shop, ref=shipment.number, found={2: 0})
    fulfillment.pack_shipment(
        shop, ref=shipment.number, all_units=True, packages=[fulfillment.PackageSpec(900)]
    )
    tees = on_hand(shop, "TEE", "EAST")
    # when it ships, named by its id, with a tracking number of its own
    shipped = fulfillment.ship_shipment(shop, ref=str(shipment.id), tracking="1ZSHORT", carrier="ups")
    # then the tees left once; the lamp's line is shown removed and did not ship
    assert (shipped.status, shipped.tracking_number, shipped.carrier, shipped.units) == (
        "shipped",
        "1ZSHORT",
        "ups",
        2,
    )
    assert [(line.line_no, line.sku, line.quantity, line.status) for line in shipped.lines] == [
        (1, "TEE", 2, "shipped"),
        (2, "LAMP", 1, "removed"),
    ]
    assert on_hand(shop, "TEE", "EAST") == tees - 2
    after = orders.get_order(shop, ref=order.number)
    assert (after.status, after.fulfillment_status) == ("partially_shipped", "partially_shipped")
    assert [(line.line_no, line.shipped) for line in after.lines] == [(1, 2), (2, 0)]
    # and the channel hears the tracking number and lines; payments hears which order lines shipped
    (event,) = payloads(db, "shipment.shipped")
    assert {k: event[k] for k in ("number", "from", "to", "tracking_number", "carrier", "lines")} == {
        "number": shipment.number,
        "from": "packed",
        "to": "shipped",
        "tracking_number": "1ZSHORT",
        "carrier": "ups",
        "lines": [{"line": 1, "sku": "TEE", "quantity": 2}],
    }
    (shipped_in_part,) = payloads(db, "order.shipped_in_part")
    assert {k: shipped_in_part[k] for k in ("number", "from", "to", "lines", "tracking", "shipment")} == {
        "number": order.number,
        "from": "released",
        "to": "partially_shipped",
        "lines": {"1": 2},
        "tracking": "1ZSHORT",
        "shipment": shipment.number,
    }
    assert inventory.verify(shop) == []


def test_a_channel_bound_caller_cannot_ship_another_channel_s_shipment_and_nothing_changes(shop: UnitOfWork):
    # given a packed shipment of a web order
    order = placed(shop, ("TEE", 1))
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    fulfillment.pick_shipment(shop, ref=shipment.number)
    packed = fulfillment.pack_shipment(shop, ref=shipment.number, all_units=True)
    tees = on_hand(shop, "TEE", "EAST")
    # when the phone channel confirms it, then it is not found, exactly like a shipment that does not exist
    with pytest.raises(NotFound) as theirs:
        fulfillment.ship_shipment(shop, ref=shipment.number, channel="phone")
    with pytest.raises(NotFound) as unknown:
        fulfillment.ship_shipment(shop, ref="999999-9", channel="phone")
    assert str(theirs.value).replace(shipment.number, "x") == str(unknown.value).replace("999999-9", "x")
    # and nothing changed
    still = fulfillment.get_shipment(shop, ref=shipment.number)
    assert (still.status, still.version, still.shipped_at) == ("packed", packed.version, None)
    assert on_hand(shop, "TEE", "EAST") == tees
    assert orders.get_order(shop, ref=order.number).status == "released"
    # while the web channel ships it
    assert fulfillment.ship_shipment(shop, ref=shipment.number, channel="web").status == "shipped"
    assert on_hand(shop, "TEE", "EAST") == tees - 1


def test_a_picked_shipment_is_not_shipped_before_it_is_packed_and_nothing_changes(shop: UnitOfWork):
    # given a picked shipment
    order = placed(shop, ("MUG", 2))
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    picked = fulfillment.pick_shipment(shop, ref=shipment.number)
    mugs = on_hand(shop, "MUG", "WEST")
    # when it is confirmed shipped, then the refusal names its state
    with pytest.raises(IllegalTransition) as refused:
        fulfillment.ship_shipment(shop, ref=shipment.number)
    assert refused.value.extra == {"state": "picked", "action": "ship"}
    # and nothing changed
    still = fulfillment.get_shipment(shop, ref=shipment.number)
    assert (still.status, still.version, [line.status for line in still.lines]) == (
        "picked",
        picked.version,
        ["open"],
    )
    assert on_hand(shop, "MUG", "WEST") == mugs
    assert orders.get_order(shop, ref=order.number).lines[0].shipped == 0
