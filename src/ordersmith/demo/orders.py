"""Demo orders: a year of history from every channel, placed and paid through the same services as real orders
(each at its own moment on a fixed clock), then shipped (and captured or invoiced), cancelled (voided), returned
(refunded) or left open as a real year leaves them. Cards are sandbox test cards entered in the vault; mail orders
pay by check, business accounts on account, some web orders with a gift card. The last weeks' orders are shipped
day by day through the warehouse's waves (a few to an address the carrier cannot reach: tracking exceptions),
and some buy furniture its vendor ships itself (drop-ship, confirmed by the vendor after a few days).

Orders are counted done a day at a time: a day's orders are finished when its waves have shipped them, so a load
killed inside a day takes that day's orders on again (each step looks at the state first).

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
from ordersmith.demo import fulfillment as demo_fulfillment
from ordersmith.demo._framework import DemoReport, finished, loader, progress, started
from ordersmith.demo.marketing import codes_on
from ordersmith.demo.purchasing import DEMO_DROP_SHIP
from ordersmith.fulfillment import service as fulfillment
from ordersmith.fulfillment.carriers.sandbox import EXCEPTION_POSTAL
from ordersmith.inventory import service as inventory
from ordersmith.kernel.clock import FixedClock, utcnow
from ordersmith.kernel.errors import InsufficientStock, NotFound, OrdersmithError
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
    if item.kind != "kit" and not item.keeps_stock:
        return  # a drop-ship item: its vendor ships it
    parts = [c for c, _ in catalog.kit_components(uow, kit_id=item.id)] if item.kind == "kit" else [item]
    location = "STORE-NYC" if division == "store" else "DC-EAST"
    for part in parts:
        inventory.adjust_stock(uow, sku=part.sku, location=location, quantity=60, reason="receipt",
                               reference="demo replenishment")  # fmt: skip


def _settle_receivables(
    db: Database, placed: orders.Order, at: datetime, age: timedelta, *, bounces: bool, pays: bool
) -> None:
    """Checks are deposited and clear (a few bounce); customers on account pay most invoices within their terms.
    Each check goes on from the state it is in (a killed load may have deposited it already)."""
    if age < timedelta(days=10):
        return
    office = db.unit_of_work(
        Actor.system("demo accounts receivable"), clock=FixedClock(at + timedelta(days=5))
    )
    for payment in payments.order_payments(office, order_id=placed.id):
        if payment.method != "check" or payment.check_status not in ("received", "deposited"):
            continue
        if payment.check_status == "received":
            payments.move_check(office, payment_id=payment.id, action="deposit")
        if bounces:
            payments.move_check(office, payment_id=payment.id, action="bounce", note="returned: NSF")
        else:
            payments.move_check(office, payment_id=payment.id, action="clear")
    if age < timedelta(days=40):
        return
    later = db.unit_of_work(
        Actor.system("demo accounts receivable"), clock=FixedClock(at + timedelta(days=25))
    )
    for invoice in payments.list_invoices(later, order_id=placed.id).items:
        if invoice.status == "open" and pays:
            payments.apply_invoice_payment(later, invoice=invoice.number, amount=invoice.balance, method="check",
                                           reference=f"remittance {invoice.number}")  # fmt: skip


_GIFT_CARDS = 60  # sold at the holidays; web orders spend them
_FURNITURE = 0.08  # of the recent web and call-center orders add a piece the vendor ships (drop-ship)
_UNREACHABLE = 0.05  # of the recent parcels go where the carrier cannot deliver (a tracking exception)
_DROP_SHIP_SINCE = timedelta(days=45)  # the furniture vendor's drop-ship programme began this long ago
_LABELLED = timedelta(days=10)  # the latest parcels carry sandbox-carrier labels (and are tracked)
_VENDOR_CONFIRMS = timedelta(days=4)  # the drop-ship vendor confirms after this; younger ones are still open
_VENDOR_LATE = 0.25  # of the drop-ship orders the vendor has not confirmed yet, whatever their age


@dataclasses.dataclass
class _Planned:
    """One demo order as drawn from its own seeded generator: the same every time, whatever ran before it."""

    n: int
    code: str
    request: orders.OrderRequest  # without its tenders (they depend on the database: terms, gift cards)
    postal: str  # the right postal code (the request may carry a typo)
    card: int  # which of the test-card tokens
    check: bool  # a mail order paid by check
    bank: str
    gift: int | None  # the gift card's amount in dollars, when the order spends one
    rng: random.Random  # what happens to the order next is drawn from here


def _plan(
    n: int,
    at: datetime,
    customer_count: int,
    skus: list[str],
    weights: list[float],
    *,
    now: datetime,
    drop: list[str],
) -> _Planned:
    rng = random.Random(f"ordersmith demo order {n}")
    code = rng.choices(list(_CHANNEL_MIX), weights=list(_CHANNEL_MIX.values()))[0]
    city, region, postal = rng.choice(_PLACES)
    guest = code in ("amazon-us", "store-pos") or rng.random() < 0.1
    lines: dict[str, int] = {}
    for sku in rng.choices(skus, weights=weights, k=rng.choice([1, 1, 1, 2, 2, 3])):
        lines[sku] = lines.get(sku, 0) + rng.choice([1, 1, 1, 2])
    ship_to = orders.ShipToRequest(ref="main", name=f"Customer {n}", line1=f"{rng.randint(1, 999)} "
                                   f"{rng.choice(_STREETS)}", city=city, region=region, postal_code=postal,
                                   country="US", method=rng.choice(_METHODS))  # fmt: skip
    customer = None if guest else f"C-{100001 + rng.randrange(customer_count)}"
    # A catalog order quotes the key code on the back of the book in hand (one valid that day), or none at all.
    books = codes_on(now, at) if code in ("catalog-mail", "call-center") else []
    source_code = rng.choice([*books, None]) if books else None
    card, check, bank = rng.randrange(len(_TEST_CARDS) * 72), rng.random() < 0.4, rng.choice(_BANKS)
    gift = rng.choice([25, 50, 100]) if code == "web" and rng.random() < 0.05 else None
    if rng.random() < 0.005:  # a mistyped postal code: the address rule holds the order
        ship_to = dataclasses.replace(ship_to, postal_code=postal[:4])
    # Drawn for every order, used for the recent ones: furniture its vendor ships, a parcel the carrier cannot bring.
    furniture, unreachable, piece = rng.random(), rng.random(), rng.randrange(max(1, len(drop)))
    if drop and code in ("web", "call-center") and furniture < _FURNITURE and now - at <= _DROP_SHIP_SINCE:
        lines[drop[piece]] = 1
    if unreachable < _UNREACHABLE and now - at <= _LABELLED and code != "store-pos":
        ship_to = dataclasses.replace(ship_to, postal_code=EXCEPTION_POSTAL)
    till = code == "store-pos"  # a store's sale: carried out of the New York store at the till
    request = orders.OrderRequest(
        lines=[orders.LineRequest(sku=sku, quantity=q) for sku, q in lines.items()],
        ship_tos=[ship_to], customer=customer, external_id=f"{code.upper()}-{n:06d}", source_code=source_code,
        placed_at=at, fulfillment="taken" if till else "ship", store="STORE-NYC" if till else None,
    )  # fmt: skip
    return _Planned(n, code, request, postal, card, check and code == "catalog-mail", bank, gift, rng)


def _tender(
    planned: _Planned, cards: list[str], gift_code: str | None, on_terms: bool
) -> list[orders.PaymentRequest]:
    """How each channel's customers pay."""
    if planned.code == "amazon-us":
        return [orders.PaymentRequest(method="marketplace", reference=f"AMZ-SETTLE-{planned.n // 200:04d}")]
    if planned.code == "store-pos":
        return [orders.PaymentRequest(method="cash")]
    card = orders.PaymentRequest(method="card", token=cards[planned.card % len(cards)])
    if planned.check:
        return [orders.PaymentRequest(method="check", reference=str(2000 + planned.n), bank=planned.bank)]
    if planned.code == "call-center" and on_terms:
        return [orders.PaymentRequest(method="on_account")]
    if gift_code is not None:
        return [orders.PaymentRequest(method="gift_card", token=gift_code), card]
    return [card]


