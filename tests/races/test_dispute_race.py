"""Dispute outcomes under concurrency, through a real server on SQLite and PostgreSQL (ADR 0040): two outcomes of one
dispute recorded at once — one won, one lost — close it once, emit one event and post one entry; eight at once
likewise."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.platform import outbox
from ordersmith.platform.db import Database, UnitOfWork
from tests.builders import make_api_key
from tests.races.test_collections_race import race
from tests.support.server import running_server


@pytest.mark.parametrize("callers", [2, 8])
def test_outcomes_recorded_at_once_close_a_dispute_once_and_post_one_entry(
    db_url: str, uow: UnitOfWork, db: Database, tmp_path: Path, callers: int
) -> None:
    # given an open dispute of 22.00 with a 15.00 fee, its opening posted
    finance.ensure_chart(uow)
    dispute, _ = finance.open_dispute(
        uow, processor="stripe", reference="dp_race", capture_reference="ch_race",
        amount=Money(Decimal("22.00"), "USD"), fee=Money(Decimal("15.00"), "USD"), source="settlement",
    )  # fmt: skip
    auth = {"Authorization": f"Bearer {make_api_key(uow, name='admin').secret}"}
    # when `callers` requests at once record it won and lost, alternately
    with running_server(db_url, tmp_path / "server.log") as server:
        answers = race(
            callers,
            lambda c, i: c.post(
                f"{server.url}/api/v1/disputes/{dispute.number}/outcome",
                headers=auth,
                json={"outcome": ("won", "lost")[i % 2], "note": f"caller {i}"},
            ),
        )
    # then one outcome was recorded, every other refused as closed
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * (callers - 1), [a.text for a in answers]
    assert all(a.json()["code"] == "dispute_closed" for a in answers if a.status_code == 409)
    (winner,) = [a.json() for a in answers if a.status_code == 200]
    # and once the relay has posted everything, the dispute's outcome is one entry
    finance.register()
    try:
        while outbox.dispatch_batch(db.unit_of_work(uow.actor)):
            pass
    finally:
        finance.unregister()
    with db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT status, version FROM finance_disputes")).one()
        events = conn.execute(
            sa.text("SELECT COUNT(*) FROM outbox WHERE type IN ('dispute.won', 'dispute.lost')")
        ).scalar_one()
        entries = conn.execute(
            sa.text("SELECT rule, COUNT(*) FROM journal_entries WHERE rule LIKE 'dispute.%' GROUP BY rule")
        ).all()
    assert tuple(row) == (winner["status"], 2) and events == 1
    assert sorted(tuple(e) for e in entries) == sorted(
        [("dispute.opened", 1), (f"dispute.{winner['status']}", 1)]
    )
    assert finance.unposted_amount(uow, currency="USD") == Money(Decimal(0), "USD")
