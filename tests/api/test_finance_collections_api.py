"""Collections through the ASGI app: write-offs under their own scope, unapplied cash received and applied,
card liabilities and dunning letters; refusals by scope (and of channel keys) and by the body change nothing."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.platform.access import CHANNEL_KEY_SCOPES, SCOPES
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


def invoiced(client: TestClient):
    """A 60.00 invoice on account, through the app's database (payments wired)."""
    from ordersmith.payments import service as payments

    shop = client.app.state.db.unit_of_work(Actor.system("fixture"))
    make_order_shop(shop)
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    return customer, invoice


def state(db: Database, invoice: str) -> tuple[object, ...]:
    """What a refused write must leave alone: the invoice, the unapplied cash, the outbox and the audit log."""
    with db.engine.connect() as conn:
        one = conn.execute(
            sa.text("SELECT paid_minor, written_off_minor, status, version FROM invoices WHERE number = :n"),
            {"n": invoice},
        ).one()
        # the app's periodic jobs (the overdue sweep) may write their own events meanwhile: count only these
        kinds = "('invoice.written_off', 'invoice.payment_applied', 'invoice.paid', 'unapplied_cash.received', " \
                "'unapplied_cash.applied')"  # fmt: skip
        counts = [
            conn.execute(sa.text("SELECT COUNT(*) FROM finance_unapplied_cash")).scalar_one(),
            conn.execute(sa.text(f"SELECT COUNT(*) FROM outbox WHERE type IN {kinds}")).scalar_one(),
            conn.execute(sa.text(f"SELECT COUNT(*) FROM audit_log WHERE action IN {kinds}")).scalar_one(),
        ]
        applied = conn.execute(sa.text("SELECT COALESCE(SUM(applied_minor), 0) FROM finance_unapplied_cash"))
    return (*one, *counts, applied.scalar_one())


def test_an_accountant_writes_off_an_invoice_and_a_key_without_the_write_off_scope_changes_nothing(
    client: TestClient, admin_db, db
):
    # given an invoice, and a key holding every scope but the write-off's
    _, invoice = invoiced(client)
    others = sorted(set(SCOPES) - {"receivables:write_off"})
    lacking = bearer(make_api_key(admin_db, scopes=others, name="almost").secret)
    path = f"/api/v1/ar/invoices/{invoice.number}/write-off"
    csrf = {"X-CSRF-Token": login(client, admin_db, role="accountant")}
    before = state(db, invoice.number)
    # when that key, an over-large amount and a malformed one try
    refused = client.post(path, json={"reason": "bankrupt"}, headers=lacking)
    too_much = client.post(path, json={"reason": "bankrupt", "amount": "60.01"}, headers=csrf)
    malformed = client.post(path, json={"reason": "bankrupt", "amount": "1.001"}, headers=csrf)
    no_reason = client.post(path, json={"reason": ""}, headers=csrf)
    # then each is refused, naming what is wrong, and nothing changed
    assert refused.status_code == 403
    assert too_much.status_code == 409 and too_much.json()["balance"] == "60.00"
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["field"].endswith("amount")
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"].endswith("reason")
    assert state(db, invoice.number) == before
    # when the accountant writes off 25.00 of it
    done = client.post(path, json={"reason": "disputed, settled", "amount": "25.00"}, headers=csrf)
    # then the invoice owes 35.00 and still open
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["written_off"]["amount"], body["balance"]["amount"]) == (
        "open",
        "25.00",
        "35.00",
    )


