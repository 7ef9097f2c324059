"""A dispute opened by hand through the ASGI app on SQLite and PostgreSQL: `POST /api/v1/disputes` under
`disputes:decide` records and posts it as a webhook-opened one (`source` manual), once — the same processor's
dispute id again is 409 `already_exists`; bad bodies are problems naming the field; a key without the scope and a
channel's key are refused; nothing changes on a refusal."""

from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.platform.access import CHANNEL_KEY_SCOPES, ROLE_SCOPES, SCOPES
from ordersmith.platform.db import Database
from tests.api.conftest import bearer, login
from tests.api.test_books_console_forms import csrf, field_error
from tests.builders import make_api_key, make_channel

BODY = {
    "processor": "stripe",
    "reference": "dp_mail_1",
    "capture_reference": "ch_mail_1",
    "amount": {"amount": "22.00", "currency": "USD"},
    "fee": "15.00",
    "reason": "fraudulent",
}


def state(db: Database) -> tuple[int, int, int]:
    with db.engine.connect() as conn:
        disputes = conn.execute(sa.text("SELECT COUNT(*) FROM finance_disputes")).scalar_one()
        events = conn.execute(
            sa.text("SELECT COUNT(*) FROM outbox WHERE type = 'dispute.opened'")
        ).scalar_one()
        entries = conn.execute(
            sa.text("SELECT COUNT(*) FROM journal_entries WHERE rule = 'dispute.opened'")
        ).scalar_one()
    return int(disputes), int(events), int(entries)


def test_an_accountant_opens_a_dispute_by_hand_once_and_it_posts_as_a_webhook_s(
    client: TestClient, admin_db, db
):
    finance.ensure_chart(admin_db)
    accountant = bearer(make_api_key(admin_db, scopes=sorted(ROLE_SCOPES["accountant"]), name="acct").secret)
    # when bad bodies are sent
    bad = {
        "amount": BODY | {"amount": {"amount": "0.00", "currency": "USD"}},
        "fee": BODY | {"fee": "1.234"},
        "processor": BODY | {"processor": "paypal"},
        "reference": BODY | {"reference": ""},
        "capture_reference": BODY | {"capture_reference": "ch\n1"},
    }
    for field, body in bad.items():
        refused = client.post("/api/v1/disputes", json=body, headers=accountant)
        # then each is a problem naming its field, and nothing was recorded
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["errors"][0]["field"].split(".")[0] == field, refused.text
    assert state(db) == (0, 0, 0)
    # when the dispute is opened by hand
    opened = client.post("/api/v1/disputes", json=BODY, headers=accountant)
    # then it is open, manual, and posted once like a webhook-opened dispute
    assert opened.status_code == 201, opened.text
    got = opened.json()
    assert (got["status"], got["source"], got["processor"], got["reference"]) == (
        "open",
        "manual",
        "stripe",
        "dp_mail_1",
    )
    assert (got["amount"], got["fee"]["amount"], got["reason"]) == (
        {"amount": "22.00", "currency": "USD"},
        "15.00",
        "fraudulent",
    )
    finance.replay_outbox(admin_db)
    assert state(db) == (1, 1, 1)
    assert finance.unposted_amount(admin_db, currency="USD") == Money(Decimal(0), "USD")
    # when it is opened again (or the webhook had opened it): refused, nothing changes
    again = client.post(
        "/api/v1/disputes", json=BODY | {"amount": {"amount": "5.00", "currency": "USD"}}, headers=accountant
    )
    assert again.status_code == 409 and again.json()["code"] == "already_exists"
    assert got["number"] in again.json()["detail"]
    finance.replay_outbox(admin_db)
    assert state(db) == (1, 1, 1)
    # and it is decided like any other
    won = client.post(
        f"/api/v1/disputes/{got['number']}/outcome", json={"outcome": "won"}, headers=accountant
    )
    assert won.status_code == 200 and won.json()["status"] == "won"


def test_opening_a_dispute_without_its_scope_or_with_a_channel_key_is_refused(
    client: TestClient, admin_db, db
):
    finance.ensure_chart(admin_db)
    others = make_api_key(admin_db, scopes=sorted(set(SCOPES) - {"disputes:decide"}), name="others").secret
    make_channel(admin_db, code="web")
    channel_key = make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web", name="web").secret
    assert client.post("/api/v1/disputes", json=BODY, headers=bearer(others)).status_code == 403
    assert client.post("/api/v1/disputes", json=BODY, headers=bearer(channel_key)).status_code == 404
    assert state(db) == (0, 0, 0)


def test_the_console_opens_a_dispute_by_hand_and_records_its_outcome_and_refusals_write_nothing(
    client: TestClient, admin_db, db
):
    finance.ensure_chart(admin_db)
    login(client, admin_db, role="accountant")
    screen = client.get("/finance/disputes")
    assert screen.status_code == 200 and 'id="open-dispute"' in screen.text
    token = csrf(screen.text)
    typed = {"csrf_token": token, "processor": "stripe", "reference": "dp_form_1", "capture_reference": "ch_form_1",
             "amount": "22.00", "currency": "USD", "fee": "15.00", "reason": "fraudulent"}  # fmt: skip
    # when a malformed amount, a fee finer than a cent, no dispute id or a forged form is sent
    malformed = client.post("/finance/disputes", data=typed | {"amount": "22,00"})
    fee = client.post("/finance/disputes", data=typed | {"fee": "1.234"})
    no_id = client.post("/finance/disputes", data=typed | {"reference": ""})
    forged = client.post("/finance/disputes", data=typed | {"csrf_token": "forged"})
    # then each is refused beside its field, and nothing was recorded
    assert (
        malformed.status_code == 422
        and field_error(malformed.text, "amount")
        and 'value="22,00"' in malformed.text
    )
    assert fee.status_code == 422 and field_error(fee.text, "fee")
    assert no_id.status_code == 422 and field_error(no_id.text, "reference")
    assert forged.status_code == 403
    assert state(db) == (0, 0, 0)
    # when it is opened, and opened again
    done = client.post("/finance/disputes", data=typed, follow_redirects=False)
    again = client.post("/finance/disputes", data=typed)
    # then it is open once, by hand; the second is refused
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    (number,) = re.findall(r'<tr data-dispute="([^"]+)">', shown.text)
    row = shown.text.split(f'<tr data-dispute="{number}">')[1].split("</tr>")[0]
    assert "manual" in row and "$22.00" in row and "$15.00" in row and ">open<" in row
    assert again.status_code == 409 and "is recorded already" in again.text
    assert state(db)[0] == 1
    # when its outcome is recorded
    won = client.post(
        f"/finance/disputes/{number}/outcome",
        data={"csrf_token": token, "outcome": "won", "fee_returned": "15.00", "version": "1"},
        follow_redirects=False,
    )
    assert won.status_code == 303 and ">won<" in client.get(won.headers["location"]).text
    # and a warehouse user gets no screen, and its posts are refused
    client.cookies.clear()
    other = login(client, admin_db, role="warehouse")
    assert client.get("/finance/disputes").status_code == 403
    assert (
        client.post("/finance/disputes", data=typed | {"csrf_token": other, "reference": "dp_2"}).status_code
        == 403
    )
    assert state(db)[0] == 1
