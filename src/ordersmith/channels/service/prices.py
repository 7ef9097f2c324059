"""Prices out to the channels that take them (a connector's `pushes_prices`), batched and throttled like stock.

A connector names the price list whose unit prices it sells at (`config.price_list`). Every `price.changed` event
of that list records the item's new price as one pending row per connector and item — a burst of changes to one
item collapses into one price — and makes sure one price push job is queued for the connector, no sooner than its
window (`price_window_s`, default the stock window) after the last. The job sends the pending prices in the
channel's batch size; a throttled channel is waited for as it asked, a failing one retried with back-off, then the
prices are dead-lettered (replay puts them back as pending).

Invariants: no call to a channel inside a transaction; a price changed while its push was on the wire stays
pending and goes in the next push; the connector's row is locked while its push is scheduled, so exactly one
price push job is queued per connector at a time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.channels import connectors, rules
from ordersmith.channels.service._common import Loaded, access_for, load
from ordersmith.channels.service.inbound import dead_letter
from ordersmith.channels.service.outbound import CALLS_PER_RUN, DEFAULT_WINDOW_S
from ordersmith.channels.tables import ConnectorRow, PendingPriceRow, SkuMapRow
from ordersmith.kernel.events import Event
from ordersmith.kernel.money import Money
from ordersmith.platform import jobs
from ordersmith.platform.db import UnitOfWork, use_case

PRICE_JOB = "channels.push_prices"


def _adapter(kind: str) -> connectors.PushesPrices | None:
    adapter = connectors.for_kind(kind)
    if isinstance(adapter, connectors.PushesPrices) and adapter.pushes_prices:
        return adapter
    return None


def _kinds() -> list[str]:
    return [k for k in connectors.kinds() if _adapter(k) is not None]


def _window(row: ConnectorRow) -> int:
    return int(row.config.get("price_window_s", row.config.get("stock_window_s", DEFAULT_WINDOW_S)))


def _schedule(uow: UnitOfWork, row: ConnectorRow, *, at: datetime) -> None:
    """Queue the connector's price push for `at` unless one is queued (the caller holds the connector's lock)."""
    if row.price_push_due_at is None:
        row.price_push_due_at = at
        jobs.enqueue(uow, PRICE_JOB, {"connector_id": str(row.id), "attempt": 0}, run_at=at)


def on_price_changed(uow: UnitOfWork, events: list[Event]) -> None:
    """Record the new unit prices for every connector that sells at the changed list, and schedule its push."""
    latest: dict[str, dict[str, tuple[int, str]]] = {}  # price list -> sku -> (minor, currency)
    for event in events:
        payload = event.payload
        found = (
            payload.get("price_list"),
            payload.get("sku"),
            payload.get("unit_price"),
            payload.get("currency"),
        )
        if all(isinstance(v, str) for v in found):
            price_list, sku, price, currency = (str(v) for v in found)
            latest.setdefault(price_list, {})[sku] = (Money(price, currency).minor, currency)  # the last wins
    kinds = _kinds()
    if not latest or not kinds:
        return
    targets = uow.session.scalars(
        sa.select(ConnectorRow)
        .where(ConnectorRow.active.is_(True), ConnectorRow.kind.in_(kinds))
        .order_by(ConnectorRow.id)
        .with_for_update()
    ).all()
    now = uow.now()
    for row in targets:
        prices = latest.get(str(row.config.get("price_list", "")).upper())
        if not prices:
            continue
        listed = set(
            uow.session.scalars(
                sa.select(SkuMapRow.item_sku).where(
                    SkuMapRow.connector_id == row.id,
                    SkuMapRow.item_sku.in_(list(prices)),
                    SkuMapRow.listing_id != "",
                )
            )
        )
        if not listed:
            continue
        insert = (
            postgresql_insert(PendingPriceRow)
            if uow.dialect == "postgresql"
            else sqlite_insert(PendingPriceRow)
        )
        uow.session.execute(
            insert.on_conflict_do_update(
                index_elements=["connector_id", "item_sku"],
                set_={
                    "price_minor": insert.excluded.price_minor,
                    "currency": insert.excluded.currency,
                    "changed_at": insert.excluded.changed_at,
                },
            ),
            [
                {
                    "connector_id": row.id,
                    "item_sku": sku,
                    "price_minor": prices[sku][0],
                    "currency": prices[sku][1],
                    "changed_at": now,
                }
                for sku in sorted(listed)
            ],
        )
        _schedule(uow, row, at=now + timedelta(seconds=_window(row)))


def requeue_prices(uow: UnitOfWork, loaded: Loaded, *, updates: list[dict[str, Any]]) -> None:
    """Put dead-lettered prices back as pending (a newer price already pending wins) and schedule a push."""
    now = uow.now()
    row = load(uow, connector_id=loaded.row.id, lock=True).row
    for update in updates:
        if uow.session.get(PendingPriceRow, (row.id, str(update["sku"]))) is None:
            price = Money(str(update["price"]), str(update["currency"]))
            uow.session.add(
                PendingPriceRow(
                    connector_id=row.id,
                    item_sku=str(update["sku"]),
                    price_minor=price.minor,
                    currency=price.currency,
                    changed_at=now,
                )
            )
    _schedule(uow, row, at=now)


@dataclass(frozen=True)
class _Batch:
    loaded: Loaded
    access: connectors.Access
    pending: list[tuple[str, Money, datetime]]  # item SKU, price, when it was recorded
    updates: list[connectors.PriceUpdate]


@use_case(readonly=True)
def _batch(uow: UnitOfWork, *, connector_id: uuid.UUID) -> _Batch | None:
    loaded = load(uow, connector_id=connector_id)
    adapter = _adapter(loaded.row.kind)
    if adapter is None:
        return None
    pending = [
        (r.item_sku, Money.from_minor(r.price_minor, r.currency), r.changed_at)
        for r in uow.session.scalars(
            sa.select(PendingPriceRow)
            .where(PendingPriceRow.connector_id == connector_id)
            .order_by(PendingPriceRow.item_sku)
            .limit(adapter.price_batch_size * CALLS_PER_RUN)
        )
    ]
    prices = {sku: price for sku, price, _ in pending}
    maps = uow.session.scalars(
        sa.select(SkuMapRow)
        .where(
            SkuMapRow.connector_id == connector_id,
            SkuMapRow.item_sku.in_(list(prices)),
            SkuMapRow.listing_id != "",
        )
        .order_by(SkuMapRow.item_sku, SkuMapRow.channel_sku)
    )
    updates = [
        connectors.PriceUpdate(
            m.channel_sku, m.listing_id, str(prices[m.item_sku].amount), prices[m.item_sku].currency
        )
        for m in maps
    ]
    return _Batch(loaded, access_for(uow, loaded.row), pending, updates)


def push_prices(uow: UnitOfWork, *, connector_id: uuid.UUID, attempt: int = 0) -> int:
    """Send the connector's pending prices (one run: a few batches). Returns how many prices went out."""
    assert not uow.active, "the channel is called with no transaction open"
    batch = _batch(uow, connector_id=connector_id)
    if batch is None:
        return 0
    adapter = _adapter(batch.loaded.row.kind)
    assert adapter is not None
    report = connectors.CallReport()
    try:
        for part in rules.batches(batch.updates, adapter.price_batch_size):
            sent = adapter.push_prices(batch.access, part)
            report.calls += sent.calls
            report.rate_limit = sent.rate_limit or report.rate_limit
    except connectors.RateLimited as exc:
        _later(uow, connector_id=connector_id, delay_s=exc.retry_after_s, attempt=attempt, error=None)
        return 0
    except connectors.CallFailed as exc:
        delay = rules.retry_delay_s(attempt + 1, permanent=exc.permanent)
        if delay is None:
            _dead(uow, connector_id=connector_id, pending=batch.pending, error=str(exc), attempts=attempt + 1)
        else:
            _later(uow, connector_id=connector_id, delay_s=delay, attempt=attempt + 1, error=str(exc))
        return 0
    _done(uow, connector_id=connector_id, pending=batch.pending, report=report)
    return len(batch.updates)


