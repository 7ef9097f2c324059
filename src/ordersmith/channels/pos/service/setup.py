"""Setting a store's till up: the store (a store location, its POS sales channel, its address — tax is that of the
store — and the free shipping method its carried-out sales are priced with) and its registers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ordersmith.channels.pos.service._common import (
    Loaded,
    Register,
    Store,
    channel_of_store,
    forget_registers,
    load_register,
    open_shift_of,
    register_record,
    store_record,
    visible_store,
)
from ordersmith.channels.pos.service.shifts import ShiftOpen
from ordersmith.channels.pos.tables import PosRegisterRow, PosShiftRow, PosStoreRow
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.platform import sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.pricing import service as pricing

CARRY_OUT = "carry_out"  # the free method a sale carried out of the store is priced with, made when missing


@dataclass(frozen=True)
class StoreSettings:
    channel: str
    name: str
    line1: str
    city: str
    country: str
    line2: str = ""
    region: str = ""
    postal_code: str = ""
    phone: str = ""
    method: str = CARRY_OUT
    receipt_footer: str = ""


def _snapshot(row: PosStoreRow) -> dict[str, object]:
    return {
        "name": row.name,
        "channel_id": str(row.sales_channel_id),
        "line1": row.line1,
        "city": row.city,
        "region": row.region,
        "postal_code": row.postal_code,
        "country": row.country,
        "method": row.method,
    }


@use_case
def put_store(uow: UnitOfWork, *, location: str, settings: StoreSettings) -> Store:
    """Set a store's till up (or change it): the location must be an open store, the channel a POS channel. The
    shipping method `carry_out` is created, free, when the store names it and it does not exist yet.

    Raises:
        ValidationFailed: naming `location`, `channel` or `method`.
    """
    try:
        place = inventory.get_location(uow, code=location)
    except NotFound:
        raise ValidationFailed.on("location", f"no location {location!r}") from None
    if place.kind != "store" or not place.active:
        raise ValidationFailed.on("location", f"{location} is not an open store")
    channel = sales_channels.find_channel(uow, code=settings.channel)
    if channel is None or channel.kind != "pos":
        raise ValidationFailed.on("channel", f"{settings.channel!r} is not a POS sales channel")
    if place.division is not None and place.division != channel.division:
        raise ValidationFailed.on(
            "channel", f"{location} keeps {place.division} stock; the channel sells {channel.division}"
        )
    method = settings.method.lower()
    try:
        pricing.get_shipping_method(uow, code=method)
    except NotFound:
        if method != CARRY_OUT:
            raise ValidationFailed.on("method", f"no shipping method {settings.method!r}") from None
        pricing.create_shipping_method(
            uow,
            code=CARRY_OUT,
            name="Carried out of the store",
            kind="flat",
            currency=channel.currency,
            flat=Money(Decimal(0), channel.currency),
        )
    row = uow.session.get(PosStoreRow, place.code, with_for_update=True)
    before = _snapshot(row) if row is not None else None
    if row is None:
        row = PosStoreRow(location=place.code, created_at=uow.now(), version=0)
        uow.session.add(row)
    row.sales_channel_id = channel.id
    row.name, row.line1, row.line2, row.city = (
        settings.name.strip(),
        settings.line1,
        settings.line2,
        settings.city,
    )
    row.region, row.postal_code, row.country = settings.region, settings.postal_code, settings.country.upper()
    row.phone, row.method, row.receipt_footer = settings.phone, method, settings.receipt_footer
    row.version += 1
    uow.session.flush()
    uow.audit(
        "pos.store_set", object_type="pos_store", object_id=place.code, before=before, after=_snapshot(row)
    )
    return store_record(row, channel)


@use_case(readonly=True)
def list_stores(uow: UnitOfWork, *, principal: Principal | None) -> list[Store]:
    """The stores set up for a till (a channel-bound key: its own channel's), by location."""
    query = sa.select(PosStoreRow).order_by(PosStoreRow.location)
    if principal is not None and principal.channel_id is not None:
        query = query.where(PosStoreRow.sales_channel_id == principal.channel_id)
    return [store_record(row, channel_of_store(uow, row)) for row in uow.session.scalars(query)]


@use_case
def create_register(uow: UnitOfWork, *, code: str, store: str, name: str) -> Register:
    """A register (till) at a store that is set up.

    Raises:
        ValidationFailed: an unknown store (naming `store`).
        AlreadyExists: the code is taken.
    """
    found = uow.session.get(PosStoreRow, store)
    if found is None:
        raise ValidationFailed.on(
            "store", f"{store!r} is not set up for a till (PUT /api/v1/pos/stores/{store})"
        )
    row = PosRegisterRow(
        id=new_id(), code=code, store=found.location, name=name.strip(), active=True, created_at=uow.now()
    )
    uow.insert_unique(PosRegisterRow, row, f"register {code!r} exists")
    forget_registers(uow)
    uow.audit(
        "pos.register_created",
        object_type="pos_register",
        object_id=str(row.id),
        after={"code": code, "store": found.location, "name": row.name},
    )
    return register_record(Loaded(register=row, store=found, channel=channel_of_store(uow, found)))


@use_case
def update_register(
    uow: UnitOfWork,
    *,
    code: str,
    principal: Principal | None,
    name: str | None = None,
    active: bool | None = None,
) -> Register:
    """Rename a register, or close it (`active` false: no shift opens and no sale is taken at it; its history
    stays) or open it again. Audited with before and after. Other processes see the change within
    REGISTER_CACHE_TTL (their cache of registers).

    Raises:
        NotFound: no register `code` (or another channel's, for a channel-bound key).
        ShiftOpen: closing a register whose shift is open (409): close the shift first.
        ValidationFailed: an empty name (naming `name`).
    """
    loaded = load_register(uow, code=code, principal=principal)
    row = uow.session.get(PosRegisterRow, loaded.register.id, with_for_update=True, populate_existing=True)
    assert row is not None
    before = {"name": row.name, "active": row.active}
    if name is not None:
        if not name.strip():
            raise ValidationFailed.on("name", "a register needs a name")
        row.name = name.strip()
    if active is not None and active != row.active:
        if not active and (shift := open_shift_of(uow, row.id)) is not None:
            raise ShiftOpen(f"register {code} has an open shift: close it first", shift=str(shift))
        row.active = active
    after = {"name": row.name, "active": row.active}
    if after != before:
        uow.session.flush()
        forget_registers(uow)
        uow.audit("pos.register_changed", object_type="pos_register", object_id=str(row.id), before=before,
                  after=after | {"code": row.code})  # fmt: skip
    return register_record(Loaded(register=row, store=loaded.store, channel=loaded.channel),
                           open_shift_of(uow, row.id))  # fmt: skip


@use_case(readonly=True)
def list_registers(
    uow: UnitOfWork, *, principal: Principal | None, store: str | None = None
) -> list[Register]:
    """The registers (a channel-bound key: its own channel's stores'), by store and code, each with its open shift."""
    query = (
        sa.select(PosRegisterRow, PosStoreRow, PosShiftRow.id)
        .join(PosStoreRow, PosStoreRow.location == PosRegisterRow.store)
        .outerjoin(
            PosShiftRow, sa.and_(PosShiftRow.register_id == PosRegisterRow.id, PosShiftRow.status == "open")
        )
        .order_by(PosRegisterRow.store, PosRegisterRow.code)
    )
    if store is not None:
        query = query.where(PosRegisterRow.store == store)
    if principal is not None and principal.channel_id is not None:
        query = query.where(PosStoreRow.sales_channel_id == principal.channel_id)
    return [
        register_record(Loaded(register=register, store=found, channel=channel_of_store(uow, found)), shift)
        for register, found, shift in uow.session.execute(query)
    ]


@use_case(readonly=True)
def get_register(uow: UnitOfWork, *, code: str, principal: Principal | None) -> Register:
    """A register with its store and its open shift (NotFound for another channel's key), as stored now."""
    loaded = load_register(uow, code=code, principal=principal, fresh=True)
    return register_record(loaded, open_shift_of(uow, loaded.register.id))


@use_case(readonly=True)
def get_store(uow: UnitOfWork, *, location: str, principal: Principal | None) -> Store:
    row = visible_store(principal, uow.session.get(PosStoreRow, location))
    return store_record(row, channel_of_store(uow, row))


def register_id_of(uow: UnitOfWork, *, code: str, principal: Principal | None) -> uuid.UUID:
    return load_register(uow, code=code, principal=principal).register.id
