"""`ordersmith report …` and `ordersmith export …`: the report catalogue and streaming exports from the command
line (they read the database directly; no server needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, fail, out
from ordersmith.data.exports import service as exports
from ordersmith.data.exports.kinds import KINDS
from ordersmith.reporting import render
from ordersmith.reporting import service as reports

Opt = Annotated[str | None, typer.Option()]


@app.command("report")
@command
def report(
    name: Annotated[str | None, typer.Argument(help="the report; leave out to list the catalogue")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD (UTC), inclusive")] = None,
    to: Annotated[str | None, typer.Option(help="YYYY-MM-DD (UTC), inclusive")] = None,
    grouping: Annotated[str | None, typer.Option(help="day | week | month")] = None,
    channel: Opt = None,
    division: Opt = None,
    location: Opt = None,
    source_code: Opt = None,
    by: Opt = None,
    limit: Opt = None,
    as_of: Opt = None,
    customer: Opt = None,
    kind: Opt = None,
    format: Annotated[str, typer.Option(help="table | csv | xlsx | svg | json")] = "table",
    output: Annotated[
        Path | None, typer.Option(help="write to this file (csv, xlsx, svg need it or stdout)")
    ] = None,
) -> None:
    """Run a report of the catalogue: a table on the terminal, or CSV, XLSX, SVG or JSON to a file."""
    if name is None:
        table = Table("report", "title", "parameters")
        for spec in reports.list_reports():
            table.add_row(spec.name, spec.title, ", ".join(p.name for p in spec.parameters))
        out.print(table)
        return
    if format not in ("table", "csv", "xlsx", "svg", "json"):
        fail("--format is one of table, csv, xlsx, svg, json", 2)
    given = {
        "from": from_,
        "to": to,
        "grouping": grouping,
        "channel": channel,
        "division": division,
        "location": location,
        "source_code": source_code,
        "by": by,
        "limit": limit,
        "as_of": as_of,
        "customer": customer,
        "kind": kind,
    }
    parameters = {k: v for k, v in given.items() if v is not None}
    result = reports.run_report(_db(_settings()).unit_of_work(_cli_actor()), name=name, parameters=parameters)
    if format == "table":
        table = Table(*(c.label for c in result.spec.columns), title=result.spec.title)
        for row in result.rows:
            table.add_row(
                *("" if (v := render.cell(c, row[c.name])) is None else str(v) for c in result.spec.columns)
            )
        out.print(table)
        return
    if format == "xlsx":
        if output is None:
            fail("an XLSX report needs --output FILE", 2)
        assert output is not None
        output.write_bytes(render.to_xlsx(result))
    else:
        import json

        text = (
            "".join(render.to_csv(result))
            if format == "csv"
            else render.to_svg(result)
            if format == "svg"
            else json.dumps(render.to_json(result), indent=2)
        )
        if output is None:
            typer.echo(text, nl=False)
            return
        output.write_text(text, encoding="utf-8")
    out.print(f"{result.spec.title}: {len(result.rows)} rows → {output}")


@app.command("export")
@command
def export(
    kind: Annotated[str, typer.Argument(help=", ".join(KINDS))],
    output: Annotated[Path, typer.Option(help="the file to write (0600)")],
    format: Annotated[str, typer.Option(help="csv | xlsx | parquet")] = "csv",
    from_: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD (UTC), inclusive")] = None,
    to: Annotated[str | None, typer.Option(help="YYYY-MM-DD (UTC), inclusive")] = None,
    channel: Opt = None,
    status: Opt = None,
    location: Opt = None,
    contactable: Annotated[str | None, typer.Option(help="customers: email | mail | phone")] = None,
) -> None:
    """Stream every row of KIND matching the filters to a file, with a progress bar."""
    given = {
        "from": from_,
        "to": to,
        "channel": channel,
        "status": status,
        "location": location,
        "contactable": contactable,
    }
    filters = {k: v for k, v in given.items() if v is not None}
    db = _db(_settings())
    total = exports.count_rows(db.unit_of_work(_cli_actor()), kind=kind, filters=filters)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=out, transient=False) as progress:
        task = progress.add_task(f"{kind} → {output.name}", total=total)
        count = exports.stream_to_file(
            db,
            kind=kind,
            format=format,
            filters=filters,
            path=output,
            progress=lambda done: progress.update(task, completed=done),
        )
    exports.record_direct_export(
        db.unit_of_work(_cli_actor()), kind=kind, format=format, filters=filters, path=output, rows=count
    )
    out.print(f"{count} rows of {kind} written to {output} ({format})")
