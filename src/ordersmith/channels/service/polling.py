"""Orders in by polling, for channels that do not push them (Amazon, eBay) or may miss a push (WooCommerce catch-up).

A periodic job (`channels.poll_due`, every minute) queues one poll job per connector whose poll is due, moving its
due time on by a conditional UPDATE so a second runner queues nothing. The poll job claims the connector's poll
state with another conditional UPDATE (`claimed_until` lapsed or empty): of two workers, exactly one polls. It reads
a page from the channel with no transaction open, then records the page's orders in the inbox and stores the
cursor after them in one transaction that also proves the claim is still held — the cursor never runs ahead of
what is committed, and a page read twice (overlapping polls, a lost claim, a channel repeating an order on two
pages) makes no second order: the inbox is unique on the channel's order id.

Invariants: no call to a channel inside a transaction; the cursor moves only with the orders it covers; one poll
per connector at a time; a throttled poll waits as the channel asked, a failing one backs off, one the channel
refuses for good (bad credentials) is paused and dead-lettered until replayed.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.channels import connectors, rules
from ordersmith.channels.service import changes
from ordersmith.channels.service._common import Loaded, access_for, dead_letter, load
from ordersmith.channels.service.inbound import _record
from ordersmith.channels.tables import ConnectorRow, PollStateRow
from ordersmith.kernel.errors import Conflict, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform import jobs
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case

log = logging.getLogger(__name__)

DUE_JOB = "channels.poll_due"
POLL_JOB = "channels.poll_orders"
SCHEDULE = "poll-channels"
SCHEDULE_EVERY_S = 60
DEFAULT_INTERVAL_S = 120
LEASE_S = 300
MAX_PAGES = 10  # pages per poll run; a longer backlog continues in the next run, right away
DUE_PER_RUN = 100


@dataclass(frozen=True)
class PollResult:
    outcome: str  # done | more | busy | throttled | retrying | paused | lost | skipped
    pages: int = 0
    orders: int = 0  # orders the channel returned
    recorded: int = 0  # orders new to the inbox


def interval_s(row: ConnectorRow) -> int:
    return int(row.config.get("poll_interval_s", DEFAULT_INTERVAL_S))


def start_polling(uow: UnitOfWork, row: ConnectorRow) -> None:
    """Give a polled connector its poll state, first poll due now (in the caller's transaction)."""
    if connectors.for_kind(row.kind).polls_orders and uow.session.get(PollStateRow, row.id) is None:
        uow.session.add(
            PollStateRow(connector_id=row.id, cursor={}, next_poll_at=uow.now(), failures=0, paused=False)
        )


@use_case
def queue_due_polls(uow: UnitOfWork) -> int:
    """Queue a poll job for each connector whose poll is due. Returns how many were queued."""
    now = uow.now()
    due = uow.session.execute(
        sa.select(PollStateRow.connector_id, ConnectorRow.config)
        .join(ConnectorRow, ConnectorRow.id == PollStateRow.connector_id)
        .where(
            PollStateRow.next_poll_at <= now, PollStateRow.paused.is_(False), ConnectorRow.active.is_(True)
        )
        .order_by(PollStateRow.next_poll_at)
        .limit(DUE_PER_RUN)
    ).all()
    queued = 0
    for connector_id, config in due:
        moved = uow.session.execute(
            sa.update(PollStateRow)
            .where(PollStateRow.connector_id == connector_id, PollStateRow.next_poll_at <= now)
            .values(
                next_poll_at=now + timedelta(seconds=int(config.get("poll_interval_s", DEFAULT_INTERVAL_S)))
            )
        )
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            jobs.enqueue(uow, POLL_JOB, {"connector_id": str(connector_id)})
            queued += 1
    return queued


@dataclass(frozen=True)
class _Claim:
    loaded: Loaded
    access: connectors.Access
    cursor: dict[str, Any]


@use_case
def _claim(uow: UnitOfWork, *, connector_id: uuid.UUID, worker: str) -> _Claim | None:
    now = uow.now()
    claimed = uow.session.execute(
        sa.update(PollStateRow)
        .where(
            PollStateRow.connector_id == connector_id,
            PollStateRow.paused.is_(False),
            sa.or_(PollStateRow.claimed_until.is_(None), PollStateRow.claimed_until < now),
        )
        .values(claimed_by=worker, claimed_until=now + timedelta(seconds=LEASE_S))
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    loaded = load(uow, connector_id=connector_id)
    state = uow.session.get(PollStateRow, connector_id)
    assert state is not None
    return _Claim(loaded, access_for(uow, loaded.row), dict(state.cursor or {}))


@use_case
def _commit_page(uow: UnitOfWork, *, connector_id: uuid.UUID, worker: str, page: connectors.PollPage) -> int:
    """Record the page's orders and store the cursor after them, if this worker still holds the claim."""
    now = uow.now()
    held = uow.session.execute(
        sa.update(PollStateRow)
        .where(
            PollStateRow.connector_id == connector_id,
            PollStateRow.claimed_by == worker,
            PollStateRow.claimed_until >= now,
        )
        .values(cursor=page.cursor, claimed_until=now + timedelta(seconds=LEASE_S))
    )
    if held.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("another worker holds this connector's poll now", state="lost")
    loaded = load(uow, connector_id=connector_id)
    adapter = connectors.for_kind(loaded.row.kind)
    recorded = 0
    reports = isinstance(adapter, connectors.ReportsChanges)
    for payload in page.orders:
        try:
            reported = adapter.changes(None, payload) if reports else []  # type: ignore[attr-defined]
            parsed = adapter.parse_order(payload) if adapter.wanted(payload) else None
        except ValidationFailed as exc:
            dead_letter(
                uow,
                loaded,
                operation="import_order",
                reference=str(
                    payload.get("AmazonOrderId") or payload.get("orderId") or payload.get("id") or "?"
                )[:200],
                payload={"body": json.dumps(payload)},
                error=str(exc),
                attempts=1,
            )
            continue
        if reported:  # before the order: one first seen cancelled is kept and never imported
            changes.record_changes(uow, loaded, reported)
        if parsed is not None:
            recorded += 0 if _record(uow, loaded, parsed, payload).duplicate else 1
    if page.report.rate_limit:
        loaded.row.rate_limit = page.report.rate_limit
    return recorded


@use_case
def _finish(uow: UnitOfWork, *, connector_id: uuid.UUID, worker: str, done: bool) -> None:
    row = load(uow, connector_id=connector_id).row
    state = uow.session.get(PollStateRow, connector_id, with_for_update=True)
    if state is None or state.claimed_by != worker:
        return
    now = uow.now()
    state.claimed_by, state.claimed_until = None, None
    state.failures = 0
    state.last_polled_at = now
    row.last_success_at = now
    if not done:  # a backlog longer than one run: carry on at once
        state.next_poll_at = now


@use_case
def _failed(
    uow: UnitOfWork,
    *,
    connector_id: uuid.UUID,
    worker: str,
    error: str,
    permanent: bool,
    wait_s: float | None = None,
) -> str:
    loaded = load(uow, connector_id=connector_id, lock=True)
    state = uow.session.get(PollStateRow, connector_id, with_for_update=True)
    if state is None or state.claimed_by != worker:
        return "lost"
    now = uow.now()
    state.claimed_by, state.claimed_until = None, None
    if wait_s is not None:  # throttled: not a failure
        state.next_poll_at = now + timedelta(seconds=wait_s)
        loaded.row.rate_limit = dict(
            loaded.row.rate_limit or {}, waiting_until=state.next_poll_at.isoformat()
        )
        return "throttled"
    state.failures += 1
    loaded.row.last_failure_at, loaded.row.last_error = now, error[:2000]
    if permanent or state.failures >= rules.MAX_ATTEMPTS:
        state.paused = True
        dead_letter(
            uow,
            loaded,
            operation="poll_orders",
            reference=loaded.row.code,
            payload={"cursor": dict(state.cursor or {})},
            error=error,
            attempts=state.failures,
        )
        return "paused"
    state.next_poll_at = now + timedelta(
        seconds=rules.poll_delay_s(state.failures, interval_s=interval_s(loaded.row))
    )
    return "retrying"


def poll_orders(uow: UnitOfWork, *, connector_id: uuid.UUID, worker: str) -> PollResult:
    """Poll one connector: claim it, read pages of changed orders (a few per run) and record each page's orders
    with the cursor after them. Never called inside a transaction."""
    assert not uow.active, "the channel is called with no transaction open"
    claim = _claim(uow, connector_id=connector_id, worker=worker)
    if claim is None:
        return PollResult("busy")
    adapter = connectors.for_kind(claim.loaded.row.kind)
    if not adapter.polls_orders or not claim.loaded.row.active:
        _finish(uow, connector_id=connector_id, worker=worker, done=True)
        return PollResult("skipped")
    cursor, pages, seen, recorded, done = claim.cursor, 0, 0, 0, False
    while not done and pages < MAX_PAGES:
        try:
            page = adapter.poll_orders(claim.access, cursor, uow.now())
        except connectors.RateLimited as exc:
            outcome = _failed(
                uow,
                connector_id=connector_id,
                worker=worker,
                error=str(exc),
                permanent=False,
                wait_s=exc.retry_after_s,
            )
            return PollResult(outcome, pages, seen, recorded)
        except connectors.CallFailed as exc:
            outcome = _failed(
                uow, connector_id=connector_id, worker=worker, error=str(exc), permanent=exc.permanent
            )
            return PollResult(outcome, pages, seen, recorded)
        except (
            Exception
        ) as exc:  # a defect in the adapter: counted, backed off and paused like a channel error
            log.exception("polling connector %s failed", connector_id)
            error = f"{type(exc).__name__}: {exc}"
            outcome = _failed(uow, connector_id=connector_id, worker=worker, error=error, permanent=False)
            return PollResult(outcome, pages, seen, recorded)
        try:
            recorded += _commit_page(uow, connector_id=connector_id, worker=worker, page=page)
        except Conflict:
            return PollResult("lost", pages, seen, recorded)
        if page.settle and isinstance(adapter, connectors.Settles):
            try:  # after the commit: a page settled late is read again, and records nothing twice
                adapter.settle(claim.access, page)
            except connectors.CallFailed as exc:
                outcome = _failed(
                    uow, connector_id=connector_id, worker=worker, error=str(exc), permanent=exc.permanent
                )
                return PollResult(outcome, pages + 1, seen + len(page.orders), recorded)
        pages, seen, cursor, done = pages + 1, seen + len(page.orders), page.cursor, page.done
    _finish(uow, connector_id=connector_id, worker=worker, done=done)
    return PollResult("done" if done else "more", pages, seen, recorded)


@use_case
def poll_soon(uow: UnitOfWork, *, connector: str, principal: Principal | None = None) -> datetime:
    """Poll a polled connector now (un-pausing it). Returns when the regular poll after it is due.

    Raises:
        ValidationFailed: the connector is not polled.
    """
    loaded = load(uow, code=connector, principal=principal)
    state = uow.session.get(PollStateRow, loaded.row.id, with_for_update=True)
    if state is None:
        raise ValidationFailed.on("connector", f"connector {connector} is not polled")
    resume(uow, state)
    uow.audit(
        "channel_connector.poll_requested", object_type="channel_connector", object_id=str(loaded.row.id)
    )
    return state.next_poll_at


def resume(uow: UnitOfWork, state: PollStateRow) -> None:
    """Un-pause and poll now: the poll job is queued here, the regular sweep takes over after it."""
    row = uow.session.get(ConnectorRow, state.connector_id)
    assert row is not None
    state.paused = False
    state.failures = 0
    state.next_poll_at = uow.now() + timedelta(seconds=interval_s(row))
    jobs.enqueue(uow, POLL_JOB, {"connector_id": str(state.connector_id)})


def _due_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    queue_due_polls(uow)


def _poll_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    # The claim names this run, not just the process: two runner threads of one process are two workers.
    worker = f"{jobs.worker_name()}:{new_id()}"
    poll_orders(uow, connector_id=uuid.UUID(str(payload["connector_id"])), worker=worker)
