"""Webhook subscriptions, signed delivery with retries and back-off, dead-lettering and the delivery log.

Signature: `Ordersmith-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" under the subscription secret>`
with `Ordersmith-Timestamp` (Unix seconds) beside it, so a receiver can refuse replays of old deliveries.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.kernel.clock import utcnow
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.events import Event, matches
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform import secrets
from ordersmith.platform.access import event_visible_to
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import (
    OutboxRow,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)

SIGNATURE_HEADER = "Ordersmith-Signature"
TIMESTAMP_HEADER = "Ordersmith-Timestamp"
EVENT_ID_HEADER = "Ordersmith-Event-Id"
EVENT_TYPE_HEADER = "Ordersmith-Event-Type"


@dataclass(frozen=True)
class Subscription:
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class NewSubscription:
    subscription: Subscription
    secret: str  # shown once


@dataclass(frozen=True)
class Delivery:
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _subscription(row: WebhookSubscriptionRow) -> Subscription:
    return Subscription(
        id=row.id,
        url=row.url,
        event_types=list(row.event_types),
        description=row.description,
        active=row.active,
        created_at=row.created_at,
    )


def _delivery(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return "v1=" + secrets.sign(secret, f"{timestamp}.".encode() + body)


def verify_signature(secret: str, timestamp: int, body: bytes, header: str) -> bool:
    return secrets.constant_time_equal(signature(secret, timestamp, body), header)


def _check_url(url: str, settings: Settings) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValidationFailed.on("url", "must be an absolute http(s) URL")
    if settings.is_production and parts.scheme != "https":
        raise ValidationFailed.on("url", "must use https in production")
    return url


@use_case
def create_subscription(
    uow: UnitOfWork,
    *,
    url: str,
    event_types: list[str],
    description: str,
    settings: Settings,
    channel: str | None = None,
) -> NewSubscription:
    """Subscribe a URL to event types (`order.placed`, `order.*` or `*`); the signing secret is shown once. With
    `channel` (created by a channel-bound key) the subscription is that channel's: it receives only the events a
    channel key may see (`access.event_visible_to`), and only that channel's keys see it."""
    _check_url(url, settings)
    if not event_types:
        raise ValidationFailed.on("event_types", "name at least one event type, or '*'")
    clear = secrets.new_token("whsec_")
    row = WebhookSubscriptionRow(
        id=new_id(),
        url=url,
        event_types=sorted(set(event_types)),
        description=description,
        secret=secrets.seal(settings.secret_key.get_secret_value(), "webhook", clear),
        active=True,
        channel=channel,
        created_at=uow.now(),
        version=1,
    )
    uow.session.add(row)
    uow.session.flush()
    uow.audit(
        "webhook.created",
        object_type="webhook",
        object_id=str(row.id),
        after={"url": url, "event_types": row.event_types, "channel": channel},
    )
    return NewSubscription(subscription=_subscription(row), secret=clear)


@use_case(readonly=True)
def list_subscriptions(
    uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None, channel: str | None = None
) -> Page[Subscription]:
    """Every subscription (with `channel`, a channel-bound caller's: that channel's only)."""
    query = sa.select(WebhookSubscriptionRow)
    if channel is not None:
        query = query.where(WebhookSubscriptionRow.channel == channel)
    return keyset_page(
        uow,
        query,
        keys=[WebhookSubscriptionRow.id],
        to_item=_subscription,
        cursor=cursor,
        limit=limit,
    )


def _subscription_row(
    uow: UnitOfWork, subscription_id: uuid.UUID, channel: str | None
) -> WebhookSubscriptionRow:
    """The subscription; another channel's answers exactly as an unknown one to a channel-bound caller."""
    row = uow.session.get(WebhookSubscriptionRow, subscription_id)
    if row is None or (channel is not None and row.channel != channel):
        raise NotFound("no such webhook subscription")
    return row


@use_case(readonly=True)
def get_subscription(
    uow: UnitOfWork, *, subscription_id: uuid.UUID, channel: str | None = None
) -> Subscription:
    return _subscription(_subscription_row(uow, subscription_id, channel))


