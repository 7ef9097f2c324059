"""Accounts payable through the ASGI app: bills entered and matched, the exception queue and its override (its own
scope), approval, payments, aging; refusals as problem+json naming the field with nothing changed; who may see
any of it (a channel-bound key: nothing, 404)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.catalog import service as catalog
from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.platform.access import CHANNEL_KEY_SCOPES
from ordersmith.platform.db import Database
from ordersmith.purchasing import service as purchasing
from tests.api.conftest import bearer, login
from tests.builders import make_api_key, make_channel, make_location, make_vendor

TABLES = (
    "finance_vendor_bills",
    "finance_vendor_bill_lines",
    "finance_po_line_billing",
    "finance_match_exceptions",
    "finance_vendor_payments",
    "finance_vendor_payment_allocations",
)


def counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t: int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()) for t in TABLES}


def received_po(uow, *, ordered: int = 10, received: int = 10, cost: str = "2.00") -> str:
    """ACME's PO for MUGs at COST, sent, and RECEIVED of them received; returns its number."""
    finance.ensure_chart(uow)
    make_location(uow, code="EAST")
    catalog.create_item(uow, sku="MUG", name="Mug", divisions=["web"], weight_g=300)
    make_vendor(uow, code="ACME")
    po = purchasing.create_purchase_order(
        uow,
        vendor="ACME",
        location="EAST",
        lines=[purchasing.NewLine("MUG", ordered, unit_cost=Money(Decimal(cost), "USD"))],
    )
    purchasing.approve(uow, number=po.number)
    purchasing.send(uow, number=po.number)
    if received:
        purchasing.receive(
            uow, number=po.number, lines=[purchasing.ReceivedLine(sku="MUG", quantity=received)]
        )
    return po.number


def a_bill(po: str, invoice: str = "INV-1", quantity: int = 10, price: str = "2.00", **more: object) -> dict:
    return {
        "purchase_order": po,
        "vendor_invoice": invoice,
        "billed_on": "2026-11-02",
        "lines": [{"po_line": 1, "quantity": quantity, "unit_price": price}],
        **more,
    }


def test_an_accountant_enters_approves_and_pays_a_bill_that_matches(client: TestClient, admin_db, db):
    # given 10 mugs received at 2.00, and an accountant signed in
    po = received_po(admin_db)
    csrf = {"X-CSRF-Token": login(client, admin_db, role="accountant")}
    # when the vendor's bill is entered
    entered = client.post("/api/v1/vendor-bills", json=a_bill(po), headers=csrf)
    # then it matched, due by NET30
    assert entered.status_code == 201, entered.text
    bill = entered.json()
    assert (bill["number"], bill["status"], bill["due_on"], bill["total"]) == (
        "VB-000001",
        "matched",
        "2026-12-02",
        {"amount": "20.00", "currency": "USD"},
    )
    # when approved (twice: the second is a conflict naming the state)
    approved = client.post(f"/api/v1/vendor-bills/{bill['number']}/approve", headers=csrf)
    again = client.post(f"/api/v1/vendor-bills/{bill['number']}/approve", headers=csrf)
    assert (approved.status_code, approved.json()["status"], approved.headers["ETag"]) == (
        200,
        "approved",
        '"3"',
    )
    assert (again.status_code, again.json()["code"], again.json()["state"]) == (
        409,
        "illegal_transition",
        "approved",
    )
    # when 15.00 is paid, then 6.00 more than it owes
    payment = {
        "vendor": "ACME",
        "amount": {"amount": "15.00", "currency": "USD"},
        "method": "check",
        "reference": "1001",
        "bills": [{"bill": bill["number"], "amount": "15.00"}],
    }
    paid = client.post("/api/v1/vendor-payments", json=payment, headers=csrf)
    before = counts(db)
    over = client.post(
        "/api/v1/vendor-payments",
        json={
            **payment,
            "amount": {"amount": "6.00", "currency": "USD"},
            "bills": [{"bill": bill["number"], "amount": "6.00"}],
        },
        headers=csrf,
    )
    # then the first is paid on the bill; the second is refused naming the amount and changed nothing
    assert paid.status_code == 201, paid.text
    assert (paid.json()["number"], paid.json()["bills"][0]["amount"]["amount"]) == ("VP-000001", "15.00")
    assert (over.status_code, [e["field"] for e in over.json()["errors"]]) == (409, ["bills.0.amount"])
    assert counts(db) == before
    now = client.get(f"/api/v1/vendor-bills/{bill['number']}").json()
    assert (now["status"], now["balance"]["amount"]) == ("partially_paid", "5.00")
    # and the aging shows the 5.00 still owed
    aging = client.get("/api/v1/ap/aging", params={"as_of": "2026-12-10"}).json()
    assert [
        (r["vendor"], r["buckets"]["days_1_30"]["amount"], r["total"]["amount"]) for r in aging["rows"]
    ] == [("ACME", "5.00", "5.00")]


