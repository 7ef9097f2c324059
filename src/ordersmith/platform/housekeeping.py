"""Scheduled housekeeping: expired idempotency keys, console sessions, and jobs done more than a week ago."""

from __future__ import annotations

from typing import Any

from ordersmith.platform import idempotency, identity, jobs
from ordersmith.platform.db import UnitOfWork


def _purge_idempotency(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    idempotency.purge_expired(uow)


def _purge_sessions(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    identity.purge_expired_sessions(uow)


def _purge_jobs(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    jobs.purge_done(uow)


def register() -> None:
    jobs.register("platform.purge_idempotency_keys", _purge_idempotency)
    jobs.register("platform.purge_sessions", _purge_sessions)
    jobs.schedule("purge-idempotency-keys", kind="platform.purge_idempotency_keys", every_s=3600)
    jobs.schedule("purge-sessions", kind="platform.purge_sessions", every_s=900)
    jobs.register("platform.purge_jobs", _purge_jobs)
    jobs.schedule("purge-jobs", kind="platform.purge_jobs", every_s=3600)
