"""SQLite's one writer, queued: the threads of a process on a lock, the processes on an `flock` of a file beside
the database (`<database>-writer`). A waiter wakes the moment the writer before it finishes, where SQLite's own
busy handler polls in growing sleeps (1, 2, 5, 10 … 100 ms): with two `serve` processes on one file, those
sleeps left the writer lock idle while both waited (ADR 0057).

Invariant: the file lock is taken once per thread that holds the in-process lock (the outermost acquire) and
released with its last release, so a nested unit of work in the same thread neither blocks on itself nor frees
the file lock early.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from ordersmith.platform.files import FILE_MODE, sqlite_path


class WriterLock:
    def __init__(self, url: str) -> None:
        self._lock = threading.RLock()
        self._depth = 0  # changed only by the thread holding `_lock`
        path = sqlite_path(url)
        self._file = Path(f"{path}-writer") if path is not None else None
        self._fd: int | None = None
        self._pid = 0  # the process that opened `_fd`: a forked child opens its own (a shared description
        # would share the lock between parent and child)

    def acquire(self) -> None:
        self._lock.acquire()
        self._depth += 1
        if self._depth == 1 and self._file is not None:
            try:
                if self._fd is None or self._pid != os.getpid():
                    self._fd, self._pid = os.open(self._file, os.O_CREAT | os.O_RDWR, FILE_MODE), os.getpid()
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # waits without the GIL
            except BaseException:
                self._depth -= 1
                self._lock.release()
                raise

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._lock.release()

    def close(self) -> None:
        """Close the lock file (opened again by the next acquire); only while no thread holds the lock."""
        with self._lock:
            if self._fd is not None and self._depth == 0:
                os.close(self._fd)
                self._fd = None
