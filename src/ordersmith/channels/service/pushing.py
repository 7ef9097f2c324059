"""The push loop that stock and prices share: read a connector's pending rows and their SKU maps, call the channel
with no transaction open, then record the outcome in a short transaction of its own.

A `Flow` names what differs between the two (the pending table, the job, the connector's due column, how a pending
row becomes the channel's update and a dead letter's entry). The outcome of one run is one of: sent (the pending
rows handled are cleared, the health read updated, the next push queued if more is pending); throttled (the job
comes back when the channel asked, same attempt); failed, by the channel's error or a defect in its adapter alike
(retried with back-off, then the rows are dead-lettered); or sent with some updates refused one by one
(`CallReport.refused`: the others are done, the refused ones go to one dead letter whose replay puts them back as
pending).

A run takes the pending rows in turn: from the item after the last one the previous run sent (`after` in the job's
payload), wrapping around, so with more pending items than a run sends, none waits behind items that keep changing.

Invariants: no call to a channel inside a transaction; a row changed while its push was on the wire (a later
`changed_at`) stays pending for the next push; the connector's row is locked while its push is scheduled, so one
push job per flow is queued per connector at a time.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from ordersmith.channels import connectors, rules
from ordersmith.channels.service._common import Loaded, access_for, dead_letter, load
from ordersmith.channels.tables import ConnectorRow, PendingPriceRow, PendingStockRow, SkuMapRow
from ordersmith.platform import jobs
from ordersmith.platform.db import UnitOfWork, use_case

log = logging.getLogger(__name__)

DEFAULT_WINDOW_S = 5
CALLS_PER_RUN = 4

V = TypeVar("V")  # a pending value: an available-to-sell figure, a price
U = TypeVar("U")  # what the connector takes for one listing

Pending = list[tuple[str, V, datetime]]  # item SKU, value, when it was recorded


@dataclass(frozen=True)
class Flow(Generic[V, U]):
    """One kind of push: stock or prices."""

    job: str
    operation: str  # the dead letter's operation (replay dispatches on it)
    noun: str  # the dead letter's reference: "3 item(s)", "2 price(s)"
    table: type[PendingStockRow] | type[PendingPriceRow]
    due: str  # the connector's column holding when its queued push is due
    window_s: Callable[[ConnectorRow], int]
    adapter: Callable[[str], Any]  # the kind's connector when it takes this flow, else None
    batch_size: Callable[[Any], int]
    value: Callable[[Any], V]  # a pending row's value
    update: Callable[[SkuMapRow, V], U]
    send: Callable[[Any, connectors.Access, list[U]], connectors.CallReport]  # raises CallFailed, RateLimited
    listing: Callable[[U], str]  # the listing an update is for (a per-listing refusal names it)
    letter: Callable[[str, V], dict[str, Any]]  # a dead letter's entry for an item SKU and its value


def schedule(
    uow: UnitOfWork, flow: Flow[Any, Any], row: ConnectorRow, *, at: datetime, after: str = ""
) -> None:
    """Queue the connector's push for `at` unless one is queued (the caller holds the connector's lock); it starts
    with the pending item after `after`."""
    if getattr(row, flow.due) is None:
        setattr(row, flow.due, at)
        jobs.enqueue(uow, flow.job, {"connector_id": str(row.id), "attempt": 0, "after": after}, run_at=at)


def run_size(flow: Flow[Any, Any], adapter: Any) -> int:
    """How many pending items one run takes: a few of the channel's batches (`push_calls_per_run` of them when the
    adapter says: Amazon's run is one batch of ten, two seconds of its plan, so no figure goes stale on the wire)."""
    return flow.batch_size(adapter) * int(getattr(adapter, "push_calls_per_run", CALLS_PER_RUN))


@dataclass(frozen=True)
class _Batch(Generic[V, U]):
    loaded: Loaded
    access: connectors.Access
    pending: Pending[V]
    updates: list[tuple[str, U]]  # item SKU, the channel's update (one per mapped channel SKU)
    full: bool  # the run took as many items as it may: more may be waiting their turn


