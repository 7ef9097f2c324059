"""The store manager's work on flagged sales: the list (oldest first, read through a partial index of what is still
flagged), placing one again once it can be filled (a count found the stock, say), or resolving it with a note (the
goods are gone and the order will not be placed: written off, refunded by hand…). Each decision is audited.

Invariant: a flagged sale becomes at most one order — placed again it is still its sale's id as `external_id` —
and its cash, counted into its shift when it was flagged, is never counted again.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from ordersmith.channels.pos.service._common import Loaded, Sale, load_register_by_id, sale_record
from ordersmith.channels.pos.service.sales import (
    Prepared,
    Rung,
    SaleRequest,
    answered_before,
    prepare,
    sale_row,
)
from ordersmith.channels.pos.tables import PosRegisterRow, PosSaleRow, PosStoreRow
from ordersmith.checkout import rules as checkout_rules
from ordersmith.checkout import service as checkout
from ordersmith.kernel.errors import Conflict, NotFound, OrdersmithError
from ordersmith.kernel.pagination import Page
from ordersmith.orders import service as orders
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page


@use_case(readonly=True)
def list_flagged(
    uow: UnitOfWork,
    *,
    principal: Principal | None,
    store: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Sale]:
    """Sales still flagged, the oldest first (a channel-bound key: its own channel's stores')."""
    query = sa.select(PosSaleRow).where(PosSaleRow.status == "flagged")
    if store is not None:
        query = query.where(PosSaleRow.store == store)
    if principal is not None and principal.channel_id is not None:
        query = query.where(
            PosSaleRow.store.in_(
                sa.select(PosStoreRow.location).where(PosStoreRow.sales_channel_id == principal.channel_id)
            )
        )
    codes = dict(uow.session.execute(sa.select(PosRegisterRow.id, PosRegisterRow.code)).tuples().all())
    return keyset_page(
        uow,
        query,
        keys=[PosSaleRow.received_at, PosSaleRow.id],
        to_item=lambda row: sale_record(row, codes.get(row.register_id, "")),
        cursor=cursor,
        limit=limit,
    )


@use_case(readonly=True)
def _flagged_sale(
    uow: UnitOfWork, *, sale_id: uuid.UUID, principal: Principal | None
) -> tuple[SaleRequest, PosSaleRow]:
    row = uow.session.get(PosSaleRow, sale_id)
    loaded = load_register_by_id(uow, register_id=row.register_id) if row is not None else None
    if (
        row is None
        or loaded is None
        or (
            principal is not None
            and principal.channel_id is not None
            and principal.channel_id != loaded.channel.id
        )
    ):
        raise NotFound(f"no sale {sale_id}")
    if row.status != "flagged" or row.payload is None:
        raise Conflict(f"sale {sale_id} is {row.status}, not flagged", sale_status=row.status)
    uow.session.expunge(row)
    return SaleRequest.from_payload(row.payload), row


def place_flagged(uow: UnitOfWork, *, principal: Principal, sale_id: uuid.UUID) -> Rung:
    """Place a flagged sale again, as it was rung up (by the manager, once it can be filled). Refused again, it
    stays flagged with the new reason, and the refusal is answered.

    Raises:
        NotFound: no such sale (or another channel's).
        Conflict: the sale is not flagged (placed or resolved already).
        OrdersmithError: checkout's refusal (insufficient stock …): the sale stays flagged.
    """
    assert not uow.active
    sale, row = _flagged_sale(uow, sale_id=sale_id, principal=principal)
    loaded = _loaded_by_id(uow, register_id=row.register_id)
    prepared = _prepare_again(uow, sale=sale, loaded=loaded)
    channel = loaded.channel
    caller = checkout_rules.Caller(
        channel_kind=channel.kind,
        scopes=principal.scopes,
        bills_later=channel.bills_later,
        channel_bound=principal.channel_id is not None,
    )

    def on_placed(joined: UnitOfWork, order: orders.Order) -> None:
        done = joined.execute_core(
            sa.update(PosSaleRow.__table__)  # type: ignore[arg-type]
            .where(PosSaleRow.__table__.c.id == sale_id, PosSaleRow.__table__.c.status == "flagged")
            .values(
                status="placed",
                order_id=order.id,
                order_number=order.number,
                payload=None,
                attempts=PosSaleRow.__table__.c.attempts + 1,
                resolved_at=joined.now(),
                resolved_by=joined.actor.label,
            )
        )
        if done.rowcount != 1:
            raise Conflict(f"sale {sale_id} was resolved meanwhile")
        facts = {"sale": str(sale_id), "order": order.number, "reason": row.reason}
        joined.audit("pos.sale_placed", object_type="pos_sale", object_id=str(sale_id), after=facts)
        joined.emit("pos.sale_placed", {**facts, "channel": channel.code, "store": row.store})

    try:
        placed = checkout.place_order(
            uow, channel=channel, caller=caller, request=prepared.request, on_placed=on_placed
        )
    except OrdersmithError as refused:
        _refused_again(uow, sale_id=sale_id, detail=refused.detail)
        raise
    return (
        answered_before(uow, sale_row(uow, sale_id), loaded)
        if not placed.created
        else Rung(sale=_record(uow, sale_id=sale_id), order=placed.order, created=True)
    )


@use_case(readonly=True)
def _loaded_by_id(uow: UnitOfWork, *, register_id: uuid.UUID) -> Loaded:
    return load_register_by_id(uow, register_id=register_id)


@use_case(readonly=True)
def _prepare_again(uow: UnitOfWork, *, sale: SaleRequest, loaded: Loaded) -> Prepared:
    return prepare(uow, sale, loaded)


@use_case(readonly=True)
def _record(uow: UnitOfWork, *, sale_id: uuid.UUID) -> Sale:
    row = uow.session.get(PosSaleRow, sale_id)
    assert row is not None
    return sale_record(row, load_register_by_id(uow, register_id=row.register_id).register.code)


@use_case
def _refused_again(uow: UnitOfWork, *, sale_id: uuid.UUID, detail: str) -> None:
    uow.execute_core(
        sa.update(PosSaleRow.__table__)  # type: ignore[arg-type]
        .where(PosSaleRow.__table__.c.id == sale_id, PosSaleRow.__table__.c.status == "flagged")
        .values(detail=detail[:2000], attempts=PosSaleRow.__table__.c.attempts + 1)
    )


@use_case
def resolve_flagged(uow: UnitOfWork, *, principal: Principal | None, sale_id: uuid.UUID, note: str) -> Sale:
    """Close a flagged sale without an order, with the manager's note (what was done: stock written off, the
    customer called …). Audited.

    Raises:
        NotFound: no such sale (or another channel's).
        Conflict: the sale is not flagged.
    """
    row = uow.session.get(PosSaleRow, sale_id, with_for_update=True)
    loaded = load_register_by_id(uow, register_id=row.register_id) if row is not None else None
    if (
        row is None
        or loaded is None
        or (
            principal is not None
            and principal.channel_id is not None
            and principal.channel_id != loaded.channel.id
        )
    ):
        raise NotFound(f"no sale {sale_id}")
    if row.status != "flagged":
        raise Conflict(f"sale {sale_id} is {row.status}, not flagged", sale_status=row.status)
    row.status, row.note, row.resolved_at, row.resolved_by = "resolved", note, uow.now(), uow.actor.label
    facts = {"sale": str(sale_id), "reason": row.reason, "note": note}
    uow.audit(
        "pos.sale_resolved",
        object_type="pos_sale",
        object_id=str(sale_id),
        before={"status": "flagged"},
        after={"status": "resolved", **facts},
    )
    uow.emit("pos.sale_resolved", {**facts, "channel": loaded.channel.code, "store": row.store})
    uow.session.flush()
    return sale_record(row, loaded.register.code)
