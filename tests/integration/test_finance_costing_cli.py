"""`ordersmith finance landed-cost|landed-costs|valuation|costing-policy` against real databases: a charge entered
against a PO's receipts and posted by `replay`, read back split; the valuation with the subledger equal to the
inventory account; the policy switched per item; a bad charge refused in one line with nothing written."""

from __future__ import annotations

import sqlalchemy as sa

from ordersmith.platform.db import UnitOfWork
from tests.api.test_costing_api import received
from tests.integration.test_cli import run


def charges(uow: UnitOfWork) -> int:
    with uow.db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT COUNT(*) FROM finance_landed_costs")).scalar_one())


def test_a_landed_cost_is_entered_posted_and_valued_from_the_command_line(db_url: str, uow: UnitOfWork):
    # given 10 mugs and 4 lamps received (20.00 each)
    po, _receipt = received(uow)
    # when 9.01 of duty is charged by units to the PO's receipts, the ledger catches up, and it is read back
    entered = run(
        db_url,
        "finance",
        "landed-cost",
        "--kind",
        "duty",
        "--amount",
        "9.01",
        "--basis",
        "units",
        "--po",
        po,
        "--reference",
        "CBP-1",
    )
    posted = run(db_url, "finance", "replay")
    one = run(db_url, "finance", "landed-costs", "LC-000001")
    listed = run(db_url, "finance", "landed-costs", "--po", po)
    switched = run(db_url, "finance", "costing-policy", "--by-location", "--sku", "MUG")
    policy = run(db_url, "finance", "costing-policy")
    valued = run(db_url, "finance", "valuation")
    # then each says what it did: 10 : 4 units is 6.44 and 2.57 (the odd cent to the larger remainder)
    assert entered.returncode == 0, entered.stderr
    assert f"LC-000001: duty 9.01 USD by units on {po} (waiting for the ledger)" in entered.stdout
    assert posted.returncode == 0, posted.stderr
    assert f"LC-000001: duty 9.01 USD by units on {po} (posted)" in one.stdout
    assert "6.44" in one.stdout and "2.57" in one.stdout
    assert "LC-000001" in listed.stdout and "1 charge(s)" in listed.stdout
    assert "MUG: now per location, 10 unit(s) 26.44 USD" in switched.stdout, switched.stdout + switched.stderr
    assert "every item: per item" in policy.stdout and "MUG: per location" in policy.stdout
    assert valued.returncode == 0, valued.stdout + valued.stderr
    assert "EAST: 14 unit(s), 49.01 USD" in valued.stdout
    assert "USD: subledger 49.01, inventory account 49.01, difference 0.00" in valued.stdout


def test_a_bad_charge_fails_in_one_line_and_writes_nothing(db_url: str, uow: UnitOfWork):
    po, receipt = received(uow)
    by_weight = run(
        db_url,
        "finance",
        "landed-cost",
        "--kind",
        "freight",
        "--amount",
        "5.00",
        "--basis",
        "weight",
        "--receipt",
        receipt,
    )
    not_an_id = run(
        db_url, "finance", "landed-cost", "--kind", "freight", "--amount", "5.00", "--receipt", "R-1"
    )
    both = run(
        db_url,
        "finance",
        "landed-cost",
        "--kind",
        "freight",
        "--amount",
        "5.00",
        "--receipt",
        receipt,
        "--po",
        po,
    )
    for refused in (by_weight, not_an_id, both):
        assert refused.returncode == 2, refused.stdout
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "LAMP has no weight" in by_weight.stderr
    assert "receipts.0" in not_an_id.stderr
    assert charges(uow) == 0


def test_an_upgrade_s_drift_is_trued_up_once_from_the_command_line_and_a_bad_account_fails_in_one_line(
    db_url: str, uow: UnitOfWork
):
    # given the mugs and lamps posted, then the mugs' value seeded 0.05 above the inventory account (an upgrade)
    received(uow)
    with uow.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE finance_item_costs SET value_minor = value_minor + 5 WHERE sku = 'MUG'"))
    # when the valuation is read, the true-up is asked of the inventory account itself, then of shrinkage, twice
    differs = run(db_url, "finance", "valuation")
    itself = run(db_url, "finance", "true-up-inventory", "--account", "1300")
    done = run(db_url, "finance", "true-up-inventory", "--account", "5100")
    again = run(db_url, "finance", "true-up-inventory", "--account", "5100")
    agrees = run(db_url, "finance", "valuation")
    # then the valuation fails on the difference, the bad account fails in one line, the true-up posts it once
    assert differs.returncode == 1 and "difference -0.05" in differs.stdout
    assert itself.returncode != 0 and "inventory account" in itself.stderr and itself.stderr.count("\n") <= 1
    assert done.returncode == 0, done.stderr
    assert "USD: 0.05 to the inventory account (debit) against 5100" in done.stdout
    assert again.returncode == 0 and "nothing posted" in again.stdout
    assert agrees.returncode == 0 and "difference 0.00" in agrees.stdout
