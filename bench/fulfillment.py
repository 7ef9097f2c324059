"""Fulfillment: released orders at three warehouses made into waves, pick lists, picked, packed, labelled with the
sandbox carrier and shipped — every step through the services, in process, on a database that already holds a
backlog of shipped orders (the cost must stay flat as the business grows) — beside a raw-SQL baseline of the ship
step on the same database.

    python -m bench.fulfillment --db sqlite|postgres [--orders 5000] [--backlog 20000]

Set-up (not timed): a migrated scratch database; 3 warehouses with docks; items stocked at one warehouse each,
every one in a bin of its own on the warehouse's walk; the backlog — orders placed (`orders.place_order`), shipped
through the order's own record (`orders.record_shipment`) and made shipments by the outbox relay's subscriber.

Timed, one figure per line: placing the run's orders (1-4 lines, seeded random, each from one warehouse's items);
the relay making their shipments (`outbox.dispatch_batch`); waves of up to 500 shipments per warehouse until none
wait; the pick lists of one 500-order wave (median of 3 after a first, cold, call; goal <= 2 s) and its PDF; pick;
pack; labels; ship (goal >= 100 shipments/s on SQLite) with its SQL statements and transactions per shipment;
packing slips as PDF. Each step's line gives wall-clock and this process's CPU time per unit: on SQLite the CPU is
all of the work, so it stays comparable on a busy machine. The baseline ships a separate set of packed shipments in
hand-written SQL — per shipment, in one transaction: each line's stock level (on hand and reserved down), its
movement row and its reservation consumed, then the shipment row — and the ratio is service / raw (goal >= 0.5).
Ends with a summary line.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa

from bench.common import own_files, pg_database
from ordersmith.catalog import service as catalog
from ordersmith.fulfillment import service as fulfillment
from ordersmith.fulfillment.tables import ShipmentLineRow, ShipmentRow
from ordersmith.inventory import service as inventory
from ordersmith.inventory.tables import ReservationLineRow, ReservationRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform import migrate, outbox, sales_channels
from ordersmith.platform.access import SCOPES, Principal
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.pricing import service as pricing

WAREHOUSES = ("EAST", "CENTRAL", "WEST")
DOCKS = {
    "EAST": {"line1": "200 Harbor Way", "city": "Boston", "region": "MA", "postal_code": "02110"},
    "CENTRAL": {"line1": "1 Freight Rd", "city": "Chicago", "region": "IL", "postal_code": "60607"},
    "WEST": {"line1": "9 Dock St", "city": "Oakland", "region": "CA", "postal_code": "94607"},
}
DESTINATIONS = [("San Francisco", "CA", "94105"), ("Austin", "TX", "73301"), ("New York", "NY", "10001"),
                ("Denver", "CO", "80202"), ("Miami", "FL", "33101"), ("Seattle", "WA", "98101")]  # fmt: skip
WAVE = 500
T = TypeVar("T")


class Statements:
    """SQL statements (and BEGINs) on one engine, by kind; cheap enough to leave on while timing."""

    def __init__(self, engine: sa.Engine, *, keep: bool = False) -> None:
        self.kinds: Counter[str] = Counter()
        self.seen: list[str] = []
        self.keep = keep
        self.begins = 0
        sa.event.listen(engine, "before_cursor_execute", self._statement)
        sa.event.listen(engine, "begin", self._begin)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.kinds[statement.lstrip().split(None, 1)[0].upper()] += 1
        if self.keep:
            self.seen.append(" ".join(statement.split())[:200])

    def _begin(self, conn: Any) -> None:
        self.begins += 1

    def take(self) -> tuple[Counter[str], int]:
        """The statements (BEGIN aside: SQLite's is a statement, PostgreSQL's is implicit) and transactions so far."""
        kinds, begins, self.kinds, self.begins = self.kinds, self.begins, Counter(), 0
        kinds.pop("BEGIN", None)
        return kinds, begins

    def stop(self, engine: sa.Engine) -> None:
        sa.event.remove(engine, "before_cursor_execute", self._statement)
        sa.event.remove(engine, "begin", self._begin)


def _sku(n: int) -> str:
    return f"SKU-{n:04d}"


def _set_up_shop(db: Database, uow: UnitOfWork, skus: int, rng: random.Random) -> None:
    """The channel, 3 warehouses with docks, items each stocked at one warehouse in a bin of its own on the
    warehouse's walk (walk sequences shuffled), a price list, ground shipping and a tax rate."""
    usd = "USD"
    with uow:
        sales_channels.create_sales_channel(uow, code="web", name="Web", kind="web", division="web",
                                            currency=usd, bills_later=True)  # fmt: skip
        for priority, code in enumerate(WAREHOUSES, 1):
            inventory.create_location(uow, code=code, name=code, kind="warehouse", priority=priority * 10)
            address = {"name": "Shipping dock", "company": "Bench Outfitters", "country": "US"} | DOCKS[code]
            fulfillment.set_dock(uow, location=code, address=address)
        walks = {code: rng.sample(range(1, skus + 1), skus) for code in WAREHOUSES}
        for n in range(skus):
            location = WAREHOUSES[n % len(WAREHOUSES)]
            catalog.create_item(
                uow, sku=_sku(n), name=f"Item {n}", divisions=["web"], weight_g=100 + n % 20 * 50
            )
            inventory.adjust_stock(uow, sku=_sku(n), location=location, quantity=10_000_000, reason="receipt")
            walk = walks[location][n]
            code = f"{chr(65 + walk % 20)}-{walk // 20:02d}-{walk % 5}"
            fulfillment.put_bin(uow, location=location, code=code, walk_sequence=walk, zone=code[0])
            fulfillment.assign_bin(uow, location=location, sku=_sku(n), bin_code=code)
        prices = [pricing.PriceEntry(_sku(n), Money(Decimal(10 + n % 40), usd)) for n in range(skus)]
        pricing.create_price_list(uow, code="usd", name="Retail", currency=usd, prices=prices)
        pricing.create_shipping_method(uow, code="ground", name="Ground", kind="flat",
                                       flat=Money(Decimal("5.00"), usd))  # fmt: skip
        pricing.create_tax_rate(uow, name="CA", country="US", region="CA", rate=Decimal("0.0725"))


