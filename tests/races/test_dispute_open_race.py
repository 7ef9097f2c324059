"""Opening one dispute by hand from several places at once, through a real server on SQLite and PostgreSQL: the
processor's dispute id is recorded once, one `dispute.opened` event, one entry; every other caller is told it is
recorded already (409)."""

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
def test_a_dispute_opened_by_hand_from_several_callers_at_once_is_opened_and_posted_once(
    db_url: str, uow: UnitOfWork, db: Database, tmp_path: Path, callers: int
) -> None:
    # given the chart of accounts and an admin's key
    finance.ensure_chart(uow)
    auth = {"Authorization": f"Bearer {make_api_key(uow, name='admin').secret}"}
    body = {
        "processor": "stripe",
        "reference": "dp_race_open",
        "capture_reference": "ch_race_open",
        "amount": {"amount": "22.00", "currency": "USD"},
        "fee": "15.00",
    }
    # when `callers` requests open the same dispute at once
    with running_server(db_url, tmp_path / "server.log") as server:
        answers = race(callers, lambda c, i: c.post(f"{server.url}/api/v1/disputes", headers=auth, json=body))
    # then one opened it and every other was told it is recorded already
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (callers - 1), [a.text for a in answers]
    assert all(a.json()["code"] == "already_exists" for a in answers if a.status_code == 409)
    # and once the relay has posted everything: one dispute, one event, one entry
    finance.register()
    try:
        while outbox.dispatch_batch(db.unit_of_work(uow.actor)):
            pass
    finally:
        finance.unregister()
    with db.engine.connect() as conn:
        disputes = conn.execute(sa.text("SELECT COUNT(*) FROM finance_disputes")).scalar_one()
        events = conn.execute(
            sa.text("SELECT COUNT(*) FROM outbox WHERE type = 'dispute.opened'")
        ).scalar_one()
        entries = conn.execute(
            sa.text("SELECT COUNT(*) FROM journal_entries WHERE rule = 'dispute.opened'")
        ).scalar_one()
    assert (disputes, events, entries) == (1, 1, 1)
    assert finance.unposted_amount(uow, currency="USD") == Money(Decimal(0), "USD")
