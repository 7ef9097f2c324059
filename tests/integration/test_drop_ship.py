"""Drop-ship against real SQLite and PostgreSQL: a drop-ship line goes to its vendor on a shipment and a PO of its
own (the customer's address, the vendor's cost), never through our stock; the vendor's confirmation (call or CSV)
ships it once; a cancelled order cancels both."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ordersmith.catalog import service as catalog
from ordersmith.fulfillment import service as fulfillment
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import Conflict, IllegalTransition, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform.db import UnitOfWork
from ordersmith.purchasing import service as purchasing
from tests.builders import channel, make_order_shop, make_vendor, order_request


@pytest.fixture
def shop(uow: UnitOfWork) -> UnitOfWork:
    # given the order shop, and a sofa its vendor ACME ships straight to the customer at 120.00 a piece
    from ordersmith.pricing import service as pricing

    make_order_shop(uow)
    make_vendor(uow, code="ACME")
    catalog.create_item(uow, sku="SOFA", name="Sofa", kind="drop_ship", divisions=["web"], weight_g=40000)
    purchasing.set_vendor_item(
        uow,
        vendor="ACME",
        sku="SOFA",
        vendor_sku="AC-SOFA",
        cost=Money(Decimal("120.00"), "USD"),
        preferred=True,
    )
    pricing.create_price_list(
        uow,
        code="sofas",
        name="Sofas",
        currency="USD",
        prices=[pricing.PriceEntry("SOFA", Money(Decimal("300.00"), "USD"))],
    )
    return uow


def placed(uow: UnitOfWork, *lines: tuple[str, int], **fields: object) -> orders.Order:
    order = orders.place_order(uow, channel=channel(uow), request=order_request(*lines, **fields)).order
    fulfillment.sync_order(uow, order_id=order.id)  # what the subscriber does after the order's commit
    return order


def drop_shipment(uow: UnitOfWork, order: orders.Order) -> fulfillment.Shipment:
    (found,) = [s for s in fulfillment.order_shipments(uow, order_id=str(order.id)) if s.kind == "drop_ship"]
    return found


def po_of(uow: UnitOfWork, shipment: fulfillment.Shipment) -> purchasing.PurchaseOrder:
    created = fulfillment.get_shipment(uow, ref=shipment.number).timeline[0]
    return purchasing.get_purchase_order(uow, number=created.detail["purchase_order"])


def stock_levels(uow: UnitOfWork) -> list[tuple[str, str, int, int]]:
    return sorted(
        (sku, loc.location, loc.on_hand, loc.reserved)
        for sku in ("TEE", "MUG", "LAMP")
        for loc in inventory.get_availability(uow, sku=sku).locations
    )


def test_a_drop_ship_line_goes_to_its_vendor_on_a_shipment_and_a_po_with_the_customer_s_address(
    shop: UnitOfWork,
):
    # when an order has a tee from our stock and two sofas its vendor ships
    order = placed(shop, ("TEE", 1), ("SOFA", 2))
    # then the tee waits at EAST and the sofas on a drop-ship shipment located at the vendor
    shipments = fulfillment.order_shipments(shop, order_id=str(order.id))
    assert sorted((s.kind, s.location, s.status, s.units, s.releasable) for s in shipments) == [
        ("drop_ship", "VENDOR:ACME", "pending", 2, False),
        ("ship", "EAST", "pending", 1, True),
    ]
    dropped = drop_shipment(shop, order)
    assert [(line.key, line.line_no, line.sku, line.quantity) for line in dropped.lines] == [
        (f"drop:{order.id.hex}:2", 2, "SOFA", 2)
    ]
    # and a drop-ship PO, sent at once, ships to the customer at the vendor's cost
    po = po_of(shop, dropped)
    assert (po.kind, po.status, po.vendor, po.sales_order) == ("drop_ship", "sent", "ACME", order.number)
    assert po.ship_to is not None and (po.ship_to["name"], po.ship_to["city"]) == (
        "Ann Buyer",
        "San Francisco",
    )
    assert [(line.sku, line.ordered, line.unit_cost, line.sales_line) for line in po.lines] == [
        ("SOFA", 2, Money(Decimal("120.00"), "USD"), 2)
    ]
    # and syncing again routes nothing twice
    fulfillment.sync_order(shop, order_id=order.id)
    assert len(fulfillment.order_shipments(shop, order_id=str(order.id))) == 2
    assert len(purchasing.list_purchase_orders(shop, vendor="ACME").items) == 1


def test_a_drop_ship_po_cannot_be_received_into_stock(shop: UnitOfWork):
    order = placed(shop, ("SOFA", 1))
    po = po_of(shop, drop_shipment(shop, order))
    with pytest.raises(Conflict, match="drop-ship"):
        purchasing.receive(shop, number=po.number, lines=[purchasing.ReceivedLine("SOFA", 1)])
    after = purchasing.get_purchase_order(shop, number=po.number)
    assert (after.status, after.lines[0].received) == ("sent", 0)


def test_confirming_ships_the_line_closes_the_po_and_touches_no_stock_and_a_second_is_refused(
    shop: UnitOfWork,
):
    # given an order of a tee and a sofa
    order = placed(shop, ("TEE", 1), ("SOFA", 1))
    dropped = drop_shipment(shop, order)
    before = stock_levels(shop)
    # when the vendor confirms it shipped
    shipped = fulfillment.confirm_drop_ship(shop, ref=dropped.number, tracking="ACME123", carrier="ups")
    # then the shipment is shipped with the vendor's tracking, the order partially shipped, the PO closed
    assert (shipped.status, shipped.tracking_number, shipped.units) == ("shipped", "ACME123", 1)
    got = orders.get_order(shop, ref=order.number)
    assert (got.status, [(line.sku, line.shipped) for line in got.lines]) == (
        "partially_shipped",
        [("TEE", 0), ("SOFA", 1)],
    )
    po = po_of(shop, dropped)
    assert (po.status, po.lines[0].received, po.lines[0].open) == ("closed", 1, 0)
    assert stock_levels(shop) == before and inventory.verify(shop) == []
    assert fulfillment.get_shipment(shop, ref=dropped.number).timeline[-1].kind == "shipment.shipped"
    # and a second confirmation (by the PO's number this time) is refused and changes nothing
    with pytest.raises(IllegalTransition):
        fulfillment.confirm_drop_ship(shop, ref=po.number, tracking="ACME999")
    again = orders.get_order(shop, ref=order.number)
    assert (again.version, again.lines[1].shipped) == (got.version, 1)
    assert fulfillment.get_shipment(shop, ref=dropped.number).tracking_number == "ACME123"
    assert purchasing.get_purchase_order(shop, number=po.number).version == po.version


def test_an_order_of_drop_ship_lines_only_ships_in_full(shop: UnitOfWork):
    order = placed(shop, ("SOFA", 2))
    fulfillment.confirm_drop_ship(shop, ref=drop_shipment(shop, order).number, tracking="T1")
    assert orders.get_order(shop, ref=order.number).status == "shipped"


def test_a_partial_confirmation_leaves_the_rest_on_a_new_shipment_of_the_same_po(shop: UnitOfWork):
    order = placed(shop, ("SOFA", 3))
    dropped = drop_shipment(shop, order)
    fulfillment.confirm_drop_ship(shop, ref=dropped.number, tracking="T1", lines={1: 1})
    rows = fulfillment.order_shipments(shop, order_id=str(order.id))
    assert [(s.number, s.status, s.units) for s in rows] == [
        (dropped.number, "shipped", 1),
        (f"{order.number}-2", "pending", 2),
    ]
    po = po_of(shop, dropped)
    assert (po.status, po.lines[0].received, po.lines[0].open) == ("partially_received", 1, 2)
    # the rest ships by the PO's number
    fulfillment.confirm_drop_ship(shop, ref=po.number, tracking="T2")
    assert orders.get_order(shop, ref=order.number).status == "shipped"
    assert purchasing.get_purchase_order(shop, number=po.number).status == "closed"


def test_cancelling_the_order_before_confirmation_cancels_the_shipments_and_the_po(shop: UnitOfWork):
    order = placed(shop, ("TEE", 1), ("SOFA", 1))
    dropped = drop_shipment(shop, order)
    orders.cancel_order(shop, ref=order.number, reason="customer changed mind")
    fulfillment.sync_order(shop, order_id=order.id)
    assert sorted((s.kind, s.status) for s in fulfillment.order_shipments(shop, order_id=str(order.id))) == [
        ("drop_ship", "cancelled"),
        ("ship", "cancelled"),
    ]
    po = po_of(shop, dropped)
    assert (po.status, po.lines[0].cancelled) == ("cancelled", 1)
    with pytest.raises(IllegalTransition):
        fulfillment.confirm_drop_ship(shop, ref=dropped.number, tracking="T1")
    assert fulfillment.list_drop_ships(shop).items == []


def test_cancelling_the_drop_ship_line_cancels_its_units_on_the_po(shop: UnitOfWork):
    order = placed(shop, ("TEE", 1), ("SOFA", 2))
    dropped = drop_shipment(shop, order)
    orders.cancel_order(shop, ref=order.number, reason="one is enough", lines={2: 1})
    fulfillment.sync_order(shop, order_id=order.id)
    assert drop_shipment(shop, order).units == 1
    po = po_of(shop, dropped)
    assert (po.status, po.lines[0].open, po.lines[0].cancelled) == ("sent", 1, 1)


def test_a_held_order_routes_nothing_until_it_is_released(shop: UnitOfWork):
    order = placed(shop, ("SOFA", 1), release=False)
    assert orders.get_order(shop, ref=order.number).status == "pending"
    assert fulfillment.order_shipments(shop, order_id=str(order.id)) == []
    orders.release_order(shop, ref=order.number, note="go")
    fulfillment.sync_order(shop, order_id=order.id)
    assert drop_shipment(shop, order).status == "pending"


def test_a_csv_with_one_bad_row_changes_nothing_and_names_the_row_and_column(shop: UnitOfWork):
    one, two = placed(shop, ("SOFA", 1)), placed(shop, ("SOFA", 1))
    first, second = po_of(shop, drop_shipment(shop, one)), po_of(shop, drop_shipment(shop, two))
    text = f"po_number,tracking,carrier\n{first.number},T1,ups\n{second.number},,ups\n"
    with pytest.raises(ValidationFailed) as refused:
        fulfillment.import_drop_ship_confirmations(shop, csv_text=text)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("rows.3.tracking", "the vendor's tracking number (1-60 characters)")
    ]
    assert [orders.get_order(shop, ref=o.number).status for o in (one, two)] == ["released", "released"]
    assert purchasing.get_purchase_order(shop, number=first.number).status == "sent"
    # and an unknown PO is named in its column
    with pytest.raises(ValidationFailed) as unknown:
        fulfillment.import_drop_ship_confirmations(shop, csv_text="po_number,tracking\nPO-999999,T9\n")
    assert [e.field for e in unknown.value.errors] == ["rows.2.po_number"]


def test_a_good_csv_ships_every_row_in_one_go(shop: UnitOfWork):
    one, two = placed(shop, ("SOFA", 2)), placed(shop, ("TEE", 1), ("SOFA", 1))
    first, second = drop_shipment(shop, one), po_of(shop, drop_shipment(shop, two))
    text = (
        "shipment,po_number,tracking,carrier,line,quantity\n"
        f"{first.number},,T1,ups,1,2\n"
        f",{second.number},T2,fedex,,\n"
    )
    counts = fulfillment.import_drop_ship_confirmations(shop, csv_text=text)
    assert counts == {"rows": 2, "shipments": 2, "units": 3}
    assert [orders.get_order(shop, ref=o.number).status for o in (one, two)] == [
        "shipped",
        "partially_shipped",
    ]
    assert fulfillment.get_shipment(shop, ref=first.number).tracking_number == "T1"
    assert fulfillment.list_drop_ships(shop).items == []