def _request(n: int, skus: int, rng: random.Random) -> orders.OrderRequest:
    """1-4 lines of one warehouse's items, to an address of its own (no velocity hold)."""
    warehouse = rng.randrange(len(WAREHOUSES))
    mine = range(warehouse, skus, len(WAREHOUSES))
    lines = [orders.LineRequest(sku=_sku(i), quantity=rng.choice((1, 1, 1, 2, 3)))
             for i in rng.sample(mine, rng.randint(1, 4))]  # fmt: skip
    city, region, postal_code = rng.choice(DESTINATIONS)
    ship_to = orders.ShipToRequest(ref="main", name=f"Buyer {n}", line1=f"{n} Bench St", city=city, region=region,
                                   postal_code=postal_code, country="US", method="ground")  # fmt: skip
    return orders.OrderRequest(lines=lines, ship_tos=[ship_to])


def _place(uow: UnitOfWork, first: int, count: int, skus: int, rng: random.Random) -> list[orders.Order]:
    staff = Principal(kind="user", id=None, label="bench", scopes=frozenset(SCOPES), role="admin")
    with uow:
        channel = sales_channels.ordering_channel(uow, staff, "web")
    placed = []
    for n in range(first, first + count):
        placed.append(orders.place_order(uow, channel=channel, request=_request(n, skus, rng)).order)
    return placed


def _dispatch(db: Database) -> float:
    """Dispatch the outbox until nothing waits (fulfillment's subscriber makes the shipments); returns seconds."""
    started = time.perf_counter()
    relay = db.unit_of_work(Actor.system("relay"))
    while outbox.dispatch_batch(relay, limit=200):
        pass
    return time.perf_counter() - started


def _backlog(db: Database, uow: UnitOfWork, count: int, skus: int, rng: random.Random) -> None:
    """`count` orders placed and shipped through the order's own record, their shipments made (and confirmed
    shipped) by the relay, in batches so the outbox stays short."""
    for first in range(0, count, 1000):
        for order in _place(uow, 1_000_000 + first, min(1000, count - first), skus, rng):
            orders.record_shipment(uow, ref=str(order.id), tracking=f"1ZBACKLOG{order.number}")
        _dispatch(db)


class Timing(NamedTuple):
    seconds: float  # wall clock
    cpu: float  # this process's CPU (on SQLite all of the work; on PostgreSQL the server's is not in it)
    count: int
    each: list[float]

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")

    def per_unit(self) -> str:
        count = max(self.count, 1)
        return f"wall {self.seconds / count * 1000:.1f} ms, cpu {self.cpu / count * 1000:.1f} ms each"


