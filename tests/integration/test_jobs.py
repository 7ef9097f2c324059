import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ordersmith.kernel.clock import FixedClock
from ordersmith.platform import jobs
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.tables import JobRow, JobScheduleRow


@pytest.fixture(autouse=True)
def only_this_tests_schedules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other tests' apps register the housekeeping schedules; these tests count their own jobs only."""
    monkeypatch.setattr(jobs, "_schedules", {})


def test_a_queued_job_runs_once_and_is_marked_done(uow: UnitOfWork, db: Database):
    ran: list[dict[str, Any]] = []
    jobs.register("test.record", lambda uow, payload: ran.append(payload))
    jobs.enqueue_job(uow, kind="test.record", payload={"n": 1})
    assert jobs.run_due_jobs(db, worker="w1") == 1
    assert jobs.run_due_jobs(db, worker="w1") == 0
    assert ran == [{"n": 1}]
    assert [j.status for j in jobs.list_jobs(uow).items] == ["done"]


def test_a_failing_job_is_retried_later_then_marked_failed(db: Database):
    clock = FixedClock(datetime(2026, 11, 1, tzinfo=UTC))

    def boom(uow: UnitOfWork, payload: dict[str, Any]) -> None:
        raise RuntimeError("carrier API down")

    jobs.register("test.boom", boom)
    uow = db.unit_of_work(Actor.system("test"), clock=clock)
    jobs.enqueue_job(uow, kind="test.boom", payload={})
    with db.session() as session, session.begin():
        session.execute(sa.update(JobRow).values(max_attempts=2))
    assert jobs.run_due_jobs(db, worker="w1") == 1
    job = jobs.list_jobs(uow).items[0]
    assert job.status == "queued" and "carrier API down" in (job.last_error or "")
    assert job.run_at > datetime.now(UTC)  # backed off into the future
    with db.session() as session, session.begin():
        session.execute(sa.update(JobRow).values(run_at=datetime(2026, 1, 1, tzinfo=UTC)))
    assert jobs.run_due_jobs(db, worker="w1") == 1
    assert jobs.list_jobs(uow).items[0].status == "failed"


def test_two_workers_never_run_the_same_job(db: Database):
    uow = db.unit_of_work(Actor.system("test"))
    ran: list[int] = []
    lock = threading.Lock()

    def record(uow: UnitOfWork, payload: dict[str, Any]) -> None:
        with lock:
            ran.append(payload["n"])

    jobs.register("test.count", record)
    for n in range(60):
        jobs.enqueue_job(uow, kind="test.count", payload={"n": n})

    def work(name: str) -> None:
        while jobs.run_due_jobs(db, worker=name, limit=3):
            pass

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ran) == list(range(60))


def test_a_schedule_runs_once_per_period_across_workers(db: Database):
    ran: list[str] = []
    jobs.register("test.tick", lambda uow, payload: ran.append(payload["schedule"]))
    jobs.schedule("test-tick", kind="test.tick", every_s=60)
    for worker in ("w1", "w2", "w3"):
        jobs.run_due_jobs(db, worker=worker)
    assert ran == ["test-tick"]
    with db.session() as session:
        row = session.get(JobScheduleRow, "test-tick")
        assert row is not None and row.next_run_at - row.last_run_at == timedelta(seconds=60)  # type: ignore[operator]


def test_a_job_whose_worker_died_is_picked_up_after_its_lease(db: Database):
    uow = db.unit_of_work(Actor.system("test"))
    ran: list[int] = []
    jobs.register("test.lease", lambda uow, payload: ran.append(1))
    jobs.enqueue_job(uow, kind="test.lease", payload={})
    with db.session() as session, session.begin():  # a worker claimed it, then died
        session.execute(
            sa.update(JobRow).values(
                status="running", locked_by="dead", locked_until=datetime(2026, 1, 1, tzinfo=UTC)
            )
        )
    assert jobs.run_due_jobs(db, worker="w2") == 1
    assert ran == [1]


def test_jobs_done_more_than_a_week_ago_are_purged_and_failed_or_queued_ones_stay(db: Database):
    now = datetime(2026, 12, 6, tzinfo=UTC)
    uow = db.unit_of_work(Actor.system("test"), clock=FixedClock(now))
    with db.session() as session, session.begin():
        for n, (status, days) in enumerate(
            [("done", 8), ("done", 9), ("done", 10), ("done", 6), ("failed", 30), ("queued", 30)]
        ):
            at = now - timedelta(days=days)
            finished = at if status != "queued" else None
            session.add(JobRow(id=uuid.uuid4(), kind=f"test.{n}", payload={}, status=status, run_at=at, attempts=1,
                               max_attempts=1, created_at=at, finished_at=finished))  # fmt: skip
    # a bounded pass takes the oldest first, the next the rest; a recent done job, a failed and a queued one stay
    assert jobs.purge_done(uow, limit=2) == 2
    assert jobs.purge_done(uow) == 1
    assert jobs.purge_done(uow) == 0
    with db.session() as session:
        left = session.execute(sa.select(JobRow.kind, JobRow.status).order_by(JobRow.kind)).all()
    assert [(k, s) for k, s in left] == [("test.3", "done"), ("test.4", "failed"), ("test.5", "queued")]


