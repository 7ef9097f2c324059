"""Customers through the HTTP API: create, find, edit with ETag/If-Match, notes; refusals name the field and
change nothing; roles decide who may edit."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.builders import make_api_key

JANE = {
    "first_name": "Jane", "last_name": "Smith", "emails": ["Jane@Example.com"],
    "phones": [{"number": "(415) 555-0132", "label": "mobile"}],
    "addresses": [{"kind": "bill_to", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
                   "postal_code": "94105", "country": "US"}],
    "credit_limit": {"amount": "2500.00", "currency": "USD"}, "payment_terms": "NET30",
}  # fmt: skip


def test_an_agent_creates_finds_and_edits_a_customer(client: TestClient, admin_db):
    agent = make_api_key(admin_db, name="agent", scopes=["customers:read", "customers:write"]).secret
    created = client.post("/api/v1/customers", json=JANE, headers=bearer(agent))
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["number"] == "C-100001" and customer["phones"][0]["number"] == "+14155550132"
    assert customer["credit_limit"] == {"amount": "2500.00", "currency": "USD"}
    found = client.get("/api/v1/customers", params={"q": "415 555 0132"}, headers=bearer(agent)).json()
    assert [h["number"] for h in found["items"]] == ["C-100001"]
    read = client.get("/api/v1/customers/c-100001", headers=bearer(agent))
    assert read.headers["etag"] == '"1"'
    edited = client.patch("/api/v1/customers/C-100001", json={"do_not_email": True},
                          headers={**bearer(agent), "If-Match": read.headers["etag"]})  # fmt: skip
    assert (
        edited.status_code == 200
        and edited.json()["do_not_email"] is True
        and edited.headers["etag"] == '"2"'
    )
    # a second agent still holding version 1 is told, and nothing changes
    stale = client.patch("/api/v1/customers/C-100001", json={"last_name": "Smyth"},
                         headers={**bearer(agent), "If-Match": '"1"'})  # fmt: skip
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    missing = client.patch("/api/v1/customers/C-100001", json={"last_name": "Smyth"}, headers=bearer(agent))
    assert missing.status_code == 428
    assert client.get("/api/v1/customers/C-100001", headers=bearer(agent)).json()["last_name"] == "Smith"
    note = client.post("/api/v1/customers/C-100001/notes", json={"body": "Called about order", "kind": "call"},
                       headers=bearer(agent))  # fmt: skip
    assert note.status_code == 201
    timeline = client.get("/api/v1/customers/C-100001/timeline", headers=bearer(agent)).json()
    assert [e["kind"] for e in timeline["items"]] == ["call", "system"]


def test_bad_contacts_are_422_naming_the_field_and_create_nothing(client: TestClient, admin_key: str):
    cases = [
        ({**JANE, "emails": ["jane@"]}, "emails.0"),
        ({**JANE, "phones": [{"number": "555-01"}]}, "phones.0.number"),
        ({**JANE, "addresses": [{**JANE["addresses"][0], "postal_code": "9410"}]}, "addresses.0.postal_code"),
        ({**JANE, "addresses": [{**JANE["addresses"][0], "country": "USA"}]}, "addresses.0.country"),
        ({**JANE, "favourite_colour": "blue"}, "favourite_colour"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/customers", json=body, headers=bearer(admin_key))
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field, response.text
    assert (
        client.get("/api/v1/customers", params={"q": "smith"}, headers=bearer(admin_key)).json()["items"]
        == []
    )


def test_reading_is_not_editing(client: TestClient, admin_db, admin_key: str):
    client.post("/api/v1/customers", json=JANE, headers=bearer(admin_key))
    reader = make_api_key(admin_db, name="reader", scopes=["customers:read"]).secret
    refused = client.patch("/api/v1/customers/C-100001", json={"last_name": "X"},
                           headers={**bearer(reader), "If-Match": '"1"'})  # fmt: skip
    assert refused.status_code == 403
    assert client.get("/api/v1/customers/C-100001", headers=bearer(reader)).json()["version"] == 1


def test_a_manager_merges_duplicates_and_handles_a_privacy_request(
    client: TestClient, admin_db, admin_key: str
):
    client.post("/api/v1/customers", json=JANE, headers=bearer(admin_key))
    client.post("/api/v1/customers", json={"first_name": "Jane", "last_name": "Smith", "emails": ["jane@example.com"]},
                headers=bearer(admin_key))  # fmt: skip
    dupes = client.get("/api/v1/customers/C-100001/duplicates", headers=bearer(admin_key)).json()
    assert dupes == [{"number": "C-100002", "display_name": "Jane Smith", "reasons": ["same e-mail"]}]
    agent = make_api_key(admin_db, name="agent", scopes=["customers:read", "customers:write"]).secret
    refused = client.post(
        "/api/v1/customers/C-100001/merge", json={"merged": "C-100002"}, headers=bearer(agent)
    )
    assert refused.status_code == 403
    itself = client.post(
        "/api/v1/customers/C-100001/merge", json={"merged": "C-100001"}, headers=bearer(admin_key)
    )
    assert itself.status_code == 409
    merged = client.post(
        "/api/v1/customers/C-100001/merge", json={"merged": "C-100002"}, headers=bearer(admin_key)
    )
    assert merged.status_code == 200 and merged.json()["number"] == "C-100001"
    assert client.get("/api/v1/customers/C-100002", headers=bearer(admin_key)).json()["number"] == "C-100001"
    exported = client.get("/api/v1/customers/C-100001/export", headers=bearer(admin_key)).json()
    assert exported["customer"]["emails"] == ["jane@example.com"]
    gone = client.post(
        "/api/v1/customers/C-100001/anonymize", json={"reason": "erasure #42"}, headers=bearer(admin_key)
    )
    assert (
        gone.status_code == 200
        and gone.json()["emails"] == []
        and gone.json()["display_name"] == "Anonymized customer"
    )
