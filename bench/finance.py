"""Finance: the posting rate of business events through the outbox relay and the posting subscriber, beside raw
multi-row INSERTs of the same journal rows; then the trial balance and the financial statements over a large
journal, beside the raw SQL aggregate over its lines.

    python -m bench.finance --db sqlite|postgres [--events 20000] [--lines 10000000] [--keep]

Set-up (not timed): a migrated scratch database with the default chart. With `--keep` the database (PostgreSQL
`ordersmith_bench_finance_kept`, SQLite `/tmp/ordersmith-bench-finance.db`) is kept after the run and reused by the
next `--keep` run, whose posting then starts from a journal of `--lines` lines already there (nothing is rebuilt).

Timed, one figure per line, `name: value unit`:
- posting: `--events` `payment.captured` events (card, PayPal and cash, seeded random amounts) written to the
  outbox, then dispatched by the relay (`outbox.dispatch_batch`) with the finance subscriber registered: each event
  becomes one entry of two lines, its period balances moved, exactly once. Twice: `--relay-batch` events a
  transaction (500, the raw baseline's transaction: the goal's figure) and 100 a transaction (the running relay's
  own batch). The relay's batches of 500 alternate with the raw writers' (below) batch by batch, each given as
  many new rows as the relay just posted, so the machine's drift falls on all of them alike;
- the raw baseline: the same entries (two lines each) written by hand-written SQL, 500 entries a transaction: one
  executemany INSERT of their lines, one of their headers (the database's balance checks run as for the service),
  one upsert of their period balances — the ratio is relay / raw (goal >= 0.5);
- also the raw rows written one statement per table — the issue's "raw multi-row INSERT": on PostgreSQL one
  INSERT … SELECT FROM unnest of arrays (as the service writes them), on SQLite one INSERT … VALUES (…), (…) —
  beside the relay. Every raw entry carries what the relay's do: a source event id (their unique key is written), the
  event's type, the payment's id as its reference and the tender in its memo (the same values);

- replay: the relay's events posted again through `replay_outbox` post nothing (asserted);
- reading: a journal of `--lines` lines (two-line entries over 24 monthly periods, written set-based by one
  INSERT … SELECT over a generated series — PostgreSQL's `generate_series`, SQLite's recursive CTE — with their
  period balances summed from them, not timed; on PostgreSQL the deferred balance triggers are off for that one
  set-up session, the rows being balanced by construction and checked after) — the trial balance of one period,
  the cumulative trial balance, a 12-period income statement and a balance sheet through the services (median of
  5 after a first call), beside the raw SQL a trial balance takes without per-period balances: SUM over the
  period's journal lines joined to their entries (median of 3; goal: service <= 1.5x raw and <= 2 s on
  PostgreSQL). The cumulative trial balance is also checked equal, account by account, to the raw SQL's sums.
- AR aging over the same journal: `--invoices` invoices (a quarter of them open, over 20,000 customers, due over
  the last 200 days) with, in the journal, one entry Dr receivable / Cr deferred revenue per open invoice (so the
  AR control account equals the open items; those entries are counted in `--lines`); `finance.ar_aging` (open
  items aged per customer, reconciled to the control account's period balances) beside the raw SQL (the open
  items aggregated by hand-written buckets, and the control account summed over the journal's lines); both
  checked equal, and the reconciliation's difference zero.
Ends with a summary line.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from bench.common import PG_ADMIN, pg_database
from ordersmith.finance import rules
from ordersmith.finance import service as finance
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.platform import heap, migrate, outbox
from ordersmith.platform.db import Actor, Database, UnitOfWork, UTCDateTime, use_case

METHODS = {"card": "1100", "paypal": "1110", "cash": "1010"}
PERIODS = [f"{2025 + m // 12}-{m % 12 + 1:02d}" for m in range(24)]  # 2025-01 … 2026-12


def amounts(count: int, seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [(rng.choice(list(METHODS)), rng.randint(100, 50_000)) for _ in range(count)]


@use_case
def _emit(uow: UnitOfWork, *, batch: list[tuple[str, int]]) -> None:
    for method, minor in batch:
        uow.emit(
            "payment.captured",
            {
                "payment_id": str(uuid.uuid4()),
                "order_id": str(uuid.uuid4()),
                "method": method,
                "amount": str(Money.from_minor(minor, "USD").amount),
                "currency": "USD",
            },
        )


def post_through_relay(db: Database, events: int, batch: int, seed: int) -> float:
    """Emit `events` captures, then time the relay dispatching them `batch` a transaction into the journal."""
    return posted_beside_raw(db, events, batch, seed, raw=())[0]


def posted_beside_raw(
    db: Database, events: int, batch: int, seed: int, raw: tuple[Callable[[list[tuple[str, int]]], None], ...]
) -> list[float]:
    """Emit `events` captures (not timed), then dispatch them through the relay `batch` a transaction, each relay
    batch followed by each of the `raw` writers given the same number of new rows: batch by batch, so the
    machine's drift (large on a shared 2-core machine, second to second) falls on each alike. Returns the seconds
    of the relay, then of each raw writer."""
    work = amounts(events, seed=seed)
    uow = db.unit_of_work(Actor.system("bench"))
    for start in range(0, events, 1000):
        _emit(uow, batch=work[start : start + 1000])
    with db.engine.connect() as conn:
        before = conn.execute(COUNT_CAPTURES).scalar_one()
    others = amounts(events, seed=seed + 1)
    spent = [0.0] * (1 + len(raw))
    finance.register()
    done = 0
    while True:
        began = time.perf_counter()
        dispatched = outbox.dispatch_batch(db.unit_of_work(Actor.system("bench-relay")), limit=batch)
        spent[0] += time.perf_counter() - began
        for n, write in enumerate(raw, start=1):
            began = time.perf_counter()
            write(others[done : done + dispatched])
            spent[n] += time.perf_counter() - began
        done += dispatched
        if not dispatched:
            break
    finance.unregister()
    with db.engine.connect() as conn:
        posted = conn.execute(COUNT_CAPTURES).scalar_one() - before
    assert posted == events, "every event posts exactly one entry"
    return spent


COUNT_CAPTURES = sa.text("SELECT COUNT(*) FROM journal_entries WHERE rule = 'payment.captured'")


LINES_SQL = sa.text(
    "INSERT INTO journal_lines (entry_id, line_no, account_code, debit_minor, credit_minor, memo) "
    "VALUES (:entry_id, :line_no, :account_code, :debit_minor, :credit_minor, '')"
).bindparams(sa.bindparam("entry_id", type_=sa.Uuid()))
ENTRIES_SQL = sa.text(
    "INSERT INTO journal_entries (id, posted_on, period, currency, rule, source_event_id, source_type, reference,"
    " memo, note, reverses_id, line_count, created_by, created_at) VALUES (:id, :posted_on, :period, 'USD', :rule,"
    " :source_event_id, :source_type, :reference, :memo, '', NULL, 2, 'bench-relay', :at)"
).bindparams(
    sa.bindparam("id", type_=sa.Uuid()),
    sa.bindparam("source_event_id", type_=sa.Uuid()),
    sa.bindparam("at", type_=UTCDateTime()),
)
BALANCES_SQL = sa.text(
    "INSERT INTO finance_period_balances (period, account_code, currency, debit_minor, credit_minor) "
    "VALUES (:period, :account_code, 'USD', :debit_minor, :credit_minor) "
    "ON CONFLICT (period, account_code, currency) DO UPDATE SET "
    "debit_minor = finance_period_balances.debit_minor + excluded.debit_minor, "
    "credit_minor = finance_period_balances.credit_minor + excluded.credit_minor"
)


def write_raw(
    db: Database,
    work: list[tuple[str, int]],
    periods: list[str],
    rule: str,
    batch: int = 500,
    *,
    arrays: bool = False,
) -> None:
    """Two-line entries by hand-written SQL, `batch` a transaction: lines, headers, then period balances; each an
    executemany of its rows, or (`arrays`) one statement per table: on PostgreSQL an INSERT … SELECT FROM unnest of
    them, on SQLite a multi-row INSERT … VALUES."""
    at = datetime.now(UTC)
    for start in range(0, len(work), batch):
        lines: list[dict[str, Any]] = []
        headers: list[dict[str, Any]] = []
        balances: dict[tuple[str, str], list[int]] = {}
        for n, (method, minor) in enumerate(work[start : start + batch], start=start):
            entry_id, period = new_id(), periods[n % len(periods)]
            debit, credit = METHODS[method], "2300"
            lines += [
                {
                    "entry_id": entry_id,
                    "line_no": 1,
                    "account_code": debit,
                    "debit_minor": minor,
                    "credit_minor": 0,
                },
                {
                    "entry_id": entry_id,
                    "line_no": 2,
                    "account_code": credit,
                    "debit_minor": 0,
                    "credit_minor": minor,
                },
            ]
            headers.append(
                {
                    "id": entry_id,
                    "posted_on": rules.period_bounds(period)[0],
                    "period": period,
                    "rule": rule,
                    "source_event_id": new_id(),  # as the relay's entries carry their event's id (unique)
                    # and, as the relay's do, the event's type, the payment's id and the tender in the memo
                    "source_type": "payment.captured",
                    "reference": str(uuid.uuid4()),
                    "memo": f"{method} captured",
                    "at": at,
                }
            )
            balances.setdefault((period, debit), [0, 0])[0] += minor
            balances.setdefault((period, credit), [0, 0])[1] += minor
        summed = [
            {"period": p, "account_code": a, "debit_minor": d, "credit_minor": c}
            for (p, a), (d, c) in sorted(balances.items())
        ]
        with db.engine.begin() as conn:
            if arrays and db.dialect == "sqlite":
                _multirow(conn, lines, headers, summed, at)
                continue
            if arrays:
                conn.execute(LINES_UNNEST, _columns(lines))
                conn.execute(ENTRIES_UNNEST, {**_columns(headers), "at": at})
                conn.execute(BALANCES_UNNEST, _columns(summed))
                continue
            conn.execute(LINES_SQL, lines)
            conn.execute(ENTRIES_SQL, headers)
            conn.execute(BALANCES_SQL, summed)


def _multirow(
    conn: sa.Connection,
    lines: list[dict[str, Any]],
    headers: list[dict[str, Any]],
    summed: list[dict[str, Any]],
    at: datetime,
) -> None:
    """SQLite: each table's rows as one multi-row `INSERT … VALUES (…), (…)` run by the driver (one statement per
    table, as the relay writes them; values in SQLite's storage forms: uuids as 32 hex digits)."""
    stamp = at.astimezone(UTC).strftime(
        "%Y-%m-%d %H:%M:%S.%f"
    )  # as SQLAlchemy stores a UTC datetime on SQLite
    line_rows = [(r["entry_id"].hex, r["line_no"], r["account_code"], r["debit_minor"], r["credit_minor"])
                 for r in lines]  # fmt: skip
    header_rows = [(h["id"].hex, h["posted_on"].isoformat(), h["period"], h["rule"], h["source_event_id"].hex,
                    h["source_type"], h["reference"], h["memo"], stamp) for h in headers]  # fmt: skip
    balance_rows = [(b["period"], b["account_code"], b["debit_minor"], b["credit_minor"]) for b in summed]
    statements = (
        ("INSERT INTO journal_lines (entry_id, line_no, account_code, debit_minor, credit_minor, memo) VALUES ",
         "(?, ?, ?, ?, ?, '')", line_rows, ""),
        ("INSERT INTO journal_entries (id, posted_on, period, currency, rule, source_event_id, source_type, "
         "reference, memo, note, reverses_id, line_count, created_by, created_at) VALUES ",
         "(?, ?, ?, 'USD', ?, ?, ?, ?, ?, '', NULL, 2, 'bench-relay', ?)", header_rows, ""),
        ("INSERT INTO finance_period_balances (period, account_code, currency, debit_minor, credit_minor) VALUES ",
         "(?, ?, 'USD', ?, ?)", balance_rows,
         " ON CONFLICT (period, account_code, currency) DO UPDATE SET debit_minor = "
         "finance_period_balances.debit_minor + excluded.debit_minor, credit_minor = "
         "finance_period_balances.credit_minor + excluded.credit_minor"),
    )  # fmt: skip
    for head, marks, rows, tail in statements:
        flat = tuple(value for row in rows for value in row)
        conn.exec_driver_sql(head + ", ".join(marks for _ in rows) + tail, flat)


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {key: [row[key] for row in rows] for key in rows[0] if key != "at"}


