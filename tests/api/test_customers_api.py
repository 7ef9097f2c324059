"""Customers through the HTTP API: create, find, edit with ETag/If-Match, notes; refusals name the field and
change nothing; roles decide who may edit, and money fields (credit, terms, tax exemption, price group) need their
own scopes."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.platform.access import ROLE_SCOPES
from ordersmith.platform.db import Database
from tests.api.conftest import bearer
from tests.builders import make_api_key

JANE = {
    "first_name": "Jane", "last_name": "Smith", "emails": ["Jane@Example.com"],
    "phones": [{"number": "(415) 555-0132", "label": "mobile"}],
    "addresses": [{"kind": "bill_to", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
                   "postal_code": "94105", "country": "US"}],
}  # fmt: skip


def test_an_agent_creates_finds_and_edits_a_customer(client: TestClient, admin_db):
    agent = make_api_key(admin_db, name="agent", scopes=["customers:read", "customers:write"]).secret
    created = client.post("/api/v1/customers", json=JANE, headers=bearer(agent))
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["number"] == "C-100001" and customer["phones"][0]["number"] == "+14155550132"
    assert customer["credit_limit"] is None and customer["customer_group"] == "retail"
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


# Each money-bearing field: a value that grants money, the scope it needs, and how the audit log records it.
MONEY_FIELDS: list[tuple[dict[str, Any], str, dict[str, Any]]] = [
    ({"credit_limit": {"amount": "100000.00", "currency": "USD"}}, "customers:credit",
     {"credit_limit_minor": 10_000_000}),
    ({"payment_terms": "NET90"}, "customers:credit", {"payment_terms": "NET90"}),
    ({"tax_exempt": True, "tax_certificate": "EX-7731"}, "customers:tax",
     {"tax_exempt": True, "tax_certificate": "EX-7731"}),
    ({"tax_certificate": "EX-7731"}, "customers:tax", {"tax_certificate": "EX-7731"}),
    ({"tax_exempt_until": "2027-12-31"}, "customers:tax", {"tax_exempt_until": "2027-12-31"}),
    ({"customer_group": "wholesale"}, "customers:pricing", {"customer_group": "wholesale"}),
]  # fmt: skip


def _customer_state(db: Database) -> tuple[int, int, list[tuple[Any, ...]]]:
    """How many customers and audit rows there are, and every customer's money fields and version."""
    with db.session() as session:
        customers = session.execute(sa.text(
            "SELECT number, credit_limit_minor, payment_terms, tax_exempt, tax_certificate, tax_exempt_until, "
            "customer_group, version FROM customers ORDER BY number")).all()  # fmt: skip
        audits = session.scalar(sa.text("SELECT count(*) FROM audit_log"))
        count = session.scalar(sa.text("SELECT count(*) FROM customers"))
    return int(count or 0), int(audits or 0), [tuple(row) for row in customers]


def test_the_agent_role_holds_none_of_the_money_scopes_and_the_manager_holds_them_all():
    assert ROLE_SCOPES["agent"] & {"customers:credit", "customers:tax", "customers:pricing"} == frozenset()
    assert {"customers:credit", "customers:tax", "customers:pricing"} <= ROLE_SCOPES["manager"]
    assert {"customers:credit", "customers:tax"} <= ROLE_SCOPES["accountant"]
    assert "customers:pricing" not in ROLE_SCOPES["accountant"]


def test_creating_a_customer_with_a_money_field_needs_its_scope_and_a_refusal_creates_nothing(
    client: TestClient, admin_db, db: Database
):
    # given a key that may write customers and holds every money scope but the one each field needs
    money_scopes = {"customers:credit", "customers:tax", "customers:pricing"}
    for fields, scope, _ in MONEY_FIELDS:
        lacking = make_api_key(admin_db, name=f"lacks {scope}", scopes=sorted(
            {"customers:read", "customers:write"} | money_scopes - {scope})).secret  # fmt: skip
        holding = make_api_key(admin_db, name=f"holds {scope}",
                               scopes=["customers:read", "customers:write", scope]).secret  # fmt: skip
        before = _customer_state(db)
        # when the key lacking the scope creates a customer with the field set
        refused = client.post("/api/v1/customers", json={**JANE, **fields}, headers=bearer(lacking))
        # then it is refused, naming the scope, and nothing was written
        assert refused.status_code == 403, (fields, refused.text)
        assert refused.json()["code"] == "forbidden"
        assert refused.json()["required_scope"] == scope
        assert _customer_state(db) == before
        # when a key holding the scope does the same, the customer is created with it
        allowed = client.post("/api/v1/customers", json={**JANE, **fields}, headers=bearer(holding))
        assert allowed.status_code == 201, (fields, allowed.text)
        for name, value in fields.items():
            assert allowed.json()[name] == value


