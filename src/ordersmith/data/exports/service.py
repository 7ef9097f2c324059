"""Export use cases: ask for an export (a job record, run by the job runner: in-process under `serve` on SQLite,
by `ordersmith worker` in production), follow it, fetch its file; and stream one straight to a file (the CLI).

Invariant: an export's rows are read through one streamed query (server-side cursor on PostgreSQL) and written as
they arrive; the file is 0600 under the exports folder; the audit log records who asked for what and what came
out (kind, format, filters, rows, size).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ordersmith.data.export_tables import ExportRow
from ordersmith.data.exports import writers
from ordersmith.data.exports.copy import copy_csv, sqlite_csv
from ordersmith.data.exports.kinds import KINDS, check_request, query_filters
from ordersmith.data.exports.kinds._base import with_custom_fields
from ordersmith.kernel.errors import Conflict, NotFound
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform import custom_fields, jobs
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

log = logging.getLogger(__name__)

JOB_KIND = "data.export"
BATCH_ROWS = 10_000


@dataclass(frozen=True)
class Export:
    id: uuid.UUID
    kind: str
    format: str
    filters: dict[str, Any]
    status: str
    rows: int
    size_bytes: int | None
    error: str
    actor: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    file_path: str

    @property
    def filename(self) -> str:
        return f"{self.kind}-{self.created_at:%Y%m%d-%H%M%S}.{writers.EXTENSIONS[self.format]}"


def _export(row: ExportRow) -> Export:
    return Export(
        id=row.id,
        kind=row.kind,
        format=row.format,
        filters=dict(row.filters),
        status=row.status,
        rows=row.rows,
        size_bytes=row.size_bytes,
        error=row.error,
        actor=row.actor,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        file_path=row.file_path,
    )


def stream_to_file(
    db: Database,
    *,
    kind: str,
    format: str,
    filters: dict[str, Any],
    path: Path,
    progress: Callable[[int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Write every row of export `kind` matching `filters` to `path` (0600) in `format`; returns the row count.
    Reads the read replica when `db` has one (ORDERSMITH_REPORTS_DATABASE_URL).

    Raises:
        ValidationFailed: an unknown kind or format, or a filter the kind does not take (nothing is written).
    """
    checked = check_request(kind, format, filters)
    export = KINDS[kind]
    fields = []
    if export.custom_kind is not None:
        found = custom_fields.list_definitions(
            db.unit_of_work(Actor.system("export")), kind=export.custom_kind
        )
        fields = [(d.name, d.type) for d in found]
    columns, query = with_custom_fields(export, export.query(query_filters(checked)), fields)
    db = db.for_reports  # the read replica, when one is set
    if format == "csv" and db.dialect == "postgresql":
        return copy_csv(db, path, columns, query, progress or (lambda _n: None))
    if format == "csv" and db.dialect == "sqlite":
        return sqlite_csv(db, path, columns, query, progress or (lambda _n: None), batch_rows)
    if db.dialect == "postgresql":
        return writers.WRITERS[format](
            path, columns, _pg_batches(db, query, batch_rows), progress or (lambda _n: None)
        )
    with db.read_engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=batch_rows).execute(query)
        batches = writers.batches_of(result.partitions())
        return writers.WRITERS[format](path, columns, batches, progress or (lambda _n: None))


def _pg_batches(db: Database, query: sa.Select[Any], batch_rows: int) -> Iterator[Sequence[Sequence[Any]]]:
    """`query`'s rows in batches from a server-side cursor of the driver itself: psycopg's C loaders make the
    values (times already in UTC: the transaction's time zone), with no per-value conversion in Python."""
    compiled = query.compile(db.read_engine)
    connection = db.read_engine.raw_connection()
    try:
        driver: Any = connection.driver_connection  # psycopg's own connection: a named (server-side) cursor
        driver.execute("SET LOCAL TIME ZONE 'UTC'")
        driver.execute(
            "SET LOCAL cursor_tuple_fraction = 1"
        )  # every row is read: plan for all, not the first
        with driver.cursor(name="ordersmith_export", binary=True) as cursor:  # no text to make or parse
            cursor.itersize = batch_rows
            cursor.execute(compiled.string, compiled.params)
            while rows := cursor.fetchmany(batch_rows):
                yield rows
        connection.commit()
    finally:
        connection.close()


@use_case
def record_direct_export(
    uow: UnitOfWork, *, kind: str, format: str, filters: dict[str, Any], path: Path, rows: int
) -> None:
    """Audit an export written straight to a file (the CLI): who, what, where, how many rows."""
    uow.audit(
        "export.written",
        object_type="export",
        object_id=str(path.resolve()),
        after={
            "kind": kind,
            "format": format,
            "filters": filters,
            "rows": rows,
            "bytes": path.stat().st_size,
        },
    )


