"""The outbox relay: delivers events after commit to in-process subscribers, webhooks and NATS JetStream.

Invariant: an event leaves the outbox only after the transaction that wrote it committed, and its mark as
dispatched commits only with the transaction in which every destination took it (the batch is claimed and marked
in one statement, an event a subscriber failed on unmarked again), so a crash at any point means redelivery, never loss
(at-least-once; consumers dedupe by the stable event id, and JetStream does so by `Nats-Msg-Id`). Several relays
may run at once: each claims a batch with `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite runs one writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from ordersmith.kernel.events import Event, matches
from ordersmith.platform import tls, webhooks
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Event], None]
BatchHandler = Callable[[UnitOfWork, list[Event]], None]
Filter = Callable[[Event], bool]
_subscribers: list[tuple[str, Handler, Filter | None]] = []
_batch_subscribers: list[tuple[str, BatchHandler, Filter | None]] = []
# the per-event subscribers whose pattern an event type matches, worked out once per type
_by_type: dict[str, list[tuple[Handler, Filter | None]]] = {}
_changes = [0]  # bumped by every (un)subscription: a list worked out before one is not kept


def subscribe(pattern: str, handler: Handler, *, when: Filter | None = None) -> None:
    """Run `handler(uow, event)` for each matching event, inside the relay's transaction for that event.

    `when` (optional) looks at the event first: events it turns down cost the relay nothing (no savepoint, no
    handler). A handler that raises leaves the event undispatched; it is retried with back-off.
    """
    _subscribers.append((pattern, handler, when))
    _changes[0] += 1
    _by_type.clear()


def subscribe_batch(pattern: str, handler: BatchHandler, *, when: Filter | None = None) -> None:
    """Run `handler(uow, events)` once per relay batch with the batch's matching events (in outbox order), after
    the per-event subscribers of the batch, inside the relay's transaction.

    For subscribers that reconcile (bring something in line with the current state) rather than replay: one call
    can read and write for a whole batch set-wise. When the handler raises, its writes are undone and it is called
    again for each event on its own, so one bad event waits for its retry and the others are dispatched.
    """
    _batch_subscribers.append((pattern, handler, when))


def unsubscribe(handler: Handler | BatchHandler) -> None:
    _subscribers[:] = [(p, h, w) for p, h, w in _subscribers if h is not handler]
    _changes[0] += 1
    _by_type.clear()
    _batch_subscribers[:] = [(p, h, w) for p, h, w in _batch_subscribers if h is not handler]


def to_event(row: OutboxRow) -> Event:
    return Event(
        type=row.type, payload=row.payload, occurred_at=row.occurred_at, id=row.id, channel=row.channel
    )


class NatsPublisher:
    """Publishes events to JetStream subjects `ordersmith.<event type>`, deduplicated by event id."""

    def __init__(self, url: str, stream: str) -> None:
        self.url = url
        self.stream = stream
        self._loop = asyncio.new_event_loop()
        self._nc: Any = None
        self._js: Any = None

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    def _connect(self) -> None:
        import nats
        from nats.js.errors import BadRequestError

        async def connect() -> None:
            self._nc = await nats.connect(self.url, connect_timeout=2, max_reconnect_attempts=1)
            self._js = self._nc.jetstream()
            with contextlib.suppress(BadRequestError):  # exists with another configuration: use it
                await self._js.add_stream(name=self.stream, subjects=["ordersmith.>"])

        self._run(connect())

    def publish(self, event: Event) -> None:
        if self._js is None or (self._nc is not None and not self._nc.is_connected):
            self._connect()
        body = json.dumps(
            {
                "id": str(event.id),
                "type": event.type,
                "occurred_at": event.occurred_at.isoformat(),
                "data": event.payload,
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        self._run(self._js.publish(f"ordersmith.{event.type}", body, headers={"Nats-Msg-Id": str(event.id)}))

    def close(self) -> None:
        if self._nc is not None:
            try:
                self._run(self._nc.close())
            except Exception:
                log.debug("closing NATS failed", exc_info=True)
        self._loop.close()


_OUTBOX = OutboxRow.__table__
# Built once: the relay asks this many times a second.
_ANY_PENDING = (
    sa.select(_OUTBOX.c.id)
    .where(_OUTBOX.c.dispatched_at.is_(None))
    .where(sa.or_(_OUTBOX.c.next_attempt_at.is_(None), _OUTBOX.c.next_attempt_at <= sa.bindparam("now")))
    .limit(1)
)


@use_case(readonly=True)
def _any_pending(uow: UnitOfWork) -> bool:
    return uow.execute_core(_ANY_PENDING, {"now": uow.now()}).first() is not None


def dispatch_pending(uow: UnitOfWork, *, nats: NatsPublisher | None = None, limit: int = 100) -> int:
    """Dispatch a batch when anything is pending (checked with a cheap read first)."""
    return dispatch_batch(uow, nats=nats, limit=limit) if _any_pending(uow) else 0


# Claimed and marked dispatched in one statement: the batch's events are marked in the relay's own transaction, so
# the mark commits with the subscribers' writes or not at all, as when it came last. An event a subscriber failed
# on is unmarked again by `_postpone`. PostgreSQL locks the claimed rows and other relays skip them.
_PENDING = (
    sa.select(_OUTBOX.c.id)
    .where(_OUTBOX.c.dispatched_at.is_(None))
    .where(sa.or_(_OUTBOX.c.next_attempt_at.is_(None), _OUTBOX.c.next_attempt_at <= sa.bindparam("now")))
    .order_by(_OUTBOX.c.id)
    .limit(sa.bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_CLAIM_BATCH = (
    sa.update(_OUTBOX)  # type: ignore[arg-type]
    .where(_OUTBOX.c.id.in_(_PENDING.scalar_subquery()))
    .values(dispatched_at=sa.bindparam("now"))
    .returning(
        _OUTBOX.c.id,
        _OUTBOX.c.type,
        _OUTBOX.c.payload,
        _OUTBOX.c.channel,
        _OUTBOX.c.occurred_at,
        _OUTBOX.c.attempts,
    )
)


class _Unguarded(Exception):
    """A subscriber failed in a batch run without savepoints: the batch's transaction is rolled back and the batch
    run again with them."""


def dispatch_batch(uow: UnitOfWork, *, nats: NatsPublisher | None = None, limit: int = 100) -> int:
    """Claim undispatched events and hand each to every destination; returns how many were dispatched.

    A batch first runs its subscribers without savepoints: on SQLite every page a statement changes under a
    savepoint is also copied to the savepoint's journal (about twice the cost of each write: the journal's rows,
    fulfillment's shipments), and on PostgreSQL each savepoint is a subtransaction. Only when a subscriber fails is
    that transaction rolled back and the batch run again with a savepoint per event and per batch subscriber, so
    the failing one's writes are undone and its events postponed while the rest go through."""
    if uow.active:  # inside a caller's transaction: it cannot be rolled back alone
        return _dispatch(uow, nats=nats, limit=limit, guarded=True)
    try:
        return _dispatch(uow, nats=nats, limit=limit, guarded=False)
    except _Unguarded as failed:
        log.info("a subscriber failed (%s): the batch runs again with a savepoint each", failed)
        return _dispatch(uow, nats=nats, limit=limit, guarded=True)


