"""Out to the channels: what we cancelled or refunded of their orders.

An order a connector imported and that we cancel (a customer's call, stock that never came, fraud) is cancelled on
the channel; money the channel collected for it (`marketplace` payments) that we give back — a return, cancelled
lines, a goodwill refund, the cancellation itself — is refunded through the channel, which holds the buyer's
money. Each is a job (`channels.push_order_change`) with the shipment confirmations' retries: throttled, it waits
as asked; failing, it is retried with back-off and then dead-lettered (operation `push_order_change`, replayable).
A connector that does not take a kind (the generic connector takes neither) dead-letters it at once with what
to do on the channel's side, so a person sees it on the connector's health.

Never sent back: the channel's own doings (applied from its changes, `channels.service.changes`) — a cancellation
whose reason is one the channel's cancellation or edit writes (`rules.CHANNEL_ORIGINS`, decided when it happens),
the refund of such a cancellation (the channel gives that money back itself), a refund made under a channel
change's key; and the connectors' change readers skip our own refunds reported back (`rules.ours`).

Invariants: no call to a channel inside a transaction; a push is owed once per (connector, order, key) in
`channel_order_pushes` and claimed by the job sending it, so a redelivered event or a duplicate job never calls the
channel twice at once; a refund carries our key, the same on every attempt, and the connectors look for it on the
channel before refunding (eBay: the refunds read before the first attempt), so a retry after a lost answer
refunds once. A channel that takes changes as feeds (Amazon, ADR 0059) is sent them in three steps kept in the
job's payload; its submission is fenced by marking the push `submitting` first, so a worker dying there, or a lost
answer, leaves the change for a person rather than submitting it twice; a cancellation's refund is not sent to a
channel whose cancellation gives the money back itself.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.channels import connectors, rules
from ordersmith.channels.service._common import Loaded, access_for, dead_letter, load
from ordersmith.channels.tables import ChannelOrderRow, ConnectorRow, OrderPushRow
from ordersmith.kernel.events import Event
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import jobs
from ordersmith.platform.db import UnitOfWork, use_case

log = logging.getLogger(__name__)

JOB = "channels.push_order_change"
OPERATION = "push_order_change"
CHANNEL_CHANGE_KEY = "channel-change:"  # the key a channel's own refund is made under (changes.py)
CANCELLATION_REFUND_KEY = "cancel:"  # the key payments refunds a cancelled order's money under
CANCEL_KEY = "cancel"
LINES = "cancel_lines"  # the kind of a line cancellation (some units cancelled, the rest goes on)
UNCERTAIN = (
    "a worker stopped while submitting this to the channel: it may have gone out; check on the channel's own site "
    "and replay only if it did not"
)
CLAIM = timedelta(minutes=5)  # a job's hold on a push: longer than a call to the channel with its retries
COLLECTED_BY_CHANNEL = "marketplace"  # the payment method of money a channel collected


def _channel_order(uow: UnitOfWork, order_id: Any, *, lock: bool = False) -> Any:
    try:
        wanted = uuid.UUID(str(order_id))
    except ValueError:
        return None
    query = (
        sa.select(
            ChannelOrderRow.connector_id,
            ChannelOrderRow.external_id,
            ChannelOrderRow.line_ids,
            ConnectorRow.kind,
            ConnectorRow.active,
        )
        .join(ConnectorRow, ConnectorRow.id == ChannelOrderRow.connector_id)
        .where(ChannelOrderRow.order_id == wanted)
    )
    return uow.session.execute(query.with_for_update(of=ChannelOrderRow) if lock else query).first()


def _owe(uow: UnitOfWork, found: Any, *, key: str, kind: str) -> bool:
    """Record a push owed to the channel, once per (connector, order, key): False when it was recorded before (an
    event delivered again)."""
    now = uow.now()
    values = {"connector_id": found.connector_id, "external_id": found.external_id, "push_key": key, "kind": kind,
              "status": "queued", "claimed_until": None, "created_at": now, "updated_at": now}  # fmt: skip
    insert = postgresql_insert(OrderPushRow) if uow.dialect == "postgresql" else sqlite_insert(OrderPushRow)
    made = uow.session.execute(
        insert.values(values).on_conflict_do_nothing().returning(OrderPushRow.push_key)
    ).first()
    return made is not None


def _queue(uow: UnitOfWork, found: Any, change: dict[str, Any]) -> None:
    payload = {
        "connector_id": str(found.connector_id),
        "external_id": found.external_id,
        "attempt": 0,
        **change,
    }
    if (
        not found.active
    ):  # nothing goes to a connector switched off: a person sees it, and replays it once it is on
        _settle_push(uow, payload, "dead")
        why = "the connector is inactive: nothing was sent; replay once it is active again"
        dead_letter(uow, load(uow, connector_id=found.connector_id), operation=OPERATION,
                    reference=str(found.external_id), payload=payload, error=why, attempts=0)  # fmt: skip
        return
    jobs.enqueue(uow, JOB, payload)


def on_order_cancelled(uow: UnitOfWork, event: Event) -> None:
    """We cancelled a channel's order: queue the cancellation to the channel, unless the channel did it (its
    cancellation, or its edit that took every unit off)."""
    reason = str(event.payload.get("reason") or "")
    if reason.startswith(rules.CHANNEL_ORIGINS):
        return
    found = _channel_order(uow, event.payload.get("order_id"))
    if found is None or not _owe(uow, found, key=CANCEL_KEY, kind="cancel"):
        return
    _queue(uow, found, {"kind": "cancel", "key": CANCEL_KEY, "reason": (reason or "cancelled")[:200]})


def on_order_changed(uow: UnitOfWork, event: Event) -> None:
    """We cancelled some units of a channel's order and the rest goes on: queue them to the channel by its own line
    ids (kept at import), unless the channel's edit took them off."""
    payload = event.payload
    if payload.get("change") != "lines_cancelled":
        return
    reason = str(payload.get("reason") or "")
    if reason.startswith(rules.CHANNEL_ORIGINS):
        return
    found = _channel_order(uow, payload.get("order_id"))
    if found is None:
        return
    ids = found.line_ids if isinstance(found.line_ids, list) else []
    lines = []
    for part in payload.get("lines") or []:
        line, quantity = part.get("line"), part.get("quantity")
        if isinstance(line, int) and isinstance(quantity, int) and quantity > 0:
            line_id = str(ids[line - 1]) if 0 < line <= len(ids) else ""
            lines.append({"line": line, "line_id": line_id, "quantity": quantity})
    key = f"lines:{event.id}"
    if not lines or not _owe(uow, found, key=key, kind=LINES):
        return
    _queue(
        uow, found, {"kind": LINES, "key": key, "reason": (reason or "lines cancelled")[:200], "lines": lines}
    )


