"""Segments through the console, on SQLite and PostgreSQL: the screen lists the stored segments and edits one; a
save is checked by the API's schema and the segments' use case, CSRF-checked and for `marketing:write` only; rules
naming an unknown field re-render the page naming it and store nothing; who may open the screen."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from ordersmith.marketing import service as marketing
from tests.api.conftest import login
from tests.integration.test_marketing_lists import add_customer

RULES = {"all": [{"field": "postal_prefix", "op": "starts_with", "value": ["941"]}]}


def test_a_marketer_saves_and_edits_a_segment_and_the_editor_counts_live(client: TestClient, admin_db):
    # given two customers, one in San Francisco, and a marketer signed in
    add_customer(admin_db, postal_code="94105")
    add_customer(admin_db, postal_code="10001", line1="2 Broadway")
    csrf = login(client, admin_db, role="marketing")
    # when they open the screen, then save a segment from the editor
    page = client.get("/segments")
    saved = client.post(
        "/segments",
        data={
            "csrf_token": csrf,
            "code": "sf",
            "name": "San Francisco",
            "currency": "USD",
            "rules": json.dumps(RULES),
        },
        follow_redirects=False,
    )
    # then it is stored and the editor reopens on it, its live count script loaded
    assert page.status_code == 200 and 'id="live-count"' in page.text and "/static/segments.js" in page.text
    assert saved.status_code == 303 and saved.headers["location"].startswith("/segments?edit=SF")
    assert marketing.get_segment(admin_db, code="SF").rules == RULES
    reopened = client.get("/segments?edit=SF")
    assert 'data-segment-count="SF"' in reopened.text and "San Francisco" in reopened.text
    # and the live count the script asks for answers for the session
    live = client.post("/api/v1/segments/count", json={"rules": RULES}, headers={"X-CSRF-Token": csrf})
    assert live.json() == {"customers": 1}
    assert client.get("/static/segments.js").status_code == 200
    # when the rules are replaced through the form
    wider = {"field": "country", "op": "in", "value": ["US"]}
    again = client.post(
        "/segments",
        data={"csrf_token": csrf, "code": "SF", "name": "US", "currency": "USD", "rules": json.dumps(wider)},
        follow_redirects=False,
    )
    assert again.status_code == 303 and marketing.count_segment(admin_db, code="SF") == 2


def test_a_bad_form_names_the_field_and_stores_nothing(client: TestClient, admin_db):
    csrf = login(client, admin_db, role="marketing")
    base = {"csrf_token": csrf, "code": "X", "name": "X", "currency": "USD"}
    unknown = client.post(
        "/segments", data=base | {"rules": json.dumps({"field": "hat_size", "op": "in", "value": []})}
    )
    not_json = client.post("/segments", data=base | {"rules": "{all: ["})
    forged = client.post("/segments", data=base | {"csrf_token": "nope", "rules": json.dumps(RULES)})
    assert unknown.status_code == 422 and "rules.field" in unknown.text and "hat_size" in unknown.text
    assert not_json.status_code == 422 and "not JSON" in not_json.text
    assert forged.status_code == 403
    assert marketing.list_segments(admin_db).items == []


def test_the_screen_is_for_who_reads_marketing_and_saving_for_who_writes_it(client: TestClient, admin_db):
    login(client, admin_db, role="agent")
    assert client.get("/segments").status_code == 403
    client.cookies.clear()
    csrf = login(client, admin_db, role="manager")
    page = client.get("/segments")
    assert page.status_code == 200 and "saving needs marketing:write" in page.text
    refused = client.post(
        "/segments",
        data={"csrf_token": csrf, "code": "M", "name": "M", "currency": "USD", "rules": json.dumps(RULES)},
    )
    assert refused.status_code == 403 and marketing.list_segments(admin_db).items == []
