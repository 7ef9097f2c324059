"""Orders brought in from another system's history (a migration): written as they happened, at the prices they
were sold at, and marked `imported`.

Invariants: an imported order moves no stock (no reservation, no movement) and takes no payment (no tender, no
authorization): its goods left and its money came in long ago, in the old system. It is placed in the past, never
repriced, held or released, and is unique on (channel, external id) like any channel order, so importing the same
history twice adds nothing. It emits `order.imported`, never `order.placed` (nothing downstream must pick, pack or
charge it).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.catalog import rules as catalog_rules
from ordersmith.catalog import service as catalog
from ordersmith.customers import service as customers
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.marketing import service as marketing
from ordersmith.orders import rules
from ordersmith.orders.service._common import Order, fulfillment_status, new_order_number, to_order
from ordersmith.orders.service.requests import ShipToRequest, ship_to_dict
from ordersmith.orders.tables import OrderLineRow, OrderRow
from ordersmith.platform import custom_fields as custom
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.sales_channels import find_channel

HISTORY_STATUSES = ("completed", "cancelled")


@dataclass(frozen=True)
class HistoricalLine:
    sku: str
    quantity: int
    unit_price: Money
    discount: Money | None = None  # the line's discount, as sold
    tax: Money | None = None  # the line's tax, as charged
    source_code: str | None = (
        None  # the line's own key code, when it came from another offer than the order's
    )


@dataclass(frozen=True)
class HistoricalOrder:
    external_id: str  # the order's number in the old system
    placed_at: datetime
    lines: Sequence[HistoricalLine]
    ship_to: ShipToRequest
    status: str = "completed"  # completed (shipped and paid) | cancelled
    customer: str | None = None  # an existing customer's number or id
    email: str = ""
    shipping: Money | None = None
    source_code: str | None = None
    custom_fields: Mapping[str, Any] = field(default_factory=dict)  # by name, as `POST /orders` takes them


def _check(uow: UnitOfWork, order: HistoricalOrder, currency: str) -> None:
    if not order.external_id.strip():
        raise ValidationFailed.on("external_id", "an imported order needs its number in the old system")
    if order.placed_at.tzinfo is None:
        raise ValidationFailed.on("placed_at", "needs a time zone (UTC)")
    if order.placed_at >= uow.now():
        raise ValidationFailed.on("placed_at", "an imported order was placed in the past")
    if order.status not in HISTORY_STATUSES:
        raise ValidationFailed.on("status", f"must be one of {', '.join(HISTORY_STATUSES)}")
    if not order.lines:
        raise ValidationFailed.on("lines", "an order needs at least one line")
    for n, line in enumerate(order.lines):
        if line.quantity < 1:
            raise ValidationFailed.on(f"lines.{n}.quantity", "must be at least 1")
        for name, money in (("unit_price", line.unit_price), ("discount", line.discount), ("tax", line.tax)):
            if money is not None and money.currency != currency:
                raise ValidationFailed.on(
                    f"lines.{n}.{name}", f"must be in {currency}, the channel's currency"
                )
            if money is not None and money.amount < 0:
                raise ValidationFailed.on(f"lines.{n}.{name}", "cannot be negative")
    if order.shipping is not None and (order.shipping.currency != currency or order.shipping.amount < 0):
        raise ValidationFailed.on("shipping", f"must be zero or more, in {currency}")


@use_case
def import_order(uow: UnitOfWork, *, channel: str, order: HistoricalOrder) -> tuple[str, Order]:
    """Write one order from another system's history: created | unchanged (its (channel, external id) is here
    already; nothing is written). No stock moves and no payment is taken.

    Raises:
        ValidationFailed: an unknown channel, SKU or customer, a time not in the past, a bad quantity or amount,
            an amount in another currency than the channel's, a source code unknown or expired on the day the
            order was placed (unless the channel defaults it) (each naming its field, lines as `lines.N.…`), a
            custom field value the order API would refuse (`custom_fields.<name>`; required ones must be given).
    """
    sales_channel = find_channel(uow, code=channel)
    if sales_channel is None:
        raise ValidationFailed.on("channel", f"no channel {channel!r}")
    currency = sales_channel.currency
    _check(uow, order, currency)
    checked = custom.check_values(uow, kind="order", values=order.custom_fields, creating=True)
    # The code is checked against the master list on the day it was placed (or becomes the channel's default).
    offer = marketing.resolve_source_code(
        uow, code=order.source_code, channel=sales_channel.code, on=order.placed_at.date()
    )
    line_codes = _line_codes(uow, order, sales_channel.code)
    existing = uow.session.scalar(
        sa.select(OrderRow).where(
            OrderRow.channel == sales_channel.code, OrderRow.external_id == order.external_id.strip()
        )
    )
    if existing is not None:
        lines = list(
            uow.session.scalars(
                sa.select(OrderLineRow)
                .where(OrderLineRow.order_id == existing.id)
                .order_by(OrderLineRow.line_no)
            )
        )
        return "unchanged", to_order(existing, lines, [])
    facts = catalog.selling_facts(uow, skus=[line.sku for line in order.lines])
    buyer = None
    if order.customer:
        try:
            buyer = customers.buyer_facts(uow, ref=order.customer)
        except NotFound:
            raise ValidationFailed.on("customer", f"no customer {order.customer!r}") from None
        if buyer.anonymized:
            raise ValidationFailed.on("customer", f"customer {buyer.number} was anonymized")
    zero = Money.zero(currency)
    order_id, now = new_id(), uow.now()
    lines = []
    for n, wanted in enumerate(order.lines):
        item = facts.get(catalog_rules.sku_key(wanted.sku))
        if item is None:
            raise ValidationFailed.on(f"lines.{n}.sku", f"no item with SKU {wanted.sku!r}")
        merchandise = wanted.unit_price * wanted.quantity
        lines.append(
            OrderLineRow(
                order_id=order_id,
                line_no=n + 1,
                item_id=item.id,
                sku=item.sku,
                name=item.name,
                quantity=wanted.quantity,
                ship_to=order.ship_to.ref,
                personalization={},
                gift_message="",
                unit_price_minor=wanted.unit_price.minor,
                price_list="imported",
                merchandise_minor=merchandise.minor,
                surcharge_minor=0,
                discount_minor=(wanted.discount or zero).minor,
                tax_minor=(wanted.tax or zero).minor,
                reserved=0,
                backordered=0,
                cancelled=wanted.quantity if order.status == "cancelled" else 0,
                shipped=wanted.quantity if order.status == "completed" else 0,
                returned=0,
                returnable=True,
                allocations=[],
                source_code=line_codes[n] if line_codes else None,  # never the typed text
            )
        )
    kept = dataclasses.replace(order, source_code=offer.code if offer else None)  # never the typed text
    row = _order_row(kept, sales_channel.code, sales_channel.division, currency, buyer, lines, order_id, now)
    row.number = new_order_number(uow)
    uow.insert_unique(OrderRow, row, f"order {order.external_id!r} of {sales_channel.code} exists")
    uow.execute_core(
        sa.insert(OrderLineRow.__table__),  # type: ignore[arg-type]
        [{c.name: getattr(line, c.key) for c in OrderLineRow.__table__.columns} for line in lines],
    )
    custom.write_values_many(uow, kind="order", checked={order_id: checked}, new=True)
    if buyer is not None and buyer.status == "prospect" and order.status == "completed":
        customers.record_first_order(uow, customer_id=buyer.id)
    facts_out = {
        "number": row.number,
        "channel": row.channel,
        "external_id": row.external_id,
        "placed_at": row.placed_at.isoformat(),
        "status": row.status,
        "total_minor": row.total_minor,
        "lines": len(lines),
    }
    audited = (
        {**facts_out, "custom_fields": custom.shown(uow, kind="order", checked=checked)}
        if checked
        else facts_out
    )
    uow.audit("order.imported", object_type="order", object_id=str(order_id), after=audited)
    uow.emit("order.imported", {"order_id": str(order_id), **facts_out})
    return "created", to_order(row, lines, [])


def _line_codes(uow: UnitOfWork, order: HistoricalOrder, channel: str) -> list[str | None]:
    """Each line's own source code, checked as the order's is (and as intake checks lines' codes, ADR 0038): the
    master list on the day the order was placed, or the channel's default; each distinct code read once; [] without
    reading anything when no line carries one.

    Raises:
        ValidationFailed: naming `lines.N.source_code`, for a code the channel neither accepts nor defaults.
    """
    if not any(line.source_code and line.source_code.strip() for line in order.lines):
        return []
    resolved: dict[str, str | None] = {}
    codes: list[str | None] = []
    for n, line in enumerate(order.lines):
        code = (line.source_code or "").strip()
        if code.upper() not in resolved:
            offer = marketing.resolve_source_code(
                uow, code=code, channel=channel, on=order.placed_at.date(), field=f"lines.{n}.source_code"
            )
            resolved[code.upper()] = offer.code if offer else None
        codes.append(resolved[code.upper()])
    return codes


def _order_row(
    order: HistoricalOrder,
    channel: str,
    division: str,
    currency: str,
    buyer: customers.BuyerFacts | None,
    lines: list[OrderLineRow],
    order_id: uuid.UUID,
    now: datetime,
) -> OrderRow:
    merchandise = sum(line.merchandise_minor for line in lines)
    discounts = sum(line.discount_minor for line in lines)
    tax = sum(line.tax_minor for line in lines)
    shipping = order.shipping.minor if order.shipping is not None else 0
    ship_to = order.ship_to
    return OrderRow(
        id=order_id,
        number="",
        channel=channel,
        division=division,
        external_id=order.external_id.strip(),
        customer_id=buyer.id if buyer else None,
        customer_number=buyer.number if buyer else None,
        email=(order.email or (buyer.email if buyer else "")).strip().lower(),
        status=order.status,
        payment_status="captured" if order.status == "completed" else "pending",
        fulfillment_status=fulfillment_status(lines),
        currency=currency,
        merchandise_minor=merchandise,
        surcharges_minor=0,
        discounts_minor=discounts,
        shipping_minor=shipping,
        tax_minor=tax,
        total_minor=max(0, merchandise - discounts + shipping + tax),
        source_code=order.source_code,  # checked against the master list by import_order
        coupons=[],
        billing={},
        payment={"instructions": [], "imported": True},
        pricing={"adjustments": [], "note": "imported as sold"},
        ship_tos=[{**ship_to_dict(ship_to), "shipping_minor": shipping, "shipping_tax_minor": 0}],
        allocation=[],
        address_key=rules.address_key(
            country=ship_to.country, postal_code=ship_to.postal_code, line1=ship_to.line1
        ),
        card_key="",
        priority=0,
        exchange_for=None,
        fulfillment="ship",
        store=None,
        placed_at=order.placed_at,
        imported=True,
        release_at=None,
        created_at=now,
        updated_at=now,
        version=1,
    )
