"""Two `ordersmith worker` processes drain one job queue: every job runs once (SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import sqlalchemy as sa

from ordersmith.platform import housekeeping, jobs
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.tables import JobRow
from tests.support.server import ordersmith_process


def test_two_worker_processes_run_each_job_exactly_once(
    db_url: str, db: Database, uow: UnitOfWork, tmp_path: Path
):
    housekeeping.register()
    env = {
        **os.environ,
        "ORDERSMITH_DATABASE_URL": db_url,
        "ORDERSMITH_ENV": "test",
        "ORDERSMITH_VAULT_DATABASE_URL": f"sqlite:///{tmp_path}/vault.db",
        "ORDERSMITH_SANDBOX_GATEWAY_PATH": str(tmp_path / "sandbox_gateway.db"),
        "ORDERSMITH_SANDBOX_CARRIER_PATH": str(tmp_path / "sandbox_carrier.db"),
    }
    workers = [ordersmith_process(["worker"], env, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        # given both workers up and polling
        logs = [tmp_path / f"w{i}.log" for i in range(2)]
        deadline = time.monotonic() + 30
        while (
            not all(log.exists() and "running" in log.read_text() for log in logs)
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        # when 40 jobs are queued at once
        with uow:
            for n in range(40):
                jobs.enqueue(uow, "platform.purge_sessions", {"n": n})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with db.session(readonly=True) as session:  # a read: never the writer lock
                left = session.scalar(
                    sa.select(sa.func.count()).where(
                        JobRow.kind == "platform.purge_sessions", JobRow.status != "done"
                    )
                )
            if left == 0:
                break
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=20)
    # then each ran exactly once (a double claim would show as a second attempt)
    with db.session(readonly=True) as session:  # a read: never the writer lock
        rows = session.execute(
            sa.select(JobRow.status, JobRow.attempts, JobRow.payload).where(
                JobRow.kind == "platform.purge_sessions"
            )
        ).all()
    rows = [r for r in rows if "n" in r.payload]  # leave out the scheduled run the workers also enqueued
    assert sorted(r.payload["n"] for r in rows) == list(range(40))
    assert {(r.status, r.attempts) for r in rows} == {("done", 1)}
    assert all(w.returncode == 0 for w in workers), [(tmp_path / f"w{i}.log").read_text() for i in range(2)]