# PostgreSQL only: each table's rows as arrays in one INSERT … SELECT FROM unnest (one statement, one round trip).
LINES_UNNEST = sa.text(
    "INSERT INTO journal_lines (entry_id, line_no, account_code, debit_minor, credit_minor, memo) "
    "SELECT e, n, a, d, c, '' FROM unnest(CAST(:entry_id AS uuid[]), CAST(:line_no AS int[]), "
    "CAST(:account_code AS varchar[]), CAST(:debit_minor AS bigint[]), CAST(:credit_minor AS bigint[])) "
    "AS x(e, n, a, d, c)"
)
ENTRIES_UNNEST = sa.text(
    "INSERT INTO journal_entries (id, posted_on, period, currency, rule, source_event_id, source_type, reference,"
    " memo, note, reverses_id, line_count, created_by, created_at) SELECT i, o, p, 'USD', r, s, t, f, m, '',"
    " NULL, 2, 'bench-relay', :at FROM unnest(CAST(:id AS uuid[]), CAST(:posted_on AS date[]),"
    " CAST(:period AS varchar[]), CAST(:rule AS varchar[]), CAST(:source_event_id AS uuid[]),"
    " CAST(:source_type AS varchar[]), CAST(:reference AS varchar[]), CAST(:memo AS varchar[]))"
    " AS x(i, o, p, r, s, t, f, m)"
).bindparams(sa.bindparam("at", type_=UTCDateTime()))
BALANCES_UNNEST = sa.text(
    "INSERT INTO finance_period_balances (period, account_code, currency, debit_minor, credit_minor) "
    "SELECT p, a, 'USD', d, c FROM unnest(CAST(:period AS varchar[]), CAST(:account_code AS varchar[]), "
    "CAST(:debit_minor AS bigint[]), CAST(:credit_minor AS bigint[])) AS x(p, a, d, c) "
    "ON CONFLICT (period, account_code, currency) DO UPDATE SET "
    "debit_minor = finance_period_balances.debit_minor + excluded.debit_minor, "
    "credit_minor = finance_period_balances.credit_minor + excluded.credit_minor"
)


