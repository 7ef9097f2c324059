"""The accountant's month- and year-end in the console, through the ASGI app on SQLite and PostgreSQL: statements by
division and channel, settlements imported with their differences, exports made and downloaded, months and the
fiscal year closed and reopened — every refused form re-rendered with the reason beside its field, nothing
changed; closing a year needs `finance:year_end`."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.platform.db import Database, UnitOfWork
from tests.api.conftest import login
from tests.api.test_books_console import count, csrf, field_error

STRIPE = (
    b"balance_transaction_id,currency,gross,fee,net,reporting_category,source_id,automatic_payout_id\r\n"
    b"txn_1,usd,7.00,0.50,6.50,charge,ch_nobody,po_9\r\n"
)


def sales(uow: UnitOfWork) -> None:
    """June 2026: a web sale of 80.00 (division web) and an untagged one of 20.00."""
    for division, amount in (("web", "80.00"), (None, "20.00")):
        money = Money(Decimal(amount), "USD")
        finance.post_manual_entry(
            uow,
            posted_on=date(2026, 6, 3),
            currency="USD",
            memo="a sale",
            division=division,
            lines=[finance.ManualLine("1000", debit=money), finance.ManualLine("4010", credit=money)],
        )


def test_the_statements_filter_by_division_and_show_an_unknown_one_beside_its_field(
    client: TestClient, admin_db
):
    sales(admin_db)
    login(client, admin_db, role="accountant")
    # when the trial balance of June is asked for the web division, then for every line
    web = client.get("/finance/statements", params={"period": "2026-06", "division": "web"})
    whole = client.get("/finance/statements", params={"period": "2026-06"})
    # then the web division's holds its sale only, the whole both; each balances
    assert web.status_code == 200 and "division web" in web.text
    assert re.findall(r'<tr data-account="([0-9]+)">', web.text) == ["1000", "4010"]
    assert web.text.split('<tr data-account="1000">')[1].split("</tr>")[0].count("$80.00") == 2
    assert whole.text.split('<tr data-account="1000">')[1].split("</tr>")[0].count("$100.00") == 2
    assert 'id="balanced" class="ok"' in web.text
    # and the income statement and balance sheet of the division
    income = client.get(
        "/finance/statements/income-statement",
        params={"from_period": "2026-01", "to_period": "2026-06", "division": "web"},
    )
    assert re.search(r'id="net-income-USD">\$80\.00<', income.text)
    sheet = client.get("/finance/statements/balance-sheet", params={"period": "2026-06", "division": "web"})
    assert (
        re.search(r'id="current-USD">\$80\.00<', sheet.text) and "assets = liabilities + equity" in sheet.text
    )
    # and an unknown division, a malformed period, a closing period as a month of income: beside the field
    unknown = client.get("/finance/statements", params={"period": "2026-06", "division": "wholesale"})
    assert unknown.status_code == 422 and field_error(unknown.text, "division") == "no division 'wholesale'"
    malformed = client.get("/finance/statements/balance-sheet", params={"period": "June"})
    assert malformed.status_code == 422 and field_error(malformed.text, "period")
    closing = client.get("/finance/statements/income-statement", params={"from_period": "2026-13"})
    assert closing.status_code == 422 and "closing period" in field_error(closing.text, "from_period")


def test_a_settlement_is_imported_through_the_form_and_its_differences_listed(
    client: TestClient, admin_db, db
):
    login(client, admin_db, role="accountant")
    token = csrf(client.get("/finance/settlements").text)
    # when a file that cannot be read, and one without a file, are posted: refused beside the field, nothing in
    bad = client.post(
        "/finance/settlements",
        data={"csrf_token": token, "processor": "stripe"},
        files={"file": ("bad.csv", b"id\r\n1\r\n", "text/csv")},
    )
    assert bad.status_code == 422 and "balance_transaction_id" in field_error(bad.text, "file")
    empty = client.post("/finance/settlements", data={"csrf_token": token, "processor": "stripe"})
    assert empty.status_code == 422 and field_error(empty.text, "file")
    assert count(db, "SELECT COUNT(*) FROM finance_settlements") == 0
    # when the payout's report is imported
    made = client.post(
        "/finance/settlements",
        data={"csrf_token": token, "processor": "stripe"},
        files={"file": ("payout.csv", STRIPE, "text/csv")},
        follow_redirects=False,
    )
    # then its page lists the one line to look at: a charge no capture of ours explains
    assert (made.status_code, made.headers["location"]) == (303, "/finance/settlements/ST-000001?imported=1")
    shown = client.get(made.headers["location"])
    assert 'id="imported"' in shown.text
    assert re.findall(r'data-status="([a-z_]+)"', shown.text) == ["unmatched"]
    assert '<tr data-settlement="ST-000001">' in client.get("/finance/settlements").text
    # and the same file again is refused as the API refuses it, nothing imported twice
    again = client.post(
        "/finance/settlements",
        data={"csrf_token": token, "processor": "stripe"},
        files={"file": ("again.csv", STRIPE, "text/csv")},
    )
    assert again.status_code == 409 and 'role="alert"' in again.text
    assert count(db, "SELECT COUNT(*) FROM finance_settlements") == 1
    assert client.get("/finance/settlements/ST-999999").status_code == 404


def test_a_period_is_exported_once_and_its_file_downloaded(client: TestClient, admin_db, db):
    sales(admin_db)
    login(client, admin_db, role="accountant")
    token = csrf(client.get("/finance/exports").text)
    form = {"csrf_token": token, "period": "2026-06", "format": "sage50", "currency": "USD"}
    # when a format that is none, or a first number that is no number, is asked for: refused beside it
    bad = client.post("/finance/exports", data={**form, "format": "lotus"})
    assert bad.status_code == 422 and field_error(bad.text, "format").startswith("one of gl")
    assert client.post("/finance/exports", data={**form, "first": "x"}).status_code == 422
    assert count(db, "SELECT COUNT(*) FROM accounting_exports") == 0
    # when June is exported to Sage 50
    made = client.post("/finance/exports", data=form, follow_redirects=False)
    # then it is listed with its two entries and its file downloads
    assert made.status_code == 303
    listed = client.get(made.headers["location"])
    assert 'id="done"' in listed.text and '<tr data-export="1">' in listed.text
    (href,) = re.findall(r'href="(/finance/exports/[0-9a-f-]+/file)"', listed.text)
    file = client.get(href)
    assert file.status_code == 200 and file.text.startswith("Date,Reference,Number of Distributions")
    assert "attachment" in file.headers["content-disposition"]
    # and exporting June to Sage again carries nothing: refused, nothing recorded
    again = client.post("/finance/exports", data=form)
    assert again.status_code == 409 and "already" in again.text
    assert count(db, "SELECT COUNT(*) FROM accounting_exports") == 1


def test_months_and_the_year_are_closed_and_reopened_from_the_periods_screen(
    client: TestClient, admin_db, db
):
    sales(admin_db)
    login(client, admin_db, role="accountant")
    token = csrf(client.get("/finance/periods").text)
    # when the year is closed with its months open: refused in the year's own section, nothing closed
    refused = client.post("/finance/fiscal-years/2026/close", data={"csrf_token": token})
    assert refused.status_code == 409
    section = refused.text.split('id="year-2026"')[1].split("</section>")[0]
    assert 'role="alert"' in section and "2026-01 is open" in section
    assert count(db, "SELECT COUNT(*) FROM finance_fiscal_years WHERE status = 'closed'") == 0
    # when a malformed month is closed: refused beside the field
    bad = client.post("/finance/periods/close", data={"csrf_token": token, "period": "June"})
    assert bad.status_code == 422 and field_error(bad.text, "period")
    # when every month is closed from the form, and the year closed
    for month in range(1, 13):
        done = client.post(
            "/finance/periods/close",
            data={"csrf_token": token, "period": f"2026-{month:02d}"},
            follow_redirects=False,
        )
        assert done.status_code == 303
    closed = client.post(
        "/finance/fiscal-years/2026/close", data={"csrf_token": token}, follow_redirects=False
    )
    # then the year is closed with one closing entry, and the page says so
    assert closed.status_code == 303
    page = client.get(closed.headers["location"])
    assert "2026 closed: 1 closing entry posted" in page.text
    assert 'data-year="2026" data-status="closed"' in page.text
    assert count(db, "SELECT COUNT(*) FROM journal_entries WHERE period = '2026-13'") == 1
    # and a month of it cannot be reopened; the year cannot be reopened without a note — nothing changes
    month = client.post("/finance/periods/reopen", data={"csrf_token": token, "period": "2026-06"})
    assert month.status_code == 409 and field_error(month.text, "period") == "fiscal year 2026 is closed"
    no_note = client.post("/finance/fiscal-years/2026/reopen", data={"csrf_token": token, "note": " "})
    assert no_note.status_code == 422 and field_error(no_note.text, "note")
    assert count(db, "SELECT COUNT(*) FROM journal_entries WHERE period = '2026-13'") == 1
    # when it is reopened with a note
    opened = client.post(
        "/finance/fiscal-years/2026/reopen",
        data={"csrf_token": token, "note": "late vendor bill"},
        follow_redirects=False,
    )
    assert opened.status_code == 303
    assert 'data-year="2026" data-status="open"' in client.get(opened.headers["location"]).text
    assert count(db, "SELECT COUNT(*) FROM journal_entries WHERE period = '2026-13'") == 2


def test_closing_a_year_from_the_console_needs_its_scope(client: TestClient, admin_db, db: Database):
    # given a manager (who reads match exceptions but not the books)
    login(client, admin_db, role="manager")
    assert client.get("/finance/periods").status_code == 403
    home = client.get("/")
    assert 'href="/finance/periods"' not in home.text and 'href="/payables/exceptions"' in home.text
    token = csrf(home.text)
    assert client.post("/finance/fiscal-years/2026/close", data={"csrf_token": token}).status_code == 403
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM finance_fiscal_years")).scalar_one() == 0
