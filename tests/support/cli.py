"""`ordersmith ARGS` run in the test process: the same Typer app, console and error handling as the installed command,
without the seconds a new interpreter takes to import Ordersmith (tests of the process boundary itself — the entry
point, exit codes seen by a shell — start a real process instead)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from typer.testing import CliRunner

from ordersmith.cli import app
from ordersmith.cli._common import out as cli_out
from ordersmith.platform.settings import get_settings

FILES = tempfile.mkdtemp(prefix="ordersmith-cli-")  # the vault's and the sandbox processor's own files


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def environment(db_url: str, **env: str) -> dict[str, str]:
    """What the command reads from its environment: the database under test, the test files, and `env`."""
    return {
        "ORDERSMITH_DATABASE_URL": db_url,
        "ORDERSMITH_ENV": "test",
        "ORDERSMITH_VAULT_DATABASE_URL": f"sqlite:///{FILES}/vault.db",
        "ORDERSMITH_SANDBOX_GATEWAY_PATH": f"{FILES}/sandbox_gateway.db",
        "ORDERSMITH_SANDBOX_CARRIER_PATH": f"{FILES}/sandbox_carrier.db",
        **env,
    }


def run(db_url: str, *args: str, stdin: str | None = None, columns: int = 200, **env: str) -> Ran:
    """`ordersmith ARGS` with `stdin` on its standard input, on a terminal COLUMNS wide."""
    get_settings.cache_clear()
    # Only the width is changed: the console's file stays unset, so it prints to whatever sys.stdout is (the
    # runner's capture now, and the next command's later), never to a stream pinned here.
    saved = cli_out._width
    cli_out.width = columns
    try:
        result = CliRunner().invoke(app, list(args), input=stdin, env=environment(db_url, **env))
    finally:
        cli_out._width = saved
        get_settings.cache_clear()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback the real command would print: fail the test with it
    return Ran(result.exit_code, result.stdout, result.stderr)
