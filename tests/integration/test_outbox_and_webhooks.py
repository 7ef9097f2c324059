import asyncio
import itertools
import json
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa

from ordersmith.kernel.events import Event
from ordersmith.platform import outbox, webhooks
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.outbox import NatsPublisher, Relay, dispatch_batch
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow, WebhookDeliveryRow
from tests.builders import make_channel
from tests.support.receiver import webhook_receiver


def _outbox(db: Database) -> list[OutboxRow]:
    with db.session() as session:
        return list(session.scalars(sa.select(OutboxRow).order_by(OutboxRow.id)))


def test_in_process_subscribers_get_each_committed_event_once(uow: UnitOfWork, db: Database):
    seen: list[Event] = []

    def handler(uow: UnitOfWork, event: Event) -> None:
        seen.append(event)

    outbox.subscribe("sales_channel.*", handler)
    try:
        channel = make_channel(uow, code="web")
        assert dispatch_batch(uow) == 1
        assert dispatch_batch(uow) == 0
    finally:
        outbox.unsubscribe(handler)
    assert [(e.type, e.payload["id"]) for e in seen] == [("sales_channel.created", str(channel.id))]
    assert _outbox(db)[0].dispatched_at is not None


def test_a_failing_subscriber_leaves_the_event_for_a_retry_and_its_writes_undone(
    uow: UnitOfWork, db: Database
):
    def handler(uow: UnitOfWork, event: Event) -> None:
        make_channel(uow, code="side-effect")
        raise RuntimeError("subscriber down")

    outbox.subscribe("sales_channel.created", handler)
    try:
        make_channel(uow, code="web")
        assert dispatch_batch(uow) == 0
    finally:
        outbox.unsubscribe(handler)
    row = _outbox(db)[0]
    assert row.dispatched_at is None and row.attempts == 1 and "subscriber down" in (row.last_error or "")
    assert row.next_attempt_at is not None
    with db.session() as session:
        codes = session.scalars(sa.text("SELECT code FROM sales_channels")).all()
    assert codes == ["web"]


def test_a_batch_subscriber_is_called_once_with_the_batchs_matching_events_in_order(
    uow: UnitOfWork, db: Database
):
    calls: list[list[str]] = []

    def handler(uow: UnitOfWork, events: list[Event]) -> None:
        calls.append([e.payload["code"] for e in events])

    outbox.subscribe_batch("sales_channel.created", handler)
    try:
        # given three channels created in three transactions
        for code in ("web", "phone", "mail"):
            make_channel(uow, code=code)
        # when one relay pass dispatches them
        assert dispatch_batch(uow) == 3
        assert dispatch_batch(uow) == 0
    finally:
        outbox.unsubscribe(handler)
    # then the subscriber was called once, with the three events in the order they were written
    assert calls == [["web", "phone", "mail"]]
    assert all(row.dispatched_at is not None for row in _outbox(db))


def test_a_batch_subscriber_failing_on_one_event_postpones_that_one_and_dispatches_the_others(
    uow: UnitOfWork, db: Database
):
    def handler(uow: UnitOfWork, events: list[Event]) -> None:
        for event in events:
            make_channel(uow, code=f"seen-{event.payload['code']}")
            if event.payload["code"] == "bad":
                raise RuntimeError("cannot take bad")

    outbox.subscribe_batch("sales_channel.created", handler)
    try:
        # given three channels, the middle one an event the subscriber fails on
        for code in ("web", "bad", "mail"):
            make_channel(uow, code=code)
        # when the relay dispatches the batch
        dispatched = dispatch_batch(uow)
    finally:
        outbox.unsubscribe(handler)
    # then the two good events are dispatched, the bad one waits for its retry with the error
    assert dispatched == 2
    rows = {row.payload["code"]: row for row in _outbox(db) if row.type == "sales_channel.created"}
    assert rows["web"].dispatched_at is not None and rows["mail"].dispatched_at is not None
    bad = rows["bad"]
    assert bad.dispatched_at is None and bad.attempts == 1 and "cannot take bad" in (bad.last_error or "")
    # and the writes made for the bad event were undone, those for the good ones kept (each exactly once)
    with db.session() as session:
        codes = sorted(
            session.scalars(sa.text("SELECT code FROM sales_channels WHERE code LIKE 'seen-%'")).all()
        )
    assert codes == ["seen-mail", "seen-web"]


