"""Receiving a file: checked (size, format, header, scopes) before anything is stored, then stored in chunks with
its dry run queued."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import sqlalchemy as sa

from ordersmith.data.imports import reading
from ordersmith.data.imports.rules import HeaderProblem, Spec, match_header, refused_columns
from ordersmith.data.imports.service._common import (
    MODES,
    VALIDATE_JOB,
    Import,
    _busy,
    _import,
    kind_of,
    spec_of,
)
from ordersmith.data.tables import ImportChunkRow, ImportRow
from ordersmith.kernel.errors import Conflict, FieldError, Forbidden, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform import jobs
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case


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
        raise Forbidden(
            f"importing {kind} needs the scope {target.spec.scope!r}", required_scope=target.spec.scope
        )
    spec = spec_of(db.unit_of_work(actor), target)  # with the custom fields defined now
    with reading.spool(source, max_bytes=max_bytes) as up:
        columns = _header(spec, up.path, up.format, up.encoding)
        refused = refused_columns(spec, columns, granted)
        if refused:
            column, scope = refused[0]
            raise Forbidden(f"column {column}: importing it needs the scope {scope!r}", required_scope=scope)
        return _register(
            db.unit_of_work(actor),
            kind=kind,
            file_name=file_name[:255] or "upload",
            upload=up,
            columns=columns,
            mode=mode,
            apply=apply,
            granted=granted,
            chunk_rows=chunk_rows,
        )


def _header(spec: Spec, path: Path, format: str, encoding: str | None) -> list[str]:
    try:
        for _, header in reading.read_rows(path, format=format, encoding=encoding):
            return match_header(spec, header)
    except HeaderProblem as exc:
        raise ValidationFailed(exc.message, errors=[FieldError(exc.column, exc.message)]) from None
    except (UnicodeDecodeError, UnicodeError) as exc:
        raise ValidationFailed.on("file", f"the file's text cannot be read: {exc}") from None
    raise ValidationFailed.on("file", "the file has no header row")


@use_case
def _register(
    uow: UnitOfWork,
    *,
    kind: str,
    file_name: str,
    upload: reading.Upload,
    columns: list[str],
    mode: str,
    apply: bool,
    granted: frozenset[str] | None,
    chunk_rows: int,
) -> Import:
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
        id=new_id(),
        kind=kind,
        file_name=file_name,
        sha256=upload.sha256,
        size_bytes=upload.size_bytes,
        format=upload.format,
        encoding=upload.encoding,
        columns=columns,
        chunk_rows=chunk_rows,
        status="uploaded",
        mode=mode,
        apply_requested=apply,
        total_rows=0,
        valid_rows=0,
        invalid_rows=0,
        to_create=0,
        to_update=0,
        to_leave=0,
        created_count=0,
        updated_count=0,
        unchanged_count=0,
        rows_done=0,
        actor_kind=actor.kind,
        actor_id=str(actor.id) if actor.id else None,
        actor_label=actor.label,
        granted=sorted(granted) if granted is not None else None,
        created_at=now,
        version=1,
    )
    uow.insert_unique(ImportRow, row, f"an import of {kind} is under way: wait for it or cancel it")
    with upload.path.open("rb") as handle:
        seq = 0
        while piece := handle.read(reading.PIECE_BYTES):
            uow.execute_core(sa.insert(ImportChunkRow), {"import_id": row.id, "seq": seq, "data": piece})
            seq += 1
    jobs.enqueue(uow, VALIDATE_JOB, {"import_id": str(row.id)}, max_attempts=3)
    uow.audit(
        "import.uploaded",
        object_type="import",
        object_id=str(row.id),
        after={
            "kind": kind,
            "file_name": file_name,
            "sha256": upload.sha256,
            "size_bytes": upload.size_bytes,
            "mode": mode,
        },
    )
    return _import(row)
