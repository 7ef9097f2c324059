"""Order capture: one path for every channel. Price through the pricing pipeline, check items and
personalization, hold stock for every line (or backorder it), evaluate the hold rules, write the order — all in one
transaction — and answer with the order.

Invariants: prices and totals come from our pricing, never from the caller; a refused order leaves stock, coupons
and orders as they were; a channel order is placed once, however often it is sent ((channel, external_id) is
unique).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from ordersmith.catalog import personalization
from ordersmith.catalog import rules as catalog_rules
from ordersmith.customers import service as customers
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import (
    Conflict,
    InsufficientStock,
    OrdersmithError,
    ValidationFailed,
)
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import rules
from ordersmith.orders.service._common import (
    ORDER_NUMBER_SEQUENCE,
    Order,
    fulfillment_status,
    load,
    new_order_number,
    to_order,
)
from ordersmith.orders.service.allocating import Wanted, apply_plan, item_refs, plan_stock, take_stock
from ordersmith.orders.service.holding import (
    ON_ACCOUNT,
    UNSCREENED_CHANNEL_KINDS,
    evaluate_holds,
    hold_rows,
    plugin_holds,
)
from ordersmith.orders.service.placed_events import placed_events
from ordersmith.orders.service.quoting import (
    Priced,
    buyer_of,
    explanation_of,
    items_of,
    line_offers_of,
    offer_of,
    quote_of,
)
from ordersmith.orders.service.requests import (
    OrderRequest,
    PaymentFact,
    check_shape,
    payment_dict,
    ship_to_dict,
)
from ordersmith.orders.tables import OrderHoldRow, OrderLineRow, OrderRow
from ordersmith.platform import plugins
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.sales_channels import SalesChannel
from ordersmith.pricing import service as pricing


@dataclass(frozen=True)
class Placed:
    order: Order
    created: bool  # False: this channel order existed already and is answered as it is


# --- capture ----------------------------------------------------------------------------------------------------


def _insert_order_statement(dialect: str) -> sa.TextClause:
    """INSERT the order unless (channel, external_id) exists, RETURNING its id and number. On PostgreSQL the
    number comes from a sequence inside the same statement (no lock held until commit)."""
    cache = _INSERTS.get(dialect)
    if cache is not None:
        return cache
    table = OrderRow.__table__
    names = [c.name for c in table.columns]  # names from our own table, never from input
    values = [
        f"CAST(nextval('{ORDER_NUMBER_SEQUENCE}') AS VARCHAR)"
        if name == "number" and dialect == "postgresql"
        else f":{name}"
        for name in names
    ]
    columns, placeholders = ", ".join(f'"{n}"' for n in names), ", ".join(values)
    sql = f"INSERT INTO orders ({columns}) VALUES ({placeholders}) "  # noqa: S608 - our own names; values are bound
    statement = sa.text(
        sql + 'ON CONFLICT ("channel", "external_id") DO NOTHING RETURNING id, number'
    ).bindparams(
        *(
            sa.bindparam(c.name, type_=c.type)
            for c in table.columns
            if not (c.name == "number" and dialect == "postgresql")
        )
    )
    _INSERTS[dialect] = statement
    return statement


_INSERTS: dict[str, sa.TextClause] = {}
_LINES: sa.Table = OrderLineRow.__table__  # type: ignore[assignment]
_HOLDS: sa.Table = OrderHoldRow.__table__  # type: ignore[assignment]


def place_order(
    uow: UnitOfWork,
    *,
    channel: SalesChannel,
    request: OrderRequest,
    priced: Priced | None = None,
    payment: PaymentFact | None = None,
    retry_whole: bool = False,
) -> Placed:
    """Place an order from `channel`: priced by our pricing (or `priced` by `price_order` before), stock held for
    every line (kits through their components) or backordered where the item allows, hold rules applied — one
    transaction. `payment` is checkout's decision about the payment (status, account, holds): the order is written
    once with it. Without it the order is written as billed later (status `pending`, no payment holds).
    `retry_whole`: inside a caller's transaction, let `inventory.StalePlan` (stock moved between the plan and the
    holds) reach the caller, which rolls back and runs its whole transaction again — no savepoint per attempt.

    A channel order (with `external_id`) sent again — even concurrently — answers with the first order
    (`created=False`) and changes nothing. Called inside an outer transaction (an Idempotency-Key's), a duplicate
    raises `AlreadyPlaced` instead: the caller rolls back and answers with `find_channel_order`.

    Raises:
        ValidationFailed: unknown SKU, customer, ship-to or method; a quantity below 1; an item not for sale;
            bad personalization; a coupon that cannot be used; a card number in the payment (each naming its
            field).
        InsufficientStock: a line without stock whose item cannot be backordered (409, naming the lines).
        Conflict: `coupon_exhausted` — a coupon's limit was reached meanwhile.
    """
    if priced is None:
        check_shape(request)
    nested = uow.active
    try:
        placing = _Placing(channel=channel, request=request, priced=priced, payment=payment)
        if nested and retry_whole:
            return Placed(order=_place(uow, placing), created=True)
        return Placed(order=_placed(uow, placing, nested=nested), created=True)
    except AlreadyPlaced:
        if nested:
            raise
    except OrdersmithError:
        # A duplicate that lost the race may fail on what the first one took (its stock, its coupon): if the
        # channel order exists now, that order is the answer.
        if request.external_id is None or nested:
            raise
        existing = find_channel_order(uow, channel=channel.code, external_id=request.external_id)
        if existing is None:
            raise
        return Placed(order=existing, created=False)
    found = find_channel_order(uow, channel=channel.code, external_id=request.external_id or "")
    assert found is not None  # it made our INSERT do nothing, and orders are never deleted
    return Placed(order=found, created=False)


_ATTEMPTS = 4


@dataclass(frozen=True)
class _Placing:
    channel: SalesChannel
    request: OrderRequest
    priced: Priced | None
    payment: PaymentFact | None  # None: billed later, no payment decided by checkout


def _placed(uow: UnitOfWork, placing: _Placing, *, nested: bool) -> Order:
    """Place the order; when stock moved between the plan and the holds (rare: another order took the units
    meanwhile), roll back and place it again from a fresh picture — a whole transaction each time, or a savepoint
    inside a caller's transaction."""
    for _ in range(_ATTEMPTS):
        if not nested:
            try:
                return _place(uow, placing)
            except inventory.StalePlan:
                continue
        mark = uow.checkpoint()
        try:
            with uow.session.begin_nested():
                return _place(uow, placing)
        except inventory.StalePlan:
            uow.rewind(mark)
    raise InsufficientStock(
        "stock kept moving while this order was placed; try again", requested=0, available=0
    )


class AlreadyPlaced(Exception):
    """This channel order exists already (another request placed it first)."""

    def __init__(self, channel: str, external_id: str) -> None:
        super().__init__(f"order {external_id} of {channel} exists")
        self.channel, self.external_id = channel, external_id


@use_case(readonly=True)
def find_channel_order(uow: UnitOfWork, *, channel: str, external_id: str) -> Order | None:
    """The order a channel sent under `external_id`, if it was placed."""
    row = uow.session.scalar(
        sa.select(OrderRow).where(OrderRow.channel == channel, OrderRow.external_id == external_id)
    )
    return load(uow, row) if row is not None else None


@use_case
def _place(uow: UnitOfWork, placing: _Placing) -> Order:
    channel, request, priced = placing.channel, placing.request, placing.priced
    payment = placing.payment or PaymentFact()
    now = uow.now()
    if priced is None:
        facts = items_of(uow, request)
        offer = offer_of(uow, request, channel)
        line_offers = line_offers_of(uow, request, channel)
        buyer = buyer_of(uow, request, channel, offer)
        quote = quote_of(uow, request, channel, buyer, facts, offer, line_offers)
    else:
        facts, quote, offer, line_offers = priced.items, priced.quote, priced.offer, priced.line_offers
        buyer = priced.buyer if request.new_customer is None else buyer_of(uow, request, channel, offer)
    currency = channel.currency
    order_id = new_id()
    line_items = [facts[catalog_rules.sku_key(line.sku)] for line in request.lines]
    # Personalized goods: not returnable when the template says so, and free text is read by a person first.
    review, non_returnable = False, set()
    templates: dict[str, catalog_rules.Template] = {}
    for n, (wanted, item) in enumerate(zip(request.lines, line_items, strict=True)):
        if item.personalization_template:
            template = templates.setdefault(
                item.personalization_template,
                personalization.get_template(uow, code=item.personalization_template),
            )
            if template.non_returnable:
                non_returnable.add(n)
            review = review or any(
                f.kind == "text" and f.characters is None and wanted.personalization.get(f.name)
                for f in template.fields
            )
    lines: list[OrderLineRow] = []
    own = line_offers or (None,) * len(request.lines)
    keyed = zip(request.lines, line_items, quote.lines, own, strict=True)
    for n, (wanted, item, line_price, line_offer) in enumerate(keyed):
        lines.append(
            OrderLineRow(
                order_id=order_id,
                line_no=n + 1,
                item_id=item.id,
                sku=item.sku,
                name=item.name,
                quantity=wanted.quantity,
                ship_to=wanted.ship_to,
                personalization=dict(wanted.personalization),
                gift_message=wanted.gift_message,
                unit_price_minor=line_price.unit_price.minor,
                price_list=line_price.price_list,
                merchandise_minor=line_price.merchandise.minor,
                surcharge_minor=line_price.surcharge.minor,
                discount_minor=line_price.discount.minor,
                tax_minor=line_price.tax.minor,
                reserved=0,
                backordered=0,
                cancelled=0,
                shipped=0,
                returned=0,
                returnable=n not in non_returnable,
                allocations=[],
                source_code=line_offer.code if line_offer else None,  # never the raw text
            )
        )
    first = request.ship_tos[0]
    card = payment.card_token or next(
        (p.token for p in request.payments if p.method in ("card", "gift_card", "paypal") and p.token), ""
    )
    on_account = payment.on_account or any(p.method == "on_account" for p in request.payments)
    order = OrderRow(
        id=order_id,
        number="",
        channel=channel.code,
        division=channel.division,
        external_id=request.external_id,
        customer_id=buyer.id if buyer else None,
        customer_number=buyer.number if buyer else None,
        email=(request.email or (buyer.email if buyer else "")).strip().lower(),
        status="pending",
        payment_status=payment.status,
        fulfillment_status="unallocated",
        currency=currency,
        merchandise_minor=quote.merchandise.minor,
        surcharges_minor=quote.surcharges.minor,
        discounts_minor=quote.discounts.minor,
        shipping_minor=quote.shipping_total.minor,
        tax_minor=quote.tax.minor,
        total_minor=quote.total.minor,
        source_code=offer.code if offer else None,  # never the raw text: a code of the master list
        coupons=sorted({c.upper() for c in request.coupons}),
        billing=dict(request.billing or {}),
        payment={"instructions": [payment_dict(p) for p in request.payments]},
        pricing=explanation_of(quote),
        ship_tos=[
            {
                **ship_to_dict(s),
                "shipping_minor": quote.shipping.get(s.ref, Money.zero(currency)).minor,
                "shipping_tax_minor": quote.shipping_tax.get(s.ref, Money.zero(currency)).minor,
            }
            for s in request.ship_tos
        ],
        allocation=[],
        address_key=rules.address_key(
            country=first.country, postal_code=first.postal_code, line1=first.line1
        ),
        card_key=ON_ACCOUNT
        if on_account
        else (hashlib.sha256(card.encode()).hexdigest()[:32] if card else ""),
        priority=request.priority,
        exchange_for=None,
        placed_at=request.placed_at or now,
        imported=False,
        release_at=None,
        created_at=now,
        updated_at=now,
        version=1,
    )
    # Stock: every stocked line (kits through their components) held in one batch, or backordered.
    refs = item_refs(facts)
    store, store_division = _store_of(uow, channel, request)
    order.fulfillment, order.store = request.fulfillment, store
    stocked = [
        Wanted(line, line.quantity, item.backorderable and store is None)
        for line, item in zip(lines, line_items, strict=True)
        if item.kind == "kit" or refs[item.sku.upper()].keeps_stock
    ]
    # Planned now from one picture; held last, just before the commit, so hot stock rows stay locked briefly.
    plan = plan_stock(
        uow, order=order, wanted=stocked, items=refs, only_location=store, division=store_division
    )
    apply_plan(plan)
    outcome = plan.outcome
    for line in lines:
        line.backordered = outcome.backordered.get(line.line_no, 0)
    order.allocation = outcome.explanation
    order.fulfillment_status = fulfillment_status(lines)
    # Holds.
    found = evaluate_holds(uow, order, buyer=buyer, screen_fraud=channel.kind not in UNSCREENED_CHANNEL_KINDS,
                           first_order=buyer is None or buyer.status == "prospect", review=review,
                           credit_decided=placing.payment is not None and payment.on_account)  # fmt: skip
    found += [
        rules.Hold(reason, note) for reason, note in payment.holds if reason not in {h.reason for h in found}
    ]
    # Plugins' hold rules (docs/guides/plugins.md); without plugins an empty tuple, and nothing more is done.
    if hold_rules := plugins.contributions("hold_rule"):
        found += [
            hold
            for hold in plugin_holds(order, lines, first_order=buyer is None or buyer.status == "prospect",
                                     rules_=hold_rules)
            if hold.reason not in {h.reason for h in found}
        ]  # fmt: skip
    order.status = "on_hold" if found else ("released" if request.release else "pending")
    if order.status == "released" and channel.release_after_s and request.fulfillment != "taken":
        # The channel's edit window: pending (editable) until the release job releases it at `release_at`.
        order.status, order.release_at = "pending", now + timedelta(seconds=channel.release_after_s)
    if request.fulfillment == "taken":
        if found:
            raise Conflict(
                "a sale carried out of the store cannot wait on hold: " + ", ".join(h.reason for h in found)
            )
        _hand_over(order, lines)
    # Write: the order (claiming (channel, external_id) and its number), its lines, holds and events.
    values = {c.name: getattr(order, c.key) for c in OrderRow.__table__.columns}
    if uow.dialect != "postgresql":
        order.number = new_order_number(uow)
        values["number"] = order.number
    else:
        values.pop("number")
    claimed = uow.execute_core(_insert_order_statement(uow.dialect), values).first()
    if claimed is None:
        raise AlreadyPlaced(channel.code, request.external_id or "")
    order.number = claimed.number
    # The rest waits for the commit: one statement for every table on PostgreSQL (platform.pending_rows).
    uow.insert_at_commit(_LINES, [{c.name: getattr(line, c.key) for c in _LINES.columns} for line in lines])
    new_holds = hold_rows(order, found, uow)
    uow.insert_at_commit(_HOLDS, [{c.name: getattr(h, c.key) for c in _HOLDS.columns} for h in new_holds])
    for code in order.coupons:
        pricing.redeem_coupon(
            uow, code=code, key=f"order:{order.id}:{code}", customer=str(buyer.id) if buyer else None
        )
    if buyer is not None and buyer.status == "prospect":
        customers.record_first_order(uow, customer_id=buyer.id)
    if buyer is not None and offer is not None:
        customers.record_source_code(uow, customer_id=buyer.id, code=offer.code)
    placed_events(uow, order, lines, found, outcome.backordered)
    take_stock(uow, plan, locks_last=True)  # StalePlan: the caller rolls back and places the order again
    if request.fulfillment == "taken":  # the goods left with the customer: their holds are consumed at once
        inventory.consume_all(uow, keys=[key for _, _, _, key in plan.placed])
    uow.audit(
        "order.placed",
        object_type="order",
        object_id=str(order.id),
        after={
            "number": order.number,
            "channel": order.channel,
            "status": order.status,
            "total_minor": order.total_minor,
            "lines": len(lines),
        },
    )
    return to_order(order, lines, new_holds)


def _store_of(uow: UnitOfWork, channel: SalesChannel, request: OrderRequest) -> tuple[str | None, str | None]:
    """The store a taken or pickup order is served from (a location of kind store) and the division its stock
    serves; (None, None) for shipped orders.

    Raises:
        ValidationFailed: not a store, or goods handed over at the sale from a channel that is not a store's till.
    """
    if request.fulfillment == "ship" or request.store is None:
        return None, None
    location = inventory.get_location(uow, code=request.store)
    if location.kind != "store" or not location.active:
        raise ValidationFailed.on("store", f"{request.store} is not an open store")
    if request.fulfillment == "taken" and channel.kind != "pos":
        raise ValidationFailed.on(
            "fulfillment", "only a store's till (a POS channel) hands goods over at the sale"
        )
    return location.code, location.division


def _hand_over(order: OrderRow, lines: list[OrderLineRow]) -> None:
    """A store sale carried out at once: every held part is shipped in the order's own first write."""
    if any(line.backordered for line in lines):
        raise InsufficientStock("the store does not have every line on hand", requested=0, available=0)
    for line in lines:
        line.allocations = [{**part, "status": "shipped"} for part in line.allocations]
        line.shipped, line.reserved = line.reserved, 0
    order.status = "shipped"
    order.fulfillment_status = fulfillment_status(lines)
