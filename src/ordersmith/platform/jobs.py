"""Queued and scheduled background jobs.

Jobs sit in the `jobs` table; a runner claims due ones with `FOR UPDATE SKIP LOCKED` (PostgreSQL) under a lease,
so any number of `ordersmith worker` processes can run side by side and a crashed worker's job is picked up again
once its lease lapses. Scheduled jobs are rows in `job_schedules`; whichever runner claims a due schedule first
enqueues its job and moves the schedule on, so each run happens once however many workers there are.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page
from ordersmith.platform.tables import JobRow, JobScheduleRow

log = logging.getLogger(__name__)

JobHandler = Callable[[UnitOfWork, dict[str, Any]], None]


@dataclass(frozen=True)
class Schedule:
    name: str
    interval_s: int
    kind: str


_handlers: dict[str, JobHandler] = {}
_schedules: dict[str, Schedule] = {}


def register(kind: str, handler: JobHandler) -> None:
    """Register the handler for a job kind. The handler runs in its own unit of work and must be idempotent."""
    _handlers[kind] = handler


def schedule(name: str, *, kind: str, every_s: int) -> None:
    """Run job `kind` every `every_s` seconds (once per period across all workers)."""
    _schedules[name] = Schedule(name=name, interval_s=every_s, kind=kind)


def unschedule(name: str) -> None:
    """Stop running the schedule `name` in this process (its row stays, unused)."""
    _schedules.pop(name, None)


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    status: str
    run_at: datetime
    attempts: int
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        payload=row.payload,
        status=row.status,
        run_at=row.run_at,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def enqueue(
    uow: UnitOfWork,
    kind: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    max_attempts: int = 5,
) -> uuid.UUID:
    """Queue a job in the caller's transaction: it runs only if that transaction commits."""
    if kind not in _handlers:
        raise ValidationFailed.on("kind", f"no handler for job kind {kind!r}")
    job_id = new_id()
    uow.session.add(
        JobRow(
            id=job_id,
            kind=kind,
            payload=payload,
            status="queued",
            run_at=run_at or uow.now(),
            attempts=0,
            max_attempts=max_attempts,
            created_at=uow.now(),
        )
    )
    return job_id


@use_case
def enqueue_job(
    uow: UnitOfWork, *, kind: str, payload: dict[str, Any], run_at: datetime | None = None
) -> uuid.UUID:
    return enqueue(uow, kind, payload, run_at=run_at)


@use_case(readonly=True)
def list_jobs(
    uow: UnitOfWork, *, status: str | None = None, limit: int = 50, cursor: str | None = None
) -> Page[Job]:
    query = sa.select(JobRow)
    if status:
        query = query.where(JobRow.status == status)
    return keyset_page(
        uow, query, keys=[JobRow.id], to_item=_job, cursor=cursor, limit=limit, descending=True
    )


@use_case
def _enqueue_due_schedules(uow: UnitOfWork) -> int:
    now = uow.now()
    # One read for the schedules already written (not one per schedule: every worker does this every pass).
    known = set(
        uow.session.scalars(sa.select(JobScheduleRow.name).where(JobScheduleRow.name.in_(list(_schedules))))
    )
    missing = [{"name": s.name, "interval_s": s.interval_s, "next_run_at": now, "last_run_at": None}
               for s in _schedules.values() if s.name not in known]  # fmt: skip
    if missing:
        # Another worker (or another job thread of this process) may write the same rows at the same moment: the
        # first write wins, the others add nothing (no unique violation to fail the pass).
        table = cast(sa.Table, JobScheduleRow.__table__)
        insert = postgresql_insert(table) if uow.dialect == "postgresql" else sqlite_insert(table)
        uow.execute_core(insert.on_conflict_do_nothing(index_elements=["name"]), missing)
    due = list(
        uow.session.scalars(
            sa.select(JobScheduleRow)
            .where(JobScheduleRow.next_run_at <= now, JobScheduleRow.name.in_(list(_schedules)))
            .with_for_update(skip_locked=True)
        )
    )
    for row in due:
        sched = _schedules[row.name]
        enqueue(uow, sched.kind, {"schedule": sched.name})
        row.last_run_at = now
        row.next_run_at = now + timedelta(seconds=sched.interval_s)
    return len(due)


