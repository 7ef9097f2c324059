"""Sales channels: the web shop, call center, marketplaces and stores that orders come from.

A channel is also an identity: an API key may be bound to one, and then acts for that channel only. The
connectors that talk to each channel's platform live in the `channels` context and refer to these rows.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.errors import Forbidden, NotFound, PreconditionFailed, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page
from ordersmith.platform.tables import SalesChannelRow

BILLING_SCOPE = "sales_channels:billing"
CHANNEL_KINDS = ("web", "call_center", "catalog", "marketplace", "pos", "wholesale")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")


@dataclass(frozen=True)
class SalesChannel:
    id: uuid.UUID
    code: str
    name: str
    kind: str
    division: str
    currency: str
    active: bool
    created_at: datetime
    version: int
    bills_later: bool = False
    release_after_s: int = 0  # the edit window: orders stay pending this long before the release job


def _channel(row: SalesChannelRow) -> SalesChannel:
    return SalesChannel(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=row.kind,
        division=row.division,
        currency=row.currency,
        active=row.active,
        created_at=row.created_at,
        version=row.version,
        bills_later=row.bills_later,
        release_after_s=row.release_after_s,
    )


def _snapshot(row: SalesChannelRow) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "division": row.division,
        "currency": row.currency,
        "active": row.active,
        "bills_later": row.bills_later,
        "release_after_s": row.release_after_s,
    }


@use_case
def create_sales_channel(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    kind: str,
    division: str,
    currency: str,
    bills_later: bool = False,
    release_after_s: int = 0,
) -> SalesChannel:
    """Create a sales channel, audited, with a `sales_channel.created` event.

    Raises:
        ValidationFailed: malformed code or unknown kind.
        AlreadyExists: the code is taken.
    """
    if not _CODE.match(code):
        raise ValidationFailed.on("code", "2-40 lower-case letters, digits, '-' or '_'")
    if kind not in CHANNEL_KINDS:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(CHANNEL_KINDS)}")
    _check_window(release_after_s)
    row = SalesChannelRow(
        id=new_id(),
        code=code,
        name=name.strip(),
        kind=kind,
        division=division,
        currency=currency,
        active=True,
        bills_later=bills_later,
        release_after_s=release_after_s,
        created_at=uow.now(),
        version=1,
    )
    # A Core INSERT of the new row: the hot path of integrations creating records skips the ORM flush.
    uow.insert_unique(SalesChannelRow, row, f"sales channel {code!r} exists")
    uow.audit(
        "sales_channel.created", object_type="sales_channel", object_id=str(row.id), after=_snapshot(row)
    )
    uow.emit("sales_channel.created", {"id": str(row.id), **_snapshot(row)})
    return _channel(row)


MAX_RELEASE_AFTER_S = 86_400


def _check_window(seconds: int) -> None:
    if not 0 <= seconds <= MAX_RELEASE_AFTER_S:
        raise ValidationFailed.on("release_after_s", f"0 to {MAX_RELEASE_AFTER_S} seconds (a day at most)")


def _visible(principal: Principal, row: SalesChannelRow | None) -> SalesChannelRow:
    if row is None or (principal.channel_id is not None and principal.channel_id != row.id):
        # A channel-bound key cannot even learn that other channels exist.
        raise NotFound("no such sales channel")
    return row


@use_case(readonly=True)
def get_sales_channel(uow: UnitOfWork, *, principal: Principal, channel_id: uuid.UUID) -> SalesChannel:
    return _channel(_visible(principal, uow.session.get(SalesChannelRow, channel_id)))


@use_case(readonly=True)
def list_sales_channels(
    uow: UnitOfWork, *, principal: Principal, limit: int = 50, cursor: str | None = None
) -> Page[SalesChannel]:
    query = sa.select(SalesChannelRow)
    if principal.channel_id is not None:
        query = query.where(SalesChannelRow.id == principal.channel_id)
    return keyset_page(uow, query, keys=[SalesChannelRow.code], to_item=_channel, cursor=cursor, limit=limit)


@use_case
def update_sales_channel(
    uow: UnitOfWork,
    *,
    principal: Principal,
    channel_id: uuid.UUID,
    expected_version: int | None,
    name: str | None = None,
    active: bool | None = None,
    bills_later: bool | None = None,
    release_after_s: int | None = None,
) -> SalesChannel:
    """Rename or (de)activate a channel, say whether it bills later, or set its edit window before release;
    `expected_version` (from If-Match) guards against lost updates. A new window applies to orders placed from
    then on."""
    row = _visible(principal, uow.session.get(SalesChannelRow, channel_id, with_for_update=True))
    if expected_version is not None and expected_version != row.version:
        raise PreconditionFailed(
            f"the channel changed since version {expected_version}; it is now {row.version}"
        )
    before = _snapshot(row)
    if name is not None:
        row.name = name.strip()
    if active is not None:
        row.active = active
    if bills_later is not None and bills_later != row.bills_later:
        # Releasing orders without a tender grants credit: its own scope, not sales_channels:write.
        principal.require(BILLING_SCOPE)
        row.bills_later = bills_later
    if release_after_s is not None:
        _check_window(release_after_s)
        row.release_after_s = release_after_s
    row.version += 1
    uow.audit(
        "sales_channel.updated",
        object_type="sales_channel",
        object_id=str(row.id),
        before=before,
        after=_snapshot(row),
    )
    uow.emit("sales_channel.updated", {"id": str(row.id), **_snapshot(row)})
    uow.db.caches.pop("sales_channels", None)  # this process sees the change at once; others within the TTL
    return _channel(row)


def acting_channel(uow: UnitOfWork, principal: Principal, named: str | None = None) -> str:
    """The channel a request acts for: a channel-bound key always acts for its own channel (whatever the body
    names); otherwise the channel the caller named, else `console` for a signed-in user and `api` for a key."""
    if principal.channel_id is not None:
        return get_sales_channel(uow, principal=principal, channel_id=principal.channel_id).code
    return named or ("console" if principal.kind == "user" else "api")


CHANNEL_CACHE_TTL = timedelta(seconds=30)


@use_case(readonly=True)
def _load_channel(
    uow: UnitOfWork, *, channel_id: uuid.UUID | None = None, code: str | None = None
) -> SalesChannel | None:
    query = sa.select(SalesChannelRow)
    query = (
        query.where(SalesChannelRow.id == channel_id)
        if channel_id
        else query.where(SalesChannelRow.code == code)
    )
    row = uow.session.scalar(query)
    return _channel(row) if row is not None else None


def _cached_channel(
    uow: UnitOfWork, key: str, load: Callable[[], SalesChannel | None]
) -> SalesChannel | None:
    """Channels change rarely and order intake asks for one on every request: a short-lived cache per database
    (a renamed or deactivated channel takes effect within CHANNEL_CACHE_TTL). A hit opens no transaction."""
    cache: dict[str, tuple[datetime, SalesChannel | None]] = uow.db.caches.setdefault("sales_channels", {})
    now = uow.now()
    found = cache.get(key)
    if found is not None and timedelta(0) <= now - found[0] < CHANNEL_CACHE_TTL:
        return found[1]
    channel = load()
    cache[key] = (now, channel)
    return channel


def find_channel(uow: UnitOfWork, *, code: str) -> SalesChannel | None:
    """The channel of this code (through the short-lived cache), or None: to name it to people."""
    return _cached_channel(uow, f"code:{code}", lambda: _load_channel(uow, code=code))


def find_channel_by_id(uow: UnitOfWork, *, channel_id: uuid.UUID) -> SalesChannel | None:
    """The channel with this id (through the short-lived cache), or None."""
    return _cached_channel(uow, f"id:{channel_id}", lambda: _load_channel(uow, channel_id=channel_id))


def ordering_channel(uow: UnitOfWork, principal: Principal, named: str | None) -> SalesChannel:
    """The active channel an order is written for. A channel-bound key writes only its own channel's orders
    (naming another is refused: 403); staff and unbound keys must name one.

    Raises:
        Forbidden: a channel key named another channel.
        ValidationFailed: no channel named (staff), an unknown or inactive channel (naming `channel`).
    """
    if principal.channel_id is not None:
        bound = principal.channel_id
        own = _cached_channel(uow, f"id:{bound}", lambda: _load_channel(uow, channel_id=bound))
        if own is None:
            raise Forbidden("this key's channel no longer exists")
        if named is not None and named != own.code:
            raise Forbidden(f"this key writes orders for channel {own.code} only")
        channel = own
    else:
        if not named:
            raise ValidationFailed.on("channel", "name the channel the order comes from")
        code = named
        found = _cached_channel(uow, f"code:{code}", lambda: _load_channel(uow, code=code))
        if found is None:
            raise ValidationFailed.on("channel", f"no sales channel {named!r}")
        channel = found
    if not channel.active:
        raise ValidationFailed.on("channel", f"channel {channel.code} is inactive")
    return channel


def bound_channel(uow: UnitOfWork, principal: Principal) -> str | None:
    """The code of the channel a channel-bound key is limited to (None for staff and unbound keys): what it may
    see is that channel's records only. Cached like `ordering_channel`; an inactive channel still limits its key.

    Raises:
        Forbidden: the key's channel no longer exists.
    """
    if principal.channel_id is None:
        return None
    bound = principal.channel_id
    own = _cached_channel(uow, f"id:{bound}", lambda: _load_channel(uow, channel_id=bound))
    if own is None:
        raise Forbidden("this key's channel no longer exists")
    return own.code
