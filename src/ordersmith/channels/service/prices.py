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
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.channels import connectors, rules
from ordersmith.channels.service import pushing
from ordersmith.channels.service._common import Loaded, load
from ordersmith.channels.service.pushing import DEFAULT_WINDOW_S
from ordersmith.channels.tables import ConnectorRow, PendingPriceRow, SkuMapRow
from ordersmith.kernel.events import Event
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork

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


def _send(
    adapter: connectors.PushesPrices, access: connectors.Access, updates: list[connectors.PriceUpdate]
) -> connectors.CallReport:
    """The updates in the connector's price batches; what it refused one by one is gathered from every batch."""
    report = connectors.CallReport()
    for part in rules.batches(updates, adapter.price_batch_size):
        sent = adapter.push_prices(access, part)
        report.calls += sent.calls
        report.rate_limit = sent.rate_limit or report.rate_limit
        report.refused.update(sent.refused)
    return report


def _update(m: SkuMapRow, price: Money) -> connectors.PriceUpdate:
    return connectors.PriceUpdate(m.channel_sku, m.listing_id, str(price.amount), price.currency)


PRICE_FLOW: pushing.Flow[Money, connectors.PriceUpdate] = pushing.Flow(
    job=PRICE_JOB,
    operation="push_prices",
    noun="price(s)",
    table=PendingPriceRow,
    due="price_push_due_at",
    window_s=_window,
    adapter=_adapter,
    batch_size=lambda adapter: int(adapter.price_batch_size),
    value=lambda row: Money.from_minor(row.price_minor, row.currency),
    update=_update,
    send=_send,
    listing=lambda update: update.listing_id,
    letter=lambda sku, price: {"sku": sku, "price": str(price.amount), "currency": price.currency},
)


def _schedule(uow: UnitOfWork, row: ConnectorRow, *, at: datetime) -> None:
    """Queue the connector's price push for `at` unless one is queued (the caller holds the connector's lock)."""
    pushing.schedule(uow, PRICE_FLOW, row, at=at)


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


def push_prices(uow: UnitOfWork, *, connector_id: uuid.UUID, attempt: int = 0) -> int:
    """Send the connector's pending prices (one run: a few batches). Returns how many prices the channel took."""
    return pushing.push(uow, PRICE_FLOW, connector_id=connector_id, attempt=attempt)


_price_job = pushing.job(PRICE_FLOW)
