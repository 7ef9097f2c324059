"""SKU mapping: a channel SKU (and its listing id) mapped to our item, replacing an earlier mapping; mapping a
SKU releases the channel orders held for it (`unmapped_sku`), each imported again through `inbound`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.channels.service._common import load
from ordersmith.channels.service.inbound import _requeue
from ordersmith.channels.tables import ChannelOrderRow, SkuMapRow, UnmappedLineRow
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.pagination import Page
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page


@dataclass(frozen=True)
class SkuMap:
    connector: str
    channel_sku: str
    sku: str
    listing_id: str
    created_at: datetime


@dataclass(frozen=True)
class Mapped:
    mapping: SkuMap
    released: int  # held channel orders queued for import again


@use_case
def map_sku(uow: UnitOfWork, *, connector: str, channel_sku: str, sku: str, listing_id: str = "") -> Mapped:
    """Map a channel SKU to our item (replacing an earlier mapping), and release the channel orders held for it
    (each is imported again: held still if another of its SKUs is unmapped).

    Raises:
        ValidationFailed: an empty or over-long channel SKU or listing id, or no item with `sku`.
        NotFound: no such connector.
    """
    loaded = load(uow, code=connector)
    if not channel_sku.strip() or len(channel_sku) > 100 or "\x00" in channel_sku:
        raise ValidationFailed.on("channel_sku", "1 to 100 characters")
    if len(listing_id) > 200 or "\x00" in listing_id:
        raise ValidationFailed.on("listing_id", "at most 200 characters")
    try:
        item = catalog.get_item_ref(uow, sku=sku)
    except NotFound:
        raise ValidationFailed.on("sku", f"no item {sku!r}") from None
    now = uow.now()
    existing = uow.session.get(SkuMapRow, (loaded.row.id, channel_sku), with_for_update=True)
    before = None
    if existing is None:
        existing = SkuMapRow(
            connector_id=loaded.row.id,
            channel_sku=channel_sku,
            item_sku=item.sku,
            listing_id=listing_id,
            created_at=now,
        )
        uow.session.add(existing)
    else:
        before = {"sku": existing.item_sku, "listing_id": existing.listing_id}
        existing.item_sku, existing.listing_id = item.sku, listing_id
    waiting = list(
        uow.session.scalars(
            sa.select(UnmappedLineRow.channel_order_id).where(
                UnmappedLineRow.connector_id == loaded.row.id, UnmappedLineRow.channel_sku == channel_sku
            )
        )
    )
    released = 0
    for order_id in waiting:
        row = uow.session.get(ChannelOrderRow, order_id, with_for_update=True)
        if row is not None and row.status == "held":
            _requeue(uow, row)
            released += 1
    uow.audit(
        "channel_sku.mapped",
        object_type="channel_connector",
        object_id=str(loaded.row.id),
        before=before,
        after={"channel_sku": channel_sku, "sku": item.sku, "listing_id": listing_id, "released": released},
    )
    return Mapped(SkuMap(loaded.row.code, channel_sku, item.sku, listing_id, existing.created_at), released)


@use_case(readonly=True)
def list_sku_maps(
    uow: UnitOfWork,
    *,
    connector: str,
    principal: Principal | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[SkuMap]:
    loaded = load(uow, code=connector, principal=principal)
    return keyset_page(
        uow,
        sa.select(SkuMapRow).where(SkuMapRow.connector_id == loaded.row.id),
        keys=[SkuMapRow.channel_sku],
        to_item=lambda r: SkuMap(loaded.row.code, r.channel_sku, r.item_sku, r.listing_id, r.created_at),
        cursor=cursor,
        limit=limit,
    )