@pytest.mark.parametrize("role", ["agent", "manager"])
def test_editing_a_money_field_needs_its_scope_is_audited_with_old_and_new_values_and_a_refusal_changes_nothing(
    client: TestClient, admin_db, admin_key: str, db: Database, role: str
):
    # given a customer, and a key with exactly the scopes of the role
    client.post("/api/v1/customers", json=JANE, headers=bearer(admin_key))
    key = make_api_key(admin_db, name=role, scopes=sorted(ROLE_SCOPES[role])).secret
    for fields, scope, audited in MONEY_FIELDS:
        current = client.get("/api/v1/customers/C-100001", headers=bearer(admin_key))
        before = _customer_state(db)
        # when the key sets the field
        response = client.patch("/api/v1/customers/C-100001", json=fields,
                                headers={**bearer(key), "If-Match": current.headers["etag"]})  # fmt: skip
        if role == "agent":
            # then an agent is refused, and the customer and the audit log are as they were
            assert response.status_code == 403, (fields, response.text)
            assert response.json()["required_scope"] == scope
            assert _customer_state(db) == before
            continue
        # then a manager's change is saved, and the audit log keeps the old and the new value
        assert response.status_code == 200, (fields, response.text)
        entry = client.get("/api/v1/audit", params={"object_id": "C-100001", "action": "customer.updated"},
                           headers=bearer(admin_key)).json()["items"][0]  # fmt: skip
        was = {"credit_limit_minor": None, **current.json()}  # the customer had no credit limit
        assert {name: entry["before"][name] for name in audited} == {name: was[name] for name in audited}
        assert {name: entry["after"][name] for name in audited} == audited
        # and the field is reset for the next one (by the admin)
        client.patch("/api/v1/customers/C-100001", json={k: current.json()[k] for k in fields if k in current.json()},
                     headers={**bearer(admin_key), "If-Match": response.headers["etag"]})  # fmt: skip


def test_a_new_customer_s_source_code_is_a_master_list_code_or_the_channel_s_default_never_typo_text(
    client: TestClient, admin_db, admin_key: str, db: Database
):
    from ordersmith.marketing import service as marketing
    from tests.builders import make_channel, make_source_code

    # given the master list holds FALL26 and WEBDEF, and the web shop maps unknown codes to WEBDEF
    make_source_code(admin_db, "FALL26")
    make_source_code(admin_db, "WEBDEF", campaign="WEB")
    make_channel(admin_db, code="shop", kind="web")
    marketing.set_channel_policy(admin_db, channel="shop", on_unknown="default", default_code="WEBDEF")
    staff, shop = (
        bearer(admin_key),
        bearer(make_api_key(admin_db, scopes=["customers:write"], channel="shop").secret),
    )
    # when staff create customers with a known code (any case) and with a typo, and the shop with a typo
    keyed = client.post("/api/v1/customers", json={**JANE, "source_code": " fall26 "}, headers=staff)
    typo = client.post("/api/v1/customers", json={**JANE, "emails": ["t@example.com"], "source_code": "TYPO-NOPE"},
                       headers=staff)  # fmt: skip
    defaulted = client.post("/api/v1/customers", json={**JANE, "emails": ["s@example.com"], "source_code": "nope"},
                            headers=shop)  # fmt: skip
    # then the code is kept as the master list spells it, the typo is refused naming the field (nothing made),
    # and the shop's customer keeps its default
    assert keyed.status_code == 201, keyed.text
    assert keyed.json()["source_code"] == "FALL26"
    assert typo.status_code == 422 and typo.json()["errors"][0]["field"] == "source_code"
    assert defaulted.status_code == 201, defaulted.text
    assert defaulted.json()["source_code"] == "WEBDEF"
    with db.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT source_code FROM customers ORDER BY number")).scalars().all()
    assert kept == ["FALL26", "WEBDEF"]
