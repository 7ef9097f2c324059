"""Daily facts (ADR 0055) on both databases: every sales report reads the same figures from stored days as from the
orders — whole range stored, part of it, none —, the hand-written checks of `test_reports` hold on stored days, a
change to an order of a stored day reaches the facts through the relay, today is read live, the job stores recent
days a bounded number at a time, the backfill stores every day up to yesterday, and concurrent recomputations of
one day leave one set of rows."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from ordersmith.orders import service as orders
from ordersmith.platform import outbox
from ordersmith.platform.db import Actor, UnitOfWork
from ordersmith.reporting import facts, service
from ordersmith.reporting.catalogue._daily import GRAINS
from tests.integration import test_reports as checks
from tests.integration.test_reports import DAY1, DAY2, NOW, place, run

shop, sales = checks.shop, checks.sales  # the catalogue tests' fixtures: four orders over two days

RANGE = {"from": "2026-03-01", "to": "2026-03-20"}
CASES: list[tuple[str, dict[str, str]]] = [
    ("sales_by_day_channel", {}),
    ("sales_by_day_channel", {"grouping": "week"}),
    ("sales_by_day_channel", {"grouping": "month", "channel": "phone"}),
    ("sales_by_day_channel", {"division": "web"}),
    ("sales_by_source_code", {}),
    ("sales_by_source_code", {"source_code": "spring"}),
    ("top_items", {}),
    ("top_items", {"by": "style"}),
    ("top_items", {"limit": "1", "channel": "web"}),
    ("returns_by_reason", {}),
    ("open_orders", {}),
    ("open_orders", {"channel": "phone"}),
    ("sales_tax", {}),
    ("sales_tax", {"division": "catalog"}),
]


@pytest.fixture(autouse=True)
def subscribed():
    facts.register()
    yield
    facts.unregister()


def every_report(uow: UnitOfWork) -> list[list[dict]]:
    return [run(uow, name, **{**RANGE, **extra}).rows for name, extra in CASES]


def stored(uow: UnitOfWork) -> list[date]:
    with uow.db.session() as session:
        return sorted(session.execute(sa.select(facts.MARKERS.c.day)).scalars())


def rows_of(uow: UnitOfWork) -> dict[str, list[tuple]]:
    with uow.db.session() as session:
        return {g.name: sorted(tuple(r) for r in session.execute(sa.select(g.table)).all()) for g in GRAINS}


def dispatch_all(uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(uow.db.unit_of_work(Actor.system("relay"))):
        pass


def test_every_daily_report_reads_the_same_from_stored_days_as_from_the_orders(sales: UnitOfWork):
    live = every_report(sales)
    assert any(live)
    # when one of the two days is stored, then both
    assert service.compute_days(sales, days=[DAY1]) == [DAY1]
    assert every_report(sales) == live
    assert service.compute_days(sales, days=[DAY1, DAY2, NOW.date(), NOW.date() + timedelta(days=3)]) == [
        DAY1,
        DAY2,
    ]
    # then the figures are the same, today and later days never stored
    assert stored(sales) == [DAY1, DAY2]
    assert every_report(sales) == live
    # and the hand-written checks of the catalogue hold on stored days
    checks._sales_by_day_and_channel_equal_a_hand_written_query(sales)
    checks._grouping_by_month_and_a_channel_filter(sales)
    checks._sales_by_source_code_groups_upper_cased_codes(sales)
    checks._top_items_rank_by_units(sales)
    checks._returns_by_reason_with_the_return_rate(sales)
    checks._open_orders_and_fill_rate(sales)
    checks._sales_tax_by_jurisdiction(sales)


def test_a_change_to_an_order_of_a_stored_day_reaches_the_facts_and_today_is_read_live(sales: UnitOfWork):
    service.compute_days(sales, days=[DAY1, DAY2])
    dispatch_all(sales)  # the placing events: their days are recomputed, the same
    before = rows_of(sales)
    # when an order of DAY1 loses a line after its day was stored, and a new order is placed today
    with sales.db.session() as session:
        number = session.execute(
            sa.text("SELECT number FROM orders ORDER BY placed_at, number LIMIT 1")
        ).scalar_one()
    orders.cancel_order(sales, ref=number, reason="customer asked", lines={1: 1})
    place(sales, "web", NOW.date(), ("MUG", 4))
    # then today's order counts at once (read live), and the stored day still holds what it held
    today = run(sales, "sales_by_day_channel", **{"from": "2026-03-20", "to": "2026-03-20"}).rows
    assert [(r["channel"], r["orders"], r["units"]) for r in today] == [("web", 1, 4)]
    assert rows_of(sales) == before
    # when the relay hands the events over
    dispatch_all(sales)
    # then the stored day equals what its orders say now: recomputing it from scratch changes nothing
    after = rows_of(sales)
    assert after != before
    service.compute_days(sales, days=[DAY1, DAY2])
    assert rows_of(sales) == after
    stored_figures = every_report(sales)
    with sales:
        sales.session.execute(sa.delete(facts.MARKERS))
    assert every_report(sales) == stored_figures


def test_the_job_stores_recent_days_a_bounded_number_at_a_time_and_the_backfill_every_day(
    sales: UnitOfWork,
):
    # when the job runs on a database with no stored day
    first = service.close_days(sales)
    # then it stores the 31 days before today, the most recent first; the next run the 31 before those
    yesterday = NOW.date() - timedelta(days=1)
    assert first == [yesterday - timedelta(days=n) for n in range(30, -1, -1)]
    second = service.close_days(sales)
    assert second == [yesterday - timedelta(days=n) for n in range(61, 30, -1)]
    assert service.close_days(sales)[-1] == yesterday - timedelta(days=62)
    # when the backfill runs from the first order's day
    with sales:
        sales.session.execute(sa.delete(facts.MARKERS))
    done: list[tuple[int, int]] = []
    refreshed = service.refresh_facts(sales, progress=lambda n, total: done.append((n, total)))
    # then every day from it to yesterday is stored, today never
    assert yesterday == DAY2
    assert (refreshed.first, refreshed.last, refreshed.days) == (DAY1, DAY2, 2)
    assert stored(sales) == [DAY1, DAY2]
    assert done == [(2, 2)]
    assert checks.run(sales, "sales_by_day_channel", **RANGE).rows == every_report(sales)[0]


def test_concurrent_recomputations_of_the_same_days_leave_one_set_of_rows(sales: UnitOfWork):
    service.compute_days(sales, days=[DAY1, DAY2])
    expected = rows_of(sales)
    errors: list[BaseException] = []

    def recompute() -> None:
        try:
            uow = sales.db.unit_of_work(Actor.system("test"), clock=sales.clock)
            service.compute_days(uow, days=[DAY2, DAY1])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=recompute) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert rows_of(sales) == expected
    assert stored(sales) == [DAY1, DAY2]
