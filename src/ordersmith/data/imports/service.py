"""Bulk import use cases: upload, the dry run (validate), apply, cancel, and reading an import's state.

Flow: `upload` stores the file (in the database, in 1 MiB chunks, so a worker on any host can read it) and queues
the dry run; the dry run reads every row through the target's schema and use case in a transaction it rolls back,
recording each row's errors and the diff (creates, updates, unchanged); `apply` then writes the rows chunk by chunk,
each chunk in one transaction together with `rows_done`, so a killed worker resumes after the last committed chunk
and never writes a row twice (ADR 0022).

Invariants: in `all_or_nothing` mode nothing is written unless the dry run found every row valid; one import per
kind is busy at a time (a unique partial index); a file already applied for a kind is refused if uploaded again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from ordersmith.data.imports import reading
from ordersmith.data.imports.kinds import KINDS, Kind, Outcome, Row
from ordersmith.data.imports.rules import HeaderProblem, cells_by_column, match_header, refused_columns
from ordersmith.data.tables import ImportChunkRow, ImportErrorRow, ImportRow
from ordersmith.kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform import jobs
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

MODES = ("all_or_nothing", "apply_valid")
VALIDATE_JOB = "imports.validate"
APPLY_JOB = "imports.apply"
ENDED = ("applied", "failed", "cancelled")
CANCELLABLE = ("uploaded", "validating", "validated")


@dataclass(frozen=True)
class Import:
    id: uuid.UUID
    kind: str
    file_name: str
    sha256: str
    size_bytes: int
    format: str
    encoding: str | None
    columns: list[str]
    chunk_rows: int
    status: str
    mode: str
    total_rows: int
    valid_rows: int
    invalid_rows: int
    to_create: int
    to_update: int
    to_leave: int
    created_count: int
    updated_count: int
    unchanged_count: int
    rows_done: int
    actor_label: str
    error_summary: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def phase_total(self) -> int:
        """The rows the running phase goes through (the dry run's total is known once it has read them all)."""
        return self.total_rows

    @property
    def ended(self) -> bool:
        return self.status in ENDED


@dataclass(frozen=True)
class RowError:
    row_number: int
    seq: int
    column: str | None
    reason: str
    cells: list[str] | None


def _import(row: ImportRow) -> Import:
    return Import(**{name: getattr(row, name) for name in Import.__dataclass_fields__})


def kind_of(kind: str) -> Kind:
    found = KINDS.get(kind)
    if found is None:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(KINDS)}")
    return found


# --- upload ---------------------------------------------------------------------------------------------------


def upload(
    db: Database,
    actor: Actor,
    *,
    kind: str,
    file_name: str,
    source: IO[bytes],
    mode: str = "all_or_nothing",
    apply: bool = False,
    granted: frozenset[str] | None = None,
    max_bytes: int,
    chunk_rows: int = 1000,
) -> Import:
    """Store an uploaded file and queue its dry run (with `apply`, the apply follows a clean dry run).

    The file is copied to a private temporary file first (hashed, sized, its encoding found) outside any
    transaction; its header is checked at once, so a file of the wrong kind is refused before anything is stored.

    Raises:
        ValidationFailed: unknown kind or mode, an empty or unreadable file, a missing, unknown or repeated column
            (naming it); TooLarge (413) over `max_bytes`.
        Forbidden: the caller may not write this kind's records, or a column needs a scope the caller lacks.
        Conflict: an import of this kind is busy, or this very file was applied already.
    """
    target = kind_of(kind)
    if mode not in MODES:
        raise ValidationFailed.on("mode", f"must be one of {', '.join(MODES)}")
    if granted is not None and target.spec.scope not in granted:
        raise Forbidden(f"importing {kind} needs the scope {target.spec.scope!r}", required_scope=target.spec.scope)
    with reading.spool(source, max_bytes=max_bytes) as up:
        columns = _header(target, up.path, up.format, up.encoding)
        refused = refused_columns(target.spec, columns, granted)
        if refused:
            column, scope = refused[0]
            raise Forbidden(f"column {column}: importing it needs the scope {scope!r}", required_scope=scope)
        return _register(db.unit_of_work(actor), kind=kind, file_name=file_name[:255] or "upload", upload=up,
                         columns=columns, mode=mode, apply=apply, granted=granted,
                         chunk_rows=chunk_rows)  # fmt: skip


