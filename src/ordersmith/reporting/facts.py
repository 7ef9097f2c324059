"""Daily facts (ADR 0055): the sales reports' figures per UTC day of placement, stored for whole past days so a
report over a year reads a few thousand rows instead of every order and line.

Kept three ways, each recomputing whole days from their orders (delete the day's rows, insert the grain's query for
that day), so running one twice, or two at once, leaves the same rows:
- the outbox relay recomputes the stored days its events' orders were placed on (an order cancelled, edited,
  shipped or returned weeks after it was placed changes that day's figures);
- a periodic job (`reporting.close_days`) computes the recent days not stored yet — yesterday, once it is over;
- `ordersmith reports refresh-facts` (and the demo load) computes a whole range, the backfill.

Invariants: today is never stored (reports read it live); a day is listed in `report_fact_days` exactly when its
rows in every facts table were computed together; on PostgreSQL a transaction recomputing a day holds that day's
advisory lock, so of two concurrent recomputations the later reads what the earlier committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

import sqlalchemy as sa

from ordersmith.kernel.events import Event
from ordersmith.platform import jobs, outbox
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.reporting.catalogue._daily import GRAINS, Days, placed_in, ranges
from ordersmith.reporting.catalogue._sql import orders
from ordersmith.reporting.tables import ReportFactDayRow

MARKERS = cast(sa.Table, ReportFactDayRow.__table__)
CLOSE_JOB = "reporting.close_days"
CLOSE_EVERY_S = 600
RECENT_DAYS = 400  # the job looks this far back for days not stored yet; older ones wait for a backfill
_JOB_DAYS = 31  # days the job computes per run (a new install catches up over a few runs)
_CHUNK_DAYS = 31  # days per transaction in a backfill
_LOCK_SPACE = 190_055  # the advisory locks' first key: reporting's daily facts
_ORDER_IDS = 500  # orders looked up per statement when an event batch names them


def _lock(uow: UnitOfWork, days: Sequence[date]) -> None:
    """PostgreSQL: hold each day's advisory lock to the end of the transaction, in one order (no deadlock between
    two relays or a relay and the job)."""
    if uow.dialect != "postgresql" or not days:
        return
    uow.execute_core(
        sa.text("SELECT count(pg_advisory_xact_lock(:space, k)) FROM unnest(CAST(:keys AS integer[])) AS k"),
        {"space": _LOCK_SPACE, "keys": sorted({d.toordinal() for d in days})},
    )


def _recompute(uow: UnitOfWork, days: Sequence[date]) -> None:
    """Replace the stored rows of `days` (all before today) by what their orders say now, and list them stored."""
    _lock(uow, days)
    wanted = list(days)
    where = [placed_in(ranges(wanted))]
    for grain in GRAINS:
        uow.execute_core(sa.delete(grain.table).where(grain.table.c.day.in_(wanted)))
        uow.execute_core(sa.insert(grain.table).from_select(grain.columns, grain.query(where, uow.dialect)))
    uow.execute_core(sa.delete(MARKERS).where(MARKERS.c.day.in_(wanted)))
    now = uow.now()
    uow.execute_core(sa.insert(MARKERS), [{"day": day, "computed_at": now} for day in wanted])


@use_case
def compute_days(uow: UnitOfWork, *, days: Sequence[date]) -> list[date]:
    """Compute (or recompute) the daily facts of `days` now, in this transaction; today and later days are left
    out (they are read live). Returns the days computed."""
    today = uow.now().date()
    wanted = sorted({d for d in days if d < today})
    if wanted:
        _recompute(uow, wanted)
    return wanted


def stored_days(uow: UnitOfWork, start: date, end: date) -> Days:
    """The days of [start, end] whose facts are stored, as ranges (at most one row per day of the range read)."""
    found = uow.execute_core(sa.select(MARKERS.c.day).where(MARKERS.c.day.between(start, end))).scalars()
    return ranges([d if isinstance(d, date) else date.fromisoformat(str(d)) for d in found])


# --- kept by events --------------------------------------------------------------------------------------------------


def _wanted(event: Event) -> bool:
    return event.type.startswith(("order.", "return.")) and "order_id" in event.payload


def on_events(uow: UnitOfWork, events: list[Event]) -> None:
    """Batch subscriber: recompute the stored days the events' orders were placed on (one read of their placing
    times by primary key, one of the days' markers); orders of today, and days not stored yet, cost no more."""
    ids = sorted({uuid.UUID(str(e.payload["order_id"])) for e in events})
    today = uow.now().date()
    days: set[date] = set()
    for n in range(0, len(ids), _ORDER_IDS):
        query = sa.select(orders.c.placed_at).where(orders.c.id.in_(ids[n : n + _ORDER_IDS]))
        days |= {at.date() for at in uow.execute_core(query).scalars()}
    past = sorted(d for d in days if d < today)
    if not past:
        return
    stored = uow.execute_core(sa.select(MARKERS.c.day).where(MARKERS.c.day.in_(past))).scalars()
    found = sorted(d if isinstance(d, date) else date.fromisoformat(str(d)) for d in stored)
    if found:
        _recompute(uow, found)