def timed(call: Callable[[], object], repeat: int = 5) -> float:
    call()  # warm: caches, the planner's statistics
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs)


RAW_TRIAL = sa.text(
    "SELECT l.account_code, e.currency, SUM(l.debit_minor), SUM(l.credit_minor) FROM journal_lines l "
    "JOIN journal_entries e ON e.id = l.entry_id WHERE e.period = :period GROUP BY l.account_code, e.currency"
)
RAW_CUMULATIVE = sa.text(
    "SELECT l.account_code, e.currency, SUM(l.debit_minor), SUM(l.credit_minor) FROM journal_lines l "
    "JOIN journal_entries e ON e.id = l.entry_id WHERE e.period <= :period GROUP BY l.account_code, e.currency"
)


def raw_query(db: Database, statement: sa.TextClause, period: str) -> Callable[[], object]:
    def run() -> object:
        with db.engine.connect() as conn:
            return conn.execute(statement, {"period": period}).all()

    return run


KEPT_PG = "ordersmith_bench_finance_kept"
KEPT_SQLITE = Path("/tmp/ordersmith-bench-finance.db")

# The journal for reading, set-based: entry n is dated on the first of period n mod 24 (2025-01 … 2026-12), two
# lines — Dr a tender's clearing account / Cr deferred revenue — of 100 + (n * 7919) mod 49901 cents. Entry ids are n
# in hex (no id the service makes looks like that: theirs start with the time).
PG_BUILD = [
    "SET session_replication_role = replica",  # this session only: its rows are balanced by construction
    "INSERT INTO finance_periods (code, starts_on, ends_on, status) SELECT to_char(d, 'YYYY-MM'), d,"
    " (d + interval '1 month - 1 day')::date, 'open' FROM generate_series(date '2025-01-01', date '2026-12-01',"
    " interval '1 month') AS g(t), LATERAL (SELECT t::date AS d) AS x ON CONFLICT (code) DO NOTHING",
    "INSERT INTO journal_lines (entry_id, line_no, account_code, debit_minor, credit_minor, memo, division, channel)"
    " SELECT lpad(to_hex(n), 32, '0')::uuid, side,"
    " CASE WHEN side = 1 THEN (ARRAY['1100', '1110', '1010'])[(n % 3 + 1)::int] ELSE '2300' END,"
    " CASE WHEN side = 1 THEN 100 + (n * 7919) % 49901 ELSE 0 END,"
    " CASE WHEN side = 2 THEN 100 + (n * 7919) % 49901 ELSE 0 END, '', '', ''"
    " FROM generate_series(1, CAST(:entries AS bigint)) AS n CROSS JOIN (VALUES (1), (2)) AS s(side)",
    "INSERT INTO journal_entries (id, posted_on, period, currency, rule, source_event_id, source_type, reference,"
    " memo, note, reverses_id, line_count, created_by, created_at) SELECT lpad(to_hex(n), 32, '0')::uuid, d,"
    " to_char(d, 'YYYY-MM'), 'USD', 'bench-bulk', NULL, '', '', '', '', NULL, 2, 'bench', :at"
    " FROM generate_series(1, CAST(:entries AS bigint)) AS n,"
    " LATERAL (SELECT make_date((2025 + (n % 24) / 12)::int, (n % 12 + 1)::int, 1) AS d) AS x",
]
SQLITE_BUILD = [
    "INSERT INTO finance_periods (code, starts_on, ends_on, status) WITH RECURSIVE m(k) AS (SELECT 0 UNION ALL"
    " SELECT k + 1 FROM m WHERE k < 23) SELECT printf('%04d-%02d', 2025 + k / 12, k % 12 + 1),"
    " printf('%04d-%02d-01', 2025 + k / 12, k % 12 + 1),"
    " date(printf('%04d-%02d-01', 2025 + k / 12, k % 12 + 1), '+1 month', '-1 day'), 'open' FROM m WHERE 1"
    " ON CONFLICT (code) DO NOTHING",
    "INSERT INTO journal_lines (entry_id, line_no, account_code, debit_minor, credit_minor, memo, division, channel)"
    " WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :entries), sides(side) AS"
    " (SELECT 1 UNION ALL SELECT 2) SELECT printf('%032x', n), side, CASE WHEN side = 1 THEN"
    " CASE n % 3 WHEN 0 THEN '1100' WHEN 1 THEN '1110' ELSE '1010' END ELSE '2300' END,"
    " CASE WHEN side = 1 THEN 100 + (n * 7919) % 49901 ELSE 0 END,"
    " CASE WHEN side = 2 THEN 100 + (n * 7919) % 49901 ELSE 0 END, '', '', '' FROM s, sides",
    "INSERT INTO journal_entries (id, posted_on, period, currency, rule, source_event_id, source_type, reference,"
    " memo, note, reverses_id, line_count, created_by, created_at) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL"
    " SELECT n + 1 FROM s WHERE n < :entries) SELECT printf('%032x', n),"
    " printf('%04d-%02d-01', 2025 + (n % 24) / 12, n % 12 + 1), printf('%04d-%02d', 2025 + (n % 24) / 12, n % 12 + 1),"
    " 'USD', 'bench-bulk', NULL, '', '', '', '', NULL, 2, 'bench', :at FROM s",
]
# AR for aging: invoice n (1 … :invoices) of 1,000 + (n * 7919) mod 99,001 cents to customer n mod 20,000, due
# (n mod 200) days before 2026-12-31, open when n mod 4 = 0 (else paid); each open one posted as one entry dated
# 2026-12-01 (Dr 1200 receivable / Cr 2300), id n + 2^32 in hex (apart from the entries above).
AR_CUSTOMERS = 20_000
AR_AS_OF = date(2026, 12, 31)
PG_AR_BUILD = [
    "INSERT INTO invoices (id, number, order_id, order_number, payment_id, customer_id, customer_number, terms,"
    " currency, lines, merchandise_minor, shipping_minor, tax_minor, total_minor, paid_minor, written_off_minor,"
    " status, issued_on, due_on, overdue_on, created_at, updated_at, version)"
    " SELECT lpad(to_hex(n), 32, '0')::uuid, 'BI' || n, lpad(to_hex(n + 8589934592), 32, '0')::uuid, 'BO' || n,"
    " lpad(to_hex(n + 17179869184), 32, '0')::uuid, lpad(to_hex(n % 20000 + 25769803776), 32, '0')::uuid,"
    " 'BC' || (n % 20000), 'net30', 'USD', '[]', amt, 0, 0, amt, CASE WHEN n % 4 = 0 THEN 0 ELSE amt END, 0,"
    " CASE WHEN n % 4 = 0 THEN 'open' ELSE 'paid' END, due - 30, due, NULL, :at, :at, 1"
    " FROM generate_series(1, CAST(:invoices AS bigint)) AS n,"
    " LATERAL (SELECT 1000 + (n * 7919) % 99001 AS amt, date '2026-12-31' - (n % 200)::int AS due) AS x",
    "INSERT INTO journal_lines (entry_id, line_no, account_code, debit_minor, credit_minor, memo, division, channel)"
    " SELECT lpad(to_hex(n + 4294967296), 32, '0')::uuid, side, CASE WHEN side = 1 THEN '1200' ELSE '2300' END,"
    " CASE WHEN side = 1 THEN 1000 + (n * 7919) % 99001 ELSE 0 END,"
    " CASE WHEN side = 2 THEN 1000 + (n * 7919) % 99001 ELSE 0 END, '', '', ''"
    " FROM generate_series(4, CAST(:invoices AS bigint), 4) AS n CROSS JOIN (VALUES (1), (2)) AS s(side)",
    "INSERT INTO journal_entries (id, posted_on, period, currency, rule, source_event_id, source_type, reference,"
    " memo, note, reverses_id, line_count, created_by, created_at) SELECT lpad(to_hex(n + 4294967296), 32, '0')::uuid,"
    " date '2026-12-01', '2026-12', 'USD', 'bench-bulk', NULL, '', '', '', '', NULL, 2, 'bench', :at"
    " FROM generate_series(4, CAST(:invoices AS bigint), 4) AS n",
]
SQLITE_AR_BUILD = [
    "INSERT INTO invoices (id, number, order_id, order_number, payment_id, customer_id, customer_number, terms,"
    " currency, lines, merchandise_minor, shipping_minor, tax_minor, total_minor, paid_minor, written_off_minor,"
    " status, issued_on, due_on, overdue_on, created_at, updated_at, version)"
    " WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :invoices),"
    " x(n, amt, due) AS (SELECT n, 1000 + (n * 7919) % 99001, date('2026-12-31', printf('-%d days', n % 200)) FROM s)"
    " SELECT printf('%032x', n), 'BI' || n, printf('%032x', n + 8589934592), 'BO' || n,"
    " printf('%032x', n + 17179869184), printf('%032x', n % 20000 + 25769803776), 'BC' || (n % 20000), 'net30',"
    " 'USD', '[]', amt, 0, 0, amt, CASE WHEN n % 4 = 0 THEN 0 ELSE amt END, 0,"
    " CASE WHEN n % 4 = 0 THEN 'open' ELSE 'paid' END, date(due, '-30 days'), due, NULL, :at, :at, 1 FROM x",
    "INSERT INTO journal_lines (entry_id, line_no, account_code, debit_minor, credit_minor, memo, division, channel)"
    " WITH RECURSIVE s(n) AS (SELECT 4 UNION ALL SELECT n + 4 FROM s WHERE n + 4 <= :invoices), sides(side) AS"
    " (SELECT 1 UNION ALL SELECT 2) SELECT printf('%032x', n + 4294967296), side,"
    " CASE WHEN side = 1 THEN '1200' ELSE '2300' END, CASE WHEN side = 1 THEN 1000 + (n * 7919) % 99001 ELSE 0 END,"
    " CASE WHEN side = 2 THEN 1000 + (n * 7919) % 99001 ELSE 0 END, '', '', '' FROM s, sides",
    "INSERT INTO journal_entries (id, posted_on, period, currency, rule, source_event_id, source_type, reference,"
    " memo, note, reverses_id, line_count, created_by, created_at) WITH RECURSIVE s(n) AS (SELECT 4 UNION ALL"
    " SELECT n + 4 FROM s WHERE n + 4 <= :invoices) SELECT printf('%032x', n + 4294967296), '2026-12-01', '2026-12',"
    " 'USD', 'bench-bulk', NULL, '', '', '', '', NULL, 2, 'bench', :at FROM s",
]
# The raw AR aging: open items summed per customer into hand-written buckets (days past due as of :as_of), and the
# receivable account summed over the journal's lines.
RAW_AGING = sa.text(
    "SELECT customer_id, customer_number, currency, COUNT(*), MIN(due_on), SUM(total_minor - paid_minor),"
    " SUM(CASE WHEN due_on >= :as_of THEN total_minor - paid_minor ELSE 0 END),"
    " SUM(CASE WHEN due_on < :as_of AND due_on >= :d30 THEN total_minor - paid_minor ELSE 0 END),"
    " SUM(CASE WHEN due_on < :d30 AND due_on >= :d60 THEN total_minor - paid_minor ELSE 0 END),"
    " SUM(CASE WHEN due_on < :d60 AND due_on >= :d90 THEN total_minor - paid_minor ELSE 0 END),"
    " SUM(CASE WHEN due_on < :d90 AND due_on >= :d120 THEN total_minor - paid_minor ELSE 0 END),"
    " SUM(CASE WHEN due_on < :d120 THEN total_minor - paid_minor ELSE 0 END)"
    " FROM invoices WHERE status = 'open' AND total_minor > paid_minor"
    " GROUP BY customer_id, customer_number, currency"
)
RAW_AR_CONTROL = sa.text(
    "SELECT e.currency, SUM(l.debit_minor - l.credit_minor) FROM journal_lines l JOIN journal_entries e"
    " ON e.id = l.entry_id WHERE l.account_code = '1200' GROUP BY e.currency"
)