def test_a_pass_where_nothing_fails_opens_no_savepoint_and_one_failure_undoes_only_its_own_writes(
    uow: UnitOfWork, db: Database
):
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split()[0].upper())

    def handler(uow: UnitOfWork, event: Event) -> None:
        if event.payload["code"].startswith("seen-"):
            return  # the subscriber's own channels
        make_channel(uow, code=f"seen-{event.payload['code']}")
        if event.payload["code"] == "bad":
            raise RuntimeError("cannot take bad")

    outbox.subscribe("sales_channel.created", handler)
    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        # given two channels whose events the subscriber takes
        for code in ("web", "phone"):
            make_channel(uow, code=code)
        # when the relay dispatches them, nothing failing
        statements.clear()
        assert dispatch_batch(uow) == 2
        # then the pass wrote the subscriber's rows without a savepoint (each costs a copy of every page written on
        # SQLite, a subtransaction on PostgreSQL)
        assert "SAVEPOINT" not in statements and "INSERT" in statements
        assert dispatch_batch(uow) == 2  # the subscriber's own channels' events
        # and given three more, the middle one an event the subscriber fails on part-way through its writes
        for code in ("mail", "bad", "store"):
            make_channel(uow, code=code)
        # when the relay dispatches them
        assert dispatch_batch(uow) == 2
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
        outbox.unsubscribe(handler)
    # then the batch was run again with a savepoint per event: the good events' writes are there once, the bad
    # one's undone, and it waits for its retry
    with db.session() as session:
        codes = sorted(
            session.scalars(sa.text("SELECT code FROM sales_channels WHERE code LIKE 'seen-%'")).all()
        )
    assert codes == ["seen-mail", "seen-phone", "seen-store", "seen-web"]
    bad = next(r for r in _outbox(db) if r.type == "sales_channel.created" and r.payload["code"] == "bad")
    assert bad.dispatched_at is None and bad.attempts == 1 and "cannot take bad" in (bad.last_error or "")


def test_webhooks_are_signed_and_delivered_by_the_relay(uow: UnitOfWork, db: Database, settings: Settings):
    with webhook_receiver() as receiver:
        new = webhooks.create_subscription(
            uow, url=receiver.url, event_types=["sales_channel.*"], description="erp", settings=settings
        )
        relay = Relay(db, settings)
        relay.start()
        try:
            channel = make_channel(uow, code="web")
            received = receiver.wait_for(1)
        finally:
            relay.stop()
    assert len(received) == 1
    request = received[0]
    body = json.loads(request.body)
    assert body["type"] == "sales_channel.created" and body["data"]["id"] == str(channel.id)
    timestamp = int(request.headers[webhooks.TIMESTAMP_HEADER])
    assert abs(timestamp - time.time()) < 60
    assert webhooks.verify_signature(
        new.secret, timestamp, request.body, request.headers[webhooks.SIGNATURE_HEADER]
    )
    assert not webhooks.verify_signature(
        "wrong", timestamp, request.body, request.headers[webhooks.SIGNATURE_HEADER]
    )
    assert request.headers[webhooks.EVENT_ID_HEADER] == body["id"]
    deliveries = webhooks.list_deliveries(uow, subscription_id=new.subscription.id).items
    assert [(d.status, d.attempts, d.last_status_code) for d in deliveries] == [("delivered", 1, 200)]


def test_a_failing_receiver_gets_retries_with_backoff_then_the_delivery_is_dead_lettered(
    uow: UnitOfWork, db: Database, settings: Settings
):
    with webhook_receiver(status=503) as receiver:
        new = webhooks.create_subscription(
            uow, url=receiver.url, event_types=["*"], description="", settings=settings
        )
        make_channel(uow, code="web")
        dispatch_batch(uow)
        with httpx.Client(timeout=5) as client:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                webhooks.deliver_due(uow, client=client, settings=settings)
                deliveries = webhooks.list_deliveries(uow, subscription_id=new.subscription.id).items
                if deliveries and deliveries[0].status == "dead":
                    break
                time.sleep(0.02)
    delivery = webhooks.list_deliveries(uow, subscription_id=new.subscription.id).items[0]
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "dead",
        settings.webhook_max_attempts,
        503,
    )
    assert len(receiver.requests) == settings.webhook_max_attempts
    attempts = webhooks.list_attempts(uow, subscription_id=new.subscription.id, delivery_id=delivery.id)
    gaps = [(b["at"] - a["at"]).total_seconds() for a, b in itertools.pairwise(attempts)]
    # exponential back-off: attempt n+1 never comes before base * 2^(n-1) after attempt n
    assert gaps[0] >= settings.webhook_backoff_base_s
    assert gaps[1] >= settings.webhook_backoff_base_s * 2
    # the dead-lettering itself is an event other systems can follow
    assert "webhook.dead_lettered" in [r.type for r in _outbox(db)]