def test_unapplied_cash_is_received_listed_and_applied_and_refusals_change_nothing(
    client: TestClient, admin_db, db
):
    customer, invoice = invoiced(client)
    csrf = {"X-CSRF-Token": login(client, admin_db, role="accountant")}
    before = state(db, invoice.number)
    bad = client.post(
        "/api/v1/ar/unapplied-cash",
        json={"customer": customer.number, "amount": "-5.00", "currency": "USD", "method": "check"},
        headers=csrf,
    )
    nul = client.post(
        "/api/v1/ar/unapplied-cash",
        json={"customer": customer.number, "amount": "5.00", "currency": "USD", "method": "check",
              "reference": "a\x00b"},
        headers=csrf,
    )  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].endswith("amount")
    assert nul.status_code == 422 and nul.json()["errors"][0]["field"].endswith("reference")
    assert state(db, invoice.number) == before
    # when 100.00 is received and applied
    held = client.post(
        "/api/v1/ar/unapplied-cash",
        json={"customer": customer.number, "amount": "100.00", "currency": "USD", "method": "transfer"},
        headers=csrf,
    )
    assert held.status_code == 201, held.text
    receipt = held.json()["number"]
    applied = client.post(
        f"/api/v1/ar/unapplied-cash/{receipt}/apply", json={"invoice": invoice.number}, headers=csrf
    )
    too_much = client.post(
        f"/api/v1/ar/unapplied-cash/{receipt}/apply", json={"invoice": invoice.number, "amount": "1.00"},
        headers=csrf,
    )  # fmt: skip
    listed = client.get("/api/v1/ar/unapplied-cash", params={"customer": customer.number})
    # then the invoice took 60.00, the 40.00 left is listed, and the second application was refused
    assert applied.status_code == 200, applied.text
    assert applied.json()["remaining"]["amount"] == "40.00"
    assert too_much.status_code == 409
    assert [c["remaining"]["amount"] for c in listed.json()] == ["40.00"]


def test_card_liabilities_and_a_dunning_letter_are_read_by_the_accountant(client: TestClient, admin_db):
    customer, invoice = invoiced(client)
    login(client, admin_db, role="accountant")
    later = (invoice.due_on + timedelta(days=31)).isoformat()
    letter = client.get("/api/v1/ar/dunning-letters", params={"customer": customer.number, "as_of": later})
    none_yet = client.get(
        "/api/v1/ar/dunning-letters",
        params={"customer": customer.number, "as_of": invoice.due_on.isoformat()},
    )
    cards = client.get("/api/v1/ar/card-liabilities")
    assert letter.status_code == 200, letter.text
    body = letter.json()
    assert (body["stage"], body["total"]["amount"]) == ("second_notice", "60.00")
    assert invoice.number in body["text"] and invoice.number in body["html"]
    assert none_yet.json()["stage"] is None
    assert cards.status_code == 200 and cards.json() == []
    pdf = client.get("/api/v1/ar/statements.pdf", params={"customer": customer.number, "as_of": later})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert (
        pdf.headers["content-disposition"]
        == f'attachment; filename="statement-{customer.number}-{later}.pdf"'
    )


def test_an_agent_and_a_channel_bound_key_are_refused_every_collections_endpoint_and_nothing_changes(
    client: TestClient, admin_db, db
):
    customer, invoice = invoiced(client)
    before = state(db, invoice.number)
    make_channel(admin_db, code="shop", kind="web")
    channel_key = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="shop").secret)
    calls = [
        ("POST", f"/api/v1/ar/invoices/{invoice.number}/write-off", {"reason": "x"}),
        ("POST", "/api/v1/ar/unapplied-cash",
         {"customer": customer.number, "amount": "5.00", "currency": "USD", "method": "cash"}),
        ("POST", "/api/v1/ar/unapplied-cash/U-000001/apply", {"invoice": invoice.number}),
        ("GET", f"/api/v1/ar/unapplied-cash?customer={customer.number}", None),
        ("GET", "/api/v1/ar/card-liabilities", None),
        ("GET", f"/api/v1/ar/dunning-letters?customer={customer.number}", None),
        ("GET", f"/api/v1/ar/statements.pdf?customer={customer.number}", None),
    ]  # fmt: skip
    for method, path, body in calls:
        response = client.request(method, path, headers=channel_key, json=body)
        assert response.status_code == 403, (path, response.text)
    csrf = {"X-CSRF-Token": login(client, admin_db, role="agent")}
    for method, path, body in calls:
        response = client.request(method, path, headers=csrf, json=body)
        assert response.status_code == 403, (path, response.text)
    after = state(db, invoice.number)  # (the sign-in itself wrote to the outbox and the audit log)
    assert (after[:5], after[7]) == (before[:5], before[7])
