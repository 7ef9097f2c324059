"""A register's shifts: opened with a float, counted at the close. The drawer's counters (cash handed over, change
given, cash refunded) are moved by the transactions of the sales and refunds themselves, so a close reads one row:
expected = float + cash handed over - change - cash refunds; the difference is what was counted less that. Opening
and closing are audited; a register has one open shift at most (a partial unique index)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from ordersmith.channels.pos.service._common import Shift, load_register, load_register_by_id, shift_record
from ordersmith.channels.pos.tables import PosRegisterRow, PosShiftRow
from ordersmith.kernel.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.kernel.pagination import Page
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page
from ordersmith.platform.schemas import money_in


class ShiftOpen(Conflict):
    code = "shift_open"
    title = "The register has an open shift"


def _facts(row: PosShiftRow, register: str) -> dict[str, object]:
    shift = shift_record(row, register)

    def text(amount: Money | None) -> str | None:
        return None if amount is None else str(amount.amount)

    return {
        "shift": str(row.id),
        "register": register,
        "status": row.status,
        "currency": row.currency,
        "opening_float": text(shift.opening_float),
        "cash_in": text(shift.cash_in),
        "change_out": text(shift.change_out),
        "cash_refunds": text(shift.cash_refunds),
        "expected": text(shift.expected),
        "counted": text(shift.counted),
        "difference": text(shift.difference),
        "sales": row.sales,
    }


@use_case
def open_shift(uow: UnitOfWork, *, principal: Principal | None, register: str, opening_float: str) -> Shift:
    """Open a shift on a register with the cash put in its drawer.

    Raises:
        ValidationFailed: a float that is not an amount of the store's currency (naming `opening_float`).
        ShiftOpen: the register has an open shift (409, naming it).
    """
    loaded = load_register(uow, code=register, principal=principal)
    currency = loaded.channel.currency
    amount = money_in(opening_float, currency, field="opening_float")
    if amount < Money.zero(currency):
        raise ValidationFailed.on("opening_float", "the cash put in the drawer: not negative")
    # The register's row, locked and read afresh (the loaded one may come from a cache): a register being closed
    # at the same moment either sees this shift or is seen closed here.
    current = uow.session.get(
        PosRegisterRow, loaded.register.id, with_for_update=True, populate_existing=True
    )
    if current is None or not current.active:
        raise ValidationFailed.on("register", f"register {register} is closed")
    found = uow.session.scalar(
        sa.select(PosShiftRow.id).where(
            PosShiftRow.register_id == loaded.register.id, PosShiftRow.status == "open"
        )
    )
    if found is not None:
        raise ShiftOpen(f"register {register} has an open shift: close it first", shift=str(found))
    row = PosShiftRow(
        id=new_id(),
        register_id=loaded.register.id,
        status="open",
        currency=currency,
        opening_float_minor=amount.minor,
        cash_in_minor=0,
        change_out_minor=0,
        cash_refunds_minor=0,
        sales=0,
        late_sales=0,
        opened_at=uow.now(),
        opened_by=uow.actor.label,
        note="",
        version=1,
    )
    try:
        uow.insert_unique(PosShiftRow, row, f"register {register} has an open shift")
    except Conflict:
        raise ShiftOpen(f"register {register} has an open shift: close it first") from None
    facts = _facts(row, register)
    uow.audit("pos.shift_opened", object_type="pos_shift", object_id=str(row.id), after=facts)
    uow.emit("pos.shift_opened", {**facts, "channel": loaded.channel.code, "store": loaded.store.location})
    return shift_record(row, register)


@use_case
def close_shift(
    uow: UnitOfWork,
    *,
    principal: Principal | None,
    shift_id: uuid.UUID,
    counted: str,
    note: str = "",
    expected_version: int | None = None,
) -> Shift:
    """Close a shift with the cash counted in its drawer: the expected cash and the difference are kept on it.

    Raises:
        NotFound: no such shift (or another channel's).
        ValidationFailed: a count that is not an amount (naming `counted`).
        Conflict: the shift is closed already.
        PreconditionFailed: `expected_version` is not the shift's.
    """
    row = uow.session.get(PosShiftRow, shift_id, with_for_update=True)
    loaded = load_register_by_id(uow, register_id=row.register_id) if row is not None else None
    if row is None or loaded is None or not _visible(principal, loaded.channel.id):
        raise NotFound(f"no shift {shift_id}")
    if expected_version is not None and expected_version != row.version:
        raise PreconditionFailed(
            f"the shift changed since version {expected_version}; it is now {row.version}"
        )
    if row.status != "open":
        raise Conflict(f"shift {shift_id} is closed already", closed_at=str(row.closed_at))
    amount = money_in(counted, row.currency, field="counted")
    if amount < Money.zero(row.currency):
        raise ValidationFailed.on("counted", "the cash counted in the drawer: not negative")
    before = _facts(row, loaded.register.code)
    expected = shift_record(row, loaded.register.code).expected
    row.status, row.closed_at, row.closed_by, row.note = "closed", uow.now(), uow.actor.label, note
    row.counted_minor, row.expected_minor = amount.minor, expected.minor
    row.difference_minor = (amount - expected).minor
    row.version += 1
    uow.session.flush()
    after = _facts(row, loaded.register.code)
    uow.audit("pos.shift_closed", object_type="pos_shift", object_id=str(row.id), before=before, after=after)
    uow.emit("pos.shift_closed", {**after, "channel": loaded.channel.code, "store": loaded.store.location})
    return shift_record(row, loaded.register.code)


def _visible(principal: Principal | None, channel_id: uuid.UUID) -> bool:
    return principal is None or principal.channel_id is None or principal.channel_id == channel_id


@use_case(readonly=True)
def get_shift(uow: UnitOfWork, *, principal: Principal | None, shift_id: uuid.UUID) -> Shift:
    row = uow.session.get(PosShiftRow, shift_id)
    loaded = load_register_by_id(uow, register_id=row.register_id) if row is not None else None
    if row is None or loaded is None or not _visible(principal, loaded.channel.id):
        raise NotFound(f"no shift {shift_id}")
    return shift_record(row, loaded.register.code)


@use_case(readonly=True)
def list_shifts(
    uow: UnitOfWork, *, principal: Principal | None, register: str, limit: int = 20, cursor: str | None = None
) -> Page[Shift]:
    """A register's shifts, the newest first."""
    loaded = load_register(uow, code=register, principal=principal)
    query = sa.select(PosShiftRow).where(PosShiftRow.register_id == loaded.register.id)
    return keyset_page(
        uow,
        query,
        keys=[PosShiftRow.opened_at, PosShiftRow.id],
        to_item=lambda r: shift_record(r, register),
        cursor=cursor,
        limit=limit,
        descending=True,
    )


@use_case
def count_cash_refund(uow: UnitOfWork, *, shift_id: uuid.UUID, amount: Money) -> None:
    """Cash paid out of the drawer for a return, counted into its shift (in the refund's transaction)."""
    assert amount >= Money.zero(amount.currency)
    done = uow.execute_core(
        sa.update(PosShiftRow.__table__)  # type: ignore[arg-type]
        .where(PosShiftRow.__table__.c.id == shift_id, PosShiftRow.__table__.c.status == "open")
        .values(cash_refunds_minor=PosShiftRow.__table__.c.cash_refunds_minor + amount.minor)
    )
    if done.rowcount != 1:
        raise ValidationFailed.on("shift", "cash is paid out of an open shift's drawer")


__all__ = ["ShiftOpen", "close_shift", "count_cash_refund", "get_shift", "list_shifts", "open_shift"]
