"""Notes and interactions: the timeline an agent reads before saying hello."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.customers.service._common import _row
from ordersmith.customers.tables import CustomerNoteRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

NOTE_KINDS = ("note", "call", "email", "system")


@dataclass(frozen=True)
class TimelineEntry:
    id: uuid.UUID
    kind: str
    body: str
    channel: str
    actor: str
    data: dict[str, Any] | None
    at: datetime


def _entry(row: CustomerNoteRow) -> TimelineEntry:
    return TimelineEntry(id=row.id, kind=row.kind, body=row.body, channel=row.channel, actor=row.actor,
                         data=row.data, at=row.at)  # fmt: skip


@use_case
def add_note(
    uow: UnitOfWork,
    *,
    ref: str,
    body: str,
    kind: str = "note",
    channel: str = "",
    visible_to: str | None = None,
) -> TimelineEntry:
    """An agent's note, or a logged call or e-mail, on the customer's timeline (who and when are recorded)."""
    if kind not in NOTE_KINDS or kind == "system":
        raise ValidationFailed.on("kind", "must be one of note, call, email")
    if not body.strip():
        raise ValidationFailed.on("body", "must not be empty")
    customer = _row(uow, ref, visible_to)
    row = CustomerNoteRow(id=new_id(), customer_id=customer.id, kind=kind, body=body.strip(), channel=channel,
                          actor=uow.actor.label, data=None, at=uow.now())  # fmt: skip
    uow.session.add(row)
    uow.session.flush()
    uow.audit("customer.note_added", object_type="customer", object_id=customer.number, after={"kind": kind})
    return _entry(row)


@use_case(readonly=True)
def timeline(
    uow: UnitOfWork, *, ref: str, cursor: str | None = None, limit: int = 50, visible_to: str | None = None
) -> Page[TimelineEntry]:
    """Newest first (with `visible_to`: only a customer of that channel, else NotFound)."""
    customer = _row(uow, ref, visible_to)
    query = sa.select(CustomerNoteRow).where(CustomerNoteRow.customer_id == customer.id)
    return keyset_page(uow, query, keys=[CustomerNoteRow.id], to_item=_entry, cursor=cursor, limit=limit,
                       descending=True)  # fmt: skip
