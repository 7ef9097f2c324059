"""Demo orders: a year of history from every channel, placed and paid through the same services as real orders
(each at its own moment on a fixed clock), then shipped (and captured or invoiced), cancelled (voided), returned
(refunded) or left open as a real year leaves them. Cards are sandbox test cards entered in the vault; mail orders
pay by check, business accounts on account, some web orders with a gift card.

Stock is topped up the way purchase orders would have kept it (a receipt when a line would not fit), so the
ledger stays consistent and verifiable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from datetime import datetime, timedelta
from decimal import Decimal

from ordersmith.catalog import service as catalog
from ordersmith.checkout import rules as checkout_rules
from ordersmith.checkout import service as checkout
from ordersmith.customers import service as customers
from ordersmith.demo._framework import DemoReport, loader
from ordersmith.inventory import service as inventory
from ordersmith.kernel.clock import FixedClock, utcnow
from ordersmith.kernel.errors import InsufficientStock, OrdersmithError
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import sales_channels
from ordersmith.platform.access import SCOPES, Principal
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings

_STAFF = Principal(kind="user", id=None, label="demo", scopes=frozenset(SCOPES), role="admin")
# The demo loads a year of history: an import (it says when each order was placed), through each channel's kind.
_IMPORT_CALLER = {
    kind: checkout_rules.Caller(channel_kind=kind, scopes=frozenset(SCOPES))
    for kind in ("web", "call_center", "catalog", "marketplace", "pos", "wholesale")
}
# (city, region, postal code): the demo ships across the US
_PLACES = [("New York", "NY", "10001"), ("Brooklyn", "NY", "11201"), ("Boston", "MA", "02108"),
           ("Philadelphia", "PA", "19103"), ("Chicago", "IL", "60601"), ("Austin", "TX", "78701"),
           ("Denver", "CO", "80202"), ("Seattle", "WA", "98101"), ("Portland", "OR", "97205"),
           ("San Francisco", "CA", "94105"), ("Los Angeles", "CA", "90012"), ("Miami", "FL", "33130")]  # fmt: skip
_STREETS = ["Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Park Pl", "Elm St", "Lake Rd", "Hill St"]
# channel -> share of orders, shipping methods it uses
_CHANNEL_MIX = {"web": 0.45, "call-center": 0.2, "catalog-mail": 0.1, "amazon-us": 0.15, "store-pos": 0.1}
_METHODS = ["ground", "ground", "ground", "express"]
# The sandbox processor's approving test cards; each expiry makes another vault token (another customer's card).
_TEST_CARDS = [
    "4242424242424242",
    "5555555555554444",
    "378282246310005",
    "6011111111111117",
    "4000056655665556",
]


def _card_tokens(db: Database) -> list[str]:
    vault = payments.wiring(db.unit_of_work(Actor.system("demo"))).vault
    return [vault.tokenize(number=number, exp_month=month, exp_year=year, holder="Demo Customer",
                           actor="demo").token
            for number in _TEST_CARDS for month in range(1, 13) for year in range(2028, 2034)]  # fmt: skip


def _tender(code: str, n: int, rng: random.Random, cards: list[str], gift_codes: list[str],
            on_terms: bool) -> list[orders.PaymentRequest]:  # fmt: skip
    """How each channel's customers pay."""
    if code == "amazon-us":
        return [orders.PaymentRequest(method="marketplace", reference=f"AMZ-SETTLE-{n // 200:04d}")]
    if code == "store-pos":
        return [orders.PaymentRequest(method="cash")]
    card = orders.PaymentRequest(method="card", token=rng.choice(cards))
    if code == "catalog-mail" and rng.random() < 0.4:
        return [orders.PaymentRequest(method="check", reference=str(2000 + n), bank=rng.choice(_BANKS))]
    if code == "call-center" and on_terms:
        return [orders.PaymentRequest(method="on_account")]
    if code == "web" and gift_codes and rng.random() < 0.05:
        return [orders.PaymentRequest(method="gift_card", token=gift_codes.pop()), card]
    return [card]


_BANKS = ["First National", "Harbor Savings", "Union Trust", "Prairie Credit Union"]


def _channels(db: Database) -> dict[str, sales_channels.SalesChannel]:
    uow = db.unit_of_work(Actor.system("demo"))
    return {c.code: c for c in sales_channels.list_sales_channels(uow, principal=_STAFF, limit=100).items}


