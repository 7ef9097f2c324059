"""What the import use cases share: the Import record, the stored file read back, rows in chunks, failing an
import."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ordersmith.data.imports import reading
from ordersmith.data.imports.kinds import KINDS, Kind, Outcome, Row
from ordersmith.data.imports.rules import Spec, cells_by_column, custom_column
from ordersmith.data.tables import ImportChunkRow, ImportRow
from ordersmith.kernel.errors import Conflict, NotFound, ValidationFailed
from ordersmith.platform import custom_fields, heap, jobs
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case

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


def spec_of(uow: UnitOfWork, target: Kind) -> Spec:
    """The kind's columns as a file may carry them now: its own, then one `custom.<name>` per custom field defined
    for its record kind (ADR 0051), in the fields' display order."""
    if target.custom_kind is None:
        return target.spec
    found = custom_fields.list_definitions(uow, kind=target.custom_kind)
    return target.spec.with_columns(
        [
            custom_column(name=d.name, label=d.label, type=d.type, required=d.required, choices=d.choices,
                          max_length=d.max_length)
            for d in found
        ]
    )  # fmt: skip


@use_case(readonly=True)
def import_spec(uow: UnitOfWork, *, kind: str) -> Spec:
    """The columns an import of `kind` takes now (its template's header), custom field columns included.

    Raises:
        ValidationFailed: an unknown kind.
    """
    return spec_of(uow, kind_of(kind))


def _busy() -> sa.ColumnElement[bool]:
    return ImportRow.status.in_(("uploaded", "validating", "applying"))


def _start_apply(uow: UnitOfWork, row: ImportRow, mode: str) -> None:
    busy = uow.session.scalar(
        sa.select(ImportRow.id).where(ImportRow.kind == row.kind, _busy(), ImportRow.id != row.id)
    )
    if busy is not None:
        raise Conflict(f"an import of {row.kind} is under way ({busy}): wait for it")
    row.status, row.mode, row.rows_done, row.started_at = "applying", mode, 0, uow.now()
    row.created_count = row.updated_count = row.unchanged_count = 0
    row.version += 1
    uow.flush_unique(f"an import of {row.kind} is under way: wait for it")
    jobs.enqueue(uow, APPLY_JOB, {"import_id": str(row.id)}, max_attempts=5)


def _owner(row: Import, raw: ImportRow) -> Actor:
    return Actor(
        kind=raw.actor_kind,
        id=uuid.UUID(raw.actor_id) if raw.actor_id else None,
        label=raw.actor_label,
        origin=f"import:{row.id}",
    )


@use_case(readonly=True)
def _load(uow: UnitOfWork, *, import_id: uuid.UUID) -> tuple[Import, Actor, frozenset[str] | None]:
    raw = uow.session.get(ImportRow, import_id)
    if raw is None:
        raise NotFound("no such import")
    row = _import(raw)
    return row, _owner(row, raw), (frozenset(raw.granted) if raw.granted is not None else None)


@contextmanager
def _bulk_run() -> Iterator[None]:
    """For a dry run or an apply: what the process already holds (modules, mappers, schemas: a few hundred thousand
    objects) leaves the collector's full sweeps, which the run's many short-lived rows would otherwise set off
    again and again (a third of a 5,000-row import's CPU in bench/data_import.py). Only speed changes: the
    objects return to the collector when the run ends, whatever happens. In a server or worker whose start-up heap
    is frozen already (`platform.heap`) there is nothing to do: unfreezing would return that heap as well."""
    if heap.settled():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


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
    """The data rows in chunks of `size`; a kind whose records span rows has a chunk run on to its record's last
    row (so a resumed apply, which skips whole chunks, never starts inside a record)."""
    group = KINDS[row.kind].group
    chunk: list[tuple[int, list[str]]] = []
    last: str | None = None
    for n, item in enumerate(_ordered_rows(path, row)):
        if n < skip:
            continue
        reference = _reference(group, row, item[1])
        if len(chunk) >= size and (reference is None or reference != last):
            yield chunk
            chunk = []
        chunk.append(item)
        last = reference
    if chunk:
        yield chunk


def _ordered_rows(path: Path, row: Import) -> Iterator[tuple[int, list[str]]]:
    """The data rows pass by pass (a kind's `phase`; one pass unless the file has a column that sets it), each
    pass in file order: the same order for the dry run and for every resumed apply. A later pass reads the file
    again rather than holding rows back in memory."""
    target = KINDS[row.kind]
    phase = target.phase
    if phase is None or not target.phase_columns & set(row.columns):
        yield from _data_rows(path, row)
        return

    def phase_of(cells: list[str]) -> int:
        found = cells_by_column(row.columns, cells)
        return phase(found) if isinstance(found, dict) else 0  # an unreadable row is reported in the first

    passes = 1
    for item in _data_rows(path, row):
        at = phase_of(item[1])
        passes = max(passes, at + 1)
        if at == 0:
            yield item
    for current in range(1, passes):
        yield from (item for item in _data_rows(path, row) if phase_of(item[1]) == current)


def _reference(group: Callable[[dict[str, str]], str] | None, row: Import, cells: list[str]) -> str | None:
    if group is None:
        return None
    found = cells_by_column(row.columns, cells)
    return group(found) if isinstance(found, dict) else None


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


STALE_S = 120
Progress = Callable[[Import], None]


def _error_rows(
    import_id: uuid.UUID, errors: list[tuple[int, str | None, str]], cells: dict[int, list[str]]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seqs: dict[int, int] = {}
    for number, column, reason in sorted(errors, key=lambda e: e[0]):
        seq = seqs.get(number, 0)
        seqs[number] = seq + 1
        rows.append(
            {
                "import_id": import_id,
                "row_number": number,
                "seq": seq,
                "column": column,
                "reason": reason[:2000],
                "cells": cells.get(number) if seq == 0 else None,
            }
        )
    return rows


def _counts(row: ImportRow) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "file_name": row.file_name,
        "sha256": row.sha256,
        "mode": row.mode,
        "total": row.total_rows,
        "valid": row.valid_rows,
        "invalid": row.invalid_rows,
        "to_create": row.to_create,
        "to_update": row.to_update,
        "unchanged": row.to_leave,
        "created": row.created_count,
        "updated": row.updated_count,
        "left_unchanged": row.unchanged_count,
    }


@use_case
def _fail(uow: UnitOfWork, *, import_id: uuid.UUID, summary: str) -> None:
    row = uow.session.get(ImportRow, import_id)
    if row is None or row.status in ENDED:
        return
    row.status, row.finished_at, row.error_summary = "failed", uow.now(), summary[:2000]
    row.version += 1
    uow.execute_core(sa.delete(ImportChunkRow).where(ImportChunkRow.import_id == import_id))
    uow.audit(
        "import.failed",
        object_type="import",
        object_id=str(import_id),
        after={**_counts(row), "error": summary[:500]},
    )
