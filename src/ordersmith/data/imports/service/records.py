"""Reading imports and their row errors; asking for an apply; cancelling."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import sqlalchemy as sa

from ordersmith.data.imports.service._common import (
    CANCELLABLE,
    MODES,
    Import,
    RowError,
    _import,
    _start_apply,
)
from ordersmith.data.tables import ImportChunkRow, ImportErrorRow, ImportRow
from ordersmith.kernel.errors import Conflict, NotFound, ValidationFailed
from ordersmith.kernel.pagination import Page
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

# --- reading it back --------------------------------------------------------------------------------------------


@use_case(readonly=True)
def get_import(uow: UnitOfWork, *, import_id: uuid.UUID) -> Import:
    """The import with this id (NotFound otherwise)."""
    row = uow.session.get(ImportRow, import_id)
    if row is None:
        raise NotFound("no such import")
    return _import(row)


@use_case(readonly=True)
def list_imports(
    uow: UnitOfWork, *, kind: str | None = None, limit: int = 50, cursor: str | None = None
) -> Page[Import]:
    """Imports, newest first, optionally of one kind."""
    query = sa.select(ImportRow)
    if kind:
        query = query.where(ImportRow.kind == kind)
    return keyset_page(
        uow, query, keys=[ImportRow.id], to_item=_import, cursor=cursor, limit=limit, descending=True
    )


@use_case(readonly=True)
def row_errors(
    uow: UnitOfWork, *, import_id: uuid.UUID, limit: int = 100, after: tuple[int, int] = (-1, -1)
) -> list[RowError]:
    """The row errors after (row number, seq) `after`, in row order (at most `limit`)."""
    key = sa.tuple_(ImportErrorRow.row_number, ImportErrorRow.seq)
    rows = uow.session.execute(
        sa.select(
            ImportErrorRow.row_number,
            ImportErrorRow.seq,
            ImportErrorRow.column,
            ImportErrorRow.reason,
            ImportErrorRow.cells,
        )
        .where(
            ImportErrorRow.import_id == import_id, key > sa.tuple_(sa.literal(after[0]), sa.literal(after[1]))
        )
        .order_by(ImportErrorRow.row_number, ImportErrorRow.seq)
        .limit(limit)
    ).all()
    return [
        RowError(row_number=r.row_number, seq=r.seq, column=r.column, reason=r.reason, cells=r.cells)
        for r in rows
    ]


def all_row_errors(db: Database, *, import_id: uuid.UUID, batch: int = 2000) -> Iterator[RowError]:
    """Every row error in row order, read a batch at a time (for the error file: never all in memory)."""
    uow = db.unit_of_work(Actor.system("imports"))
    after = (-1, -1)
    while found := row_errors(uow, import_id=import_id, limit=batch, after=after):
        yield from found
        after = (found[-1].row_number, found[-1].seq)


# --- applying and cancelling -------------------------------------------------------------------------------------


@use_case
def request_apply(uow: UnitOfWork, *, import_id: uuid.UUID, mode: str | None = None) -> Import:
    """Apply a validated import (as a job). `mode` apply_valid writes the valid rows and skips the others.

    Raises:
        Conflict: it is not validated, its dry run found errors and the mode is all_or_nothing, or another import
            of its kind is busy.
    """
    row = uow.session.get(ImportRow, import_id)
    if row is None:
        raise NotFound("no such import")
    if mode is not None and mode not in MODES:
        raise ValidationFailed.on("mode", f"must be one of {', '.join(MODES)}")
    mode = mode or row.mode
    if row.status in ("uploaded", "validating"):
        row.apply_requested, row.mode = True, mode  # applied as soon as the dry run ends
        uow.flush_unique("import")
        return _import(row)
    if row.status != "validated":
        raise Conflict(f"the import is {row.status}; only a validated import can be applied")
    if mode == "all_or_nothing" and row.invalid_rows:
        raise Conflict(
            f"{row.invalid_rows} row(s) have errors: fix them, or apply the valid rows only (apply_valid)"
        )
    _start_apply(uow, row, mode)
    return _import(row)


@use_case
def cancel_import(uow: UnitOfWork, *, import_id: uuid.UUID) -> Import:
    """Cancel an import that has not started applying (its file is dropped).

    Raises:
        Conflict: it is applying (an apply is never stopped half-way) or has ended.
    """
    row = uow.session.get(ImportRow, import_id)
    if row is None:
        raise NotFound("no such import")
    if row.status not in CANCELLABLE:
        raise Conflict(f"the import is {row.status}: it can no longer be cancelled")
    claimed = uow.execute_core(
        sa.update(ImportRow)
        .where(ImportRow.id == import_id, ImportRow.status.in_(CANCELLABLE))
        .values(status="cancelled", finished_at=uow.now(), version=ImportRow.version + 1)
    )
    if claimed.rowcount != 1:
        raise Conflict("the import changed meanwhile; read it again")
    uow.execute_core(sa.delete(ImportChunkRow).where(ImportChunkRow.import_id == import_id))
    uow.audit("import.cancelled", object_type="import", object_id=str(import_id), after={"kind": row.kind})
    uow.session.expire(row)
    return _import(uow.session.get(ImportRow, import_id) or row)


@use_case
def abandon_import(uow: UnitOfWork, *, import_id: uuid.UUID, reason: str = "") -> Import:
    """Give up an apply that cannot finish (its job failed every attempt, or its file cannot be applied): the import
    is marked failed and frees its kind for the next import. The chunks committed before stay (each one whole, with
    `rows_done` counting them); a worker still applying stops at its next chunk, whose claim needs `applying`.

    Raises:
        Conflict: the import is not applying (a dry run or a validated import is cancelled instead).
    """
    row = uow.session.get(ImportRow, import_id)
    if row is None:
        raise NotFound("no such import")
    if row.status != "applying":
        raise Conflict(
            f"the import is {row.status}: only an apply under way can be abandoned (cancel it instead)"
        )
    note = f": {reason.strip()[:500]}" if reason.strip() else ""
    summary = (
        f"abandoned by {uow.actor.label}{note} — {row.rows_done} of {row.total_rows} row(s) were applied before "
        "it stopped"
    )
    claimed = uow.execute_core(
        sa.update(ImportRow)
        .where(ImportRow.id == import_id, ImportRow.status == "applying")
        .values(status="failed", finished_at=uow.now(), error_summary=summary, version=ImportRow.version + 1)
    )
    if claimed.rowcount != 1:
        raise Conflict("the import changed meanwhile; read it again")
    uow.execute_core(sa.delete(ImportChunkRow).where(ImportChunkRow.import_id == import_id))
    uow.audit(
        "import.abandoned",
        object_type="import",
        object_id=str(import_id),
        before={"status": "applying"},
        after={"kind": row.kind, "rows_done": row.rows_done, "total": row.total_rows, "reason": reason[:500]},
    )
    uow.session.expire(row)
    return _import(uow.session.get(ImportRow, import_id) or row)


def error_lines(db: Database, *, import_id: uuid.UUID) -> Iterator[tuple[int, list[str] | None, str]]:
    """One line per failed row: its number, its cells as read, and every problem it has ("column: reason; …")."""
    current: tuple[int, list[str] | None, list[str]] | None = None
    for error in all_row_errors(db, import_id=import_id):
        text = f"{error.column}: {error.reason}" if error.column else error.reason
        if current is not None and current[0] == error.row_number:
            current[2].append(text)
            continue
        if current is not None:
            yield current[0], current[1], "; ".join(current[2])
        current = (error.row_number, error.cells, [text])
    if current is not None:
        yield current[0], current[1], "; ".join(current[2])
