"""Out to the channels: available-to-sell quantities and shipment confirmations.

Stock: every `stock.changed` event records the item's new available-to-sell figure (our available units for the
channel's division less the channel's buffer) as one pending row per connector and item — a burst of changes to
one item collapses into one figure — and makes sure one push job is queued for the connector, no sooner than its
window (`stock_window_s`) after the last. The job sends the pending figures in the channel's batch size, so the
number of calls follows the window and the batch size, not the number of changes.

Invariants: no call to a channel inside a transaction; a figure changed while its push was on the wire stays
pending and goes in the next push; a connector's row is locked while its push is scheduled, so exactly one push
job is queued per connector at any time.

Shipment confirmations: one job per shipped order of a connected channel; throttled, it waits as asked; failing
(the channel's error, or a defect in its adapter), it is retried with back-off and then dead-lettered on the
connector's health (operation `push_shipment`, replayable) — never left as a failed job only the worker's log
knows of.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.channels import connectors, rules
from ordersmith.channels.service import pushing
from ordersmith.channels.service._common import Loaded, access_for, dead_letter, load
from ordersmith.channels.tables import ChannelOrderRow, ConnectorRow, PendingStockRow, SkuMapRow
from ordersmith.fulfillment import service as fulfillment
from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.events import Event
from ordersmith.platform import jobs
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.tables import SalesChannelRow

log = logging.getLogger(__name__)

STOCK_JOB = "channels.push_stock"
SHIPMENT_JOB = "channels.push_shipment"
DEFAULT_WINDOW_S = pushing.DEFAULT_WINDOW_S
CALLS_PER_RUN = pushing.CALLS_PER_RUN
_PUSHING = tuple(k for k in rules.CONNECTOR_KINDS if connectors.for_kind(k).pushes_stock)


def _pushing() -> tuple[str, ...]:
    """The kinds that take stock: the built-in ones, and plugins' connectors that say they do (read each time: a
    tuple of a handful of kinds, after the plugins loaded at start-up)."""
    extra = tuple(k for k in connectors.kinds() if k not in _PUSHING and k not in rules.CONNECTOR_KINDS
                  and connectors.for_kind(k).pushes_stock)  # fmt: skip
    return _PUSHING + extra


def _upsert(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    insert = (
        postgresql_insert(PendingStockRow) if uow.dialect == "postgresql" else sqlite_insert(PendingStockRow)
    )
    statement = insert.on_conflict_do_update(
        index_elements=["connector_id", "item_sku"],
        set_={"available": insert.excluded.available, "changed_at": insert.excluded.changed_at},
    )
    uow.session.execute(statement, rows)


def _window_s(row: ConnectorRow) -> int:
    return int(row.config.get("stock_window_s", DEFAULT_WINDOW_S))


def _stock_adapter(kind: str) -> connectors.Connector | None:
    adapter = connectors.for_kind(kind)
    return adapter if adapter.pushes_stock else None


STOCK_FLOW: pushing.Flow[int, connectors.StockUpdate] = pushing.Flow(
    job=STOCK_JOB,
    operation="push_stock",
    noun="item(s)",
    table=PendingStockRow,
    due="stock_push_due_at",
    window_s=_window_s,
    adapter=_stock_adapter,
    batch_size=lambda adapter: int(adapter.stock_batch_size),
    value=lambda row: int(row.available),
    update=lambda m, available: connectors.StockUpdate(m.channel_sku, m.listing_id, available),
    send=lambda adapter, access, updates: adapter.push_stock(access, updates),
    listing=lambda update: update.listing_id,
    letter=lambda sku, available: {"sku": sku, "available": available},
)


def _schedule(uow: UnitOfWork, row: ConnectorRow, *, at: datetime) -> None:
    pushing.schedule(uow, STOCK_FLOW, row, at=at)


def on_stock_changed(uow: UnitOfWork, events: list[Event]) -> None:
    """Record the new available-to-sell figures for every connector that takes stock, and schedule its push."""
    latest: dict[str, dict[str, int]] = {}
    for event in events:
        sku, available = event.payload.get("sku"), event.payload.get("available")
        if isinstance(sku, str) and isinstance(available, dict):
            latest[sku] = available  # in outbox order: the last figure wins
    kinds = _pushing()
    if not latest or not kinds:
        return
    targets = uow.session.execute(
        sa.select(ConnectorRow, SalesChannelRow.division)
        .join(SalesChannelRow, SalesChannelRow.id == ConnectorRow.sales_channel_id)
        .where(ConnectorRow.active.is_(True), ConnectorRow.kind.in_(kinds))
        .order_by(ConnectorRow.id)
        .with_for_update(of=ConnectorRow)
    ).all()
    now = uow.now()
    for row, division in targets:
        listed = set(
            uow.session.scalars(
                sa.select(SkuMapRow.item_sku).where(
                    SkuMapRow.connector_id == row.id,
                    SkuMapRow.item_sku.in_(list(latest)),
                    SkuMapRow.listing_id != "",
                )
            )
        )
        if not listed:
            continue
        buffer = int(row.config.get("stock_buffer", 0))
        _upsert(
            uow,
            [
                {
                    "connector_id": row.id,
                    "item_sku": sku,
                    "changed_at": now,
                    "available": rules.available_to_sell(int(latest[sku].get(division, 0)), buffer=buffer),
                }
                for sku in sorted(listed)
            ],
        )
        _schedule(uow, row, at=now + timedelta(seconds=_window_s(row)))


def requeue_stock(uow: UnitOfWork, loaded: Loaded, *, updates: list[dict[str, Any]]) -> None:
    """Put dead-lettered figures back as pending (a newer figure already pending wins) and schedule a push."""
    now = uow.now()
    row = load(uow, connector_id=loaded.row.id, lock=True).row
    for update in updates:
        exists = uow.session.get(PendingStockRow, (row.id, str(update["sku"])))
        if exists is None:
            uow.session.add(
                PendingStockRow(
                    connector_id=row.id,
                    item_sku=str(update["sku"]),
                    available=int(update["available"]),
                    changed_at=now,
                )
            )
    _schedule(uow, row, at=now)


def push_stock(uow: UnitOfWork, *, connector_id: uuid.UUID, attempt: int = 0) -> int:
    """Send the connector's pending available-to-sell figures (one run: a few batches). Returns how many figures
    went out. A throttled channel is waited for as it asked; a failure is retried with back-off, then the
    figures are dead-lettered."""
    return pushing.push(uow, STOCK_FLOW, connector_id=connector_id, attempt=attempt)


_stock_job = pushing.job(STOCK_FLOW)


# --- shipment confirmations -----------------------------------------------------------------------------------


def on_order_shipped(uow: UnitOfWork, event: Event) -> None:
    """An order from a connected channel shipped: queue the confirmation (carrier and tracking) to the channel."""
    order_id = event.payload.get("order_id")
    if not isinstance(order_id, str):
        return
    found = uow.session.execute(
        sa.select(ChannelOrderRow.connector_id, ChannelOrderRow.external_id, ConnectorRow.kind)
        .join(ConnectorRow, ConnectorRow.id == ChannelOrderRow.connector_id)
        .where(ChannelOrderRow.order_id == uuid.UUID(order_id), ConnectorRow.active.is_(True))
    ).first()
    if found is None or not connectors.for_kind(found.kind).pushes_shipments:
        return
    jobs.enqueue(
        uow,
        SHIPMENT_JOB,
        {
            "connector_id": str(found.connector_id),
            "external_id": found.external_id,
            "tracking": str(event.payload.get("tracking") or ""),
            "shipment": str(event.payload.get("shipment") or ""),
            "shipped_at": event.occurred_at.isoformat(),
            "attempt": 0,
        },
    )


def _has_channel(event: Event) -> bool:
    return event.channel is not None


@use_case(readonly=True)
def _shipment_access(
    uow: UnitOfWork, *, connector_id: uuid.UUID, shipment: str
) -> tuple[Loaded, connectors.Access, str]:
    """The connector, its access, and the carrier of the shipment (when fulfillment shipped it: the order's own
    `order.shipped` event names the tracking number only)."""
    loaded = load(uow, connector_id=connector_id)
    carrier = ""
    if shipment:
        try:
            carrier = fulfillment.get_shipment(uow, ref=shipment).carrier
        except NotFound:
            carrier = ""
    return loaded, access_for(uow, loaded.row), carrier


def push_shipment(uow: UnitOfWork, payload: dict[str, Any]) -> str:
    """Send one shipment confirmation; returns `sent`, `later` (retry queued) or `dead`."""
    assert not uow.active, "the channel is called with no transaction open"
    connector_id = uuid.UUID(str(payload["connector_id"]))
    loaded, access, carrier = _shipment_access(
        uow, connector_id=connector_id, shipment=str(payload.get("shipment") or "")
    )
    notice = connectors.ShipmentNotice(
        external_id=str(payload["external_id"]),
        carrier=carrier,
        tracking_number=str(payload.get("tracking") or ""),
        shipped_at=datetime.fromisoformat(str(payload["shipped_at"]))
        if payload.get("shipped_at")
        else uow.now(),
    )
    attempt = int(payload.get("attempt", 0))
    try:
        report = connectors.for_kind(loaded.row.kind).push_shipment(access, notice)
    except connectors.RateLimited as exc:
        _shipment_later(uow, payload=dict(payload), delay_s=exc.retry_after_s, error=None)
        return "later"
    except connectors.CallFailed as exc:
        return _shipment_failed(uow, payload, attempt, str(exc), permanent=exc.permanent)
    except Exception as exc:  # a defect in an adapter: retried with back-off, then on the connector's health
        log.exception("pushing shipment of order %s failed", payload.get("external_id"))
        return _shipment_failed(uow, payload, attempt, f"{type(exc).__name__}: {exc}", permanent=False)
    _shipment_sent(uow, connector_id=connector_id, report=report)
    return "sent"


def _shipment_failed(
    uow: UnitOfWork, payload: dict[str, Any], attempt: int, error: str, *, permanent: bool
) -> str:
    delay = rules.retry_delay_s(attempt + 1, permanent=permanent)
    if delay is None:
        _shipment_dead(uow, payload=dict(payload, attempt=attempt + 1), error=error)
        return "dead"
    _shipment_later(uow, payload=dict(payload, attempt=attempt + 1), delay_s=delay, error=error)
    return "later"


@use_case
def _shipment_sent(uow: UnitOfWork, *, connector_id: uuid.UUID, report: connectors.CallReport) -> None:
    row = load(uow, connector_id=connector_id, lock=True).row
    row.last_success_at = uow.now()
    if report.rate_limit:
        row.rate_limit = report.rate_limit


@use_case
def _shipment_later(uow: UnitOfWork, *, payload: dict[str, Any], delay_s: float, error: str | None) -> None:
    row = load(uow, connector_id=uuid.UUID(str(payload["connector_id"])), lock=True).row
    if error is not None:
        row.last_failure_at, row.last_error = uow.now(), error[:2000]
    jobs.enqueue(uow, SHIPMENT_JOB, payload, run_at=uow.now() + timedelta(seconds=delay_s))


@use_case
def _shipment_dead(uow: UnitOfWork, *, payload: dict[str, Any], error: str) -> None:
    loaded = load(uow, connector_id=uuid.UUID(str(payload["connector_id"])), lock=True)
    dead_letter(
        uow,
        loaded,
        operation="push_shipment",
        reference=str(payload["external_id"]),
        payload=payload,
        error=error,
        attempts=int(payload.get("attempt", 0)),
    )


def _shipment_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    push_shipment(uow, payload)
