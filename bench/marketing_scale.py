"""The marketing benchmark at the issue's scale (`python -m bench.marketing --full-scale`): 1,000,000 customers and
10,000,000 orders filled set-based (`bench.marketing_fill`), then

- the stored purchase facts rebuilt from every order (the backfill) and the tables' sizes;
- RFM scoring of every buyer: the scoring run (`marketing.score_rfm`, scores cleared first so every row is
  written) beside the same UPDATE … FROM run by the raw driver, and beside an RFM scoring written by hand straight
  from the orders (what scoring costs without stored facts);
- segment counts with RFM and purchase-history rules (`marketing.count_rules`) beside the same statement run by the
  raw driver, and once beside the live definition over the orders (which must count the same);
- a list pull with suppressions of about half a million names (`marketing.extract`, stored) beside a pull written
  by hand in SQL (the same selection and suppressions, households by their folded street, a hashed 90/10 split).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import PG_ADMIN, pg_database
from bench.marketing_fill import categorize, fill, sizes
from ordersmith.kernel.clock import FixedClock
from ordersmith.marketing import service as marketing
from ordersmith.marketing.service import _reads
from ordersmith.marketing.service.scoring import FACTS, quintile_update
from ordersmith.marketing.service.segments import category_subtrees_of, count_statement, member_condition
from ordersmith.platform import migrate
from ordersmith.platform.db import Actor, Database

RAW_RFM_FROM_ORDERS = """
    CREATE TEMP TABLE raw_rfm AS
    SELECT customer_id, ntile(5) OVER (ORDER BY last_at, customer_id) AS r,
           ntile(5) OVER (ORDER BY orders, customer_id) AS f, ntile(5) OVER (ORDER BY spent, customer_id) AS m
    FROM (SELECT o.customer_id, max(o.placed_at) AS last_at, count(*) AS orders,
                 sum(o.merchandise_minor + o.surcharges_minor - o.discounts_minor) AS spent
          FROM orders o JOIN customers c ON c.id = o.customer_id
          WHERE o.currency = 'USD' AND o.status <> 'cancelled' AND o.exchange_for IS NULL
            AND c.merged_into_id IS NULL AND c.anonymized_at IS NULL
          GROUP BY o.customer_id) AS bought"""
TREES: dict[str, dict[str, Any]] = {
    "rfm_cells": {"field": "rfm_cell", "op": "in", "value": ["555", "554", "545", "455"]},
    "purchases": {
        "all": [
            {"field": "purchased_division", "op": "in", "value": ["catalog"]},
            {"field": "purchased_style", "op": "in", "value": ["S001", "S002", "S003"]},
            {"field": "last_order", "op": "within_days", "value": 90},
        ]
    },
    "item": {"field": "purchased_item", "op": "in", "value": ["S007-V3"]},
    # a department: the styles and the items of no style of its two categories
    "category": {"field": "purchased_category", "op": "in", "value": ["HOME"]},
    "category_and_rfm": {
        "all": [
            {"field": "purchased_category", "op": "in", "value": ["APPAREL"]},
            {"field": "recency", "op": "gte", "value": 4},
            {"not": {"field": "purchased_category", "op": "in", "value": ["LIGHTING"]}},
        ]
    },
    "rfm_and_purchases": {
        "all": [
            {
                "any": [
                    {"field": "recency", "op": "gte", "value": 4},
                    {"field": "frequency", "op": "gte", "value": 4},
                ]
            },
            {"field": "purchased_style", "op": "in", "value": ["S010", "S020"]},
            {"field": "purchased_division", "op": "in", "value": ["web", "store"]},
            {"not": {"field": "last_order", "op": "within_days", "value": 30}},
        ]
    },
    "everything": {
        "all": [
            {"field": "country", "op": "in", "value": ["US"]},
            {"field": "postal_prefix", "op": "starts_with", "value": ["94", "95"]},
            {"field": "do_not_mail", "op": "is", "value": False},
            {"field": "rfm_cell", "op": "in", "value": ["555", "554", "545", "455", "544", "454"]},
            {"field": "purchased_division", "op": "in", "value": ["catalog"]},
            {"not": {"field": "purchased_item", "op": "in", "value": ["ITEM-0001"]}},
        ]
    },
}
# about half a million names: buyers of two or more orders less no-mail, deceased, the last ten days' buyers, households
PULL = {
    "all": [
        {"field": "country", "op": "in", "value": ["US"]},
        {"field": "frequency", "op": "gte", "value": 2},
    ]
}
PULL_RECENT_DAYS = 10
SCALE_DATABASE = "bench_marketing_scale"
# The fill's orders are placed over 2026; measured as of noon on the first day after (an order placed after the
# moment a count is made for would count in the facts but not yet in the live definition).
NOW = datetime(2027, 1, 1, 12, tzinfo=UTC)


def _raw(db: Database, statement: str) -> Callable[[], Any]:
    """The statement by the raw driver in its own transaction (committed), returning its rows when it has any."""

    def run() -> Any:
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            if db.dialect == "postgresql":
                cursor.execute("SET jit = off")
            cursor.execute(statement)
            rows = cursor.fetchall() if cursor.description else None
            connection.commit()
            return rows
        finally:
            connection.close()

    return run


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _literal(db: Database, statement: Any) -> str:
    return str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))


def _clear_scores(db: Database) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(FACTS).values(recency_score=None, frequency_score=None, monetary_score=None)
        )


def _scoring(db: Database, uow: Any, repeat: int) -> tuple[float, float]:
    """Ours and the raw-driver run of the same UPDATE, each from cleared scores; then an RFM scoring written by hand
    straight from the orders (materialised, as ours writes its scores)."""
    ours, raw = [], []
    statement = _literal(db, quintile_update())
    for _ in range(repeat):
        _clear_scores(db)
        ours.append(_timed(lambda: marketing.score_rfm(uow))[0])
        _clear_scores(db)
        raw.append(_timed(_raw(db, statement))[0])
    marketing.score_rfm(uow)
    drop = "DROP TABLE IF EXISTS raw_rfm"
    hand = []
    for _ in range(repeat):
        _raw(db, drop)()
        hand.append(_timed(_raw(db, RAW_RFM_FROM_ORDERS))[0])
    best, best_raw, best_hand = min(ours), min(raw), min(hand)
    print(f"rfm_scoring_run: {best * 1000:.0f} ms (the same UPDATE by the raw driver {best_raw * 1000:.0f} ms, "
          f"ratio {best / best_raw if best_raw else 0:.2f}; RFM scored by hand from the orders "
          f"{best_hand * 1000:.0f} ms, ratio {best / best_hand if best_hand else 0:.2f})", flush=True)  # fmt: skip
    return best, best_hand


def _counts(db: Database, uow: Any, repeat: int) -> float:
    slowest = 0.0
    for name, tree in TREES.items():
        found = marketing.count_rules(uow, rules=tree)
        ours = min(_timed(lambda tree=tree: marketing.count_rules(uow, rules=tree))[0] for _ in range(repeat))
        subtrees = category_subtrees_of(uow, tree)
        sql = _literal(
            db, count_statement(tree, currency="USD", now=uow.now(), dialect=db.dialect, subtrees=subtrees)
        )
        raw = min(_timed(_raw(db, sql))[0] for _ in range(repeat))
        # the same rules as one WHERE over every customer: how counts were made before a stored table drove them
        condition = member_condition(
            tree, currency="USD", now=uow.now(), dialect=db.dialect, subtrees=subtrees
        )
        before = _literal(db, sa.select(sa.func.count()).select_from(_reads.customers).where(condition))
        everyone = min(_timed(_raw(db, before))[0] for _ in range(repeat))
        slowest = max(slowest, ours)
        print(f"segment_count_{name}: {ours * 1000:.0f} ms (raw SQL {raw * 1000:.0f} ms, ratio "
              f"{ours / raw if raw else 0:.2f}; over every customer {everyone * 1000:.0f} ms; "
              f"{found} customers)")  # fmt: skip
    tree = TREES["rfm_and_purchases"]
    took, live = _timed(lambda: marketing.count_rules(uow, rules=tree, live=True))
    stored = marketing.count_rules(uow, rules=tree)
    print(f"segment_count_live_definition: {took * 1000:.0f} ms over the orders ({live} customers; over the facts "
          f"{stored}: {'equal' if live == stored else 'DIFFERENT'})")  # fmt: skip
    return slowest


def _raw_pull(db: Database, now: Any) -> str:
    condition = member_condition(PULL, currency="USD", now=now, dialect=db.dialect)
    members = _literal(db, sa.select(_reads.customers.c.id).where(condition))
    since = _literal(db, sa.literal(now - timedelta(days=PULL_RECENT_DAYS), FACTS.c.last_order_at.type))
    return f"""
        DROP TABLE IF EXISTS raw_pull;
        CREATE TEMP TABLE raw_pull AS
        SELECT key_code, number, name, line1, city, region, postal_code, country FROM (
            SELECT CASE WHEN abs(hashtext(c.number)) % 10 = 0 THEN 'CONTROL' ELSE 'TEST' END AS key_code,
                   c.number, a.name, a.line1, a.city, a.region, a.postal_code, a.country,
                   row_number() OVER (PARTITION BY a.country, replace(a.postal_code, ' ', ''), lower(a.line1)
                                      ORDER BY d.last_order_at DESC NULLS LAST, c.number) AS nth
            FROM customers c
            JOIN customer_addresses a ON a.customer_id = c.id AND a.is_default
            LEFT JOIN marketing_mail_flags f ON f.customer_id = c.id
            LEFT JOIN marketing_customer_purchases d ON d.customer_id = c.id
            WHERE c.id IN ({members}) AND NOT c.do_not_mail AND NOT coalesce(f.deceased, false)
              AND NOT coalesce(f.undeliverable, false) AND (d.last_order_at IS NULL OR d.last_order_at < {since})
        ) AS kept WHERE nth = 1"""


def _pull(db: Database, uow: Any) -> float:
    marketing.create_segment(uow, code="BENCHPULL", name="bench pull", rules=PULL)
    marketing.create_source_code(uow, code="S26D1AX", campaign="SPRING26", drop="D1", segment="control",
                                 quantity_mailed=0)  # fmt: skip
    cells = [marketing.Cell("S26D1A", Decimal(90)), marketing.Cell("S26D1AX", Decimal(10))]
    suppress = marketing.Suppressions(recent_buyers_days=PULL_RECENT_DAYS)
    took, made = _timed(
        lambda: marketing.extract(uow, segment="BENCHPULL", cells=cells, seed=1, suppress=suppress)
    )
    funnel = ", ".join(f"{s.step} {s.remaining}" for s in made.funnel)
    raw = "" if db.dialect != "postgresql" else _raw_pull(db, uow.now())
    raw_took = _timed(_raw(db, raw))[0] if raw else 0.0
    with db.engine.connect() as connection:
        raw_names = connection.exec_driver_sql("SELECT count(*) FROM raw_pull").scalar_one() if raw else 0
    beside = (f"raw SQL {raw_took * 1000:.0f} ms for {raw_names} names, ratio {took / raw_took:.2f}" if raw_took
              else "no raw baseline on SQLite")  # fmt: skip
    print(f"extraction: {took * 1000:.0f} ms for {made.names} names stored ({funnel}) ({beside})")
    return took


def _reused(args: argparse.Namespace) -> Database | None:
    """`--reuse`: the database an earlier full-scale run filled with these numbers (PostgreSQL), emptied of what the
    measurements made — the purchase facts (so the backfill starts from empty tables, as at installation), the pull
    and its segment and code — or None when there is none."""
    if args.db != "postgresql" and args.db != "postgres":
        return None
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + SCALE_DATABASE
    try:
        db = Database(url)
        with db.engine.connect() as connection:
            orders = connection.exec_driver_sql("SELECT count(*) FROM orders").scalar_one()
            customers = connection.exec_driver_sql("SELECT count(*) FROM customers").scalar_one()
    except sa.exc.OperationalError:
        return None
    if (orders, customers) != (args.orders, args.customers):
        return None
    migrate.upgrade(url)
    with db.engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE marketing_customer_facts, marketing_customer_purchases, "
                                   "marketing_customer_styles, marketing_customer_items, marketing_rfm_scoring, "
                                   "marketing_extraction_names, "
                                   "marketing_extractions")  # fmt: skip
        connection.exec_driver_sql("DELETE FROM marketing_segments WHERE code = 'BENCHPULL'")
        connection.exec_driver_sql("DELETE FROM marketing_source_codes WHERE code = 'S26D1AX'")
    categorize(db)  # a database filled before categories existed
    print(f"load_seconds: reused the filled database ({customers} customers, {orders} orders)", flush=True)
    return db


def main(args: argparse.Namespace, codes_of: Callable[[Any], list[str]]) -> None:
    db = _reused(args) if args.reuse else None
    if db is None:
        db = _filled(args, codes_of)
    uow = db.unit_of_work(Actor.system("bench"), clock=FixedClock(NOW))
    took, (written, scored) = _timed(lambda: marketing.refresh_facts(uow))
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE marketing_customer_facts, marketing_customer_purchases, "
                                       "marketing_customer_styles, marketing_customer_items, styles, items, "
                                       "categories")  # fmt: skip
    print(f"facts_rebuild: {took:.1f} s ({written['customers']} buyer-currency, {written['purchases']} buyer and "
          f"{written['styles']} buyer-style and {written['items']} buyer-item rows; {scored.get('USD', 0)} "
          f"scored)", flush=True)  # fmt: skip
    if sizes(db):
        print("facts_sizes: " + ", ".join(f"{name} {mb} MB" for name, mb in sizes(db).items()))
    scoring_s, hand_s = _scoring(db, uow, args.repeat)
    slowest = _counts(db, uow, max(args.repeat, 2))
    pull_s = _pull(db, uow)
    print(f"summary: {args.db}, {args.customers} customers, {args.orders} orders: RFM scoring {scoring_s:.1f} s "
          f"(RFM by hand from the orders {hand_s:.1f} s), slowest segment count {slowest * 1000:.0f} ms, "
          f"extraction {pull_s:.1f} s")  # fmt: skip


def _filled(args: argparse.Namespace, codes_of: Callable[[Any], list[str]]) -> Database:
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-bench-marketing-"))
    url = f"sqlite:///{folder}/bench.db" if args.db == "sqlite" else pg_database(SCALE_DATABASE)
    migrate.upgrade(url)
    db = Database(url)
    started = time.perf_counter()
    with db.engine.begin() as connection:
        codes = codes_of(connection)
    fill(db, args.customers, args.orders, codes, say=lambda line: print(f"  {line}", flush=True))
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    print(f"load_seconds: {time.perf_counter() - started:.0f} s ({args.customers} customers, {args.orders} orders)",
          flush=True)  # fmt: skip
    return db