def test_a_runner_told_to_stop_finishes_the_running_job_and_hands_the_other_claimed_ones_back(db: Database):
    # given three due jobs, the first of which asks its runner to stop while it runs
    uow = db.unit_of_work(Actor.system("test"))
    stop = threading.Event()
    ran: list[int] = []

    def record(uow: UnitOfWork, payload: dict[str, Any]) -> None:
        ran.append(payload["n"])
        stop.set()

    jobs.register("test.stopping", record)
    for n in range(3):
        jobs.enqueue_job(
            uow, kind="test.stopping", payload={"n": n}, run_at=datetime(2026, 1, 1, n, tzinfo=UTC)
        )
    # when a pass claims them all and is told to stop during the first
    assert jobs.run_due_jobs(db, worker="w1", stop=stop) == 1
    # then only the first ran; the others are queued again as if never claimed, and the next pass runs them
    assert ran == [0]
    with db.session() as session:
        left = session.execute(
            sa.select(JobRow.status, JobRow.attempts, JobRow.locked_by, JobRow.locked_until).order_by(
                JobRow.run_at
            )
        ).all()
    handed_back = ("queued", 0, None, None)
    assert [tuple(row) for row in left] == [("done", 1, None, None), handed_back, handed_back]
    assert jobs.run_due_jobs(db, worker="w1") == 2
    assert ran == [0, 1, 2]


def test_a_runner_of_three_threads_runs_three_jobs_side_by_side_each_once(db: Database):
    # given three due jobs that each wait for the other two to be running (a barrier they meet at, or fail)
    uow = db.unit_of_work(Actor.system("test"))
    met = threading.Barrier(3, timeout=20)
    ran: list[tuple[int, str]] = []

    def meet(uow: UnitOfWork, payload: dict[str, Any]) -> None:
        met.wait()  # raises BrokenBarrierError (the job fails) unless three run at once
        ran.append((payload["n"], threading.current_thread().name))

    jobs.register("test.side_by_side", meet)
    for n in range(3):
        jobs.enqueue_job(uow, kind="test.side_by_side", payload={"n": n})
    # when a runner of three threads runs them
    runner = jobs.JobRunner(db, interval_s=0.05, threads=3)
    runner.start()
    try:
        for _ in range(400):
            with db.session() as session:
                done = session.scalar(sa.select(sa.func.count()).where(JobRow.status == "done"))
            if done == 3:
                break
            threading.Event().wait(0.05)
    finally:
        runner.stop()
    # then each ran once, all three at the same time on three threads, each done under its thread's own name
    assert sorted(n for n, _ in ran) == [0, 1, 2]
    assert len({thread for _, thread in ran}) == 3
    with db.session() as session:
        rows = session.execute(sa.select(JobRow.status, JobRow.attempts)).all()
    assert sorted(tuple(r) for r in rows) == [("done", 1)] * 3


def test_job_threads_starting_at_once_write_each_schedule_once_and_fail_no_pass(db: Database):
    # given two schedules not written yet, and four passes (four job threads starting) released at the same moment
    jobs.register("test.scheduled", lambda uow, payload: None)
    jobs.schedule("test-every-hour", kind="test.scheduled", every_s=3600)
    jobs.schedule("test-every-day", kind="test.scheduled", every_s=86_400)
    start = threading.Barrier(4, timeout=20)
    errors: list[BaseException] = []

    def enqueue_due() -> None:
        try:
            start.wait()
            jobs._enqueue_due_schedules(db.unit_of_work(Actor.system("test")))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=enqueue_due) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then no pass failed, each schedule has one row, and each was enqueued once
    assert errors == []
    with db.session() as session:
        names = sorted(session.scalars(sa.select(JobScheduleRow.name)))
        queued = session.scalar(sa.select(sa.func.count()).select_from(JobRow))
    assert (names, queued) == (["test-every-day", "test-every-hour"], 2)


def test_a_runner_of_three_threads_runs_a_due_schedule_once_and_only_its_first_thread_reads_the_schedules(
    db: Database, monkeypatch: pytest.MonkeyPatch
):
    # given a due schedule, and the schedule pass counted by the thread that makes it
    ran: list[str] = []
    jobs.register("test.tick", lambda uow, payload: ran.append(threading.current_thread().name))
    jobs.schedule("test-tick", kind="test.tick", every_s=3600)
    readers: list[str] = []
    read = jobs._enqueue_due_schedules

    def counted(uow: UnitOfWork) -> int:
        readers.append(threading.current_thread().name)
        return read(uow)

    monkeypatch.setattr(jobs, "_enqueue_due_schedules", counted)
    # when a runner of three threads makes several passes
    runner = jobs.JobRunner(db, interval_s=0.05, threads=3)
    runner.start()
    try:
        for _ in range(400):
            if ran and len(readers) >= 5:
                break
            threading.Event().wait(0.05)
    finally:
        runner.stop()
    # then the schedule's job ran once, and every schedule pass was the first thread's
    assert len(ran) == 1
    assert len(readers) >= 5 and set(readers) == {"ordersmith-jobs-1"}
