"""`ordersmith marketing refresh-facts | score-rfm | rfm-scoring | facts | count --live` against real databases:
the backfill fills the facts from orders written without the relay, a customer's facts are shown, a segment's count
over the facts equals its live count; wrong cut-offs are one line and a non-zero exit, and change nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from ordersmith.kernel.money import Money
from ordersmith.marketing.fact_tables import CustomerFactRow, RfmScoringRow
from ordersmith.orders import service as orders
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_order_shop, ship_to
from tests.integration.test_marketing_lists import add_customer, count
from tests.support.cli import run


def test_the_backfill_fills_the_facts_and_segment_counts_over_them_equal_the_live_ones(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    # given six buyers whose orders were written with no relay running (as before the facts existed)
    make_order_shop(uow)
    numbers = [add_customer(uow, f"Ann {n}", tag="BF", line1=f"{n} Ash St") for n in range(6)]
    now = datetime.now(UTC).replace(microsecond=0)
    for n, number in enumerate(numbers):
        for k in range(n + 1):
            order = orders.HistoricalOrder(
                external_id=f"BF-{n}-{k}",
                placed_at=now - timedelta(days=20 * n + k + 1),
                lines=[orders.HistoricalLine("MUG", 1 + k, Money(Decimal("10.00"), "USD"))],
                ship_to=ship_to(),
                customer=number,
            )
            orders.import_order(uow, channel="phone", order=order)
    assert count(uow, CustomerFactRow) == 0
    rules = tmp_path / "best.json"
    best = {"all": [{"field": "original_source_code", "op": "in", "value": ["BF"]},
                    {"field": "frequency", "op": "gte", "value": 4}]}  # fmt: skip
    rules.write_text(json.dumps(best))
    # when the facts are refreshed, and a customer's facts and the segment's counts are asked for
    refreshed = run(db_url, "marketing", "refresh-facts")
    shown = run(db_url, "marketing", "facts", numbers[5])
    stored = run(db_url, "marketing", "count", "--rules", str(rules))
    live = run(db_url, "marketing", "count", "--rules", str(rules), "--live")
    scored = run(db_url, "marketing", "score-rfm", "--currency", "usd")
    # then every buyer has facts, scored, and the stored count is the live one
    assert (refreshed.returncode, shown.returncode, stored.returncode, live.returncode) == (0, 0, 0, 0), (
        refreshed
    )
    assert "6 customer-currency row(s), 6 customer row(s)" in " ".join(refreshed.stdout.split())
    assert "USD: 6 buyer(s) scored" in refreshed.stdout and "USD: 6 buyer(s) scored" in scored.stdout
    text = " ".join(shown.stdout.split())
    assert "USD: 6 order(s)" in text and "spent 210.00" in text and "RFM 155" in text, (
        text
    )  # the oldest buyer, most orders, most spent
    assert "6 order(s) in all" in text and "divisions: catalog;" in text
    assert stored.stdout.strip() == live.stdout.strip() == "2 customer(s)"


def test_rfm_scoring_by_cut_offs_is_set_shown_and_a_wrong_one_is_one_line_and_changes_nothing(
    db_url: str, uow: UnitOfWork
):
    # when cut-offs are given wrong: decreasing days, two lists only, amounts finer than cents
    wrong = [
        ("--recency-days", "90,30,180,365", "--frequency-orders", "2,3,5,10", "--monetary", "50,100,250,500"),
        ("--recency-days", "30,90,180,365", "--frequency-orders", "2,3,5,10"),
        (
            "--recency-days",
            "30,90,180,365",
            "--frequency-orders",
            "2,3,5,10",
            "--monetary",
            "50,100,250,500.001",
        ),
        ("--quintiles", "--recency-days", "30,90,180,365"),
    ]
    refused = [run(db_url, "marketing", "rfm-scoring", "USD", *args) for args in wrong]
    # then each is one line on stderr with a non-zero exit, and nothing is stored
    assert [r.returncode for r in refused] == [2, 2, 2, 2], refused
    assert "recency_days" in refused[0].stderr and "increase" in refused[0].stderr
    assert all(len(r.stderr.strip().splitlines()) == 1 for r in refused)
    assert count(uow, RfmScoringRow) == 0
    # when they are right, then they are stored and shown, and quintiles come back as asked
    set_to = run(db_url, "marketing", "rfm-scoring", "usd", "--recency-days", "30,90,180,365",
                 "--frequency-orders", "2,3,5,10", "--monetary", "50,100,250,500")  # fmt: skip
    assert set_to.returncode == 0, set_to
    assert (
        "USD: cutoffs (recency days 30, 90, 180, 365; orders 2, 3, 5, 10; spent 50.00, 100.00, 250.00, 500.00)"
        in (" ".join(set_to.stdout.split()))
    )
    with uow:
        row = uow.session.get(RfmScoringRow, "USD")
        assert row is not None and row.cutoffs == {
            "recency_days": [30, 90, 180, 365],
            "frequency_orders": [2, 3, 5, 10],
            "monetary_minor": [5000, 10000, 25000, 50000],
        }
    back = run(db_url, "marketing", "rfm-scoring", "USD", "--quintiles")
    assert back.returncode == 0 and "USD: quintiles; last scored never" in " ".join(back.stdout.split())
    with uow:
        assert uow.session.scalar(sa.select(RfmScoringRow.method)) == "quintiles"
