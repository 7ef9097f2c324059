"""SQLite's one writer is queued across Ordersmith processes by a file lock beside the database: a second process
waits for the first writer and then writes, instead of polling in SQLite's busy handler (which gives up after
`busy_timeout` with "database is locked")."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from ordersmith.platform.db import Actor, Database
from ordersmith.platform.writer_lock import WriterLock

HOLDER = textwrap.dedent(
    """
    import sys, time
    import sqlalchemy as sa
    from ordersmith.platform.db import Actor, Database
    db = Database(sys.argv[1])
    with db.unit_of_work(Actor.system("holder")) as uow:
        uow.session.execute(sa.text("INSERT INTO probe (who) VALUES ('holder')"))
        print("held", flush=True)
        time.sleep(1.0)
    print("released", flush=True)
    """
)


def _file_locked(path: Path) -> bool:
    """Whether another open file description holds the lock (flock conflicts between descriptions, even in one
    process)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _holding(url: str) -> subprocess.Popen[str]:
    """A probe table in the database, and another process holding a write transaction on it for a second."""
    setup = Database(url)
    with setup.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE probe (n INTEGER PRIMARY KEY AUTOINCREMENT, who TEXT NOT NULL)")
    setup.dispose()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_process_waits_for_the_writer_and_writes_after_it_within_its_busy_timeout(tmp_path: Path):
    # given a database with a probe table, and another process holding a write transaction for a second
    url = f"sqlite:///{tmp_path}/shop.db"
    holder = _holding(url)
    try:
        # when this process writes (its busy timeout longer than the other's transaction)
        db = Database(url, busy_timeout_ms=10_000)
        with db.unit_of_work(Actor.system("second")) as uow:
            uow.session.execute(sa.text("INSERT INTO probe (who) VALUES ('second')"))
        # then it waited for the holder's commit and wrote after it
        with db.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT who FROM probe ORDER BY n").scalars().all()
        assert rows == ["holder", "second"]
        db.dispose()
    finally:
        holder.wait(timeout=30)
    assert holder.returncode == 0


def test_a_wait_for_another_process_is_bounded_by_the_busy_timeout_and_fails_as_sqlite_would(tmp_path: Path):
    # given another process holding a write transaction for a second
    url = f"sqlite:///{tmp_path}/shop.db"
    holder = _holding(url)
    try:
        # when this process tries to write with a busy timeout of 100 ms
        db = Database(url, busy_timeout_ms=100)
        # then it gives up as SQLite does (the use cases retry "database is locked"), writing nothing
        with (
            pytest.raises(OperationalError, match="database is locked"),
            db.unit_of_work(Actor.system("second")) as uow,
        ):
            uow.session.execute(sa.text("INSERT INTO probe (who) VALUES ('second')"))
        db.dispose()
    finally:
        holder.wait(timeout=30)
    check = Database(url)
    with check.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT who FROM probe").scalars().all() == ["holder"]
    check.dispose()


def test_two_databases_on_one_file_in_one_process_share_its_lock(tmp_path: Path):
    # given two Database objects on the same file (a reports replica set to the primary, say)
    url = f"sqlite:///{tmp_path}/shop.db"
    first, second = Database(url), Database(url, busy_timeout_ms=200)
    assert first.write_lock is not None and second.write_lock is not None
    # when one thread holds the first's writer lock and takes the second's
    first.write_lock.acquire()
    second.write_lock.acquire()
    # then it does not block on itself, and the file stays locked until the last release
    second.write_lock.release()
    assert _file_locked(tmp_path / "shop.db-writer")
    first.write_lock.release()
    assert not _file_locked(tmp_path / "shop.db-writer")
    first.dispose()
    second.dispose()


def test_the_file_lock_is_held_from_the_outermost_acquire_to_the_last_release(tmp_path: Path):
    # given a writer lock for a database file
    lock = WriterLock(f"sqlite:///{tmp_path}/shop.db")
    lock_file = tmp_path / "shop.db-writer"
    # when a thread takes it twice (a nested unit of work) and releases once
    lock.acquire()
    lock.acquire()
    lock.release()
    # then the file stays locked until the last release
    assert _file_locked(lock_file)
    lock.release()
    assert not _file_locked(lock_file)
    lock.close()


def test_a_database_in_memory_has_no_lock_file(tmp_path: Path):
    lock = WriterLock("sqlite://")
    lock.acquire()
    lock.release()
    assert list(tmp_path.iterdir()) == []


def test_the_lock_file_is_its_owners_alone(tmp_path: Path):
    previous = os.umask(0o022)
    try:
        lock = WriterLock(f"sqlite:///{tmp_path}/shop.db")
        lock.acquire()
        lock.release()
    finally:
        os.umask(previous)
    assert oct((tmp_path / "shop.db-writer").stat().st_mode & 0o777) == "0o600"
    lock.close()
