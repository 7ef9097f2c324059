"""The back-fill: every order placed so far queued for a connection as a pending deal (its customer follows as
the deal's contact), a page of orders per job, so it costs the same per step however long the history."""

from __future__ import annotations

import uuid
from typing import Any

from ordersmith.channels.crm.service._common import load
from ordersmith.channels.crm.service.sync import _schedule, _upsert_pending
from ordersmith.kernel.errors import NotFound
from ordersmith.orders import service as orders
from ordersmith.platform import jobs
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case

BACKFILL_JOB = "channels.crm_backfill"
BACKFILL_PAGE = 200


@use_case
def backfill(uow: UnitOfWork, *, code: str, principal: Principal | None = None) -> None:
    """Queue every order placed so far (newest first, a page per job) for the connection: each becomes a deal,
    and its customer a contact. Records synced already are updated in place, never made twice.

    Raises:
        NotFound: no such connection (a channel-bound caller: none at all).
    """
    row = load(uow, code=code, principal=principal, lock=True)
    jobs.enqueue(uow, BACKFILL_JOB, {"connection_id": str(row.id), "cursor": None})
    uow.audit("crm_connection.backfill_queued", object_type="crm_connection", object_id=str(row.id))


@use_case
def _backfill_page(uow: UnitOfWork, *, connection_id: uuid.UUID, cursor: str | None) -> None:
    try:
        row = load(uow, connection_id=connection_id, lock=True)
    except NotFound:
        return  # disconnected since
    page = orders.list_orders(uow, cursor=cursor, limit=BACKFILL_PAGE)
    if page.items:
        now = uow.now()
        _upsert_pending(
            uow,
            [
                {"connection_id": row.id, "kind": "deal", "record_id": o.id, "changed_at": now}
                for o in page.items
            ],
        )
        if row.active:
            _schedule(uow, row, at=now)
    if page.next_cursor:
        jobs.enqueue(uow, BACKFILL_JOB, {"connection_id": str(row.id), "cursor": page.next_cursor})


def _backfill_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    cursor = payload.get("cursor")
    _backfill_page(
        uow, connection_id=uuid.UUID(str(payload["connection_id"])), cursor=str(cursor) if cursor else None
    )
