"""Continuity programs on SQLite and PostgreSQL: each due shipment becomes one card order through checkout, the next
one is scheduled on the program's rhythm; a series ships in order and ends; skip, pause, resume and cancel; a
failed payment is retried after 1, 3 and 7 days and then suspends with a dunning notice; a crash between the order
and its record places no second order; sign-up refusals change nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersmith.continuity import rules
from ordersmith.continuity import service as continuity
from ordersmith.continuity.service import renewing
from ordersmith.continuity.tables import ShipmentRow, SubscriptionRow
from ordersmith.customers import service as customers
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import Conflict, ValidationFailed
from ordersmith.orders.tables import OrderRow
from ordersmith.payments import service as payments
from ordersmith.payments.tables import PaymentRow
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow
from tests.builders import make_order_shop

VISA, DECLINED = "4242424242424242", "4000000000000002"
TODAY = date(2026, 3, 2)  # a Monday
ADDRESS = {"name": "Ann Member", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
           "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip
TERMS = "Two tees every 4 weeks at list price plus shipping, charged to your card on each ship date. Cancel any time."


@pytest.fixture
def clock(db: Database) -> FixedClock:
    fixed = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    db.set_clock(fixed)
    return fixed


@pytest.fixture
def wired(db: Database, settings: Settings) -> payments.Payments:
    return payments.setup_payments(db, settings)


@pytest.fixture
def shop(db: Database, wired: payments.Payments, clock: FixedClock) -> UnitOfWork:
    uow = db.unit_of_work(Actor.system("test", origin="pytest"), clock=clock)
    make_order_shop(uow)
    continuity.create_program(uow, code="tees4w", name="Tees every 4 weeks", kind="replenish",
                              items=[continuity.ProgramItem("TEE", 2)], interval_weeks=4, terms=TERMS)  # fmt: skip
    continuity.create_program(uow, code="MUGS", name="Mug of the month", kind="series", interval_weeks=4,
                              items=[continuity.ProgramItem("MUG", 1), continuity.ProgramItem("TEE", 1),
                                     continuity.ProgramItem("MUG", 2)], terms="Three shipments, monthly.")  # fmt: skip
    return uow


def card(wired: payments.Payments, number: str = VISA) -> str:
    return wired.vault.tokenize(number=number, exp_month=12, exp_year=2031, actor="test").token


def member(uow: UnitOfWork, wired: payments.Payments, *, program: str = "TEES4W", number: str = VISA,
           **kw: object) -> continuity.Subscription:  # fmt: skip
    buyer = customers.create_customer(
        uow, details=customers.Details(first_name="Ann", last_name="Member", emails=["ann@example.com"])
    )
    version = continuity.get_program(uow, code=program).terms_version
    return continuity.sign_up(uow, program=program, customer=buyer.number, channel="web", ship_to=ADDRESS,
                              card_token=card(wired, number), accepted_terms=True, terms_version=version,
                              **kw)  # type: ignore[arg-type]  # fmt: skip


def run(uow: UnitOfWork) -> int:
    return continuity.place_due_shipments(uow, worker="test", lease_s=300)


def orders_of(uow: UnitOfWork) -> list[tuple[str | None, int]]:
    with uow:
        return [(r.external_id, r.total_minor) for r in uow.session.execute(
            sa.select(OrderRow.external_id, OrderRow.total_minor).order_by(OrderRow.number))]  # fmt: skip


def events(uow: UnitOfWork, kind: str) -> list[dict[str, object]]:
    with uow:
        return [r.payload for r in uow.session.scalars(sa.select(OutboxRow).where(OutboxRow.type == kind))]


def test_a_due_shipment_becomes_one_card_order_through_checkout_and_the_next_is_due_an_interval_later(
    shop: UnitOfWork, wired: payments.Payments, clock: FixedClock
):
    # given a member of the 4-weekly program whose first shipment is today
    sub = member(shop, wired)
    assert (sub.status, sub.next_shipment, sub.next_shipment_on, sub.card.last_four) == (
        "active",
        1,
        TODAY,
        "4242",
    )
    # when the job runs twice
    placed, again = run(shop), run(shop)
    # then one order was placed on the web channel, keyed by the subscription and shipment, its card authorized
    assert (placed, again) == (1, 0)
    assert orders_of(shop) == [(f"continuity-{sub.number}-1", 2 * 2000 + 500 + 400)]
    with shop:
        tender = shop.session.scalars(sa.select(PaymentRow)).one()
        assert (tender.method, tender.authorized_minor) == ("card", 4900)
    after = continuity.get_subscription(shop, ref=sub.number)
    assert (after.next_shipment, after.next_shipment_on, after.next_attempt_on) == (
        2, TODAY + timedelta(weeks=4), TODAY + timedelta(weeks=4))  # fmt: skip
    assert [(s.cycle, s.due_on, s.total.minor, s.attempts) for s in after.shipments] == [(1, TODAY, 4900, 1)]
    assert events(shop, "subscription.shipment_placed")[0]["order_number"] == after.last_order_number
    # and four weeks later the second one is placed, once
    clock.advance(timedelta(weeks=4))
    assert (run(shop), run(shop)) == (1, 0)
    assert [e for e, _ in orders_of(shop)] == [f"continuity-{sub.number}-1", f"continuity-{sub.number}-2"]


def test_a_series_ships_its_items_in_order_a_skip_delays_an_item_and_the_last_completes_it(
    shop: UnitOfWork, wired: payments.Payments, clock: FixedClock
):
    # given a member of the three-item series
    sub = member(shop, wired, program="MUGS")
    run(shop)
    # when the second shipment is skipped, then the rest ship
    skipped = continuity.skip_shipment(shop, ref=sub.number)
    assert (skipped.next_shipment, skipped.next_shipment_on) == (2, TODAY + timedelta(weeks=8))
    clock.advance(timedelta(weeks=4))
    assert run(shop) == 0  # nothing due on the skipped date
    for _ in range(2):
        clock.advance(timedelta(weeks=4))
        run(shop)
    # then the items came in series order (the skip delayed the tee, it did not drop it) and the series ended
    with shop:
        skus = [
            sku
            for (sku,) in shop.session.execute(
                sa.text(
                    "SELECT l.sku FROM order_lines l JOIN orders o ON o.id = l.order_id ORDER BY o.number"
                )
            )
        ]
    assert skus == ["MUG", "TEE", "MUG"]
    done = continuity.get_subscription(shop, ref=sub.number)
    assert (done.status, done.next_attempt_on, len(done.shipments)) == ("completed", None, 3)
    clock.advance(timedelta(weeks=4))
    assert run(shop) == 0


def test_a_declined_card_is_retried_after_1_3_and_7_days_then_suspended_with_a_dunning_notice(
    shop: UnitOfWork, wired: payments.Payments, clock: FixedClock
):
    # given a member whose card is declined
    sub = member(shop, wired, number=DECLINED)
    # when the job runs on the due date and on each retry date
    tried = []
    for wait in (0, 1, 3, 7):
        clock.advance(timedelta(days=wait))
        run(shop)
        found = continuity.get_subscription(shop, ref=sub.number)
        tried.append((found.status, found.failed_attempts, found.next_attempt_on))
    # then no order was placed; each failure scheduled the next try, the last suspended the subscription
    assert orders_of(shop) == []
    assert tried == [
        ("active", 1, TODAY + timedelta(days=1)),
        ("active", 2, TODAY + timedelta(days=4)),
        ("active", 3, TODAY + timedelta(days=11)),
        ("suspended", 4, None),
    ]
    failed = events(shop, "subscription.payment_failed")
    assert [(e["attempt"], e["next_attempt_on"]) for e in failed] == [
        (1, str(TODAY + timedelta(days=1))), (2, str(TODAY + timedelta(days=4))),
        (3, str(TODAY + timedelta(days=11))), (4, None)]  # fmt: skip
    assert [(e["dunning"], e["reason"]) for e in events(shop, "subscription.suspended")] == [
        (True, "the card was declined (card_declined)")
    ]
    # and a suspended subscription is not tried again ...
    clock.advance(timedelta(days=30))
    assert run(shop) == 0
    # ... until the member gives another card: it is active again and the shipment is placed that day
    back = continuity.change_card(shop, ref=sub.number, card_token=card(wired))
    assert (back.status, back.failed_attempts, back.next_attempt_on) == ("active", 0, clock.now().date())
    assert run(shop) == 1
    assert [e for e, _ in orders_of(shop)] == [f"continuity-{sub.number}-1"]
    shipped = continuity.get_subscription(shop, ref=sub.number)
    # the rhythm is kept: the next date is the first 4-weekly date after today
    assert shipped.next_shipment_on == TODAY + timedelta(weeks=8)


def test_pause_resume_and_cancel_move_or_stop_the_next_shipment(
    shop: UnitOfWork, wired: payments.Payments, clock: FixedClock
):
    # given a member whose first shipment is next week
    sub = member(shop, wired, starts_on=TODAY + timedelta(days=7))
    # when paused until a date, it ships by itself on that date
    paused = continuity.pause_subscription(shop, ref=sub.number, until=TODAY + timedelta(days=20))
    assert (paused.status, paused.next_attempt_on) == ("paused", TODAY + timedelta(days=20))
    clock.advance(timedelta(days=7))
    assert run(shop) == 0
    clock.advance(timedelta(days=13))
    assert run(shop) == 1
    again = continuity.get_subscription(shop, ref=sub.number)
    assert (again.status, again.next_shipment_on) == ("active", TODAY + timedelta(days=20, weeks=4))
    # and paused with no date nothing ships; resumed, it ships from the date asked
    continuity.pause_subscription(shop, ref=sub.number)
    clock.advance(timedelta(weeks=8))
    assert run(shop) == 0
    with pytest.raises(Conflict):
        continuity.skip_shipment(shop, ref=sub.number)
    resumed = continuity.resume_subscription(shop, ref=sub.number)
    assert (resumed.status, resumed.next_attempt_on) == ("active", clock.now().date())
    assert run(shop) == 1
    # and cancelled, nothing more ships; a second cancel is a conflict
    cancelled = continuity.cancel_subscription(shop, ref=sub.number)
    assert (cancelled.status, cancelled.next_attempt_on, cancelled.next_shipment_on) == (
        "cancelled",
        None,
        None,
    )
    with pytest.raises(Conflict):
        continuity.cancel_subscription(shop, ref=sub.number)
    clock.advance(timedelta(weeks=10))
    assert run(shop) == 0
    assert len(orders_of(shop)) == 2


def test_a_shipment_being_placed_cannot_be_skipped_and_a_refusal_changes_nothing(
    shop: UnitOfWork, wired: payments.Payments, clock: FixedClock
):
    # given a member whose shipment a worker has claimed
    sub = member(shop, wired)
    [due] = continuity.claim_due(shop, worker="w1", lease_s=300)
    with shop:
        before = shop.session.get(SubscriptionRow, sub.id).version  # type: ignore[union-attr]
    # when the member skips, pauses or changes the card meanwhile
    for change in (
        lambda: continuity.skip_shipment(shop, ref=sub.number),
        lambda: continuity.pause_subscription(shop, ref=sub.number),
        lambda: continuity.change_card(shop, ref=sub.number, card_token=card(wired)),
    ):
        with pytest.raises(Conflict):
            change()
    # then nothing changed, and the claimed shipment is placed as it was
    with shop:
        assert shop.session.get(SubscriptionRow, sub.id).version == before  # type: ignore[union-attr]
    assert continuity.place_shipment(shop, due) == "placed"
    assert len(orders_of(shop)) == 1


def test_a_crash_after_the_order_is_placed_and_before_it_is_recorded_places_no_second_order(
    shop: UnitOfWork, wired: payments.Payments, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
):
    # given a worker that dies right after checkout placed the order (before the shipment is recorded)
    sub = member(shop, wired)

    def die(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(renewing, "_record_placed", die)
    with pytest.raises(SystemExit):
        continuity.place_shipment(shop, continuity.claim_due(shop, worker="w1", lease_s=60)[0])
    monkeypatch.undo()
    assert len(orders_of(shop)) == 1
    # when its claim lapses and another worker takes the shipment over
    assert run(shop) == 0  # the claim still holds
    clock.advance(timedelta(seconds=61))
    assert run(shop) == 1
    # then the same order answers: one order, one authorization, the shipment recorded once
    assert orders_of(shop) == [(f"continuity-{sub.number}-1", 4900)]
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(PaymentRow)) == 1
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(ShipmentRow)) == 1
    assert continuity.get_subscription(shop, ref=sub.number).next_shipment == 2


def test_sign_up_refusals_name_the_field_and_write_nothing(
    shop: UnitOfWork, wired: payments.Payments, clock: FixedClock, tmp_path: Path
):
    # given a customer and a good card
    buyer = customers.create_customer(
        shop, details=customers.Details(first_name="Bo", emails=["bo@example.com"])
    )
    good = card(wired)
    base = {"program": "TEES4W", "customer": buyer.number, "channel": "web", "ship_to": ADDRESS,
            "card_token": good, "accepted_terms": True, "terms_version": 1}  # fmt: skip
    # when the terms were not accepted, or an older text was shown, or the card or customer is unknown
    continuity.update_program(shop, code="TEES4W", terms=TERMS + " Shipping is free over 50.00.")
    refused = {}
    for field, change in (
        ("accepted_terms", {"accepted_terms": False}),
        ("terms_version", {}),
        ("card_token", {"card_token": "tok_nothing", "terms_version": 2}),
        ("customer", {"customer": "C-999999", "terms_version": 2}),
        ("ship_to.method", {"ship_to": {**ADDRESS, "method": ""}, "terms_version": 2}),
        ("starts_on", {"starts_on": TODAY - timedelta(days=1), "terms_version": 2}),
    ):
        with pytest.raises(ValidationFailed) as caught:
            continuity.sign_up(shop, **(base | change))  # type: ignore[arg-type]
        refused[field] = caught.value.errors[0].field
    # then each names its field, and no subscription was written
    assert refused == {f: f for f in refused}
    with shop:
        assert shop.session.scalar(sa.select(sa.func.count()).select_from(SubscriptionRow)) == 0
    # and with the current terms accepted, the sign-up records which text was accepted, when and by whom
    made = continuity.sign_up(shop, **(base | {"terms_version": 2}))  # type: ignore[arg-type]
    assert (made.terms_version, made.terms_accepted_at, made.signed_up_by) == (2, clock.now(), "test")
    assert made.terms_digest == rules.terms_digest(TERMS + " Shipping is free over 50.00.")


def test_a_member_who_cancels_while_a_worker_holds_the_shipment_gets_no_order(
    shop: UnitOfWork, wired: payments.Payments, clock: FixedClock
):
    # given a shipment a worker has claimed but not yet placed
    sub = member(shop, wired)
    [due] = continuity.claim_due(shop, worker="w1", lease_s=300)
    # when the member cancels (allowed at any moment) and the worker then gets to it
    continuity.cancel_subscription(shop, ref=sub.number)
    outcome = continuity.place_shipment(shop, due)
    # then nothing was placed or authorized, and the subscription stays cancelled with no claim left
    assert outcome == "dropped"
    assert orders_of(shop) == []
    with shop:
        row = shop.session.get(SubscriptionRow, sub.id)
        assert row is not None
        assert (row.status, row.claimed_by, row.next_run_on) == ("cancelled", None, None)


def test_staff_list_members_and_cancel_from_the_command_line_and_a_bad_date_is_one_line(
    db_url: str, shop: UnitOfWork, wired: payments.Payments, clock: FixedClock
):
    from tests.support.cli import run

    # given a member
    sub = member(shop, wired)
    # when staff list the members, pause with a bad date, then cancel
    listed = run(db_url, "continuity", "members", "--program", "TEES4W")
    bad = run(db_url, "continuity", "pause", sub.number, "--until", "someday")
    cancelled = run(db_url, "continuity", "cancel", sub.number)
    # then the list shows the member, the bad date is one line on stderr with a non-zero exit and changed nothing,
    # and the cancel took effect
    assert listed.returncode == 0 and sub.number in listed.stdout and "...4242" in listed.stdout
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "until" in bad.stderr
    assert cancelled.returncode == 0 and "cancelled" in cancelled.stdout
    assert continuity.get_subscription(shop, ref=sub.number).status == "cancelled"


def test_the_due_query_reads_the_index_of_what_is_due_not_the_history(db: Database) -> None:
    query = renewing.due_query(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 5)
    sql = str(query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(
                sa.text("SET enable_seqscan = off")
            )  # an empty table: show the plan the index allows
            plan = conn.exec_driver_sql(f"EXPLAIN {sql}").scalars().all()
        else:
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    text = " ".join(str(line) for line in plan)
    assert "ix_continuity_subscriptions_due" in text, text


def test_subscriptions_follow_a_merged_customer_and_stop_for_an_anonymized_one(
    shop: UnitOfWork, wired: payments.Payments, clock: FixedClock
):
    from ordersmith.platform import outbox

    # given two members, each a customer of their own
    continuity.register()
    first, second = member(shop, wired), member(shop, wired)
    survivor = continuity.get_subscription(shop, ref=second.number).customer_number
    # when the first customer is merged into the second and the events are delivered
    customers.merge_customers(shop, survivor=survivor, merged=first.customer_number)
    while outbox.dispatch_batch(shop):
        pass
    # then both subscriptions are the survivor's
    assert {s.number for s in continuity.list_subscriptions(shop, customer=survivor).items} == {
        first.number, second.number}  # fmt: skip
    # and when the survivor is anonymized, nothing more ships to them: cancelled, no ship-to, no card token
    customers.anonymize_customer(shop, ref=survivor)
    while outbox.dispatch_batch(shop):
        pass
    with shop:
        rows = list(shop.session.scalars(sa.select(SubscriptionRow)))
        assert {(r.status, r.next_run_on, r.card_token, r.ship_to["name"]) for r in rows} == {
            ("cancelled", None, "", "")}  # fmt: skip
    assert run(shop) == 0
