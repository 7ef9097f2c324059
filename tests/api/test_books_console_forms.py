"""The accountant's forms through the ASGI app, on SQLite and PostgreSQL: a manual journal entry, cash received on
account and applied to invoices, dunning letters, vendor bills and payments, landed costs and the costing policy.
Each form is checked by the API's own input model: a refusal names the field beside it, keeps what was typed and
writes nothing (row counts prove it); a role without the API's scope gets no form and its POST is refused."""

from __future__ import annotations

import html as html_text
import re
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.finance import service as finance
from ordersmith.kernel.clock import ShiftedClock
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


def count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


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


# --- manual journal entries ----------------------------------------------------------------------------------------


def _entry(token: str, *rows: tuple[int, str, str, str], **fields: str) -> dict[str, str]:
    """The form with rows (row number, account, debit, credit) typed in."""
    typed = {
        "csrf_token": token,
        "posted_on": date.today().isoformat(),
        "currency": "USD",
        "memo": "bank charges",
    }
    for n, account, debit, credit in rows:
        typed |= {f"lines.{n}.account_code": account, f"lines.{n}.debit": debit, f"lines.{n}.credit": credit}
    return typed | fields


FEE = (0, "6100", "7.50", "")
BANK = (1, "1000", "", "7.50")


def test_a_manual_entry_is_posted_through_its_form_and_a_refusal_names_the_row_and_posts_nothing(
    client: TestClient, admin_db, db
):
    login(client, admin_db, role="accountant")
    # given the journal, which offers the form to the accountant
    assert 'href="/finance/journal/new"' in client.get("/finance/journal").text
    form = client.get("/finance/journal/new")
    assert form.status_code == 200 and 'id="new-entry"' in form.text
    token = csrf(form.text)
    entries, lines = count(db, "journal_entries"), count(db, "journal_lines")
    # when an unbalanced entry, a malformed amount in the third row (the second left empty), an unknown account,
    # no memo, or a forged form is posted
    unbalanced = client.post(
        "/finance/journal/new",
        data=_entry(token, FEE, (1, "1000", "", "7.00")),
    )
    malformed = client.post(
        "/finance/journal/new",
        data=_entry(token, FEE, (2, "1000", "", "7,50")),
    )
    unknown = client.post(
        "/finance/journal/new",
        data=_entry(token, FEE, (3, "9999", "", "7.50")),
    )
    no_memo = client.post(
        "/finance/journal/new",
        data=_entry(token, FEE, BANK, memo=""),
    )
    forged = client.post(
        "/finance/journal/new",
        data=_entry("forged", FEE, BANK),
    )
    # then each is refused where it is wrong, what was typed stays, and nothing was posted
    assert unbalanced.status_code == 422 and 'role="alert"' in unbalanced.text
    assert "debits 750 and credits 700 differ by 50" in unbalanced.text.split('id="problem"')[1][:200]
    assert 'id="error-lines"' in unbalanced.text
    assert 'value="7.00"' in unbalanced.text
    assert malformed.status_code == 422 and field_error(malformed.text, "lines.2.credit")
    assert 'value="7,50"' in malformed.text
    assert (
        unknown.status_code == 422 and field_error(unknown.text, "lines.3.account_code") == "no account 9999"
    )
    assert no_memo.status_code == 422 and field_error(no_memo.text, "memo")
    assert forged.status_code == 403
    assert (count(db, "journal_entries"), count(db, "journal_lines")) == (entries, lines)
    # when a balanced entry is posted with its second row left empty
    done = client.post(
        "/finance/journal/new",
        data=_entry(token, FEE, (2, "1000", "", "7.50"), reference="BANK-11", division="catalog")
        | {"lines.0.memo": "fee"},
        follow_redirects=False,
    )
    # then it is posted once, two lines, and its page says so and offers its reversal
    assert done.status_code == 303 and done.headers["location"].endswith("?posted=1")
    assert (count(db, "journal_entries"), count(db, "journal_lines")) == (entries + 1, lines + 2)
    entry = client.get(done.headers["location"])
    assert (
        'id="posted"' in entry.text and "<code>manual</code>" in entry.text and 'id="reverse"' in entry.text
    )
    assert "BANK-11" in entry.text and "<td>catalog</td>" in entry.text