@dataclasses.dataclass
class _Tally:
    made: int = 0
    shipped: int = 0
    cancelled: int = 0
    returned: int = 0
    held: int = 0
    waved: int = 0  # shipments shipped through waves
    drop_shipped: int = 0  # drop-ship shipments their vendor confirmed
    refused: dict[str, int] = dataclasses.field(default_factory=dict)  # what a real channel would also refuse


@dataclasses.dataclass
class _Shop:
    """What every order needs, read once per load."""

    channels: dict[str, sales_channels.SalesChannel]
    cards: list[str]
    gift_ranks: dict[int, int]  # order -> which of the holiday gift cards it spends
    first_at: datetime
    carrier_clock: FixedClock  # the sandbox carrier's: set to each day's shipping hour
    terms: dict[str, bool] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _ToShip:
    """A recent order waiting for its day's waves, with what happens to it once shipped (drawn already)."""

    placed: orders.Order
    at: datetime
    age: timedelta
    bounces: bool
    pays: bool
    returns: bool
    reason: str
    # It has lines its vendor ships, and the vendor confirms them (a late vendor's wait on the Drop-ship screen).
    furniture: bool


@loader("orders: a year of orders from every channel", stage=50, units=lambda s: s.demo_orders)
def _orders(db: Database, settings: Settings, report: DemoReport) -> None:
    """Orders one at a time, counted in the load's progress row a day at a time, when everything that happens to
    that day's orders has happened: a load killed part-way goes on from the first order not counted. That order
    may exist already (placed, then the load died): it is found by its external id, never placed twice, and taken
    on from where its state shows it stopped."""
    uow = db.unit_of_work(Actor.system("demo"))
    done = progress(uow, step="orders")
    if done is None:
        if orders.list_orders(uow, limit=1).items:
            return  # loaded before loads recorded their progress
        started(uow, step="orders")
        done = 0
    count = settings.demo_orders
    if done >= count:
        return
    if done:
        _answer_lost_calls(db)
    now = utcnow().replace(microsecond=0)
    offsets = random.Random(2026)
    # Each order's age is fixed by its number; its moment moves with the load's start, as "a year until now".
    times = sorted(now - timedelta(seconds=offsets.randint(60, 365 * 86400)) for _ in range(count))
    skus = _sellable(db)
    weights = [1 / (rank + 1) for rank in range(len(skus))]
    drop = _drop_ship_skus(db)
    plans = [
        _plan(n, at, settings.demo_customers, skus, weights, now=now, drop=drop) for n, at in enumerate(times)
    ]
    spending = [p.n for p in plans if p.gift is not None][:_GIFT_CARDS]
    shop = _Shop(channels=_channels(db), cards=_card_tokens(db), carrier_clock=FixedClock(times[0]),
                 gift_ranks={n: rank for rank, n in enumerate(spending)}, first_at=times[0])  # fmt: skip
    tally = _Tally()
    # The sandbox carrier on the demo's clock: each label is bought at the hour its parcel left.
    fulfillment.setup_fulfillment(db, settings, clock=shop.carrier_clock)
    try:
        _by_day(db, shop, plans[done:], now, tally)
    finally:
        fulfillment.setup_fulfillment(db, settings)
    report.say(
        f"{tally.made} orders over the last year ({tally.shipped} shipped, {tally.cancelled} cancelled, "
        f"{tally.returned} returned, {tally.held} on hold), paid by sandbox cards, checks, accounts, gift cards, "
        f"marketplace and cash; {tally.waved} shipments shipped through waves with packages and tracking, "
        f"{tally.drop_shipped} drop-ship shipments confirmed by their vendor"
        + (f" (orders {done + 1} … {count}: the rest were loaded before)" if done else "")
    )
    for reason, times_refused in sorted(tally.refused.items()):
        report.say(f"  refused {times_refused}x: {reason}")  # fmt: skip


