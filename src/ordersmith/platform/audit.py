"""Reading the append-only audit log (rows are written by `UnitOfWork.audit`; triggers refuse changes)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.pagination import Page
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page
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
    query = sa.select(AuditRow)
    filters = (
        (AuditRow.object_type, object_type),
        (AuditRow.object_id, object_id),
        (AuditRow.action, action),
        (AuditRow.actor_id, actor_id),
    )
    for column, value in filters:
        if value:
            query = query.where(column == value)
    return keyset_page(
        uow, query, keys=[AuditRow.id], to_item=_entry, cursor=cursor, limit=limit, descending=True
    )


def _entry(r: AuditRow) -> AuditEntry:
    return AuditEntry(
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
