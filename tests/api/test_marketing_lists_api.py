"""Segments, list pulls and matchback through the ASGI app on SQLite and PostgreSQL: a marketer defines a segment and
counts it live, pulls it into key-coded cells, downloads the mail file (CSV and XLSX, the key code on every row),
records it as sent and matches orders back; refusals are problem+json naming the field and change nothing; who may
see any of it."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform.access import CHANNEL_KEY_SCOPES
from ordersmith.platform.db import Database
from tests.api.conftest import bearer, login
from tests.builders import make_api_key, make_order_shop, make_source_code, ship_to
from tests.integration.test_marketing_lists import add_customer

SEGMENT = {
    "code": "west",
    "name": "West coast house file",
    "rules": {
        "all": [
            {"field": "country", "op": "in", "value": ["US"]},
            {"field": "postal_prefix", "op": "starts_with", "value": ["94"]},
        ]
    },
}
PULL = {
    "segment": "WEST",
    "cells": [{"key_code": "F26T", "percent": "50"}, {"key_code": "F26C", "percent": "50"}],
    "seed": 3,
}


def rows(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def house(admin_db) -> list[str]:  # type: ignore[no-untyped-def]
    make_order_shop(admin_db)
    make_source_code(admin_db, "F26T")
    make_source_code(admin_db, "F26C")
    numbers = [
        add_customer(admin_db, f"Ann {n}", line1=f"{n} Bay St", email=f"ann{n}@example.com") for n in range(4)
    ]
    add_customer(admin_db, "Ed East", postal_code="10001", line1="1 Broadway")
    add_customer(admin_db, "No Mail", line1="9 Bay St", do_not_mail=True)
    return numbers


def test_a_marketer_defines_counts_pulls_downloads_and_matches_back(client: TestClient, admin_db, db):
    # given a house file and a marketer signed in
    numbers = house(admin_db)
    csrf = {"X-CSRF-Token": login(client, admin_db, role="marketing")}
    # when rules are counted live before saving, then saved and counted
    live = client.post("/api/v1/segments/count", json={"rules": SEGMENT["rules"]}, headers=csrf)
    made = client.post("/api/v1/segments", json=SEGMENT, headers=csrf)
    counted = client.get("/api/v1/segments/WEST/count")
    assert (live.status_code, made.status_code, counted.status_code) == (200, 201, 200), made.text
    assert (live.json(), counted.json()) == ({"customers": 5}, {"customers": 5})
    # and the rules are edited with If-Match
    read = client.get("/api/v1/segments/west")
    narrowed = {"all": [*SEGMENT["rules"]["all"], {"field": "do_not_mail", "op": "is", "value": False}]}
    edited = client.patch(
        "/api/v1/segments/WEST", json={"rules": narrowed}, headers=csrf | {"If-Match": read.headers["ETag"]}
    )
    stale = client.patch(
        "/api/v1/segments/WEST", json={"name": "x"}, headers=csrf | {"If-Match": read.headers["ETag"]}
    )
    assert (edited.status_code, stale.status_code) == (200, 412)
    assert client.get("/api/v1/segments/WEST/count").json() == {"customers": 4}
    assert [s["code"] for s in client.get("/api/v1/segments").json()["items"]] == ["WEST"]
    # when the pull is previewed, then made
    preview = client.post("/api/v1/extractions?preview=true", json=PULL, headers=csrf)
    pulled = client.post("/api/v1/extractions", json=PULL, headers=csrf)
    assert (preview.status_code, pulled.status_code) == (200, 201), pulled.text
    assert preview.json()["id"] is None and rows(db, "marketing_extractions") == 1
    body = pulled.json()
    assert [(c["key_code"], c["count"]) for c in body["cells"]] == [("F26T", 2), ("F26C", 2)]
    assert body["funnel"][0] == {"step": "selected", "removed": 0, "remaining": 4}
    # then the mail file downloads as CSV and XLSX with the key code on every row
    as_csv = client.get(f"/api/v1/extractions/{body['id']}/download?format=csv")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[0] == [
        "key_code",
        "customer_number",
        "name",
        "line1",
        "line2",
        "city",
        "region",
        "postal_code",
        "country",
        "email",
    ]
    assert sorted(r[1] for r in table[1:]) == sorted(numbers)
    assert sorted(r[0] for r in table[1:]) == ["F26C", "F26C", "F26T", "F26T"]
    as_xlsx = client.get(f"/api/v1/extractions/{body['id']}/download?format=xlsx")
    assert as_xlsx.status_code == 200
    with zipfile.ZipFile(io.BytesIO(as_xlsx.content)) as book:
        assert "xl/worksheets/sheet1.xml" in book.namelist()
    # when the pull is recorded as the mail file sent and an uncoded order comes from one of its names
    sent = client.post(
        "/api/v1/mail-files",
        json={"code": "fall-d1", "in_home_on": "2020-09-01", "window_days": 60, "extraction": body["id"]},
        headers=csrf,
    )
    assert sent.status_code == 201 and sent.json()["names"] == 4, sent.text
    order = orders.HistoricalOrder(
        external_id="OLD-1",
        placed_at=datetime(2020, 9, 10, tzinfo=UTC),
        lines=[orders.HistoricalLine("TEE", 1, Money(Decimal("20.00"), "USD"))],
        ship_to=ship_to(),
        customer=numbers[0],
    )
    orders.import_order(admin_db, channel="web", order=order)
    matched = client.post("/api/v1/mail-files/FALL-D1/matchback", headers=csrf)
    results = client.get("/api/v1/mail-files/FALL-D1/results")
    # then it is matched back by its customer, and the results show it apart from keyed orders
    assert matched.json() == {"mail_file": "FALL-D1", "looked_at": 1, "by_customer": 1, "by_address": 0}
    assert sum(r["matched_orders"] for r in results.json()) == 1
    assert sum(r["keyed_orders"] for r in results.json()) == 0
    assert [f["code"] for f in client.get("/api/v1/mail-files").json()] == ["FALL-D1"]
    assert [e["id"] for e in client.get("/api/v1/extractions").json()["items"]] == [body["id"]]
    assert client.get(f"/api/v1/extractions/{body['id']}").json()["names"] == 4


def test_refusals_name_the_field_and_change_nothing(client: TestClient, admin_db, db):
    house(admin_db)
    csrf = {"X-CSRF-Token": login(client, admin_db, role="marketing")}
    # an unknown field in the rules
    bad = {**SEGMENT, "rules": {"all": [{"field": "hat_size", "op": "in", "value": ["7"]}]}}
    refused = client.post("/api/v1/segments", json=bad, headers=csrf)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["rules.all.0.field"]
    assert "hat_size" in refused.json()["errors"][0]["message"]
    counted = client.post("/api/v1/segments/count", json={"rules": bad["rules"]}, headers=csrf)
    assert [e["field"] for e in counted.json()["errors"]] == ["rules.all.0.field"]
    assert rows(db, "marketing_segments") == 0
    # a pull asked to keep customers who said no to mail
    client.post("/api/v1/segments", json=SEGMENT, headers=csrf)
    keep = {**PULL, "suppress": {"do_not_mail": False}}
    refused = client.post("/api/v1/extractions", json=keep, headers=csrf)
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == [
        "suppress.do_not_mail"
    ]
    assert (rows(db, "marketing_extractions"), rows(db, "marketing_extraction_names")) == (0, 0)
    # a mail file with an unknown key code; a mail flag for nobody
    names = [{"key_code": "NOPE", "line1": "1 Bay St", "postal_code": "94105", "country": "US"}]
    refused = client.post(
        "/api/v1/mail-files", json={"code": "X", "in_home_on": "2020-09-01", "names": names}, headers=csrf
    )
    assert [e["field"] for e in refused.json()["errors"]] == ["names.0.key_code"]
    both = {
        "code": "X",
        "in_home_on": "2020-09-01",
        "names": names,
        "extraction": "0190f4a0-0000-7000-8000-000000000000",
    }
    assert [
        e["field"] for e in client.post("/api/v1/mail-files", json=both, headers=csrf).json()["errors"]
    ] == ["names"]
    assert rows(db, "marketing_mail_files") == 0
    assert client.put("/api/v1/mail-flags/C-1", json={"deceased": True}, headers=csrf).status_code == 404
    assert rows(db, "marketing_mail_flags") == 0


def test_other_roles_and_channel_bound_keys_cannot_see_or_make_lists(client: TestClient, admin_db, db):
    # given a segment and a pull made by a marketer
    house(admin_db)
    csrf = {"X-CSRF-Token": login(client, admin_db, role="marketing")}
    client.post("/api/v1/segments", json=SEGMENT, headers=csrf)
    pull_id = client.post("/api/v1/extractions", json=PULL, headers=csrf).json()["id"]
    client.cookies.clear()
    paths = [
        ("GET", "/api/v1/segments", None),
        ("GET", "/api/v1/segments/WEST", None),
        ("GET", "/api/v1/segments/WEST/count", None),
        ("POST", "/api/v1/segments/count", {"rules": SEGMENT["rules"]}),
        ("GET", f"/api/v1/extractions/{pull_id}", None),
        ("GET", f"/api/v1/extractions/{pull_id}/download", None),
        ("GET", "/api/v1/mail-files", None),
        ("POST", "/api/v1/segments", {**SEGMENT, "code": "other"}),
        ("DELETE", "/api/v1/segments/WEST", None),
        ("POST", "/api/v1/extractions", PULL),
    ]
    # when an agent tries, then a channel-bound key
    agent = {"X-CSRF-Token": login(client, admin_db, role="agent")}
    for method, path, body in paths:
        assert client.request(method, path, json=body, headers=agent).status_code == 403, path
    client.cookies.clear()
    key = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web").secret)
    for method, path, body in paths:  # no channel owns lists: to a channel's key they do not exist
        assert client.request(method, path, json=body, headers=key).status_code == 404, path
    # then nothing changed
    assert (rows(db, "marketing_segments"), rows(db, "marketing_extractions")) == (1, 1)
    # and a manager reads segments but neither pulls nor downloads names
    client.cookies.clear()
    manager = {"X-CSRF-Token": login(client, admin_db, role="manager")}
    assert client.get("/api/v1/segments/WEST/count", headers=manager).json() == {"customers": 5}
    assert client.get(f"/api/v1/extractions/{pull_id}/download", headers=manager).status_code == 403
    assert client.post("/api/v1/extractions", json=PULL, headers=manager).status_code == 403
    assert rows(db, "marketing_extractions") == 1
