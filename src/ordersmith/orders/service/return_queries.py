"""Reading an order's returns: each with its lines, and what a new return may still ask for per line (shipped, less
what returns not cancelled already hold)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from ordersmith.kernel.errors import NotFound
from ordersmith.orders.service._common import lines_of
from ordersmith.orders.service.returns import Return, _open_returned, _return
from ordersmith.orders.tables import OrderRow, ReturnLineRow, ReturnRow
from ordersmith.platform.db import UnitOfWork, use_case


@use_case(readonly=True)
def order_returns(uow: UnitOfWork, *, order_id: uuid.UUID) -> list[Return]:
    """The order's returns, oldest first, each with its lines (for the order page)."""
    order = uow.session.get(OrderRow, order_id)
    if order is None:
        raise NotFound(f"no order {str(order_id)!r}")
    rows = list(uow.session.scalars(
        sa.select(ReturnRow).where(ReturnRow.order_id == order_id).order_by(ReturnRow.authorized_at, ReturnRow.number)
    ))  # fmt: skip
    lines = list(uow.session.scalars(
        sa.select(ReturnLineRow).where(ReturnLineRow.return_id.in_([r.id for r in rows]))
    )) if rows else []  # fmt: skip
    order_lines = lines_of(uow, order_id)
    return [
        _return(row, order, [line for line in lines if line.return_id == row.id], order_lines) for row in rows
    ]


@use_case(readonly=True)
def returnable_units(uow: UnitOfWork, *, order_id: uuid.UUID) -> dict[int, int]:
    """Units per order line that a return may still ask for: shipped, less what returns not cancelled already hold
    (received or not). A personalized (non-returnable) line and a line with nothing left are left out — what
    `authorize_return` would accept."""
    already = _open_returned(uow, order_id)
    left = {line.line_no: line.shipped - already.get(line.line_no, 0)
            for line in lines_of(uow, order_id) if line.returnable}  # fmt: skip
    return {line_no: units for line_no, units in left.items() if units > 0}


def returned_units(uow: UnitOfWork, *, return_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[int, int]]:
    """Units per order line each of these returns gives back the money of: what arrived once received (`received`;
    scrapped units arrived too), what was authorized before; nothing for a cancelled return. Returns not found are
    left out."""
    if not return_ids:
        return {}
    rows = uow.session.execute(
        sa.select(ReturnLineRow.return_id, ReturnLineRow.line_no, ReturnLineRow.quantity, ReturnLineRow.received,
                  ReturnRow.status)
        .join(ReturnRow, ReturnRow.id == ReturnLineRow.return_id)
        .where(ReturnLineRow.return_id.in_(return_ids))
    ).all()  # fmt: skip
    units: dict[uuid.UUID, dict[int, int]] = {}
    for return_id, line_no, quantity, received, status in rows:
        count = 0 if status == "cancelled" else int(received if status == "received" else quantity)
        if count > 0:
            units.setdefault(return_id, {})[int(line_no)] = count
    return units
