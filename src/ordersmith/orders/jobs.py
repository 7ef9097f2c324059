"""Orders' background work: releasing backorders as stock arrives (on `stock.changed`, through the outbox relay)
and, as a safety net, a sweep every few minutes; releasing pending orders whose channel's edit window ended
(every minute); moving a merged customer's orders to the survivor; keeping a shipped order's addresses in its buyer's
address book."""

from __future__ import annotations

from typing import Any

from ordersmith.customers import service as customers
from ordersmith.orders import service
from ordersmith.platform import jobs, outbox
from ordersmith.platform.db import UnitOfWork


def _sweep(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    service.release_all_backorders(uow)


def _release_due(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    service.release_due_orders(uow)


def register() -> None:
    """Idempotent: safe to call once per app or worker start."""
    outbox.unsubscribe(service.on_stock_changed)
    outbox.unsubscribe(service.on_customer_merged)
    outbox.unsubscribe(service.remember_ship_tos)
    outbox.subscribe("order.placed", service.remember_ship_tos, when=customers.has_buyer)
    outbox.subscribe("customer.merged", service.on_customer_merged)
    outbox.subscribe("stock.changed", service.on_stock_changed, when=service.may_release_backorders)
    jobs.register("orders.release_backorders", _sweep)
    jobs.schedule("release-backorders", kind="orders.release_backorders", every_s=300)
    # Orders waiting out their channel's edit window are released within a minute of its end.
    jobs.register("orders.release_due", _release_due)
    jobs.schedule("release-due-orders", kind="orders.release_due", every_s=60)