@use_case
def delete_subscription(uow: UnitOfWork, *, subscription_id: uuid.UUID, channel: str | None = None) -> None:
    row = _subscription_row(uow, subscription_id, channel)
    uow.audit(
        "webhook.deleted",
        object_type="webhook",
        object_id=str(row.id),
        before={"url": row.url, "event_types": row.event_types},
    )
    uow.session.delete(row)


@use_case(readonly=True)
def list_deliveries(
    uow: UnitOfWork,
    *,
    subscription_id: uuid.UUID,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    channel: str | None = None,
) -> Page[Delivery]:
    """The delivery log of one subscription, newest first."""
    _subscription_row(uow, subscription_id, channel)
    query = sa.select(WebhookDeliveryRow).where(WebhookDeliveryRow.subscription_id == subscription_id)
    if status:
        query = query.where(WebhookDeliveryRow.status == status)
    return keyset_page(
        uow,
        query,
        keys=[WebhookDeliveryRow.id],
        to_item=_delivery,
        cursor=cursor,
        limit=limit,
        descending=True,
    )


@use_case(readonly=True)
def list_attempts(
    uow: UnitOfWork, *, subscription_id: uuid.UUID, delivery_id: uuid.UUID, channel: str | None = None
) -> list[dict[str, Any]]:
    """Every attempt of one delivery, oldest first."""
    delivery = uow.session.get(WebhookDeliveryRow, delivery_id)
    if delivery is None or delivery.subscription_id != subscription_id:
        raise NotFound("no such delivery")
    try:
        _subscription_row(uow, subscription_id, channel)
    except NotFound:
        raise NotFound("no such delivery") from None
    rows = uow.session.scalars(
        sa.select(WebhookAttemptRow)
        .where(WebhookAttemptRow.delivery_id == delivery_id)
        .order_by(WebhookAttemptRow.attempt)
    )
    return [
        {
            "attempt": r.attempt,
            "at": r.at,
            "status_code": r.status_code,
            "error": r.error,
            "duration_ms": r.duration_ms,
        }
        for r in rows
    ]


# --- used by the relay -------------------------------------------------------------------------------------


_ACTIVE_SUBSCRIPTIONS = sa.select(
    WebhookSubscriptionRow.__table__.c.id,
    WebhookSubscriptionRow.__table__.c.event_types,
    WebhookSubscriptionRow.__table__.c.channel,
).where(WebhookSubscriptionRow.__table__.c.active.is_(True))


def enqueue_deliveries(uow: UnitOfWork, events: list[Event]) -> int:
    """Create one pending delivery per (active subscription, event it wants), inside the relay's transaction.

    Idempotent: a delivery that exists already (an event dispatched twice after a crash) is not created again.
    """
    if not events:
        return 0
    subscriptions = uow.execute_core(_ACTIVE_SUBSCRIPTIONS).all()
    now = uow.now()
    rows = [
        {"id": new_id(), "subscription_id": sub.id, "event_id": event.id, "event_type": event.type,
         "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
        for event in events
        for sub in subscriptions
        if any(matches(event.type, pattern) for pattern in sub.event_types)
        and event_visible_to(sub.channel, event.type, event.channel)
    ]  # fmt: skip
    if not rows:
        return 0
    table = WebhookDeliveryRow.__table__
    insert = postgresql_insert if uow.dialect == "postgresql" else sqlite_insert
    statement = insert(table).on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])  # type: ignore[arg-type]
    uow.session.execute(statement, rows)
    return len(rows)


@dataclass(frozen=True)
class _Job:
    delivery_id: uuid.UUID
    attempt: int
    url: str
    secret: str
    body: bytes
    event_id: uuid.UUID
    event_type: str