def raw_aging(db: Database) -> Callable[[], tuple[list[Any], list[Any]]]:
    as_of = AR_AS_OF
    bounds = {"as_of": as_of, **{f"d{d}": as_of - timedelta(days=d) for d in (30, 60, 90, 120)}}
    if db.engine.dialect.name != "postgresql":
        bounds = {key: day.isoformat() for key, day in bounds.items()}

    def run() -> tuple[list[Any], list[Any]]:
        with db.engine.connect() as conn:
            return conn.execute(RAW_AGING, bounds).all(), conn.execute(RAW_AR_CONTROL).all()

    return run


# The period balances the service reads, summed from the lines just written.
BUILD_BALANCES = (
    "INSERT INTO finance_period_balances (period, account_code, currency, debit_minor, credit_minor)"
    " SELECT e.period, l.account_code, e.currency, SUM(l.debit_minor), SUM(l.credit_minor) FROM journal_lines l"
    " JOIN journal_entries e ON e.id = l.entry_id GROUP BY e.period, l.account_code, e.currency"
)


def _pg_exists(name: str) -> bool:
    with psycopg.connect(PG_ADMIN.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def _pg_drop(name: str) -> None:
    with psycopg.connect(PG_ADMIN.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _lines_in(url: str) -> int:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT COUNT(*) FROM journal_lines")).scalar_one())
    except sa.exc.DBAPIError:
        return -1
    finally:
        db.dispose()


def reading_database(kind: str, lines: int, keep: bool, folder: Path) -> tuple[str, bool]:
    """The URL of the journal to read, and whether it was there already (`--keep`: kept from a previous run of the
    same size, else built now)."""
    if kind == "postgres":
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + KEPT_PG
        if keep and _pg_exists(KEPT_PG) and _lines_in(url) == lines:
            return url, True
        return pg_database(KEPT_PG if keep else "ordersmith_bench_finance_lines"), False
    path = KEPT_SQLITE if keep else folder / "lines.db"
    url = f"sqlite:///{path}"
    if keep and path.exists() and _lines_in(url) == lines:
        return url, True
    path.unlink(missing_ok=True)
    return url, False


def build_journal(db: Database, entries: int, invoices: int) -> None:
    """`entries` two-line entries and their period balances, set-based, in one transaction: the AR entries of
    `invoices` invoices' open ones (with those invoices) and the rest of the bulk."""
    postgres = db.engine.dialect.name == "postgresql"
    steps = [*PG_BUILD, *PG_AR_BUILD] if postgres else [*SQLITE_BUILD, *SQLITE_AR_BUILD]
    entries -= invoices // 4
    at = sa.bindparam("at", type_=UTCDateTime())
    with db.engine.begin() as conn:
        for statement in [*steps, BUILD_BALANCES]:
            text = sa.text(statement)
            params: dict[str, Any] = {}
            if ":at" in statement:
                text, params["at"] = text.bindparams(at), datetime.now(UTC)
            if ":entries" in statement:
                params["entries"] = entries
            if ":invoices" in statement:
                params["invoices"] = invoices
            conn.execute(text, params)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    with db.engine.connect() as conn:
        unbalanced = conn.execute(
            sa.text("SELECT COALESCE(SUM(debit_minor - credit_minor), 0) FROM journal_lines")
        ).scalar_one()
    assert unbalanced == 0, "the journal built for reading balances"


def posting_figures(args: argparse.Namespace, folder: Path) -> str:
    """The posting figures on a fresh scratch database (dropped after); returns the summary's words."""
    url = (
        f"sqlite:///{folder}/ordersmith.db"
        if args.db == "sqlite"
        else pg_database("ordersmith_bench_finance")
    )
    migrate.upgrade(url)
    db = Database(url)
    heap.settle()  # as `serve` and `worker` do once started, before their relay takes work (platform.heap)

    period = [date.today().strftime("%Y-%m")]
    how = "INSERT … SELECT FROM unnest" if args.db == "postgres" else "multi-row INSERT … VALUES"
    rates: dict[str, list[float]] = {"relay": [], "raw": [], "arrays": [], "small": []}
    for r in range(args.rounds):  # the tables' growth falls on each alike
        seed = 10 * r
        relay_s, raw_s, arrays_s = posted_beside_raw(
            db,
            args.events,
            args.relay_batch,
            seed=seed + 1,
            raw=(
                lambda rows: write_raw(db, rows, period, "bench-raw", batch=args.relay_batch),
                lambda rows: write_raw(db, rows, period, "bench-raw", batch=args.relay_batch, arrays=True),
            ),
        )
        for name, seconds in (("relay", relay_s), ("raw", raw_s), ("arrays", arrays_s)):
            rates[name].append(args.events / seconds)
        rates["small"].append(args.events / post_through_relay(db, args.events, 100, seed=seed + 4))
        print(
            f"round {r + 1}: relay {rates['relay'][-1]:.0f} events/s, raw executemany {rates['raw'][-1]:.0f}, "
            f"raw {how} {rates['arrays'][-1]:.0f}, relay 100 a transaction {rates['small'][-1]:.0f}"
        )
    relay_rate, raw_rate, arrays_rate, small_rate = (
        statistics.median(rates[k]) for k in ("relay", "raw", "arrays", "small")
    )
    per_round = [a / b for a, b in zip(rates["relay"], rates["arrays"], strict=True)]
    print(
        f"posting through the relay, {args.relay_batch} a transaction: {relay_rate:.0f} events/s "
        f"(median of {args.rounds} rounds of {args.events} events)"
    )
    print(f"raw INSERTs of the same rows (executemany), 500 a transaction: {raw_rate:.0f} entries/s")
    print(f"posting relay / raw executemany: {relay_rate / raw_rate:.2f} x (goal >= 0.5)")
    print(
        f"raw, one {how} per table (the issue's multi-row INSERT): {arrays_rate:.0f} entries/s; relay / that "
        f"{relay_rate / arrays_rate:.2f} x (goal >= 0.5; rounds {', '.join(f'{x:.2f}' for x in per_round)})"
    )
    print(
        f"posting through the relay, 100 a transaction (the running relay's batch): {small_rate:.0f} events/s; "
        f"/ raw executemany {small_rate / raw_rate:.2f} x, / raw {how} {small_rate / arrays_rate:.2f} x"
    )
    uow = db.unit_of_work(Actor.system("bench"))
    replayed = finance.replay_outbox(uow)
    assert replayed == (2 * args.events * args.rounds, 0), f"a replay posts nothing: {replayed}"
    print(f"replay of the {replayed[0]} events posted: {replayed[1]} entries posted again")
    db.dispose()
    if args.db == "postgres":
        _pg_drop("ordersmith_bench_finance")
    return (
        f"posting {relay_rate:.0f} events/s through the relay vs {arrays_rate:.0f} raw one statement per table "
        f"({relay_rate / arrays_rate:.2f} x) and {raw_rate:.0f} raw executemany ({relay_rate / raw_rate:.2f} x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--relay-batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="posting rounds, alternated; medians reported")
    parser.add_argument("--lines", type=int, default=10_000_000, help="0: the posting figures only")
    parser.add_argument(
        "--keep", action="store_true", help="keep the journal built for reading, and reuse it"
    )
    parser.add_argument(
        "--invoices", type=int, default=200_000, help="invoices for AR aging (a quarter open)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-finance-"))
    posting = posting_figures(args, folder) if args.events > 0 else "not measured"
    if args.lines <= 0:  # posting only
        shutil.rmtree(folder, ignore_errors=True)
        return
    reading_url, reused = reading_database(args.db, args.lines, args.keep, folder)
    began = time.perf_counter()
    if not reused:
        migrate.upgrade(reading_url)
    db = Database(reading_url)
    if not reused:
        build_journal(db, args.lines // 2, args.invoices)
    with db.engine.connect() as conn:
        total_lines = conn.execute(sa.text("SELECT COUNT(*) FROM journal_lines")).scalar_one()
    print(
        f"journal for reading: {total_lines} lines, "
        f"{'kept from a previous run' if reused else 'written set-based'} in {time.perf_counter() - began:.1f} s "
        "(set-up)"
    )

    uow = db.unit_of_work(Actor.system("bench"))
    period = "2025-06"
    figures = {
        "trial balance, one period": (
            lambda: finance.trial_balance(uow, period=period),
            raw_query(db, RAW_TRIAL, period),
        ),
        "trial balance, cumulative": (
            lambda: finance.trial_balance(uow, period="2026-12", cumulative=True),
            raw_query(db, RAW_CUMULATIVE, "2026-12"),
        ),
        "income statement, 12 periods": (
            lambda: finance.income_statement(uow, from_period="2025-01", to_period="2025-12"),
            None,
        ),
        "balance sheet": (lambda: finance.balance_sheet(uow, period="2026-12"), None),
    }
    worst = slowest = 0.0
    for name, (service_call, raw_call) in figures.items():
        ours = timed(service_call)
        slowest = max(slowest, ours)
        if raw_call is None:
            print(f"{name}: {ours * 1000:.1f} ms")
            continue
        raw = timed(raw_call, repeat=3)
        worst = max(worst, ours / raw)
        print(
            f"{name}: {ours * 1000:.1f} ms; raw SQL over the lines {raw * 1000:.1f} ms; service / raw "
            f"{ours / raw:.3f} x"
        )
    books = finance.trial_balance(uow, period="2026-12", cumulative=True)
    assert books.balanced, "the books balance"
    with db.engine.connect() as conn:
        lines = conn.execute(RAW_CUMULATIVE, {"period": "2026-12"}).all()
    summed = {(str(a), str(c)): (int(d), int(k)) for a, c, d, k in lines}
    assert {(r.account_code, r.currency): (r.debit.minor, r.credit.minor) for r in books.rows} == summed, (
        "the trial balance read from the period balances equals the journal's lines summed"
    )
    check = Decimal(sum(r.debit.minor for r in books.rows)) / 100
    with db.engine.connect() as conn:
        if not conn.execute(sa.text("SELECT COUNT(*) FROM invoices")).scalar_one():
            print(
                "ar aging: the kept journal has no invoices (built before the AR part): run once without --keep"
            )
    aging = finance.ar_aging(uow, as_of=AR_AS_OF)
    ours_aging = timed(lambda: finance.ar_aging(uow, as_of=AR_AS_OF))
    raw_items, raw_control = raw_aging(db)()
    raw_aging_s = timed(raw_aging(db), repeat=3)
    by_customer = {
        (str(r[1]), str(r[2])): (int(r[3]), tuple(int(x) for x in r[6:12]), int(r[5])) for r in raw_items
    }
    assert {(r.customer_number, r.currency): (r.invoices, tuple(b.minor for b in r.buckets), r.total.minor)
            for r in aging.rows} == by_customer, "the aging equals the open items summed by hand"  # fmt: skip
    assert all(r.difference.is_zero() for r in aging.reconciliation), (
        "the AR subledger equals the control account"
    )
    assert {r.currency: r.control.minor for r in aging.reconciliation} == {
        str(c): int(n) for c, n in raw_control
    }
    open_items = sum(r.invoices for r in aging.rows)
    print(
        f"ar aging: {ours_aging * 1000:.1f} ms for {len(aging.rows)} customers and {open_items} open invoices "
        f"(of {args.invoices}); raw SQL (the open items and the control account over the lines) "
        f"{raw_aging_s * 1000:.1f} ms; service / raw {ours_aging / raw_aging_s:.3f} x; reconciled, difference 0"
    )
    print(
        f"summary: finance {args.db}: {posting}; over {total_lines} "
        f"lines the trial balance is at most {worst:.3f} x the raw SQL and every statement at most "
        f"{slowest * 1000:.0f} ms (debits {check:,.2f} USD, balanced, equal to the lines); AR aging "
        f"{ours_aging * 1000:.0f} ms, {ours_aging / raw_aging_s:.3f} x the raw SQL"
    )
    db.dispose()
    if not args.keep:
        if args.db == "postgres":
            _pg_drop("ordersmith_bench_finance_lines")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