def _header(target: Kind, path: Path, format: str, encoding: str | None) -> list[str]:
    try:
        for _, header in reading.read_rows(path, format=format, encoding=encoding):
            return match_header(target.spec, header)
    except HeaderProblem as exc:
        raise ValidationFailed(exc.message, errors=[_field(exc.column, exc.message)]) from None
    except (UnicodeDecodeError, UnicodeError) as exc:
        raise ValidationFailed.on("file", f"the file's text cannot be read: {exc.reason}") from None
    raise ValidationFailed.on("file", "the file has no header row")


def _field(name: str, message: str) -> Any:
    from ordersmith.kernel.errors import FieldError

    return FieldError(name, message)


@use_case
def _register(
    uow: UnitOfWork, *, kind: str, file_name: str, upload: reading.Upload, columns: list[str], mode: str,
    apply: bool, granted: frozenset[str] | None, chunk_rows: int,
) -> Import:  # fmt: skip
    applied = uow.session.scalar(
        sa.select(ImportRow.id).where(
            ImportRow.kind == kind, ImportRow.sha256 == upload.sha256, ImportRow.status == "applied"
        )
    )
    if applied is not None:
        raise Conflict(f"this file was imported already (import {applied}); nothing was done")
    busy = uow.session.scalar(sa.select(ImportRow.id).where(ImportRow.kind == kind, _busy()))
    if busy is not None:
        raise Conflict(f"an import of {kind} is under way ({busy}): wait for it or cancel it")
    now = uow.now()
    actor = uow.actor
    row = ImportRow(
        id=new_id(), kind=kind, file_name=file_name, sha256=upload.sha256, size_bytes=upload.size_bytes,
        format=upload.format, encoding=upload.encoding, columns=columns, chunk_rows=chunk_rows, status="uploaded",
        mode=mode, apply_requested=apply, total_rows=0, valid_rows=0, invalid_rows=0, to_create=0, to_update=0,
        to_leave=0, created_count=0, updated_count=0, unchanged_count=0, rows_done=0, actor_kind=actor.kind,
        actor_id=str(actor.id) if actor.id else None, actor_label=actor.label,
        granted=sorted(granted) if granted is not None else None, created_at=now, version=1,
    )  # fmt: skip
    uow.insert_unique(ImportRow, row, f"an import of {kind} is under way: wait for it or cancel it")
    with upload.path.open("rb") as handle:
        seq = 0
        while piece := handle.read(reading.PIECE_BYTES):
            uow.execute_core(sa.insert(ImportChunkRow.__table__), {"import_id": row.id, "seq": seq, "data": piece})  # type: ignore[arg-type]
            seq += 1
    jobs.enqueue(uow, VALIDATE_JOB, {"import_id": str(row.id)}, max_attempts=3)
    uow.audit("import.uploaded", object_type="import", object_id=str(row.id),
              after={"kind": kind, "file_name": file_name, "sha256": upload.sha256, "size_bytes": upload.size_bytes,
                     "mode": mode})  # fmt: skip
    return _import(row)


def _busy() -> sa.ColumnElement[bool]:
    return ImportRow.status.in_(("uploaded", "validating", "applying"))


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
    return keyset_page(uow, query, keys=[ImportRow.id], to_item=_import, cursor=cursor, limit=limit, descending=True)


