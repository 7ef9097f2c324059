"""Edit before release, on SQLite and PostgreSQL: a call center's or mail room's orders wait out their channel's
edit window pending (editable), then the release job releases them once; a web channel's are released at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderRow
from ordersmith.platform import sales_channels
from ordersmith.platform.access import SCOPES, Principal
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.tables import OutboxRow
from tests.builders import channel, make_order_shop, order_request

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
STAFF = Principal(kind="user", id=None, label="admin", scopes=frozenset(SCOPES), role="admin")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def shop(db: Database, clock: FixedClock) -> UnitOfWork:
    uow = db.unit_of_work(Actor.system("test"), clock=clock)
    make_order_shop(uow)
    phone = channel(uow, "phone")
    sales_channels.update_sales_channel(
        uow, principal=STAFF, channel_id=phone.id, expected_version=None, release_after_s=900
    )
    return uow


def released_events(db: Database, order_id: str) -> list[dict[str, object]]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(OutboxRow.payload).where(OutboxRow.type == "order.released")).scalars()
        return [p for p in rows if p["order_id"] == order_id]


def test_a_call_center_order_waits_out_its_edit_window_pending_and_can_still_be_edited(shop: UnitOfWork):
    # given a call center with a 15-minute edit window
    # when an agent places a tee
    placed = orders.place_order(shop, channel=channel(shop, "phone"), request=order_request(("TEE", 1)))
    # then it is pending until 15:15, its stock held, nothing released
    order = placed.order
    assert (order.status, order.release_at) == ("pending", NOW + timedelta(minutes=15))
    assert order.lines[0].reserved == 1
    assert released_events(shop.db, str(order.id)) == []
    # and when the customer calls back within the window, a mug is added at the version the agent read
    edited = orders.edit_order(
        shop,
        ref=order.number,
        changes=orders.OrderChanges(lines=[orders.LineChange(line_no=None, sku="MUG", quantity=1)]),
        expected_version=order.version,
    )
    assert [(line.sku, line.quantity) for line in edited.lines] == [("TEE", 1), ("MUG", 1)]
    assert edited.status == "pending" and edited.release_at == NOW + timedelta(minutes=15)


def test_the_release_job_releases_an_order_once_its_window_has_ended_and_not_before(
    shop: UnitOfWork, clock: FixedClock
):
    # given a phone order placed at 15:00 with a 15-minute window
    order = orders.place_order(shop, channel=channel(shop, "phone"), request=order_request(("TEE", 1))).order
    # when the job runs at 15:14 nothing is released
    clock.advance(timedelta(minutes=14))
    assert orders.release_due_orders(shop) == 0
    assert orders.get_order(shop, ref=order.number).status == "pending"
    # when it runs at 15:15, and again at 15:16
    clock.advance(timedelta(minutes=1))
    assert orders.release_due_orders(shop) == 1
    clock.advance(timedelta(minutes=1))
    assert orders.release_due_orders(shop) == 0
    # then the order is released once, with no release time left
    after = orders.get_order(shop, ref=order.number)
    assert (after.status, after.release_at) == ("released", None)
    (event,) = released_events(shop.db, str(order.id))
    assert event["window_ended"] is True and event["from"] == "pending"


def test_an_order_released_or_held_by_hand_in_its_window_is_left_as_it_is_by_the_job(
    shop: UnitOfWork, clock: FixedClock
):
    # given two phone orders in their window
    phone = channel(shop, "phone")
    first = orders.place_order(shop, channel=phone, request=order_request(("TEE", 1))).order
    second = orders.place_order(shop, channel=phone, request=order_request(("MUG", 1))).order
    # when an agent releases the first at once and a manager holds the second
    orders.release_order(shop, ref=first.number, note="customer is sure")
    orders.hold_order(shop, ref=second.number, reason="customer_request", note="waiting for a call back")
    clock.advance(timedelta(minutes=20))
    # then the job releases neither: one release of the first, the second stays on hold
    assert orders.release_due_orders(shop) == 0
    assert len(released_events(shop.db, str(first.id))) == 1
    assert orders.get_order(shop, ref=second.number).status == "on_hold"


def test_a_web_order_is_released_at_once_and_a_till_sale_never_waits(shop: UnitOfWork):
    # given the web channel has no window
    # when the web shop places an order
    order = orders.place_order(shop, channel=channel(shop, "web"), request=order_request(("TEE", 1))).order
    # then it is released at placement
    assert (order.status, order.release_at) == ("released", None)


def test_the_job_reads_only_orders_due_for_release(shop: UnitOfWork, clock: FixedClock):
    # given three phone orders at 15:00, 15:05 and 15:10 and a web order
    phone = channel(shop, "phone")
    numbers = []
    for _ in range(3):
        numbers.append(
            orders.place_order(shop, channel=phone, request=order_request(("TEE", 1))).order.number
        )
        clock.advance(timedelta(minutes=5))
    orders.place_order(shop, channel=channel(shop, "web"), request=order_request(("MUG", 1)))
    # when it is 15:20
    clock.advance(timedelta(minutes=5))
    due = orders.due_for_release(shop, limit=10)
    # then the two whose windows ended are due, the earliest first
    with shop.db.engine.connect() as conn:
        by_id = dict(conn.execute(sa.select(OrderRow.id, OrderRow.number)).all())
    assert [by_id[order_id] for order_id in due] == numbers[:2]


def test_an_edit_window_outside_0_to_a_day_is_refused_and_changes_nothing(shop: UnitOfWork):
    # given the phone channel with a 15-minute window
    phone = channel(shop, "phone")
    # when someone sets it to a negative time or to more than a day
    for seconds in (-1, 86_401):
        with pytest.raises(ValidationFailed) as refused:
            sales_channels.update_sales_channel(
                shop, principal=STAFF, channel_id=phone.id, expected_version=None, release_after_s=seconds
            )
        assert refused.value.errors[0].field == "release_after_s"
    # then the window is still 15 minutes
    assert sales_channels.get_sales_channel(shop, principal=STAFF, channel_id=phone.id).release_after_s == 900


def test_the_job_and_an_agent_releasing_the_same_order_at_once_release_it_once(
    db: Database, shop: UnitOfWork, clock: FixedClock
):
    # given phone orders whose windows have ended
    phone = channel(shop, "phone")
    placed = [
        orders.place_order(shop, channel=phone, request=order_request(("TEE", 1))).order for _ in range(4)
    ]
    clock.advance(timedelta(minutes=16))
    errors: list[BaseException] = []

    def job() -> None:
        try:
            orders.release_due_orders(db.unit_of_work(Actor.system("job"), clock=clock))
        except BaseException as exc:  # reported below
            errors.append(exc)

    def agent(number: str) -> None:
        try:
            orders.release_order(db.unit_of_work(Actor.system("agent"), clock=clock), ref=number, note="now")
        except BaseException as exc:  # the job may have released it first
            errors.append(exc)

    # when the job and an agent release them at the same moment
    threads = [threading.Thread(target=job)] + [
        threading.Thread(target=agent, args=(o.number,)) for o in placed
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then each is released exactly once; an agent who came second was told it is released already
    for order in placed:
        assert len(released_events(db, str(order.id))) == 1
        assert orders.get_order(shop, ref=order.number).status == "released"
    assert all(type(e).__name__ == "IllegalTransition" for e in errors)