def _by_day(db: Database, shop: _Shop, plans: list[_Planned], now: datetime, tally: _Tally) -> None:
    """The orders in time order, a day (counted back from `now`) at a time: each day closes before the next
    day's first order is placed, so its waves hold that day's work and nothing later."""
    day: int | None = None
    waiting: list[_ToShip] = []
    unfinished = 0
    for planned in plans:
        age_days = (now - (planned.request.placed_at or now)) // timedelta(days=1)
        if day is not None and age_days != day:
            _close_day(db, shop, now, day, waiting, unfinished, tally)
            waiting, unfinished = [], 0
        day = age_days
        to_ship = _one_order(db, shop, planned, now, tally)
        if to_ship is not None:
            waiting.append(to_ship)
        unfinished += 1
    if day is not None:
        _close_day(db, shop, now, day, waiting, unfinished, tally)


def _answer_lost_calls(db: Database) -> None:
    """A load killed while it waited for the processor left pending rows (a capture claimed, never settled):
    settle them now with the same keys, as the worker's job would, before any order is taken on."""
    office = db.unit_of_work(Actor.system("demo"))
    while payments.resolve_pending_authorizations(
        office, older_than_s=0
    ) + payments.resolve_pending_operations(office, older_than_s=0):
        pass


def _place(db: Database, shop: _Shop, planned: _Planned, tally: _Tally) -> orders.Order | None:
    """Place the planned order (the one placed before, when a killed load got that far), or None if refused."""
    channel = shop.channels[planned.code]
    assert planned.request.external_id is not None
    existing = orders.find_channel_order(
        db.unit_of_work(Actor.system("demo")), channel=channel.code, external_id=planned.request.external_id
    )
    if existing is not None:
        return existing
    request = planned.request
    customer = request.customer
    if customer and planned.code == "call-center" and customer not in shop.terms:
        facts = customers.buyer_facts(db.unit_of_work(Actor.system("demo")), ref=customer)
        shop.terms[customer] = bool(facts.payment_terms)
    gift_code = None
    if planned.gift is not None and planned.n in shop.gift_ranks:
        issuer = db.unit_of_work(Actor.system("demo manager"), clock=FixedClock(shop.first_at))
        gift_code = payments.issue(issuer, amount=Money(Decimal(planned.gift), "USD"),
                                   note="demo: sold at the holidays").code  # fmt: skip
    on_terms = bool(customer and shop.terms.get(customer))
    request = dataclasses.replace(request, payments=_tender(planned, shop.cards, gift_code, on_terms))
    clock = FixedClock(request.placed_at or utcnow())
    for _ in range(3):
        try:
            return checkout.place_order(db.unit_of_work(Actor.system(f"channel {channel.code}"), clock=clock),
                                        channel=channel, caller=_IMPORT_CALLER[channel.kind],
                                        request=request).order  # fmt: skip
        except InsufficientStock:
            for line in request.lines:
                _top_up(db, clock, line.sku, channel.division)
        except OrdersmithError as exc:
            tally.refused[exc.detail[:60]] = tally.refused.get(exc.detail[:60], 0) + 1
            return None
    return None


