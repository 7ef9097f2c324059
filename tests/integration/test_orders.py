"""Orders on SQLite and PostgreSQL: capture through pricing and inventory, allocation, backorders and their
release, holds, cancellation, edits, shipments, returns and exchanges."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import (
    Forbidden,
    IllegalTransition,
    InsufficientStock,
    PreconditionFailed,
    ValidationFailed,
)
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import encode_cursor
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderRow, ReturnRow
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.tables import OutboxRow
from tests.builders import (
    channel,
    make_order_shop,
    make_source_code,
    make_vendor,
    order_request,
    sent_purchase_order,
    ship_to,
)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def shop(uow: UnitOfWork) -> UnitOfWork:
    make_order_shop(uow)
    return uow


def available(uow: UnitOfWork, sku: str, division: str | None = None) -> int:
    return inventory.get_availability(uow, sku=sku, division=division).available


def return_count(uow: UnitOfWork) -> int:
    with uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(ReturnRow)) or 0)


def order_count(uow: UnitOfWork) -> int:
    with uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(OrderRow)) or 0)


def test_an_order_is_priced_reserved_and_released_in_one_step(shop: UnitOfWork) -> None:
    # given two tees and a mug for a Californian address
    # when the web shop places it
    placed = orders.place_order(shop, channel=channel(shop), request=order_request(("TEE", 2), ("MUG", 1)))
    # then it is priced by our price list, with shipping and 10 % tax
    order = placed.order
    assert placed.created and order.status == "released" and order.payment_status == "pending"
    assert (order.merchandise, order.shipping, order.tax, order.total) == (
        usd("50.00"),
        usd("5.00"),
        usd("5.00"),
        usd("60.00"),
    )
    # and both lines hold stock: all from WEST, the one warehouse that has everything (one shipment)
    assert [(line.sku, line.reserved, line.state) for line in order.lines] == [
        ("TEE", 2, "reserved"),
        ("MUG", 1, "reserved"),
    ]
    assert [a.location for line in order.lines for a in line.allocations] == ["WEST", "WEST"]
    assert order.allocation == ["WEST has everything: one shipment (priority 20)"]
    assert available(shop, "TEE", "web") == 18 and available(shop, "MUG", "web") == 19
    assert order.fulfillment_status == "allocated" and int(order.number) > 100000
    # and the events tell the story
    with shop:
        kinds = list(shop.session.scalars(sa.select(OutboxRow.type).where(OutboxRow.type.like("order.%"))))
    assert kinds == ["order.placed", "order.released", "order.allocated"]


def test_an_unknown_sku_or_bad_quantity_is_refused_naming_the_line_and_changes_nothing(
    shop: UnitOfWork,
) -> None:
    # when a line names an unknown SKU
    with pytest.raises(ValidationFailed) as unknown:
        orders.place_order(shop, channel=channel(shop), request=order_request(("TEE", 1), ("NOPE", 1)))
    # then the error names that line
    assert unknown.value.errors[0].field == "lines.1.sku"
    with pytest.raises(ValidationFailed) as zero:
        orders.place_order(shop, channel=channel(shop), request=order_request(("TEE", 0)))
    assert zero.value.errors[0].field == "lines.0.quantity"
    # and nothing changed
    assert order_count(shop) == 0 and available(shop, "TEE", "web") == 20


def test_a_line_without_stock_is_refused_unless_the_item_may_be_backordered(shop: UnitOfWork) -> None:
    # given 20 tees for the web and 2 lamps (lamps may be backordered)
    # when an order wants 21 tees
    with pytest.raises(InsufficientStock) as short:
        orders.place_order(shop, channel=channel(shop), request=order_request(("MUG", 1), ("TEE", 21)))
    # then it is refused naming the line, and nothing is held (not even the mug)
    assert short.value.extra["lines"] == [{"line": 2, "sku": "TEE", "requested": 21, "available": 20}]
    assert available(shop, "MUG", "web") == 20 and order_count(shop) == 0
    # when an order wants 5 lamps
    placed = orders.place_order(shop, channel=channel(shop), request=order_request(("LAMP", 5)))
    # then 2 are held and 3 backordered
    line = placed.order.lines[0]
    assert (line.reserved, line.backordered, line.state) == (2, 3, "partially_backordered")
    assert placed.order.fulfillment_status == "partially_allocated"


def test_backorders_are_released_by_priority_then_age_when_a_po_is_received(
    shop: UnitOfWork, db: Database
) -> None:
    # given the 2 lamps taken, then three backorders: an ordinary one, a later VIP one, a later ordinary one
    orders.place_order(shop, channel=channel(shop), request=order_request(("LAMP", 2)))
    first = orders.place_order(shop, channel=channel(shop), request=order_request(("LAMP", 2))).order
    vip = orders.place_order(
        shop, channel=channel(shop), request=order_request(("LAMP", 2), priority=5)
    ).order
    last = orders.place_order(shop, channel=channel(shop), request=order_request(("LAMP", 2))).order
    assert [o.lines[0].backordered for o in (first, vip, last)] == [2, 2, 2]
    # when 3 lamps arrive on a purchase order and the relay delivers stock.changed
    make_vendor(shop)
    po = sent_purchase_order(shop, vendor="ACME", location="EAST", lines=[("LAMP", 3)])
    from ordersmith.purchasing import service as purchasing

    purchasing.receive(shop, number=po.number, location="EAST", lines=[purchasing.ReceivedLine("LAMP", 3)])
    orders.release_backorders(shop, item_id=_item_id(shop, "LAMP"))
    # then the VIP gets 2, the oldest ordinary order 1, the last none
    got = [orders.get_order(shop, ref=o.number).lines[0] for o in (first, vip, last)]
    assert [(line.reserved, line.backordered) for line in got] == [(1, 1), (2, 0), (0, 2)]
    assert available(shop, "LAMP") == 0
    assert orders.get_order(shop, ref=vip.number).fulfillment_status == "allocated"


def _item_id(uow: UnitOfWork, sku: str):  # type: ignore[no-untyped-def]
    from ordersmith.catalog import service as catalog

    return catalog.get_item_ref(uow, sku=sku).id


def test_a_gift_order_with_two_ship_tos_allocates_each_recipient_and_splits_a_line(shop: UnitOfWork) -> None:
    # given tees at EAST (10) and WEST (10), mugs only at WEST
    request = orders.OrderRequest(
        lines=[orders.LineRequest("TEE", 15, ship_to="mum"), orders.LineRequest("MUG", 2, ship_to="dad",
                                                                                gift_message="Happy birthday")],
        ship_tos=[ship_to("mum", name="Mum"), ship_to("dad", name="Dad", line1="9 Oak Ave", postal_code="94110")],
    )  # fmt: skip
    # when the call center places it
    order = orders.place_order(shop, channel=channel(shop, "phone"), request=request).order
    # then mum's 15 tees come from two warehouses (EAST first by priority, the rest from WEST) and dad's mugs
    # from WEST, each ship-to charged its own shipping
    tee, mug = order.lines
    assert [(a.location, a.quantity) for a in tee.allocations] == [("EAST", 10), ("WEST", 5)]
    assert [(a.location, a.quantity) for a in mug.allocations] == [("WEST", 2)]
    assert mug.gift_message == "Happy birthday"
    assert [(s.ref, s.shipping) for s in order.ship_tos] == [("mum", usd("5.00")), ("dad", usd("5.00"))]
    assert order.allocation[0].startswith("ship-to mum: ")


def test_a_kit_reserves_its_components(shop: UnitOfWork) -> None:
    # when two sets (each a tee and two mugs) are ordered
    order = orders.place_order(shop, channel=channel(shop), request=order_request(("SET", 2))).order
    # then the components are held at one location that has them all
    assert order.lines[0].reserved == 2 and order.lines[0].allocations[0].location == "WEST"
    assert available(shop, "TEE", "web") == 18 and available(shop, "MUG", "web") == 16


def test_store_pos_orders_take_store_stock_and_web_orders_cannot(shop: UnitOfWork) -> None:
    # the store division is served by STORE1 (3 tees) and the shared warehouses
    order = orders.place_order(
        shop, channel=channel(shop, "store-1"), request=order_request(("TEE", 3))
    ).order
    assert order.lines[0].allocations[0].location == "STORE1"
    assert order.division == "store"


def test_the_same_channel_order_sent_twice_is_one_order(shop: UnitOfWork) -> None:
    request = order_request(("TEE", 1), external_id="AMZ-111-222")
    first = orders.place_order(shop, channel=channel(shop, "amazon"), request=request)
    again = orders.place_order(shop, channel=channel(shop, "amazon"), request=request)
    assert first.created and not again.created and again.order.id == first.order.id
    assert order_count(shop) == 1 and available(shop, "TEE", "web") == 19


def test_the_same_channel_order_sent_twenty_times_at_once_is_one_order(
    shop: UnitOfWork, db: Database
) -> None:
    request = order_request(("TEE", 1), ("MUG", 1), external_id="WEB-42")
    web = channel(shop)
    results: list[orders.Placed] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            results.append(
                orders.place_order(db.unit_of_work(Actor.system("web")), channel=web, request=request)
            )
        except BaseException as exc:  # pragma: no cover - the assertion shows it
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.order.id for r in results}) == 1 and sum(r.created for r in results) == 1
    assert (
        order_count(shop) == 1 and available(shop, "TEE", "web") == 19 and available(shop, "MUG", "web") == 19
    )


def test_hold_rules_hold_a_first_big_order_and_an_undeliverable_address(shop: UnitOfWork) -> None:
    # a guest's first order above the first-order limit (1,500 USD): 19 lamps... use tees: 80 x 20 = 1,600
    from ordersmith.catalog import service as catalog

    catalog.set_backorderable(shop, sku="TEE", backorderable=True)
    big = orders.place_order(shop, channel=channel(shop), request=order_request(("TEE", 80))).order
    assert big.status == "on_hold" and [h.reason for h in big.holds] == ["fraud_first_order"]
    # held orders keep their reservations
    assert big.lines[0].reserved == 20
    bad = orders.place_order(shop, channel=channel(shop), request=order_request(
        ("MUG", 1), ship_tos=[ship_to(postal_code="ABC")])).order  # fmt: skip
    assert bad.status == "on_hold" and [h.reason for h in bad.holds] == ["undeliverable"]
    # a marketplace order is not screened for fraud, but an address is still checked
    amazon = orders.place_order(
        shop, channel=channel(shop, "amazon"), request=order_request(("MUG", 1))
    ).order
    assert amazon.status == "released"
    # the queue lists both, oldest first
    assert [(h.order_number, h.reason) for h in orders.list_holds(shop)] == [
        (big.number, "fraud_first_order"),
        (bad.number, "undeliverable"),
    ]
    # a manager releases one with a note; the other is cancelled, and its stock comes back
    released = orders.release_order(shop, ref=big.number, note="called the customer: genuine")
    assert released.status == "released" and released.holds[0].status == "released"
    with pytest.raises(Forbidden):
        orders.cancel_order(shop, ref=bad.number, reason="fraud", may_cancel_held=False)
    assert orders.get_order(shop, ref=bad.number) == bad and available(shop, "MUG", "web") == 18  # unchanged
    cancelled = orders.cancel_order(shop, ref=bad.number, reason="cannot deliver")
    assert cancelled.status == "cancelled" and cancelled.total == usd("0.00")
    assert available(shop, "MUG", "web") == 19
    assert orders.list_holds(shop) == []


def test_on_account_orders_beyond_the_credit_limit_are_held(shop: UnitOfWork) -> None:
    buyer = customers.create_customer(shop, details=customers.Details(first_name="Bo", last_name="Trade",
                                                                       credit_limit=usd("100.00"), status="buyer"),
                                      created_channel="phone")  # fmt: skip
    payment = [orders.PaymentRequest(method="on_account")]
    ok = orders.place_order(
        shop,
        channel=channel(shop, "phone"),
        request=order_request(("TEE", 2), customer=buyer.number, payments=payment),
    ).order  # 20*2 + 5 + 4.50 = 49.50
    assert ok.status == "released"
    over = orders.place_order(
        shop,
        channel=channel(shop, "phone"),
        request=order_request(("TEE", 3), customer=buyer.number, payments=payment),
    ).order
    assert over.status == "on_hold" and over.holds[0].reason == "credit_limit"


def test_a_card_number_in_the_payment_is_refused(shop: UnitOfWork) -> None:
    with pytest.raises(ValidationFailed) as refused:
        orders.place_order(
            shop,
            channel=channel(shop),
            request=order_request(
                ("TEE", 1), payments=[orders.PaymentRequest(method="card", token="4111 1111 1111 1111")]
            ),
        )
    assert refused.value.errors[0].field == "payments.0.token" and order_count(shop) == 0


def test_an_illegal_move_is_a_conflict_naming_the_state(shop: UnitOfWork) -> None:
    order = orders.place_order(shop, channel=channel(shop), request=order_request(("TEE", 1))).order
    orders.cancel_order(shop, ref=order.number, reason="changed mind")
    cancelled = orders.get_order(shop, ref=order.number)
    with pytest.raises(IllegalTransition) as illegal:
        orders.release_order(shop, ref=order.number, note="")
    assert illegal.value.extra["state"] == "cancelled"
    assert orders.get_order(shop, ref=order.number) == cancelled and available(shop, "TEE", "web") == 20


def test_cancelling_lines_releases_their_stock_and_reduces_the_total(shop: UnitOfWork) -> None:
    order = orders.place_order(
        shop, channel=channel(shop), request=order_request(("TEE", 4), ("MUG", 2))
    ).order
    changed = orders.cancel_order(shop, ref=order.number, reason="customer asked", lines={1: 3})
    tee = changed.lines[0]
    assert (tee.quantity, tee.cancelled, tee.reserved) == (4, 3, 1)
    assert changed.status == "released" and changed.merchandise == usd("40.00")
    assert changed.total == usd("49.00")  # 20 + 20 merchandise, 4.00 tax, 5.00 shipping
    assert available(shop, "TEE", "web") == 19
    assert inventory.verify(shop) == []


def test_an_edit_before_release_reprices_and_rereserves_at_the_version_read(shop: UnitOfWork) -> None:
    # given a pending (saved, not released) call-center order
    order = orders.place_order(shop, channel=channel(shop, "phone"), request=order_request(
        ("TEE", 2), release=False)).order  # fmt: skip
    assert order.status == "pending"
    # when the agent makes it 5 tees and adds a mug
    edited = orders.edit_order(
        shop,
        ref=order.number,
        expected_version=order.version,
        changes=orders.OrderChanges(
            lines=[
                orders.LineChange(line_no=1, quantity=5),
                orders.LineChange(line_no=None, sku="MUG", quantity=1),
            ]
        ),
    )
    # then it is priced and held anew
    assert [(line.sku, line.quantity, line.reserved) for line in edited.lines] == [
        ("TEE", 5, 5),
        ("MUG", 1, 1),
    ]
    assert edited.merchandise == usd("110.00") and edited.version == order.version + 1
    assert available(shop, "TEE", "web") == 15 and available(shop, "MUG", "web") == 19
    # and an edit at an old version is refused and changes nothing
    with pytest.raises(PreconditionFailed):
        orders.edit_order(
            shop,
            ref=order.number,
            expected_version=order.version,
            changes=orders.OrderChanges(lines=[orders.LineChange(line_no=1, quantity=1)]),
        )
    assert available(shop, "TEE", "web") == 15
    # and after release only an address correction by a manager is accepted
    orders.release_order(shop, ref=order.number, note="")
    current = orders.get_order(shop, ref=order.number)
    with pytest.raises(IllegalTransition):
        orders.edit_order(
            shop,
            ref=order.number,
            expected_version=current.version,
            changes=orders.OrderChanges(lines=[orders.LineChange(line_no=1, quantity=1)]),
            may_correct_released=True,
        )
    assert orders.get_order(shop, ref=order.number) == current and available(shop, "TEE", "web") == 15
    corrected = orders.edit_order(
        shop,
        ref=order.number,
        expected_version=current.version,
        may_correct_released=True,
        changes=orders.OrderChanges(ship_tos=[{"ref": "main", "line1": "2 Market St"}]),
    )
    assert corrected.ship_tos[0].line1 == "2 Market St" and corrected.lines[0].reserved == 5


def test_shipping_consumes_reservations_then_a_return_restocks_and_refunds(shop: UnitOfWork) -> None:
    order = orders.place_order(
        shop, channel=channel(shop), request=order_request(("TEE", 2), ("MUG", 2))
    ).order
    part = orders.record_shipment(shop, ref=order.number, lines={1: 2})
    assert part.status == "partially_shipped" and part.fulfillment_status == "partially_shipped"
    shipped = orders.record_shipment(shop, ref=order.number)
    assert shipped.status == "shipped" and [line.shipped for line in shipped.lines] == [2, 2]
    assert inventory.get_availability(shop, sku="TEE").on_hand == 21  # 23 in all, 2 shipped
    # a return of one tee (changed mind) and one damaged mug
    rma = orders.authorize_return(
        shop,
        order_ref=order.number,
        lines=[orders.ReturnLineRequest(1, 1, "changed_mind"), orders.ReturnLineRequest(2, 1, "damaged")],
    )
    assert rma.status == "authorized" and rma.number.startswith("R-")
    # item refund 20 + 10, tax 3, shipping refunded in proportion to the damaged goods: 5 * 10 / 60 = 0.83
    assert (rma.refund_items, rma.refund_tax, rma.refund_shipping) == (usd("30.00"), usd("3.00"), usd("0.83"))
    # more than shipped is refused, and writes nothing
    with pytest.raises(ValidationFailed):
        orders.authorize_return(shop, order_ref=order.number, lines=[orders.ReturnLineRequest(1, 2, "late")])
    assert return_count(shop) == 1
    received = orders.receive_return(
        shop,
        ref=rma.number,
        location="EAST",
        lines=[orders.ReceivedLine(1, 1, "restock"), orders.ReceivedLine(2, 1, "scrap")],
    )
    assert received.status == "received" and received.refund_due == usd("33.83")
    assert inventory.get_availability(shop, sku="TEE").on_hand == 22  # restocked
    assert inventory.get_availability(shop, sku="MUG").on_hand == 18  # scrapped
    with pytest.raises(IllegalTransition):
        orders.receive_return(shop, ref=rma.number, location="EAST")
    assert orders.get_return(shop, ref=rma.number) == received  # received once: the repeat changed nothing
    assert inventory.get_availability(shop, sku="TEE").on_hand == 22
    assert inventory.verify(shop) == []


def test_personalized_goods_marked_non_returnable_are_refused(shop: UnitOfWork) -> None:
    request = orders.OrderRequest(lines=[orders.LineRequest("TOWEL", 1, personalization={"initials": "ABC"})],
                                  ship_tos=[ship_to()])  # fmt: skip
    order = orders.place_order(shop, channel=channel(shop), request=request).order
    assert order.lines[0].surcharge == usd("5.00") and not order.lines[0].returnable
    orders.record_shipment(shop, ref=order.number)
    with pytest.raises(ValidationFailed) as refused:
        orders.authorize_return(
            shop, order_ref=order.number, lines=[orders.ReturnLineRequest(1, 1, "changed_mind")]
        )
    assert "personalized" in refused.value.detail and return_count(shop) == 0


def test_an_exchange_creates_a_linked_order_at_the_original_price(shop: UnitOfWork) -> None:
    order = orders.place_order(shop, channel=channel(shop), request=order_request(("TEE", 1))).order
    orders.record_shipment(shop, ref=order.number)
    rma = orders.authorize_return(
        shop, order_ref=order.number, lines=[orders.ReturnLineRequest(1, 1, "wrong_size", exchange_sku="MUG")]
    )
    received = orders.receive_return(shop, ref=rma.number, location="EAST")
    assert received.exchange_order_id is not None
    replacement = orders.get_order(shop, ref=str(received.exchange_order_id))
    assert replacement.exchange_for == order.id and replacement.lines[0].sku == "MUG"
    assert replacement.lines[0].unit_price == usd("20.00") and replacement.lines[0].reserved == 1
    assert received.refund_due == usd("0.00")  # the replacement is worth what came back


def test_the_timeline_shows_events_and_audit_entries_in_order(shop: UnitOfWork) -> None:
    order = orders.place_order(shop, channel=channel(shop), request=order_request(("TEE", 1))).order
    orders.hold_order(shop, ref=order.number, note="customer may change the size")
    kinds = [(e.source, e.kind) for e in orders.order_timeline(shop, ref=order.number)]
    assert kinds == [
        ("event", "order.placed"),
        ("event", "order.released"),
        ("event", "order.allocated"),
        ("audit", "order.placed"),
        ("event", "order.held"),
        ("audit", "order.held"),
    ]


def test_orders_are_listed_newest_first_with_filters(shop: UnitOfWork) -> None:
    make_source_code(shop, "FALL26")
    a = orders.place_order(
        shop, channel=channel(shop), request=order_request(("TEE", 1), source_code="fall26")
    ).order
    b = orders.place_order(shop, channel=channel(shop, "phone"), request=order_request(("MUG", 1))).order
    assert [o.number for o in orders.list_orders(shop).items] == [b.number, a.number]
    assert [o.number for o in orders.list_orders(shop, channel="phone").items] == [b.number]
    assert [o.number for o in orders.list_orders(shop, source_code="FALL26").items] == [a.number]


def test_the_order_list_pages_newest_placed_first_with_a_backdated_order_last(
    shop: UnitOfWork, db: Database
) -> None:
    # given two orders placed now and, placed between them, one imported from a year ago
    ann = customers.create_customer(shop, details=customers.Details(first_name="Ann", last_name="Buyer"))
    first = orders.place_order(
        shop, channel=channel(shop), request=order_request(("TEE", 1), customer=ann.number)
    ).order
    backdated = orders.place_order(shop, channel=channel(shop), request=order_request(
        ("MUG", 1), placed_at=shop.now() - timedelta(days=365))).order  # fmt: skip
    last = orders.place_order(shop, channel=channel(shop, "phone"), request=order_request(("TEE", 1))).order
    statements = _statements_of(db)
    # when the list is read two at a time
    page = orders.list_orders(shop, limit=2)
    rest = orders.list_orders(shop, limit=2, cursor=page.next_cursor)
    # then newest placed first, the year-old order last, and the two pages meet exactly
    assert [o.number for o in page.items] == [last.number, first.number]
    assert [o.number for o in rest.items] == [backdated.number] and rest.next_cursor is None
    # and every filter pages the same way, each walking its own index in the list's order (SQLite has no
    # statistics: a plan that sorted the matching orders would read them all, however many years they span)
    for where in ({"status": first.status}, {"channel": "web"}, {"source_code": "NONE"},
                  {"fulfillment_status": first.fulfillment_status}, {"customer": ann.number},
                  {"placed_from": shop.now() - timedelta(days=1)}):  # fmt: skip
        statements.clear()
        one = orders.list_orders(shop, limit=1, **where)  # type: ignore[arg-type]
        orders.list_orders(shop, limit=1, cursor=one.next_cursor, **where)  # type: ignore[arg-type]
        assert len(statements) == 2
        if db.dialect == "sqlite":
            with db.engine.connect() as conn:
                for statement, parameters in statements:
                    plan = " / ".join(
                        row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                    )  # type: ignore[arg-type]
                    assert "SCAN orders" not in plan and "TEMP B-TREE FOR ORDER BY" not in plan, (where, plan)
    # a cursor that is not one of the list's is refused, naming the field
    with pytest.raises(ValidationFailed) as refused:
        orders.list_orders(shop, cursor=encode_cursor("yesterday", str(first.id)))
    assert [e.field for e in refused.value.errors] == ["cursor"]


def _statements_of(db: Database) -> list[tuple[str, object]]:
    """The SELECTs on orders that `db` runs from now on (the listener goes with the test's engine)."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("SELECT") and "FROM orders" in statement:
            seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    return seen


def test_hold_rules_run_again_when_an_order_changes(shop: UnitOfWork) -> None:
    # given a pending order on account, well inside a 100 USD credit limit
    buyer = customers.create_customer(shop, details=customers.Details(first_name="Cy", last_name="Trade",
                                                                       credit_limit=usd("100.00"), status="buyer"),
                                      created_channel="phone")  # fmt: skip
    order = orders.place_order(shop, channel=channel(shop, "phone"), request=order_request(
        ("TEE", 1), customer=buyer.number, payments=[orders.PaymentRequest(method="on_account")], release=False,
    )).order  # fmt: skip
    assert order.status == "pending" and order.holds == []
    # when the agent makes it 5 tees (110 USD with shipping and tax)
    more = orders.edit_order(
        shop,
        ref=order.number,
        expected_version=order.version,
        changes=orders.OrderChanges(lines=[orders.LineChange(line_no=1, quantity=5)]),
    )
    # then the credit rule holds it
    assert more.status == "on_hold" and [h.reason for h in more.holds] == ["credit_limit"]
    # and a postal code typed wrong adds the address hold
    worse = orders.edit_order(
        shop,
        ref=order.number,
        expected_version=more.version,
        changes=orders.OrderChanges(ship_tos=[{"ref": "main", "postal_code": "9410"}]),
    )
    assert sorted(h.reason for h in worse.holds) == ["credit_limit", "undeliverable"]


def test_a_merged_customers_orders_follow_to_the_survivor(shop: UnitOfWork) -> None:
    keep = customers.create_customer(shop, details=customers.Details(first_name="Ann", last_name="Lee"),
                                     created_channel="web")  # fmt: skip
    gone = customers.create_customer(shop, details=customers.Details(first_name="Anne", last_name="Lee"),
                                     created_channel="phone")  # fmt: skip
    order = orders.place_order(
        shop, channel=channel(shop), request=order_request(("MUG", 1), customer=gone.number)
    )
    customers.merge_customers(shop, survivor=keep.number, merged=gone.number)
    # the relay hands customer.merged to the orders subscriber
    from ordersmith.platform import outbox

    outbox.subscribe("customer.merged", orders.on_customer_merged)
    try:
        outbox.dispatch_pending(shop)
    finally:
        outbox.unsubscribe(orders.on_customer_merged)
    moved = orders.get_order(shop, ref=order.order.number)
    assert (moved.customer_id, moved.customer_number) == (keep.id, keep.number)
    assert [o.number for o in orders.list_orders(shop, customer=keep.number).items] == [order.order.number]
