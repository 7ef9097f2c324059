"""Finance: the posting rate of business events through the outbox relay and the posting subscriber, beside raw
multi-row INSERTs of the same journal rows; then the trial balance and the financial statements over a large
journal, beside the raw SQL aggregate over its lines.

    python -m bench.finance --db sqlite|postgres [--events 20000] [--lines 1000000]

Set-up (not timed): a migrated scratch database with the default chart.

Timed, one figure per line, `name: value unit`:
- posting: `--events` `payment.captured` events (card, PayPal and cash, seeded random amounts) written to the
  outbox, then dispatched by the relay (`outbox.dispatch_batch`, 100 a transaction) with the finance subscriber
  registered: each event becomes one entry of two lines, its period balances moved, exactly once (the figure);
- the raw baseline: the same entries (two lines each) written by hand-written SQL, 500 entries a transaction: one
  multi-row INSERT of their lines, one of their headers (the database's balance checks run as for the service),
  one upsert of their period balances — the ratio is relay / raw (goal >= 0.5);
- reading: a journal of `--lines` lines (two-line entries over 24 monthly periods, written in bulk and not timed)
  — the trial balance of one period, the cumulative trial balance, a 12-period income statement and a balance
  sheet through the services (median of 5 after a first call), beside the raw SQL a trial balance takes without
  per-period balances: SUM over the period's journal lines joined to their entries (goal: service <= 1.5x raw and
  <= 2 s on PostgreSQL).
Ends with a summary line.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import pg_database
from ordersmith.finance import rules
from ordersmith.finance import service as finance
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.platform import migrate, outbox
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


def post_through_relay(db: Database, events: int) -> float:
    work = amounts(events, seed=1)
    uow = db.unit_of_work(Actor.system("bench"))
    for start in range(0, events, 1000):
        _emit(uow, batch=work[start : start + 1000])
    finance.register()
    began = time.perf_counter()
    while outbox.dispatch_batch(db.unit_of_work(Actor.system("bench-relay")), limit=100):
        pass
    elapsed = time.perf_counter() - began
    finance.unregister()
    with db.engine.connect() as conn:
        posted = conn.execute(sa.text("SELECT COUNT(*) FROM journal_entries WHERE rule = 'payment.captured'"))
        assert posted.scalar_one() == events, "every event posts exactly one entry"
    return elapsed


LINES_SQL = sa.text(
    "INSERT INTO journal_lines (entry_id, line_no, account_code, debit_minor, credit_minor, memo) "
    "VALUES (:entry_id, :line_no, :account_code, :debit_minor, :credit_minor, '')"
).bindparams(sa.bindparam("entry_id", type_=sa.Uuid()))
ENTRIES_SQL = sa.text(
    "INSERT INTO journal_entries (id, posted_on, period, currency, rule, source_event_id, source_type, reference,"
    " memo, note, reverses_id, line_count, created_by, created_at) VALUES (:id, :posted_on, :period, 'USD', :rule,"
    " NULL, '', '', '', '', NULL, 2, 'bench', :at)"
).bindparams(sa.bindparam("id", type_=sa.Uuid()), sa.bindparam("at", type_=UTCDateTime()))
BALANCES_SQL = sa.text(
    "INSERT INTO finance_period_balances (period, account_code, currency, debit_minor, credit_minor) "
    "VALUES (:period, :account_code, 'USD', :debit_minor, :credit_minor) "
    "ON CONFLICT (period, account_code, currency) DO UPDATE SET "
    "debit_minor = finance_period_balances.debit_minor + excluded.debit_minor, "
    "credit_minor = finance_period_balances.credit_minor + excluded.credit_minor"
)


def write_raw(
    db: Database, work: list[tuple[str, int]], periods: list[str], rule: str, batch: int = 500
) -> None:
    """Two-line entries by hand-written SQL, `batch` a transaction: lines, headers, then period balances."""
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
                    "at": at,
                }
            )
            balances.setdefault((period, debit), [0, 0])[0] += minor
            balances.setdefault((period, credit), [0, 0])[1] += minor
        with db.engine.begin() as conn:
            conn.execute(LINES_SQL, lines)
            conn.execute(ENTRIES_SQL, headers)
            conn.execute(
                BALANCES_SQL,
                [
                    {"period": p, "account_code": a, "debit_minor": d, "credit_minor": c}
                    for (p, a), (d, c) in sorted(balances.items())
                ],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-finance-"))
    url = (
        f"sqlite:///{folder}/ordersmith.db"
        if args.db == "sqlite"
        else pg_database("ordersmith_bench_finance")
    )
    migrate.upgrade(url)
    db = Database(url)

    relay_s = post_through_relay(db, args.events)
    relay_rate = args.events / relay_s
    print(f"posting through the relay: {relay_rate:.0f} events/s ({args.events} events, {relay_s:.2f} s)")
    began = time.perf_counter()
    write_raw(db, amounts(args.events, seed=2), [date.today().strftime("%Y-%m")], "bench-raw")
    raw_s = time.perf_counter() - began
    raw_rate = args.events / raw_s
    print(f"raw multi-row INSERT of the same rows: {raw_rate:.0f} entries/s ({raw_s:.2f} s)")
    print(f"posting relay / raw: {relay_rate / raw_rate:.2f} x (goal >= 0.5)")

    entries = max(args.lines // 2 - 2 * args.events, 0)
    began = time.perf_counter()
    write_raw(db, amounts(entries, seed=3), PERIODS, "bench-bulk", batch=5000)
    with db.engine.connect() as conn:
        total_lines = conn.execute(sa.text("SELECT COUNT(*) FROM journal_lines")).scalar_one()
    if args.db == "postgres":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    print(f"journal written for reading: {total_lines} lines in {time.perf_counter() - began:.1f} s (set-up)")

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
    worst = 0.0
    for name, (service_call, raw_call) in figures.items():
        ours = timed(service_call)
        if raw_call is None:
            print(f"{name}: {ours * 1000:.1f} ms")
            continue
        raw = timed(raw_call)
        worst = max(worst, ours / raw)
        print(
            f"{name}: {ours * 1000:.1f} ms; raw SQL over the lines {raw * 1000:.1f} ms; service / raw "
            f"{ours / raw:.3f} x"
        )
    books = finance.trial_balance(uow, period="2026-12", cumulative=True)
    assert books.balanced, "the books balance"
    check = Decimal(sum(r.debit.minor for r in books.rows)) / 100
    print(
        f"summary: finance {args.db}: posting {relay_rate:.0f} events/s through the relay vs {raw_rate:.0f} raw "
        f"({relay_rate / raw_rate:.2f} x); over {total_lines} lines the trial balance is at most {worst:.3f} x the "
        f"raw SQL (debits {check:,.2f} USD, balanced)"
    )
    db.dispose()


if __name__ == "__main__":
    main()
