"""Captures and refunds that no processor settlement has matched: each card capture or refund through a processor
is watched from the moment payments records it (`payment.captured` / `payment.refunded` naming a transaction and a
gateway) until an imported settlement matches it; one still unmatched `unsettled_after_days` after it happened is
listed, and the daily job flags it once (`settlement.overdue`), so a person asks the processor why.

Invariant: nothing here reads the payment history. The list reads the watch rows no settlement matched
(`ix_finance_settlement_watch_unsettled`, partial on `settled_at IS NULL`); the job only those it has not flagged
yet (`ix_finance_settlement_watch_unflagged`), oldest first, in batches.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.finance.dispute_tables import SettlementWatchRow
from ordersmith.finance.service._common import insert_ignoring_duplicates
from ordersmith.finance.tables import SettlementLineRow, SettlementRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.events import Event
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page
from ordersmith.platform import jobs, outbox
from ordersmith.platform.db import Database, UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page

_WATCH = cast(sa.Table, SettlementWatchRow.__table__)
_LINES = cast(sa.Table, SettlementLineRow.__table__)
_SETTLEMENTS = cast(sa.Table, SettlementRow.__table__)
JOB = "finance.flag_unsettled"
SCHEDULE = "flag-unsettled-captures"
DEFAULT_DAYS = 5
_DAYS = "finance.unsettled_after_days"
BATCH = 500
SETTLING = ("matched", "amount_differs")  # a settlement line that named the transaction


@dataclass(frozen=True)
class UnsettledTransaction:
    transaction_id: uuid.UUID
    kind: str  # capture | refund
    order_id: uuid.UUID
    payment_id: uuid.UUID
    processor: str
    reference: str
    amount: Money
    at: datetime
    days: int  # whole days since it happened, as of the list's day
    flagged_on: date | None


def configure(db: Database, days: int) -> None:
    """The days after which an unmatched capture or refund counts as unsettled (`ORDERSMITH_UNSETTLED_AFTER_DAYS`)."""
    db.caches[_DAYS] = days


def after_days(uow: UnitOfWork) -> int:
    return int(uow.db.caches.get(_DAYS, DEFAULT_DAYS))


def on_money_moved(uow: UnitOfWork, event: Event) -> None:
    """Watch a capture or refund through a processor until a settlement matches it (one row per transaction;
    already matched — the settlement came first — it is watched as settled)."""
    p = event.payload
    if not p.get("transaction_id") or not p.get("gateway"):
        return
    transaction_id = uuid.UUID(str(p["transaction_id"]))
    currency = str(p["currency"])
    minor = Money(Decimal(str(p["amount"])), currency).minor
    if minor <= 0:
        return
    settled = uow.execute_core(
        sa.select(_SETTLEMENTS.c.number)
        .join(_LINES, _LINES.c.settlement_id == _SETTLEMENTS.c.id)
        .where(_LINES.c.transaction_id == transaction_id, _LINES.c.status.in_(SETTLING))
        .limit(1)
    ).scalar()
    reference = str(p.get("transaction_reference") or p.get("gateway_reference") or "")[:100]
    insert = insert_ignoring_duplicates(uow, _WATCH).values(
        transaction_id=transaction_id, kind="refund" if event.type == "payment.refunded" else "capture",
        order_id=uuid.UUID(str(p["order_id"])), payment_id=uuid.UUID(str(p["payment_id"])),
        processor=str(p["gateway"])[:20], reference=reference, currency=currency, amount_minor=minor,
        at=event.occurred_at, settled_at=uow.now() if settled else None, settlement=settled, flagged_on=None,
    )  # fmt: skip
    uow.execute_core(insert.on_conflict_do_nothing(index_elements=["transaction_id"]))


def mark_settled(uow: UnitOfWork, *, transaction_ids: Iterable[uuid.UUID], settlement: str) -> int:
    """The transactions a settlement's lines matched are settled (by their keys, in chunks). Returns how many."""
    ids = sorted(set(transaction_ids))
    done = 0
    for at in range(0, len(ids), BATCH):
        result = uow.execute_core(
            _WATCH.update()
            .where(_WATCH.c.transaction_id.in_(ids[at : at + BATCH]), _WATCH.c.settled_at.is_(None))
            .values(settled_at=uow.now(), settlement=settlement)
        )
        done += result.rowcount
    return done


