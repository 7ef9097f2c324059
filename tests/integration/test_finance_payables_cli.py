"""`ordersmith finance …` for accounts payable against real databases: a bill entered and sent to the exception
queue, accepted, approved and paid; the aging reconciled after the journal catches up; a bad line refused in one
line with nothing written."""

from __future__ import annotations

import sqlalchemy as sa

from ordersmith.platform.db import UnitOfWork
from tests.api.test_payables_api import received_po
from tests.integration.test_cli import run


def bills(uow: UnitOfWork) -> int:
    with uow.db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT COUNT(*) FROM finance_vendor_bills")).scalar_one())


def test_a_bill_goes_from_the_queue_to_paid_from_the_command_line(db_url: str, uow: UnitOfWork):
    # given 8 of 10 mugs received at 2.00
    po = received_po(uow, received=8)
    # when a bill for 10 is entered, the queue listed, the exception accepted, the bill approved and paid
    entered = run(
        db_url, "finance", "enter-bill", po, "INV-77", "--line", "1:10:2.00", "--billed-on", "2026-11-02"
    )
    queue = run(db_url, "finance", "match-exceptions")
    accepted = run(db_url, "finance", "resolve-exception", "VB-000001", "--note", "2 more on the truck")
    approved = run(db_url, "finance", "approve-bill", "VB-000001")
    paid = run(db_url, "finance", "pay-vendor", "ACME", "--bill", "VB-000001:12.50", "--method", "check")
    posted = run(db_url, "finance", "replay")
    aging = run(db_url, "finance", "ap-aging", "--as-of", "2026-12-10")
    # then each says what it did
    assert entered.returncode == 0, entered.stderr
    assert (
        "VB-000001 ACME invoice INV-77" in entered.stdout
        and ": exception, 20.00 USD due 2026-12-02" in entered.stdout
    )
    assert "quantity (line 1): PO line 1 (MUG): 10 billed, 8 received" in entered.stdout
    assert "VB-000001" in queue.stdout and "1 open exception(s)" in queue.stdout
    assert ": matched," in accepted.stdout and ": approved," in approved.stdout
    assert paid.stdout.splitlines()[0] == "VP-000001: 12.50 USD to ACME by check"
    assert posted.returncode == 0, posted.stderr
    assert aging.returncode == 0, aging.stdout + aging.stderr
    assert "USD: subledger 7.50, control account 7.50, difference 0.00" in aging.stdout


def test_a_bill_line_that_is_not_on_the_po_fails_in_one_line_and_writes_nothing(db_url: str, uow: UnitOfWork):
    po = received_po(uow)
    bad = run(db_url, "finance", "enter-bill", po, "INV-1", "--line", "1:1:2.00", "--line", "4:1:2.00")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "has no line 4" in bad.stderr
    assert bills(uow) == 0
