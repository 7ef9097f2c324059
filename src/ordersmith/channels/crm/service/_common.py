"""Shared by the CRM use cases: the public records, finding a connection (never for a channel-bound caller: CRM
set-up belongs to no sales channel), and sealing and unsealing its access token."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.channels.connectors.base import Access
from ordersmith.channels.crm.tables import CrmConnectionRow, CrmPendingRow
from ordersmith.channels.service._common import wiring
from ordersmith.kernel.errors import NotFound
from ordersmith.platform import secrets
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork

SEAL_PURPOSE = "crm"


@dataclass(frozen=True)
class CrmConnection:
    id: uuid.UUID
    code: str
    kind: str
    name: str
    config: dict[str, Any]
    credential_names: list[str]  # which credentials are set (their values are never shown)
    active: bool
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    dead_letters_open: int
    waiting: int  # records waiting to be synced
    sync_due_at: datetime | None
    rate_limit: dict[str, Any]
    created_at: datetime
    version: int


def seal(uow: UnitOfWork, credentials: dict[str, str]) -> str:
    return secrets.seal(wiring(uow).secret_key, SEAL_PURPOSE, json.dumps(credentials, sort_keys=True))


def unseal(uow: UnitOfWork, row: CrmConnectionRow) -> dict[str, str]:
    opened: dict[str, str] = json.loads(secrets.unseal(wiring(uow).secret_key, SEAL_PURPOSE, row.credentials))
    return opened


def access_for(uow: UnitOfWork, row: CrmConnectionRow) -> Access:
    wired = wiring(uow)
    return Access(
        config=dict(row.config),
        credentials=unseal(uow, row),
        timeout_s=wired.timeout_s,
        transport=wired.transport,
    )


def load(
    uow: UnitOfWork,
    *,
    code: str | None = None,
    connection_id: uuid.UUID | None = None,
    principal: Principal | None = None,
    lock: bool = False,
) -> CrmConnectionRow:
    """The connection by code or id. A channel-bound caller is answered as for an unknown one (404).

    Raises:
        NotFound: no such connection, or a channel-bound caller.
    """
    query = sa.select(CrmConnectionRow).where(
        CrmConnectionRow.code == code if code is not None else CrmConnectionRow.id == connection_id
    )
    if lock:
        query = query.with_for_update()
    row = uow.session.scalar(query)
    if row is None or (principal is not None and principal.channel_id is not None):
        raise NotFound(f"no CRM connection {code or connection_id}")
    return row


def to_connection(uow: UnitOfWork, row: CrmConnectionRow) -> CrmConnection:
    waiting = uow.session.scalar(
        sa.select(sa.func.count()).select_from(CrmPendingRow).where(CrmPendingRow.connection_id == row.id)
    )
    return CrmConnection(
        id=row.id,
        code=row.code,
        kind=row.kind,
        name=row.name,
        config=dict(row.config),
        credential_names=sorted(unseal(uow, row)),
        active=row.active,
        last_success_at=row.last_success_at,
        last_failure_at=row.last_failure_at,
        last_error=row.last_error,
        dead_letters_open=row.dead_letters_open,
        waiting=int(waiting or 0),
        sync_due_at=row.sync_due_at,
        rate_limit=dict(row.rate_limit or {}),
        created_at=row.created_at,
        version=row.version,
    )
