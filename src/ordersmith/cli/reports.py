"""`ordersmith report …` and `ordersmith export …`: the report catalogue and streaming exports from the command
line (they read the database directly; no server needed)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, day_option, fail, out
from ordersmith.data.exports import service as exports
from ordersmith.data.exports.kinds import KINDS
from ordersmith.platform import mail
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
    campaign: Opt = None,
    currency: Opt = None,
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
        "campaign": campaign,
        "currency": currency,
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


facts_app = typer.Typer(help="The sales reports' stored daily facts (ADR 0055).", no_args_is_help=True)
app.add_typer(facts_app, name="reports")


@facts_app.command("refresh-facts")
@command
def refresh_facts(
    from_: Annotated[
        str | None, typer.Option("--from", help="YYYY-MM-DD; default: the first order's day")
    ] = None,
    to: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default and latest: yesterday (UTC)")] = None,
) -> None:
    """Compute the daily facts of every day of the range from its orders, 31 days per transaction (the backfill,
    after an import of past orders or an upgrade; the relay and a periodic job keep them current afterwards)."""
    start, end = day_option(from_, "--from"), day_option(to, "--to")
    uow = _db(_settings()).unit_of_work(_cli_actor())
    columns = (TextColumn("daily facts"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=out, transient=True) as progress:
        task = progress.add_task("days", total=None)
        done = reports.refresh_facts(
            uow,
            start=start,
            end=end,
            progress=lambda n, total: progress.update(task, completed=n, total=total),
        )
    if done.first is None:
        out.print("no day to compute: no order before today in the range")
        return
    out.print(f"daily facts of {done.days} day(s) computed: {done.first} to {done.last}")


saved_app = typer.Typer(help="Saved reports e-mailed daily or weekly (UTC).", no_args_is_help=True)
app.add_typer(saved_app, name="saved-reports")


@saved_app.command("list")
@command
def saved_list() -> None:
    """Saved reports: their schedule, recipients, next run and how the last one went."""
    table = Table("id", "title", "report", "format", "schedule", "recipients", "next run (UTC)", "last")
    for saved in reports.list_saved_reports(_db(_settings()).unit_of_work(_cli_actor())):
        schedule = (
            "not scheduled"
            if saved.frequency == "none"
            else f"{saved.frequency} {saved.hour:02d}:00"
            + (f" on day {saved.weekday}" if saved.weekday is not None else "")
        )
        table.add_row(
            str(saved.id),
            saved.title,
            saved.report + (f" ({saved.period})" if saved.period else ""),
            saved.format,
            schedule,
            ", ".join(saved.recipients),
            saved.next_run_at.strftime("%Y-%m-%d %H:%M") if saved.next_run_at else "",
            saved.last_status + (f": {saved.last_error}" if saved.last_error else ""),
        )
    out.print(table)


@saved_app.command("add")
@command
def saved_add(
    title: str,
    report: str,
    to: Annotated[list[str], typer.Option("--to", help="an address to e-mail it to (repeat for more)")],
    frequency: Annotated[str, typer.Option(help="none | daily | weekly")] = "daily",
    hour: Annotated[int, typer.Option(help="hour of the day, UTC")] = 6,
    weekday: Annotated[int | None, typer.Option(help="weekly: 0 Monday … 6 Sunday")] = None,
    period: Annotated[
        str, typer.Option(help="yesterday | last_7_days | last_30_days | previous_month | month_to_date")
    ] = "",
    format: Annotated[str, typer.Option(help="csv | xlsx")] = "xlsx",
    parameter: Annotated[
        list[str] | None, typer.Option("--parameter", "-p", help="NAME=VALUE, a report parameter (repeat)")
    ] = None,
) -> None:
    """Save REPORT as TITLE, e-mailed on a schedule (ORDERSMITH_SMTP_URL says through which server)."""
    parameters = {}
    for item in parameter or []:
        name, sep, value = item.partition("=")
        if not sep:
            fail(f"--parameter {item!r}: NAME=VALUE", 2)
        parameters[name.strip()] = value.strip()
    saved = reports.save_report(
        _db(_settings()).unit_of_work(_cli_actor()),
        title=title,
        report=report,
        parameters=parameters,
        period=period,
        format=format,
        frequency=frequency,
        hour=hour,
        weekday=weekday,
        recipients=to,
    )
    when = saved.next_run_at.strftime("%Y-%m-%d %H:%M UTC") if saved.next_run_at else "never (not scheduled)"
    out.print(f"saved {saved.title} ({saved.id}); next run {when}")


@saved_app.command("delete")
@command
def saved_delete(saved_id: str) -> None:
    """Delete a saved report and its schedule."""
    try:
        wanted = uuid.UUID(saved_id)
    except ValueError:
        fail(f"{saved_id!r} is not a saved report id", 2)
        return
    reports.delete_saved_report(_db(_settings()).unit_of_work(_cli_actor()), saved_id=wanted)
    out.print("deleted")


@saved_app.command("send-due")
@command
def saved_send_due() -> None:
    """E-mail the saved reports that are due now (what the worker's periodic job does)."""
    settings = _settings()
    sent = reports.send_due_reports(_db(settings), mailer=mail.smtp_mailer(settings))
    out.print(f"{sent} report(s) sent")
