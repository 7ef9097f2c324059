"""Dunning runs through the API on SQLite and PostgreSQL: the preview, a run that duns each past-due customer once a
day (a second run: nobody again), who was dunned; refusals change nothing; an agent is refused, a channel-bound key
finds nothing (404)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordersmith.finance import service as finance
from ordersmith.kernel.clock import ShiftedClock
from ordersmith.payments import service as payments
from ordersmith.platform.access import CHANNEL_KEY_SCOPES
from ordersmith.platform.db import Actor
from tests.api.conftest import bearer
from tests.api.test_books_console_forms import count
from tests.builders import (
    make_account_customer,
    make_api_key,
    make_channel,
    make_order_shop,
    place_on_account,
    ship_and_invoice,
)


@pytest.fixture
def late(client: TestClient) -> dict[str, Any]:
    """A 60.00 order on account invoiced net 30 seventy days ago: 40 days past due (a second notice)."""
    shop = client.app.state.db.unit_of_work(Actor.system("fixture"), clock=ShiftedClock(timedelta(days=-70)))
    make_order_shop(shop)
    customer = make_account_customer(shop)
    ship_and_invoice(shop, place_on_account(shop, customer.number))
    finance.replay_outbox(shop)
    (invoice,) = payments.list_invoices(shop, customer_id=customer.id).items
    return {"customer": customer.number, "invoice": invoice.number}


def test_a_dunning_run_duns_each_past_due_customer_once_a_day(
    client: TestClient, admin_db, db, admin_key, late
):
    auth = bearer(admin_key)
    # when the run is previewed
    preview = client.get("/api/v1/ar/dunning-runs/preview", headers=auth)
    # then the customer is due a second notice for 60.00 (one invoice, 40 days past due); nothing is recorded
    assert preview.status_code == 200
    assert preview.json() == [
        {
            "customer_number": late["customer"],
            "stage": "second_notice",
            "subject": "Second notice: invoices past due",
            "total": {"amount": "60.00", "currency": "USD"},
            "invoices": 1,
            "oldest_days_past_due": 40,
        }
    ]
    assert count(db, "finance_dunning_letters") == 0
    # when a run is asked for a day to come: refused naming the field, nothing recorded
    future = client.post("/api/v1/ar/dunning-runs", json={"as_of": "2999-01-01"}, headers=auth)
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "as_of"
    assert count(db, "finance_dunning_letters") == 0
    # when dunning runs, and runs again
    first = client.post("/api/v1/ar/dunning-runs", json={}, headers=auth)
    second = client.post("/api/v1/ar/dunning-runs", json={}, headers=auth)
    # then the customer was dunned once
    assert first.status_code == second.status_code == 200
    (sent,) = first.json()["sent"]
    assert (sent["customer_number"], sent["stage"], sent["total"]["amount"]) == (
        late["customer"],
        "second_notice",
        "60.00",
    )
    assert first.json()["already"] == [] and second.json() == {
        "as_of": first.json()["as_of"],
        "sent": [],
        "already": [late["customer"]],
    }
    assert count(db, "finance_dunning_letters") == 1
    # and who was dunned is listed, for everyone and for the customer
    listed = client.get("/api/v1/ar/dunning-runs/letters", headers=auth).json()
    assert [x["id"] for x in listed["items"]] == [sent["id"]] and listed["next_cursor"] is None
    mine = client.get("/api/v1/ar/dunning-runs/letters", params={"customer": late["customer"]}, headers=auth)
    assert len(mine.json()["items"]) == 1


def test_an_agent_is_refused_a_run_and_a_channel_key_finds_no_dunning(client: TestClient, admin_db, db, late):
    agent = make_api_key(admin_db, scopes=["orders:read"], name="agent").secret
    make_channel(admin_db, code="shopx")
    channel_key = make_api_key(
        admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), name="shopx", channel="shopx"
    ).secret
    assert client.post("/api/v1/ar/dunning-runs", json={}, headers=bearer(agent)).status_code == 403
    assert client.post("/api/v1/ar/dunning-runs", json={}, headers=bearer(channel_key)).status_code == 404
    assert client.get("/api/v1/ar/dunning-runs/letters", headers=bearer(channel_key)).status_code == 404
    assert count(db, "finance_dunning_letters") == 0
