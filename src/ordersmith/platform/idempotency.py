"""Idempotency keys: a creating request retried with the same key runs once and replays its first response.

Invariant: (caller, key) is unique in the database. The key row is inserted before the work runs, in the same
transaction, so a concurrent duplicate waits on the unique index (PostgreSQL) or on the write lock (SQLite) and
then replays the stored response. A different body under the same key is refused with 409. A request that
fails stores nothing, so retrying it runs it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ordersmith.kernel.errors import IdempotencyKeyReused, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.tables import IdempotencyRow

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    replayed: bool


def request_fingerprint(method: str, path: str, payload: Any) -> str:
    canonical = json.dumps(
        [method.upper(), path, payload], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed.on("Idempotency-Key", f"must be 1-{MAX_KEY_LENGTH} printable characters")
    return key


@use_case
def _run_once(
    uow: UnitOfWork,
    *,
    caller: str,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    ttl: timedelta,
    execute: Callable[[UnitOfWork], tuple[int, str]],
) -> StoredResponse:
    now = uow.now()
    existing = uow.session.scalar(
        sa.select(IdempotencyRow).where(IdempotencyRow.caller == caller, IdempotencyRow.key == key)
    )
    if existing is not None and existing.expires_at <= now:
        uow.session.delete(existing)
        uow.session.flush()
        existing = None
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request; use a new key for a new request"
            )
        return StoredResponse(status=existing.response_status, body=existing.response_body, replayed=True)
    row_id = new_id()
    # Claim the key now (a Core INSERT, executed at once): a concurrent duplicate waits on it.
    uow.session.execute(
        sa.insert(IdempotencyRow),
        [
            {
                "id": row_id, "caller": caller, "key": key, "method": method, "path": path,
                "request_hash": fingerprint, "response_status": 0, "response_body": "", "created_at": now,
                "expires_at": now + ttl,
            }
        ],
    )  # fmt: skip
    status, body = execute(uow)
    uow.session.execute(
        sa.update(IdempotencyRow)
        .where(IdempotencyRow.id == row_id)
        .values(response_status=status, response_body=body)
    )
    return StoredResponse(status=status, body=body, replayed=False)


def run_idempotent(
    uow: UnitOfWork,
    *,
    caller: str,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    ttl: timedelta,
    execute: Callable[[UnitOfWork], tuple[int, str]],
) -> StoredResponse:
    """Run `execute` once per (caller, key) and return its stored response; replay it on a repeat.

    `execute` runs inside the same transaction as the key row and returns (HTTP status, JSON body).

    Raises:
        IdempotencyKeyReused: the key was used before with a different request.
    """
    check_key(key)
    for _ in range(3):
        try:
            return _run_once(
                uow,
                caller=caller,
                key=key,
                method=method,
                path=path,
                fingerprint=fingerprint,
                ttl=ttl,
                execute=execute,
            )
        except IntegrityError as exc:
            # Lost the race for the key: the winner has committed, so the next pass replays its response.
            if "idempotency" not in str(exc.orig).lower():
                raise
    raise AssertionError("idempotency key could be neither claimed nor read")


@use_case
def purge_expired(uow: UnitOfWork) -> int:
    """Delete keys past their expiry (a scheduled job)."""
    result = uow.session.execute(sa.delete(IdempotencyRow).where(IdempotencyRow.expires_at <= uow.now()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
