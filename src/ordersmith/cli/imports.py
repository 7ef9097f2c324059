"""`ordersmith import …`: bulk imports from the command line (`ordersmith import KIND FILE`), their status, and
the templates.

The command runs the import's dry run and apply itself, in the foreground, with a progress bar; when a worker has
already picked a phase up, it follows that worker's progress instead (both write each chunk once).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ordersmith.cli._common import _cli_actor, _db, _settings, app, command, fail, out
from ordersmith.data.imports import service as imports
from ordersmith.data.imports import templates
from ordersmith.data.imports.kinds import KINDS
from ordersmith.platform.db import Database

import_app = typer.Typer(
    help=f"Bulk imports from CSV or XLSX: `ordersmith import KIND FILE` ({', '.join(KINDS)}), status, template.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")
POLL_S = 0.5


def _follow(db: Database, found: imports.Import, bar: Progress) -> imports.Import:
    """Run (or follow a worker running) the dry run, then the apply when one was asked for."""
    uow = db.unit_of_work(_cli_actor())
    checking = bar.add_task("checking rows", total=None)

    def checked(state: imports.Import) -> None:
        bar.update(checking, completed=state.rows_done)

    imports.validate(db, import_id=found.id, progress=checked)
    while (found := imports.get_import(uow, import_id=found.id)).status in ("uploaded", "validating"):
        checked(found)  # a worker has it
        time.sleep(POLL_S)
    bar.update(checking, total=found.total_rows, completed=found.total_rows)
    if found.status != "applying":
        return found
    applying = bar.add_task("applying", total=found.total_rows)

    def applied(state: imports.Import) -> None:
        bar.update(applying, completed=state.rows_done)

    imports.apply(db, import_id=found.id, progress=applied)
    while (found := imports.get_import(uow, import_id=found.id)).status == "applying":
        applied(found)
        time.sleep(POLL_S)
    bar.update(applying, completed=found.rows_done)
    return found


def _report(db: Database, found: imports.Import) -> None:
    done = found.status == "applied"
    out.print(f"import [bold]{found.id}[/] ({found.kind}, {found.file_name}): [bold]{found.status}[/]")
    out.print(f"  rows {found.total_rows}: {found.valid_rows} valid, {found.invalid_rows} with errors")
    if done:
        out.print(
            f"  created {found.created_count}, updated {found.updated_count}, unchanged {found.unchanged_count}"
        )
    else:
        out.print(
            f"  would create {found.to_create}, update {found.to_update}, leave {found.to_leave} unchanged"
        )
    if found.error_summary:
        out.print(f"[bold]{found.error_summary}[/]")
    errors = imports.row_errors(db.unit_of_work(_cli_actor()), import_id=found.id, limit=20)
    for error in errors:
        out.print(f"  row {error.row_number}, {error.column or 'row'}: {error.reason}")
    if found.invalid_rows > len(errors):
        out.print(f"  … all of them: GET /api/v1/imports/{found.id}/errors?format=csv")


def _import(kind: str, file: Path, dry_run: bool, apply_valid: bool) -> None:
    settings = _settings()
    db = _db(settings)
    imports.register()
    with file.open("rb") as source:
        found = imports.upload(
            db,
            _cli_actor(),
            kind=kind,
            file_name=file.name,
            source=source,
            mode="apply_valid" if apply_valid else "all_or_nothing",
            apply=not dry_run,
            granted=None,
            max_bytes=settings.import_max_bytes,
            chunk_rows=settings.import_chunk_rows,
        )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=out, transient=False) as bar:
        found = _follow(db, found, bar)
    _report(db, found)
    db.dispose()
    if found.status == "failed" or (not dry_run and found.status != "applied"):
        raise typer.Exit(2)
    if dry_run and found.invalid_rows:
        raise typer.Exit(2)


def _kind_command(kind: str) -> None:
    @import_app.command(
        kind, help=f"Import {kind} from a CSV or XLSX file (docs/imports.md lists the columns)."
    )
    @command
    def run(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="check every row and show the diff only")
        ] = False,
        apply_valid: Annotated[
            bool,
            typer.Option(
                "--apply-valid", help="apply the valid rows and skip the others (not all or nothing)"
            ),
        ] = False,
    ) -> None:
        _import(kind, file, dry_run, apply_valid)


for _kind in KINDS:
    _kind_command(_kind)


@import_app.command("status")
@command
def status(import_id: str) -> None:
    """An import's state, diff, counts and first row errors."""
    settings = _settings()
    db = _db(settings)
    try:
        wanted = uuid.UUID(import_id)
    except ValueError:
        fail(f"{import_id!r} is not an import id")
        return
    _report(db, imports.get_import(db.unit_of_work(_cli_actor()), import_id=wanted))


@import_app.command("abandon")
@command
def abandon(
    import_id: str,
    reason: Annotated[str, typer.Option("--reason", help="why, for the audit log")] = "",
) -> None:
    """Give up an apply that cannot finish: mark it failed and free its kind (rows already applied stay)."""
    settings = _settings()
    db = _db(settings)
    try:
        wanted = uuid.UUID(import_id)
    except ValueError:
        fail(f"{import_id!r} is not an import id")
        return
    _report(db, imports.abandon_import(db.unit_of_work(_cli_actor()), import_id=wanted, reason=reason))


@import_app.command("template")
@command
def template(
    kind: str,
    format: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="default: KIND-template.FORMAT")
    ] = None,
) -> None:
    """Write the kind's template (its columns, custom fields' too, and an example row) to a file."""
    if format not in templates.FORMATS:
        fail("--format must be csv or xlsx")
    spec = imports.import_spec(_db(_settings()).unit_of_work(_cli_actor()), kind=kind)  # custom columns too
    path = output or Path(f"{kind}-template.{format}")
    path.write_bytes(templates.template(spec, format))
    out.print(f"wrote {path} ({len(spec.columns)} columns)")
