"""Posting under concurrency, on SQLite and PostgreSQL: workers posting the same event at the same moment (two
relays, a replay beside the relay) leave exactly one journal entry for it; two set-wise replays of the same
outbox at once post each event once."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from ordersmith.finance import service as finance
from ordersmith.kernel.events import Event
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case


def capture() -> Event:
    return Event(
        type="payment.captured",
        payload={
            "payment_id": str(uuid.uuid4()),
            "order_id": str(uuid.uuid4()),
            "method": "card",
            "amount": "12.50",
            "currency": "USD",
        },
        occurred_at=datetime(2026, 11, 10, 12, tzinfo=UTC),
    )


def post_at_once(db: Database, event: Event, workers: int) -> list[bool]:
    results: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(workers)

    def one(n: int) -> None:
        uow = db.unit_of_work(Actor.system(f"relay-{n}"))
        barrier.wait()
        try:
            posted = finance.post_event(uow, event)
        except BaseException as exc:  # collected: the test names it
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(posted)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def test_two_workers_posting_the_same_event_at_once_leave_one_entry(uow: UnitOfWork, db: Database):
    # given the chart, and ten captures
    finance.ensure_chart(uow)
    events = [capture() for _ in range(10)]
    # when two workers post each of them at the same moment (and then six more race on each)
    firsts = [post_at_once(db, event, 2) for event in events]
    thens = [post_at_once(db, event, 6) for event in events]
    # then each event was posted by exactly one worker, once, and the books balance
    assert [sorted(r) for r in firsts] == [[False, True]] * 10
    assert thens == [[False] * 6] * 10
    with db.engine.connect() as conn:
        per_event = conn.execute(
            sa.text("SELECT source_event_id, COUNT(*) FROM journal_entries GROUP BY source_event_id")
        ).all()
    assert len(per_event) == 10 and {count for _, count in per_event} == {1}
    assert finance.unposted_amount(uow, currency="USD").is_zero()


@use_case
def _emit_captures(uow: UnitOfWork, *, count: int) -> None:
    for _ in range(count):
        event = capture()
        uow.emit(event.type, dict(event.payload))


def test_two_replays_of_the_same_outbox_at_once_post_each_event_once(uow: UnitOfWork, db: Database):
    # given thirty captures waiting in the outbox (no relay running)
    _emit_captures(uow, count=30)
    # when two workers replay the outbox set-wise at the same moment
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def replay(n: int) -> None:
        worker = db.unit_of_work(Actor.system(f"replay-{n}"))
        barrier.wait()
        try:
            results.append(finance.replay_outbox(worker, batch=10))
        except BaseException as exc:  # collected: the test names it
            errors.append(exc)

    threads = [threading.Thread(target=replay, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then both read every event, between them they posted each exactly once, and the books balance
    assert errors == []
    assert [read for read, _posted in results] == [30, 30]
    assert sum(posted for _read, posted in results) == 30
    with db.engine.connect() as conn:
        counts = conn.execute(
            sa.text("SELECT COUNT(*), COUNT(DISTINCT source_event_id) FROM journal_entries")
        ).one()
    assert tuple(counts) == (30, 30)
    assert finance.unposted_amount(uow, currency="USD").is_zero()