def _clear(uow: UnitOfWork, connector_id: uuid.UUID, pending: list[tuple[str, Money, datetime]]) -> None:
    """Drop the pending prices just handled; one recorded meanwhile (a later `changed_at`) stays for the next."""
    for sku, _, changed_at in pending:
        uow.session.execute(
            sa.delete(PendingPriceRow).where(
                PendingPriceRow.connector_id == connector_id,
                PendingPriceRow.item_sku == sku,
                PendingPriceRow.changed_at <= changed_at,
            )
        )


def _next(uow: UnitOfWork, row: ConnectorRow) -> None:
    row.price_push_due_at = None
    more = uow.session.scalar(
        sa.select(PendingPriceRow.item_sku).where(PendingPriceRow.connector_id == row.id).limit(1)
    )
    if more is not None:
        _schedule(uow, row, at=uow.now() + timedelta(seconds=_window(row)))


@use_case
def _done(
    uow: UnitOfWork,
    *,
    connector_id: uuid.UUID,
    pending: list[tuple[str, Money, datetime]],
    report: connectors.CallReport,
) -> None:
    row = load(uow, connector_id=connector_id, lock=True).row
    _clear(uow, connector_id, pending)
    row.last_success_at = uow.now()
    if report.rate_limit:
        row.rate_limit = report.rate_limit
    _next(uow, row)


@use_case
def _later(
    uow: UnitOfWork, *, connector_id: uuid.UUID, delay_s: float, attempt: int, error: str | None
) -> None:
    row = load(uow, connector_id=connector_id, lock=True).row
    at = uow.now() + timedelta(seconds=delay_s)
    row.price_push_due_at = at
    if error is not None:
        row.last_failure_at, row.last_error = uow.now(), error[:2000]
    else:
        row.rate_limit = dict(row.rate_limit or {}, waiting_until=at.isoformat())
    jobs.enqueue(uow, PRICE_JOB, {"connector_id": str(connector_id), "attempt": attempt}, run_at=at)


@use_case
def _dead(
    uow: UnitOfWork,
    *,
    connector_id: uuid.UUID,
    pending: list[tuple[str, Money, datetime]],
    error: str,
    attempts: int,
) -> None:
    loaded = load(uow, connector_id=connector_id, lock=True)
    _clear(uow, connector_id, pending)
    updates = [
        {"sku": sku, "price": str(price.amount), "currency": price.currency} for sku, price, _ in pending
    ]
    dead_letter(
        uow,
        loaded,
        operation="push_prices",
        reference=f"{len(updates)} price(s)",
        payload={"updates": updates},
        error=error,
        attempts=attempts,
    )
    _next(uow, loaded.row)


def _price_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    push_prices(
        uow, connector_id=uuid.UUID(str(payload["connector_id"])), attempt=int(payload.get("attempt", 0))
    )