@use_case
def _claim_due(uow: UnitOfWork, *, limit: int, lease_s: float, settings: Settings) -> list[_Job]:
    now = uow.now()
    rows = list(
        uow.session.scalars(
            sa.select(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.status == "pending", WebhookDeliveryRow.next_attempt_at <= now)
            .where(sa.or_(WebhookDeliveryRow.locked_until.is_(None), WebhookDeliveryRow.locked_until < now))
            .order_by(WebhookDeliveryRow.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    jobs = []
    for row in rows:
        sub = uow.session.get(WebhookSubscriptionRow, row.subscription_id)
        event = uow.session.get(OutboxRow, row.event_id)
        if sub is None or event is None:
            continue
        row.locked_until = now + timedelta(seconds=lease_s)
        body = json.dumps(
            {
                "id": str(event.id),
                "type": event.type,
                "occurred_at": event.occurred_at.isoformat(),
                "data": event.payload,
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        secret = secrets.unseal(settings.secret_key.get_secret_value(), "webhook", sub.secret)
        jobs.append(_Job(row.id, row.attempts + 1, sub.url, secret, body, event.id, event.type))
    return jobs


@use_case
def _record(
    uow: UnitOfWork,
    *,
    job: _Job,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    settings: Settings,
) -> None:
    now = uow.now()
    row = uow.session.get(WebhookDeliveryRow, job.delivery_id)
    if row is None:
        return
    uow.session.add(
        WebhookAttemptRow(
            id=new_id(),
            delivery_id=row.id,
            attempt=job.attempt,
            at=now,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    row.attempts = job.attempt
    row.last_status_code = status_code
    row.last_error = error
    row.locked_until = None
    if status_code is not None and 200 <= status_code < 300:
        row.status = "delivered"
        row.delivered_at = now
        row.next_attempt_at = None
    elif job.attempt >= settings.webhook_max_attempts:
        row.status = "dead"
        row.next_attempt_at = None
        uow.emit(
            "webhook.dead_lettered",
            {
                "delivery_id": str(row.id),
                "subscription_id": str(row.subscription_id),
                "event_id": str(row.event_id),
                "attempts": job.attempt,
            },
        )
    else:
        backoff = settings.webhook_backoff_base_s * 2 ** (job.attempt - 1)
        row.next_attempt_at = now + timedelta(seconds=min(backoff, 3600))


def _send(client: httpx.Client, job: _Job) -> tuple[int | None, str | None, int]:
    timestamp = int(utcnow().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Ordersmith-Webhooks/1",
        SIGNATURE_HEADER: signature(job.secret, timestamp, job.body),
        TIMESTAMP_HEADER: str(timestamp),
        EVENT_ID_HEADER: str(job.event_id),
        EVENT_TYPE_HEADER: job.event_type,
    }
    started = time.perf_counter()
    try:
        response = client.post(job.url, content=job.body, headers=headers)
        error = None if response.is_success else f"HTTP {response.status_code}"
        return response.status_code, error, int((time.perf_counter() - started) * 1000)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500], int((time.perf_counter() - started) * 1000)


_DELIVERIES = WebhookDeliveryRow.__table__
# Built once: the relay asks this many times a second.
_ANY_DUE = (
    sa.select(_DELIVERIES.c.id)
    .where(_DELIVERIES.c.status == "pending", _DELIVERIES.c.next_attempt_at <= sa.bindparam("now"))
    .where(sa.or_(_DELIVERIES.c.locked_until.is_(None), _DELIVERIES.c.locked_until < sa.bindparam("now")))
    .limit(1)
)


@use_case(readonly=True)
def _any_due(uow: UnitOfWork) -> bool:
    return uow.execute_core(_ANY_DUE, {"now": uow.now()}).first() is not None


def deliver_due(uow: UnitOfWork, *, client: httpx.Client, settings: Settings, limit: int = 20) -> int:
    """Send due deliveries (outside any transaction) and record each attempt. Returns how many were tried."""
    if not _any_due(uow):  # a cheap read first: most passes find nothing, and need no write lock
        return 0
    jobs = _claim_due(uow, limit=limit, lease_s=settings.webhook_timeout_s + 30, settings=settings)
    for job in jobs:
        status_code, error, duration_ms = _send(client, job)
        _record(
            uow, job=job, status_code=status_code, error=error, duration_ms=duration_ms, settings=settings
        )
    return len(jobs)