def _sellable(db: Database) -> list[str]:
    """Active stocked items and kits (the ones the retail price list prices), most popular first by a fixed
    shuffle: demand then follows a Zipf-like curve over them."""
    uow = db.unit_of_work(Actor.system("demo"))
    skus: list[str] = []
    cursor = None
    while True:
        page = catalog.list_items(uow, status="active", limit=200, cursor=cursor)
        skus += [i.sku for i in page.items if i.kind in ("stocked", "kit") and not i.personalization_template]
        cursor = page.next_cursor
        if cursor is None:
            break
    random.Random(7).shuffle(skus)
    return skus


def _top_up(db: Database, clock: FixedClock, sku: str, division: str) -> None:
    """Receive stock of `sku` (a kit: its components) where the division can reach it, as a PO would have."""
    uow = db.unit_of_work(Actor.system("demo receiving"), clock=clock)
    item = catalog.get_item_ref(uow, sku=sku)
    parts = [c for c, _ in catalog.kit_components(uow, kit_id=item.id)] if item.kind == "kit" else [item]
    location = "STORE-NYC" if division == "store" else "DC-EAST"
    for part in parts:
        inventory.adjust_stock(uow, sku=part.sku, location=location, quantity=60, reason="receipt",
                               reference="demo replenishment")  # fmt: skip


def _settle_receivables(
    db: Database, placed: orders.Order, at: datetime, age: timedelta, rng: random.Random
) -> None:
    """Checks are deposited and clear (a few bounce); customers on account pay most invoices within their terms."""
    if age < timedelta(days=10):
        return
    office = db.unit_of_work(
        Actor.system("demo accounts receivable"), clock=FixedClock(at + timedelta(days=5))
    )
    for payment in payments.order_payments(office, order_id=placed.id):
        if payment.method == "check" and payment.check_status == "received":
            payments.move_check(office, payment_id=payment.id, action="deposit")
            if rng.random() < 0.02:
                payments.move_check(office, payment_id=payment.id, action="bounce", note="returned: NSF")
            else:
                payments.move_check(office, payment_id=payment.id, action="clear")
    if age < timedelta(days=40):
        return
    later = db.unit_of_work(
        Actor.system("demo accounts receivable"), clock=FixedClock(at + timedelta(days=25))
    )
    for invoice in payments.list_invoices(later, order_id=placed.id).items:
        if invoice.status == "open" and rng.random() < 0.8:
            payments.apply_invoice_payment(later, invoice=invoice.number, amount=invoice.balance, method="check",
                                           reference=f"remittance {invoice.number}")  # fmt: skip