def _timed(items: Iterable[T], step: Callable[[T], Any]) -> Timing:
    """Run `step` on each item, timing all of them and each one."""
    each = []
    cpu, started = time.process_time(), time.perf_counter()
    for item in items:
        one = time.perf_counter()
        step(item)
        each.append(time.perf_counter() - one)
    return Timing(time.perf_counter() - started, time.process_time() - cpu, len(each), each)


def _shipments_of(db: Database, order_ids: list[Any], status: str = "pending") -> list[tuple[str, str]]:
    """(number, location) of the orders' shipments in `status`."""
    found: list[tuple[str, str]] = []
    with db.engine.connect() as conn:
        for start in range(0, len(order_ids), 500):
            found += conn.execute(
                sa.select(ShipmentRow.number, ShipmentRow.location).where(
                    ShipmentRow.order_id.in_(order_ids[start : start + 500]), ShipmentRow.status == status
                )
            ).tuples()
    return sorted(found)


def _pack_spec(rng: random.Random) -> list[fulfillment.PackageSpec]:
    return [fulfillment.PackageSpec(rng.randint(300, 4000), 300, 200, rng.choice((100, 150, 200)))]


def _raw_plan(db: Database, numbers: list[str]) -> list[tuple[Any, Any, list[tuple[Any, Any, int, str]]]]:
    """For the baseline (read before it, not timed): each packed shipment's keys and each line's item, location
    and units, from its reservation."""
    plan = []
    with db.engine.connect() as conn:
        for number in numbers:
            order_id, shipment_id = conn.execute(
                sa.select(ShipmentRow.order_id, ShipmentRow.id).where(ShipmentRow.number == number)
            ).one()
            lines = conn.execute(
                sa.select(ReservationLineRow.item_id, ReservationLineRow.location_id, ReservationLineRow.quantity,
                          ReservationRow.key)
                .join(ReservationRow, ReservationRow.id == ReservationLineRow.reservation_id)
                .join(ShipmentLineRow, ShipmentLineRow.key == ReservationRow.key)
                .where(ShipmentLineRow.order_id == order_id, ShipmentLineRow.shipment_id == shipment_id)
                .order_by(ReservationLineRow.item_id, ReservationLineRow.location_id)
            ).tuples().all()  # fmt: skip
            plan.append((order_id, shipment_id, list(lines)))
    return plan


def _raw_ship(
    db: Database, plan: list[tuple[Any, Any, list[tuple[Any, Any, int, str]]]]
) -> tuple[float, int]:
    """The ship step in hand-written SQL, one transaction per shipment; returns seconds and statements each."""
    sqlite = db.dialect == "sqlite"
    mark = "?" if sqlite else "%s"

    def sql(text: str) -> str:
        return text.replace("%s", mark)

    level = sql("UPDATE stock_levels SET on_hand = on_hand - %s, reserved = reserved - %s, updated_at = %s "
                "WHERE item_id = %s AND location_id = %s")  # fmt: skip
    movement = sql("INSERT INTO stock_movements (id, item_id, location_id, on_hand_delta, reserved_delta, reason, "
                   "reference, at, actor) VALUES (%s, %s, %s, %s, %s, 'shipment', %s, %s, 'bench')")  # fmt: skip
    reservation = sql("UPDATE reservations SET status = 'consumed', ended_at = %s WHERE key = %s "
                      "AND status = 'active'")  # fmt: skip
    shipment = sql("UPDATE shipments SET status = 'shipped', shipped_at = %s, updated_at = %s, "
                   "version = version + 1 WHERE order_id = %s AND id = %s AND status = 'packed'")  # fmt: skip

    def key(value: Any) -> Any:
        return value.hex if sqlite else value  # SQLAlchemy stores UUIDs as 32 hex characters on SQLite

    def stamp(value: Any) -> Any:
        return value.replace(tzinfo=None).isoformat(" ") if sqlite else value

    connection = db.engine.raw_connection()
    statements = 0
    try:
        cursor = connection.cursor()
        cpu, started = time.process_time(), time.perf_counter()
        for order_id, shipment_id, lines in plan:
            now = stamp(_now())
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            for item_id, location_id, quantity, reservation_key in lines:
                cursor.execute(level, (quantity, quantity, now, key(item_id), key(location_id)))
                cursor.execute(movement, (key(new_id()), key(item_id), key(location_id), -quantity, -quantity,
                                          reservation_key, now))  # fmt: skip
                cursor.execute(reservation, (now, reservation_key))
                assert cursor.rowcount == 1
            cursor.execute(shipment, (now, now, key(order_id), key(shipment_id)))
            assert cursor.rowcount == 1
            connection.commit() if not sqlite else cursor.execute("COMMIT")
            statements += 3 * len(lines) + 1
        timing = Timing(time.perf_counter() - started, time.process_time() - cpu, len(plan), [])
    finally:
        connection.close()
    return timing, statements


