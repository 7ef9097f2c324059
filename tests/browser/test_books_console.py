"""The accountant's home in a real browser (Chromium) against a real server, on SQLite and PostgreSQL: an accountant
signs in and lands on the books — who is late, the queue, the close — goes from the late customer to their
statement and invoice, writes part of it off through the form (a malformed amount is shown beside its field first),
and reads the trial balance of a division. Every page fits a 1280 px screen, every field is labelled, and axe-core
finds no serious violation. Screenshots of the home and the statement go to docs/screenshots/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ordersmith.finance import service as finance
from ordersmith.kernel.clock import ShiftedClock
from ordersmith.payments import service as payments
from ordersmith.platform.settings import Settings
from tests.browser.test_console_screens import shot, sign_in
from tests.browser.test_warehouse_console import UNLABELLED
from tests.builders import (
    make_account_customer,
    make_order_shop,
    make_user,
    place_on_account,
    ship_and_invoice,
)
from tests.support.server import Server


def checked(page: Any, axe: Any) -> None:
    """The page fits 1280 px, labels every field, and axe finds nothing serious."""
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert page.evaluate(UNLABELLED) == []
    serious = [
        v["id"] for v in axe.run(page).response["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], page.url


def test_an_accountant_goes_from_the_home_to_a_late_invoice_and_writes_part_of_it_off(
    page: Any, server: Server, fixture_uow: Any, clock_offset: timedelta, settings: Settings
) -> None:
    axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe()
    # given a 60.00 phone order on account, invoiced net 30 forty days ago (ten days past due), and an accountant
    payments.setup_payments(fixture_uow.db, settings)
    before = fixture_uow.db.unit_of_work(
        fixture_uow.actor, clock=ShiftedClock(clock_offset - timedelta(days=40))
    )
    make_order_shop(before)
    customer = make_account_customer(before)
    placed = place_on_account(before, customer.number)
    # Shipped and invoiced in one transaction: the server's relay, which captures what a shipment makes due, sees
    # the shipment only with its invoice (issued forty days ago), never before it (it would invoice it today).
    with before:
        ship_and_invoice(before, placed)
    finance.replay_outbox(fixture_uow)
    (invoice,) = payments.list_invoices(fixture_uow, customer_id=customer.id).items
    make_user(fixture_uow, role="accountant", email="books@example.com")
    # when the accountant signs in
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "books@example.com")
    # then the home is the books: the late customer with what is past due, every books screen in reach
    assert page.locator("#books-kpis").is_visible()
    late = page.locator(f"#home-late tr[data-customer='{customer.number}']")
    assert "$60.00" in late.inner_text()
    assert page.locator("#late-count").inner_text() == "1"
    for href in ("/finance/receivables", "/finance/journal", "/finance/statements", "/finance/periods"):
        assert page.locator(f"header nav a[href='{href}']").count() == 1
    checked(page, axe)
    shot(page, "books-home")
    # when they open the customer's statement from the home, and the invoice from it
    late.get_by_role("link", name=customer.number).click()
    page.wait_for_url(f"**/finance/receivables/{customer.number}")
    assert page.locator(f"#statement-items tr[data-invoice='{invoice.number}']").is_visible()
    assert (
        page.locator("#statement-pdf").get_attribute("href", timeout=1000).endswith(".pdf?as_of=2026-01-15")
    )
    checked(page, axe)
    shot(page, "books-statement")
    page.get_by_role("link", name=invoice.number).click()
    page.wait_for_url(f"**/finance/receivables/invoices/{invoice.number}")
    # and write off an amount that is none: it is shown beside the field, nothing is written off
    form = page.locator("#write-off")
    form.get_by_label("Amount (USD)").fill("twenty")
    form.get_by_label("Reason").fill("goods damaged in transit")
    form.get_by_role("button", name="Write off").click()
    amount = page.locator("#write-off input[name=amount]")
    assert amount.get_attribute("aria-invalid") == "true"
    assert page.locator("#error-amount").inner_text() == "an amount in USD, e.g. 25.00"
    assert page.locator("#write-off input[name=reason]").input_value() == "goods damaged in transit"
    checked(page, axe)
    assert payments.get_invoice(fixture_uow, ref=invoice.number).balance.minor == 6000
    # when they write off 20.00
    amount.fill("20.00")
    page.locator("#write-off").get_by_role("button", name="Write off").click()
    page.wait_for_url("**?done=*")
    # then the invoice owes 40.00
    assert page.locator("#balance").inner_text() == "$40.00"
    # when they read the trial balance of the catalog division (the phone channel's) for the invoice's month
    page.locator("header nav a[href='/finance/statements']").click()
    filters = page.locator("#statement-filters")
    filters.get_by_label("Period", exact=True).fill(invoice.issued_on.strftime("%Y-%m"))
    filters.get_by_label("Division").select_option("catalog")
    filters.get_by_role("button", name="Show").click()
    page.wait_for_url("**division=catalog*")
    # then it balances and holds the order's receivable
    assert page.locator("#balanced").inner_text() == "Debits equal credits in every currency."
    assert page.locator("#trial-balance tr[data-account='1200']").count() == 1
    checked(page, axe)
