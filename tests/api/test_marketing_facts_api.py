"""RFM scoring and a customer's stored purchase facts through the ASGI app on SQLite and PostgreSQL (ADR 0037): a
marketer reads and sets how a currency's buyers are scored (quintiles or cut-offs, `If-Match` honoured) and the
queued run follows; a customer's facts equal a hand computation over their orders; bad input is problem+json naming
the field and changes nothing; who may see any of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.app import create_app
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform import jobs, outbox
from ordersmith.platform.access import CHANNEL_KEY_SCOPES
from ordersmith.platform.db import Database
from ordersmith.platform.settings import Settings
from tests.api.conftest import bearer, login
from tests.builders import channel, make_api_key, make_order_shop, order_request, ship_to
from tests.integration.test_marketing_lists import add_customer

CUTOFFS: dict[str, Any] = {
    "method": "cutoffs",
    "cutoffs": {
        "recency_days": [30, 90, 180, 365],
        "frequency_orders": [2, 3, 5, 10],
        "monetary": ["50.00", "100.00", "250.00", "500.00"],
    },
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app without its background relay and job runner: the test hands the outbox on and runs the queued
    scoring run itself, so it sees the scores before and after the run."""
    quiet = settings.model_copy(update={"relay_enabled": False, "jobs_enabled": False})
    with TestClient(create_app(quiet), base_url="http://testserver") as test_client:
        yield test_client


def _relay(db: Database, admin_db) -> None:  # type: ignore[no-untyped-def]
    while outbox.dispatch_batch(db.unit_of_work(admin_db.actor)):
        pass


def _buyers(admin_db, db: Database) -> tuple[str, str, datetime, datetime]:  # type: ignore[no-untyped-def]
    """Ann: two phone orders today (a tee and two mugs: 40.00; a lamp: 80.00); Bo: one mug bought 200 days ago in
    the old system (10.00). The mug and the lamp are filed under Home (the tee in no category). Their facts, kept
    by the relay. Returns their numbers and last orders."""
    from ordersmith.catalog import service as catalog

    make_order_shop(admin_db)
    catalog.create_category(admin_db, code="HOME", name="Home")
    catalog.create_category(admin_db, code="KITCHEN", name="Kitchen", parent="HOME")
    catalog.set_item_category(admin_db, sku="MUG", category="KITCHEN")
    catalog.set_item_category(admin_db, sku="LAMP", category="HOME")
    ann, bo = add_customer(admin_db, "Ann Buyer", tag="A"), add_customer(admin_db, "Bo Buyer", tag="B")
    phone = channel(admin_db, "phone")
    orders.place_order(admin_db, channel=phone, request=order_request(("TEE", 1), ("MUG", 2), customer=ann))
    last = orders.place_order(admin_db, channel=phone, request=order_request(("LAMP", 1), customer=ann)).order
    old = datetime.now(UTC).replace(microsecond=0) - timedelta(days=200)
    orders.import_order(
        admin_db,
        channel="web",
        order=orders.HistoricalOrder(
            external_id="H-1",
            placed_at=old,
            lines=[orders.HistoricalLine("MUG", 1, Money(Decimal("10.00"), "USD"))],
            ship_to=ship_to(),
            customer=bo,
        ),
    )
    _relay(db, admin_db)
    return ann, bo, last.placed_at, old


def _cell(client: TestClient, key: dict[str, str], number: str) -> str:
    response = client.get(f"/api/v1/purchase-facts/{number}", headers=key)
    assert response.status_code == 200, response.text
    return str(response.json()["currencies"][0]["cell"])


def _state(db: Database) -> tuple[Any, ...]:
    with db.engine.connect() as conn:
        return (
            tuple(
                conn.execute(sa.text("SELECT currency, method, cutoffs, version FROM marketing_rfm_scoring"))
            ),
            conn.execute(sa.text("SELECT COUNT(*) FROM jobs")).scalar_one(),
            conn.execute(sa.text("SELECT COUNT(*) FROM audit_log")).scalar_one(),
        )