@loader("orders: a year of orders from every channel", stage=50)
def _orders(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    if orders.list_orders(uow, limit=1).items:
        return
    rng = random.Random(2026)
    channels = _channels(db)
    skus = _sellable(db)
    weights = [1 / (rank + 1) for rank in range(len(skus))]
    numbers = [f"C-{100001 + n}" for n in range(1000)]
    now = utcnow().replace(microsecond=0)
    count = settings.demo_orders
    times = sorted(now - timedelta(seconds=rng.randint(60, 365 * 86400)) for _ in range(count))
    mix = list(_CHANNEL_MIX)
    cards = _card_tokens(db)
    issuer = db.unit_of_work(Actor.system("demo manager"), clock=FixedClock(times[0] if times else now))
    gift_codes = [payments.issue(issuer, amount=Money(Decimal(rng.choice([25, 50, 100])), "USD"),
                                 note="demo: sold at the holidays").code for _ in range(60)]  # fmt: skip
    terms: dict[str, bool] = {}
    made = shipped = cancelled = returned = held = 0
    refused: dict[str, int] = {}  # what a real channel would also have had refused
    for n, at in enumerate(times):
        code = rng.choices(mix, weights=list(_CHANNEL_MIX.values()))[0]
        channel = channels[code]
        city, region, postal = rng.choice(_PLACES)
        guest = code in ("amazon-us", "store-pos") or rng.random() < 0.1
        lines: dict[str, int] = {}
        for sku in rng.choices(skus, weights=weights, k=rng.choice([1, 1, 1, 2, 2, 3])):
            lines[sku] = lines.get(sku, 0) + rng.choice([1, 1, 1, 2])
        request = orders.OrderRequest(
            lines=[orders.LineRequest(sku=sku, quantity=q) for sku, q in lines.items()],
            ship_tos=[orders.ShipToRequest(ref="main", name=f"Customer {n}", line1=f"{rng.randint(1, 999)} "
                                           f"{rng.choice(_STREETS)}", city=city, region=region, postal_code=postal,
                                           country="US", method=rng.choice(_METHODS))],
            customer=None if guest else rng.choice(numbers),
            external_id=f"{code.upper()}-{n:06d}" if code in ("web", "amazon-us") else None,
            source_code=rng.choice(["FALL26", "SPRING26", "HOLIDAY25", None]) if code == "catalog-mail" else None,
            placed_at=at,
        )  # fmt: skip
        if request.customer and code == "call-center" and request.customer not in terms:
            facts = customers.buyer_facts(db.unit_of_work(Actor.system("demo")), ref=request.customer)
            terms[request.customer] = bool(facts.payment_terms)
        on_terms = bool(request.customer and terms.get(request.customer))
        request = dataclasses.replace(request, payments=_tender(code, n, rng, cards, gift_codes, on_terms))
        if rng.random() < 0.005:  # a mistyped postal code: the address rule holds the order
            request = dataclasses.replace(request, ship_tos=[dataclasses.replace(request.ship_tos[0],
                                                                                  postal_code=postal[:4])])  # fmt: skip
        clock = FixedClock(at)
        placed = None
        for _ in range(3):
            try:
                placed = checkout.place_order(db.unit_of_work(Actor.system(f"channel {code}"), clock=clock),
                                              channel=channel, caller=_IMPORT_CALLER[channel.kind],
                                              request=request).order  # fmt: skip
                break
            except InsufficientStock:
                for sku in lines:
                    _top_up(db, clock, sku, channel.division)
            except OrdersmithError as exc:
                refused[exc.detail[:60]] = refused.get(exc.detail[:60], 0) + 1
                break
        if placed is None:
            continue
        made += 1
        age = now - at
        staff = db.unit_of_work(Actor.system("demo staff"), clock=FixedClock(at + timedelta(hours=2)))
        if placed.status == "released" and age < timedelta(days=3) and rng.random() < 0.1:
            orders.hold_order(staff, ref=placed.number, note="customer asked us to wait for a second parcel")
            placed = orders.get_order(staff, ref=placed.number)
        if placed.status == "on_hold":
            if age < timedelta(days=3):
                held += 1
                continue
            if any(h.reason == "undeliverable" for h in placed.holds):
                fix = orders.OrderChanges(ship_tos=[{"ref": "main", "postal_code": postal}])
                orders.edit_order(staff, ref=placed.number, expected_version=placed.version, changes=fix)
            orders.release_order(
                staff, ref=placed.number, note="reviewed: address corrected / genuine customer"
            )
        if age < timedelta(days=2) or any(line.backordered for line in placed.lines):
            continue
        if rng.random() < 0.03:
            orders.cancel_order(
                staff, ref=placed.number, reason=rng.choice(["customer changed mind", "duplicate"])
            )
            payments.settle_cancelled(staff, order_id=placed.id)
            cancelled += 1
            continue
        warehouse = db.unit_of_work(Actor.system("demo warehouse"), clock=FixedClock(at + timedelta(days=1)))
        orders.record_shipment(warehouse, ref=placed.number, tracking=f"1Z{n:010d}")
        payments.capture_shipped(warehouse, order_id=placed.id)
        shipped += 1
        _settle_receivables(db, placed, at, age, rng)
        if age > timedelta(days=10) and rng.random() < 0.04:
            service = db.unit_of_work(Actor.system("demo returns"), clock=FixedClock(at + timedelta(days=8)))
            reason = rng.choice(["changed_mind", "wrong_size", "damaged"])
            first = placed.lines[0]
            try:
                rma = orders.authorize_return(service, order_ref=placed.number,
                                              lines=[orders.ReturnLineRequest(first.line_no, 1, reason)])  # fmt: skip
            except OrdersmithError:
                continue
            dock = db.unit_of_work(Actor.system("demo returns"), clock=FixedClock(at + timedelta(days=12)))
            disposition = "scrap" if reason == "damaged" else "restock"
            received = orders.receive_return(dock, ref=rma.number, location="DC-EAST",
                                             lines=[orders.ReceivedLine(first.line_no, 1, disposition)])  # fmt: skip
            if received.refund_due.minor > 0:
                # (a check not yet deposited has nothing captured to give back yet)
                with contextlib.suppress(OrdersmithError):
                    payments.refund_order(dock, order_id=placed.id, amount=received.refund_due, return_id=rma.id,
                                          reason=f"return {rma.number}: {reason}")  # fmt: skip
            returned += 1
    report.say(
        f"{made} orders over the last year ({shipped} shipped, {cancelled} cancelled, {returned} returned, "
        f"{held} on hold), paid by sandbox cards, checks, accounts, gift cards, marketplace and cash"
    )
    for reason, times_refused in sorted(refused.items()):
        report.say(f"  refused {times_refused}x: {reason}")  # fmt: skip
