"""Shared by the channels use cases: the public records, the wiring (secret key, timeouts), finding a connector
as the caller may see it, and unsealing its credentials."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa

from ordersmith.channels import connectors
from ordersmith.channels.tables import ConnectorRow, DeadLetterRow
from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.ids import new_id
from ordersmith.platform import secrets
from ordersmith.platform.access import Principal
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import SalesChannelRow

SEAL_PURPOSE = "channel"
_WIRING = "channels.wiring"


@dataclass(frozen=True)
class Wiring:
    secret_key: str
    timeout_s: float = 10.0
    transport: httpx.BaseTransport | None = None  # tests and benchmarks: a stub; None: the network


def setup_channels(
    db: Database, settings: Settings, *, transport: httpx.BaseTransport | None = None, timeout_s: float = 10.0
) -> None:
    """Wire channels for `db` (the API, the worker, the CLI and tests call it at start)."""
    db.caches[_WIRING] = Wiring(settings.secret_key.get_secret_value(), timeout_s, transport)


def wiring(uow: UnitOfWork) -> Wiring:
    wired: Wiring | None = uow.db.caches.get(_WIRING)
    if wired is None:
        raise RuntimeError("channels are not set up for this database: call setup_channels at start")
    return wired


@dataclass(frozen=True)
class Connector:
    id: uuid.UUID
    code: str
    kind: str
    sales_channel: str
    name: str
    config: dict[str, Any]
    credential_names: list[str]  # which credentials are set (their values are never shown)
    active: bool
    created_at: datetime
    version: int


@dataclass(frozen=True)
class Loaded:
    """A connector row with its sales channel's code, kind and division, as one read."""

    row: ConnectorRow
    channel_code: str
    channel_kind: str
    division: str


def seal_credentials(uow: UnitOfWork, credentials: dict[str, str]) -> str:
    return secrets.seal(wiring(uow).secret_key, SEAL_PURPOSE, json.dumps(credentials, sort_keys=True))


def unseal_credentials(uow: UnitOfWork, row: ConnectorRow) -> dict[str, str]:
    opened: dict[str, str] = json.loads(secrets.unseal(wiring(uow).secret_key, SEAL_PURPOSE, row.credentials))
    return opened


def access_for(uow: UnitOfWork, row: ConnectorRow) -> connectors.Access:
    wired = wiring(uow)
    return connectors.Access(
        config=dict(row.config),
        credentials=unseal_credentials(uow, row),
        timeout_s=wired.timeout_s,
        transport=wired.transport,
    )


def to_connector(uow: UnitOfWork, loaded: Loaded) -> Connector:
    row = loaded.row
    return Connector(
        id=row.id,
        code=row.code,
        kind=row.kind,
        sales_channel=loaded.channel_code,
        name=row.name,
        config=dict(row.config),
        credential_names=sorted(unseal_credentials(uow, row)),
        active=row.active,
        created_at=row.created_at,
        version=row.version,
    )


_LOAD = sa.select(ConnectorRow, SalesChannelRow.code, SalesChannelRow.kind, SalesChannelRow.division).join(
    SalesChannelRow, SalesChannelRow.id == ConnectorRow.sales_channel_id
)


def load(
    uow: UnitOfWork,
    *,
    code: str | None = None,
    connector_id: uuid.UUID | None = None,
    principal: Principal | None = None,
    lock: bool = False,
) -> Loaded:
    """The connector by code or id. A channel-bound caller sees only its own channel's connector: another's
    answers exactly as an unknown one (404).

    Raises:
        NotFound: no such connector, or not this caller's.
    """
    query = (
        _LOAD.where(ConnectorRow.code == code)
        if code is not None
        else _LOAD.where(ConnectorRow.id == connector_id)
    )
    if lock:
        query = query.with_for_update(of=ConnectorRow)
    found = uow.session.execute(query).first()
    if found is None or (
        principal is not None
        and principal.channel_id is not None
        and principal.channel_id != found[0].sales_channel_id
    ):
        raise NotFound(f"no channel connector {code or connector_id}")
    return Loaded(row=found[0], channel_code=found[1], channel_kind=found[2], division=found[3])


def dead_letter(
    uow: UnitOfWork,
    loaded: Loaded,
    *,
    operation: str,
    reference: str,
    payload: dict[str, Any],
    error: str,
    attempts: int,
) -> uuid.UUID:
    """Put a failed sync on the dead-letter list with the channel's payload and the error, count it on the
    connector's health and emit `channel.sync_failed` (in the caller's transaction)."""
    row_id = new_id()
    now = uow.now()
    uow.session.add(
        DeadLetterRow(
            id=row_id,
            connector_id=loaded.row.id,
            operation=operation,
            reference=reference[:200],
            payload=payload,
            error=error[:8000],
            attempts=attempts,
            status="open",
            created_at=now,
        )
    )
    uow.session.execute(
        sa.update(type(loaded.row))
        .where(type(loaded.row).id == loaded.row.id)
        .values(
            dead_letters_open=type(loaded.row).dead_letters_open + 1,
            last_failure_at=now,
            last_error=error[:2000],
        )
    )
    uow.emit(
        "channel.sync_failed",
        {
            "connector": loaded.row.code,
            "channel": loaded.channel_code,
            "operation": operation,
            "reference": reference[:200],
            "dead_letter_id": str(row_id),
            "error": error[:500],
        },
    )
    return row_id
