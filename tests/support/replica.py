"""A real PostgreSQL streaming standby for the tests: a throwaway primary cluster (initdb, its own port) and a
standby made from it with pg_basebackup (`-R`: it follows the primary over the replication protocol), both on
127.0.0.1 and removed afterwards.

The suite's own PostgreSQL (ORDERSMITH_TEST_POSTGRES_URL) is left alone: its pg_hba.conf need not allow
replication. PostgreSQL refuses to run as root, so when the tests run as root the clusters run as `postgres`
(through runuser). Both clusters run with fsync off: they live for one test module.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg


@dataclass(frozen=True)
class Standby:
    primary_url: str  # SQLAlchemy URLs of the `ordersmith` database on each
    standby_url: str
    primary_dsn: str  # libpq DSNs, for psycopg
    standby_dsn: str


def _bindir() -> Path:
    return Path(subprocess.check_output(["pg_config", "--bindir"], text=True).strip())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(*command: str | Path) -> None:
    done = subprocess.run([*_as_postgres(), *map(str, command)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed: {done.stderr or done.stdout}")


def wait_for_replay(standby: Standby, timeout_s: float = 20.0) -> None:
    """Until the standby has replayed everything the primary had written when this was called."""
    with psycopg.connect(standby.primary_dsn, autocommit=True) as primary:
        target = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(standby.standby_dsn, autocommit=True) as replica:
        while True:
            caught_up = replica.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
            ).fetchone()[0]  # type: ignore[index]
            if caught_up:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the standby did not replay the primary's WAL in time")
            time.sleep(0.05)


@contextlib.contextmanager
def streaming_standby() -> Iterator[Standby]:
    bindir = _bindir()
    root = Path(tempfile.mkdtemp(prefix="ordersmith-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    primary, standby = root / "primary", root / "standby"
    primary_port, standby_port = _free_port(), _free_port()
    started: list[Path] = []
    try:
        _run(bindir / "initdb", "-D", primary, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        settings = (
            f"\nport = {primary_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
            "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nfsync = off\n"
            "shared_buffers = 16MB\nmax_connections = 40\n"
        )
        _run("sh", "-c", f'printf %s "$0" >> {primary / "postgresql.conf"}', settings)
        _run(bindir / "pg_ctl", "-D", primary, "-l", root / "primary.log", "-w", "start")
        started.append(primary)
        _run(bindir / "createdb", "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres", "ordersmith")
        _run(bindir / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
             "-D", standby, "-R", "-X", "stream", "--no-sync", "--checkpoint=fast")  # fmt: skip
        _run("sh", "-c", f'printf %s "$0" >> {standby / "postgresql.conf"}', f"\nport = {standby_port}\n")
        _run(bindir / "pg_ctl", "-D", standby, "-l", root / "standby.log", "-w", "start")
        started.append(standby)
        dsn = "host=127.0.0.1 port={} user=postgres dbname=ordersmith"
        yield Standby(
            primary_url=f"postgresql+psycopg://postgres@127.0.0.1:{primary_port}/ordersmith",
            standby_url=f"postgresql+psycopg://postgres@127.0.0.1:{standby_port}/ordersmith",
            primary_dsn=dsn.format(primary_port),
            standby_dsn=dsn.format(standby_port),
        )
    finally:
        for cluster in reversed(started):
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                _run(bindir / "pg_ctl", "-D", cluster, "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