def test_a_bill_for_an_unknown_po_line_is_a_problem_naming_the_line_and_nothing_changes(
    client: TestClient, admin_db, admin_key, db
):
    po = received_po(admin_db)
    before = counts(db)
    bad = a_bill(po)
    bad["lines"] = [
        {"po_line": 1, "quantity": 1, "unit_price": "2.00"},
        {"po_line": 7, "quantity": 1, "unit_price": "2.00"},
    ]
    response = client.post("/api/v1/vendor-bills", json=bad, headers=bearer(admin_key))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("lines.1.po_line", f"{po} has no line 7 (its lines: 1)")
    ]
    unknown = client.post("/api/v1/vendor-bills", json=a_bill("PO-424242"), headers=bearer(admin_key))
    assert (unknown.status_code, [e["field"] for e in unknown.json()["errors"]]) == (422, ["purchase_order"])
    nul = client.post("/api/v1/vendor-bills", json=a_bill(po, invoice="A\x00B"), headers=bearer(admin_key))
    assert nul.status_code == 422
    huge = client.post(
        "/api/v1/vendor-bills",
        json=a_bill(po, quantity=10_000_000, price="9999999999.99"),
        headers=bearer(admin_key),
    )
    assert (huge.status_code, [e["field"] for e in huge.json()["errors"]]) == (422, ["lines.0.unit_price"])
    assert counts(db) == before


