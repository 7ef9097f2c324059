"""An order's ship-to addresses join its buyer's address book through the outbox relay (issue 17: "ship-to addresses
used on orders saved to the customer"), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.orders import jobs as order_jobs
from ordersmith.orders import service as orders
from ordersmith.platform import outbox
from ordersmith.platform.db import Database, UnitOfWork
from tests.builders import channel, make_order_shop, order_request, ship_to


@pytest.fixture
def shop(uow: UnitOfWork) -> UnitOfWork:
    make_order_shop(uow)
    order_jobs.register()  # the subscriptions every process makes
    return uow


def _relay(db: Database, uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(db.unit_of_work(uow.actor)):
        pass


def _ship_tos(uow: UnitOfWork, number: str) -> list[tuple[str, str, str]]:
    found = customers.get_customer(uow, ref=number)
    return [(a.name, a.line1, a.postal_code) for a in found.addresses if a.kind == "ship_to"]


def test_a_new_ship_to_joins_the_buyer_s_record_once_and_a_known_one_changes_nothing(
    shop: UnitOfWork, db: Database
):
    # given a customer with one ship-to address
    home = customers.Address(kind="ship_to", name="Ann Buyer", line1="1 Market St", city="San Francisco",
                             region="CA", postal_code="94105", country="US", is_default=True)  # fmt: skip
    ann = customers.create_customer(
        shop, details=customers.Details(first_name="Ann", last_name="Buyer", addresses=[home])
    )
    # when she orders to her home (typed differently) and, as a gift, to her sister's
    sister = ship_to("gift", name="Bea Buyer", line1="9 Elm Street", city="Oakland", postal_code="94607")
    lines = [
        orders.LineRequest(sku="TEE", quantity=1),
        orders.LineRequest(sku="MUG", quantity=1, ship_to="gift"),
    ]
    request = order_request(
        customer=ann.number, lines=lines, ship_tos=[ship_to(line1="1  market st"), sister]
    )
    orders.place_order(shop, channel=channel(shop, "phone"), request=request)
    _relay(db, shop)
    # then the sister's address is on Ann's record, her home once, and the version moved on like an agent's edit
    assert _ship_tos(shop, ann.number) == [
        ("Ann Buyer", "1 Market St", "94105"),
        ("Bea Buyer", "9 Elm Street", "94607"),
    ]
    after_first = customers.get_customer(shop, ref=ann.number)
    assert after_first.version == ann.version + 1
    # when she orders to both again
    again = order_request(customer=ann.number, lines=lines, ship_tos=[ship_to(name="ANN BUYER"), sister])
    orders.place_order(shop, channel=channel(shop, "phone"), request=again)
    _relay(db, shop)
    # then nothing changes: not the addresses, not the version
    assert customers.get_customer(shop, ref=ann.number) == after_first


def test_a_store_sale_a_guest_and_an_address_the_record_refuses_leave_the_book_as_it_is(
    shop: UnitOfWork, db: Database
):
    bo = customers.create_customer(shop, details=customers.Details(first_name="Bo", last_name="Buyer"))
    # a guest's order: no one's book
    orders.place_order(shop, channel=channel(shop), request=order_request(("TEE", 1)))
    # an address the customer record refuses (a postal code it cannot read for the US)
    odd = order_request(("TEE", 1), customer=bo.number, ship_tos=[ship_to(postal_code="9410")])
    placed = orders.place_order(shop, channel=channel(shop), request=odd)
    _relay(db, shop)
    assert _ship_tos(shop, bo.number) == []
    assert customers.get_customer(shop, ref=bo.number).version == bo.version
    with shop:
        pending = shop.session.scalar(sa.text("SELECT count(*) FROM outbox WHERE dispatched_at IS NULL"))
    assert pending == 0 and placed.order.number