@use_case(readonly=True)
def row_errors(
    uow: UnitOfWork, *, import_id: uuid.UUID, limit: int = 100, after: tuple[int, int] = (-1, -1)
) -> list[RowError]:
    """The row errors after (row number, seq) `after`, in row order (at most `limit`)."""
    key = sa.tuple_(ImportErrorRow.row_number, ImportErrorRow.seq)
    rows = uow.session.execute(
        sa.select(ImportErrorRow.row_number, ImportErrorRow.seq, ImportErrorRow.column, ImportErrorRow.reason,
                  ImportErrorRow.cells)
        .where(ImportErrorRow.import_id == import_id, key > sa.tuple_(sa.literal(after[0]), sa.literal(after[1])))
        .order_by(ImportErrorRow.row_number, ImportErrorRow.seq)
        .limit(limit)
    ).all()  # fmt: skip
    return [RowError(row_number=r.row_number, seq=r.seq, column=r.column, reason=r.reason, cells=r.cells)
            for r in rows]  # fmt: skip


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
        raise Conflict(f"{row.invalid_rows} row(s) have errors: fix them, or apply the valid rows only (apply_valid)")
    _start_apply(uow, row, mode)
    return _import(row)


def _start_apply(uow: UnitOfWork, row: ImportRow, mode: str) -> None:
    busy = uow.session.scalar(sa.select(ImportRow.id).where(ImportRow.kind == row.kind, _busy(), ImportRow.id != row.id))
    if busy is not None:
        raise Conflict(f"an import of {row.kind} is under way ({busy}): wait for it")
    row.status, row.mode, row.rows_done, row.started_at = "applying", mode, 0, uow.now()
    row.created_count = row.updated_count = row.unchanged_count = 0
    row.version += 1
    uow.flush_unique(f"an import of {row.kind} is under way: wait for it")
    jobs.enqueue(uow, APPLY_JOB, {"import_id": str(row.id)}, max_attempts=5)


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
        sa.update(ImportRow.__table__).where(ImportRow.id == import_id, ImportRow.status.in_(CANCELLABLE))
        .values(status="cancelled", finished_at=uow.now(), version=ImportRow.version + 1)
    )  # fmt: skip
    if claimed.rowcount != 1:
        raise Conflict("the import changed meanwhile; read it again")
    uow.execute_core(sa.delete(ImportChunkRow.__table__).where(ImportChunkRow.import_id == import_id))
    uow.audit("import.cancelled", object_type="import", object_id=str(import_id), after={"kind": row.kind})
    uow.session.expire(row)
    return _import(uow.session.get(ImportRow, import_id) or row)


# --- the jobs ---------------------------------------------------------------------------------------------------


def register() -> None:
    """Register the import jobs (the dry run and the apply) with the job runner."""
    jobs.register(VALIDATE_JOB, _validate_job)
    jobs.register(APPLY_JOB, _apply_job)


def _owner(row: Import, raw: ImportRow) -> Actor:
    return Actor(kind=raw.actor_kind, id=uuid.UUID(raw.actor_id) if raw.actor_id else None, label=raw.actor_label,
                 origin=f"import:{row.id}")  # fmt: skip


@use_case(readonly=True)
def _load(uow: UnitOfWork, *, import_id: uuid.UUID) -> tuple[Import, Actor, frozenset[str] | None]:
    raw = uow.session.get(ImportRow, import_id)
    if raw is None:
        raise NotFound("no such import")
    row = _import(raw)
    return row, _owner(row, raw), (frozenset(raw.granted) if raw.granted is not None else None)


@contextmanager
def _stored_file(db: Database, import_id: uuid.UUID) -> Iterator[Path]:
    """The stored upload, copied back to a private temporary file one chunk at a time."""
    uow = db.unit_of_work(Actor.system("imports"))
    with reading.private_temp_file() as (handle, path):
        seq = 0
        while (piece := _piece(uow, import_id=import_id, seq=seq)) is not None:
            handle.write(piece)
            seq += 1
        handle.flush()
        if seq == 0:
            raise ValidationFailed.on("file", "the import's file is no longer stored")
        yield path


