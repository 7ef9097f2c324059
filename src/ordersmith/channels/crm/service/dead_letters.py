"""CRM syncs that failed for good (the CRM refused what was sent, or the retries ran out), each with its records,
what was sent and the CRM's error; replaying one puts its records back as pending, synced as they are then."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.channels.crm.service import sync
from ordersmith.channels.crm.service._common import load
from ordersmith.channels.crm.tables import CrmConnectionRow, CrmDeadLetterRow
from ordersmith.kernel.errors import Conflict, NotFound, ValidationFailed
from ordersmith.kernel.pagination import Page
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

STATES = ("open", "replayed")


@dataclass(frozen=True)
class CrmDeadLetter:
    id: uuid.UUID
    connection: str
    operation: str
    reference: str
    payload: dict[str, Any]
    error: str
    attempts: int
    status: str
    created_at: datetime
    replayed_at: datetime | None


def _letter(code: str, row: CrmDeadLetterRow) -> CrmDeadLetter:
    return CrmDeadLetter(
        id=row.id,
        connection=code,
        operation=row.operation,
        reference=row.reference,
        payload=dict(row.payload),
        error=row.error,
        attempts=row.attempts,
        status=row.status,
        created_at=row.created_at,
        replayed_at=row.replayed_at,
    )


@use_case(readonly=True)
def list_crm_dead_letters(
    uow: UnitOfWork,
    *,
    code: str,
    status: str | None = "open",
    principal: Principal | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[CrmDeadLetter]:
    row = load(uow, code=code, principal=principal)
    if status is not None and status not in STATES:
        raise ValidationFailed.on("status", f"one of {', '.join(STATES)}")
    query = sa.select(CrmDeadLetterRow).where(CrmDeadLetterRow.connection_id == row.id)
    if status is not None:
        query = query.where(CrmDeadLetterRow.status == status)
    return keyset_page(
        uow,
        query,
        keys=[CrmDeadLetterRow.id],
        to_item=lambda r: _letter(row.code, r),
        cursor=cursor,
        limit=limit,
    )


@use_case
def replay_crm_dead_letter(
    uow: UnitOfWork, *, dead_letter_id: uuid.UUID, principal: Principal | None = None
) -> CrmDeadLetter:
    """Sync a dead letter's records again, as they are now, in a fresh run with its retries.

    Raises:
        NotFound: no such dead letter (a channel-bound caller: none at all).
        Conflict: it was replayed already.
    """
    letter = uow.session.get(CrmDeadLetterRow, dead_letter_id, with_for_update=True)
    if letter is None or (principal is not None and principal.channel_id is not None):
        raise NotFound("no such dead letter")
    row = load(uow, connection_id=letter.connection_id, lock=True)
    if letter.status != "open":
        raise Conflict("this dead letter was replayed already", state=letter.status)
    keys = [(str(r["kind"]), uuid.UUID(str(r["record_id"]))) for r in letter.payload.get("records", [])]
    sync.requeue(uow, row, keys)
    letter.status, letter.replayed_at = "replayed", uow.now()
    uow.session.execute(
        sa.update(CrmConnectionRow)
        .where(CrmConnectionRow.id == row.id)
        .values(dead_letters_open=CrmConnectionRow.dead_letters_open - 1)
    )
    uow.audit(
        "crm_dead_letter.replayed",
        object_type="crm_dead_letter",
        object_id=str(letter.id),
        after={"operation": letter.operation, "reference": letter.reference},
    )
    return _letter(row.code, letter)
