"""`ordersmith plugins`: which plugins this configuration loads, what each contributes, and why one failed."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ordersmith import plugin_host
from ordersmith.cli._common import _settings, app, command, out
from ordersmith.cli._common import table as cli_table
from ordersmith.platform import plugins


@app.command("plugins")
@command
def plugins_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when any plugin failed to load.")] = False,
) -> None:
    """List the plugins found (installed entry points and ORDERSMITH_PLUGINS) and load each as the service would."""
    loaded = plugin_host.start(_settings())
    listed = plugins.summary(loaded.plugins)
    if as_json:
        typer.echo(json.dumps(listed, indent=2))
    elif not listed:
        out.print(f"no plugins (entry-point group {plugins.ENTRY_POINT_GROUP}, ORDERSMITH_PLUGINS)")
    else:
        grid = cli_table("plugin", "source", "status", "contributions / error")
        for p in listed:
            grid.add_row(
                p["name"],
                p["source"],
                p["status"],
                p["error"] or ", ".join(f"{c['kind']} {c['name']}" for c in p["contributions"]) or "-",
            )
        out.print(grid)
    if strict and any(p["status"] == "failed" for p in listed):
        raise typer.Exit(1)
