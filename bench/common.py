"""What the benchmarks share: scratch databases, uvicorn processes, the Ordersmith topologies, percentiles."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from tests.support.server import free_port

from ordersmith.platform.db import Database
from ordersmith.platform.tables import OutboxRow

PG_ADMIN = os.environ.get("ORDERSMITH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pg_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def start_uvicorn(
    module: str, env: dict[str, str], log: Path, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            module,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            # Keep idle client connections open through slow moments (both sides alike), and do not wait
            # long for open streams (the SSE follower) when stopping.
            "--timeout-keep-alive",
            "120",
            "--timeout-graceful-shutdown",
            "5",
            *(["--factory"] if module.endswith("create_app") else []),
            *(["--workers", str(workers)] if workers > 1 else []),
        ],
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(url + "/", timeout=0.5)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(log.read_text()[-2000:])


TOPOLOGIES = {
    "embedded": "one `ordersmith serve` process with the relay and job runner inside",
    "split": "one `ordersmith serve` process + one `ordersmith worker` process (relay and jobs)",
}


def wait_for_relay(url: str, timeout_s: float = 5.0) -> int:
    """How many events are still undispatched after the load, once the relay has had a moment to catch up."""
    db = Database(url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with db.session() as session:
                left = int(
                    session.scalar(sa.select(sa.func.count()).where(OutboxRow.dispatched_at.is_(None))) or 0
                )
            if left == 0 or time.monotonic() > deadline:
                return left
            time.sleep(0.1)
    finally:
        db.dispose()


def mark_set_up_events_delivered(db: Any) -> None:
    """The set-up's own events are not part of a run: mark them delivered. (Outbox rows are written when their
    transaction commits, so this runs in a transaction of its own, after the set-up's.)"""
    from ordersmith.kernel.clock import utcnow

    with db.session() as session, session.begin():
        session.execute(
            sa.update(OutboxRow).where(OutboxRow.dispatched_at.is_(None)).values(dispatched_at=utcnow())
        )


def own_files(folder: Path) -> dict[str, str]:
    """The vault's and the sandbox processor's files for a benchmark run (never the developer's var/)."""
    return {
        "ORDERSMITH_VAULT_DATABASE_URL": f"sqlite:///{folder}/vault.db",
        "ORDERSMITH_SANDBOX_GATEWAY_PATH": str(folder / "sandbox_gateway.db"),
        "ORDERSMITH_SANDBOX_CARRIER_PATH": str(folder / "sandbox_carrier.db"),
    }


def start_ordersmith(
    database_url: str, topology: str, folder: Path, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str, list[subprocess.Popen[bytes]]]:
    """Start Ordersmith as `topology` says, with `workers` API processes on one port (`ordersmith serve
    --workers N`); returns the API process, its URL and any helper processes."""
    env = {"ORDERSMITH_DATABASE_URL": database_url, "ORDERSMITH_ENV": "test", **own_files(folder)}
    helpers: list[subprocess.Popen[bytes]] = []
    if topology == "split":
        # Production shape on PostgreSQL: the API process serves, an `ordersmith worker` relays events and runs jobs.
        env |= {"ORDERSMITH_RELAY_ENABLED": "false", "ORDERSMITH_JOBS_ENABLED": "false"}
        helpers.append(
            subprocess.Popen(
                [sys.executable, "-m", "ordersmith", "worker"],
                env={
                    **os.environ,
                    "ORDERSMITH_DATABASE_URL": database_url,
                    "ORDERSMITH_ENV": "test",
                    **own_files(folder),
                },
                stdout=(folder / "worker.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
    process, url = start_uvicorn("ordersmith.app:create_app", env, folder / "ordersmith.log", workers=workers)
    return process, url, helpers


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _descendants(pid: int) -> list[int]:
    """The process and every live process below it (uvicorn's workers under its supervisor)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(parents.get(current, []))
    return found


def cpu_seconds(*processes: subprocess.Popen[bytes]) -> float:
    """User + system CPU the processes (and their live child processes) have used so far (Linux /proc), to tell
    server cost from client cost."""
    total = 0.0
    for process in processes:
        for pid in _descendants(process.pid):
            try:
                fields = _stat(pid)
            except FileNotFoundError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000
