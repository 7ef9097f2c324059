"""The business event behind a journal entry, as the outbox keeps it: what the accountant reads beside an entry
(its type, when it happened, the order or payment it names). Read by primary key; an event purged from the outbox
is simply not found."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.tables import OutboxRow


@dataclass(frozen=True)
class SourceEvent:
    id: uuid.UUID
    type: str
    occurred_at: datetime
    channel: str | None
    payload: dict[str, Any]


@use_case(readonly=True)
def find_source_event(uow: UnitOfWork, *, event_id: uuid.UUID) -> SourceEvent | None:
    """The outbox's record of the event that posted an entry, or None when the outbox no longer holds it."""
    row = uow.session.scalars(sa.select(OutboxRow).where(OutboxRow.id == event_id)).first()
    if row is None:
        return None
    return SourceEvent(row.id, row.type, row.occurred_at, row.channel, dict(row.payload))
