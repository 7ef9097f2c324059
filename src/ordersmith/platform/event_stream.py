"""Live event stream (SSE) fan-out: one poller per process reads the outbox and feeds every connected client.

Events committed in this process are handed to the clients straight from the commit (no read back). The poller
reads the outbox by UUIDv7 id with a look-back window and remembers what it sent, so events committed by other
processes (or out of id order) are still seen, once each. A client that reconnects with `Last-Event-ID` first gets
every matching event it missed, read from the outbox page by page (however many there are), before the live ones;
an id older than the oldest event the outbox still holds is answered 410 `event_id_too_old` (nothing to resume
from: the client starts afresh).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import sqlalchemy as sa

from ordersmith.kernel.clock import utcnow
from ordersmith.kernel.events import Event, matches
from ordersmith.kernel.ids import id_floor, id_timestamp_ms
from ordersmith.platform.access import event_visible_to
from ordersmith.platform.db import Database
from ordersmith.platform.tables import OutboxRow

log = logging.getLogger(__name__)

LOOK_BACK_MS = 5_000
FULL_SCAN_EVERY_S = 1.0
REPLAY_PAGE = 500


def format_sse(event: Event) -> str:
    data = json.dumps(
        {
            "id": str(event.id),
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "data": event.payload,
        },
        separators=(",", ":"),
    )
    # No `event:` field: every frame is a plain message, so one `onmessage` handler sees all types.
    return f"id: {event.id}\ndata: {data}\n\n"


def _to_event(row: OutboxRow) -> Event:
    return Event(
        type=row.type, payload=row.payload, occurred_at=row.occurred_at, id=row.id, channel=row.channel
    )


@dataclass(eq=False)
class _Client:
    patterns: list[str]
    channel: str | None = None  # a channel-bound key's channel: it gets that channel's events and shared ones
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(maxsize=10_000))

    def wants(self, event: Event) -> bool:
        return event_visible_to(self.channel, event.type, event.channel) and any(
            matches(event.type, p) for p in self.patterns
        )


class EventHub:
    def __init__(self, db: Database, poll_interval_s: float = 0.25) -> None:
        self.db = db
        self.poll_interval_s = poll_interval_s
        self._clients: set[_Client] = set()
        self._seen: dict[uuid.UUID, int] = {}
        self._high_ms = int(utcnow().timestamp() * 1000)
        self._high_id: uuid.UUID | None = None
        self._last_full_scan = 0.0
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        # Its own thread for outbox reads: under load the shared worker pool is full of requests, and the live
        # stream must not queue behind them.
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ordersmith-event-hub")

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.db.on_commit(self._on_commit)
        self._task = asyncio.create_task(self._poll_forever())

    async def stop(self) -> None:
        self.db.remove_on_commit(self._on_commit)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._reader.shutdown(wait=False)
        # A fresh (threadless until used) reader, so a stopped hub can start again: the API tests run one app
        # through many lifespans.
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ordersmith-event-hub")

    def _on_commit(self, events: list[Event]) -> None:
        # Called in the committing thread: hand the events to the loop, which fans them out.
        if self._loop is not None and self._clients:
            self._loop.call_soon_threadsafe(self._offer, events)

    def _offer(self, events: list[Event]) -> None:
        """Give each event not seen before to every client that wants it (runs on the event loop)."""
        for event in events:
            if event.id in self._seen:
                continue
            ms = id_timestamp_ms(event.id)
            self._seen[event.id] = ms
            self._high_ms = max(self._high_ms, ms)
            if self._high_id is None or event.id > self._high_id:
                self._high_id = event.id
            for client in list(self._clients):
                if client.wants(event):
                    try:
                        client.queue.put_nowait(event)
                    except asyncio.QueueFull:
                        log.warning("SSE client too slow; dropping it")
                        self._clients.discard(client)

    def _fetch(self, since: uuid.UUID) -> list[Event]:
        with self.db.session(readonly=True) as session, session.begin():
            rows = session.scalars(
                sa.select(OutboxRow).where(OutboxRow.id > since).order_by(OutboxRow.id).limit(5000)
            )
            return [_to_event(r) for r in rows]

    async def _poll_once(self) -> None:
        # Most polls read only what is newer than the newest event seen; once a second the look-back window is
        # read again, for transactions that committed after a newer id had already been seen.
        now = time.monotonic()
        if now - self._last_full_scan >= FULL_SCAN_EVERY_S or self._high_id is None:
            since = id_floor(max(self._high_ms - LOOK_BACK_MS, 0))
            self._last_full_scan = now
        else:
            since = self._high_id
        self._offer(await asyncio.get_running_loop().run_in_executor(self._reader, self._fetch, since))
        floor = self._high_ms - LOOK_BACK_MS
        self._seen = {k: v for k, v in self._seen.items() if v >= floor}

    async def _poll_forever(self) -> None:
        assert self._wake is not None
        while True:
            try:
                if self._clients:
                    await self._poll_once()
                else:
                    self._high_ms = max(self._high_ms, int(utcnow().timestamp() * 1000) - LOOK_BACK_MS)
                    self._high_id = None
            except Exception:
                log.exception("event stream poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)
            self._wake.clear()

    def resumable(self, after: uuid.UUID) -> bool:
        """Whether a stream can resume after this id: the outbox holds it, or nothing older was purged since."""
        with self.db.session(readonly=True) as session, session.begin():
            if session.get(OutboxRow, after) is not None:
                return True
            oldest = session.scalar(sa.select(OutboxRow.id).order_by(OutboxRow.id).limit(1))
            return oldest is None or after >= oldest

    def _replay_page(self, after: uuid.UUID) -> tuple[list[Event], uuid.UUID | None]:
        """The next page of the outbox after `after` (every type), and the id to read on from (None: the end)."""
        with self.db.session(readonly=True) as session, session.begin():
            rows = list(
                session.scalars(
                    sa.select(OutboxRow).where(OutboxRow.id > after).order_by(OutboxRow.id).limit(REPLAY_PAGE)
                )
            )
        return [_to_event(r) for r in rows], (rows[-1].id if len(rows) == REPLAY_PAGE else None)

    async def stream(
        self,
        patterns: list[str],
        last_event_id: uuid.UUID | None,
        keepalive_s: float,
        channel: str | None = None,
    ) -> AsyncIterator[str]:
        """Yield SSE frames: first what came after `last_event_id`, then live events; comments keep it open.
        With `channel` (a channel-bound key's), only that channel's events and shared ones (`event_visible_to`)."""
        client = _Client(patterns=patterns or ["*"], channel=channel)
        self._clients.add(client)
        sent: set[uuid.UUID] = set()
        try:
            yield "retry: 2000\n: connected\n\n"
            # The client is registered before the replay starts, so what commits meanwhile waits in its queue;
            # the replay reads on until the outbox has no more, and `sent` keeps the overlap from going out twice.
            after = last_event_id
            while after is not None:
                page, after = await asyncio.get_running_loop().run_in_executor(
                    self._reader, self._replay_page, after
                )
                wanted = [event for event in page if client.wants(event)]
                sent.update(event.id for event in wanted)
                if wanted:
                    yield "".join(format_sse(event) for event in wanted)
            if self._wake is not None:
                self._wake.set()
            while client in self._clients:
                try:
                    batch = [await asyncio.wait_for(client.queue.get(), keepalive_s)]
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                while not client.queue.empty() and len(batch) < 500:  # under load: one write for many events
                    batch.append(client.queue.get_nowait())
                frames = "".join(format_sse(event) for event in batch if event.id not in sent)
                if frames:
                    yield frames
        finally:
            self._clients.discard(client)
