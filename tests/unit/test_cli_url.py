"""`make run` prints the URL `ordersmith serve` will really listen on: it asks `ordersmith url`, which reads the
same settings (ORDERSMITH_BIND_HOST / ORDERSMITH_BIND_PORT, or .env) as `serve`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ordersmith.cli import app
from ordersmith.platform.settings import get_settings


@pytest.mark.parametrize(
    ("environment", "url"),
    [
        ({}, "http://127.0.0.1:8000/"),
        ({"ORDERSMITH_BIND_PORT": "8123"}, "http://127.0.0.1:8123/"),
        ({"ORDERSMITH_BIND_HOST": "0.0.0.0", "ORDERSMITH_BIND_PORT": "9000"}, "http://127.0.0.1:9000/"),
        ({"ORDERSMITH_BIND_HOST": "::1", "ORDERSMITH_BIND_PORT": "9001"}, "http://[::1]:9001/"),
    ],
)
def test_the_url_is_where_serve_listens(
    environment: dict[str, str], url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("ORDERSMITH_BIND_HOST", "ORDERSMITH_BIND_PORT"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["url"], env={"ORDERSMITH_ENV": "test", **environment})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert result.stdout == url + "\n"


def test_make_run_prints_the_url_it_asks_for() -> None:
    makefile = (Path(__file__).parents[2] / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "url=$$($(BIN)/ordersmith url)" in recipe
    assert "8000" not in recipe.split("##", 1)[1].split("\n", 1)[1]  # no port written in the recipe itself
