"""A real Ordersmith server process (uvicorn) on a free loopback port, for race and crash tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing — as if the machine lost power."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def start_server(
    database_url: str, log: Path, log_level: str = "warning", *, workers: int = 1, **env: str
) -> Server:
    port = free_port()
    environment = {
        **os.environ,
        "ORDERSMITH_DATABASE_URL": database_url,
        "ORDERSMITH_ENV": "test",
        "ORDERSMITH_RELAY_POLL_INTERVAL_MS": "50",
        # The vault and the sandbox processor keep their own files: the test's, never the developer's var/.
        "ORDERSMITH_VAULT_DATABASE_URL": f"sqlite:///{log.parent}/vault.db",
        "ORDERSMITH_SANDBOX_GATEWAY_PATH": str(log.parent / "sandbox_gateway.db"),
        "ORDERSMITH_SANDBOX_CARRIER_PATH": str(log.parent / "sandbox_carrier.db"),
        **{f"ORDERSMITH_{k.upper()}": v for k, v in env.items()},
    }
    handle = log.open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "ordersmith.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            log_level,
            *(["--workers", str(workers)] if workers > 1 else []),
        ],
        env=environment,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return Server(url=url, process=process, log=log)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


@contextmanager
def running_server(
    database_url: str, log: Path, log_level: str = "warning", *, workers: int = 1, **env: str
) -> Iterator[Server]:
    server = start_server(database_url, log, log_level, workers=workers, **env)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.terminate()
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


@contextmanager
def running_cluster(database_url: str, folder: Path, *, api: int = 2, workers: int = 2) -> Iterator[Server]:
    """`api` API processes on one port (`ordersmith serve --workers`) with the relay and jobs switched off in
    them, and `workers` `ordersmith worker` processes doing that work — the production shape on one machine."""
    environment = {
        **os.environ,
        "ORDERSMITH_DATABASE_URL": database_url,
        "ORDERSMITH_ENV": "test",
        "ORDERSMITH_RELAY_POLL_INTERVAL_MS": "50",
        "ORDERSMITH_VAULT_DATABASE_URL": f"sqlite:///{folder}/vault.db",
        "ORDERSMITH_SANDBOX_GATEWAY_PATH": str(folder / "sandbox_gateway.db"),
        "ORDERSMITH_SANDBOX_CARRIER_PATH": str(folder / "sandbox_carrier.db"),
    }
    background = [
        subprocess.Popen([sys.executable, "-m", "ordersmith", "worker"], env=environment,
                         stdout=(folder / f"worker{i}.log").open("ab"), stderr=subprocess.STDOUT)
        for i in range(workers)
    ]  # fmt: skip
    try:
        with running_server(database_url, folder / "api.log", workers=api, relay_enabled="false",
                            jobs_enabled="false") as server:  # fmt: skip
            yield server
    finally:
        for process in background:
            process.send_signal(signal.SIGTERM)
        for process in background:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
