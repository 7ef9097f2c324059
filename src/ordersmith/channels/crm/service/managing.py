"""Setting up CRM connections: create one (its access token sealed), change its settings or token, switch it off
or on, delete it (its links, waiting syncs and dead letters with it), read them and their links."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from ordersmith.channels.crm import rules
from ordersmith.channels.crm.service import sync
from ordersmith.channels.crm.service._common import CrmConnection, load, seal, to_connection, unseal
from ordersmith.channels.crm.tables import CrmConnectionRow, CrmDeadLetterRow, CrmLinkRow, CrmPendingRow
from ordersmith.kernel.errors import PreconditionFailed, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")  # a HubSpot property's internal name, a stage or pipeline id
_CONFIG: dict[str, type] = {
    "base_url": str,
    "pipeline": str,
    "deal_stages": dict,
    "consent_property": str,
    "order_id_property": str,
    "batch_size": int,
    "sync_window_s": int,
}
_CREDENTIALS = ("access_token",)
MAX_WINDOW_S = 3600
LINK_KINDS = ("contact", "deal")


def _check_config(config: dict[str, Any]) -> dict[str, Any]:
    for key, value in config.items():
        if key not in _CONFIG:
            raise ValidationFailed.on(f"config.{key}", "not a setting of a HubSpot connection")
        if not isinstance(value, _CONFIG[key]) or isinstance(value, bool):
            raise ValidationFailed.on(f"config.{key}", f"must be a {_CONFIG[key].__name__}")
    try:
        url = urlsplit(str(config.get("base_url", rules.DEFAULT_BASE_URL)))
        port = url.port  # a malformed port or IPv6 host raises here
    except ValueError:
        raise ValidationFailed.on("config.base_url", "an absolute URL, e.g. https://api.hubapi.com") from None
    if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment or port == 0:
        raise ValidationFailed.on("config.base_url", "an absolute URL, e.g. https://api.hubapi.com")
    for key in ("pipeline", "consent_property", "order_id_property"):
        if (
            key in config
            and not _NAME.match(config[key])
            and not (key == "pipeline" and config[key].isdigit())
        ):
            raise ValidationFailed.on(
                f"config.{key}", "a HubSpot internal name: lower-case letters, digits, '_'"
            )
    stages = config.get("deal_stages", {})
    for key, value in stages.items():
        if key not in rules.DEFAULT_STAGES:
            raise ValidationFailed.on(f"config.deal_stages.{key}", "the stages are open, won and lost")
        if not isinstance(value, str) or not (_NAME.match(value) or value.isdigit()):
            raise ValidationFailed.on(f"config.deal_stages.{key}", "a HubSpot deal stage id")
    if not 1 <= config.get("batch_size", rules.DEFAULT_BATCH_SIZE) <= rules.DEFAULT_BATCH_SIZE:
        raise ValidationFailed.on("config.batch_size", f"1 to {rules.DEFAULT_BATCH_SIZE} records a call")
    if not 0 <= config.get("sync_window_s", rules.DEFAULT_WINDOW_S) <= MAX_WINDOW_S:
        raise ValidationFailed.on("config.sync_window_s", f"0 to {MAX_WINDOW_S} seconds")
    return config


def _check_credentials(credentials: dict[str, str]) -> dict[str, str]:
    for key, value in credentials.items():
        if key not in _CREDENTIALS:
            raise ValidationFailed.on(f"credentials.{key}", "not a credential of a HubSpot connection")
        if not isinstance(value, str) or not value.strip() or len(value) > 500 or "\x00" in value:
            raise ValidationFailed.on(f"credentials.{key}", "1 to 500 characters, no NUL")
    for key in _CREDENTIALS:
        if key not in credentials:
            raise ValidationFailed.on(f"credentials.{key}", "is required: the private app's access token")
    return credentials


def _check_name(name: str) -> str:
    if not name.strip() or len(name) > 200:
        raise ValidationFailed.on("name", "1 to 200 characters")
    return name.strip()


@use_case
def create_connection(
    uow: UnitOfWork, *, code: str, kind: str, name: str, config: dict[str, Any], credentials: dict[str, str]
) -> CrmConnection:
    """Connect a CRM account (HubSpot: a private app's access token, sealed, never shown again).

    Raises:
        ValidationFailed: a malformed code, an unknown kind, settings or credentials it does not take or lacks
            (each naming its field).
        AlreadyExists: the code is taken.
    """
    if not _CODE.match(code):
        raise ValidationFailed.on("code", "2-40 lower-case letters, digits, '-' or '_'")
    if kind not in rules.KINDS:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(rules.KINDS)}")
    row = CrmConnectionRow(
        id=new_id(),
        code=code,
        kind=kind,
        name=_check_name(name),
        config=_check_config(dict(config)),
        credentials=seal(uow, _check_credentials(dict(credentials))),
        active=True,
        dead_letters_open=0,
        rate_limit={},
        created_at=uow.now(),
        version=1,
    )
    uow.insert_unique(CrmConnectionRow, row, f"CRM connection {code!r} exists")
    uow.audit(
        "crm_connection.created",
        object_type="crm_connection",
        object_id=str(row.id),
        after={"kind": kind, "name": row.name, "config": row.config, "credentials": sorted(credentials)},
    )
    return to_connection(uow, row)


@use_case
def change_connection(
    uow: UnitOfWork,
    *,
    code: str,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    credentials: dict[str, str] | None = None,
    active: bool | None = None,
    expected_version: int | None = None,
) -> CrmConnection:
    """Change a connection's name, settings (replaced whole), access token (rotation) or switch it off and on.

    Raises:
        NotFound: no such connection.
        ValidationFailed: as for create, naming the field; nothing changes.
        PreconditionFailed: `expected_version` is not the connection's version (412).
    """
    row = load(uow, code=code, lock=True)
    if expected_version is not None and expected_version != row.version:
        raise PreconditionFailed("the connection changed since it was read", version=row.version)
    before = {"name": row.name, "config": row.config, "active": row.active}
    new_name = _check_name(name) if name is not None else row.name
    new_config = _check_config(dict(config)) if config is not None else row.config
    sealed = seal(uow, _check_credentials(dict(credentials))) if credentials is not None else row.credentials
    row.name, row.config, row.credentials = new_name, new_config, sealed
    if active and not row.active:  # switched back on: what waited while it was off goes now
        row.active = True
        sync.requeue(uow, row, [])
    elif active is not None:
        row.active = active
    row.version += 1
    after = {"name": row.name, "config": row.config, "active": row.active}
    if credentials is not None:
        after["credentials"] = sorted(credentials)
    uow.audit(
        "crm_connection.changed",
        object_type="crm_connection",
        object_id=str(row.id),
        before=before,
        after=after,
    )
    return to_connection(uow, row)


@use_case
def delete_connection(uow: UnitOfWork, *, code: str) -> None:
    """Disconnect the CRM account: the connection, its links, waiting syncs and dead letters go (what was sent to
    the CRM stays there)."""
    row = load(uow, code=code, lock=True)
    for table in (CrmLinkRow, CrmPendingRow, CrmDeadLetterRow):
        uow.session.execute(sa.delete(table).where(table.connection_id == row.id))
    uow.session.delete(row)
    uow.audit(
        "crm_connection.deleted",
        object_type="crm_connection",
        object_id=str(row.id),
        before={"code": row.code, "kind": row.kind, "credentials": sorted(unseal(uow, row))},
    )


@use_case(readonly=True)
def get_connection(uow: UnitOfWork, *, code: str, principal: Principal | None = None) -> CrmConnection:
    return to_connection(uow, load(uow, code=code, principal=principal))


@use_case(readonly=True)
def list_connections(
    uow: UnitOfWork, *, principal: Principal | None = None, limit: int = 50, cursor: str | None = None
) -> Page[CrmConnection]:
    if principal is not None and principal.channel_id is not None:
        return Page([], None)
    return keyset_page(
        uow,
        sa.select(CrmConnectionRow),
        keys=[CrmConnectionRow.code],
        to_item=lambda r: to_connection(uow, r),
        cursor=cursor,
        limit=limit,
    )


@dataclass(frozen=True)
class Link:
    kind: str  # contact (a customer) | deal (an order)
    record_id: uuid.UUID
    remote_id: str
    synced_at: datetime


@use_case(readonly=True)
def list_links(
    uow: UnitOfWork,
    *,
    code: str,
    kind: str | None = None,
    principal: Principal | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Link]:
    """Which of our customers and orders are which CRM contacts and deals."""
    row = load(uow, code=code, principal=principal)
    if kind is not None and kind not in LINK_KINDS:
        raise ValidationFailed.on("kind", f"one of {', '.join(LINK_KINDS)}")
    query = sa.select(CrmLinkRow).where(CrmLinkRow.connection_id == row.id)
    if kind is not None:
        query = query.where(CrmLinkRow.kind == kind)
    return keyset_page(
        uow,
        query,
        keys=[CrmLinkRow.kind, CrmLinkRow.record_id],
        to_item=lambda r: Link(r.kind, r.record_id, r.remote_id, r.synced_at),
        cursor=cursor,
        limit=limit,
    )
