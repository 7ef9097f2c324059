"""Plugins' event subscribers: delivered by the outbox relay, isolated from every other subscriber (ADR 0034).

Invariant: a plugin's subscriber never holds an event back. The relay calls it like any subscriber, but a failure
is caught: the event goes on to every other destination and is dispatched, and a `plugin_deliveries` row (written in
the relay's transaction, so it exists exactly when the event was dispatched) keeps it for that subscriber alone. The
`platform.plugin_redeliver` job tries it again with back-off (2^attempts s, at most 5 minutes) and marks it dead
after `ORDERSMITH_WEBHOOK_MAX_ATTEMPTS` attempts, as webhooks are. Delivery is at least once: subscribers dedupe by
`event.id`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.events import Event, matches
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform import jobs, outbox, plugins
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page
from ordersmith.platform.tables import OutboxRow, PluginDeliveryRow

log = logging.getLogger(__name__)

STATUSES = ("pending", "delivered", "dead")
REDELIVER_JOB = "platform.plugin_redeliver"
REDELIVER_SCHEDULE = "plugin-redeliver"
_T = PluginDeliveryRow.__table__
_installed: list[outbox.Handler] = []


@dataclass(frozen=True)
class Delivery:
    id: uuid.UUID
    plugin: str
    subscriber: str
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 300))


def _handler_for(contribution: plugins.Contribution) -> outbox.Handler:
    def deliver(uow: UnitOfWork, event: Event) -> None:
        with plugins._lock:
            contribution.calls += 1
        try:
            contribution.value(event)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:1000]
            contribution.failed(error)
            log.warning("plugin %s subscriber %s failed on event %s (%s): %s; retried apart", contribution.plugin,
                        contribution.name, event.id, event.type, error, exc_info=True)  # fmt: skip
            mark = uow.checkpoint()
            try:
                with (
                    uow.session.begin_nested()
                ):  # keeping the retry must not fail the event for the others either
                    uow.execute_core(
                        sa.insert(_T).values(  # type: ignore[arg-type]
                            id=new_id(), plugin=contribution.plugin, subscriber=contribution.name,
                            event_id=event.id, event_type=event.type, status="pending", attempts=1,
                            next_attempt_at=uow.now() + _backoff(1), last_error=error, created_at=uow.now(),
                            finished_at=None,
                        )
                    )  # fmt: skip
            except Exception:
                uow.rewind(mark)
                log.exception("plugin %s subscriber %s: its retry of event %s could not be kept", contribution.plugin,
                              contribution.name, event.id)  # fmt: skip

    deliver.__qualname__ = f"plugin:{contribution.plugin}:{contribution.name}"
    return deliver


def install(loaded: plugins.Loaded) -> None:
    """Subscribe the loaded plugins' subscribers to the outbox (replacing those of an earlier load)."""
    for handler in _installed:
        outbox.unsubscribe(handler)
    _installed.clear()
    for contribution in loaded.of("subscriber"):
        handler = _handler_for(contribution)
        outbox.subscribe(contribution.name, handler)
        _installed.append(handler)
    if _installed:
        jobs.schedule(REDELIVER_SCHEDULE, kind=REDELIVER_JOB, every_s=30)
    else:  # no job runs (no row is written every period) for a service without plugin subscribers
        jobs.unschedule(REDELIVER_SCHEDULE)


_DUE = (
    sa.select(_T.c.id, _T.c.plugin, _T.c.subscriber, _T.c.event_id, _T.c.attempts)
    .where(_T.c.status == "pending", _T.c.next_attempt_at <= sa.bindparam("now"))
    .order_by(_T.c.next_attempt_at)
    .limit(sa.bindparam("limit"))
    .with_for_update(skip_locked=True)
)


@use_case
def redeliver_due(uow: UnitOfWork, *, limit: int = 50) -> int:
    """Try the due failed deliveries again (one transaction); returns how many were tried. A row whose
    plugin is not loaded in this process waits (the next process that loads it delivers it)."""
    now = uow.now()
    max_attempts = plugins.max_attempts
    loaded = {(c.plugin, c.name): c for c in plugins.contributions("subscriber")}
    tried = 0
    for row in uow.execute_core(_DUE, {"now": now, "limit": limit}).all():
        contribution = loaded.get((row.plugin, row.subscriber))
        if contribution is None:
            continue
        stored = uow.session.get(OutboxRow, row.event_id)
        if stored is None or not matches(stored.type, row.subscriber):
            continue
        tried += 1
        values: dict[str, Any]
        try:
            with plugins._lock:
                contribution.calls += 1
            contribution.value(outbox.to_event(stored))
            values = {"status": "delivered", "attempts": row.attempts + 1, "next_attempt_at": None,
                      "finished_at": now}  # fmt: skip
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:1000]
            contribution.failed(error)
            attempts = row.attempts + 1
            dead = attempts >= max_attempts
            values = {"attempts": attempts, "last_error": error, "status": "dead" if dead else "pending",
                      "next_attempt_at": None if dead else now + _backoff(attempts),
                      "finished_at": now if dead else None}  # fmt: skip
            log.warning("plugin %s subscriber %s failed again on event %s (attempt %d)%s: %s", row.plugin,
                        row.subscriber, row.event_id, attempts, ": dead-lettered" if dead else "", error)  # fmt: skip
        uow.execute_core(sa.update(_T).where(_T.c.id == row.id).values(**values))  # type: ignore[arg-type]
    return tried


def _redeliver_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    if plugins.contributions("subscriber"):
        redeliver_due(uow)


def register() -> None:
    jobs.register(REDELIVER_JOB, _redeliver_job)


def _delivery(row: PluginDeliveryRow) -> Delivery:
    return Delivery(
        id=row.id, plugin=row.plugin, subscriber=row.subscriber, event_id=row.event_id, event_type=row.event_type,
        status=row.status, attempts=row.attempts, next_attempt_at=row.next_attempt_at, last_error=row.last_error,
        created_at=row.created_at, finished_at=row.finished_at,
    )  # fmt: skip


@use_case(readonly=True)
def list_deliveries(
    uow: UnitOfWork, *, status: str | None = None, limit: int = 50, cursor: str | None = None
) -> Page[Delivery]:
    """Plugins' failed deliveries, newest first (`status`: pending, delivered or dead).

    Raises:
        ValidationFailed: an unknown status (naming `status`).
    """
    if status is not None and status not in STATUSES:
        raise ValidationFailed.on("status", f"one of {', '.join(STATUSES)}")
    query = sa.select(PluginDeliveryRow)
    if status is not None:
        query = query.where(PluginDeliveryRow.status == status)
    return keyset_page(uow, query, keys=[PluginDeliveryRow.id], to_item=_delivery, cursor=cursor, limit=limit,
                       descending=True)  # fmt: skip
