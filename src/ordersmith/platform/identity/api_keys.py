"""API keys for integrations: scopes, optional channel binding, hashed at rest, revocable, last-used time.

Invariant: a revoked key is refused by every process from the moment the revocation commits. Each revocation bumps
the one-row `api_key_revocations` counter in its transaction; a process trusts a cached key only while the counter
reads as it did when the key was cached (ADR 0003, addendum).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform import secrets
from ordersmith.platform.access import CHANNEL_KEY_SCOPES, Principal, check_scopes
from ordersmith.platform.config_cache import watched
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page
from ordersmith.platform.tables import ApiKeyRevocationsRow, ApiKeyRow, NumberSequenceRow, SalesChannelRow

API_KEY_PREFIX = "osk_"


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    channel_id: uuid.UUID | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKey
    secret: str  # the clear key, shown once


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=list(row.scopes),
        channel_id=row.channel_id,
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


@use_case
def create_api_key(
    uow: UnitOfWork, *, name: str, scopes: list[str], channel_code: str | None = None
) -> NewApiKey:
    """Create an API key; the clear key is returned once and only its hash is kept.

    Raises:
        ValidationFailed: unknown scope, empty name, unknown channel, or a channel key with a staff-only scope
            (one outside `CHANNEL_KEY_SCOPES`).
    """
    if not name.strip():
        raise ValidationFailed.on("name", "must not be empty")
    try:
        scopes = check_scopes(scopes)
    except ValueError as exc:
        raise ValidationFailed.on("scopes", str(exc)) from exc
    channel_id = None
    if channel_code:
        channel_id = uow.session.scalar(
            sa.select(SalesChannelRow.id).where(SalesChannelRow.code == channel_code)
        )
        if channel_id is None:
            raise ValidationFailed.on("channel", f"no sales channel {channel_code!r}")
        staff_only = sorted(set(scopes) - CHANNEL_KEY_SCOPES)
        if staff_only:
            raise ValidationFailed.on("scopes", f"a channel key cannot hold {', '.join(staff_only)}")
    clear = secrets.new_token(API_KEY_PREFIX)
    row = ApiKeyRow(
        id=new_id(),
        name=name.strip(),
        prefix=clear[:12],
        key_hash=secrets.token_hash(clear),
        scopes=scopes,
        channel_id=channel_id,
        created_by=uow.actor.label,
        created_at=uow.now(),
    )
    uow.session.add(row)
    uow.session.flush()
    uow.audit(
        "api_key.created",
        object_type="api_key",
        object_id=str(row.id),
        after={"name": row.name, "scopes": scopes, "channel_id": str(channel_id) if channel_id else None},
    )
    return NewApiKey(key=_api_key(row), secret=clear)


@use_case
def revoke_api_key(uow: UnitOfWork, *, key_id: uuid.UUID) -> ApiKey:
    row = uow.session.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFound("no such API key")
    api_key_cache.forget(row.id)
    if row.revoked_at is None:
        row.revoked_at = uow.now()
        _bump_revocations(uow)
        uow.audit("api_key.revoked", object_type="api_key", object_id=str(row.id))
    return _api_key(row)


def _bump_revocations(uow: UnitOfWork) -> None:
    bumped = uow.session.execute(
        sa.update(ApiKeyRevocationsRow)
        .where(ApiKeyRevocationsRow.id == 1)
        .values(version=ApiKeyRevocationsRow.version + 1)
    )
    if not bumped.rowcount:  # type: ignore[attr-defined]
        uow.session.add(ApiKeyRevocationsRow(id=1, version=1))


# The configuration's version and the other watched cache counters (`platform.config_cache`) ride along: one
# statement tells the request all of them. Built once per set of watched series.
_REVOCATIONS: dict[tuple[str, ...], sa.Select[Any]] = {}


def _revocations(series: tuple[str, ...]) -> sa.Select[Any]:
    statement = _REVOCATIONS.get(series)
    if statement is None:
        statement = _REVOCATIONS[series] = sa.select(
            sa.select(ApiKeyRevocationsRow.version).where(ApiKeyRevocationsRow.id == 1).scalar_subquery(),
            *(
                sa.select(NumberSequenceRow.last_value)
                .where(NumberSequenceRow.name == name)
                .scalar_subquery()
                for name in series
            ),
        )
    return statement


def revocations_version(uow: UnitOfWork) -> int:
    """How many revocations there have been: one prebuilt single-row read on a pooled connection (it runs for
    every request with a cached key, so no unit of work, session or ORM around it). The configuration's version,
    read in the same statement, is noted on `uow.versions`."""
    series = watched()
    statement = _revocations(series)
    if uow.active:
        row = uow.execute_core(statement).one()
    else:
        with uow.db.read_engine.connect() as connection:
            row = connection.execute(statement).one()
    for name, value in zip(series, row[1:], strict=True):
        uow.versions[name] = int(value or 0)
    return int(row[0] or 0)


@use_case(readonly=True)
def find_api_key_by_prefix(uow: UnitOfWork, *, prefix: str) -> ApiKey | None:
    row = uow.session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
    return _api_key(row) if row else None


@use_case(readonly=True)
def list_api_keys(uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None) -> Page[ApiKey]:
    return keyset_page(
        uow, sa.select(ApiKeyRow), keys=[ApiKeyRow.id], to_item=_api_key, cursor=cursor, limit=limit
    )


class ApiKeyCache:
    """Recently resolved API keys, kept for a few seconds with the revocation count read when each was resolved.

    A cached key is used only after `revocations_version` still reads the same (one tiny read instead of the key's
    lookup); when it moved, the whole cache is dropped, so a revocation anywhere takes effect at once here.
    """

    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, float, int]] = {}
        self._lock = threading.Lock()

    def get(self, clear: str) -> tuple[Principal, int] | None:
        """The cached principal and the revocation count it was resolved under; None when not cached."""
        if self.ttl_s <= 0:
            return None
        digest = secrets.token_hash(clear)
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry[1] < time.monotonic():
                del self._entries[digest]
                return None
            return entry[0], entry[2]

    def put(self, clear: str, principal: Principal, version: int) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[secrets.token_hash(clear)] = (principal, time.monotonic() + self.ttl_s, version)

    def forget(self, key_id: uuid.UUID) -> None:
        with self._lock:
            for digest in [d for d, (p, _, _) in self._entries.items() if p.id == key_id]:
                del self._entries[digest]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


api_key_cache = ApiKeyCache(ttl_s=5.0)


@use_case(readonly=True)
def resolve_api_key(uow: UnitOfWork, *, clear: str) -> tuple[Principal, bool] | None:
    """The principal behind `Authorization: Bearer osk_…` and whether its last-used time is stale.

    None when the key is unknown or revoked.
    """
    row = uow.session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.key_hash == secrets.token_hash(clear)))
    if row is None or row.revoked_at is not None:
        return None
    principal = Principal(
        kind="api_key",
        id=row.id,
        label=f"api-key:{row.name}",
        # A channel key acts with channel scopes only, whatever it was created with (see CHANNEL_KEY_SCOPES).
        scopes=frozenset(row.scopes) & CHANNEL_KEY_SCOPES if row.channel_id else frozenset(row.scopes),
        channel_id=row.channel_id,
    )
    stale = row.last_used_at is None or row.last_used_at < uow.now() - timedelta(minutes=1)
    return principal, stale


@use_case
def touch_api_key(uow: UnitOfWork, *, key_id: uuid.UUID) -> None:
    """Record last use at most once a minute, so a busy integration does not write on every call."""
    now = uow.now()
    uow.session.execute(
        sa.update(ApiKeyRow)
        .where(ApiKeyRow.id == key_id)
        .where(sa.or_(ApiKeyRow.last_used_at.is_(None), ApiKeyRow.last_used_at < now - timedelta(minutes=1)))
        .values(last_used_at=now)
    )
