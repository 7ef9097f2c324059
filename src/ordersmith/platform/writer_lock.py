"""SQLite's one writer, queued: the threads of a process on a lock, the processes on an `flock` of a file beside
the database (`<database>-writer`). A waiter wakes the moment the writer before it finishes, where SQLite's own
busy handler polls in growing sleeps (1, 2, 5, 10 … 100 ms): with two `serve` processes on one file, those
sleeps left the writer lock idle while both waited (ADR 0057).

Invariants: a process holds one lock per database file, whatever the number of `Database` objects on it (two
open descriptions of one file would block each other, even in one thread); the file lock is taken once per thread
that holds the in-process lock (the outermost acquire) and released with its last release, so a nested unit of
work neither blocks on itself nor frees the file lock early; a wait for another process is bounded by the
database's busy timeout, then fails as SQLite would ("database is locked": the use case retries it).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError

from ordersmith.platform.files import FILE_MODE, sqlite_path

_FIRST_WAIT_S = 0.0005
_LONGEST_WAIT_S = 0.005  # a waiter looks again at least this often: the writer before it is seen gone at once


class _FileLock:
    """One database file's lock in this process, shared by every `WriterLock` on it."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.lock = threading.RLock()
        self.depth = 0  # changed only by the thread holding `lock`
        self.fd: int | None = None
        self.pid = 0  # the process that opened `fd`: a forked child opens its own (a shared description would
        # share the lock between parent and child)


_files: dict[str, _FileLock] = {}
_files_guard = threading.Lock()


def _shared(url: str) -> _FileLock:
    path = sqlite_path(url)
    if path is None:
        return _FileLock(None)  # an in-memory database: its own lock, no file
    key = str(path.resolve())
    with _files_guard:
        found = _files.get(key)
        if found is None:
            found = _files[key] = _FileLock(Path(f"{path}-writer"))
        return found


class WriterLock:
    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self._shared = _shared(url)
        self.timeout_s = timeout_s

    def acquire(self) -> None:
        shared = self._shared
        shared.lock.acquire()
        shared.depth += 1
        if shared.depth == 1 and shared.file is not None:
            try:
                if shared.fd is None or shared.pid != os.getpid():
                    shared.fd, shared.pid = (
                        os.open(shared.file, os.O_CREAT | os.O_RDWR, FILE_MODE),
                        os.getpid(),
                    )
                self._lock_file(shared.fd)
            except BaseException:
                shared.depth -= 1
                shared.lock.release()
                raise

    def _lock_file(self, fd: int) -> None:
        """Take the file lock, waiting at most `timeout_s` for another process (short sleeps, without the GIL)."""
        deadline = time.monotonic() + self.timeout_s
        wait = _FIRST_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OperationalError(
                        "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
                    ) from None
                time.sleep(wait)
                wait = min(wait * 2, _LONGEST_WAIT_S)

    def release(self) -> None:
        shared = self._shared
        shared.depth -= 1
        try:
            if shared.depth == 0 and shared.fd is not None:
                fcntl.flock(shared.fd, fcntl.LOCK_UN)
        finally:
            shared.lock.release()

    def close(self) -> None:
        """Nothing to do: the file's lock is the process's, kept open for the next `Database` on the file."""
