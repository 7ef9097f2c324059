"""Disputes and unsettled captures through the ASGI app (ADR 0040): listed under `finance:read`, an outcome recorded
under its own scope `disputes:decide` (an accountant holds it; a key without it, and a channel's key, are refused and
change nothing), bad bodies refused as problem+json naming the field, a stale If-Match refused, a second outcome a
409."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.platform.access import CHANNEL_KEY_SCOPES, ROLE_SCOPES, SCOPES
from ordersmith.platform.db import Database, UnitOfWork
from tests.api.conftest import bearer
from tests.builders import make_api_key, make_channel


def opened(admin_db: UnitOfWork) -> finance.Dispute:
    finance.ensure_chart(admin_db)
    dispute, _ = finance.open_dispute(
        admin_db, processor="stripe", reference="dp_1", capture_reference="ch_1",
        amount=Money(Decimal("22.00"), "USD"), fee=Money(Decimal("15.00"), "USD"), reason="fraudulent",
        source="settlement",
    )  # fmt: skip
    return dispute


def state(db: Database) -> tuple[object, ...]:
    with db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT status, version, fee_returned_minor FROM finance_disputes")).one()
        events = conn.execute(
            sa.text("SELECT COUNT(*) FROM outbox WHERE type IN ('dispute.won', 'dispute.lost')")
        ).scalar_one()
    return (*row, events)


def test_disputes_are_listed_and_an_accountant_records_an_outcome_once(client: TestClient, admin_db, db):
    dispute = opened(admin_db)
    accountant = make_api_key(admin_db, scopes=sorted(ROLE_SCOPES["accountant"]), name="acct").secret
    listed = client.get("/api/v1/disputes?status=open", headers=bearer(accountant))
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert (item["number"], item["amount"], item["fee"]["amount"], item["transaction_id"]) == (
        dispute.number, {"amount": "22.00", "currency": "USD"}, "15.00", None,
    )  # fmt: skip
    shown = client.get(f"/api/v1/disputes/{dispute.number}", headers=bearer(accountant))
    assert shown.headers["ETag"] == '"1"'
    url = f"/api/v1/disputes/{dispute.number}/outcome"
    won = client.post(url, json={"outcome": "won", "fee_returned": "15.00", "note": "evidence accepted"},
                      headers=bearer(accountant) | {"If-Match": '"1"'})  # fmt: skip
    assert won.status_code == 200, won.text
    assert (won.json()["status"], won.json()["fee_returned"]["amount"], won.json()["version"]) == (
        "won",
        "15.00",
        2,
    )
    again = client.post(url, json={"outcome": "lost"}, headers=bearer(accountant))
    assert again.status_code == 409 and again.json()["code"] == "dispute_closed"
    assert state(db) == ("won", 2, 1500, 1)
    assert client.get("/api/v1/disputes?status=open", headers=bearer(accountant)).json()["items"] == []


def test_an_outcome_without_its_scope_or_from_a_channel_key_is_refused_and_changes_nothing(
    client: TestClient, admin_db, db
):
    dispute = opened(admin_db)
    url = f"/api/v1/disputes/{dispute.number}/outcome"
    others = make_api_key(admin_db, scopes=sorted(set(SCOPES) - {"disputes:decide"}), name="others").secret
    make_channel(admin_db, code="web")
    channel_key = make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web", name="web").secret
    before = state(db)
    assert client.post(url, json={"outcome": "lost"}, headers=bearer(others)).status_code == 403
    # a channel's key is answered as if there were nothing there
    assert client.post(url, json={"outcome": "lost"}, headers=bearer(channel_key)).status_code == 404
    assert client.get("/api/v1/disputes", headers=bearer(channel_key)).status_code == 404
    assert client.get("/api/v1/unsettled-transactions", headers=bearer(channel_key)).status_code == 404
    assert state(db) == before == ("open", 1, 0, 0)


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        ({"outcome": "maybe"}, {}, 422, "outcome"),
        ({"outcome": "lost", "fee_returned": "1.00"}, {}, 422, "fee_returned"),
        ({"outcome": "won", "fee_returned": "15.01"}, {}, 422, "fee_returned"),
        ({"outcome": "won", "fee_returned": "1.001"}, {}, 422, "fee_returned"),
        ({"outcome": "won", "note": "x" * 501}, {}, 422, "note"),
        ({"outcome": "won"}, {"If-Match": '"7"'}, 412, None),
    ],
)
def test_a_bad_outcome_is_a_problem_naming_its_field_and_changes_nothing(
    client: TestClient, admin_db, db, body, headers, status, field
):
    dispute = opened(admin_db)
    admin = make_api_key(admin_db, name="admin").secret
    before = state(db)
    refused = client.post(f"/api/v1/disputes/{dispute.number}/outcome", json=body,
                          headers=bearer(admin) | headers)  # fmt: skip
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert [e["field"] for e in refused.json()["errors"]] == [field]
    assert state(db) == before


def test_unsettled_transactions_are_listed_with_a_bad_day_count_refused(client: TestClient, admin_db):
    admin = make_api_key(admin_db, name="admin").secret
    listed = client.get("/api/v1/unsettled-transactions?older_than_days=0", headers=bearer(admin))
    assert listed.status_code == 200 and listed.json() == {"items": [], "next_cursor": None}
    bad = client.get("/api/v1/unsettled-transactions?older_than_days=-1", headers=bearer(admin))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.older_than_days"