def on_payment_refunded(uow: UnitOfWork, event: Event) -> None:
    """We gave back money a channel collected: queue the refund through the channel — unless the channel's own
    refund made it, or it is the refund of a cancellation the channel made (the channel gives that back itself)."""
    payload = event.payload
    if payload.get("method") != COLLECTED_BY_CHANNEL or not payload.get("transaction_id"):
        return
    found = _channel_order(uow, payload.get("order_id"), lock=True)
    if found is None:
        return
    transaction = uuid.UUID(str(payload["transaction_id"]))
    key = payments.transaction_key(
        uow, order_id=uuid.UUID(str(payload["order_id"])), transaction_id=transaction
    )
    if key is None or key.startswith(CHANNEL_CHANGE_KEY):
        return
    if key.startswith(CANCELLATION_REFUND_KEY) and (
        not _owes_cancel(uow, found) or connectors.cancellation_refunds(found.kind)
    ):
        return  # the cancellation was the channel's, or the channel's cancellation gives the money back itself
    push_key = f"refund:{transaction}"
    if not _owe(uow, found, key=push_key, kind="refund"):
        return
    currency = str(payload.get("currency") or "")
    order_id = uuid.UUID(str(payload["order_id"]))
    earlier, lines = _refunds_for(uow, found, order_id=order_id, key=push_key, transaction=transaction)
    change = {
        "kind": "refund",
        "amount": str(payload.get("amount") or "0"),
        "currency": currency,
        "reason": str(payload.get("reason") or "refunded")[:200],
        "key": push_key,
        "before": _amount(sum(minor for minor, _ in earlier), currency),
        "lines": lines,
        "earlier": [{"amount": _amount(minor, currency), "lines": units} for minor, units in earlier],
    }
    _queue(uow, found, change)


