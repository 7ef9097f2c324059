"""The ledger through the ASGI app: the chart, manual entries and their refusals (problem+json naming the field,
nothing changed), reversal, period close, the journal's pages and the trial balance; who may see any of it."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.platform.access import CHANNEL_KEY_SCOPES
from ordersmith.platform.db import Actor, Database
from tests.api.conftest import bearer, login
from tests.builders import (
    make_account_customer,
    make_api_key,
    make_channel,
    make_order_shop,
    place_on_account,
    ship_and_invoice,
)

OPENING = {
    "posted_on": "2026-11-03",
    "currency": "USD",
    "memo": "opening cash",
    "lines": [{"account_code": "1000", "debit": "500.00"}, {"account_code": "3000", "credit": "500.00"}],
}


def journal_rows(db: Database) -> tuple[int, int]:
    with db.engine.connect() as conn:
        return (
            conn.execute(sa.text("SELECT COUNT(*) FROM journal_entries")).scalar_one(),
            conn.execute(sa.text("SELECT COUNT(*) FROM journal_lines")).scalar_one(),
        )


def test_an_accountant_posts_reverses_and_reads_the_trial_balance(client: TestClient, admin_db, db):
    # given an accountant signed in (the migrations wrote the default chart)
    csrf = {"X-CSRF-Token": login(client, admin_db, role="accountant")}
    accounts = client.get("/api/v1/accounts")
    assert accounts.status_code == 200
    assert {"1000", "1100", "2300", "3000"} <= {a["code"] for a in accounts.json()}
    # when opening cash is posted and a second entry reversed
    posted = client.post("/api/v1/journal", json=OPENING, headers=csrf)
    second = client.post("/api/v1/journal", json={**OPENING, "memo": "twice by mistake"}, headers=csrf)
    reversed_ = client.post(
        f"/api/v1/journal/{second.json()['id']}/reverse", json={"posted_on": "2026-11-04"}, headers=csrf
    )
    # then the entries are there, and November's trial balance shows 500.00 each way and balances
    assert (posted.status_code, second.status_code, reversed_.status_code) == (201, 201, 201)
    assert [(line["account_code"], line["credit"]["amount"]) for line in reversed_.json()["lines"]] == [
        ("1000", "500.00"),
        ("3000", "0.00"),
    ]
    trial = client.get("/api/v1/trial-balance", params={"period": "2026-11"}).json()
    assert trial["balanced"] is True
    assert [(r["account_code"], r["balance"]["amount"]) for r in trial["rows"]] == [
        ("1000", "500.00"),
        ("3000", "-500.00"),
    ]
    # and the journal pages newest first, filtered by account
    page = client.get("/api/v1/journal", params={"limit": 2}).json()
    rest = client.get("/api/v1/journal", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [e["memo"] for e in page["items"] + rest["items"]] == [
        f"reversal of {second.json()['id']}",
        "twice by mistake",
        "opening cash",
    ]
    assert rest["next_cursor"] is None


def test_an_unbalanced_entry_is_a_problem_naming_the_lines_and_nothing_changes(
    client: TestClient, admin_key, db
):
    client.get("/api/v1/accounts", headers=bearer(admin_key))
    unbalanced = {**OPENING, "lines": [OPENING["lines"][0], {"account_code": "3000", "credit": "499.99"}]}
    response = client.post("/api/v1/journal", json=unbalanced, headers=bearer(admin_key))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["lines"]
    assert journal_rows(db) == (0, 0)


def test_an_entry_on_an_unknown_account_is_a_problem_naming_the_line_and_nothing_changes(
    client: TestClient, admin_key, db
):
    client.get("/api/v1/accounts", headers=bearer(admin_key))
    unknown = {**OPENING, "lines": [OPENING["lines"][0], {"account_code": "9999", "credit": "500.00"}]}
    response = client.post("/api/v1/journal", json=unknown, headers=bearer(admin_key))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["lines.1.account_code"]
    assert journal_rows(db) == (0, 0)


def test_an_entry_into_a_closed_period_is_refused_naming_the_date_and_nothing_changes(
    client: TestClient, admin_key, db
):
    # given the chart and November closed
    client.get("/api/v1/accounts", headers=bearer(admin_key))
    closed = client.post("/api/v1/periods/2026-11/close", headers=bearer(admin_key))
    assert (closed.status_code, closed.json()["status"]) == (200, "closed")
    # when an entry dated in November is posted
    response = client.post("/api/v1/journal", json=OPENING, headers=bearer(admin_key))
    # then 409 period_closed naming posted_on, and nothing posted; closing again is a conflict
    assert (response.status_code, response.json()["code"]) == (409, "period_closed")
    assert [e["field"] for e in response.json()["errors"]] == ["posted_on"]
    assert journal_rows(db) == (0, 0)
    assert client.post("/api/v1/periods/2026-11/close", headers=bearer(admin_key)).status_code == 409


def test_a_malformed_period_is_a_problem_naming_it(client: TestClient, admin_key):
    response = client.get("/api/v1/trial-balance", params={"period": "November"}, headers=bearer(admin_key))
    assert response.status_code == 422
    assert "period" in {e["field"].split(".")[-1] for e in response.json()["errors"]}


def test_the_income_statement_and_balance_sheet_show_a_sale_and_its_cost(client: TestClient, admin_key):
    # given opening cash, a 120.00 store sale and its 70.00 cost posted in November
    key = bearer(admin_key)
    sale = {"account_code": "1010", "debit": "120.00"}, {"account_code": "4020", "credit": "120.00"}
    cost = {"account_code": "5000", "debit": "70.00"}, {"account_code": "1300", "credit": "70.00"}
    stock = {"account_code": "1300", "debit": "200.00"}, {"account_code": "3000", "credit": "200.00"}
    for lines in (stock, sale, cost):
        posted = client.post("/api/v1/journal", json={**OPENING, "lines": list(lines)}, headers=key)
        assert posted.status_code == 201, posted.text
    # when the statements of November are asked for
    income = client.get("/api/v1/income-statement", params={"from_period": "2026-11"}, headers=key)
    sheet = client.get("/api/v1/balance-sheet", params={"period": "2026-11", "currency": "USD"}, headers=key)
    # then net income is 50.00, and 120.00 cash + 130.00 stock = 200.00 capital + 50.00 earnings
    assert income.status_code == 200, income.text
    (usd,) = income.json()["currencies"]
    assert [(x["account_code"], x["amount"]["amount"]) for x in usd["revenue"] + usd["expenses"]] == [
        ("4020", "120.00"),
        ("5000", "70.00"),
    ]
    assert usd["net_income"] == {"amount": "50.00", "currency": "USD"}
    assert sheet.status_code == 200, sheet.text
    (figures,) = sheet.json()["currencies"]
    assert [(x["account_code"], x["amount"]["amount"]) for x in figures["assets"]] == [
        ("1010", "120.00"),
        ("1300", "130.00"),
    ]
    assert (figures["current_earnings"]["amount"], figures["total_equity"]["amount"]) == ("50.00", "250.00")
    assert figures["balanced"] is True


def test_the_ar_aging_and_a_customer_s_statement_show_an_invoice_on_account(client: TestClient, admin_key):
    # given a 60.00 order on account shipped and invoiced net 30 (through the app's database: payments wired)
    from ordersmith.payments import service as payments

    shop = client.app.state.db.unit_of_work(Actor.system("fixture"))
    make_order_shop(shop)
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    later = (invoice.issued_on + timedelta(days=31)).isoformat()
    key = bearer(admin_key)
    # when the aging and the statement are read a day past due, and a statement of nobody
    aging = client.get("/api/v1/ar/aging", params={"as_of": later}, headers=key)
    statement = client.get(
        "/api/v1/ar/statements", params={"customer": customer.number, "as_of": later}, headers=key
    )
    nobody = client.get("/api/v1/ar/statements", params={"customer": "C-999999"}, headers=key)
    malformed = client.get("/api/v1/ar/statements", params={"customer": "C 1;"}, headers=key)
    # then the 60.00 is 1-30 days past due, the customer is on credit hold, and the refusals name what is wrong
    assert aging.status_code == 200, aging.text
    (row,) = aging.json()["rows"]
    assert (row["customer_number"], row["buckets"]["days_1_30"]["amount"], row["total"]["amount"]) == (
        customer.number,
        "60.00",
        "60.00",
    )
    assert statement.status_code == 200, statement.text
    body = statement.json()
    assert [(i["invoice"], i["balance"]["amount"], i["days_past_due"]) for i in body["items"]] == [
        (invoice.number, "60.00", 1)
    ]
    assert body["credit_hold"] is True and invoice.number in body["credit_note"]
    assert nobody.status_code == 404
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["field"].endswith("customer")


def test_a_period_s_journal_is_exported_once_to_quickbooks_and_its_file_streamed(
    client: TestClient, admin_key
):
    # given opening cash posted in November
    key = bearer(admin_key)
    assert client.post("/api/v1/journal", json=OPENING, headers=key).status_code == 201
    # when November is exported for QuickBooks in dollars, then again, and once without a currency
    made = client.post(
        "/api/v1/accounting-exports",
        json={"period": "2026-11", "format": "iif", "currency": "USD"},
        headers=key,
    )
    again = client.post(
        "/api/v1/accounting-exports",
        json={"period": "2026-11", "format": "iif", "currency": "USD"},
        headers=key,
    )
    refused = client.post(
        "/api/v1/accounting-exports", json={"period": "2026-11", "format": "iif"}, headers=key
    )
    # then the export is recorded with its one entry, and its file is the entry as a general journal transaction
    assert made.status_code == 201, made.text
    export = made.json()
    assert (export["entries"], export["lines"], export["target"], export["number"]) == (1, 2, "quickbooks", 1)
    iif = client.get(f"/api/v1/accounting-exports/{export['id']}/file", headers=key)
    assert iif.status_code == 200, iif.text
    assert iif.headers["content-disposition"] == 'attachment; filename="journal-2026-11-iif-1.iif"'
    assert iif.text.split("\r\n")[3:6] == [
        "TRNS\tGENERAL JOURNAL\t11/03/26\tCash in bank\t500.00\t\topening cash",
        "SPL\tGENERAL JOURNAL\t11/03/26\tOwner's equity\t-500.00\t\topening cash",
        "ENDTRNS",
    ]
    # and the second export is refused (nothing new), the malformed one names the currency; one export listed
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_export"
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["currency"]
    listed = client.get("/api/v1/accounting-exports", headers=key).json()["items"]
    assert [e["id"] for e in listed] == [export["id"]]
    assert client.get(f"/api/v1/accounting-exports/{export['id']}", headers=key).json() == export
    unknown = "01234567-89ab-7def-8123-456789abcdef"
    assert client.get(f"/api/v1/accounting-exports/{unknown}/file", headers=key).status_code == 404


def test_exporting_needs_its_own_scope_and_a_refusal_records_nothing(client: TestClient, admin_db, db):
    # a key that reads the ledger but may not export it
    key = bearer(make_api_key(admin_db, scopes=["finance:read", "finance:write"]).secret)
    assert client.post("/api/v1/journal", json=OPENING, headers=key).status_code == 201
    refused = client.post(
        "/api/v1/accounting-exports", json={"period": "2026-11", "format": "gl"}, headers=key
    )
    assert refused.status_code == 403
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM accounting_exports")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT COUNT(*) FROM accounting_export_items")).scalar_one() == 0


def test_an_agent_and_a_channel_bound_key_cannot_read_or_write_the_ledger(client: TestClient, admin_db, db):
    # an agent holds no finance scope
    login(client, admin_db, role="agent")
    assert client.get("/api/v1/accounts").status_code == 403
    client.cookies.clear()
    # a channel's key, even one holding everything a channel key may hold, is refused every finance endpoint
    make_channel(admin_db, code="shop", kind="web")
    key = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="shop").secret)
    for method, path in [
        ("GET", "/api/v1/accounts"),
        ("GET", "/api/v1/journal"),
        ("GET", "/api/v1/trial-balance?period=2026-11"),
        ("GET", "/api/v1/income-statement?from_period=2026-11"),
        ("GET", "/api/v1/balance-sheet?period=2026-11"),
        ("GET", "/api/v1/ar/aging"),
        ("GET", "/api/v1/accounting-exports"),
        ("POST", "/api/v1/accounting-exports"),
        ("GET", "/api/v1/ar/statements?customer=C-000001"),
        ("POST", "/api/v1/journal"),
        ("POST", "/api/v1/periods/2026-11/close"),
    ]:
        response = client.request(method, path, headers=key, json=OPENING if method == "POST" else None)
        assert response.status_code == 403, (path, response.text)
    assert journal_rows(db) == (0, 0)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM finance_periods")).scalar_one() == 0


def test_a_settlement_file_is_uploaded_read_back_with_its_differences_and_needs_the_write_scope(
    client: TestClient, admin_key, admin_db, db
):
    report = (
        b"balance_transaction_id,currency,gross,fee,net,reporting_category,source_id,automatic_payout_id\r\n"
        b"txn_1,usd,7.00,0.50,6.50,charge,ch_nobody,po_9\r\n"
    )
    reader = bearer(make_api_key(admin_db, scopes=["finance:read"]).secret)
    refused = client.post("/api/v1/settlements", data={"processor": "stripe"},
                          files={"file": ("payout.csv", report, "text/csv")}, headers=reader)  # fmt: skip
    assert refused.status_code == 403
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM finance_settlements")).scalar_one() == 0
    made = client.post("/api/v1/settlements", data={"processor": "stripe"},
                       files={"file": ("payout.csv", report, "text/csv")}, headers=bearer(admin_key))  # fmt: skip
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["number"], body["differences"], body["net"]) == (
        "ST-000001",
        1,
        {"amount": "6.50", "currency": "USD"},
    )
    shown = client.get(
        "/api/v1/settlements/ST-000001", params={"status": "differences"}, headers=reader
    ).json()
    assert [(i["reference"], i["status"]) for i in shown["items"]] == [("ch_nobody", "unmatched")]
    again = client.post("/api/v1/settlements", data={"processor": "stripe"},
                        files={"file": ("again.csv", report, "text/csv")}, headers=bearer(admin_key))  # fmt: skip
    assert again.status_code == 409
    bad = client.post("/api/v1/settlements", data={"processor": "stripe"},
                      files={"file": ("bad.csv", b"id\r\n1\r\n", "text/csv")}, headers=bearer(admin_key))  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "file.balance_transaction_id"
    assert [s["number"] for s in client.get("/api/v1/settlements", headers=reader).json()] == ["ST-000001"]