def test_a_role_without_finance_write_gets_no_entry_form_and_its_post_is_refused(
    client: TestClient, admin_db, db
):
    # given a manager, who may not post manual entries (no finance:write)
    token = login(client, admin_db, role="manager")
    entries = count(db, "journal_entries")
    # when the form is opened or posted
    assert client.get("/finance/journal/new").status_code == 403
    refused = client.post(
        "/finance/journal/new",
        data=_entry(token, FEE, BANK),
    )
    # then it is refused and nothing was posted
    assert refused.status_code == 403
    assert count(db, "journal_entries") == entries


# --- cash on account -----------------------------------------------------------------------------------------------


def test_cash_is_received_on_account_and_applied_to_an_invoice_and_refusals_write_nothing(
    client: TestClient, admin_db, db, late: dict[str, Any]
):
    login(client, admin_db, role="accountant")
    customer, invoice = late["customer"], late["invoice"]
    form = client.get("/finance/cash")
    assert form.status_code == 200 and 'id="receive"' in form.text
    token = csrf(form.text)
    tables = ("finance_unapplied_cash", "journal_entries", "invoice_payments")
    before = [count(db, t) for t in tables]
    typed = {
        "csrf_token": token,
        "customer": customer,
        "amount": "100.00",
        "currency": "USD",
        "method": "check",
    }
    # when a malformed amount, an unknown method, a day in the future, an unknown customer or a forged form is sent
    malformed = client.post("/finance/cash", data=typed | {"amount": "12,50"})
    method = client.post("/finance/cash", data=typed | {"method": "barter"})
    future = client.post(
        "/finance/cash", data=typed | {"received_on": (date.today() + timedelta(days=3)).isoformat()}
    )
    unknown = client.post("/finance/cash", data=typed | {"customer": "C-999999"})
    forged = client.post("/finance/cash", data=typed | {"csrf_token": "forged"})
    # then each is refused beside its field, what was typed stays, and nothing was written
    assert (
        malformed.status_code == 422
        and field_error(malformed.text, "amount")
        and 'value="12,50"' in malformed.text
    )
    assert method.status_code == 422 and field_error(method.text, "method")
    assert future.status_code == 422 and field_error(future.text, "received_on")
    assert unknown.status_code == 404 and 'role="alert"' in unknown.text and "C-999999" in unknown.text
    assert forged.status_code == 403
    assert [count(db, t) for t in tables] == before
    # when 100.00 is received by check
    done = client.post("/finance/cash", data=typed | {"reference": "CHK 4471"}, follow_redirects=False)
    assert done.status_code == 303
    finance.replay_outbox(late["uow"])  # the ledger posts after commit; posting again is a no-op
    shown = client.get(done.headers["location"])
    (receipt,) = re.findall(r'<tr data-receipt="([^"]+)">', shown.text)
    row = shown.text.split(f'<tr data-receipt="{receipt}">')[1].split("</tr>")[0]
    assert "CHK 4471" in row and row.count("$100.00") == 2
    assert f'<tr data-invoice="{invoice}">' in shown.text  # what the customer owes, beside the credit
    assert [count(db, t) for t in tables] == [before[0] + 1, before[1] + 1, before[2]]
    # and it is on every customer's list
    assert f'<tr data-receipt="{receipt}">' in client.get("/finance/cash").text
    # when it is applied to an unknown invoice, or more than the invoice owes
    url = f"/finance/cash/{receipt}/apply"
    nowhere = client.post(url, data={"csrf_token": token, "customer": customer, "invoice": "I-999999"})
    too_much = client.post(
        url, data={"csrf_token": token, "customer": customer, "invoice": invoice, "amount": "70.00"}
    )
    # then refused on that credit's form, nothing applied
    assert nowhere.status_code == 404 and field_error(nowhere.text, "invoice") == "no invoice 'I-999999'"
    assert too_much.status_code == 409 and 'role="alert"' in too_much.text.split(f'id="apply-{receipt}"')[0]
    assert [count(db, t) for t in tables] == [before[0] + 1, before[1] + 1, before[2]]
    # when it is applied with the amount left empty: as much as both allow (the invoice's 60.00)
    applied = client.post(
        url, data={"csrf_token": token, "customer": customer, "invoice": invoice}, follow_redirects=False
    )
    assert applied.status_code == 303
    page = client.get(applied.headers["location"])
    assert "$40.00 left" in html_text.unescape(page.text.split('id="done"')[1][:200])
    row = page.text.split(f'<tr data-receipt="{receipt}">')[1].split("</tr>")[0]
    assert "$60.00" in row and "$40.00" in row
    assert payments.get_invoice(late["uow"], ref=invoice).balance.is_zero()
    finance.replay_outbox(late["uow"])
    assert [count(db, t) for t in tables] == [before[0] + 1, before[1] + 2, before[2] + 1]


