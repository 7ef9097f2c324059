"""The dry run: every row through the target's checks in a transaction rolled back, its errors and the diff
recorded chunk by chunk under a fencing token (a stalled run taken over stops at its next chunk)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.data.imports.kinds import KINDS, Kind, Outcome, Row
from ordersmith.data.imports.service._common import (
    STALE_S,
    Import,
    Progress,
    _bulk_run,
    _chunks,
    _counts,
    _error_rows,
    _fail,
    _import,
    _load,
    _RolledBack,
    _rows,
    _start_apply,
    _stored_file,
)
from ordersmith.data.tables import ImportErrorRow, ImportRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case


def _validate_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    validate(uow.db, import_id=uuid.UUID(payload["import_id"]))


def validate(db: Database, *, import_id: uuid.UUID, progress: Progress | None = None) -> None:
    """Run the dry run of an uploaded import (what its job does; the CLI calls it to run in the foreground).
    A dry run another process is running is left to it unless it has stalled for STALE_S."""
    uow = db.unit_of_work(Actor.system("imports"))
    token = _claim_validation(uow, import_id=import_id)
    if token is None:
        return
    row, actor, granted = _load(uow, import_id=import_id)
    try:
        with _bulk_run(), _stored_file(db, import_id) as path:
            _dry_run(db, row, actor, granted, KINDS[row.kind], path, token, progress)
    except ValidationFailed as exc:
        _fail(uow, import_id=import_id, summary=exc.detail)
    except UnicodeError as exc:
        _fail(uow, import_id=import_id, summary=f"the file's text cannot be read: {exc}")


@use_case
def _claim_validation(uow: UnitOfWork, *, import_id: uuid.UUID) -> str | None:
    """Start (or take over a stalled one and restart it from scratch) the dry run; None when there is nothing to
    do. Returns the run's fencing token."""
    now = uow.now()
    token = str(new_id())
    table = cast(sa.Table, ImportRow.__table__)
    claimed = uow.execute_core(
        sa.update(table)
        .where(
            table.c.id == import_id,
            sa.or_(
                table.c.status == "uploaded",
                sa.and_(
                    table.c.status == "validating", table.c.heartbeat_at < now - timedelta(seconds=STALE_S)
                ),
            ),
        )
        .values(
            status="validating",
            started_at=now,
            heartbeat_at=now,
            runner=token,
            rows_done=0,
            total_rows=0,
            valid_rows=0,
            invalid_rows=0,
            to_create=0,
            to_update=0,
            to_leave=0,
            version=table.c.version + 1,
        )
    )
    if claimed.rowcount != 1:
        return None
    uow.execute_core(sa.delete(ImportErrorRow).where(ImportErrorRow.import_id == import_id))
    return token


def _dry_run(
    db: Database,
    row: Import,
    actor: Actor,
    granted: frozenset[str] | None,
    target: Kind,
    path: Path,
    token: str,
    progress: Progress | None,
) -> None:
    seen: dict[tuple[str, str], int] = {}
    last: tuple[str, str] | None = None
    memo: dict[str, Any] = {}
    for chunk in _chunks(path, row, row.chunk_rows):
        readable, unreadable = _rows(row, chunk)
        errors: list[tuple[int, str | None, str]] = [(n, "row", why) for n, why in unreadable.items()]
        fresh: list[Row] = []
        for number, cells in readable:
            key = target.key(cells)
            if target.group is not None and key is not None and key == last:
                fresh.append((number, cells))  # the next row of the same record
                continue
            last = key
            if key is not None and key in seen:
                errors.append(
                    (number, key[0], f"{key[1]} appears again in the file (first on row {seen[key]})")
                )
                continue
            if key is not None:
                seen[key] = number
            fresh.append((number, cells))
        outcomes = _check_rolled_back(db.unit_of_work(actor), target, fresh, granted, memo)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for (number, _), outcome in zip(fresh, outcomes, strict=True):
            if outcome.action == "invalid":
                errors += [(number, column, reason) for column, reason in outcome.errors]
            else:
                counts[outcome.action] += 1
        recorded = _record_validation(
            db.unit_of_work(actor),
            import_id=row.id,
            token=token,
            rows=len(chunk),
            counts=counts,
            errors=errors,
            cells=dict(chunk),
        )
        if recorded is None:
            return  # cancelled meanwhile, or taken over
        if progress is not None:
            progress(recorded)
    _finish_validation(db.unit_of_work(actor), import_id=row.id, token=token)


def _check_rolled_back(
    uow: UnitOfWork, target: Kind, rows: list[Row], granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
    """The target's checks for a chunk (write=False), in a transaction that is rolled back whatever they did;
    `memo` carries what the kind keeps from the run's earlier chunks (the records they would have created)."""
    try:
        with uow:
            raise _RolledBack(target.check(uow, rows, False, granted, memo))
    except _RolledBack as done:
        return done.outcomes


@use_case
def _record_validation(
    uow: UnitOfWork,
    *,
    import_id: uuid.UUID,
    token: str,
    rows: int,
    counts: dict[str, int],
    errors: list[tuple[int, str | None, str]],
    cells: dict[int, list[str]],
) -> Import | None:
    invalid = len({number for number, _, _ in errors})
    table = cast(sa.Table, ImportRow.__table__)
    claimed = uow.execute_core(
        sa.update(table)
        .where(table.c.id == import_id, table.c.status == "validating", table.c.runner == token)
        .values(
            heartbeat_at=uow.now(),
            rows_done=table.c.rows_done + rows,
            total_rows=table.c.total_rows + rows,
            valid_rows=table.c.valid_rows + rows - invalid,
            invalid_rows=table.c.invalid_rows + invalid,
            to_create=table.c.to_create + counts["created"],
            to_update=table.c.to_update + counts["updated"],
            to_leave=table.c.to_leave + counts["unchanged"],
        )
    )
    if claimed.rowcount != 1:
        return None
    if errors:
        uow.execute_core(sa.insert(ImportErrorRow.__table__), _error_rows(import_id, errors, cells))  # type: ignore[arg-type]
    found = uow.session.get(ImportRow, import_id)
    assert found is not None
    return _import(found)


@use_case
def _finish_validation(uow: UnitOfWork, *, import_id: uuid.UUID, token: str) -> None:
    row = uow.session.get(ImportRow, import_id)
    if row is None or row.status != "validating" or row.runner != token:
        return
    row.status, row.version = "validated", row.version + 1
    if row.total_rows == 0:
        row.status, row.finished_at, row.error_summary = (
            "failed",
            uow.now(),
            "the file has no rows under its header",
        )
    elif row.invalid_rows:
        row.error_summary = f"{row.invalid_rows} of {row.total_rows} row(s) have errors"
    uow.audit("import.validated", object_type="import", object_id=str(import_id), after=_counts(row))
    if row.status == "validated" and row.apply_requested:
        if row.mode == "all_or_nothing" and row.invalid_rows:
            row.error_summary = (
                f"{row.invalid_rows} of {row.total_rows} row(s) have errors: nothing was applied"
            )
        else:
            _start_apply(uow, row, row.mode)