@use_case(readonly=True)
def _batch(uow: UnitOfWork, *, flow: Flow[V, U], connector_id: uuid.UUID, after: str) -> _Batch[V, U] | None:
    loaded = load(uow, connector_id=connector_id)
    adapter = flow.adapter(loaded.row.kind)
    if adapter is None:
        return None
    table = flow.table
    limit = run_size(flow, adapter)
    mine = sa.select(table).where(table.connector_id == connector_id).order_by(table.item_sku)
    rows: list[Any] = list(uow.session.scalars(mine.where(table.item_sku > after).limit(limit)))
    if len(rows) < limit and after:  # wrap around to the items before `after`
        rows += uow.session.scalars(mine.where(table.item_sku <= after).limit(limit - len(rows)))
    pending = [(r.item_sku, flow.value(r), r.changed_at) for r in rows]
    values = {sku: value for sku, value, _ in pending}
    maps = uow.session.scalars(
        sa.select(SkuMapRow)
        .where(
            SkuMapRow.connector_id == connector_id,
            SkuMapRow.item_sku.in_(list(values)),
            SkuMapRow.listing_id != "",
        )
        .order_by(SkuMapRow.item_sku, SkuMapRow.channel_sku)
    )
    by_sku: dict[str, list[SkuMapRow]] = {}
    for m in maps:
        by_sku.setdefault(m.item_sku, []).append(m)
    # In the run's own order (from `after`, wrapping around): a channel that runs out of rate part-way defers the
    # tail of this order, and the next run starts there.
    updates = [(sku, flow.update(m, value)) for sku, value, _ in pending for m in by_sku.get(sku, ())]
    return _Batch(loaded, access_for(uow, loaded.row), pending, updates, len(rows) >= limit)


def push(uow: UnitOfWork, flow: Flow[V, U], *, connector_id: uuid.UUID, attempt: int, after: str = "") -> int:
    """One run of the connector's push: a few batches of its pending rows, from the item after `after`. Returns how
    many updates the channel took."""
    assert not uow.active, "the channel is called with no transaction open"
    batch = _batch(uow, flow=flow, connector_id=connector_id, after=after)
    if batch is None:
        return 0
    if not batch.updates:
        _done(
            uow,
            flow=flow,
            connector_id=connector_id,
            pending=batch.pending,
            report=connectors.CallReport(),
            backlog=batch.full,
        )
        return 0
    adapter = flow.adapter(batch.loaded.row.kind)
    try:
        report = flow.send(adapter, batch.access, [update for _, update in batch.updates])
    except connectors.RateLimited as exc:
        _later(
            uow,
            flow=flow,
            connector_id=connector_id,
            delay_s=exc.retry_after_s,
            attempt=attempt,
            error=None,
            after=after,
        )
        return 0
    except Exception as exc:
        # The channel's error (CallFailed), or a defect in its adapter: retried, then dead-lettered. Left to fail
        # the job, a defect would leave the connector's push marked queued (`flow.due`) with no job behind it, and
        # no later change would ever schedule another.
        if isinstance(exc, connectors.CallFailed):
            permanent, error = exc.permanent, str(exc)
        else:
            log.exception("pushing %s to connector %s failed", flow.noun, connector_id)
            permanent, error = False, f"{type(exc).__name__}: {exc}"
        delay = rules.retry_delay_s(attempt + 1, permanent=permanent)
        if delay is None:
            _dead(uow, flow=flow, connector_id=connector_id, pending=batch.pending, error=error,
                  attempts=attempt + 1)  # fmt: skip
        else:
            _later(uow, flow=flow, connector_id=connector_id, delay_s=delay, attempt=attempt + 1, error=error,
                   after=after)  # fmt: skip
        return 0
    refused = {sku for sku, update in batch.updates if flow.listing(update) in report.refused}
    deferred = {sku for sku, update in batch.updates if flow.listing(update) in report.deferred}
    handled = batch.pending
    if (
        deferred
    ):  # the channel's rate ran out part-way: what went out is done, the rest waits for the next run
        first = next(n for n, (sku, _, _) in enumerate(batch.pending) if sku in deferred)
        handled = batch.pending[:first]
    _done(
        uow,
        flow=flow,
        connector_id=connector_id,
        pending=handled,
        report=report,
        refused=refused,
        attempts=attempt + 1,
        backlog=batch.full and not deferred,
        after=after,
    )
    return sum(1 for sku, _ in batch.updates if sku not in refused and sku not in deferred)