def _handlers_of(event: Event) -> list[Handler]:
    matching = _by_type.get(event.type)
    if matching is None:  # once per event type (until the subscribers change), not per event
        seen = _changes[0]
        matching = [(h, w) for p, h, w in _subscribers if matches(event.type, p)]
        if _changes[0] == seen:
            _by_type[event.type] = matching
    return [handler for handler, when in matching if when is None or when(event)]


@use_case
def _dispatch(uow: UnitOfWork, *, nats: NatsPublisher | None, limit: int, guarded: bool) -> int:
    now = uow.now()
    dispatched: list[Event] = []
    attempts_of: dict[uuid.UUID, int] = {}
    for event, attempts in _claim(uow, now, limit):
        attempts_of[event.id] = attempts
        handlers = _handlers_of(event)
        if not guarded:
            try:
                for handler in handlers:
                    handler(uow, event)
                if nats is not None:
                    nats.publish(event)
            except Exception as exc:
                raise _Unguarded(f"{event.type} {event.id}: {type(exc).__name__}: {str(exc)[:300]}") from exc
            dispatched.append(event)
            continue
        mark = uow.checkpoint()
        try:
            if handlers or nats is not None:
                # A savepoint per event only where something can fail: a failing handler's writes are undone
                # and the event waits for its retry, while the rest of the batch goes on.
                with uow.session.begin_nested():
                    for handler in handlers:
                        handler(uow, event)
                    if nats is not None:
                        nats.publish(event)
            dispatched.append(event)
        except Exception as exc:
            uow.rewind(mark)  # what the failed handler recorded went with its savepoint
            _postpone(uow, event, attempts_of[event.id], exc, now)
    failed = _run_batch_handlers(uow, dispatched, attempts_of, now, guarded=guarded)
    if failed:
        dispatched = [event for event in dispatched if event.id not in failed]
    webhooks.enqueue_deliveries(uow, dispatched)
    return len(dispatched)


# SQLite: the claim read through the driver, its values decoded here (SQLAlchemy's result processing of a uuid, a
# JSON document and a datetime per row was a tenth of the relay's time in bench.finance). Timestamps are stored as
# SQLAlchemy writes a UTC `DateTime` there: naive ISO text with microseconds.
_CLAIM_SQLITE = (
    "UPDATE outbox SET dispatched_at = ? WHERE id IN (SELECT id FROM outbox WHERE dispatched_at IS NULL"
    " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?)"
    " RETURNING id, type, payload, channel, occurred_at, attempts"
)


