"""Vendor bills imported from a CSV through the bulk-import framework, on SQLite and PostgreSQL: a dry run that
writes nothing, bills matched as they are entered (a mismatch is entered and queued, not a bad row), and a bad line
refusing its whole bill, all or nothing, naming row and column."""

from __future__ import annotations

from ordersmith.data.imports import service as imports
from ordersmith.finance import service as finance
from ordersmith.platform.db import Database
from tests.api.test_payables_api import received_po
from tests.integration.test_data_import_kinds import ACTOR, _jobs, count, errors_of, run_jobs, state, upload

__all__ = ["_jobs"]  # the autouse fixture that registers the import jobs

HEADER = "vendor,vendor_invoice,purchase_order,billed_on,po_line,quantity,unit_price,sku\n"


def test_a_csv_of_bills_is_dry_run_then_entered_and_matched(db: Database) -> None:
    uow = db.unit_of_work(ACTOR)
    po = received_po(uow, ordered=10, received=8)
    data = HEADER + (
        f"ACME,INV-1,{po},2026-11-02,1,4,2.00,MUG\n"
        f"ACME,INV-1,{po},2026-11-02,1,2,2.00,\n"
        f"ACME,INV-2,{po},2026-11-03,1,4,2.00,MUG\n"
    )
    # given a dry run: nothing is written
    imported = upload(db, "vendor_bills", data)
    run_jobs(db)
    assert (state(db, imported).to_create, state(db, imported).invalid_rows) == (3, 0)
    assert count(db, "finance_vendor_bills") == 0
    # when applied
    imports.request_apply(uow, import_id=imported.id)
    run_jobs(db)
    # then two bills: the first (6 of 8 received) matched, the second (10 billed, 8 received) queued
    assert state(db, imported).status == "applied"
    found = sorted(finance.list_vendor_bills(uow).items, key=lambda b: b.number)
    assert [(b.vendor_invoice, b.status, b.source, len(b.lines), str(b.total.amount)) for b in found] == [
        ("INV-1", "matched", "import", 2, "12.00"),
        ("INV-2", "exception", "import", 1, "8.00"),
    ]
    assert [e.bill for e in finance.list_match_exceptions(uow).items] == [found[1].number]


def test_a_bill_line_on_no_po_line_refuses_its_bill_and_all_or_nothing_writes_none(db: Database) -> None:
    uow = db.unit_of_work(ACTOR)
    po = received_po(uow)
    data = HEADER + (
        f"ACME,INV-1,{po},2026-11-02,1,4,2.00,\n"
        f"ACME,INV-2,{po},2026-11-02,1,1,2.00,\n"
        f"ACME,INV-2,{po},2026-11-02,9,1,2.00,\n"
        f"ACME,INV-3,{po},2026-11-02,1,1,two,\n"
    )
    imported = upload(db, "vendor_bills", data, apply=True)
    run_jobs(db)
    assert errors_of(db, imported) == [
        (3, "row", "bill ACME/INV-2 is refused: see row 4"),
        (4, "po_line", f"{po} has no line 9 (its lines: 1)"),
        (5, "unit_price", "String should match pattern '^-?[0-9]{1,15}(\\.[0-9]{1,4})?$'"),
    ]
    assert state(db, imported).status == "validated"
    assert count(db, "finance_vendor_bills") == 0
    assert count(db, "finance_po_line_billing") == 0