def _one_order(db: Database, shop: _Shop, planned: _Planned, now: datetime, tally: _Tally) -> _ToShip | None:
    """Place one order and do to it what a year does: hold, release, cancel, ship, settle, return. Each step looks
    at the order's state first, so an order a killed load left half-way is taken on, not done twice. An order to
    ship is returned instead of shipped: its day's waves ship it (then `_after_shipping`)."""
    placed = _place(db, shop, planned, tally)
    if placed is None:
        return None
    tally.made += 1
    at = planned.request.placed_at or now
    rng, age = planned.rng, now - at
    # Every draw is made whatever the order's state, so an order taken on draws as it did the first time.
    wait, cancel, ret, bounces, pays = (rng.random() for _ in range(5))
    why = rng.choice(["customer changed mind", "duplicate"])
    reason = rng.choice(["changed_mind", "wrong_size", "damaged"])
    late = rng.random() < _VENDOR_LATE
    staff = db.unit_of_work(Actor.system("demo staff"), clock=FixedClock(at + timedelta(hours=2)))
    if placed.status == "released" and age < timedelta(days=3) and wait < 0.1:
        orders.hold_order(staff, ref=placed.number, note="customer asked us to wait for a second parcel")
        placed = orders.get_order(staff, ref=placed.number)
    if placed.status == "on_hold":
        if age < timedelta(days=3):
            tally.held += 1
            return None
        if any(h.reason == "undeliverable" for h in placed.holds):
            fix = orders.OrderChanges(ship_tos=[{"ref": "main", "postal_code": planned.postal}])
            orders.edit_order(staff, ref=placed.number, expected_version=placed.version, changes=fix)
        orders.release_order(staff, ref=placed.number, note="reviewed: address corrected / genuine customer")
        placed = orders.get_order(staff, ref=placed.number)
    if age < timedelta(days=2) or any(line.backordered for line in placed.lines):
        if age < timedelta(days=2):
            _sync(db, placed)  # today's work waits on the warehouse's screens for a wave (and on vendors)
        return None
    if cancel < 0.03 and placed.fulfillment != "taken":
        if placed.status != "cancelled":
            orders.cancel_order(staff, ref=placed.number, reason=why)
        payments.settle_cancelled(staff, order_id=placed.id)
        tally.cancelled += 1
        return None
    furniture = any(line.sku in _DROP_SHIP_SKUS for line in planned.request.lines)
    to_ship = _ToShip(placed, at, age, bounces < 0.02, pays < 0.8, ret < 0.04, reason, furniture and not late)
    _sync(db, placed)  # its shipments wait for the day's waves; its furniture goes to the vendor
    return to_ship