def _cutoff(uow: UnitOfWork, days: int | None, today: date | None) -> tuple[date, datetime]:
    wanted = after_days(uow) if days is None else days
    if not 0 <= wanted <= 3650:
        raise ValidationFailed.on("older_than_days", "0 to 3650 days")
    day = today or uow.now().date()
    start = datetime.combine(day - timedelta(days=wanted), datetime.min.time(), tzinfo=uow.now().tzinfo)
    return day, start + timedelta(days=1) if wanted == 0 else start


@use_case(readonly=True)
def list_unsettled(
    uow: UnitOfWork,
    *,
    older_than_days: int | None = None,
    processor: str | None = None,
    today: date | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[UnsettledTransaction]:
    """Captures and refunds no settlement has matched that happened before the day `older_than_days` (default:
    the `unsettled_after_days` setting) before `today`, oldest first, with their processor and reference.

    Raises:
        ValidationFailed: days out of range, a bad limit or cursor.
    """
    day, before = _cutoff(uow, older_than_days, today)
    row = SettlementWatchRow
    query = sa.select(row).where(row.settled_at.is_(None), row.at < before)
    if processor:
        query = query.where(row.processor == processor)

    def item(r: Any) -> UnsettledTransaction:
        return UnsettledTransaction(
            r.transaction_id, r.kind, r.order_id, r.payment_id, r.processor, r.reference,
            Money.from_minor(r.amount_minor, r.currency), r.at, (day - r.at.date()).days, r.flagged_on,
        )  # fmt: skip

    return keyset_page(
        uow, query, keys=[row.at, row.transaction_id], to_item=item, cursor=cursor, limit=limit
    )


@use_case
def flag_unsettled(uow: UnitOfWork, *, today: date | None = None, days: int | None = None) -> int:
    """Flag (once) every capture and refund still unsettled `days` (default: the setting) after it happened,
    emitting `settlement.overdue` for each; reads only the unflagged ones, oldest first. Returns how many."""
    day, before = _cutoff(uow, days, today)
    flagged = 0
    while True:
        rows = uow.execute_core(
            sa.select(_WATCH)
            .where(_WATCH.c.settled_at.is_(None), _WATCH.c.flagged_on.is_(None), _WATCH.c.at < before)
            .order_by(_WATCH.c.at)
            .limit(BATCH)
        ).all()
        if not rows:
            return flagged
        uow.execute_core(
            _WATCH.update()
            .where(
                _WATCH.c.transaction_id.in_([r.transaction_id for r in rows]), _WATCH.c.flagged_on.is_(None)
            )
            .values(flagged_on=day)
        )
        for r in rows:
            uow.emit(
                "settlement.overdue",
                {"transaction_id": str(r.transaction_id), "kind": r.kind, "order_id": str(r.order_id),
                 "payment_id": str(r.payment_id), "processor": r.processor, "reference": r.reference,
                 "amount": str(Money.from_minor(r.amount_minor, r.currency).amount), "currency": r.currency,
                 "at": r.at.isoformat(), "days": (day - r.at.date()).days},
            )  # fmt: skip
        flagged += len(rows)


def _job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    flag_unsettled(uow)


def register() -> None:
    """Watch captures and refunds; the daily flagging job (idempotent)."""
    unregister()
    outbox.subscribe("payment.captured", on_money_moved, when=_through_processor)
    outbox.subscribe("payment.refunded", on_money_moved, when=_through_processor)
    jobs.register(JOB, _job)
    jobs.schedule(SCHEDULE, kind=JOB, every_s=86400)


def _through_processor(event: Event) -> bool:
    return bool(event.payload.get("transaction_id") and event.payload.get("gateway"))


def unregister() -> None:
    outbox.unsubscribe(on_money_moved)
    jobs.unschedule(SCHEDULE)
