"""Files Ordersmith keeps on disk (SQLite databases, the vault's file, the sandbox processor's books, demo
credentials): readable by their owner only, whatever the process's umask.

Invariant: a file made through here is mode 0600 and a folder it makes is 0700 (a folder that already existed,
such as /tmp, is left as it is). SQLite gives its -wal and -shm files the mode of their database file.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(folder: Path) -> None:
    """Make `folder` (and missing parents) 0700; existing folders keep their mode."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # another process made it a moment ago
        path.chmod(FOLDER_MODE)  # mkdir's mode is filtered by the umask


def private_file(path: Path) -> None:
    """Create `path` empty and 0600 when it is missing (content kept when it exists), and make it 0600 — with
    its SQLite -wal and -shm files, when they are there."""
    private_folder(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if each.exists():
            each.chmod(FILE_MODE)


def sqlite_path(url: str) -> Path | None:
    """The file a `sqlite:///…` URL names; None for an in-memory database or another dialect."""
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix):
            path = url[len(prefix) :].split("?", 1)[0]
            return None if not path or path == ":memory:" else Path(path)
    return None


def private_sqlite(url: str) -> None:
    """Create the SQLite database a URL names as a private file before SQLite opens it (no-op otherwise)."""
    path = sqlite_path(url)
    if path is not None:
        private_file(path)


def append_private(path: Path, text: str) -> None:
    """Append `text` to `path`, creating it 0600 (flushed to disk before returning: secrets shown once)."""
    private_folder(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