def _after_shipping(db: Database, order: _ToShip, shipped_at: datetime, tally: _Tally) -> None:
    """Capture what shipped, settle checks and invoices, and take a return (each looks at the state first)."""
    warehouse = db.unit_of_work(Actor.system("demo warehouse"), clock=FixedClock(shipped_at))
    payments.capture_shipped(warehouse, order_id=order.placed.id)
    tally.shipped += 1
    _settle_receivables(db, order.placed, order.at, order.age, bounces=order.bounces, pays=order.pays)
    returns = order.age > timedelta(days=10) and order.returns and not order.placed.lines[0].returned
    if returns and _return_first_line(db, order.placed, order.at, order.reason):
        tally.returned += 1


def _close_day(
    db: Database, shop: _Shop, now: datetime, day: int, waiting: list[_ToShip], count: int, tally: _Tally
) -> None:
    """The end of a day `day` days ago: its orders waiting for the warehouse are shipped through waves the evening
    after (their drop-ship lines confirmed by the vendor a few days on), then captured and settled; then the day's
    `count` orders are counted done."""
    if waiting:
        evening = now - timedelta(days=day) + timedelta(hours=1)
        labelled = timedelta(days=day) <= _LABELLED
        tally.waved += demo_fulfillment.ship_waves(
            db, at=evening, labelled=labelled, carrier_clock=shop.carrier_clock
        )
        for order in waiting:
            if order.furniture and order.age > _VENDOR_CONFIRMS:
                tally.drop_shipped += demo_fulfillment.confirm_drop_ships(
                    db, order_id=str(order.placed.id), at=order.at + timedelta(days=3)
                )
            _after_shipping(db, order, evening + timedelta(hours=6), tally)
    for _ in range(count):
        finished(db.unit_of_work(Actor.system("demo")), step="orders")


def _sync(db: Database, placed: orders.Order) -> None:
    fulfillment.sync_order(db.unit_of_work(Actor.system("demo")), order_id=placed.id)


_DROP_SHIP_SKUS = frozenset(sku for sku, *_ in DEMO_DROP_SHIP)


def _drop_ship_skus(db: Database) -> list[str]:
    """The demo's drop-ship items that exist (an older demo database may have none)."""
    uow = db.unit_of_work(Actor.system("demo"))
    skus = []
    for sku in sorted(_DROP_SHIP_SKUS):
        with contextlib.suppress(NotFound):
            if catalog.get_item_ref(uow, sku=sku).kind == "drop_ship":
                skus.append(sku)
    return skus


def _return_first_line(db: Database, placed: orders.Order, at: datetime, reason: str) -> bool:
    service = db.unit_of_work(Actor.system("demo returns"), clock=FixedClock(at + timedelta(days=8)))
    first = placed.lines[0]
    try:
        rma = orders.authorize_return(service, order_ref=placed.number,
                                      lines=[orders.ReturnLineRequest(first.line_no, 1, reason)])  # fmt: skip
    except OrdersmithError:
        return False
    dock = db.unit_of_work(Actor.system("demo returns"), clock=FixedClock(at + timedelta(days=12)))
    disposition = "scrap" if reason == "damaged" else "restock"
    received = orders.receive_return(dock, ref=rma.number, location="DC-EAST",
                                     lines=[orders.ReceivedLine(first.line_no, 1, disposition)])  # fmt: skip
    if received.refund_due.minor > 0:
        # (a check not yet deposited has nothing captured to give back yet)
        with contextlib.suppress(OrdersmithError):
            payments.refund_order(dock, order_id=placed.id, amount=received.refund_due, return_id=rma.id,
                                  reason=f"return {rma.number}: {reason}")  # fmt: skip
    return True
