"""Accounts payable under concurrency, through a real server on SQLite and PostgreSQL: six approvals of one bill at
once approve (and post) it once; six payments of the whole bill at once pay it once; six partial payments of a
quarter each pay exactly four; the AP subledger still equals the AP control account."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ordersmith.catalog import service as catalog
from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork
from ordersmith.purchasing import service as purchasing
from tests.builders import make_api_key, make_location, make_vendor
from tests.races.test_fulfillment_race import codes, payloads, rows, settled, staff
from tests.races.test_payment_race import race
from tests.support.server import running_server

pytestmark = pytest.mark.slow


@pytest.fixture
def books(uow: UnitOfWork) -> tuple[str, str]:
    """Two bills of ACME's for 20.00 each (10 mugs received at 2.00 each, billed 10 and 10 of 20). Returns a staff
    key with the payables scopes and the PO's number."""
    finance.ensure_chart(uow)
    make_location(uow, code="EAST")
    catalog.create_item(uow, sku="MUG", name="Mug", divisions=["web"], weight_g=300)
    make_vendor(uow, code="ACME")
    po = purchasing.create_purchase_order(
        uow,
        vendor="ACME",
        location="EAST",
        lines=[purchasing.NewLine("MUG", 20, unit_cost=Money(Decimal("2.00"), "USD"))],
    )
    purchasing.approve(uow, number=po.number)
    purchasing.send(uow, number=po.number)
    purchasing.receive(uow, number=po.number, lines=[purchasing.ReceivedLine(sku="MUG", quantity=20)])
    for invoice in ("INV-A", "INV-B"):
        finance.enter_vendor_bill(
            uow,
            purchase_order=po.number,
            vendor_invoice=invoice,
            billed_on=date(2026, 11, 2),
            lines=[finance.NewBillLine(po_line=1, quantity=10, unit_price="2.00")],
        )
    key = make_api_key(uow, name="ap", scopes=["payables:read", "payables:write", "payables:approve"]).secret
    return key, po.number


def pay(bill: str, amount: str) -> dict[str, object]:
    return {
        "vendor": "ACME",
        "amount": {"amount": amount, "currency": "USD"},
        "method": "ach",
        "bills": [{"bill": bill, "amount": amount}],
    }


def test_racing_approvals_and_payments_never_approve_or_pay_a_bill_twice(
    db_url: str, uow: UnitOfWork, books: tuple[str, str], tmp_path: Path
) -> None:
    key, _po = books
    auth = {"Authorization": f"Bearer {key}"}
    with running_server(db_url, tmp_path / "server.log") as server, staff(server.url, key) as client:
        url = server.url
        # when six people approve bill A at the same moment
        approvals = race(6, lambda c, i: c.post(f"{url}/api/v1/vendor-bills/VB-000001/approve", headers=auth))
        # then one approved it; five were refused naming its state
        assert codes(approvals) == Counter({(200, ""): 1, (409, "illegal_transition"): 5}), [
            a.text for a in approvals
        ]
        assert client.post("/api/v1/vendor-bills/VB-000002/approve").status_code == 200
        # when six payments of all of bill A's 20.00 arrive at once
        whole = race(
            6,
            lambda c, i: c.post(
                f"{url}/api/v1/vendor-payments", json=pay("VB-000001", "20.00"), headers=auth
            ),
        )
        # and six payments of 5.00 (a quarter) of bill B
        quarters = race(
            6,
            lambda c, i: c.post(f"{url}/api/v1/vendor-payments", json=pay("VB-000002", "5.00"), headers=auth),
        )
        settled(uow)
        bill_a = client.get("/api/v1/vendor-bills/VB-000001").json()
        bill_b = client.get("/api/v1/vendor-bills/VB-000002").json()
    # then bill A was paid by exactly one payment, the others refused (it was paid, or would be overpaid)
    assert sum(n for (status, _), n in codes(whole).items() if status == 201) == 1, [a.text for a in whole]
    assert all(a.status_code in (201, 409) for a in whole)
    assert (bill_a["status"], bill_a["paid"]["amount"]) == ("paid", "20.00")
    # and bill B took exactly four quarters
    assert sum(1 for a in quarters if a.status_code == 201) == 4, [a.text for a in quarters]
    assert all(a.status_code in (201, 409) for a in quarters)
    assert (bill_b["status"], bill_b["paid"]["amount"]) == ("paid", "20.00")
    # and the database agrees: five payments, each bill paid its total, one approval event per bill
    assert rows(uow, "SELECT count(*), sum(amount_minor) FROM finance_vendor_payments") == [(5, 4000)]
    assert rows(uow, "SELECT sum(amount_minor) FROM finance_vendor_payment_allocations") == [(4000,)]
    assert [p["number"] for p in payloads(uow, "vendor_bill.approved")] == ["VB-000001", "VB-000002"]
    assert len(payloads(uow, "vendor_payment.made")) == 5
    # and each event was posted once: AP credited 40.00 at approval and debited 40.00 by the payments
    assert rows(uow, "SELECT rule, count(*) FROM journal_entries GROUP BY rule ORDER BY rule") == [
        ("po.received", 1),
        ("vendor_bill.approved", 2),
        ("vendor_payment.made", 5),
    ]
    aging = finance.ap_aging(uow, as_of=date(2026, 12, 6))
    assert (aging.rows, aging.reconciliation) == ([], [])
    assert finance.unposted_amount(uow, currency="USD").is_zero()


def test_six_bills_for_the_same_received_goods_entered_at_once_match_once(
    db_url: str, uow: UnitOfWork, books: tuple[str, str], tmp_path: Path
) -> None:
    # given the fixture's 20 mugs received and billed 10 + 10: none left to bill
    key, po = books
    auth = {"Authorization": f"Bearer {key}"}
    with running_server(db_url, tmp_path / "server.log") as server:
        url = server.url
        # when bill A is rejected (its 10 mugs free again) and six bills for those 10 arrive at once
        with staff(url, key) as client:
            rejected = client.post("/api/v1/vendor-bills/VB-000001/reject", json={"note": "wrong prices"})
            assert rejected.status_code == 200, rejected.text
        bills = race(
            6,
            lambda c, i: c.post(
                f"{url}/api/v1/vendor-bills",
                headers=auth,
                json={
                    "purchase_order": po,
                    "vendor_invoice": f"RACE-{i}",
                    "billed_on": "2026-11-03",
                    "lines": [{"po_line": 1, "quantity": 10, "unit_price": "2.00"}],
                },
            ),
        )
    # then all six were entered, exactly one matched and five wait in the queue (each saw the others' units)
    assert [a.status_code for a in bills] == [201] * 6, [a.text for a in bills]
    assert Counter(a.json()["status"] for a in bills) == Counter({"matched": 1, "exception": 5})
    assert rows(uow, "SELECT billed_quantity FROM finance_po_line_billing") == [(70,)]
    assert rows(uow, "SELECT count(*) FROM finance_match_exceptions WHERE status = 'open'") == [(5,)]
