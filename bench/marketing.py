"""Marketing at scale: fills C customers and N orders (one or two lines each, over a year; 60 % keyed to the 24
codes of two catalog books in four drops, the rest un-keyed) straight into the tables, then runs

- RFM: `rfm_cells` (the customers per R-F-M cell) and `rfm_customers` (the first 500 scored customers) through
  `reporting.service.run_report` as of today, so over the stored scores (ADR 0049), beside the same SQL run by the
  raw driver (the statement compiled once with its values inlined) and beside RFM scored by hand from the orders
  (what the reports did before they read the stored scores);
- results per key code, drop and campaign and the response curve, each beside its raw SQL;
- segment counts (`marketing.service.count_rules`: geography, purchase history with the last order, RFM cells, and
  all of them with consent and source codes) beside the same statement run by the raw driver, and a list pull's
  preview (select, suppress, one per household, split; nothing stored) of the geography segment.

    python -m bench.marketing --db sqlite|postgres [--customers 20000] [--orders 200000] [--repeat 3]

Prints one figure per line, `name: value unit`, and a summary line. The issue's goals are for 1,000,000
customers and 10,000,000 orders on PostgreSQL (RFM ≤ 1.5x raw SQL and ≤ 30 s; a segment count ≤ 1 s); the
defaults are a fiftieth of that, filled row by row from Python, quick on a shared two-core machine. Segment counts
read the stored purchase facts (ADR 0037), rebuilt after the fill; the RFM scoring run is timed beside the same
UPDATE by the raw driver and beside RFM scored by hand from the orders.

    python -m bench.marketing --db postgres --full-scale [--customers 1000000] [--orders 10000000] [--reuse]

fills the issue's scale set-based in SQL instead and measures the scoring run, segment counts with RFM and
purchase-history rules and a pull of about half a million names (`bench.marketing_scale`); heavy (about 15 GB on
PostgreSQL): run it once, `nice`d, on a shared machine. `--reuse` measures again on the database an earlier run
filled (kept as `bench_marketing_scale`), its purchase facts emptied first.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import pg_database
from bench.reports import best, compiled, raw_runner
from ordersmith.customers.tables import CustomerAddressRow, CustomerChannelRow, CustomerRow
from ordersmith.kernel.clock import FixedClock
from ordersmith.marketing import service as marketing
from ordersmith.marketing.service import _reads
from ordersmith.marketing.service.segments import count_statement, member_condition
from ordersmith.marketing.tables import CampaignRow, DropRow, SourceCodeRow
from ordersmith.orders.tables import OrderLineRow, OrderRow
from ordersmith.platform import migrate
from ordersmith.platform.db import Actor, Database
from ordersmith.reporting import service as reports

CHUNK = 5_000
START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 31, 12, tzinfo=UTC)
REPORTS = {
    "rfm_cells": {"as_of": "2026-12-31"},
    "rfm_customers": {"as_of": "2026-12-31"},
    "source_code_results": {},
    "drop_results": {},
    "campaign_results": {},
    "source_code_response_curve": {},
}
# RFM written by hand: the same scores by window functions over one aggregate, grouped per cell.
RFM_SQL = """
    WITH bought AS (
        SELECT o.customer_id, max(o.placed_at) AS last_at, count(*) AS orders,
               sum(o.merchandise_minor + o.surcharges_minor - o.discounts_minor) AS spent
        FROM orders o JOIN customers c ON c.id = o.customer_id
        WHERE o.placed_at < '2027-01-01' AND o.currency = 'USD' AND o.status <> 'cancelled'
          AND o.exchange_for IS NULL AND c.merged_into_id IS NULL AND c.anonymized_at IS NULL
        GROUP BY o.customer_id),
    scored AS (
        SELECT spent, orders, ntile(5) OVER (ORDER BY last_at, customer_id) AS r,
               ntile(5) OVER (ORDER BY orders, customer_id) AS f, ntile(5) OVER (ORDER BY spent, customer_id) AS m
        FROM bought)
    SELECT r, f, m, count(*), sum(orders), sum(spent) FROM scored GROUP BY r, f, m ORDER BY r DESC, f DESC, m DESC"""

REGIONS = (("CA", "9"), ("NY", "1"), ("TX", "7"), ("IL", "6"), ("WA", "9"), ("FL", "3"))
SEGMENTS: dict[str, dict[str, Any]] = {
    "geography": {
        "all": [
            {"field": "country", "op": "in", "value": ["US"]},
            {"field": "postal_prefix", "op": "starts_with", "value": ["94", "95"]},
        ]
    },
    "purchases": {
        "all": [
            {"field": "purchased_division", "op": "in", "value": ["catalog"]},
            {"field": "last_order", "op": "within_days", "value": 90},
        ]
    },
    "rfm": {"field": "rfm_cell", "op": "in", "value": ["555", "554", "545", "455"]},
}
SEGMENTS["everything"] = {
    "all": [
        SEGMENTS["geography"],
        SEGMENTS["purchases"],
        {"field": "do_not_mail", "op": "is", "value": False},
        {"not": {"field": "last_source_code", "op": "starts_with", "value": ["WEB"]}},
        {
            "any": [
                {"field": "recency", "op": "gte", "value": 4},
                {"field": "frequency", "op": "gte", "value": 4},
            ]
        },
    ]
}


def _addresses(connection: Any, ids: list[uuid.UUID], rng: random.Random) -> None:
    """One default bill-to per customer (some share a household) and the mail channel."""
    for first in range(0, len(ids), CHUNK):
        chunk = ids[first : first + CHUNK]
        rows = []
        for n, customer_id in enumerate(chunk, start=first):
            region, digit = rng.choice(REGIONS)
            street = n if rng.random() > 0.05 else n - 1  # one in twenty lives with the customer before
            rows.append(
                dict(
                    id=uuid.uuid4(),
                    customer_id=customer_id,
                    kind="bill_to",
                    name=f"Customer {n}",
                    line1=f"{street} Main St",
                    line2="",
                    city="Town",
                    region=region,
                    postal_code=f"{digit}{rng.randrange(10000):04d}",
                    country="US",
                    is_default=True,
                )
            )
        connection.execute(sa.insert(CustomerAddressRow.__table__), rows)
        connection.execute(
            sa.insert(CustomerChannelRow.__table__), [dict(customer_id=c, channel="mail") for c in chunk]
        )


def _segment_sql(db: Database, rules: dict[str, Any], *, over_customers: bool = False) -> str:
    """The count's statement as Ordersmith runs it, or (`over_customers`) the same rules as one WHERE over every
    customer (how counts were made before a stored table drove them)."""
    query = (
        sa.select(sa.func.count())
        .select_from(_reads.customers)
        .where(member_condition(rules, currency="USD", now=NOW, dialect=db.dialect))
        if over_customers
        else count_statement(rules, currency="USD", now=NOW, dialect=db.dialect)
    )
    return str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))


def _codes(connection: Any) -> list[str]:
    """Two books, two drops each, six lists per drop: 24 codes."""
    codes: list[str] = []
    for book, in_home in (
        ("SPRING26", (date(2026, 2, 1), date(2026, 4, 1))),
        ("FALL26", (date(2026, 8, 1), date(2026, 10, 1))),
    ):
        campaign_id = uuid.uuid4()
        connection.execute(
            sa.insert(CampaignRow.__table__),
            [
                dict(
                    id=campaign_id,
                    code=book,
                    name=book,
                    kind="catalog",
                    currency="USD",
                    notes="",
                    active=True,
                    created_at=NOW,
                    updated_at=NOW,
                    version=1,
                )
            ],
        )
        for n, on in enumerate(in_home, start=1):
            drop_id = uuid.uuid4()
            connection.execute(
                sa.insert(DropRow.__table__),
                [
                    dict(
                        id=drop_id,
                        campaign_id=campaign_id,
                        code=f"D{n}",
                        in_home_on=on,
                        quantity_mailed=600_000,
                        cost_per_piece_minor=62,
                        creative="",
                        created_at=NOW,
                    )
                ],
            )
            for cell in "ABCDEF":
                code = f"{book[0]}26D{n}{cell}"
                codes.append(code)
                connection.execute(
                    sa.insert(SourceCodeRow.__table__),
                    [
                        dict(
                            code=code,
                            drop_id=drop_id,
                            segment=cell,
                            quantity_mailed=100_000,
                            price_list=None,
                            promotions=[],
                            starts_on=on,
                            ends_on=None,
                            expected_response_pct=Decimal("2"),
                            active=True,
                            created_at=NOW,
                            updated_at=NOW,
                            version=1,
                        )
                    ],
                )
    return codes


def fill(db: Database, customers: int, orders: int, seed: int = 19) -> None:
    rng = random.Random(seed)
    with db.engine.begin() as connection:
        codes = _codes(connection)
        ids = [uuid.uuid4() for _ in range(customers)]
        for first in range(0, customers, CHUNK):
            connection.execute(
                sa.insert(CustomerRow.__table__),
                [
                    dict(
                        id=ids[n],
                        number=f"C-{n + 100001}",
                        kind="consumer",
                        display_name=f"Customer {n}",
                        status="buyer",
                        default_country="US",
                        currency="USD",
                        created_at=START,
                        updated_at=START,
                        version=1,
                    )
                    for n in range(first, min(first + CHUNK, customers))
                ],
            )
        _addresses(connection, ids, rng)
        weights = [1 / (rank + 1) ** 0.7 for rank in range(customers)]  # some buy often, most rarely
        buyers = rng.choices(ids, weights=weights, k=orders)
        for first in range(0, orders, CHUNK):
            order_rows: list[dict[str, Any]] = []
            line_rows: list[dict[str, Any]] = []
            for n in range(first, min(first + CHUNK, orders)):
                order_id = uuid.uuid4()
                at = START + timedelta(seconds=rng.randrange(365 * 86_400))
                total = 0
                for line_no in range(1, rng.choice((1, 1, 2)) + 1):
                    quantity, price = rng.randint(1, 3), rng.choice((999, 1500, 2500, 4999))
                    cancelled = 1 if rng.random() < 0.04 else 0
                    returned = 1 if quantity > cancelled and rng.random() < 0.06 else 0
                    merchandise = price * (quantity - cancelled)
                    total += merchandise
                    line_rows.append(
                        dict(
                            order_id=order_id,
                            line_no=line_no,
                            item_id=order_id,
                            sku=f"SKU-{rng.randrange(500):04d}",
                            name="A product",
                            quantity=quantity,
                            ship_to="main",
                            personalization={},
                            gift_message="",
                            unit_price_minor=price,
                            price_list="usd",
                            merchandise_minor=merchandise,
                            surcharge_minor=0,
                            discount_minor=0,
                            tax_minor=0,
                            reserved=0,
                            backordered=0,
                            cancelled=cancelled,
                            shipped=quantity - cancelled,
                            returned=returned,
                            returnable=True,
                            allocations=[],
                        )
                    )
                order_rows.append(
                    dict(
                        id=order_id,
                        number=str(n + 100000),
                        channel="mail",
                        division="catalog",
                        external_id=None,
                        customer_id=buyers[n],
                        customer_number=None,
                        email="",
                        status="cancelled" if rng.random() < 0.02 else "shipped",
                        payment_status="captured",
                        fulfillment_status="shipped",
                        currency="USD",
                        merchandise_minor=total,
                        surcharges_minor=0,
                        discounts_minor=0,
                        shipping_minor=0,
                        tax_minor=0,
                        total_minor=total,
                        source_code=rng.choice(codes) if rng.random() < 0.6 else None,
                        coupons=[],
                        billing={},
                        payment={},
                        pricing={},
                        allocation=[],
                        address_key="",
                        card_key="",
                        priority=0,
                        exchange_for=None,
                        fulfillment="ship",
                        store=None,
                        placed_at=at,
                        created_at=at,
                        updated_at=at,
                        version=1,
                        ship_tos=[],
                    )
                )
            connection.execute(sa.insert(OrderRow.__table__), order_rows)
            connection.execute(sa.insert(OrderLineRow.__table__), line_rows)


def _compiled(db: Database, name: str, params: dict[str, str]) -> str:
    import bench.reports as shared

    shared.PARAMETERS = {**shared.PARAMETERS, **params}  # the values `compiled` inlines
    return compiled(db, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --full-scale on PostgreSQL: measure on the database an earlier run filled, if it holds as many rows",
    )
    parser.add_argument(
        "--full-scale",
        action="store_true",
        help="the issue's scale, filled set-based in SQL (1,000,000 customers and 10,000,000 orders unless told)",
    )
    args = parser.parse_args()
    if args.full_scale:
        from bench import marketing_scale

        if "--customers" not in sys.argv:
            args.customers = 1_000_000
        if "--orders" not in sys.argv:
            args.orders = 10_000_000
        if "--repeat" not in sys.argv:
            args.repeat = 2
        marketing_scale.main(args, _codes)
        return
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-bench-marketing-"))
    url = f"sqlite:///{folder}/bench.db" if args.db == "sqlite" else pg_database("bench_marketing")
    migrate.upgrade(url)
    db = Database(url)
    start = time.perf_counter()
    fill(db, args.customers, args.orders)
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    print(
        f"load_seconds: {time.perf_counter() - start:.1f} s ({args.customers} customers, {args.orders} orders)"
    )
    uow = db.unit_of_work(Actor.system("bench"), clock=FixedClock(NOW))
    took = time.perf_counter()
    written, _scored = marketing.refresh_facts(uow)
    print(f"facts_rebuild: {time.perf_counter() - took:.1f} s ({written['customers']} buyers)")
    from bench.marketing_scale import _scoring

    _scoring(db, uow, args.repeat)
    worst_ratio, slowest = 0.0, 0.0
    for name, params in REPORTS.items():
        ours = best(
            lambda name=name, params=params: reports.run_report(uow, name=name, parameters=params),
            args.repeat,
        )
        raw = best(raw_runner(db, _compiled(db, name, params)), args.repeat)
        ratio = ours / raw if raw > 0 else 0.0
        worst_ratio, slowest = max(worst_ratio, ratio), max(slowest, ours)
        print(f"report_{name}: {ours * 1000:.1f} ms (raw SQL {raw * 1000:.1f} ms, ratio {ratio:.2f})")
    hand = best(raw_runner(db, RFM_SQL), args.repeat)
    cells = reports.run_report(uow, name="rfm_cells", parameters=REPORTS["rfm_cells"])
    rfm = best(
        lambda: reports.run_report(uow, name="rfm_cells", parameters=REPORTS["rfm_cells"]), args.repeat
    )
    print(
        f"rfm_cells_vs_hand_sql: {rfm * 1000:.1f} ms (hand-written SQL {hand * 1000:.1f} ms, "
        f"ratio {rfm / hand if hand else 0:.2f}; {len(cells.rows)} cells)"
    )
    slowest_count = 0.0
    for name, rules in SEGMENTS.items():
        found = marketing.count_rules(uow, rules=rules)
        ours = best(lambda rules=rules: marketing.count_rules(uow, rules=rules), args.repeat)
        raw = best(raw_runner(db, _segment_sql(db, rules)), args.repeat)
        everyone = best(raw_runner(db, _segment_sql(db, rules, over_customers=True)), args.repeat)
        slowest_count = max(slowest_count, ours)
        print(
            f"segment_count_{name}: {ours * 1000:.1f} ms (raw SQL {raw * 1000:.1f} ms, "
            f"ratio {ours / raw if raw else 0:.2f}; over every customer {everyone * 1000:.1f} ms; "
            f"{found} customers)"
        )
    _pull_preview(uow, args.repeat)
    print(
        f"summary: {args.db}, {args.customers} customers, {args.orders} orders: slowest report "
        f"{slowest * 1000:.0f} ms, worst ratio to raw SQL {worst_ratio:.2f}, slowest segment count "
        f"{slowest_count * 1000:.0f} ms"
    )


def _pull_preview(uow: Any, repeat: int) -> None:
    with uow.db.engine.connect() as connection:
        code = connection.execute(
            sa.select(SourceCodeRow.code).order_by(SourceCodeRow.code).limit(1)
        ).scalar_one()
    marketing.create_segment(uow, code="BENCHGEO", name="bench", rules=SEGMENTS["geography"])
    cells = [marketing.Cell(code, Decimal(90)), marketing.Cell(code + "X", Decimal(10))]
    marketing.create_source_code(
        uow, code=code + "X", campaign="SPRING26", drop="D1", segment="control", quantity_mailed=0
    )
    preview = marketing.extract(uow, segment="BENCHGEO", cells=cells, seed=1, preview=True)
    took = best(lambda: marketing.extract(uow, segment="BENCHGEO", cells=cells, seed=1, preview=True), repeat)
    print(
        f"pull_preview_geography: {took * 1000:.1f} ms ({preview.funnel[0].remaining} selected, "
        f"{preview.names} names after households)"
    )


if __name__ == "__main__":
    main()
