"""Idempotency keys: a creating request retried with the same key runs once and replays its first response.

Invariant: (caller, key) is unique in the database. The key row is inserted (`ON CONFLICT DO NOTHING`) before
the work runs, in the same transaction, so a concurrent duplicate waits on the unique index (PostgreSQL) or on the
write lock (SQLite) and then replays the stored response. A different body under the same key is refused with 409.
A request that fails stores nothing, so retrying it runs it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.errors import IdempotencyInProgress, IdempotencyKeyReused, ValidationFailed
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


_TABLE = IdempotencyRow.__table__
_CLAIM_COLUMNS = [c.name for c in _TABLE.columns]  # names from our own table, never from input
# Plain SQL that SQLite and PostgreSQL both speak: the dialects' ON CONFLICT constructs carry no cache key and would
# be compiled on every request; this one is compiled once (the column types still convert ids and times).
_COLUMNS_SQL, _VALUES_SQL = (
    ", ".join(f'"{n}"' for n in _CLAIM_COLUMNS),
    ", ".join(f":{n}" for n in _CLAIM_COLUMNS),
)
_CLAIM_SQL = f"INSERT INTO idempotency_keys ({_COLUMNS_SQL}) VALUES ({_VALUES_SQL}) "  # noqa: S608 - our own names
_CLAIM = sa.text(_CLAIM_SQL + 'ON CONFLICT ("caller", "key") DO NOTHING RETURNING id').bindparams(
    *(sa.bindparam(c.name, type_=c.type) for c in _TABLE.columns)
)


_STORE_RESPONSE = (
    sa.update(IdempotencyRow.__table__)  # type: ignore[arg-type]
    .where(IdempotencyRow.__table__.c.id == sa.bindparam("row_id"))
    .values(response_status=sa.bindparam("status"), response_body=sa.bindparam("body"))
)


def _claim(uow: UnitOfWork, values: dict[str, Any]) -> bool:
    """INSERT the key row unless (caller, key) exists; True when this transaction now owns the key.

    On PostgreSQL a concurrent transaction holding the same key makes this wait until it ends.
    """
    return uow.execute_core(_CLAIM, values).first() is not None


@use_case
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
        ValidationFailed: a malformed key.
        IdempotencyKeyReused: the key was used before with a different request.
    """
    values = _key_row(uow, caller=caller, key=key, method=method, path=path, fingerprint=fingerprint, ttl=ttl)
    for _ in range(3):
        if _claim(uow, values):
            status, body = execute(uow)
            uow.execute_core(_STORE_RESPONSE, {"row_id": values["id"], "status": status, "body": body})
            return StoredResponse(status=status, body=body, replayed=False)
        existing = _existing(uow, caller=caller, key=key, fingerprint=fingerprint)
        if existing is None:
            continue  # the holder rolled back, or the row expired and was purged: claim again
        return StoredResponse(status=existing.response_status, body=existing.response_body, replayed=True)
    raise IdempotencyInProgress("this Idempotency-Key could not be claimed; retry the request")


def _key_row(
    uow: UnitOfWork, *, caller: str, key: str, method: str, path: str, fingerprint: str, ttl: timedelta
) -> dict[str, Any]:
    """The key row to claim (a malformed key is refused first)."""
    check_key(key)
    now = uow.now()
    return {
        "id": new_id(), "caller": caller, "key": key, "method": method, "path": path, "request_hash": fingerprint,
        "response_status": 0, "response_body": "", "created_at": now, "expires_at": now + ttl,
    }  # fmt: skip


def _existing(uow: UnitOfWork, *, caller: str, key: str, fingerprint: str) -> Any:
    """The live row another request holds under (caller, key), or None (gone, or expired — then deleted here).

    Raises:
        IdempotencyKeyReused: it was claimed for a different request.
    """
    existing = uow.session.execute(
        sa.select(
            IdempotencyRow.id,
            IdempotencyRow.request_hash,
            IdempotencyRow.response_status,
            IdempotencyRow.response_body,
            IdempotencyRow.created_at,
            IdempotencyRow.expires_at,
        ).where(IdempotencyRow.caller == caller, IdempotencyRow.key == key)
    ).first()
    if existing is None:
        return None
    if existing.expires_at <= uow.now():
        uow.session.execute(sa.delete(IdempotencyRow).where(IdempotencyRow.id == existing.id))
        return None
    if existing.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request; use a new key for a new request"
        )
    return existing


