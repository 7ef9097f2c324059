"""What the POS use cases share: the records as the API answers them, reading a register with its store and
channel (a channel-bound key sees only its own channel's stores: anything else is "not found"), and the rows as
records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from ordersmith.channels.pos import rules
from ordersmith.channels.pos.tables import PosRegisterRow, PosSaleRow, PosShiftRow, PosStoreRow
from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.money import Money
from ordersmith.platform import sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.sales_channels import SalesChannel


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    phone: str


@dataclass(frozen=True)
class Store:
    location: str
    name: str
    channel: str
    currency: str
    division: str
    address: Address
    method: str
    receipt_footer: str
    version: int


@dataclass(frozen=True)
class Register:
    id: uuid.UUID
    code: str
    name: str
    active: bool
    store: Store
    open_shift: uuid.UUID | None = None


@dataclass(frozen=True)
class Shift:
    id: uuid.UUID
    register: str
    status: str  # open | closed
    opening_float: Money
    cash_in: Money  # handed over by customers
    change_out: Money  # given back as change
    cash_refunds: Money
    expected: Money  # what the drawer should hold now
    sales: int
    late_sales: int  # synced after the close: counted above, not in the close's figures
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    closed_by: str | None
    counted: Money | None
    expected_at_close: Money | None
    difference: Money | None  # counted - expected at the close: negative is a shortage
    note: str
    version: int


@dataclass(frozen=True)
class Sale:
    id: uuid.UUID
    register: str
    store: str
    shift_id: uuid.UUID | None
    status: str  # placed | flagged | resolved
    offline: bool
    rung_at: datetime
    received_at: datetime
    order_id: uuid.UUID | None
    order_number: str | None
    till_total: Money | None
    cash_received: Money
    change_given: Money
    reason: str | None  # why it is flagged: stock_gone, gift_card_short, coupon_used_up, held, refused
    detail: str | None
    attempts: int
    resolved_at: datetime | None
    resolved_by: str | None
    note: str


@dataclass(frozen=True)
class Loaded:
    register: PosRegisterRow
    store: PosStoreRow
    channel: SalesChannel


def store_record(row: PosStoreRow, channel: SalesChannel) -> Store:
    address = Address(
        name=row.name,
        line1=row.line1,
        line2=row.line2,
        city=row.city,
        region=row.region,
        postal_code=row.postal_code,
        country=row.country,
        phone=row.phone,
    )
    return Store(
        location=row.location,
        name=row.name,
        channel=channel.code,
        currency=channel.currency,
        division=channel.division,
        address=address,
        method=row.method,
        receipt_footer=row.receipt_footer,
        version=row.version,
    )


def register_record(loaded: Loaded, open_shift: uuid.UUID | None = None) -> Register:
    row = loaded.register
    return Register(
        id=row.id,
        code=row.code,
        name=row.name,
        active=row.active,
        store=store_record(loaded.store, loaded.channel),
        open_shift=open_shift,
    )


def money(minor: int | None, currency: str) -> Money | None:
    return None if minor is None else Money.from_minor(minor, currency)


def shift_record(row: PosShiftRow, register: str) -> Shift:
    c = row.currency
    expected = rules.expected_drawer(
        opening_float=Money.from_minor(row.opening_float_minor, c),
        cash_in=Money.from_minor(row.cash_in_minor, c),
        change_out=Money.from_minor(row.change_out_minor, c),
        cash_refunds=Money.from_minor(row.cash_refunds_minor, c),
    )
    return Shift(
        id=row.id,
        register=register,
        status=row.status,
        opening_float=Money.from_minor(row.opening_float_minor, c),
        cash_in=Money.from_minor(row.cash_in_minor, c),
        change_out=Money.from_minor(row.change_out_minor, c),
        cash_refunds=Money.from_minor(row.cash_refunds_minor, c),
        expected=expected,
        sales=row.sales,
        late_sales=row.late_sales,
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        counted=money(row.counted_minor, c),
        expected_at_close=money(row.expected_minor, c),
        difference=money(row.difference_minor, c),
        note=row.note,
        version=row.version,
    )


def sale_record(row: PosSaleRow, register: str) -> Sale:
    c = row.currency
    return Sale(
        id=row.id,
        register=register,
        store=row.store,
        shift_id=row.shift_id,
        status=row.status,
        offline=row.offline,
        rung_at=row.rung_at,
        received_at=row.received_at,
        order_id=row.order_id,
        order_number=row.order_number,
        till_total=money(row.till_total_minor, c),
        cash_received=Money.from_minor(row.cash_received_minor, c),
        change_given=Money.from_minor(row.change_given_minor, c),
        reason=row.reason,
        detail=row.detail,
        attempts=row.attempts,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        note=row.note,
    )


def channel_of_store(uow: UnitOfWork, store: PosStoreRow) -> SalesChannel:
    channel = sales_channels.find_channel_by_id(uow, channel_id=store.sales_channel_id)
    assert channel is not None, "a store's channel is never deleted"
    return channel


def visible_store(principal: Principal | None, store: PosStoreRow | None) -> PosStoreRow:
    """The store when the caller may see it: a channel-bound key sees its own channel's stores only."""
    if store is None or (
        principal is not None
        and principal.channel_id is not None
        and principal.channel_id != store.sales_channel_id
    ):
        raise NotFound("no such store")
    return store