# --- the periodic job and the backfill -------------------------------------------------------------------------------


@use_case
def close_days(uow: UnitOfWork) -> list[date]:
    """Compute up to 31 of the last 400 days (before today) that are not stored yet, the most recent first: after
    midnight, yesterday. Reads at most 400 marker rows, whatever the history. Returns the days computed."""
    today = uow.now().date()
    first = today - timedelta(days=RECENT_DAYS)
    stored = {
        d if isinstance(d, date) else date.fromisoformat(str(d))
        for d in uow.execute_core(sa.select(MARKERS.c.day).where(MARKERS.c.day >= first)).scalars()
    }
    missing = [today - timedelta(days=n) for n in range(1, RECENT_DAYS + 1)]
    wanted = [d for d in missing if d not in stored][:_JOB_DAYS]
    if wanted:
        _recompute(uow, sorted(wanted))
    return sorted(wanted)


@dataclass(frozen=True)
class Refreshed:
    days: int  # days computed
    first: date | None
    last: date | None


def refresh_facts(
    uow: UnitOfWork,
    *,
    start: date | None = None,
    end: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Refreshed:
    """Compute every day of [start, end] (default: from the first order's day to yesterday; never today or later),
    31 days per transaction: `ordersmith reports refresh-facts` and the demo load. A range is stored as it goes: a
    report run meanwhile reads the days done from the facts and the others from the orders."""
    yesterday = uow.now().date() - timedelta(days=1)
    if start is None:
        with uow:
            first = uow.execute_core(sa.select(sa.func.min(orders.c.placed_at))).scalar_one_or_none()
        start = first.date() if first is not None else yesterday + timedelta(days=1)
    end = min(end or yesterday, yesterday)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    for n in range(0, len(days), _CHUNK_DAYS):
        compute_days(uow, days=days[n : n + _CHUNK_DAYS])
        if progress is not None:
            progress(min(n + _CHUNK_DAYS, len(days)), len(days))
    return Refreshed(len(days), days[0] if days else None, days[-1] if days else None)


def _close_job(uow: UnitOfWork, payload: dict[str, object]) -> None:
    close_days(uow)


def register() -> None:
    """Subscribe the facts to order and return events (set-wise per relay batch) and schedule the job that stores
    each day once it is over (idempotent)."""
    outbox.unsubscribe(on_events)
    outbox.subscribe_batch("*", on_events, when=_wanted)
    jobs.register(CLOSE_JOB, _close_job)
    jobs.schedule("reporting-close-days", kind=CLOSE_JOB, every_s=CLOSE_EVERY_S)


def unregister() -> None:
    outbox.unsubscribe(on_events)
    jobs.unschedule("reporting-close-days")