def test_a_customer_s_purchase_facts_are_what_their_orders_say(client: TestClient, admin_key, admin_db, db):
    # given Ann's two orders and Bo's one, kept by the relay, and a scoring run by quintiles
    from ordersmith.marketing import service as marketing

    ann, bo, ann_last, bo_last = _buyers(admin_db, db)
    marketing.score_rfm(admin_db)
    # when a marketer reads their facts
    found = client.get(f"/api/v1/purchase-facts/{ann}", headers=bearer(admin_key))
    # then Ann has two orders, 120.00 spent, nothing returned, from the catalog division (phone), and of the two
    # buyers she is the later, more frequent, bigger spender: quintiles 2, 2, 2 (NTILE(5) of two buyers: 1 and 2)
    assert found.status_code == 200, found.text
    body = found.json()
    [dollars] = body.pop("currencies")
    assert body == {
        "customer_number": ann,
        "orders": 2,
        "last_order_at": ann_last.isoformat().replace("+00:00", "Z"),
        "divisions": ["catalog"],
        "styles": 0,
        "categories": ["HOME", "KITCHEN"],
    }
    assert {k: v for k, v in dollars.items() if not k.endswith("_at")} == {
        "currency": "USD",
        "orders": 2,
        "spent": {"amount": "120.00", "currency": "USD"},
        "returned": {"amount": "0.00", "currency": "USD"},
        "lifetime_value": {"amount": "120.00", "currency": "USD"},
        "recency": 2,
        "frequency": 2,
        "monetary": 2,
        "cell": "222",
    }
    assert datetime.fromisoformat(dollars["last_order_at"]) == ann_last
    bo_facts = client.get(f"/api/v1/purchase-facts/{bo}", headers=bearer(admin_key)).json()
    assert (
        bo_facts["orders"],
        bo_facts["divisions"],
        bo_facts["categories"],
        bo_facts["currencies"][0]["cell"],
    ) == (
        1,
        ["web"],
        ["KITCHEN"],
        "111",
    )
    assert bo_facts["currencies"][0]["spent"] == {"amount": "10.00", "currency": "USD"}
    assert datetime.fromisoformat(bo_facts["last_order_at"]) == bo_last
    # and an unknown customer is a 404 problem; a customer without orders has empty facts
    missing = client.get("/api/v1/purchase-facts/C-404404", headers=bearer(admin_key))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    nobody = add_customer(admin_db, "Cy Nobuy", tag="C")
    assert client.get(f"/api/v1/purchase-facts/{nobody}", headers=bearer(admin_key)).json() == {
        "customer_number": nobody,
        "orders": 0,
        "last_order_at": None,
        "divisions": [],
        "styles": 0,
        "categories": [],
        "currencies": [],
    }


def test_a_marketer_sets_cut_offs_and_the_queued_run_scores_by_them(client: TestClient, admin_db, db):
    # given the two buyers scored by quintiles, and a marketer signed in
    from ordersmith.marketing import service as marketing

    ann, bo, _, _ = _buyers(admin_db, db)
    marketing.score_rfm(admin_db)
    csrf = {"X-CSRF-Token": login(client, admin_db, role="marketing")}
    shown = client.get("/api/v1/rfm-scoring/usd")
    assert shown.status_code == 200, shown.text
    assert (shown.json()["method"], shown.json()["cutoffs"], shown.json()["scored_customers"]) == (
        "quintiles",
        None,
        2,
    )
    assert shown.headers["ETag"] == '"1"'
    # when they score dollars by cut-offs (If-Match the version read)
    made = client.put("/api/v1/rfm-scoring/usd", json=CUTOFFS, headers={**csrf, "If-Match": '"1"'})
    # then the method is stored with its amounts as money, and a scoring run is queued
    assert made.status_code == 200, made.text
    assert made.headers["ETag"] == '"2"'
    assert made.json()["method"] == "cutoffs" and made.json()["version"] == 2
    assert made.json()["cutoffs"] == {
        "recency_days": [30, 90, 180, 365],
        "frequency_orders": [2, 3, 5, 10],
        "monetary": [{"amount": a, "currency": "USD"} for a in ("50.00", "100.00", "250.00", "500.00")],
    }
    assert (_cell(client, {}, ann), _cell(client, {}, bo)) == ("222", "111")  # the run has not run yet
    # when the job runner takes the queued run
    assert jobs.run_due_jobs(db, worker="test") >= 1
    # then Ann (last order today: within all four day counts; 2 orders: reaches 2; 120.00: reaches 50 and 100)
    # scores 5-2-3 and Bo (200 days ago: within 365 only; 1 order; 10.00) 2-1-1
    assert (_cell(client, {}, ann), _cell(client, {}, bo)) == ("523", "211")
    # when a second marketer writes with the version they read before the change, then it is refused, unchanged
    before = _state(db)
    stale = client.put(
        "/api/v1/rfm-scoring/USD", json={"method": "quintiles"}, headers={**csrf, "If-Match": '"1"'}
    )
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert _state(db) == before
    # when they go back to quintiles, then the next run scores the quintiles again
    back = client.put("/api/v1/rfm-scoring/USD", json={"method": "quintiles"}, headers=csrf)
    assert back.status_code == 200 and back.json()["cutoffs"] is None and back.json()["version"] == 3
    jobs.run_due_jobs(db, worker="test")
    assert (_cell(client, {}, ann), _cell(client, {}, bo)) == ("222", "111")


