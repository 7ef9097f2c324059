"""Picking is refused by the shipment's state before anything else: a shipment cancelled under the picker (its
order cancelled, its lines given back) answers 409 `illegal_transition` naming `cancelled`, whatever the picker
says was found — not a 422 about a line that is no longer on it — and changes nothing."""

from __future__ import annotations

import pytest

from ordersmith.fulfillment import service as fulfillment
from ordersmith.kernel.errors import IllegalTransition
from ordersmith.orders import service as orders
from ordersmith.platform.db import UnitOfWork
from tests.builders import channel, make_order_shop, order_request


@pytest.mark.parametrize("found", [{1: 0}, {1: 1}, None])
def test_picking_a_shipment_cancelled_with_its_order_is_an_illegal_transition_and_changes_nothing(
    uow: UnitOfWork, found: dict[int, int] | None
) -> None:
    # given a shipment whose order was cancelled (the subscriber took its lines back and cancelled it)
    make_order_shop(uow)
    order = orders.place_order(uow, channel=channel(uow), request=order_request(("TEE", 2))).order
    fulfillment.sync_order(uow, order_id=order.id)
    (shipment,) = fulfillment.order_shipments(uow, order_id=str(order.id))
    orders.cancel_order(uow, ref=order.number, reason="customer changed mind")
    fulfillment.sync_order(uow, order_id=order.id)
    before = fulfillment.get_shipment(uow, ref=shipment.number)
    assert (before.status, before.units) == ("cancelled", 0)
    # when the picker confirms it
    with pytest.raises(IllegalTransition) as refused:
        fulfillment.pick_shipment(uow, ref=shipment.number, found=found)
    # then the refusal names the shipment's state and the picker's action, and nothing changed
    assert (refused.value.extra["state"], refused.value.extra["action"]) == ("cancelled", "pick")
    assert fulfillment.get_shipment(uow, ref=shipment.number) == before
    assert fulfillment.list_count_tasks(uow, location="EAST").items == []