def _amount(minor: int, currency: str) -> str:
    return str(Money.from_minor(minor, currency).amount) if currency else "0"


def _refunds_for(
    uow: UnitOfWork, found: Any, *, order_id: uuid.UUID, key: str, transaction: uuid.UUID
) -> tuple[list[tuple[int, list[dict[str, Any]]]], list[dict[str, Any]]]:
    """The refunds owed to this channel order before this one (amount in minor units and returned units, in the
    order they were queued: the channel order's row is locked, so each refund is queued after those it sees), and
    the units this one gives back the money of (a return's lines, by the channel's line ids)."""
    keys = uow.session.scalars(
        sa.select(OrderPushRow.push_key)
        .where(
            OrderPushRow.connector_id == found.connector_id,
            OrderPushRow.external_id == found.external_id,
            OrderPushRow.kind == "refund",
            OrderPushRow.push_key != key,
        )
        .order_by(OrderPushRow.created_at, OrderPushRow.push_key)
    ).all()
    ids = []
    for queued in keys:
        try:
            ids.append(uuid.UUID(queued.removeprefix("refund:")))
        except ValueError:
            continue
    made = payments.approved_transactions(uow, order_id=order_id, transaction_ids=[*ids, transaction])
    returns = [t.return_id for t in made.values() if t.return_id is not None]
    units = orders.returned_units(uow, return_ids=returns)
    line_ids = found.line_ids if isinstance(found.line_ids, list) else []

    def lines_of(transaction_id: uuid.UUID) -> list[dict[str, Any]]:
        found_return = made[transaction_id].return_id if transaction_id in made else None
        by_line = units.get(found_return, {}) if found_return is not None else {}
        return [
            {"line": n, "line_id": str(line_ids[n - 1]) if 0 < n <= len(line_ids) else "", "quantity": q}
            for n, q in sorted(by_line.items())
        ]

    earlier = [(made[i].amount_minor, lines_of(i)) for i in ids if i in made]
    return earlier, lines_of(transaction)


def _owes_cancel(uow: UnitOfWork, found: Any) -> bool:
    return uow.session.get(OrderPushRow, (found.connector_id, found.external_id, CANCEL_KEY)) is not None


def has_channel(event: Event) -> bool:
    return event.channel is not None


@use_case(readonly=True)
def _access(uow: UnitOfWork, *, connector_id: uuid.UUID) -> tuple[Loaded, connectors.Access]:
    loaded = load(uow, connector_id=connector_id)
    return loaded, access_for(uow, loaded.row)


Notice = connectors.CancellationNotice | connectors.LineCancellationNotice | connectors.RefundNotice


