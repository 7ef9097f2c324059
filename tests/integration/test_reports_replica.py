"""ORDERSMITH_REPORTS_DATABASE_URL: reports and exports read the second database (a read replica in production)
and never the primary. First with a second database holding different rows, so where each figure came from shows;
then with a real PostgreSQL streaming standby this module starts (`tests/support/replica.py`: its own primary
cluster and a pg_basebackup standby), paused and resumed to show the figures and the lag it reports."""

from __future__ import annotations

import csv
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.app import create_app
from ordersmith.data.exports import service as exports
from ordersmith.payments.tables import GiftCardRow
from ordersmith.platform import migrate
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings
from ordersmith.reporting import service as reports
from tests.api.conftest import bearer
from tests.builders import make_api_key
from tests.support import databases
from tests.support.replica import Standby, streaming_standby, wait_for_replay

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


@pytest.fixture
def standby() -> Iterator[Standby]:
    with streaming_standby() as made:
        migrate.upgrade(made.primary_url)
        yield made


def _outstanding(db: Database) -> tuple[list[tuple[int, str]], object]:
    result = reports.run_report(
        db.for_reports.unit_of_work(Actor.system("test")), name="gift_cards_outstanding", parameters={}
    )
    return [(r["cards"], str(r["outstanding"].amount)) for r in result.rows], result.replica_lag_s


def test_a_streaming_standby_serves_reports_with_its_lag_and_never_takes_a_write(
    standby: Standby, tmp_path: Path
):
    # given a primary with a card worth 10.00, replayed by its standby, and Ordersmith reading reports there
    db = Database(standby.primary_url)
    db.use_replica(standby.standby_url)
    try:
        _cards(db, 1000)
        wait_for_replay(standby)
        # when the report runs, it answers from the standby, which says how far behind it is
        rows, lag = _outstanding(db)
        assert rows == [(1, "10.00")]
        assert lag is not None and lag >= 0  # a standby: pg_is_in_recovery()
        # when the standby's replay is paused and the primary sells two more cards
        with psycopg.connect(standby.standby_dsn, autocommit=True) as replica:
            replica.execute("SELECT pg_wal_replay_pause()")
            try:
                _cards(db, 300, 400)
                time.sleep(1.1)
                # then reports still show what the standby has, and its lag grows; the primary has moved on
                rows, paused_lag = _outstanding(db)
                assert rows == [(1, "10.00")] and paused_lag is not None and paused_lag >= 1
                with db.session() as session:
                    assert session.scalar(sa.select(sa.func.count()).select_from(GiftCardRow)) == 3
            finally:
                replica.execute("SELECT pg_wal_replay_resume()")
        wait_for_replay(standby)
        assert _outstanding(db)[0] == [(3, "17.00")]
        # and a write through the reports' engine is refused by the standby itself
        with pytest.raises(sa.exc.DBAPIError, match="read-only"), db.for_reports.session() as session:
            session.execute(sa.text("UPDATE gift_cards SET balance_minor = 0"))
    finally:
        db.dispose()
    # and through the API, configured by the setting, the report carries the standby's lag
    primary = Database(standby.primary_url)
    key = make_api_key(primary.unit_of_work(Actor.system("test")), name="replica-reports").secret
    primary.dispose()
    wait_for_replay(standby)
    configured = Settings(
        database_url=standby.primary_url,
        reports_database_url=standby.standby_url,
        vault_database_url=f"sqlite:///{tmp_path}/vault.db",
        sandbox_gateway_path=str(tmp_path / "sandbox_gateway.db"),
        sandbox_carrier_path=str(tmp_path / "sandbox_carrier.db"),
        sandbox_wallet_path=str(tmp_path / "sandbox_wallet.db"),
        env="test",
        _env_file=None,  # type: ignore[call-arg]
    )
    with TestClient(create_app(configured)) as client:
        body = client.get("/api/v1/reports/gift_cards_outstanding", headers=bearer(key)).json()
    assert [(r["cards"], r["outstanding"]) for r in body["rows"]] == [(3, "17.00")]
    assert body["replica_lag_s"] is not None and float(body["replica_lag_s"]) >= 0
