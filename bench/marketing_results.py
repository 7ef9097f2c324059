"""Results per key code with line codes, COGS per line and matched-back orders (ADR 0038): fills the marketing
bench's customers and orders (`bench.marketing.fill`), then keys a share of the lines with a code of their own,
writes finance's cost rows for every shipped and returned line (a share of the codes' lines left uncosted), and
matches back a share of the un-keyed orders; then runs `source_code_results`, `drop_results`, `campaign_results`
and `source_code_response_curve` through `reporting.service.run_report`, each beside the same statement run by the
raw driver, and beside a hand-written header-only query (what results per code cost before line codes, COGS and
matchback: orders joined to codes by the order's code, summed per code).

    python -m bench.marketing_results --db sqlite|postgres [--customers 20000] [--orders 200000] [--repeat 3]

Prints one figure per line, `name: value unit`, and a summary line.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from bench.common import pg_database
from bench.marketing import NOW, fill
from bench.reports import best, compiled, raw_runner
from ordersmith.finance.tables import LineCostRow
from ordersmith.kernel.clock import FixedClock
from ordersmith.marketing.list_tables import MailFileRow, MatchbackRow
from ordersmith.marketing.tables import SourceCodeRow
from ordersmith.orders.tables import OrderLineRow, OrderRow
from ordersmith.platform import migrate
from ordersmith.platform.db import Actor, Database
from ordersmith.reporting import service as reports

CHUNK = 5_000
REPORTS = ("source_code_results", "drop_results", "campaign_results", "source_code_response_curve")
# Results per code as they were computed before line codes (the same sums, new customers included): by the order's
# code only, no COGS, no matchback.
HEADER_ONLY_SQL = """
    SELECT c.code, count(DISTINCT o.id),
           count(DISTINCT CASE WHEN o.customer_id IS NULL OR NOT EXISTS (
               SELECT 1 FROM orders e WHERE e.customer_id = o.customer_id AND e.placed_at < o.placed_at) THEN o.id END),
           sum(l.unit_price_minor * l.quantity), sum(l.unit_price_minor * l.cancelled),
           sum(CASE WHEN l.returned > 0 THEN (l.merchandise_minor + l.surcharge_minor - l.discount_minor)
                    * l.returned / (l.quantity - l.cancelled) ELSE 0 END),
           sum(l.merchandise_minor + l.surcharge_minor - l.discount_minor)
    FROM marketing_source_codes c
    JOIN orders o ON o.source_code = c.code
    JOIN order_lines l ON l.order_id = o.id
    JOIN marketing_drops d ON d.id = c.drop_id
    JOIN marketing_campaigns k ON k.id = d.campaign_id
    WHERE o.exchange_for IS NULL AND o.currency = k.currency
    GROUP BY c.code"""


def key_lines_cost_and_match(db: Database, seed: int = 38) -> dict[str, int]:
    """5 % of lines keyed with another code; every shipped line costed at 40 % of its price (and its returned unit
    taken back), except the lines of one code in six; 10 % of un-keyed orders matched back."""
    rng = random.Random(seed)
    lines, orders_, costs = OrderLineRow.__table__, OrderRow.__table__, LineCostRow.__table__
    with db.engine.begin() as connection:
        codes = list(connection.execute(sa.select(SourceCodeRow.code).order_by(SourceCodeRow.code)).scalars())
        uncosted = set(codes[::6])
        rows = connection.execute(
            sa.select(
                lines.c.order_id,
                lines.c.line_no,
                lines.c.unit_price_minor,
                lines.c.shipped,
                lines.c.returned,
                orders_.c.source_code,
            ).select_from(lines.join(orders_, orders_.c.id == lines.c.order_id))
        ).all()
        keyed, cost_rows = [], []
        for row in rows:
            code = row.source_code
            if rng.random() < 0.05:
                code = rng.choice(codes)
                keyed.append({"b_order": row.order_id, "b_line": row.line_no, "b_code": code})
            if code in uncosted or row.shipped == 0:
                continue
            unit = row.unit_price_minor * 4 // 10
            base = {
                "order_id": row.order_id,
                "line_no": row.line_no,
                "unit_cost_minor": unit,
                "currency": "USD",
            }
            cost_rows.append(
                {
                    **base,
                    "source_event_id": uuid.uuid4(),
                    "kind": "shipment",
                    "units": row.shipped,
                    "cost_minor": row.shipped * unit,
                    "posted_on": date(2026, 6, 1),
                }
            )
            if row.returned:
                cost_rows.append(
                    {
                        **base,
                        "source_event_id": uuid.uuid4(),
                        "kind": "return",
                        "units": -row.returned,
                        "cost_minor": -row.returned * unit,
                        "posted_on": date(2026, 7, 1),
                    }
                )
        update = (
            sa.update(lines)
            .where(lines.c.order_id == sa.bindparam("b_order"), lines.c.line_no == sa.bindparam("b_line"))
            .values(source_code=sa.bindparam("b_code"))
        )
        for first in range(0, len(keyed), CHUNK):
            connection.execute(update, keyed[first : first + CHUNK])
        for first in range(0, len(cost_rows), CHUNK):
            connection.execute(sa.insert(costs), cost_rows[first : first + CHUNK])
        connection.execute(
            sa.insert(MailFileRow.__table__),
            [
                {
                    "code": "BENCH",
                    "in_home_on": date(2026, 1, 1),
                    "window_days": 366,
                    "currency": "USD",
                    "names": 0,
                    "created_at": NOW,
                    "matched_at": NOW,
                }
            ],
        )
        keyed_orders = {k["b_order"] for k in keyed}
        plain = [r.order_id for r in rows if r.source_code is None and r.order_id not in keyed_orders]
        matched = sorted({o for o in plain if rng.random() < 0.1})
        attributions = [
            {
                "order_id": o,
                "mail_file": "BENCH",
                "key_code": rng.choice(codes),
                "matched_by": "customer",
                "matched_at": NOW,
            }
            for o in matched
        ]
        for first in range(0, len(attributions), CHUNK):
            connection.execute(sa.insert(MatchbackRow.__table__), attributions[first : first + CHUNK])
    return {"keyed_lines": len(keyed), "cost_rows": len(cost_rows), "matched_orders": len(matched)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-bench-marketing-results-"))
    url = f"sqlite:///{folder}/bench.db" if args.db == "sqlite" else pg_database("bench_marketing_results")
    migrate.upgrade(url)
    db = Database(url)
    start = time.perf_counter()
    fill(db, args.customers, args.orders)
    made = key_lines_cost_and_match(db)
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    print(
        f"load_seconds: {time.perf_counter() - start:.1f} s ({args.customers} customers, {args.orders} orders, "
        f"{made['keyed_lines']} lines keyed with their own code, {made['cost_rows']} line cost rows, "
        f"{made['matched_orders']} orders matched back)"
    )
    uow = db.unit_of_work(Actor.system("bench"), clock=FixedClock(NOW))
    header_only = best(raw_runner(db, HEADER_ONLY_SQL), args.repeat)
    print(
        f"header_only_per_code_raw_sql: {header_only * 1000:.1f} ms (before line codes, COGS and matchback)"
    )
    worst, slowest = 0.0, 0.0
    for name in REPORTS:
        rows = reports.run_report(uow, name=name, parameters={}).rows
        ours = best(lambda name=name: reports.run_report(uow, name=name, parameters={}), args.repeat)
        raw = best(raw_runner(db, compiled(db, name)), args.repeat)
        worst, slowest = max(worst, ours / raw if raw else 0.0), max(slowest, ours)
        print(
            f"report_{name}: {ours * 1000:.1f} ms (raw SQL {raw * 1000:.1f} ms, ratio {ours / raw:.2f}; "
            f"{len(rows)} rows)"
        )
    print(
        f"summary: {args.db}, {args.orders} orders: slowest results report {slowest * 1000:.0f} ms, worst ratio "
        f"to raw SQL {worst:.2f}, header-only query {header_only * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
