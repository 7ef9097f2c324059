"""The events an order's placement records and sends, in the transaction that writes it: `order.placed` (each line
with its units nothing holds, so fulfillment's drop-ship routing can skip stocked orders without a read),
`order.held` or `order.released`, `order.shipped` for a sale carried out of the store, `order.allocated`,
`order.backordered` — one INSERT of the order's own history for all of them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import rules
from ordersmith.orders.service._common import shipped_from
from ordersmith.orders.tables import OrderEventRow, OrderLineRow, OrderRow
from ordersmith.platform.db import UnitOfWork

_EVENTS: sa.Table = OrderEventRow.__table__  # type: ignore[assignment]


def placed_events(
    uow: UnitOfWork,
    order: OrderRow,
    lines: list[OrderLineRow],
    found: list[rules.Hold],
    backordered: dict[int, int],
) -> None:
    base = {"order_id": str(order.id), "number": order.number, "channel": order.channel}
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "order.placed",
            {
                "status": order.status,
                "total": str(Money.from_minor(order.total_minor, order.currency)),
                "currency": order.currency,
                "customer_id": str(order.customer_id) if order.customer_id else None,
                "source_code": order.source_code,
                "external_id": order.external_id,
                "lines": [
                    {
                        "line": line.line_no,
                        "sku": line.sku,
                        "quantity": line.quantity,
                        # units neither held, backordered nor shipped: an unstocked (drop-ship) item's
                        "unallocated": max(
                            line.quantity - line.reserved - line.backordered - line.shipped, 0
                        ),
                        "source_code": line.source_code or order.source_code,  # its own, else the order's
                    }
                    for line in lines
                ],
            },
        ),
    ]
    if found:
        events.append(("order.held", {"reasons": [h.reason for h in found]}))
    elif order.status == "released":
        events.append(("order.released", {"from": "pending", "to": "released", "at_placement": True}))
    if order.fulfillment == "taken":
        events.append(
            (
                "order.shipped",
                {
                    "from": "released",
                    "to": "shipped",
                    "taken": True,
                    "store": order.store,
                    "lines": {line.line_no: line.shipped for line in lines if line.shipped},
                    "shipped_before": {},  # nothing shipped before it: the ledger's share per shipment
                    # where the units left from: the store's till, costed at its average (ADR 0041)
                    "locations": shipped_from({line.line_no: line.allocations for line in lines}, None),
                },
            )
        )
    if any(line.reserved for line in lines):
        events.append(
            (
                "order.allocated",
                {
                    "explanation": order.allocation,
                    "lines": [
                        {"line": line.line_no, "locations": line.allocations}
                        for line in lines
                        if line.reserved
                    ],
                },
            )
        )
    if backordered:
        events.append(
            ("order.backordered", {"lines": [{"line": n, "quantity": q} for n, q in backordered.items()]})
        )
    now = uow.now()
    uow.insert_at_commit(
        _EVENTS,
        [
            {
                "order_id": order.id,
                "id": new_id(),
                "kind": kind,
                "detail": detail,
                "actor": uow.actor.label,
                "at": now,
            }
            for kind, detail in events
        ],
    )
    for kind, detail in events:
        uow.emit(kind, {**base, **detail})