def _notice(payload: dict[str, Any]) -> Notice:
    external_id = str(payload["external_id"])
    if payload["kind"] == "cancel":
        return connectors.CancellationNotice(external_id=external_id, reason=str(payload.get("reason") or ""))
    if payload["kind"] == LINES:
        reason = str(payload.get("reason") or "")
        return connectors.LineCancellationNotice(
            external_id=external_id,
            reason=reason,
            key=str(payload["key"]),
            lines=_units(payload.get("lines")),
        )
    kept = payload.get("baseline")
    baseline = tuple(str(b) for b in kept) if isinstance(kept, list) else None
    before = _decimal(payload.get("before"))
    # (a refund queued before refunds kept their units has `before` only: the connector takes it as one stretch)
    earlier = tuple(
        connectors.EarlierRefund(_decimal(e.get("amount")), _units(e.get("lines")))
        for e in (payload.get("earlier") or [])
        if isinstance(e, dict)
    )
    return connectors.RefundNotice(external_id=external_id, amount=_decimal(payload.get("amount")),
                                   currency=str(payload["currency"]), reason=str(payload.get("reason") or ""),
                                   key=str(payload["key"]), baseline=baseline, before=before,
                                   lines=_units(payload.get("lines")), earlier=earlier)  # fmt: skip


def _decimal(raw: Any) -> Decimal:
    try:
        value = Decimal(str(raw or "0"))
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() else Decimal(0)


def _units(raw: Any) -> tuple[connectors.LineUnits, ...]:
    return tuple(
        connectors.LineUnits(int(p["line"]), str(p.get("line_id") or ""), int(p["quantity"]))
        for p in (raw if isinstance(raw, list) else [])
    )


def _not_taken(kind: str, connector_kind: str, external_id: str) -> str:
    if kind == LINES:
        return (
            f"{connector_kind} does not take a cancellation of some lines from Ordersmith: take the cancelled "
            f"units off order {external_id} on the channel's own site (or refund them there)"
        )
    what = "cancel" if kind == "cancel" else "refund"
    return (
        f"{connector_kind} does not take a {'cancellation' if kind == 'cancel' else 'refund'} from Ordersmith: "
        f"{what} order {external_id} on the channel's own site"
    )


NO_LINE_IDS = (
    "the channel's ids of these lines are not known (the order was imported before they were kept): take the "
    "cancelled units off the order on the channel's own site"
)


def _takes(adapter: Any, kind: str) -> bool:
    if kind == "cancel":
        return bool(adapter.pushes_cancellations)
    if kind == LINES:
        return bool(getattr(adapter, "pushes_line_cancellations", False))
    return bool(adapter.pushes_refunds)


def push_order_change(uow: UnitOfWork, payload: dict[str, Any]) -> str:
    """Send one cancellation or refund; returns `sent`, `later` (retry queued), `dead` or `skipped` (another job
    holds it, or it went out already)."""
    assert not uow.active, "the channel is called with no transaction open"
    connector_id = uuid.UUID(str(payload["connector_id"]))
    claimed = _claim(uow, payload=payload)
    if claimed == "uncertain":
        _dead(uow, payload=dict(payload), error=UNCERTAIN)
        return "dead"
    if claimed != "taken":
        return "skipped"  # another job holds it (this one comes back when that claim lapses), or it is done
    loaded, access = _access(uow, connector_id=connector_id)
    notice = _notice(payload)
    adapter = connectors.order_changes(loaded.row.kind)
    if adapter is None or not _takes(adapter, payload["kind"]):
        _dead(
            uow, payload=dict(payload), error=_not_taken(payload["kind"], loaded.row.kind, notice.external_id)
        )
        return "dead"
    if isinstance(notice, connectors.RefundNotice) and (notice.amount <= 0 or not notice.currency):
        _dead(uow, payload=dict(payload), error="a refund with no amount or currency: nothing sent")
        return "dead"
    if isinstance(notice, connectors.LineCancellationNotice) and not all(x.line_id for x in notice.lines):
        _dead(uow, payload=dict(payload), error=NO_LINE_IDS)
        return "dead"
    attempt = int(payload.get("attempt", 0))
    try:
        if isinstance(adapter, connectors.PushesOrderChangesByFeed):
            return _by_feed(uow, adapter, access, notice, payload)
        if isinstance(notice, connectors.LineCancellationNotice):
            assert isinstance(adapter, connectors.PushesLineCancellations)
            report = adapter.push_line_cancellation(access, notice)
        elif isinstance(notice, connectors.CancellationNotice):
            report = adapter.push_cancellation(access, notice)
        elif notice.baseline is None and isinstance(adapter, connectors.RefundsByBaseline):
            # First read what the channel holds, and keep it with the job before refunding (a job of its own,
            # due at once): a retry after a lost answer then knows which refund is ours.
            baseline = adapter.refund_baseline(access, notice)
            _later(uow, payload=dict(payload, baseline=list(baseline)), delay_s=0, error=None)
            return "later"
        else:
            report = adapter.push_refund(access, notice)
    except connectors.RateLimited as exc:
        _later(uow, payload=dict(payload), delay_s=exc.retry_after_s, error=None)
        return "later"
    except connectors.CallFailed as exc:
        return _failed(uow, payload, attempt, str(exc), permanent=exc.permanent)
    except Exception as exc:  # a defect in an adapter: retried, then dead-lettered, never left claimed
        log.exception("pushing %s of order %s failed", payload.get("kind"), payload.get("external_id"))
        return _failed(uow, payload, attempt, f"{type(exc).__name__}: {exc}", permanent=False)
    _sent(uow, payload=payload, report=report)
    return "sent"


