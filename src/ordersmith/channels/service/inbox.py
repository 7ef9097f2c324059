"""Reading a connector's inbox: the channel orders as they were received, with their state (received, held for
unmapped SKUs, imported, dead, cancelled by the channel), the order each became, and the money figures the channel
reported for them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.channels import connectors, rules
from ordersmith.channels.service._common import Loaded, load
from ordersmith.channels.tables import ChannelOrderRow
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.pagination import Page
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page


@dataclass(frozen=True)
class ChannelOrder:
    id: uuid.UUID
    connector: str
    external_id: str
    status: str
    hold_reason: str | None
    unmapped_skus: list[str]
    order_id: uuid.UUID | None
    order_number: str | None
    attempts: int
    last_error: str | None
    deliveries: int
    channel_updated_at: datetime
    received_at: datetime
    imported_at: datetime | None
    reported: dict[str, Any]  # the channel's own money figures (taxes as it reports them), for finance


CHANNEL_ORDER_STATES = ("received", "held", "imported", "dead", "cancelled")


def _view(loaded: Loaded, row: ChannelOrderRow) -> ChannelOrder:
    try:
        reported = rules.reported_totals(connectors.for_kind(loaded.row.kind).parse_order(row.payload))
    except ValidationFailed:
        reported = {}
    return ChannelOrder(
        id=row.id,
        connector=loaded.row.code,
        external_id=row.external_id,
        status=row.status,
        hold_reason=row.hold_reason,
        unmapped_skus=list(row.unmapped_skus or []),
        order_id=row.order_id,
        order_number=row.order_number,
        attempts=row.attempts,
        last_error=row.last_error,
        deliveries=row.deliveries,
        channel_updated_at=row.channel_updated_at,
        received_at=row.received_at,
        imported_at=row.imported_at,
        reported=reported,
    )


@use_case(readonly=True)
def list_channel_orders(
    uow: UnitOfWork,
    *,
    connector: str,
    status: str | None = None,
    principal: Principal | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ChannelOrder]:
    """The connector's inbox, newest first, optionally of one status (`held`: waiting for SKU mappings)."""
    loaded = load(uow, code=connector, principal=principal)
    if status is not None and status not in CHANNEL_ORDER_STATES:
        raise ValidationFailed.on("status", f"one of {', '.join(CHANNEL_ORDER_STATES)}")
    query = sa.select(ChannelOrderRow).where(ChannelOrderRow.connector_id == loaded.row.id)
    if status is not None:
        query = query.where(ChannelOrderRow.status == status)
    return keyset_page(
        uow,
        query,
        keys=[ChannelOrderRow.id],
        to_item=lambda r: _view(loaded, r),
        cursor=cursor,
        limit=limit,
        descending=True,
    )


@use_case(readonly=True)
def get_channel_order(
    uow: UnitOfWork, *, connector: str, external_id: str, principal: Principal | None = None
) -> ChannelOrder:
    loaded = load(uow, code=connector, principal=principal)
    row = uow.session.scalar(
        sa.select(ChannelOrderRow).where(
            ChannelOrderRow.connector_id == loaded.row.id, ChannelOrderRow.external_id == external_id
        )
    )
    if row is None:
        raise NotFound(f"no order {external_id} from connector {connector}")
    return _view(loaded, row)