def _now() -> Any:
    from ordersmith.kernel.clock import utcnow

    return utcnow()


def _build_waves(uow: UnitOfWork) -> tuple[Timing, list[fulfillment.Wave]]:
    """Waves of up to 500 at each warehouse until none waits (the last, refused, attempt counts in the time)."""
    built: list[fulfillment.Wave] = []
    each: list[float] = []
    cpu, started = time.process_time(), time.perf_counter()
    for location in WAREHOUSES:
        while True:
            one = time.perf_counter()
            try:
                built.append(
                    fulfillment.build_wave(
                        uow, location=location, filters=fulfillment.WaveFilters(max_orders=WAVE)
                    )
                )
            except ValidationFailed:
                break
            each.append(time.perf_counter() - one)
    return Timing(time.perf_counter() - started, time.process_time() - cpu, len(built), each), built


def _prepare_raw(
    db: Database, uow: UnitOfWork, count: int, skus: int, rng: random.Random
) -> list[tuple[Any, Any, list[tuple[Any, Any, int, str]]]]:
    """The baseline's own shipments, waved, picked and packed through the services (not timed)."""
    placed = _place(uow, 500_000, count, skus, rng)
    _dispatch(db)
    _build_waves(uow)
    numbers = [number for number, _ in _shipments_of(db, [o.id for o in placed], status="picking")]
    for number in numbers:
        fulfillment.pick_shipment(uow, ref=number)
        fulfillment.pack_shipment(uow, ref=number, all_units=True, packages=_pack_spec(rng))
    return _raw_plan(db, numbers)


def _history(db: Database) -> str:
    with db.engine.connect() as conn:
        counts = {table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
                  for table in ("shipments", "shipment_events", "stock_movements", "outbox")}  # fmt: skip
    return ", ".join(f"{n} {table}" for table, n in counts.items())


