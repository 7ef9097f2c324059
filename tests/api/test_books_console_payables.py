"""Vendor bills and payments in the accountant's console, through the ASGI app on SQLite and PostgreSQL: a bill
entered against a PO and matched (or sent to the exception queue with its reasons), approved and paid. Forms are
checked by the API's own models (`VendorBillIn`, `VendorPaymentIn`): a refusal names the field beside it and writes
nothing (row counts); a role without the API's scope gets no form and its POST is refused."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient

from ordersmith.finance import service as finance
from tests.api.conftest import login
from tests.api.test_books_console_forms import csrf, field_error
from tests.api.test_payables_api import counts, received_po


def _bill(token: str, po: str, *rows: tuple[int, str, str, str], **fields: str) -> dict[str, str]:
    """The bill form with rows (row number, PO line, quantity, unit price) typed in."""
    typed = {"csrf_token": token, "purchase_order": po, "vendor_invoice": "INV-1", "billed_on": "2026-11-02"}
    for n, po_line, quantity, price in rows:
        typed |= {
            f"lines.{n}.po_line": po_line,
            f"lines.{n}.quantity": quantity,
            f"lines.{n}.unit_price": price,
        }
    return typed | fields


def test_a_bill_is_entered_matched_approved_and_paid_through_the_console(client: TestClient, admin_db, db):
    # given 10 mugs received at 2.00 on a PO, and an accountant signed in
    po = received_po(admin_db)
    login(client, admin_db, role="accountant")
    listing = client.get("/payables/bills")
    assert listing.status_code == 200 and 'id="enter-bill"' in listing.text
    token = csrf(listing.text)
    before = counts(db)
    # when a bill names an unknown PO line (in its second row), a malformed price, no invoice number, an unknown
    # PO, or comes from a forged form
    unknown_line = client.post(
        "/payables/bills", data=_bill(token, po, (0, "1", "5", "2.00"), (1, "9", "5", "2.00"))
    )
    malformed = client.post("/payables/bills", data=_bill(token, po, (2, "1", "10", "2,00")))
    no_invoice = client.post(
        "/payables/bills", data=_bill(token, po, (0, "1", "10", "2.00"), vendor_invoice="")
    )
    unknown_po = client.post("/payables/bills", data=_bill(token, "P-999999", (0, "1", "10", "2.00")))
    forged = client.post("/payables/bills", data=_bill("forged", po, (0, "1", "10", "2.00")))
    # then each is refused beside its field, what was typed stays, and nothing was written
    assert unknown_line.status_code == 422 and field_error(unknown_line.text, "lines.1.po_line")
    assert malformed.status_code == 422 and field_error(malformed.text, "lines.2.unit_price")
    assert 'value="2,00"' in malformed.text
    assert no_invoice.status_code == 422 and field_error(no_invoice.text, "vendor_invoice")
    assert unknown_po.status_code == 422 and field_error(unknown_po.text, "purchase_order")
    assert forged.status_code == 403
    assert counts(db) == before
    # when a bill for the 10 received at 2.00 is entered
    done = client.post(
        "/payables/bills", data=_bill(token, po, (0, "1", "10", "2.00")), follow_redirects=False
    )
    # then it matched, and may be approved
    assert done.status_code == 303
    bill = client.get(done.headers["location"])
    assert 'id="match-result"' in bill.text and ">matched<" in bill.text and 'id="approve"' in bill.text
    url = done.headers["location"].split("?")[0]
    approved = client.post(
        f"{url}/approve",
        data={"csrf_token": token, "version": re.findall(r'name="version" value="(\d+)"', bill.text)[0]},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    payable = client.get(approved.headers["location"])
    assert 'id="pay"' in payable.text and ">approved<" in payable.text
    paid_before = counts(db)
    # when more than it owes, or a malformed amount, is paid
    too_much = client.post(f"{url}/pay", data={"csrf_token": token, "amount": "20.01", "method": "ach"})
    malformed_pay = client.post(f"{url}/pay", data={"csrf_token": token, "amount": "abc", "method": "ach"})
    bad_method = client.post(f"{url}/pay", data={"csrf_token": token, "amount": "5.00", "method": "barter"})
    # then refused, nothing paid
    assert too_much.status_code == 409 and 'role="alert"' in too_much.text
    assert malformed_pay.status_code == 422 and field_error(malformed_pay.text, "amount")
    assert bad_method.status_code == 422 and field_error(bad_method.text, "method")
    assert counts(db) == paid_before
    # when 5.00 is paid, then the rest
    part = client.post(
        f"{url}/pay",
        data={"csrf_token": token, "amount": "5.00", "method": "check", "reference": "CHK 12"},
        follow_redirects=False,
    )
    assert part.status_code == 303
    partly = client.get(part.headers["location"])
    assert "$15.00" in partly.text.split('id="bill-balance"')[1][:30] and ">partially paid<" in partly.text
    rest = client.post(
        f"{url}/pay", data={"csrf_token": token, "amount": "15.00", "method": "ach"}, follow_redirects=False
    )
    paid = client.get(rest.headers["location"])
    assert ">paid<" in paid.text and 'id="pay"' not in paid.text
    after = counts(db)
    assert after["finance_vendor_payments"] == paid_before["finance_vendor_payments"] + 2
    # and the payments are listed with the bill they paid
    payments = client.get("/payables/bills").text.split('id="vendor-payments"')[1]
    assert payments.count(f'href="/payables/bills/{url.rsplit("/", 1)[1]}"') == 2
    # when another bill for 2 more mugs (all 10 received are billed) is entered
    short = client.post(
        "/payables/bills",
        data=_bill(token, po, (0, "1", "2", "2.00"), vendor_invoice="INV-0"),
        follow_redirects=False,
    )
    # then it is entered as an exception (listed as one), and its page gives the reason
    assert short.status_code == 303
    exception = client.get("/payables/bills", params={"status": "exception"})
    (number,) = re.findall(r'<tr data-bill="([^"]+)">', exception.text)
    shown = client.get(f"/payables/bills/{number}")
    assert (
        'id="match-reasons"' in shown.text and "quantity" in shown.text.split('id="match-reasons"')[1][:300]
    )
    assert 'id="approve"' not in shown.text and ">exception<" in shown.text


def test_a_manager_reads_bills_but_gets_no_entry_or_payment_form_and_its_posts_are_refused(
    client: TestClient, admin_db, db
):
    # given a matched and approved bill, and a manager (payables:read and :override, not :write or :approve)
    po = received_po(admin_db)
    bill = finance.enter_vendor_bill(
        admin_db,
        purchase_order=po,
        vendor_invoice="INV-9",
        billed_on=date(2026, 11, 2),
        lines=[finance.NewBillLine(po_line=1, quantity=10, unit_price="2.00")],
    )
    finance.approve_vendor_bill(admin_db, ref=bill.number)
    token = login(client, admin_db, role="manager")
    before = counts(db)
    # when the manager opens the bills and the bill
    listing = client.get("/payables/bills")
    page = client.get(f"/payables/bills/{bill.number}")
    # then both are shown without forms, and posting them anyway is refused with nothing written
    assert listing.status_code == 200 and 'id="enter-bill"' not in listing.text
    assert page.status_code == 200 and 'id="pay"' not in page.text
    assert client.post("/payables/bills", data=_bill(token, po, (0, "1", "1", "2.00"))).status_code == 403
    assert (
        client.post(
            f"/payables/bills/{bill.number}/pay",
            data={"csrf_token": token, "amount": "1.00", "method": "ach"},
        ).status_code
        == 403
    )
    assert counts(db) == before