@use_case(readonly=True)
def count_rows(uow: UnitOfWork, *, kind: str, filters: dict[str, Any]) -> int:
    """How many rows an export of `kind` with `filters` would write (for a progress bar's total).

    Raises:
        ValidationFailed: an unknown kind, or a filter the kind does not take.
    """
    checked = check_request(kind, "csv", filters)
    query = KINDS[kind].query(query_filters(checked)).order_by(None)
    return int(uow.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)


@use_case
def request_export(
    uow: UnitOfWork, *, kind: str, format: str, filters: dict[str, Any], folder: Path
) -> Export:
    """Queue an export; its job writes the file under `folder`. Returns the queued export (202 in the API).

    Raises:
        ValidationFailed: an unknown kind or format, or a filter the kind does not take (nothing is queued).
    """
    checked = check_request(kind, format, filters)
    export_id = new_id()
    path = folder.resolve() / f"{export_id}.{writers.EXTENSIONS[format]}"
    row = ExportRow(
        id=export_id,
        kind=kind,
        format=format,
        filters=checked,
        status="queued",
        rows=0,
        size_bytes=None,
        file_path=str(path),
        error="",
        actor=uow.actor.label,
        created_at=uow.now(),
        started_at=None,
        finished_at=None,
    )
    uow.session.add(row)
    jobs.enqueue(uow, JOB_KIND, {"export_id": str(export_id)}, max_attempts=1)
    uow.audit(
        "export.requested",
        object_type="export",
        object_id=str(export_id),
        after={"kind": kind, "format": format, "filters": checked},
    )
    return _export(row)


@use_case(readonly=True)
def get_export(uow: UnitOfWork, *, export_id: uuid.UUID) -> Export:
    """Raises:
    NotFound: no such export."""
    row = uow.session.get(ExportRow, export_id)
    if row is None:
        raise NotFound("no such export", export_id=str(export_id))
    return _export(row)


@use_case(readonly=True)
def list_exports(uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None) -> Page[Export]:
    """Newest first."""
    return keyset_page(
        uow,
        sa.select(ExportRow),
        keys=[ExportRow.id],
        to_item=_export,
        cursor=cursor,
        limit=limit,
        descending=True,
    )


def export_file(uow: UnitOfWork, *, export_id: uuid.UUID) -> tuple[Export, Path]:
    """The finished export and its file.

    Raises:
        NotFound: no such export, or its file is gone.
        Conflict: not finished yet (or failed), with its `status`.
    """
    export = get_export(uow, export_id=export_id)
    if export.status != "done":
        raise Conflict(f"the export is {export.status}, not done", status=export.status)
    path = Path(export.file_path)
    if not path.is_file():
        raise NotFound("the export's file is gone", export_id=str(export_id))
    return export, path


@use_case
def _start(uow: UnitOfWork, *, export_id: uuid.UUID) -> ExportRow | None:
    row = uow.session.get(ExportRow, export_id, with_for_update=True)
    if row is None or row.status not in ("queued", "running"):
        return None  # already finished: a job run twice does nothing
    row.status, row.started_at = "running", uow.now()
    return row


@use_case
def _finish(uow: UnitOfWork, *, export_id: uuid.UUID, rows: int, size: int | None, error: str) -> None:
    row = uow.session.get(ExportRow, export_id, with_for_update=True)
    assert row is not None
    row.status = "failed" if error else "done"
    row.rows, row.size_bytes, row.error, row.finished_at = rows, size, error[:500], uow.now()
    uow.audit(
        "export.failed" if error else "export.finished",
        object_type="export",
        object_id=str(export_id),
        after={
            "kind": row.kind,
            "format": row.format,
            "filters": row.filters,
            "rows": rows,
            "bytes": size,
            "actor": row.actor,
            **({"error": row.error} if error else {}),
        },
    )


def run_export_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    """The job: stream the export to its file, then record how it went (a failure is recorded, not retried)."""
    export_id = uuid.UUID(payload["export_id"])
    row = _start(uow, export_id=export_id)
    if row is None:
        return
    path = Path(row.file_path)
    try:
        count = stream_to_file(uow.db, kind=row.kind, format=row.format, filters=row.filters, path=path)
    except Exception:
        # The details (which may name tables or SQL) go to the server's log, not to the export record people read.
        log.exception("export %s failed", export_id)
        with contextlib.suppress(OSError):
            if path.is_file():
                path.unlink()  # no half-written file stays behind
        _finish(
            uow, export_id=export_id, rows=0, size=None, error="the export failed; the server log has why"
        )
        return
    _finish(uow, export_id=export_id, rows=count, size=path.stat().st_size, error="")


def register() -> None:
    """Idempotent: safe to call once per app or worker start."""
    jobs.register(JOB_KIND, run_export_job)