def test_the_exception_queue_needs_the_override_scope_to_accept_a_bill(client: TestClient, admin_db, db):
    # given 8 of 10 mugs received and a bill for all 10 (an exception)
    po = received_po(admin_db, received=8)
    accountant = make_api_key(
        admin_db, name="ap clerk", scopes=["payables:read", "payables:write", "payables:approve"]
    ).secret
    manager = make_api_key(admin_db, name="controller", scopes=["payables:read", "payables:override"]).secret
    bill = client.post("/api/v1/vendor-bills", json=a_bill(po), headers=bearer(accountant)).json()
    assert (bill["status"], [r["code"] for r in bill["reasons"]]) == ("exception", ["quantity"])
    (queued,) = client.get("/api/v1/match-exceptions", headers=bearer(accountant)).json()["items"]
    assert (queued["bill"], queued["reasons"][0]["line"]) == (bill["number"], 1)
    # when the clerk tries to accept it, then refused (403) and nothing changed
    before = counts(db)
    decision = {"action": "accept", "note": "two more on the truck"}
    refused = client.post(
        f"/api/v1/match-exceptions/{queued['id']}/resolve", json=decision, headers=bearer(accountant)
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert counts(db) == before
    assert client.get(f"/api/v1/vendor-bills/{bill['number']}", headers=bearer(accountant)).json()[
        "status"
    ] == ("exception")
    # and the clerk cannot approve it either (not matched)
    blocked = client.post(f"/api/v1/vendor-bills/{bill['number']}/approve", headers=bearer(accountant))
    assert (blocked.status_code, blocked.json()["state"]) == (409, "exception")
    # when the controller accepts it, then it is matched, out of the queue, and the clerk can approve it
    accepted = client.post(
        f"/api/v1/match-exceptions/{queued['id']}/resolve", json=decision, headers=bearer(manager)
    )
    assert (accepted.status_code, accepted.json()["status"], accepted.json()["note"]) == (
        200,
        "matched",
        "two more on the truck",
    )
    assert client.get("/api/v1/match-exceptions", headers=bearer(manager)).json()["items"] == []
    resolved = client.get("/api/v1/match-exceptions", params={"status": "resolved"}, headers=bearer(manager))
    assert [(e["resolution"], e["resolved_by"]) for e in resolved.json()["items"]] == [
        ("accepted", "api-key:controller")
    ]
    again = client.post(
        f"/api/v1/match-exceptions/{queued['id']}/resolve", json=decision, headers=bearer(manager)
    )
    assert again.status_code == 409
    approved = client.post(f"/api/v1/vendor-bills/{bill['number']}/approve", headers=bearer(accountant))
    assert approved.json()["status"] == "approved"


def test_match_tolerances_are_set_per_vendor(client: TestClient, admin_db, admin_key):
    received_po(admin_db)
    key = bearer(admin_key)
    assert client.get("/api/v1/vendors/ACME/match-tolerances", headers=key).json()["default"] is True
    body = {"quantity_pct": "5", "price_pct": "2.5", "amount": {"amount": "3.00", "currency": "USD"}}
    put = client.put("/api/v1/vendors/ACME/match-tolerances", json=body, headers=key)
    assert put.status_code == 200, put.text
    assert (put.json()["price_pct"], put.json()["default"]) == ("2.5", False)
    wrong = client.put(
        "/api/v1/vendors/ACME/match-tolerances",
        json={**body, "amount": {"amount": "3.00", "currency": "EUR"}},
        headers=key,
    )
    assert (wrong.status_code, [e["field"] for e in wrong.json()["errors"]]) == (422, ["amount.currency"])


def test_an_agent_is_refused_and_a_channel_bound_key_finds_no_accounts_payable(
    client: TestClient, admin_db, db
):
    po = received_po(admin_db)
    # an agent holds no payables scope
    login(client, admin_db, role="agent")
    assert client.get("/api/v1/vendor-bills").status_code == 403
    client.cookies.clear()
    # a channel's key, even one holding everything a channel key may hold, finds nothing: 404 everywhere
    make_channel(admin_db, code="shop", kind="web")
    key = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="shop").secret)
    staff = make_api_key(admin_db, scopes=["payables:read", "payables:write"], name="staff").secret
    bill = client.post("/api/v1/vendor-bills", json=a_bill(po), headers=bearer(staff)).json()
    before = counts(db)
    for method, path, body in [
        ("GET", "/api/v1/vendor-bills", None),
        ("GET", f"/api/v1/vendor-bills/{bill['number']}", None),
        ("POST", "/api/v1/vendor-bills", a_bill(po, invoice="INV-2")),
        ("POST", f"/api/v1/vendor-bills/{bill['number']}/approve", None),
        ("GET", "/api/v1/match-exceptions", None),
        (
            "POST",
            "/api/v1/vendor-payments",
            {
                "vendor": "ACME",
                "amount": {"amount": "1.00", "currency": "USD"},
                "bills": [{"bill": bill["number"], "amount": "1.00"}],
            },
        ),
        ("GET", "/api/v1/vendor-payments", None),
        ("GET", "/api/v1/ap/aging", None),
        ("GET", "/api/v1/vendors/ACME/match-tolerances", None),
    ]:
        response = client.request(method, path, headers=key, json=body)
        assert response.status_code == 404, (path, response.text)
        assert bill["number"] not in response.text
    assert counts(db) == before
