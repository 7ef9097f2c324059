"""An order's ship-to addresses kept in its buyer's address book — by the outbox relay after the order commits, so
the request that places the order pays nothing for it."""

from __future__ import annotations

import uuid

from ordersmith.customers import service as customers
from ordersmith.kernel.events import Event
from ordersmith.orders.tables import OrderRow
from ordersmith.platform.db import UnitOfWork


def remember_ship_tos(uow: UnitOfWork, event: Event) -> None:
    """Subscriber of `order.placed` for orders with a buyer: the addresses a shipped order goes to become ship-to
    addresses on the customer's record when they are new there (a store sale or pickup has none to keep)."""
    order = uow.session.get(OrderRow, uuid.UUID(event.payload["order_id"]))
    if order is None or order.customer_id is None or order.fulfillment != "ship":
        return
    addresses = [
        customers.Address(
            kind="ship_to",
            name=s.get("name") or "",
            line1=s["line1"],
            line2=s.get("line2") or "",
            city=s["city"],
            region=s.get("region") or "",
            postal_code=s.get("postal_code") or "",
            country=s["country"],
        )
        for s in order.ship_tos
        if s.get("line1") and s.get("city") and s.get("country")
    ]
    if addresses:
        customers.remember_ship_tos(uow, customer_id=order.customer_id, addresses=addresses)
