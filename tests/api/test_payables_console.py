"""The console's three-way-match exception queue through the ASGI app, on SQLite and PostgreSQL: one row per bill
that failed its match, with the reasons and its lines against the PO; match again, accept or reject with a note
(the override needs its own scope); refusals change nothing."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordersmith.finance import service as finance
from ordersmith.purchasing import service as purchasing
from tests.api.conftest import login
from tests.api.test_payables_api import received_po


@pytest.fixture
def queued(admin_db: Any) -> tuple[str, str]:
    """ACME's PO (10 mugs at 2.00, 8 received) and a bill for all 10 at 2.00 in the queue: (PO, bill)."""
    po = received_po(admin_db, received=8)
    bill = finance.enter_vendor_bill(
        admin_db,
        purchase_order=po,
        vendor_invoice="INV-9",
        billed_on=date(2026, 11, 2),
        lines=[finance.NewBillLine(po_line=1, quantity=10, unit_price="2.00")],
    )
    assert bill.status == "exception"
    return po, bill.number


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr class="exception-row" data-bill="([A-Z0-9-]+)">', html)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_a_manager_sees_the_reasons_and_accepts_the_bill_with_a_note(
    client: TestClient, admin_db: Any, queued
) -> None:
    _po, bill = queued
    login(client, admin_db, role="manager")
    page = client.get("/payables/exceptions")
    assert page.status_code == 200
    assert _rows(page.text) == [bill]
    row = page.text.split(f'data-bill="{bill}"')[1].split("</tr>")[0]
    assert "quantity" in row and "10 billed, 8 received" in row and "INV-9" in row and "$20.00" in row
    assert 'href="/payables/exceptions"' in page.text  # in the navigation
    # when accepted without a note: refused, nothing changes
    empty = client.post(
        f"/payables/exceptions/{bill}/accept", data={"csrf_token": _csrf(page.text), "note": " "}
    )
    assert empty.status_code == 422 and "note" in empty.text
    assert finance.get_vendor_bill(admin_db, ref=bill).status == "exception"
    # when accepted with a note
    done = client.post(
        f"/payables/exceptions/{bill}/accept",
        data={"csrf_token": _csrf(page.text), "note": "two more on the truck", "version": "2"},
        follow_redirects=False,
    )
    # then back to the queue, which is empty; the bill is matched with the note
    assert (done.status_code, done.headers["location"]) == (
        303,
        f"/payables/exceptions?done={bill}%20accepted",
    )
    after = client.get(done.headers["location"])
    assert _rows(after.text) == [] and f"{bill} accepted" in after.text
    assert (
        finance.get_vendor_bill(admin_db, ref=bill).status,
        finance.get_vendor_bill(admin_db, ref=bill).note,
    ) == (
        "matched",
        "two more on the truck",
    )


def test_an_accountant_matches_again_but_may_not_override(client: TestClient, admin_db: Any, queued) -> None:
    po, bill = queued
    login(client, admin_db, role="accountant")
    page = client.get("/payables/exceptions")
    assert _rows(page.text) == [bill] and "/accept" not in page.text
    # an override is refused, and changes nothing
    refused = client.post(
        f"/payables/exceptions/{bill}/reject", data={"csrf_token": _csrf(page.text), "note": "x"}
    )
    assert refused.status_code == 403
    assert finance.get_vendor_bill(admin_db, ref=bill).status == "exception"
    # when the last two mugs arrive and the bill is matched again, it leaves the queue
    purchasing.receive(admin_db, number=po, lines=[purchasing.ReceivedLine(sku="MUG", quantity=2)])
    again = client.post(f"/payables/exceptions/{bill}/match", data={"csrf_token": _csrf(page.text)})
    assert again.status_code == 200 and _rows(again.text) == []
    assert finance.get_vendor_bill(admin_db, ref=bill).status == "matched"


def test_a_stale_version_or_a_forged_form_changes_nothing(client: TestClient, admin_db: Any, queued) -> None:
    _po, bill = queued
    login(client, admin_db, role="manager")
    page = client.get("/payables/exceptions")
    stale = client.post(
        f"/payables/exceptions/{bill}/reject",
        data={"csrf_token": _csrf(page.text), "note": "wrong", "version": "1"},
    )
    forged = client.post(
        f"/payables/exceptions/{bill}/reject", data={"csrf_token": "forged", "note": "wrong"}
    )
    assert stale.status_code == 412 and _rows(stale.text) == [bill]
    assert forged.status_code == 403
    assert finance.get_vendor_bill(admin_db, ref=bill).status == "exception"
    # and a NUL in the filter is refused, not a server error
    assert client.get("/payables/exceptions", params={"vendor": "A\x00"}).status_code in (200, 400, 422)
    # and someone without payables:read cannot open the queue
    client.cookies.clear()
    login(client, admin_db, role="warehouse")
    assert client.get("/payables/exceptions").status_code == 403
