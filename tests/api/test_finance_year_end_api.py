"""Fiscal years and ledger dimensions through the ASGI app, on SQLite and PostgreSQL (ADR 0039): an accountant
closes a year once its months are closed (refusals are problem+json naming what is open, and change nothing),
reopens it with a note; closing needs `finance:year_end`; the trial balance and statements filter by division and
channel, naming an unknown one; manual entries carry the dimensions they name."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.platform.db import Database
from tests.api.conftest import bearer, login
from tests.builders import make_api_key

SALE = {
    "posted_on": "2026-06-03",
    "currency": "USD",
    "memo": "a web sale",
    "division": "web",
    "lines": [{"account_code": "1000", "debit": "80.00"}, {"account_code": "4010", "credit": "80.00"}],
}


def state(db: Database) -> tuple[int, int, int]:
    with db.engine.connect() as conn:
        return (
            conn.execute(sa.text("SELECT COUNT(*) FROM journal_entries")).scalar_one(),
            conn.execute(
                sa.text("SELECT COUNT(*) FROM finance_fiscal_years WHERE status = 'closed'")
            ).scalar_one(),
            conn.execute(sa.text("SELECT COUNT(*) FROM finance_periods WHERE status = 'open'")).scalar_one(),
        )


def close_months(client: TestClient, headers: dict[str, str], year: int) -> None:
    for month in range(1, 13):
        response = client.post(f"/api/v1/periods/{year}-{month:02d}/close", headers=headers)
        assert response.status_code in (200, 409), response.text


def test_an_accountant_closes_a_year_once_and_reopens_it_with_a_note(client: TestClient, admin_db, db):
    # given an accountant, and a web sale of 80.00 in June 2026
    csrf = {"X-CSRF-Token": login(client, admin_db, role="accountant")}
    posted = client.post("/api/v1/journal", json=SALE, headers=csrf)
    assert posted.status_code == 201
    assert {(x["division"], x["channel"]) for x in posted.json()["lines"]} == {("web", "")}
    # when the year is closed with its months open: 409 naming every open month, nothing changes
    before = state(db)
    refused = client.post("/api/v1/fiscal-years/2026/close", headers=csrf)
    assert (refused.status_code, refused.json()["code"]) == (409, "periods_open")
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["message"] for e in refused.json()["errors"]] == [f"2026-{m:02d} is open" for m in range(1, 13)]
    assert state(db) == before
    # when every month is closed and the year closed
    close_months(client, csrf, 2026)
    closed = client.post("/api/v1/fiscal-years/2026/close", headers=csrf)
    # then the year is closed with one closing entry, in the closing period, sale to retained earnings
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["status"], body["closings"], body["open_periods"], len(body["periods"])) == (
        "closed",
        1,
        [],
        12,
    )
    (entry_id,) = body["closing_entries"]
    entry = client.get(f"/api/v1/journal/{entry_id}").json()
    assert (entry["period"], entry["rule"]) == ("2026-13", "year_end.close")
    assert [(x["account_code"], x["division"]) for x in entry["lines"]] == [("4010", "web"), ("3900", "web")]
    assert client.get("/api/v1/journal", params={"period": "2026-13"}).json()["items"][0]["id"] == entry_id
    post_close = client.get(
        "/api/v1/trial-balance", params={"period": "2026-13", "cumulative": "true"}
    ).json()
    assert [(r["account_code"], r["balance"]["amount"]) for r in post_close["rows"]] == [
        ("1000", "80.00"),
        ("3900", "-80.00"),
        ("4010", "0.00"),
    ]
    # and closing it again is 409 fiscal_year_closed, its entry cannot be reversed, a month cannot be reopened
    before = state(db)
    again = client.post("/api/v1/fiscal-years/2026/close", headers=csrf)
    assert (again.status_code, again.json()["code"]) == (409, "fiscal_year_closed")
    reverse = client.post(
        f"/api/v1/journal/{entry_id}/reverse", json={"posted_on": "2027-01-02"}, headers=csrf
    )
    assert reverse.status_code == 409 and "reopen the year" in reverse.json()["detail"]
    month = client.post("/api/v1/periods/2026-06/reopen", headers=csrf)
    assert month.status_code == 409 and [e["field"] for e in month.json()["errors"]] == ["period"]
    assert state(db) == before
    # when it is reopened without a note: 422 naming it; with one: open, its entry reversed
    no_note = client.post("/api/v1/fiscal-years/2026/reopen", json={"note": ""}, headers=csrf)
    assert no_note.status_code == 422 and "note" in [
        e["field"].split(".")[-1] for e in no_note.json()["errors"]
    ]
    assert state(db) == before
    opened = client.post("/api/v1/fiscal-years/2026/reopen", json={"note": "late vendor bill"}, headers=csrf)
    assert opened.status_code == 200, opened.text
    assert (opened.json()["status"], opened.json()["closing_entries"], opened.json()["note"]) == (
        "open",
        [],
        "late vendor bill",
    )
    listed = client.get("/api/v1/fiscal-years").json()
    assert [(y["year"], y["status"], y["closings"]) for y in listed] == [(2026, "open", 1)]


def test_closing_a_year_needs_its_own_scope_and_a_refusal_changes_nothing(client: TestClient, admin_db, db):
    # given a key that may post and close periods but not close years, and 2026's months closed
    writer = bearer(make_api_key(admin_db, name="books", scopes=["finance:read", "finance:write"]).secret)
    close_months(client, writer, 2026)
    before = state(db)
    # then it may read years but neither close nor reopen one; a manager may not even read them
    assert client.get("/api/v1/fiscal-years/2026", headers=writer).status_code == 200
    assert client.post("/api/v1/fiscal-years/2026/close", headers=writer).status_code == 403
    assert (
        client.post("/api/v1/fiscal-years/2026/reopen", json={"note": "x"}, headers=writer).status_code == 403
    )
    login(client, admin_db, role="manager")
    assert client.get("/api/v1/fiscal-years").status_code == 403
    assert state(db) == before
    # and a year out of range is a problem naming it
    client.cookies.clear()
    out_of_range = client.get("/api/v1/fiscal-years/12026", headers=writer)
    assert out_of_range.status_code == 422 and "year" in out_of_range.json()["errors"][0]["field"]


def test_the_trial_balance_and_statements_filter_by_division_and_name_an_unknown_one(
    client: TestClient, admin_key, db
):
    # given a web sale and an untagged one in June
    headers = bearer(admin_key)
    assert client.post("/api/v1/journal", json=SALE, headers=headers).status_code == 201
    untagged = {**SALE, "division": None, "memo": "a sale nobody tagged"}
    assert client.post("/api/v1/journal", json=untagged, headers=headers).status_code == 201
    # when the trial balance, income statement and balance sheet are asked for the web division
    params = {"period": "2026-06", "division": "web"}
    trial = client.get("/api/v1/trial-balance", params=params, headers=headers).json()
    income = client.get(
        "/api/v1/income-statement", params={"from_period": "2026-06", "division": "web"}, headers=headers
    ).json()
    sheet = client.get("/api/v1/balance-sheet", params=params, headers=headers).json()
    # then each holds the web sale only, and says what it was filtered by
    assert (trial["division"], trial["channel"], trial["balanced"]) == ("web", "", True)
    assert [(r["account_code"], r["balance"]["amount"]) for r in trial["rows"]] == [
        ("1000", "80.00"),
        ("4010", "-80.00"),
    ]
    assert (income["division"], income["currencies"][0]["net_income"]["amount"]) == ("web", "80.00")
    assert (sheet["division"], sheet["currencies"][0]["total_assets"]["amount"]) == ("web", "80.00")
    whole = client.get("/api/v1/trial-balance", params={"period": "2026-06"}, headers=headers).json()
    assert whole["division"] == "" and whole["rows"][0]["balance"]["amount"] == "160.00"
    # and an unknown division or a malformed channel is 422 naming it, a closing period is no income statement
    unknown = client.get("/api/v1/trial-balance", params={**params, "division": "wholesale"}, headers=headers)
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["division"]
    malformed = client.get("/api/v1/balance-sheet", params={**params, "channel": "a b"}, headers=headers)
    assert malformed.status_code == 422 and "channel" in malformed.json()["errors"][0]["field"]
    closing = client.get("/api/v1/income-statement", params={"from_period": "2026-13"}, headers=headers)
    assert closing.status_code == 422 and [e["field"] for e in closing.json()["errors"]] == ["from_period"]
    # and a manual entry naming an unknown channel is refused and posts nothing
    before = state(db)
    refused = client.post("/api/v1/journal", json={**SALE, "channel": "nowhere"}, headers=headers)
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["channel"]
    assert state(db) == before
