"""The apply: chunk by chunk, each chunk's rows written in one transaction together with `rows_done` (so a resumed
apply starts after the last committed chunk and never writes a row twice)."""

from __future__ import annotations

import uuid
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.data.imports.kinds import KINDS, Kind
from ordersmith.data.imports.service._common import (
    Import,
    Progress,
    _bulk_run,
    _chunks,
    _counts,
    _error_rows,
    _fail,
    _import,
    _load,
    _rows,
    _stored_file,
)
from ordersmith.data.tables import ImportChunkRow, ImportErrorRow, ImportRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case


class _ApplyFailed(Exception):
    def __init__(self, number: int, column: str | None, reason: str) -> None:
        super().__init__(f"row {number}: {column}: {reason}")
        self.number, self.column, self.reason = number, column, reason


def _apply_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    apply(uow.db, import_id=uuid.UUID(payload["import_id"]))


def apply(db: Database, *, import_id: uuid.UUID, progress: Progress | None = None) -> None:
    """Apply an import whose apply was requested, from its last committed chunk (what its job does; the CLI calls
    it to run in the foreground). Two processes applying one import write each chunk once: each chunk is claimed
    by moving `rows_done` on from where it stood, in the chunk's own transaction."""
    uow = db.unit_of_work(Actor.system("imports"))
    row, actor, granted = _load(uow, import_id=import_id)
    if row.status != "applying":
        return
    target = KINDS[row.kind]
    done = row.rows_done  # a resumed apply starts after the last committed chunk
    try:
        with _bulk_run(), _stored_file(db, import_id) as path:
            for chunk in _chunks(path, row, row.chunk_rows, skip=done):
                applied = _apply_chunk(
                    db.unit_of_work(actor), row=row, target=target, chunk=chunk, start=done, granted=granted
                )
                if applied is None:
                    return  # another process holds it (a lapsed lease), or it ended meanwhile
                done += len(chunk)
                if progress is not None:
                    progress(applied)
    except _ApplyFailed as exc:
        _fail(
            uow,
            import_id=import_id,
            summary=f"row {exc.number}, column {exc.column}: {exc.reason} — the apply stopped there; "
            f"the {done} row(s) before its chunk were applied",
        )
        return
    except ValidationFailed as exc:
        _fail(uow, import_id=import_id, summary=exc.detail)
        return
    _finish_apply(db.unit_of_work(actor), import_id=import_id)


@use_case
def _apply_chunk(
    uow: UnitOfWork,
    *,
    row: Import,
    target: Kind,
    chunk: list[tuple[int, list[str]]],
    start: int,
    granted: frozenset[str] | None,
) -> Import | None:
    table = cast(sa.Table, ImportRow.__table__)
    # Claim the chunk first: this row's lock (PostgreSQL) or the writer lock (SQLite) keeps a second worker out,
    # and `rows_done` commits with the chunk's writes, so a resumed apply never writes a row twice.
    claimed = uow.execute_core(
        sa.update(table)
        .where(table.c.id == row.id, table.c.status == "applying", table.c.rows_done == start)
        .values(rows_done=start + len(chunk))
    )
    if claimed.rowcount != 1:
        return None
    numbers = [number for number, _ in chunk]
    skipped = set(
        uow.execute_core(
            sa.select(ImportErrorRow.row_number).where(
                ImportErrorRow.import_id == row.id,
                ImportErrorRow.row_number.between(min(numbers), max(numbers)),
            )
        ).scalars()
    )
    readable, _ = _rows(row, [(n, cells) for n, cells in chunk if n not in skipped])
    outcomes = target.check(uow, readable, True, granted, {})
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    errors: list[tuple[int, str | None, str]] = []
    for (number, _), outcome in zip(readable, outcomes, strict=True):
        if outcome.action == "invalid":
            if row.mode == "all_or_nothing":
                column, reason = outcome.errors[0] if outcome.errors else (None, "invalid")
                raise _ApplyFailed(number, column, reason)
            errors += [(number, column, reason) for column, reason in outcome.errors]
        else:
            counts[outcome.action] += 1
    invalid = len({number for number, _, _ in errors})
    uow.execute_core(
        sa.update(table)
        .where(table.c.id == row.id)
        .values(
            created_count=table.c.created_count + counts["created"],
            updated_count=table.c.updated_count + counts["updated"],
            unchanged_count=table.c.unchanged_count + counts["unchanged"],
            invalid_rows=table.c.invalid_rows + invalid,
            valid_rows=table.c.valid_rows - invalid,
        )
    )
    if errors:
        uow.execute_core(sa.insert(ImportErrorRow.__table__), _error_rows(row.id, errors, dict(chunk)))  # type: ignore[arg-type]
    found = uow.session.get(ImportRow, row.id)
    assert found is not None
    return _import(found)


@use_case
def _finish_apply(uow: UnitOfWork, *, import_id: uuid.UUID) -> None:
    row = uow.session.get(ImportRow, import_id)
    if row is None or row.status != "applying":
        return
    row.status, row.finished_at, row.version = "applied", uow.now(), row.version + 1
    uow.execute_core(sa.delete(ImportChunkRow).where(ImportChunkRow.import_id == import_id))
    uow.audit("import.applied", object_type="import", object_id=str(import_id), after=_counts(row))
    uow.emit(
        "import.applied",
        {
            "id": str(import_id),
            "kind": row.kind,
            "created": row.created_count,
            "updated": row.updated_count,
            "unchanged": row.unchanged_count,
        },
    )
