"""The three-way-match exception queue in a real browser (Chromium) against a real server, on SQLite and
PostgreSQL: a manager opens Match exceptions from the top bar, reads why a bill does not match, and accepts it
with a note; the page fits a 1280 px screen, every field is labelled, and axe-core finds no serious violation.
A screenshot of the queue goes to docs/screenshots/."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ordersmith.finance import service as finance
from tests.api.test_payables_api import received_po
from tests.browser.test_console_screens import shot, sign_in
from tests.browser.test_warehouse_console import UNLABELLED
from tests.builders import make_user
from tests.support.server import Server


def test_a_manager_accepts_a_bill_from_the_exception_queue(
    page: Any, server: Server, fixture_uow: Any
) -> None:
    axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe()
    # given two bills in the queue: 10 mugs billed, 8 received; 4 more billed at 10 % over the PO's price
    po = received_po(fixture_uow, received=8)
    for invoice, quantity, price in (("INV-9", 10, "2.00"), ("INV-10", 4, "2.20")):
        finance.enter_vendor_bill(
            fixture_uow,
            purchase_order=po,
            vendor_invoice=invoice,
            billed_on=date(2026, 1, 5),
            lines=[finance.NewBillLine(po_line=1, quantity=quantity, unit_price=price)],
        )
    make_user(fixture_uow, role="manager", email="controller@example.com")
    # when the manager opens the queue from the top bar
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "controller@example.com")
    page.click("header nav a[href='/payables/exceptions']")
    page.wait_for_url("**/payables/exceptions")
    # then both bills are there with their reasons, the page fits, every field is labelled, axe is content
    rows = page.locator("tr.exception-row")
    assert rows.count() == 2
    first = page.locator("tr[data-bill='VB-000001']")
    assert "10 billed, 8 received" in first.inner_text()
    assert "billed at 2.20 a unit, ordered at 2.00" in page.locator("tr[data-bill='VB-000002']").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert page.evaluate(UNLABELLED) == []
    serious = [
        v["id"] for v in axe.run(page).response["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    shot(page, "payables-exceptions")
    # when the first is accepted with a note
    first.get_by_label("Note for VB-000001").fill("2 more on the truck, per ACME")
    first.get_by_role("button", name="Accept").click()
    page.wait_for_url("**/payables/exceptions?done=*")
    # then it has left the queue and is matched
    assert page.locator("#done").inner_text() == "VB-000001 accepted."
    assert page.locator("tr.exception-row").count() == 1
    assert finance.get_vendor_bill(fixture_uow, ref="VB-000001").status == "matched"