@use_case(readonly=True)
def _piece(uow: UnitOfWork, *, import_id: uuid.UUID, seq: int) -> bytes | None:
    found = uow.session.scalar(
        sa.select(ImportChunkRow.data).where(ImportChunkRow.import_id == import_id, ImportChunkRow.seq == seq)
    )
    return bytes(found) if found is not None else None


def _data_rows(path: Path, row: Import) -> Iterator[tuple[int, list[str]]]:
    rows = reading.read_rows(path, format=row.format, encoding=row.encoding)
    next(rows, None)  # the header, checked on upload
    yield from rows


def _chunks(path: Path, row: Import, size: int, *, skip: int = 0) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for n, item in enumerate(_data_rows(path, row)):
        if n < skip:
            continue
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _RolledBack(Exception):
    """Carries a dry run's outcomes out of the transaction it rolls back."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        super().__init__("dry run")
        self.outcomes = outcomes


def _rows(row: Import, raw_rows: list[tuple[int, list[str]]]) -> tuple[list[Row], dict[int, str]]:
    """Cells by column for each readable row; the others' reasons by row number."""
    readable: list[Row] = []
    unreadable: dict[int, str] = {}
    for number, cells in raw_rows:
        found = cells_by_column(row.columns, cells)
        if isinstance(found, str):
            unreadable[number] = found
        else:
            readable.append((number, found))
    return readable, unreadable


def _validate_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    import_id = uuid.UUID(payload["import_id"])
    db = uow.db
    if not _claim_validation(uow, import_id=import_id):
        return
    row, actor, granted = _load(uow, import_id=import_id)
    target = KINDS[row.kind]
    try:
        with _stored_file(db, import_id) as path:
            _dry_run(db, row, actor, granted, target, path)
    except ValidationFailed as exc:
        _fail(uow, import_id=import_id, summary=exc.detail)
    except UnicodeError as exc:
        _fail(uow, import_id=import_id, summary=f"the file's text cannot be read: {exc}")


@use_case
def _claim_validation(uow: UnitOfWork, *, import_id: uuid.UUID) -> bool:
    """Start (or, after a crash, restart from scratch) the dry run; False when there is nothing to do."""
    claimed = uow.execute_core(
        sa.update(ImportRow.__table__)
        .where(ImportRow.id == import_id, ImportRow.status.in_(("uploaded", "validating")))
        .values(status="validating", started_at=uow.now(), rows_done=0, total_rows=0, valid_rows=0, invalid_rows=0,
                to_create=0, to_update=0, to_leave=0, version=ImportRow.version + 1)
    )  # fmt: skip
    if claimed.rowcount != 1:
        return False
    uow.execute_core(sa.delete(ImportErrorRow.__table__).where(ImportErrorRow.import_id == import_id))
    return True


def _dry_run(
    db: Database, row: Import, actor: Actor, granted: frozenset[str] | None, target: Kind, path: Path
) -> None:
    seen: dict[tuple[str, str], int] = {}
    for chunk in _chunks(path, row, row.chunk_rows):
        readable, unreadable = _rows(row, chunk)
        errors: list[tuple[int, str | None, str]] = [(n, "row", why) for n, why in unreadable.items()]
        fresh: list[Row] = []
        for number, cells in readable:
            key = target.key(cells)
            if key is not None and key in seen:
                errors.append((number, key[0], f"{key[1]} appears again in the file (first on row {seen[key]})"))
                continue
            if key is not None:
                seen[key] = number
            fresh.append((number, cells))
        outcomes = _check_rolled_back(db.unit_of_work(actor), target, fresh, granted)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for (number, _), outcome in zip(fresh, outcomes, strict=True):
            if outcome.action == "invalid":
                errors += [(number, column, reason) for column, reason in outcome.errors]
            else:
                counts[outcome.action] += 1
        recorded = _record_validation(db.unit_of_work(actor), import_id=row.id, rows=len(chunk), counts=counts,
                                      errors=errors, cells=dict(chunk))  # fmt: skip
        if not recorded:
            return  # cancelled meanwhile
    _finish_validation(db.unit_of_work(actor), import_id=row.id)


