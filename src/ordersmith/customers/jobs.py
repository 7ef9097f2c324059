"""Customers' background work: a buyer joins the sales channel each order comes from (on `order.placed`, through
the outbox relay), so that channel's key may see it."""

from __future__ import annotations

from ordersmith.customers import service
from ordersmith.platform import outbox


def register() -> None:
    """Idempotent: safe to call once per app or worker start."""
    outbox.unsubscribe(service.on_order_placed)
    outbox.subscribe("order.placed", service.on_order_placed, when=service.has_buyer)
