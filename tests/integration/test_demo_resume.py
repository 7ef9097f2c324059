"""`demo load` killed part-way: run again, it completes, with every key it made in the credentials file and, when
it was killed inside a later step (customers, orders), the same records as a load never interrupted."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersmith import demo
from ordersmith.demo.platform import DEMO_CHANNELS
from ordersmith.platform import identity
from ordersmith.platform.access import ROLES
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import ApiKeyRow, SalesChannelRow, UserRow
from tests.builders import make_channel
from tests.support import databases
from tests.support.server import ForkedProcess, ordersmith_process


def _counts(db: Database) -> tuple[int, int, int]:
    with db.session() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(sa.select(sa.func.count()).select_from(t)) or 0)
            for t in (UserRow, SalesChannelRow, ApiKeyRow)
        )


def _keys_in(credentials: Path) -> dict[str, str]:
    lines = [line.split("\t") for line in credentials.read_text().splitlines()]
    return {
        who.removeprefix("api key for "): secret for who, secret in lines if who.startswith("api key for ")
    }


def test_an_interrupted_demo_load_completes_when_run_again_and_lists_every_key(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # given a demo load that dies while making the third channel's key (as a killed process would)
    credentials = tmp_path / "var" / "demo-credentials.txt"
    made = identity.create_api_key
    calls = {"n": 0}

    def dies_on_the_third(*args: object, **kwargs: object) -> identity.NewApiKey:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return made(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(identity, "create_api_key", dies_on_the_third)
    with pytest.raises(RuntimeError, match="killed"):
        demo.load(db, settings, credentials, up_to_stage=10)
    monkeypatch.undo()
    # the users and the first two keys were written as they were made; nothing half-made was left
    assert _counts(db) == (len(ROLES), 2, 2)  # a user of each role
    assert set(_keys_in(credentials)) == {"web", "call-center"}
    # when it runs again
    report = demo.load(db, settings, credentials, up_to_stage=10)
    # then it completes, and the file lists every channel's key, each one working
    assert _counts(db) == (len(ROLES), 5, 5)
    made_now = [line.split(" with API key ")[0] for line in report.lines if line.startswith("sales channel")]
    assert made_now == ["sales channel catalog-mail", "sales channel amazon-us", "sales channel store-pos"]
    keys = _keys_in(credentials)
    assert set(keys) == {code for code, *_ in DEMO_CHANNELS}
    uow = db.unit_of_work(Actor.system("test"))
    assert all(identity.resolve_api_key(uow, clear=secret) is not None for secret in keys.values())
    assert len(credentials.read_text().splitlines()) == len(ROLES) + 5


def test_a_channel_left_without_its_key_gets_one(db: Database, settings: Settings, tmp_path: Path):
    # given a channel an older, killed load created without its key
    make_channel(db.unit_of_work(Actor.system("test")), code="web")
    credentials = tmp_path / "demo-credentials.txt"
    # when the demo load runs
    demo.load(db, settings, credentials, up_to_stage=10)
    # then the channel has its key, listed with the others, and no channel was made twice
    assert _counts(db) == (len(ROLES), 5, 5)
    assert set(_keys_in(credentials)) == {code for code, *_ in DEMO_CHANNELS}


# --- a load killed inside a later step ---------------------------------------------------------------------------

_SMALL = {"ORDERSMITH_DEMO_ORDERS": "24", "ORDERSMITH_DEMO_CUSTOMERS": "120"}


def _demo_load(database_url: str, folder: Path) -> ForkedProcess:
    """`ordersmith demo load` as its own process, the way an operator runs it (small sizes), again and again in
    the same folder: the vault and the sandbox processor keep their files there, as they would."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        **_SMALL,
        "ORDERSMITH_DATABASE_URL": database_url,
        "ORDERSMITH_ENV": "test",
        "ORDERSMITH_VAULT_DATABASE_URL": f"sqlite:///{folder}/vault.db",
        "ORDERSMITH_SANDBOX_GATEWAY_PATH": str(folder / "sandbox_gateway.db"),
        "ORDERSMITH_SANDBOX_CARRIER_PATH": str(folder / "sandbox_carrier.db"),
        "ORDERSMITH_SANDBOX_WALLET_PATH": str(folder / "sandbox_wallet.db"),
    }
    return ordersmith_process(["demo", "load"], environment, folder / "load.log", cwd=folder)


def _rows(database_url: str, table: str, engine: sa.Engine | None = None) -> int:
    """How many rows `table` holds, read through `engine` when given (one connection for a whole watch: a new
    one every 20 ms is a new PostgreSQL backend each time, on the cores the load runs on)."""
    own = engine is None
    engine = sa.create_engine(database_url) if engine is None else engine
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    except sa.exc.DBAPIError:
        return 0  # not migrated yet
    finally:
        if own:
            engine.dispose()


def _kill_once(database_url: str, folder: Path, table: str, at_least: int) -> None:
    """Start a load and kill it (SIGKILL: no clean-up of any kind) once `table` holds `at_least` rows."""
    process = _demo_load(database_url, folder)
    deadline = time.monotonic() + 180
    watch = sa.create_engine(database_url, poolclass=sa.pool.StaticPool)
    try:
        while _rows(database_url, table, watch) < at_least:
            assert process.poll() is None, (folder / "load.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the load never got there"
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait()
        watch.dispose()


def _completed(database_url: str, folder: Path) -> None:
    process = _demo_load(database_url, folder)
    assert process.wait(timeout=300) == 0, (folder / "load.log").read_text()[-3000:]


# What a load makes; stock movements are left out (an order placed again tops its stock up again, as a receipt).
_COUNTED = ("users", "sales_channels", "api_keys", "items", "stock_levels", "customers", "customer_addresses",
            "customer_search_keys", "vendors", "vendor_items", "replenishment_rules", "purchase_orders",
            "price_lists", "promotions", "coupons", "shipping_methods", "tax_rates", "orders", "order_lines",
            "payments", "payment_transactions", "invoices", "gift_cards", "returns", "order_holds", "order_events",
            "customer_channels", "price_list_prices", "purchase_receipts")  # fmt: skip


def _counts_of(database_url: str) -> dict[str, int]:
    return {table: _rows(database_url, table) for table in _COUNTED}


def test_a_demo_load_killed_in_its_customers_and_in_its_orders_completes_with_the_counts_of_an_unbroken_one(
    db_url: str, tmp_path: Path
):
    # given a load killed while it makes customers, and the next one killed while it places orders
    _kill_once(db_url, tmp_path / "interrupted", "customers", 40)
    customers_then = _rows(db_url, "customers")
    _kill_once(db_url, tmp_path / "interrupted", "orders", 8)
    orders_then = _rows(db_url, "orders")
    # when it runs again
    _completed(db_url, tmp_path / "interrupted")
    # then it was killed part-way both times, and now holds what a load never interrupted makes
    assert 40 <= customers_then < 121
    assert 8 <= orders_then < 24
    (tmp_path / "unbroken").mkdir()
    unbroken = (
        databases.fresh_postgres()
        if db_url.startswith("postgresql")
        else databases.fresh_sqlite(tmp_path / "unbroken")
    )
    try:
        _completed(unbroken, tmp_path / "unbroken")
        expected = _counts_of(unbroken)
    finally:
        if unbroken.startswith("postgresql"):
            databases.drop_postgres(unbroken)
    assert expected["customers"] == 121 and expected["orders"] == 24
    assert _counts_of(db_url) == expected