def test_a_role_without_receivables_write_gets_no_cash_form_and_its_post_is_refused(
    client: TestClient, admin_db, db, late: dict[str, Any]
):
    token = login(client, admin_db, role="warehouse")
    before = count(db, "finance_unapplied_cash")
    assert client.get("/finance/cash").status_code == 403
    refused = client.post(
        "/finance/cash",
        data={
            "csrf_token": token,
            "customer": late["customer"],
            "amount": "5.00",
            "currency": "USD",
            "method": "cash",
        },
    )
    assert refused.status_code == 403 and count(db, "finance_unapplied_cash") == before


# --- dunning ---------------------------------------------------------------------------------------------------------


def test_dunning_is_previewed_run_once_a_day_and_who_was_dunned_is_listed(
    client: TestClient, admin_db, db, late: dict[str, Any]
):
    login(client, admin_db, role="accountant")
    customer = late["customer"]
    # when the dunning screen is opened
    screen = client.get("/finance/dunning")
    # then the late customer is due a reminder for the 60.00, and the letter can be read
    assert screen.status_code == 200 and 'id="run-dunning"' in screen.text
    row = screen.text.split(f'<tr data-customer="{customer}">')[1].split("</tr>")[0]
    assert "reminder" in row and "$60.00" in row and ">10<" in row
    letter = client.get("/finance/dunning", params={"letter": customer})
    assert "Payment reminder" in letter.text.split('id="letter"')[1] and late["invoice"] in letter.text
    assert count(db, "finance_dunning_letters") == 0  # a preview records nothing
    token = csrf(screen.text)
    # when a run is asked for a day to come, or from a forged form
    future = client.post("/finance/dunning", data={"csrf_token": token, "as_of": "2999-01-01"})
    forged = client.post("/finance/dunning", data={"csrf_token": "forged", "as_of": ""})
    # then it is refused beside the day, and nobody is dunned
    assert future.status_code == 422 and field_error(future.text, "as_of")
    assert forged.status_code == 403
    assert count(db, "finance_dunning_letters") == 0
    # when dunning is run today, and again
    first = client.post("/finance/dunning", data={"csrf_token": token, "as_of": ""}, follow_redirects=False)
    again = client.post("/finance/dunning", data={"csrf_token": token, "as_of": ""}, follow_redirects=False)
    # then the customer was dunned once, and the second run says they had the letter already
    assert first.status_code == again.status_code == 303
    assert "1 dunned" in html_text.unescape(
        client.get(first.headers["location"]).text.split('id="done"')[1][:100]
    )
    shown = client.get(again.headers["location"])
    assert "0 dunned" in shown.text and "1 had this letter already" in shown.text
    assert count(db, "finance_dunning_letters") == 1
    sent = shown.text.split(f'<tr data-sent="{customer}">')[1].split("</tr>")[0]
    assert "reminder" in sent and "$60.00" in sent and "accountant@example.com" in sent


def test_a_role_without_receivables_write_gets_no_dunning_run_and_its_post_is_refused(
    client: TestClient, admin_db, db, late: dict[str, Any]
):
    token = login(client, admin_db, role="warehouse")
    assert client.get("/finance/dunning").status_code == 403
    assert client.post("/finance/dunning", data={"csrf_token": token, "as_of": ""}).status_code == 403
    assert count(db, "finance_dunning_letters") == 0