def _clear(uow: UnitOfWork, flow: Flow[V, U], connector_id: uuid.UUID, pending: Pending[V]) -> None:
    """Drop the pending rows just handled; one recorded meanwhile (a later `changed_at`) stays for the next."""
    table = flow.table
    for sku, _, changed_at in pending:
        uow.session.execute(
            sa.delete(table).where(
                table.connector_id == connector_id, table.item_sku == sku, table.changed_at <= changed_at
            )
        )


def _next(
    uow: UnitOfWork,
    flow: Flow[V, U],
    row: ConnectorRow,
    pending: Pending[V],
    report: connectors.CallReport,
    *,
    backlog: bool = False,
    after: str = "",
) -> None:
    """Queue the next push if anything is pending, to start after the last item of this one (or where this one
    started, when it handled none): a window later, at
    once when this run was full (items are waiting their turn: a window would only add to their lag, and they
    were coalesced while they waited), or when the channel's rate allows after a deferral."""
    setattr(row, flow.due, None)
    table = flow.table
    more = uow.session.scalar(sa.select(table.item_sku).where(table.connector_id == row.id).limit(1))
    if more is not None:
        after = pending[-1][0] if pending else after
        if report.deferred:
            wait_s = max(float(flow.window_s(row)), report.retry_after_s)
        else:
            wait_s = 0.0 if backlog else float(flow.window_s(row))
        schedule(uow, flow, row, at=uow.now() + timedelta(seconds=wait_s), after=after)


def _letter(
    uow: UnitOfWork,
    flow: Flow[V, U],
    loaded: Loaded,
    pending: Sequence[tuple[str, V, datetime]],
    *,
    error: str,
    attempts: int,
) -> None:
    updates = [flow.letter(sku, value) for sku, value, _ in pending]
    dead_letter(
        uow,
        loaded,
        operation=flow.operation,
        reference=f"{len(updates)} {flow.noun}",
        payload={"updates": updates},
        error=error,
        attempts=attempts,
    )


@use_case
def _done(
    uow: UnitOfWork,
    *,
    flow: Flow[V, U],
    connector_id: uuid.UUID,
    pending: Pending[V],
    report: connectors.CallReport,
    refused: set[str] | None = None,
    attempts: int = 1,
    backlog: bool = False,
    after: str = "",
) -> None:
    loaded = load(uow, connector_id=connector_id, lock=True)
    row = loaded.row
    _clear(uow, flow, connector_id, pending)
    row.last_success_at = uow.now()
    if report.rate_limit:
        row.rate_limit = report.rate_limit
    if refused:
        error = "; ".join(f"{listing}: {reason}" for listing, reason in sorted(report.refused.items()))
        kept = [entry for entry in pending if entry[0] in refused]
        _letter(uow, flow, loaded, kept, error=error, attempts=attempts)
    _next(uow, flow, row, pending, report, backlog=backlog, after=after)


@use_case
def _later(
    uow: UnitOfWork,
    *,
    flow: Flow[V, U],
    connector_id: uuid.UUID,
    delay_s: float,
    attempt: int,
    error: str | None,
    after: str,
) -> None:
    row = load(uow, connector_id=connector_id, lock=True).row
    at = uow.now() + timedelta(seconds=delay_s)
    setattr(row, flow.due, at)
    if error is not None:
        row.last_failure_at, row.last_error = uow.now(), error[:2000]
    else:
        row.rate_limit = dict(row.rate_limit or {}, waiting_until=at.isoformat())
    payload = {"connector_id": str(connector_id), "attempt": attempt, "after": after}
    jobs.enqueue(uow, flow.job, payload, run_at=at)


@use_case
def _dead(
    uow: UnitOfWork,
    *,
    flow: Flow[V, U],
    connector_id: uuid.UUID,
    pending: Pending[V],
    error: str,
    attempts: int,
) -> None:
    loaded = load(uow, connector_id=connector_id, lock=True)
    _clear(uow, flow, connector_id, pending)
    _letter(uow, flow, loaded, pending, error=error, attempts=attempts)
    _next(uow, flow, loaded.row, pending, connectors.CallReport())


def job(flow: Flow[Any, Any]) -> Callable[[UnitOfWork, dict[str, Any]], None]:
    """The job that runs one push of `flow` for the connector its payload names."""

    def run(uow: UnitOfWork, payload: dict[str, Any]) -> None:
        push(
            uow,
            flow,
            connector_id=uuid.UUID(str(payload["connector_id"])),
            attempt=int(payload.get("attempt", 0)),
            after=str(payload.get("after") or ""),
        )

    return run
