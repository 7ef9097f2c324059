"""Returns taken at a store's till, for orders from any channel (bought online, returned in store): the return
authorized as the returns API authorizes it (window, returnable units, reasons, an exchange SKU per line), the goods
received straight into the store's own stock, and the refund due given back — to the order's tenders (the last
captured first: a cash tender in cash from the drawer, a gift card reloaded, a card refunded through the gateway)
or as new store credit. Cash paid out of the drawer is counted into the register's open shift.

Each step is its own use case (the gateway is never called inside a transaction): a refund refused after the goods
were received leaves the return received with its refund due, named in the answer, for the order's page to refund.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ordersmith.channels.pos.service._common import load_register, open_shift_of
from ordersmith.channels.pos.service.shifts import count_cash_refund
from ordersmith.kernel.errors import OrdersmithError, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case


@dataclass(frozen=True)
class StoreReturn:
    """A return taken at a till: the return (received at the store), what was given back and how."""

    register: str
    store: str
    return_number: str
    order_number: str
    refund_due: Money
    refunded: Money
    cash_out: Money  # of it, paid out of the drawer
    store_credit_code: str | None  # shown this once
    exchange_order_id: uuid.UUID | None
    refund_problem: str | None  # why the refund was not given (the return stays received, its refund due)


@use_case(readonly=True)
def _checked(
    uow: UnitOfWork, *, principal: Principal, register: str, order_ref: str, shift: uuid.UUID | None
) -> tuple[str, orders.Order]:
    loaded = load_register(uow, code=register, principal=principal)
    if not loaded.register.active:
        raise ValidationFailed.on("register", f"register {register} is closed")
    if shift is not None and open_shift_of(uow, loaded.register.id) != shift:
        raise ValidationFailed.on("shift", f"no open shift {shift} at register {register}")
    order = orders.get_order(uow, ref=order_ref, channel=sales_channels.bound_channel(uow, principal))
    return loaded.store.location, order


def _cash_refunded(
    before: Sequence[payments.Payment], after: Sequence[payments.Payment], currency: str
) -> Money:
    was = {p.id: p.refunded for p in before if p.method == "cash"}
    return sum(
        (p.refunded - was.get(p.id, Money.zero(currency)) for p in after if p.method == "cash"),
        Money.zero(currency),
    )


def return_in_store(
    uow: UnitOfWork,
    *,
    principal: Principal,
    register: str,
    order_ref: str,
    lines: Sequence[orders.ReturnLineRequest],
    to_store_credit: bool = False,
    shift: uuid.UUID | None = None,
    note: str = "",
) -> StoreReturn:
    """Take a return at a till: authorize it, receive its goods into the store's stock, give the refund due back.

    Raises:
        NotFound: no such register or order (another channel's, for a channel's key).
        ValidationFailed: as the returns API refuses (window closed, too many units, a reason unknown …), naming
            the field; nothing is written.
    """
    assert not uow.active, "the refund may call the gateway: no transaction is open around it"
    store, order = _checked(uow, principal=principal, register=register, order_ref=order_ref, shift=shift)
    authorized = orders.authorize_return(
        uow, order_ref=str(order.id), lines=lines, note=note or f"in store {store}"
    )
    received = orders.receive_return(uow, ref=authorized.number, location=store)
    zero = Money.zero(received.currency)
    due, refunded, cash_out, code, problem = received.refund_due, zero, zero, None, None
    if not due.is_zero():
        before = payments.order_payments(uow, order_id=order.id)
        try:
            done = payments.refund_order(
                uow,
                order_id=order.id,
                amount=due,
                reason=f"returned in store {store}",
                return_id=received.id,
                to_store_credit=to_store_credit,
                key=f"pos-return:{received.id}",
            )
        except OrdersmithError as refused:
            problem = refused.detail
        else:
            refunded = due
            code = done.store_credit.code if done.store_credit is not None else None
            # store credit marks the tenders' parts refunded, but nothing leaves the drawer
            cash_out = zero if to_store_credit else _cash_refunded(before, done.payments, received.currency)
            if shift is not None and not cash_out.is_zero():
                try:
                    count_cash_refund(uow, shift_id=shift, amount=cash_out)
                except (
                    ValidationFailed
                ):  # the shift was closed meanwhile: its count will show the cash paid out
                    problem = (
                        f"{cash_out} paid out in cash after shift {shift} was closed: not in its figures"
                    )
    return StoreReturn(
        register=register,
        store=store,
        return_number=received.number,
        order_number=order.number,
        refund_due=due,
        refunded=refunded,
        cash_out=cash_out,
        store_credit_code=code,
        exchange_order_id=received.exchange_order_id,
        refund_problem=problem,
    )
