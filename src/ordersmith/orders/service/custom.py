"""An order's custom field values (ADR 0051): set with the order at intake (checkout calls `write_placed` inside
its write transaction) or later by staff or the order's own channel, audited; read with the order."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ordersmith.kernel.errors import NotFound
from ordersmith.orders.service._common import order_row
from ordersmith.platform import custom_fields as custom
from ordersmith.platform.db import UnitOfWork, use_case


@use_case
def set_order_custom_fields(
    uow: UnitOfWork, *, ref: str, values: Mapping[str, Any], channel: str | None = None
) -> dict[str, Any]:
    """Set (or, with null, clear) an order's custom field values; the others stay. Audited with before and after.
    With `channel` (a channel-bound caller), another channel's order is NotFound, as unknown.

    Raises:
        NotFound: no such order (for this channel). ValidationFailed: an unknown field or a bad value
            (`custom_fields.<name>`); nothing is written.
    """
    row = order_row(uow, ref)
    if channel is not None and row.channel != channel:
        raise NotFound(f"no order {ref!r}")
    checked = custom.check_values(uow, kind="order", values=values, creating=False)
    before = custom.read_values(uow, kind="order", record_id=row.id)
    custom.write_values(uow, kind="order", record_id=row.id, checked=checked)
    after = custom.read_values(uow, kind="order", record_id=row.id)
    if after != before:
        row.version += 1
        row.updated_at = uow.now()
        uow.audit("order.custom_fields_changed", object_type="order", object_id=str(row.id),
                  before={"custom_fields": before}, after={"custom_fields": after})  # fmt: skip
    return after


def check_placed(uow: UnitOfWork, *, values: Mapping[str, Any], early: bool) -> dict[str, custom.Stored]:
    """An order's custom values checked for intake (`early`: before its transaction, with the cached fields)."""
    return custom.check_values(uow, kind="order", values=values, creating=True, early=early)


def write_placed(uow: UnitOfWork, *, order_id: uuid.UUID, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check (against the fields current in this transaction) and store a new order's custom values; no
    statement when none are sent and none are required. Raises ValidationFailed (the order's transaction rolls
    back)."""
    checked = check_placed(uow, values=values, early=False)
    custom.write_values(uow, kind="order", record_id=order_id, checked=checked)
    return custom.shown(uow, kind="order", checked=checked) if checked else {}


def order_values(uow: UnitOfWork, *, order_id: uuid.UUID) -> dict[str, Any]:
    return custom.read_values(uow, kind="order", record_id=order_id)
