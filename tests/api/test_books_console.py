"""The accountant's console through the ASGI app, on SQLite and PostgreSQL: the home (who is late, the exception
queue, open months), the aging with its drill-down to a customer's statement (and its PDF) and an invoice (written
off through a form), the journal (filters, an entry with the event that caused it, the reversal of a manual entry).
Every refused form is re-rendered with the problem's detail and the field's message beside it, and changes
nothing; a role without `finance:read` cannot open the books."""

from __future__ import annotations

import html as html_text
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.finance import service as finance
from ordersmith.kernel.clock import ShiftedClock
from ordersmith.kernel.money import Money
from ordersmith.payments import service as payments
from ordersmith.platform.db import Actor, Database
from tests.api.conftest import login
from tests.builders import make_account_customer, make_order_shop, place_on_account, ship_and_invoice


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def field_error(html: str, name: str) -> str:
    """The message shown beside field `name` (the field is marked invalid and points at it)."""
    key = name.replace(".", "-")
    found = re.search(rf'<span class="field-error" id="error-{re.escape(key)}">([^<]*)</span>', html)
    assert found is not None, f"no message beside {name}"
    assert f'aria-describedby="error-{key}"' in html
    return html_text.unescape(found.group(1))


def count(db: Database, sql: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


@pytest.fixture
def late(client: TestClient) -> dict[str, Any]:
    """A 60.00 phone order on account, shipped and invoiced net 30 forty days ago (ten days past due), posted."""
    shop = client.app.state.db.unit_of_work(Actor.system("fixture"), clock=ShiftedClock(timedelta(days=-40)))
    make_order_shop(shop)
    customer = make_account_customer(shop)
    order = place_on_account(shop, customer.number)
    ship_and_invoice(shop, order)
    finance.replay_outbox(shop)
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    return {"customer": customer.number, "invoice": invoice.number, "order": order.number, "uow": shop}


def test_the_accountant_s_home_shows_who_is_late_and_reaches_every_books_screen(
    client: TestClient, admin_db, late: dict[str, Any]
):
    # given the late customer, and an accountant signed in
    login(client, admin_db, role="accountant")
    # when the accountant opens the console
    home = client.get("/")
    # then the home is the books': the late customer with what is past due, the queue, the balance
    assert home.status_code == 200
    assert "<h1>The books" in home.text
    row = home.text.split(f'<tr data-customer="{late["customer"]}">')[1].split("</tr>")[0]
    assert "$60.00" in row and f'href="/finance/receivables/{late["customer"]}/statement.pdf"' in row
    assert re.search(r'id="late-count">1<', home.text) and re.search(r'id="queue-count">0<', home.text)
    assert 'id="books-balanced"' in home.text and ">balanced<" in home.text
    # and every books screen is in the top bar and opens
    for href in ("/finance/receivables", "/finance/journal", "/finance/statements", "/finance/settlements",
                 "/finance/exports", "/finance/periods", "/payables/exceptions"):  # fmt: skip
        assert f'href="{href}"' in home.text
        assert client.get(href).status_code == 200, href
    # and a warehouse user may open none of them
    client.cookies.clear()
    login(client, admin_db, role="warehouse")
    assert client.get("/finance/receivables", follow_redirects=False).status_code == 403
    assert client.get("/finance/journal").status_code == 403


def test_the_aging_drills_down_to_the_customer_s_statement_its_pdf_and_the_invoice(
    client: TestClient, admin_db, late: dict[str, Any]
):
    login(client, admin_db, role="accountant")
    customer, invoice = late["customer"], late["invoice"]
    # when the aging is opened
    aging = client.get("/finance/receivables")
    # then the customer's 60.00 is 1-30 days past due, and the subledger agrees with the control account
    row = aging.text.split(f'<tr data-customer="{customer}">')[1].split("</tr>")[0]
    assert f'href="/finance/receivables/{customer}"' in row and row.count("$60.00") == 2
    assert "they agree" in aging.text
    # when the customer's statement is opened
    statement = client.get(f"/finance/receivables/{customer}")
    assert statement.status_code == 200
    item = statement.text.split(f'<tr data-invoice="{invoice}">')[1].split("</tr>")[0]
    assert f'href="/finance/receivables/invoices/{invoice}"' in item and ">10<" in item
    assert "held" in statement.text.split('id="credit-hold"')[1][:200]
    # and its PDF
    pdf = client.get(f"/finance/receivables/{customer}/statement.pdf")
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers["content-disposition"]
    # and the invoice
    shown = client.get(f"/finance/receivables/invoices/{invoice}")
    assert shown.status_code == 200 and f'href="/orders/{late["order"]}"' in shown.text
    # and a malformed as-of day is shown beside its field; an unknown customer or invoice is not found, and a NUL
    # in the address is refused before any page runs
    bad = client.get("/finance/receivables", params={"as_of": "yesterday"})
    assert bad.status_code == 422 and field_error(bad.text, "as_of") == "a date, YYYY-MM-DD"
    assert client.get("/finance/receivables/C-999999").status_code == 404
    assert client.get("/finance/receivables/invoices/I-999999").status_code == 404
    assert client.get("/finance/receivables/invoices/I;1").status_code == 404
    assert client.get("/finance/receivables/C%00").status_code == 422


def test_an_invoice_is_written_off_through_its_form_and_a_refusal_changes_nothing(
    client: TestClient, admin_db, db, late: dict[str, Any]
):
    login(client, admin_db, role="accountant")
    invoice = late["invoice"]
    url = f"/finance/receivables/invoices/{invoice}/write-off"
    token = csrf(client.get(f"/finance/receivables/invoices/{invoice}").text)
    entries = count(db, "SELECT COUNT(*) FROM journal_entries")
    # when an amount that is none, one larger than the balance, no reason, or a forged form is posted
    malformed = client.post(url, data={"csrf_token": token, "amount": "12,50", "reason": "gone"})
    too_much = client.post(url, data={"csrf_token": token, "amount": "60.01", "reason": "gone"})
    no_reason = client.post(url, data={"csrf_token": token, "amount": "", "reason": " "})
    forged = client.post(url, data={"csrf_token": "forged", "amount": "1.00", "reason": "gone"})
    # then each is refused where it is wrong, what was typed stays, and nothing changed
    assert (
        malformed.status_code == 422
        and field_error(malformed.text, "amount") == "an amount in USD, e.g. 25.00"
    )
    assert 'value="12,50"' in malformed.text
    assert too_much.status_code == 409 and 'role="alert"' in too_much.text
    assert no_reason.status_code == 422 and field_error(no_reason.text, "reason")
    assert forged.status_code == 403
    assert payments.get_invoice(late["uow"], ref=invoice).balance == Money(Decimal("60.00"), "USD")
    assert count(db, "SELECT COUNT(*) FROM journal_entries") == entries
    # when 20.00 is written off with a reason
    done = client.post(
        url, data={"csrf_token": token, "amount": "20.00", "reason": "damaged"}, follow_redirects=False
    )
    # then back to the invoice, which owes 40.00
    assert (done.status_code, done.headers["location"]) == (
        303,
        f"/finance/receivables/invoices/{invoice}?done=written%20off",
    )
    page = client.get(done.headers["location"])
    assert 'id="done"' in page.text and "$40.00" in page.text.split('id="balance"')[1][:30]


def test_the_journal_filters_shows_an_entry_with_its_event_and_reverses_a_manual_one(
    client: TestClient, admin_db, db, late: dict[str, Any]
):
    login(client, admin_db, role="accountant")
    uow = late["uow"]
    # given a manual entry in the current month
    today = date.today()
    manual = finance.post_manual_entry(
        uow,
        posted_on=today,
        currency="USD",
        memo="bank charges",
        division="catalog",
        lines=[
            finance.ManualLine("6100", debit=Money(Decimal("7.50"), "USD")),
            finance.ManualLine("1000", credit=Money(Decimal("7.50"), "USD")),
        ],
    )
    # when the journal is filtered by the capture rule
    captures = client.get("/finance/journal", params={"rule": "payment.captured"})
    (capture_id,) = re.findall(r'<tr data-entry="([0-9a-f-]+)">', captures.text)
    # then the capture's page shows its lines, with the order's dimensions, and the event that caused it
    entry = client.get(f"/finance/journal/{capture_id}")
    assert entry.status_code == 200
    assert "<code>payment.captured</code>" in entry.text and f'href="/orders/{late["order"]}"' in entry.text
    lines = entry.text.split('id="entry-lines"')[1].split("</table>")[0]
    assert "<td>catalog</td><td>phone</td>" in lines
    assert 'id="reverse"' not in entry.text  # a posting rule's entry is corrected by the business
    # and a malformed filter is shown beside its field
    bad = client.get("/finance/journal", params={"period": "2026-1x", "source_event_id": "nope"})
    assert bad.status_code == 422 and field_error(bad.text, "source_event_id") == "an event id (a UUID)"
    # when the manual entry is reversed without a date: refused beside the field, nothing posted
    page = client.get(f"/finance/journal/{manual.id}")
    token = csrf(page.text)
    before = count(db, "SELECT COUNT(*) FROM journal_entries")
    undated = client.post(
        f"/finance/journal/{manual.id}/reverse", data={"csrf_token": token, "posted_on": ""}
    )
    assert undated.status_code == 422 and field_error(undated.text, "posted_on")
    rule_entry = client.post(
        f"/finance/journal/{capture_id}/reverse", data={"csrf_token": token, "posted_on": today.isoformat()}
    )
    assert rule_entry.status_code == 422
    assert count(db, "SELECT COUNT(*) FROM journal_entries") == before
    # when it is reversed with a date
    done = client.post(
        f"/finance/journal/{manual.id}/reverse",
        data={"csrf_token": token, "posted_on": today.isoformat(), "memo": "charged twice"},
        follow_redirects=False,
    )
    # then the reversal's page, which says what it undoes; a second reversal is refused
    assert done.status_code == 303
    reversal = client.get(done.headers["location"])
    assert 'id="reverses"' in reversal.text and "charged twice" in reversal.text
    assert "<td>catalog</td>" in reversal.text
    again = client.post(
        f"/finance/journal/{manual.id}/reverse", data={"csrf_token": token, "posted_on": today.isoformat()}
    )
    assert again.status_code == 409 and "was reversed already" in again.text
    assert count(db, "SELECT COUNT(*) FROM journal_entries") == before + 1
