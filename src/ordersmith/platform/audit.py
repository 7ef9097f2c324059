"""Reading the append-only audit log (rows are written by `UnitOfWork.audit`; triggers refuse changes)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.pagination import Page, check_limit, decode_cursor, encode_cursor
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.tables import AuditRow


@dataclass(frozen=True)
class AuditEntry:
    id: uuid.UUID
    actor_kind: str
    actor_id: str | None
    actor_label: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime
    origin: str


@use_case(readonly=True)
def list_audit(
    uow: UnitOfWork,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    actor_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[AuditEntry]:
    """Audit entries, newest first, filtered by object, action or actor."""
    check_limit(limit)
    query = sa.select(AuditRow).order_by(AuditRow.id.desc()).limit(limit + 1)
    for column, value in (
        (AuditRow.object_type, object_type),
        (AuditRow.object_id, object_id),
        (AuditRow.action, action),
        (AuditRow.actor_id, actor_id),
    ):
        if value:
            query = query.where(column == value)
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        query = query.where(AuditRow.id < uuid.UUID(last))
    rows = list(uow.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    entries = [
        AuditEntry(
            id=r.id,
            actor_kind=r.actor_kind,
            actor_id=r.actor_id,
            actor_label=r.actor_label,
            action=r.action,
            object_type=r.object_type,
            object_id=r.object_id,
            before=r.before,
            after=r.after,
            at=r.at,
            origin=r.origin,
        )
        for r in rows
    ]
    return Page(entries, encode_cursor(str(rows[-1].id)) if more else None)