def _analyze(db: Database) -> None:
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--orders", type=int, default=5_000, help="released orders the run fulfils")
    parser.add_argument("--backlog", type=int, default=20_000, help="orders shipped before the run (history)")
    parser.add_argument("--raw", type=int, default=1_000, help="orders shipped by the raw-SQL baseline")
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--slips", type=int, default=200, help="packing slips printed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", action="store_true", help="print the last shipment's ship statements")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-fulfillment-"))
    url = (
        f"sqlite:///{folder}/ordersmith.db" if args.db == "sqlite" else pg_database("ordersmith_fulfillment")
    )

    started = time.perf_counter()
    migrate.upgrade(url)
    settings = Settings(
        database_url=url, env="test", relay_enabled=False, jobs_enabled=False, _env_file=None,  # type: ignore[call-arg]
        **{k.removeprefix("ORDERSMITH_").lower(): v for k, v in own_files(folder).items()},
    )  # fmt: skip
    db = Database(url)
    fulfillment.setup_fulfillment(db, settings)
    fulfillment.register()  # the relay's subscriber: shipments follow the orders' events
    uow = db.unit_of_work(Actor.system("bench"))
    _set_up_shop(db, uow, args.skus, rng)
    _backlog(db, uow, args.backlog, args.skus, rng)
    plan = _prepare_raw(db, uow, args.raw, args.skus, rng)
    _analyze(db)
    history = _history(db)
    set_up = time.perf_counter() - started

    placed: list[orders.Order] = []
    placing = _timed([args.orders], lambda n: placed.extend(_place(uow, 0, n, args.skus, rng)))
    creating = _timed([db], _dispatch)
    shipments = [number for number, _ in _shipments_of(db, [o.id for o in placed])]
    waving, waves = _build_waves(uow)
    full = max(waves, key=lambda w: w.shipments)
    listing = _timed(range(4), lambda _: fulfillment.pick_lists(uow, ref=full.number))  # the first one cold
    lists = fulfillment.pick_lists(uow, ref=full.number)
    printing_list = _timed([full.number], lambda n: fulfillment.pick_list_pdf(uow, ref=n))
    picking = _timed(shipments, lambda n: fulfillment.pick_shipment(uow, ref=n))
    packing = _timed(
        shipments, lambda n: fulfillment.pack_shipment(uow, ref=n, all_units=True, packages=_pack_spec(rng))
    )
    labelling = _timed(shipments, lambda n: fulfillment.buy_labels(uow, ref=n))
    counting = Statements(db.engine)
    shipping = _timed(shipments[:-1], lambda n: fulfillment.ship_shipment(uow, ref=n))
    kinds, begins = counting.take()
    counting.keep = True
    fulfillment.ship_shipment(uow, ref=shipments[-1])
    counting.stop(db.engine)
    if args.show:
        print("\n".join(f"  {line}" for line in counting.seen))
    raw, raw_statements = _raw_ship(db, plan)
    slips = _timed(shipments[: args.slips], lambda n: fulfillment.packing_slip_pdf(uow, ref=n))
    discrepancies = len(inventory.verify(uow))
    db.dispose()

    ratio = shipping.rate / raw.rate
    lists_s = statistics.median(listing.each[1:])
    shipped = max(shipping.count, 1)
    statements = sum(kinds.values()) / shipped
    print(f"database: {args.db}")
    print(f"backlog: {args.backlog} orders shipped before the run (history: {history})")
    print(f"orders: {args.orders} released orders, 1-4 lines, {len(WAREHOUSES)} warehouses, {args.skus} skus")
    print(f"set_up: {set_up:.0f} s")
    print(f"orders_placed_per_s: {args.orders / placing.seconds:.0f} orders/s")
    print(f"shipments_created_per_s: {len(shipments) / creating.seconds:.0f} shipments/s "
          f"({len(shipments)} shipments, by the relay's subscriber)")  # fmt: skip
    print(f"waves_per_s: {waving.rate:.1f} waves/s ({waving.count} waves, {sum(w.shipments for w in waves)} "
          f"shipments; build_wave median {statistics.median(waving.each) * 1000:.0f} ms, "
          f"max {max(waving.each) * 1000:.0f} ms)")  # fmt: skip
    print(f"pick_lists_{full.shipments}_order_wave: {lists_s:.3f} s ({sum(len(p.stops) for p in lists)} stops, "
          f"{sum(p.units for p in lists)} units; first call {listing.each[0]:.3f} s)")  # fmt: skip
    print(f"pick_list_pdf_{full.shipments}_order_wave: {printing_list.seconds:.3f} s")
    print(f"picked_per_s: {picking.rate:.0f} shipments/s ({picking.per_unit()})")
    print(f"packed_per_s: {packing.rate:.0f} shipments/s ({packing.per_unit()})")
    print(f"labels_per_s: {labelling.rate:.0f} shipments/s ({labelling.per_unit()}; sandbox carrier, PDF)")
    print(f"shipped_per_s: {shipping.rate:.0f} shipments/s ({shipping.per_unit()}; p50 "
          f"{statistics.median(shipping.each) * 1000:.1f} ms, max {max(shipping.each) * 1000:.1f} ms)")  # fmt: skip
    by_kind = ", ".join(f"{k} {v / shipped:.1f}" for k, v in kinds.most_common())
    print(f"ship_statements: {statements:.1f} statements in {begins / shipped:.1f} transaction(s) per "
          f"shipment ({by_kind})")  # fmt: skip
    print(f"raw_shipped_per_s: {raw.rate:.0f} shipments/s ({raw.per_unit()}; {raw.count} shipments, "
          f"{raw_statements / max(raw.count, 1):.1f} statements in 1 transaction each)")  # fmt: skip
    print(f"ship_vs_raw: {ratio:.2f} x")
    print(f"packing_slips_per_s: {slips.rate:.0f} documents/s ({slips.per_unit()})")
    print(f"ledger_discrepancies: {discrepancies} levels")
    goals = [(f"pick lists {lists_s:.2f} s (<= 2 s)", lists_s <= 2)]
    if args.db == "sqlite":
        goals.append((f"{shipping.rate:.0f} shipped/s (>= 100)", shipping.rate >= 100))
    goals.append((f"ship step {ratio:.2f}x raw (>= 0.5)", ratio >= 0.5))
    print(f"summary: fulfillment {args.db} backlog {args.backlog}, {args.orders} orders: "
          + "; ".join(f"{text} {'met' if ok else 'MISSED'}" for text, ok in goals))  # fmt: skip


if __name__ == "__main__":
    main()