def _failed(uow: UnitOfWork, payload: dict[str, Any], attempt: int, error: str, *, permanent: bool) -> str:
    delay = rules.retry_delay_s(attempt + 1, permanent=permanent)
    if delay is None:
        _dead(uow, payload=dict(payload, attempt=attempt + 1), error=error)
        return "dead"
    _later(uow, payload=dict(payload, attempt=attempt + 1), delay_s=delay, error=error)
    return "later"


def _by_feed(
    uow: UnitOfWork,
    adapter: connectors.PushesOrderChangesByFeed,
    access: connectors.Access,
    notice: Notice,
    payload: dict[str, Any],
) -> str:
    """One step of a change the channel takes as a feed: prepare and submit it (marked `submitting` in between,
    so a worker dying in the submission leaves it for a person), or read how the channel processed it. The step
    reached is kept with the next job (`feed`)."""
    handle = payload.get("feed")
    if isinstance(handle, dict) and handle.get("feed_id"):
        step = adapter.change_outcome(access, connectors.FeedStep(dict(handle), connectors.CallReport()))
    else:
        step = adapter.prepare_change(access, notice)
        if not step.done:
            _submitting(uow, payload=payload)
            try:
                step = adapter.submit_change(access, step)
            except connectors.CallFailed:
                raise
            except Exception as exc:  # a defect mid-submission: it may have gone out
                raise connectors.AnswerLost(f"{UNCERTAIN} ({type(exc).__name__}: {exc})") from exc
    if step.done:
        _sent(uow, payload=payload, report=step.report)
        return "sent"
    _later(uow, payload=dict(payload, feed=step.handle), delay_s=step.wait_s, error=None, report=step.report)
    return "later"


def _key_of(payload: dict[str, Any]) -> tuple[uuid.UUID, str, str]:
    return (
        uuid.UUID(str(payload["connector_id"])),
        str(payload["external_id"]),
        str(payload.get("key") or CANCEL_KEY),
    )


