"""ORDERSMITH_REPORTS_DATABASE_URL: reports and exports read the second database (a read replica in production)
and never the primary. Here the "replica" is a second database holding different rows, so where each figure came
from shows; a real streaming standby is not started by this suite."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ordersmith.app import create_app
from ordersmith.data.exports import service as exports
from ordersmith.payments.tables import GiftCardRow
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings
from ordersmith.reporting import service as reports
from tests.api.conftest import bearer
from tests.builders import make_api_key
from tests.support import databases

NOW = datetime(2026, 3, 20, tzinfo=UTC)


@pytest.fixture
def replica_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    if db_url.startswith("sqlite"):
        folder = tmp_path / "replica"
        folder.mkdir()
        yield databases.fresh_sqlite(folder)
        return
    url = databases.fresh_postgres()
    try:
        yield url
    finally:
        databases.drop_postgres(url)


def _cards(db: Database, *balances: int) -> None:
    with db.session() as session, session.begin():
        for balance in balances:
            session.add(
                GiftCardRow(
                    id=uuid.uuid4(),
                    code_digest=uuid.uuid4().hex,
                    last_four="0000",
                    kind="gift_card",
                    status="active",
                    currency="USD",
                    balance_minor=balance,
                    initial_minor=balance,
                    issued_by="test",
                    created_at=NOW,
                    updated_at=NOW,
                    version=1,
                )
            )


def test_reports_and_exports_read_the_replica_when_one_is_set(
    db: Database, settings: Settings, replica_url: str, tmp_path: Path
):
    # given a card worth 10.00 on the primary and two worth 7.00 on the replica
    _cards(db, 1000)
    replica = Database(replica_url)
    _cards(replica, 300, 400)
    replica.dispose()
    # when reports and exports run with the replica set
    db.use_replica(replica_url)
    try:
        result = reports.run_report(
            db.for_reports.unit_of_work(Actor.system("test")), name="gift_cards_outstanding", parameters={}
        )
        # then the figures are the replica's
        assert [(r["cards"], str(r["outstanding"].amount)) for r in result.rows] == [(2, "7.00")]
        assert result.replica_lag_s is None or result.replica_lag_s >= 0  # a primary, not a standby, here
        path = tmp_path / "orders.csv"
        assert exports.stream_to_file(db, kind="orders", format="csv", filters={}, path=path) == 0
        assert len(list(csv.reader(path.open()))) == 1
        # and without it, the primary's
        db.use_replica(None)
        result = reports.run_report(
            db.unit_of_work(Actor.system("test")), name="gift_cards_outstanding", parameters={}
        )
        assert [(r["cards"], str(r["outstanding"].amount)) for r in result.rows] == [(1, "10.00")]
    finally:
        db.use_replica(None)
    # and through the API, configured by the setting
    key = make_api_key(db.unit_of_work(Actor.system("test")), name="reports").secret
    with TestClient(create_app(settings.model_copy(update={"reports_database_url": replica_url}))) as client:
        body = client.get("/api/v1/reports/gift_cards_outstanding", headers=bearer(key)).json()
    assert [(r["cards"], r["outstanding"]) for r in body["rows"]] == [(2, "7.00")]