def _check_rolled_back(
    uow: UnitOfWork, target: Kind, rows: list[Row], granted: frozenset[str] | None
) -> list[Outcome]:
    """The target's checks for a chunk, run exactly as the apply runs them, in a transaction rolled back."""
    try:
        with uow:
            raise _RolledBack(target.check(uow, rows, True, granted))
    except _RolledBack as done:
        return done.outcomes


def _error_rows(
    import_id: uuid.UUID, errors: list[tuple[int, str | None, str]], cells: dict[int, list[str]]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seqs: dict[int, int] = {}
    for number, column, reason in sorted(errors, key=lambda e: e[0]):
        seq = seqs.get(number, 0)
        seqs[number] = seq + 1
        rows.append({"import_id": import_id, "row_number": number, "seq": seq, "column": column,
                     "reason": reason[:2000], "cells": cells.get(number) if seq == 0 else None})  # fmt: skip
    return rows


@use_case
def _record_validation(
    uow: UnitOfWork, *, import_id: uuid.UUID, rows: int, counts: dict[str, int],
    errors: list[tuple[int, str | None, str]], cells: dict[int, list[str]],
) -> bool:  # fmt: skip
    invalid = len({number for number, _, _ in errors})
    table = ImportRow.__table__
    claimed = uow.execute_core(
        sa.update(table).where(table.c.id == import_id, table.c.status == "validating")
        .values(rows_done=table.c.rows_done + rows, total_rows=table.c.total_rows + rows,
                valid_rows=table.c.valid_rows + rows - invalid, invalid_rows=table.c.invalid_rows + invalid,
                to_create=table.c.to_create + counts["created"], to_update=table.c.to_update + counts["updated"],
                to_leave=table.c.to_leave + counts["unchanged"])
    )  # fmt: skip
    if claimed.rowcount != 1:
        return False
    if errors:
        uow.execute_core(sa.insert(ImportErrorRow.__table__), _error_rows(import_id, errors, cells))  # type: ignore[arg-type]
    return True


@use_case
def _finish_validation(uow: UnitOfWork, *, import_id: uuid.UUID) -> None:
    row = uow.session.get(ImportRow, import_id)
    if row is None or row.status != "validating":
        return
    row.status, row.version = "validated", row.version + 1
    if row.total_rows == 0:
        row.status, row.finished_at, row.error_summary = "failed", uow.now(), "the file has no rows under its header"
    elif row.invalid_rows:
        row.error_summary = f"{row.invalid_rows} of {row.total_rows} row(s) have errors"
    uow.audit("import.validated", object_type="import", object_id=str(import_id), after=_counts(row))
    if row.status == "validated" and row.apply_requested:
        if row.mode == "all_or_nothing" and row.invalid_rows:
            row.error_summary = f"{row.invalid_rows} of {row.total_rows} row(s) have errors: nothing was applied"
        else:
            _start_apply(uow, row, row.mode)


def _counts(row: ImportRow) -> dict[str, Any]:
    return {"kind": row.kind, "file_name": row.file_name, "sha256": row.sha256, "mode": row.mode,
            "total": row.total_rows, "valid": row.valid_rows, "invalid": row.invalid_rows,
            "to_create": row.to_create, "to_update": row.to_update, "unchanged": row.to_leave,
            "created": row.created_count, "updated": row.updated_count,
            "left_unchanged": row.unchanged_count}  # fmt: skip


@use_case
def _fail(uow: UnitOfWork, *, import_id: uuid.UUID, summary: str) -> None:
    row = uow.session.get(ImportRow, import_id)
    if row is None or row.status in ENDED:
        return
    row.status, row.finished_at, row.error_summary = "failed", uow.now(), summary[:2000]
    row.version += 1
    uow.execute_core(sa.delete(ImportChunkRow.__table__).where(ImportChunkRow.import_id == import_id))
    uow.audit("import.failed", object_type="import", object_id=str(import_id), after={**_counts(row), "error": summary[:500]})


class _ApplyFailed(Exception):
    def __init__(self, number: int, column: str | None, reason: str) -> None:
        super().__init__(f"row {number}: {column}: {reason}")
        self.number, self.column, self.reason = number, column, reason


def _apply_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    import_id = uuid.UUID(payload["import_id"])
    db = uow.db
    row, actor, granted = _load(uow, import_id=import_id)
    if row.status != "applying":
        return
    target = KINDS[row.kind]
    done = row.rows_done  # a resumed apply starts after the last committed chunk
    try:
        with _stored_file(db, import_id) as path:
            for chunk in _chunks(path, row, row.chunk_rows, skip=done):
                if not _apply_chunk(db.unit_of_work(actor), row=row, target=target, chunk=chunk, start=done,
                                    granted=granted):  # fmt: skip
                    return  # another worker holds it (a lapsed lease), or it ended meanwhile
                done += len(chunk)
    except _ApplyFailed as exc:
        _fail(uow, import_id=import_id,
              summary=f"row {exc.number}, column {exc.column}: {exc.reason} — the apply stopped there; "
              f"the {done} row(s) before its chunk were applied")  # fmt: skip
        return
    except ValidationFailed as exc:
        _fail(uow, import_id=import_id, summary=exc.detail)
        return
    _finish_apply(db.unit_of_work(actor), import_id=import_id)


@use_case
def _apply_chunk(
    uow: UnitOfWork, *, row: Import, target: Kind, chunk: list[tuple[int, list[str]]], start: int,
    granted: frozenset[str] | None,
) -> bool:  # fmt: skip
    table = ImportRow.__table__
    # Claim the chunk first: this row's lock (PostgreSQL) or the writer lock (SQLite) keeps a second worker out,
    # and `rows_done` commits with the chunk's writes, so a resumed apply never writes a row twice.
    claimed = uow.execute_core(
        sa.update(table).where(table.c.id == row.id, table.c.status == "applying", table.c.rows_done == start)
        .values(rows_done=start + len(chunk))
    )  # fmt: skip
    if claimed.rowcount != 1:
        return False
    numbers = [number for number, _ in chunk]
    skipped = set(
        uow.execute_core(
            sa.select(ImportErrorRow.row_number).where(
                ImportErrorRow.import_id == row.id, ImportErrorRow.row_number.between(min(numbers), max(numbers))
            )
        ).scalars()
    )
    readable, _ = _rows(row, [(n, cells) for n, cells in chunk if n not in skipped])
    outcomes = target.check(uow, readable, True, granted)
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
        sa.update(table).where(table.c.id == row.id)
        .values(created_count=table.c.created_count + counts["created"],
                updated_count=table.c.updated_count + counts["updated"],
                unchanged_count=table.c.unchanged_count + counts["unchanged"],
                invalid_rows=table.c.invalid_rows + invalid, valid_rows=table.c.valid_rows - invalid)
    )  # fmt: skip
    if errors:
        uow.execute_core(sa.insert(ImportErrorRow.__table__), _error_rows(row.id, errors, dict(chunk)))  # type: ignore[arg-type]
    return True


@use_case
def _finish_apply(uow: UnitOfWork, *, import_id: uuid.UUID) -> None:
    row = uow.session.get(ImportRow, import_id)
    if row is None or row.status != "applying":
        return
    row.status, row.finished_at, row.version = "applied", uow.now(), row.version + 1
    uow.execute_core(sa.delete(ImportChunkRow.__table__).where(ImportChunkRow.import_id == import_id))
    uow.audit("import.applied", object_type="import", object_id=str(import_id), after=_counts(row))
    uow.emit("import.applied", {"id": str(import_id), "kind": row.kind, "created": row.created_count,
                                "updated": row.updated_count, "unchanged": row.unchanged_count})  # fmt: skip