def _claim(uow: UnitOfWork, now: datetime, limit: int) -> list[tuple[Event, int]]:
    """Mark the next undispatched events due by `now` (at most `limit`) dispatched at `now`, in this transaction,
    and return them in outbox order with their attempts so far."""
    if uow.dialect != "sqlite":
        claimed = [
            (Event.stored(r.type, r.payload, r.occurred_at.astimezone(UTC), r.id, r.channel), r.attempts)
            for r in uow.execute_core(_CLAIM_BATCH, {"now": now, "limit": limit})
        ]
        claimed.sort(key=lambda pair: pair[0].id)  # RETURNING keeps no order
        return claimed
    stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    # RETURNING keeps no order; the ids' 32 hex digits sort as the ids do
    rows = sorted(uow.session.connection().exec_driver_sql(_CLAIM_SQLITE, (stamp, stamp, limit)).tuples())
    parse, load, to_uuid = datetime.fromisoformat, json.loads, uuid.UUID
    return [
        (Event.stored(kind, load(payload), parse(f"{at}+00:00"), to_uuid(hex=ident), channel), attempts)
        for ident, kind, payload, channel, at, attempts in rows
    ]


def _run_batch_handlers(
    uow: UnitOfWork, events: list[Event], attempts_of: dict[uuid.UUID, int], now: datetime, *, guarded: bool
) -> set[uuid.UUID]:
    """Each batch subscriber once with its events; unguarded, a failure raises `_Unguarded`; guarded, a failing
    call is undone by its savepoint and repeated event by event. Returns the ids of the events a subscriber failed
    on (postponed, not dispatched)."""
    failed: set[uuid.UUID] = set()
    for pattern, handler, when in list(_batch_subscribers):
        mine = [
            e for e in events if e.id not in failed and matches(e.type, pattern) and (when is None or when(e))
        ]
        if not mine:
            continue
        if not guarded:
            try:
                handler(uow, mine)
            except Exception as exc:
                raise _Unguarded(
                    f"batch subscriber {handler} on {len(mine)} events: {type(exc).__name__}: {str(exc)[:300]}"
                ) from exc
            continue
        mark = uow.checkpoint()
        try:
            with uow.session.begin_nested():
                handler(uow, mine)
            continue
        except Exception as exc:
            uow.rewind(mark)
            log.info("batch subscriber %s failed on %d events (%s: %s): retried one by one", handler, len(mine),
                     type(exc).__name__, str(exc)[:300])  # fmt: skip
        for event in mine:
            mark = uow.checkpoint()
            try:
                with uow.session.begin_nested():
                    handler(uow, [event])
            except Exception as exc:
                uow.rewind(mark)
                _postpone(uow, event, attempts_of[event.id], exc, now)
                failed.add(event.id)
    return failed


def _postpone(uow: UnitOfWork, event: Event, attempts: int, exc: Exception, now: datetime) -> None:
    """The event stays undispatched and is tried again after a back-off (2^attempts s, at most 5 minutes)."""
    attempts += 1
    error = f"{type(exc).__name__}: {exc}"[:1000]
    uow.execute_core(
        sa.update(_OUTBOX)  # type: ignore[arg-type]
        .where(_OUTBOX.c.id == event.id)
        .values(
            dispatched_at=None,  # claimed (marked) with its batch: not dispatched after all
            attempts=attempts,
            last_error=error,
            next_attempt_at=now + timedelta(seconds=min(2**attempts, 300)),
        )
    )
    log.warning("event %s (%s) not dispatched: %s", event.id, event.type, error)


class Relay:
    """A background thread that dispatches the outbox and sends due webhooks, woken at once by commits."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _on_commit(self, events: list[Event]) -> None:
        self._wake.set()

    def start(self) -> None:
        self.db.on_commit(self._on_commit)
        self._thread = threading.Thread(target=self._run, name="ordersmith-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self.db.remove_on_commit(self._on_commit)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        nats = (
            NatsPublisher(self.settings.nats_url, self.settings.nats_stream)
            if self.settings.nats_url
            else None
        )
        client = httpx.Client(
            verify=tls.client_context(), timeout=self.settings.webhook_timeout_s, follow_redirects=False
        )
        uow = self.db.unit_of_work(Actor.system("relay"))
        interval = self.settings.relay_poll_interval_ms / 1000
        try:
            while not self._stop.is_set():
                busy = 0
                try:
                    busy += dispatch_pending(uow, nats=nats)
                    busy += webhooks.deliver_due(uow, client=client, settings=self.settings)
                except Exception:
                    log.exception("relay pass failed")
                    self._stop.wait(1.0)
                if not busy:
                    self._wake.wait(interval)
                    self._wake.clear()
                # Let commits that arrive together be dispatched together (one claim, not one per commit): under
                # load the relay then takes the writer's turn a few dozen times a second, not once per commit.
                self._stop.wait(self.settings.relay_batch_window_ms / 1000)
        finally:
            client.close()
            if nats is not None:
                nats.close()
