"""Till sales in: each placed through checkout as its store's POS-channel order (`fulfillment: taken`, the store's
stock consumed at once), the sale's own id as the order's `external_id`, its row (cash handed over, change given)
written in the order's own transaction and counted into its shift once.

A sale the till handed over without the network (`offline`) that can no longer become an order — its stock gone,
a gift card short, a coupon used up — is not lost: it is flagged for the store manager, with the sale as sent, in
one transaction that also counts its cash (the cash is in the drawer), and answered 409 `pos_sale_flagged` every
time it is sent again. A sale rung up online is refused as checkout refuses it (nothing written): the customer is
still at the till.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.channels.pos import rules
from ordersmith.channels.pos.service._common import (
    Loaded,
    Sale,
    load_register,
    load_register_by_id,
    sale_record,
)
from ordersmith.channels.pos.tables import PosSaleRow, PosShiftRow
from ordersmith.checkout import rules as checkout_rules
from ordersmith.checkout import service as checkout
from ordersmith.kernel.errors import Conflict, NotFound, OrdersmithError, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.schemas import money_in
from ordersmith.pricing import rules as pricing_rules

CLOCK_SKEW = timedelta(minutes=10)  # how far ahead of ours a till's clock may run


class SaleFlagged(Conflict):
    """The sale could not become an order and waits for the store manager (409, with its `reason`)."""

    code = "pos_sale_flagged"
    title = "Sale flagged for the store manager"


@dataclass(frozen=True)
class TenderText:
    """A tender as the till sent it (amounts as decimal text in the store's currency)."""

    method: str
    amount: str | None = None
    token: str = ""
    received: str | None = None
    change: str | None = None


@dataclass(frozen=True)
class SaleRequest:
    """A sale as the till rang it up: its own id, lines, tenders, and whether it was handed over offline."""

    id: uuid.UUID
    register: str
    rung_at: datetime
    lines: Sequence[tuple[str, int]]
    tenders: Sequence[TenderText]
    shift: uuid.UUID | None = None
    offline: bool = False
    customer: str | None = None
    email: str = ""
    coupons: Sequence[str] = ()
    till_total: str | None = None
    # Endless aisle: shipped to this address from wherever the stock is (name, line1, line2, city, region,
    # postal_code, country, phone, method) instead of carried out of the store.
    deliver_to: dict[str, str] | None = None

    def payload(self) -> dict[str, Any]:
        """The sale as JSON, kept with a flagged sale so it can be placed later exactly as it was rung up."""
        found = asdict(self)
        found |= {
            "id": str(self.id),
            "rung_at": self.rung_at.isoformat(),
            "lines": [list(x) for x in self.lines],
            "shift": str(self.shift) if self.shift else None,
            "coupons": list(self.coupons),
        }
        return found

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> SaleRequest:
        return cls(
            id=uuid.UUID(data["id"]),
            register=data["register"],
            rung_at=datetime.fromisoformat(data["rung_at"]),
            lines=[(str(s), int(q)) for s, q in data["lines"]],
            tenders=[TenderText(**t) for t in data["tenders"]],
            shift=uuid.UUID(data["shift"]) if data.get("shift") else None,
            offline=bool(data["offline"]),
            customer=data.get("customer"),
            email=data.get("email", ""),
            coupons=list(data.get("coupons", [])),
            till_total=data.get("till_total"),
            deliver_to=data.get("deliver_to"),
        )


@dataclass(frozen=True)
class Rung:
    """A sale placed: its record, its order, and whether this call placed it (False: placed before)."""

    sale: Sale
    order: orders.Order
    created: bool


@dataclass
class Prepared:
    loaded: Loaded
    tenders: list[rules.Tender]
    till_total: Money | None
    request: orders.OrderRequest = field(init=False)


OnRung = Callable[[UnitOfWork, Rung], None]


def _money(text: str | None, currency: str, field_name: str) -> Money | None:
    return None if text is None else money_in(text, currency, field=field_name)


def prepare(uow: UnitOfWork, sale: SaleRequest, loaded: Loaded) -> Prepared:
    """The sale checked (tenders, till clock, shift) and turned into its order request.

    Raises:
        ValidationFailed: naming the field, as the API names it.
    """
    currency = loaded.channel.currency
    if not loaded.register.active and not sale.offline:
        # A sale handed over offline happened whatever became of the register meanwhile (its cash is in the
        # drawer): it is taken like any offline sale, never refused.
        raise ValidationFailed.on("register", f"register {loaded.register.code} is closed")
    if sale.rung_at > uow.now() + CLOCK_SKEW:
        raise ValidationFailed.on("rung_at", "in the future: check the till's clock")
    tenders = [
        rules.Tender(
            method=t.method,
            amount=_money(t.amount, currency, f"tenders.{n}.amount"),
            token=t.token,
            received=_money(t.received, currency, f"tenders.{n}.received"),
            change=_money(t.change, currency, f"tenders.{n}.change"),
        )
        for n, t in enumerate(sale.tenders)
    ]
    refused = rules.tender_refusal(tenders, offline=sale.offline, currency=currency)
    if refused is not None:
        raise ValidationFailed.on(*refused)
    if sale.deliver_to is not None and sale.offline:
        raise ValidationFailed.on(
            "deliver_to", "a delivery needs the network: its stock is found where it ships from"
        )
    if sale.shift is not None:
        shift_register = uow.session.scalar(
            sa.select(PosShiftRow.register_id).where(PosShiftRow.id == sale.shift)
        )
        if shift_register != loaded.register.id:
            raise ValidationFailed.on("shift", f"no shift {sale.shift} at register {loaded.register.code}")
    prepared = Prepared(loaded, tenders, _money(sale.till_total, currency, "till_total"))
    prepared.request = order_request(sale, loaded, tenders)
    return prepared


def order_request(sale: SaleRequest, loaded: Loaded, tenders: Sequence[rules.Tender]) -> orders.OrderRequest:
    """The order a till sale is: its store's POS channel, carried out of the store (`taken`), shipped to the store's
    own address by its free carry-out method (so tax is the store's), the sale's id as `external_id`. A delivery
    (endless aisle) is shipped to its address by its method from wherever the stock is, like any order."""
    store = loaded.store
    delivery = order_delivery(sale.deliver_to) if sale.deliver_to is not None else None
    ship_to = delivery or orders.ShipToRequest(
        ref="main",
        name=store.name,
        line1=store.line1,
        line2=store.line2,
        city=store.city,
        region=store.region,
        postal_code=store.postal_code,
        country=store.country,
        method=store.method,
    )
    return orders.OrderRequest(
        lines=[orders.LineRequest(sku=sku, quantity=quantity) for sku, quantity in sale.lines],
        ship_tos=[ship_to],
        customer=sale.customer or None,
        email=sale.email,
        coupons=list(sale.coupons),
        external_id=str(sale.id),
        payments=[
            orders.PaymentRequest(
                method=p.method,
                amount=p.amount,
                token=p.token,
                reference=loaded.register.code if p.method == rules.CASH else "",
            )
            for p in rules.payments(list(tenders))
        ],
        fulfillment="ship" if delivery else "taken",
        store=None if delivery else store.location,
    )


def order_delivery(address: dict[str, str]) -> orders.ShipToRequest:
    return orders.ShipToRequest(
        ref="main",
        name=address["name"],
        line1=address["line1"],
        line2=address.get("line2", ""),
        city=address["city"],
        region=address.get("region", ""),
        postal_code=address.get("postal_code", ""),
        country=address["country"].upper(),
        phone=address.get("phone", ""),
        method=address["method"],
    )


def quote_sale(uow: UnitOfWork, *, principal: Principal, sale: SaleRequest) -> pricing_rules.Quote:
    """Price a sale as it stands through the pipeline every order is priced by (`POST /api/v1/orders/quote`):
    promotions and coupons included, nothing held or written. Tenders are not looked at."""
    loaded = _loaded(uow, code=sale.register, principal=principal)
    request = order_request(sale, loaded, [])
    return orders.quote_order(
        uow,
        channel=loaded.channel,
        request=request,
        customer_of=loaded.channel.code if principal.channel_id else None,
    )


@use_case(readonly=True)
def _loaded(uow: UnitOfWork, *, code: str, principal: Principal | None) -> Loaded:
    return load_register(uow, code=code, principal=principal)


@use_case(readonly=True)
def _checked(
    uow: UnitOfWork, *, sale: SaleRequest, principal: Principal | None
) -> tuple[Prepared | None, PosSaleRow | None, Loaded]:
    """The sale prepared, or — sent before — its row (answered as then, whatever changed since: the register
    closed, the prices moved)."""
    loaded = load_register(uow, code=sale.register, principal=principal)
    existing = uow.session.get(PosSaleRow, sale.id)
    if existing is not None:
        uow.session.expunge(existing)
        return None, existing, loaded
    return prepare(uow, sale, loaded), None, loaded


def ring_up(
    uow: UnitOfWork,
    *,
    principal: Principal,
    sale: SaleRequest,
    attempt: str | None = None,
    on_rung: OnRung | None = None,
) -> Rung:
    """Place a till sale once. Sent again (however often, however concurrently), it answers the first order and
    places nothing; a flagged sale answers its flag.

    `attempt` keys the card processor's calls (the Idempotency-Key's claim); `on_rung` runs inside the order's
    write transaction (storing the idempotent answer).

    Raises:
        ValidationFailed: the sale's shape (naming the field): nothing is written.
        SaleFlagged: the sale is flagged for the store manager (now, or before).
        OrdersmithError: an online sale checkout refuses (stock, a declined card…): nothing is written.
    """
    assert not uow.active, "checkout opens its own transactions: the processor is never called inside one"
    prepared, existing, loaded = _checked(uow, sale=sale, principal=principal)
    if existing is not None or prepared is None:
        assert existing is not None
        return answered_before(uow, existing, loaded)
    channel = loaded.channel
    caller = checkout_rules.Caller(
        channel_kind=channel.kind,
        scopes=principal.scopes,
        bills_later=channel.bills_later,
        channel_bound=principal.channel_id is not None,
    )
    written: list[Sale] = []

    def on_placed(joined: UnitOfWork, order: orders.Order) -> None:
        row = _insert_sale(joined, sale, prepared, status="placed", order=order)
        written.append(sale_record(row, loaded.register.code))
        if on_rung is not None:
            on_rung(joined, Rung(sale=written[-1], order=order, created=True))

    try:
        placed = checkout.place_order(
            uow,
            channel=channel,
            caller=caller,
            request=prepared.request,
            attempt=attempt,
            on_placed=on_placed,
        )
    except OrdersmithError as refused:
        reason = rules.flag_reason(refused.code, refused.status)
        if not sale.offline or reason is None:
            raise
        flagged = _flag(uow, sale=sale, prepared=prepared, reason=reason, detail=refused.detail)
        if flagged.status == "placed":  # a copy of this sale was placed meanwhile: that is the answer
            return answered_before(uow, sale_row(uow, sale.id), loaded)
        raise _flagged(flagged) from None
    if not placed.created:
        return answered_before(uow, sale_row(uow, sale.id), loaded)
    return Rung(sale=written[-1], order=placed.order, created=True)


@use_case(readonly=True)
def sale_row(uow: UnitOfWork, sale_id: uuid.UUID) -> PosSaleRow:
    """The sale's row, detached (NotFound when there is none)."""
    row = uow.session.get(PosSaleRow, sale_id)
    if row is None:
        raise NotFound(f"no sale {sale_id}")
    uow.session.expunge(row)
    return row


def answered_before(uow: UnitOfWork, row: PosSaleRow, loaded: Loaded) -> Rung:
    """What a sale sent again is answered: its order, or its flag (409)."""
    if row.register_id != loaded.register.id:
        raise Conflict("this sale's id was rung up at another register")
    record = sale_record(row, loaded.register.code)
    if row.status != "placed" or row.order_id is None:
        raise _flagged(record)
    return Rung(sale=record, order=orders.get_order(uow, ref=str(row.order_id)), created=False)


def _flagged(sale: Sale) -> SaleFlagged:
    state = "resolved by the store manager" if sale.status == "resolved" else "waiting for the store manager"
    return SaleFlagged(
        f"sale {sale.id} could not become an order ({sale.reason}: {sale.detail}); it is {state}",
        sale=str(sale.id),
        reason=sale.reason,
        sale_status=sale.status,
    )


def _insert_sale(
    uow: UnitOfWork,
    sale: SaleRequest,
    prepared: Prepared,
    *,
    status: str,
    order: orders.Order | None = None,
    reason: str | None = None,
    detail: str | None = None,
) -> PosSaleRow:
    """The sale's row, inserted, and its cash counted into its shift (one conditional UPDATE), in the caller's
    transaction: the order's, or the flag's."""
    loaded, currency = prepared.loaded, prepared.loaded.channel.currency
    received, change = rules.cash_facts(prepared.tenders, currency)
    row = PosSaleRow(
        id=sale.id,
        register_id=loaded.register.id,
        shift_id=sale.shift,
        store=loaded.store.location,
        status=status,
        offline=sale.offline,
        rung_at=sale.rung_at,
        received_at=uow.now(),
        currency=currency,
        till_total_minor=prepared.till_total.minor if prepared.till_total else None,
        cash_received_minor=received.minor,
        change_given_minor=change.minor,
        order_id=order.id if order else None,
        order_number=order.number if order else None,
        reason=reason,
        detail=detail,
        payload=None if order else sale.payload(),
        attempts=1,
        note="",
    )
    uow.insert_unique(PosSaleRow, row, f"sale {sale.id} was received already")
    if sale.shift is not None:
        uow.execute_core(
            _COUNT_INTO_SHIFT, {"shift": sale.shift, "cash_in": received.minor, "change_out": change.minor}
        )
    return row


_SHIFTS = PosShiftRow.__table__
_COUNT_INTO_SHIFT = (
    sa.update(_SHIFTS)  # type: ignore[arg-type]
    .where(_SHIFTS.c.id == sa.bindparam("shift"))
    .values(
        cash_in_minor=_SHIFTS.c.cash_in_minor + sa.bindparam("cash_in"),
        change_out_minor=_SHIFTS.c.change_out_minor + sa.bindparam("change_out"),
        sales=_SHIFTS.c.sales + 1,
        late_sales=_SHIFTS.c.late_sales + sa.case((_SHIFTS.c.status == "closed", 1), else_=0),
    )
)


@use_case
def _flag(uow: UnitOfWork, *, sale: SaleRequest, prepared: Prepared, reason: str, detail: str) -> Sale:
    """Flag the sale for the store manager (its cash counted), once: a copy flagged or placed first is the answer."""
    existing = uow.session.get(PosSaleRow, sale.id)
    if existing is not None:
        return sale_record(existing, prepared.loaded.register.code)
    row = _insert_sale(uow, sale, prepared, status="flagged", reason=reason, detail=detail[:2000])
    store, channel = prepared.loaded.store, prepared.loaded.channel
    facts = {
        "sale": str(sale.id),
        "register": prepared.loaded.register.code,
        "store": store.location,
        "reason": reason,
        "detail": row.detail,
    }
    uow.audit("pos.sale_flagged", object_type="pos_sale", object_id=str(sale.id), after=facts)
    uow.emit("pos.sale_flagged", {**facts, "channel": channel.code, "rung_at": sale.rung_at.isoformat()})
    return sale_record(row, prepared.loaded.register.code)


@use_case(readonly=True)
def get_sale(uow: UnitOfWork, *, sale_id: uuid.UUID, principal: Principal | None) -> Sale:
    """A till sale by its id (NotFound for another channel's key, as for an unknown id)."""
    row = uow.session.get(PosSaleRow, sale_id)
    if row is None:
        raise NotFound(f"no sale {sale_id}")
    loaded = load_register_by_id(uow, register_id=row.register_id)
    if (
        principal is not None
        and principal.channel_id is not None
        and principal.channel_id != loaded.channel.id
    ):
        raise NotFound(f"no sale {sale_id}")
    return sale_record(row, loaded.register.code)