def test_bad_scoring_input_is_a_problem_naming_the_field_and_nothing_changes(
    client: TestClient, admin_key, admin_db, db
):
    make_order_shop(admin_db)
    cut = CUTOFFS["cutoffs"]
    before = _state(db)
    for currency, body, field in (
        ("USD", {"method": "deciles"}, "method"),
        ("USD", {"method": "cutoffs"}, "cutoffs"),
        ("USD", {"method": "quintiles", "cutoffs": cut}, "cutoffs"),
        ("USD", {"method": "cutoffs", "cutoffs": {**cut, "recency_days": [90, 30, 180, 365]}}, "cutoffs.recency_days"),
        ("USD", {"method": "cutoffs", "cutoffs": {**cut, "frequency_orders": [2, 3, 5]}}, "cutoffs.frequency_orders"),
        ("USD", {"method": "cutoffs", "cutoffs": {**cut, "recency_days": [0, 30, 90, 180]}}, "cutoffs.recency_days"),
        ("USD", {"method": "cutoffs", "cutoffs": {**cut, "monetary": ["50.001", "100", "250", "500"]}},
         "cutoffs.monetary.0"),
        ("USD", {"method": "cutoffs", "cutoffs": {**cut, "monetary": ["-1", "100", "250", "500"]}},
         "cutoffs.monetary"),
        ("JPY", {"method": "cutoffs", "cutoffs": {**cut, "monetary": ["50", "100", "250.50", "500"]}},
         "cutoffs.monetary.2"),
        ("USD", {"method": "quintiles", "extra": 1}, "extra"),
        ("US1", {"method": "quintiles"}, "path.currency"),
    ):  # fmt: skip
        response = client.put(f"/api/v1/rfm-scoring/{currency}", json=body, headers=bearer(admin_key))
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == [field], response.text
    assert client.get("/api/v1/rfm-scoring/US1", headers=bearer(admin_key)).status_code == 422
    assert client.get("/api/v1/purchase-facts/not%20a%20number", headers=bearer(admin_key)).status_code == 422
    assert _state(db) == before


def test_an_agent_is_refused_scoring_and_facts_and_a_channel_bound_key_finds_none(
    client: TestClient, admin_db, db
):
    ann, _, _, _ = _buyers(admin_db, db)
    before = _state(db)
    login(client, admin_db, role="agent")
    assert client.get("/api/v1/rfm-scoring/USD").status_code == 403
    assert client.get(f"/api/v1/purchase-facts/{ann}").status_code == 403
    client.cookies.clear()
    csrf = {"X-CSRF-Token": login(client, admin_db, role="manager")}
    assert client.get(f"/api/v1/purchase-facts/{ann}").status_code == 200
    assert (
        client.put("/api/v1/rfm-scoring/USD", json={"method": "quintiles"}, headers=csrf).status_code == 403
    )
    client.cookies.clear()
    key = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web").secret)
    for method, path, body in [
        ("GET", "/api/v1/rfm-scoring/USD", None),
        ("PUT", "/api/v1/rfm-scoring/USD", CUTOFFS),
        ("GET", f"/api/v1/purchase-facts/{ann}", None),
    ]:
        response = client.request(method, path, headers=key, json=body)
        # no channel owns a currency's scoring or a customer's facts: to a channel's key they do not exist
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == "not_found", path
    assert _state(db)[:2] == before[:2]