@use_case
def _claim(
    uow: UnitOfWork, *, worker: str, limit: int, lease_s: int
) -> list[tuple[uuid.UUID, str, dict[str, Any]]]:
    now = uow.now()
    rows = list(
        uow.session.scalars(
            sa.select(JobRow)
            .where(
                sa.or_(
                    sa.and_(JobRow.status == "queued", JobRow.run_at <= now),
                    sa.and_(
                        JobRow.status == "running", JobRow.locked_until < now
                    ),  # a crashed worker's lease
                )
            )
            .order_by(JobRow.run_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        row.status = "running"
        row.locked_by = worker
        row.locked_until = now + timedelta(seconds=lease_s)
        row.attempts += 1
    return [(r.id, r.kind, dict(r.payload)) for r in rows]


@use_case
def _finish(uow: UnitOfWork, *, job_id: uuid.UUID, error: str | None) -> None:
    row = uow.session.get(JobRow, job_id)
    if row is None:
        return
    row.locked_by = None
    row.locked_until = None
    if error is None:
        row.status = "done"
        row.finished_at = uow.now()
        row.last_error = None
    elif row.attempts >= row.max_attempts:
        row.status = "failed"
        row.finished_at = uow.now()
        row.last_error = error
    else:
        row.status = "queued"
        row.last_error = error
        row.run_at = uow.now() + timedelta(seconds=min(2**row.attempts * 5, 3600))


@use_case
def _release(uow: UnitOfWork, *, job_ids: list[uuid.UUID], worker: str) -> None:
    """Hand claimed jobs that never started back to the queue, as if never claimed (only those `worker` holds)."""
    rows = uow.session.scalars(
        sa.select(JobRow).where(
            JobRow.id.in_(job_ids), JobRow.status == "running", JobRow.locked_by == worker
        )
    )
    for row in rows:
        row.status = "queued"
        row.locked_by = None
        row.locked_until = None
        row.attempts -= 1


DONE_KEPT = timedelta(days=7)


@use_case
def purge_done(uow: UnitOfWork, *, older_than: timedelta = DONE_KEPT, limit: int = 10_000) -> int:
    """Delete up to `limit` jobs that finished well (`done`) and were due before `older_than` ago; returns how many.
    Failed jobs stay for a person to read. Reads only what it deletes (`ix_jobs_due`: status, run_at), so a year of
    polling and sweeps costs the same to purge each hour as a day of them."""
    old = (
        sa.select(JobRow.id)
        .where(JobRow.status == "done", JobRow.run_at < uow.now() - older_than)
        .order_by(JobRow.run_at)
        .limit(limit)
    )
    ids = list(uow.session.scalars(old))
    if not ids:
        return 0
    result = uow.session.execute(sa.delete(JobRow).where(JobRow.id.in_(ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def run_due_jobs(
    db: Database,
    *,
    worker: str,
    limit: int = 10,
    lease_s: int = 300,
    stop: threading.Event | None = None,
    schedules: bool = True,
) -> int:
    """Enqueue due schedules (unless `schedules` is false), then claim and run due jobs. Returns how many jobs ran.
    When `stop` is set part-way, the job running finishes and the claimed jobs not yet started are handed back
    (queued again, their attempt not counted), so a runner shutting down waits for one job, not for a whole claim,
    and leaves none under a lease."""
    uow = db.unit_of_work(Actor.system(f"worker:{worker}"))
    if schedules:
        _enqueue_due_schedules(uow)
    if stop is not None and stop.is_set():
        return 0
    claimed = _claim(uow, worker=worker, limit=limit, lease_s=lease_s)
    for ran, (job_id, kind, payload) in enumerate(claimed):
        if stop is not None and stop.is_set():
            _release(uow, job_ids=[job for job, _, _ in claimed[ran:]], worker=worker)
            return ran
        handler = _handlers.get(kind)
        error = None
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {kind!r}")
            handler(db.unit_of_work(Actor.system(f"job:{kind}")), payload)
        except Exception:
            error = traceback.format_exc(limit=5)[-2000:]
            log.warning("job %s (%s) failed: %s", job_id, kind, error)
        _finish(uow, job_id=job_id, error=error)
    return len(claimed)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobRunner:
    """Background threads running due jobs: each pass enqueues due schedules, claims due jobs and runs them, and
    waits `interval_s` when there was nothing to run. With one thread a pass claims up to ten jobs; with several,
    each claims one at a time, so a slow job holds one thread while the others go on (claims never overlap:
    PostgreSQL's `SKIP LOCKED`, SQLite's single writer). Only the first thread enqueues due schedules: every
    thread reading and locking the schedules on each pass cost a write transaction per thread per second and
    changed nothing (a schedule is due at most once a pass)."""

    def __init__(
        self, db: Database, interval_s: float = 1.0, *, lease_s: int = 300, threads: int = 1
    ) -> None:
        self.db = db
        self.interval_s = interval_s
        self.lease_s = lease_s
        self.threads = threads
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.name = worker_name()

    def start(self) -> None:
        for n in range(self.threads):
            # Each thread holds its claims under a name of its own (a stopping thread hands back only its own).
            worker = self.name if self.threads == 1 else f"{self.name}/{n + 1}"
            thread = threading.Thread(
                target=self._run, args=(worker, n == 0), name=f"ordersmith-jobs-{n + 1}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self, worker: str, schedules: bool) -> None:
        limit = 10 if self.threads == 1 else 1
        while not self._stop.is_set():
            ran = 0
            try:
                ran = run_due_jobs(self.db, worker=worker, limit=limit, lease_s=self.lease_s, stop=self._stop,
                                   schedules=schedules)  # fmt: skip
            except Exception:
                log.exception("job runner pass failed")
            if not ran:
                self._stop.wait(self.interval_s)