def test_a_delivery_is_created_once_per_subscription_and_event(
    uow: UnitOfWork, db: Database, settings: Settings
):
    webhooks.create_subscription(
        uow, url="http://127.0.0.1:9/x", event_types=["*"], description="", settings=settings
    )
    make_channel(uow, code="web")
    event = outbox.to_event(_outbox(db)[0])
    with uow:
        webhooks.enqueue_deliveries(uow, [event])
        webhooks.enqueue_deliveries(uow, [event])  # dispatched twice, e.g. after a crash
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(WebhookDeliveryRow)) == 1


def test_events_reach_nats_jetstream_with_the_event_id_as_message_id(uow: UnitOfWork, db: Database):
    nats = pytest.importorskip("nats")
    stream = f"ORDERSMITH_TEST_{uuid.uuid4().hex[:8].upper()}"
    try:
        publisher = NatsPublisher("nats://127.0.0.1:4222", stream)
        publisher._connect()
    except Exception as exc:  # pragma: no cover - the machine runs NATS; say so loudly if not
        pytest.fail(f"NATS on 127.0.0.1:4222 is not reachable: {exc}")
    channel = make_channel(uow, code=f"n{uuid.uuid4().hex[:8]}")
    try:
        assert dispatch_batch(uow, nats=publisher) == 1
    finally:
        publisher.close()

    async def read_back() -> tuple[dict[str, object], str | None]:
        nc = await nats.connect("nats://127.0.0.1:4222")
        try:
            js = nc.jetstream()
            subject = "ordersmith.sales_channel.created"
            holder = await js.find_stream_name_by_subject(
                subject
            )  # ours, or one that already covered ordersmith.>
            message = await js.get_last_msg(holder, subject)
            if holder == stream:
                await js.delete_stream(stream)
            return json.loads(message.data), (message.headers or {}).get("Nats-Msg-Id")
        finally:
            await nc.close()

    body, msg_id = asyncio.run(read_back())
    assert body["type"] == "sales_channel.created"
    assert body["data"]["id"] == str(channel.id)  # type: ignore[index]
    assert msg_id == body["id"]


def test_the_relay_claims_pending_events_without_reading_the_dispatched_history(
    uow: UnitOfWork, db: Database
):
    # given 4,000 dispatched events of history and three pending ones, and no statistics gathered (SQLite's
    # planner then chose the primary key for the claim's ORDER BY id, reading the whole history every batch)
    now = uow.now()
    history = [{"id": uuid.UUID(int=n + 1), "type": "test.old", "payload": {}, "channel": None,
                "occurred_at": now, "attempts": 0, "dispatched_at": now} for n in range(4_000)]  # fmt: skip
    with db.engine.begin() as conn:
        conn.execute(sa.insert(OutboxRow.__table__), history)  # type: ignore[arg-type]
    make_channel(uow, code="web")
    make_channel(uow, code="mail")
    make_channel(uow, code="phone")
    captured: list[tuple[str, object]] = []

    def record(conn: object, cursor: object, statement: str, parameters: object, *args: object) -> None:
        head = statement.lstrip().upper()
        if (head.startswith("SELECT") and "FROM outbox" in statement) or head.startswith("UPDATE OUTBOX"):
            captured.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    # when the relay dispatches
    try:
        dispatched = outbox.dispatch_pending(uow)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    # then it dispatched the three, and every read of the outbox walked the pending-only index, never the history
    assert dispatched == 3
    assert len(captured) == 2  # is anything pending; the claim (which marks the batch dispatched)
    explain = "EXPLAIN" if db.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    for statement, parameters in captured:
        with db.engine.begin() as conn:  # the claim is an UPDATE: its plan, never run
            steps = [str(row[-1]) for row in conn.exec_driver_sql(f"{explain} {statement}", parameters)]
        plan = " ".join(steps)
        assert "ix_outbox_pending" in plan, plan
        # the pending rows are found through the pending-only index; the claim then reaches each of them by its
        # primary key (a search, not a scan)
        assert "Seq Scan" not in plan, plan
        assert not [s for s in steps if "SCAN outbox" in s and "ix_outbox_pending" not in s], plan