@use_case
def _claim(uow: UnitOfWork, *, payload: dict[str, Any]) -> str:
    """Take the push for this job: queued, or held by a job whose claim has lapsed (its process died) — `taken`;
    `uncertain` when that job died submitting a feed (it may have reached the channel); `held` while another job
    holds it (this job comes back when that claim lapses: a holder that dies is never left holding it); `done`
    when it went out or was dead-lettered."""
    connector_id, external_id, key = _key_of(payload)
    now = uow.now()
    row = uow.session.get(OrderPushRow, (connector_id, external_id, key), with_for_update=True)
    if row is None or row.status in ("sent", "dead"):
        return "done"
    claimed_until = row.claimed_until
    if claimed_until is not None and claimed_until.tzinfo is None:
        claimed_until = claimed_until.replace(tzinfo=UTC)
    if row.status != "queued" and claimed_until is not None and claimed_until >= now:
        jobs.enqueue(uow, JOB, payload, run_at=claimed_until + timedelta(seconds=1))
        return "held"
    was = row.status
    row.status, row.claimed_until, row.updated_at = "sending", now + CLAIM, now
    return "uncertain" if was == "submitting" else "taken"


@use_case
def _submitting(uow: UnitOfWork, *, payload: dict[str, Any]) -> None:
    """Mark the push as being submitted, just before the call that must not be made twice."""
    connector_id, external_id, key = _key_of(payload)
    row = uow.session.get(OrderPushRow, (connector_id, external_id, key), with_for_update=True)
    if row is not None:
        now = uow.now()
        row.status, row.claimed_until, row.updated_at = "submitting", now + CLAIM, now


def _settle_push(uow: UnitOfWork, payload: dict[str, Any], status: str) -> None:
    connector_id, external_id, key = _key_of(payload)
    row = uow.session.get(OrderPushRow, (connector_id, external_id, key), with_for_update=True)
    if row is not None:
        row.status, row.claimed_until, row.updated_at = status, None, uow.now()


@use_case
def _sent(uow: UnitOfWork, *, payload: dict[str, Any], report: connectors.CallReport) -> None:
    row = load(uow, connector_id=uuid.UUID(str(payload["connector_id"])), lock=True).row
    row.last_success_at = uow.now()
    if report.rate_limit:
        row.rate_limit = report.rate_limit
    _settle_push(uow, payload, "sent")


@use_case
def _later(
    uow: UnitOfWork,
    *,
    payload: dict[str, Any],
    delay_s: float,
    error: str | None,
    report: connectors.CallReport | None = None,
) -> None:
    row = load(uow, connector_id=uuid.UUID(str(payload["connector_id"])), lock=True).row
    if error is not None:
        row.last_failure_at, row.last_error = uow.now(), error[:2000]
    if report is not None and report.rate_limit:
        row.rate_limit = report.rate_limit
    _settle_push(uow, payload, "queued")
    jobs.enqueue(uow, JOB, payload, run_at=uow.now() + timedelta(seconds=delay_s))


@use_case
def _dead(uow: UnitOfWork, *, payload: dict[str, Any], error: str) -> None:
    loaded = load(uow, connector_id=uuid.UUID(str(payload["connector_id"])), lock=True)
    _settle_push(uow, payload, "dead")
    dead_letter(
        uow,
        loaded,
        operation=OPERATION,
        reference=str(payload["external_id"]),
        payload=payload,
        error=error,
        attempts=int(payload.get("attempt", 0)),
    )


def requeue(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    """A dead-lettered cancellation or refund sent again, as a fresh job with its retries (a refund keeps its key:
    one already made on the channel is found there, not made twice)."""
    connector_id, external_id, key = _key_of(payload)
    row = uow.session.get(OrderPushRow, (connector_id, external_id, key), with_for_update=True)
    now = uow.now()
    if row is None:
        uow.session.add(OrderPushRow(connector_id=connector_id, external_id=external_id, push_key=key,
                                     kind=str(payload["kind"]), status="queued", claimed_until=None,
                                     created_at=now, updated_at=now))  # fmt: skip
    elif row.status not in ("sending", "submitting"):
        row.status, row.claimed_until, row.updated_at = "queued", None, now
    # A feed's step is not kept: a replayed change is a fresh submission (the last one failed, or may not exist).
    jobs.enqueue(uow, JOB, {k: v for k, v in payload.items() if k != "feed"} | {"attempt": 0})


def _job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    push_order_change(uow, payload)
