"""Continuity shipments under two `ordersmith worker` processes, one SIGKILLed part-way and a fresh one started, on
SQLite and PostgreSQL: every due shipment becomes exactly one order with exactly one authorization at the processor,
and is recorded once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersmith.continuity import service as continuity
from ordersmith.continuity.tables import ShipmentRow, SubscriptionRow
from ordersmith.customers import service as customers
from ordersmith.orders.tables import OrderRow
from ordersmith.payments import service as payments
from ordersmith.platform import jobs
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import make_order_shop, stock
from tests.support.server import ordersmith_process

pytestmark = pytest.mark.slow
MEMBERS = 30
ADDRESS = {"name": "Ann Member", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
           "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip


def _count(db: Database, table: type) -> int:
    with db.session(readonly=True) as session:  # a read: never the writer lock
        return int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def _wait(test: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if test():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(process: object) -> None:
    process.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
    try:
        process.wait(timeout=20)  # type: ignore[attr-defined]
    except subprocess.TimeoutExpired:
        process.kill()  # type: ignore[attr-defined]


def test_each_shipment_is_one_order_with_two_workers_one_killed_and_a_restart(
    db_url: str, db: Database, uow: UnitOfWork, settings: Settings, tmp_path: Path
):
    # given 30 members whose first shipment is due today, each with a card in the vault the workers use
    wired = payments.setup_payments(db, settings)
    make_order_shop(uow)
    stock(uow, sku="TEE", location="EAST", quantity=500)
    continuity.create_program(uow, code="TEES", name="Tees", kind="replenish", interval_weeks=4,
                              items=[continuity.ProgramItem("TEE", 2)], terms="Two tees every 4 weeks.")  # fmt: skip
    token = wired.vault.tokenize(number="4242424242424242", exp_month=12, exp_year=2031, actor="test").token
    for n in range(MEMBERS):
        buyer = customers.create_customer(
            uow, details=customers.Details(first_name=f"M{n}", emails=[f"m{n}@example.com"])
        )
        continuity.sign_up(uow, program="TEES", customer=buyer.number, channel="web", ship_to=ADDRESS,
                           card_token=token, accepted_terms=True, terms_version=1)  # fmt: skip
    env = {
        **os.environ,
        "ORDERSMITH_DATABASE_URL": db_url,
        "ORDERSMITH_ENV": "test",
        "ORDERSMITH_JOB_LEASE_S": "2",  # a killed worker's claims lapse quickly (and slow placements overlap)
        # One job thread each (the default is four): the kill must land while shipments remain, and eight threads
        # placed all thirty before the first count.
        "ORDERSMITH_JOB_THREADS": "1",
        "ORDERSMITH_VAULT_DATABASE_URL": settings.vault_database_url,
        "ORDERSMITH_SANDBOX_GATEWAY_PATH": str(tmp_path / "sandbox_gateway.db"),
        "ORDERSMITH_SANDBOX_CARRIER_PATH": str(tmp_path / "sandbox_carrier.db"),
    }
    # and the placing job queued several times over, so both workers run it at once (besides the schedule's run)
    continuity.register(lease_s=2)
    with uow:
        for _ in range(6):
            jobs.enqueue(uow, continuity.JOB, {})
    workers = [ordersmith_process(["worker"], env, tmp_path / f"w{i}.log") for i in range(2)]
    fresh = None
    try:
        # when the first worker is killed once a few shipments are recorded
        _wait(lambda: _count(db, ShipmentRow) >= 5, 120, "the first shipments")
        killed_at = _count(db, ShipmentRow)  # counted before the kill: the other worker goes on meanwhile
        workers[0].kill()
        workers[0].wait(timeout=10)
        # and a fresh worker is started in its place, with the job queued again
        fresh = ordersmith_process(["worker"], env, tmp_path / "w2.log")
        with uow:
            jobs.enqueue(uow, continuity.JOB, {})
        _wait(lambda: _count(db, ShipmentRow) >= MEMBERS, 180, "every shipment")
    finally:
        for process in [workers[1], fresh]:
            if process is not None:
                _stop(process)
    logs = "\n".join(p.read_text() for p in tmp_path.glob("w*.log"))
    assert killed_at < MEMBERS, "the kill came after the work was done: nothing was tested"
    # then each member's first shipment is exactly one order, keyed by subscription and shipment
    with db.session(readonly=True) as session:  # a read: never the writer lock
        refs = list(
            session.scalars(sa.select(OrderRow.external_id).where(OrderRow.external_id.like("continuity-%")))
        )
        subs = list(session.scalars(sa.select(SubscriptionRow)))
    assert len(refs) == MEMBERS == len(set(refs)), logs[-3000:]
    assert sorted(refs) == sorted(f"continuity-{s.number}-1" for s in subs)
    # and each is recorded once, the subscription moved on to its second shipment with no claim left
    assert _count(db, ShipmentRow) == MEMBERS
    assert {(s.cycle, s.failed_attempts, s.claimed_by) for s in subs} == {(2, 0, None)}
    # and the processor authorized each order once (a repeated request after the kill was answered as before)
    with sqlite3.connect(tmp_path / "sandbox_gateway.db") as books:
        authorized = books.execute("SELECT COUNT(*) FROM operations WHERE kind = 'authorization'").fetchone()[
            0
        ]
    assert authorized == MEMBERS
