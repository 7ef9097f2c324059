"""A real Ordersmith server process (uvicorn) on a free loopback port, for race and crash tests.

A server (and an `ordersmith worker`) is its own operating-system process with its own sockets, database connections
and signals, as in production; what it skips is the seconds a new interpreter spends importing Ordersmith: it is
forked from a fork server that imported Ordersmith once per test process (multiprocessing's "forkserver", which
starts a clean interpreter and forks from it before any test has opened a connection or a thread). The child sets
the environment it was given before the app reads any setting. `uvicorn --workers N` (several processes on one
port) still starts as a command, as in production."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import httpx

_FORKS = multiprocessing.get_context("forkserver")
_FORKS.set_forkserver_preload(["tests.support.preloaded", "uvicorn", "tests.support.server"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ForkedProcess:
    """A forked process behind `subprocess.Popen`'s interface (poll, wait, terminate, kill, send_signal)."""

    def __init__(self, process: BaseProcess, name: str) -> None:
        self._process = process
        self._name = name

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return None if self._process.is_alive() else self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self._name, timeout or 0)
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _in_child(environment: dict[str, str], log: str, cwd: str | None = None) -> None:
    """The forked child's own environment and working directory, and its output (stdout and stderr) appended to
    `log`."""
    if cwd is not None:
        os.chdir(cwd)
    os.environ.clear()
    os.environ.update(environment)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _serve(environment: dict[str, str], log: str, port: int, log_level: str) -> None:
    _in_child(environment, log)
    import uvicorn

    uvicorn.run("ordersmith.app:create_app", factory=True, host="127.0.0.1", port=port, log_level=log_level)


def _command(environment: dict[str, str], log: str, args: list[str], cwd: str | None) -> None:
    _in_child(environment, log, cwd)
    from ordersmith.cli import app

    try:
        app(args=args, prog_name="ordersmith")
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise


def fork(target: Any, name: str, *args: Any) -> ForkedProcess:
    process = _FORKS.Process(target=target, args=args, name=name, daemon=False)
    process.start()
    return ForkedProcess(process, name)


def ordersmith_process(
    args: list[str], environment: dict[str, str], log: Path, cwd: Path | None = None
) -> ForkedProcess:
    """`ordersmith ARGS` (e.g. `worker`) as a process of its own, its output appended to `log`."""
    folder = None if cwd is None else str(cwd)
    return fork(_command, f"ordersmith {' '.join(args)}", environment, str(log), args, folder)


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes] | ForkedProcess
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
    process: subprocess.Popen[bytes] | ForkedProcess
    if workers == 1:
        process = fork(_serve, "ordersmith serve", environment, str(log), port, log_level)
    else:
        command = [sys.executable, "-m", "uvicorn", "ordersmith.app:create_app", "--factory", "--host",
                   "127.0.0.1", "--port", str(port), "--log-level", log_level, "--workers", str(workers)]  # fmt: skip
        process = subprocess.Popen(command, env=environment, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30 * workers  # each of uvicorn's processes imports Ordersmith on its own
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
        ordersmith_process(["worker"], environment, folder / f"worker{i}.log") for i in range(workers)
    ]
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