REGISTER_CACHE_TTL = timedelta(seconds=30)
CACHE = "pos_registers"


def forget_registers(uow: UnitOfWork) -> None:
    """A store or register changed: this process reads them afresh (others within REGISTER_CACHE_TTL). Cleared now
    and again once the change commits: a sale in another thread that read the register before the commit must not
    keep the old row cached for the rest of the TTL."""
    caches = uow.db.caches
    caches.pop(CACHE, None)
    sa_event.listen(uow.session, "after_commit", lambda _session: caches.pop(CACHE, None), once=True)


def load_register(uow: UnitOfWork, *, code: str, principal: Principal | None, fresh: bool = False) -> Loaded:
    """A register with its store and channel (NotFound for another channel's key, as for an unknown code).

    Every till sale reads its register, and registers change rarely: a short-lived cache per database keeps them
    (detached rows nothing writes to; a change in this process clears it). `fresh` reads the database (and
    refreshes the cache): what a person is shown."""
    cache: dict[str, tuple[datetime, tuple[PosRegisterRow, PosStoreRow]]] = uow.db.caches.setdefault(
        CACHE, {}
    )
    now = uow.now()
    cached = cache.get(code)
    if not fresh and cached is not None and timedelta(0) <= now - cached[0] < REGISTER_CACHE_TTL:
        register, store = cached[1]
    else:
        found = uow.session.execute(
            sa.select(PosRegisterRow, PosStoreRow)
            .join(PosStoreRow, PosStoreRow.location == PosRegisterRow.store)
            .where(PosRegisterRow.code == code)
        ).first()
        if found is None:
            raise NotFound(f"no register {code!r}")
        register, store = found
        uow.session.expunge(register)
        uow.session.expunge(store)
        cache[code] = (now, (register, store))
    try:
        visible_store(principal, store)
    except NotFound:
        raise NotFound(f"no register {code!r}") from None
    return Loaded(register=register, store=store, channel=channel_of_store(uow, store))


def load_register_by_id(uow: UnitOfWork, *, register_id: uuid.UUID) -> Loaded:
    register = uow.session.get(PosRegisterRow, register_id)
    assert register is not None
    store = uow.session.get(PosStoreRow, register.store)
    assert store is not None
    return Loaded(register=register, store=store, channel=channel_of_store(uow, store))


def open_shift_of(uow: UnitOfWork, register_id: uuid.UUID) -> uuid.UUID | None:
    return uow.session.scalar(
        sa.select(PosShiftRow.id).where(PosShiftRow.register_id == register_id, PosShiftRow.status == "open")
    )