@use_case
def purge_expired(uow: UnitOfWork) -> int:
    """Delete keys past their expiry (a scheduled job)."""
    result = uow.session.execute(sa.delete(IdempotencyRow).where(IdempotencyRow.expires_at <= uow.now()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- claimed first, in a transaction of its own (work that calls out) ------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: this request owns it (`row_id`, to key its own calls out by), or an earlier
    request answered under it already (`replay`), or one is still working on it (`in_progress`)."""

    row_id: Any = None
    replay: StoredResponse | None = None
    in_progress: bool = False


@use_case
def claim(
    uow: UnitOfWork,
    *,
    caller: str,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    ttl: timedelta,
    lease: timedelta,
) -> Claim:
    """Claim (caller, key) in a transaction of its own, committed before the work starts — for work that calls out
    to a processor, which must never happen inside a transaction. The owner later stores its response in the
    work's own transaction (`complete`), or gives the key up when the work failed (`give_up`).

    A claim whose owner died (no response after `lease`) is taken over with the same row id, so the new owner's
    calls out carry the same keys and the processor answers what it did the first time.

    Raises:
        ValidationFailed: a malformed key.
        IdempotencyKeyReused: the key was used before with a different request.
    """
    values = _key_row(uow, caller=caller, key=key, method=method, path=path, fingerprint=fingerprint, ttl=ttl)
    now = values["created_at"]
    for _ in range(3):
        if _claim(uow, values):
            return Claim(row_id=values["id"])
        existing = _existing(uow, caller=caller, key=key, fingerprint=fingerprint)
        if existing is None:
            continue
        if existing.response_status:
            return Claim(
                replay=StoredResponse(
                    status=existing.response_status, body=existing.response_body, replayed=True
                )
            )
        if existing.created_at > now - lease:
            return Claim(in_progress=True)
        taken = uow.session.execute(
            sa.update(IdempotencyRow)
            .where(
                IdempotencyRow.id == existing.id,
                IdempotencyRow.response_status == 0,
                IdempotencyRow.created_at == existing.created_at,
            )
            .values(created_at=now)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return Claim(row_id=existing.id)
        return Claim(in_progress=True)
    raise IdempotencyInProgress("this Idempotency-Key could not be claimed; retry the request")


def complete(uow: UnitOfWork, *, row_id: Any, status: int, body: str) -> None:
    """Store the owner's response inside the work's own transaction (the key and the work commit together).

    Raises:
        IdempotencyInProgress: the claim was lost meanwhile (its lease ran out and another request took it over);
            the caller's transaction rolls back.
    """
    stored = uow.session.execute(
        sa.update(IdempotencyRow)
        .where(IdempotencyRow.id == row_id, IdempotencyRow.response_status == 0)
        .values(response_status=status, response_body=body)
        .execution_options(independent_of_pending=True)  # keys never wait for the commit (pending_rows)
    )
    if stored.rowcount != 1:  # type: ignore[attr-defined]
        raise IdempotencyInProgress("another request took this Idempotency-Key over; retry the request")


@use_case
def give_up(uow: UnitOfWork, *, row_id: Any) -> None:
    """The owner's work failed and stored nothing: free the key so the request may be sent again."""
    uow.session.execute(
        sa.delete(IdempotencyRow).where(IdempotencyRow.id == row_id, IdempotencyRow.response_status == 0)
    )


@use_case
def store(uow: UnitOfWork, *, row_id: Any, status: int, body: str) -> None:
    """`complete` in a transaction of its own (an answer that wrote nothing else, e.g. a duplicate's)."""
    complete(uow, row_id=row_id, status=status, body=body)
