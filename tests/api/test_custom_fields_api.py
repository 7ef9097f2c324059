"""Custom fields through the HTTP API (ADR 0051): admins define them; items, customers and orders carry typed,
validated values that read back and filter (`?custom.<name>=`); a bad value is a problem naming
`custom_fields.<name>` and writes nothing; a channel key sees values only on its own records; no input reaches the
database as a 500 (NUL, lengths, integer ranges), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordersmith.catalog import service as catalog
from ordersmith.customers import service as customers
from ordersmith.orders import service as orders
from ordersmith.platform import audit, custom_fields
from tests.api.conftest import bearer, login
from tests.builders import make_api_key, make_order_shop

ADDRESS = {"ref": "main", "name": "Ann Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
           "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip
ORDER = {"lines": [{"sku": "TEE", "quantity": 1}], "ship_tos": [ADDRESS]}
FIELDS = [
    {"kind": "item", "name": "season", "label": "Season", "type": "choice", "choices": ["spring", "autumn"]},
    {"kind": "item", "name": "fabric_gsm", "label": "Fabric weight", "type": "number"},
    {"kind": "item", "name": "launch_on", "label": "Launch", "type": "date"},
    {"kind": "customer", "name": "loyalty_id", "label": "Loyalty card", "type": "text", "max_length": 12},
    {"kind": "customer", "name": "vip", "label": "VIP", "type": "boolean"},
    {"kind": "order", "name": "gift_wrap", "label": "Gift wrap", "type": "boolean"},
    {"kind": "order", "name": "po_number", "label": "Buyer's PO", "type": "text"},
    {"kind": "order", "name": "deposit", "label": "Deposit", "type": "decimal"},
]


@pytest.fixture
def shop(admin_db, client: TestClient) -> dict[str, str]:  # type: ignore[no-untyped-def]
    make_order_shop(admin_db)
    admin = make_api_key(admin_db, name="admin").secret
    for field in FIELDS:
        response = client.post("/api/v1/custom-fields", json=field, headers=bearer(admin))
        assert response.status_code == 201, response.text
    scopes = ["orders:read", "orders:write", "customers:read", "customers:write", "catalog:read"]
    return {"admin": admin} | {
        code: make_api_key(admin_db, scopes=scopes, channel=code, name=code).secret
        for code in ("web", "phone")
    }


def _errors(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in response.json()["errors"]]


def test_only_an_admin_defines_fields_and_a_refusal_defines_nothing(client: TestClient, admin_db) -> None:
    # given a manager signed in to the console
    csrf = login(client, admin_db, role="manager")
    field = {"kind": "item", "name": "season", "label": "Season", "type": "text"}
    # when the manager defines a field, it is refused and nothing exists
    refused = client.post("/api/v1/custom-fields", json=field, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403
    assert custom_fields.list_definitions(admin_db) == []
    # but the manager may read the (empty) list
    assert client.get("/api/v1/custom-fields", headers={"X-CSRF-Token": csrf}).json() == []
    # an admin defines it, audited
    client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    csrf = login(client, admin_db, role="admin")
    made = client.post("/api/v1/custom-fields", json=field, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201 and made.json()["name"] == "season" and made.json()["max_length"] is None
    entries = audit.list_audit(admin_db, object_type="custom_field").items
    assert [(e.action, e.object_id) for e in entries] == [("custom_field.created", "item.season")]


def test_a_bad_definition_is_a_problem_naming_the_field(client: TestClient, admin_db) -> None:
    admin = make_api_key(admin_db, name="admin").secret
    cases = [
        ({"kind": "item", "name": "Bad Name", "label": "x", "type": "text"}, "name"),
        ({"kind": "item", "name": "x", "label": "x", "type": "colour"}, "type"),
        ({"kind": "invoice", "name": "x", "label": "x", "type": "text"}, "kind"),
        ({"kind": "item", "name": "x", "label": "x", "type": "choice"}, "choices"),
        ({"kind": "item", "name": "x", "label": "x", "type": "number", "choices": ["a"]}, "choices"),
        ({"kind": "item", "name": "x", "label": "x", "type": "number", "max_length": 5}, "max_length"),
        ({"kind": "item", "name": "x", "label": "x", "type": "text", "max_length": 5000}, "max_length"),
        ({"kind": "item", "name": "x", "label": "x", "type": "choice", "choices": ["a", "a"]}, "choices"),
    ]
    for body, field in cases:
        assert field in _errors(client.post("/api/v1/custom-fields", json=body, headers=bearer(admin))), body
    assert custom_fields.list_definitions(admin_db) == []
    # the same name twice on one kind is a conflict; on another kind it is another field
    body = {"kind": "item", "name": "code", "label": "Code", "type": "text"}
    assert client.post("/api/v1/custom-fields", json=body, headers=bearer(admin)).status_code == 201
    assert client.post("/api/v1/custom-fields", json=body, headers=bearer(admin)).status_code == 409
    other = client.post("/api/v1/custom-fields", json=body | {"kind": "order"}, headers=bearer(admin))
    assert other.status_code == 201


def test_an_item_carries_its_values_reads_them_back_and_is_found_by_them(
    client: TestClient, shop: dict[str, str], admin_db
) -> None:
    admin = bearer(shop["admin"])
    # when items are created with custom values
    for sku, season, gsm in (("COAT", "autumn", 380), ("SHORTS", "spring", 120), ("JACKET", "autumn", 300)):
        body = {"sku": sku, "name": sku.title(), "custom_fields": {"season": season, "fabric_gsm": gsm}}
        made = client.post("/api/v1/items", json=body, headers=admin)
        assert made.status_code == 201, made.text
        assert made.json()["custom_fields"] == {"season": season, "fabric_gsm": gsm}
    # then each reads back, and a filter finds them by value (typed: "380" is the number 380)
    assert client.get("/api/v1/items/COAT", headers=admin).json()["custom_fields"] == {
        "season": "autumn", "fabric_gsm": 380}  # fmt: skip
    autumn = client.get("/api/v1/items?custom.season=autumn", headers=admin).json()["items"]
    assert [i["sku"] for i in autumn] == ["COAT", "JACKET"]
    heavy = client.get("/api/v1/items?custom.season=autumn&custom.fabric_gsm=380", headers=admin).json()
    assert [i["sku"] for i in heavy["items"]] == ["COAT"]
    # a value is changed and another cleared through PUT, audited
    put = client.put("/api/v1/items/COAT/custom-fields", headers=admin,
                     json={"custom_fields": {"fabric_gsm": None, "launch_on": "2027-03-01"}})  # fmt: skip
    assert put.status_code == 200 and put.json()["custom_fields"] == {
        "season": "autumn",
        "launch_on": "2027-03-01",
    }
    assert [i["sku"] for i in client.get("/api/v1/items?custom.launch_on=2027-03-01", headers=admin).json()["items"]
            ] == ["COAT"]  # fmt: skip
    changed = audit.list_audit(admin_db, action="item.custom_fields_changed").items
    assert changed[0].before == {"custom_fields": {"season": "autumn", "fabric_gsm": 380}}


def test_bad_item_values_are_named_and_write_nothing(
    client: TestClient, shop: dict[str, str], admin_db
) -> None:
    admin = bearer(shop["admin"])
    cases = [
        ({"season": "winter"}, "custom_fields.season"),
        ({"fabric_gsm": "heavy"}, "custom_fields.fabric_gsm"),
        ({"fabric_gsm": 2**63}, "custom_fields.fabric_gsm"),
        ({"fabric_gsm": 1.5}, "custom_fields.fabric_gsm"),
        ({"launch_on": "2027-02-30"}, "custom_fields.launch_on"),
        ({"colour": "red"}, "custom_fields.colour"),
    ]
    for values, field in cases:
        response = client.post("/api/v1/items", json={"sku": "BAD", "name": "Bad", "custom_fields": values},
                               headers=admin)  # fmt: skip
        assert _errors(response) == [field], values
    assert catalog.find_items(admin_db, q="BAD") == []
    # nor does a bad PUT change the values already there
    client.post("/api/v1/items", json={"sku": "OK", "name": "Ok", "custom_fields": {"season": "spring"}},
                headers=admin)  # fmt: skip
    bad = client.put("/api/v1/items/OK/custom-fields", headers=admin,
                     json={"custom_fields": {"season": "autumn", "fabric_gsm": "x"}})  # fmt: skip
    assert _errors(bad) == ["custom_fields.fabric_gsm"]
    assert client.get("/api/v1/items/OK", headers=admin).json()["custom_fields"] == {"season": "spring"}
    # and a filter on an unknown field, or with a value of the wrong type, is named too
    assert _errors(client.get("/api/v1/items?custom.colour=red", headers=admin)) == ["custom.colour"]
    assert _errors(client.get("/api/v1/items?custom.fabric_gsm=x", headers=admin)) == ["custom.fabric_gsm"]


def test_a_required_field_is_required_on_new_records(
    client: TestClient, shop: dict[str, str], admin_db
) -> None:
    admin = bearer(shop["admin"])
    # given the PO number becomes required on orders
    patched = client.patch("/api/v1/custom-fields/order/po_number", json={"required": True}, headers=admin)
    assert patched.status_code == 200 and patched.json()["required"] is True
    # when an order comes without it: refused, naming it, nothing placed
    assert _errors(client.post("/api/v1/orders", json=ORDER, headers=bearer(shop["web"]))) == [
        "custom_fields.po_number"
    ]
    assert orders.list_orders(admin_db).items == []
    # with it, placed
    placed = client.post("/api/v1/orders", json=ORDER | {"custom_fields": {"po_number": "PO-77"}},
                         headers=bearer(shop["web"]))  # fmt: skip
    assert placed.status_code == 201 and placed.json()["custom_fields"] == {"po_number": "PO-77"}


def test_an_order_carries_values_from_intake_and_a_channel_sees_only_its_own(
    client: TestClient, shop: dict[str, str], admin_db
) -> None:
    web, phone = bearer(shop["web"]), bearer(shop["phone"])
    values = {"gift_wrap": True, "po_number": "PO-1", "deposit": "12.50"}
    # when the web shop places an order with custom values
    placed = client.post("/api/v1/orders", json=ORDER | {"custom_fields": values}, headers=web)
    assert placed.status_code == 201, placed.text
    assert placed.json()["custom_fields"] == {"gift_wrap": True, "po_number": "PO-1", "deposit": "12.5"}
    number = placed.json()["number"]
    client.post("/api/v1/orders", json=ORDER | {"custom_fields": {"gift_wrap": True}}, headers=phone)
    # then it reads back and is found by value — by its own channel only
    assert client.get(f"/api/v1/orders/{number}", headers=web).json()["custom_fields"]["po_number"] == "PO-1"
    assert [o["number"] for o in client.get("/api/v1/orders?custom.gift_wrap=true", headers=web).json()["items"]
            ] == [number]  # fmt: skip
    assert (
        len(client.get("/api/v1/orders?custom.gift_wrap=true", headers=bearer(shop["admin"])).json()["items"])
        == 2
    )
    assert client.get("/api/v1/orders?custom.po_number=PO-1", headers=phone).json()["items"] == []
    assert client.get(f"/api/v1/orders/{number}", headers=phone).status_code == 404
    # another channel cannot change them (404, as unknown), and nothing changes
    refused = client.put(f"/api/v1/orders/{number}/custom-fields", json={"custom_fields": {"po_number": "X"}},
                         headers=phone)  # fmt: skip
    assert refused.status_code == 404
    assert (
        orders.order_values(admin_db, order_id=orders.get_order(admin_db, ref=number).id)["po_number"]
        == "PO-1"
    )
    # its own channel can
    mine = client.put(f"/api/v1/orders/{number}/custom-fields", json={"custom_fields": {"po_number": "PO-2"}},
                      headers=web)  # fmt: skip
    assert mine.status_code == 200 and mine.json()["custom_fields"]["po_number"] == "PO-2"


def test_a_bad_order_value_places_nothing(client: TestClient, shop: dict[str, str], admin_db) -> None:
    web = bearer(shop["web"])
    for values, field in (({"deposit": "1e400"}, "custom_fields.deposit"), ({"gift_wrap": "maybe"},
                          "custom_fields.gift_wrap"), ({"nope": 1}, "custom_fields.nope")):  # fmt: skip
        assert _errors(
            client.post("/api/v1/orders", json=ORDER | {"custom_fields": values}, headers=web)
        ) == [field]
    assert orders.list_orders(admin_db).items == []


def test_a_customer_carries_values_and_a_channel_finds_only_its_own(
    client: TestClient, shop: dict[str, str], admin_db
) -> None:
    web, phone = bearer(shop["web"]), bearer(shop["phone"])
    made = client.post("/api/v1/customers", headers=web, json={
        "first_name": "Ann", "last_name": "Buyer", "custom_fields": {"loyalty_id": "L-1", "vip": True}})  # fmt: skip
    assert made.status_code == 201 and made.json()["custom_fields"] == {"loyalty_id": "L-1", "vip": True}
    number = made.json()["number"]
    client.post(
        "/api/v1/customers", headers=phone, json={"first_name": "Bob", "custom_fields": {"vip": True}}
    )
    # found by value: the web key finds its own VIP only; staff find both
    assert [
        h["number"] for h in client.get("/api/v1/customers?custom.vip=true", headers=web).json()["items"]
    ] == [number]
    assert (
        len(client.get("/api/v1/customers?custom.vip=yes", headers=bearer(shop["admin"])).json()["items"])
        == 2
    )
    assert [h["number"] for h in client.get("/api/v1/customers?q=ann&custom.vip=true",
                                            headers=web).json()["items"]] == [number]  # fmt: skip
    # PATCH with If-Match changes a value, checked like any other field
    etag = client.get(f"/api/v1/customers/{number}", headers=web).headers["ETag"]
    too_long = client.patch(f"/api/v1/customers/{number}", json={"custom_fields": {"loyalty_id": "L" * 13}},
                            headers=web | {"If-Match": etag})  # fmt: skip
    assert _errors(too_long) == ["custom_fields.loyalty_id"]
    patched = client.patch(f"/api/v1/customers/{number}", json={"custom_fields": {"loyalty_id": "L-2"}},
                           headers=web | {"If-Match": etag})  # fmt: skip
    assert patched.status_code == 200 and patched.json()["custom_fields"] == {
        "loyalty_id": "L-2",
        "vip": True,
    }
    # the phone channel cannot see or change them
    assert client.get(f"/api/v1/customers/{number}", headers=phone).status_code == 404
    refused = client.put(f"/api/v1/customers/{number}/custom-fields", json={"custom_fields": {"vip": False}},
                         headers=phone)  # fmt: skip
    assert refused.status_code == 404
    customer = customers.get_customer(admin_db, ref=number)
    assert custom_fields.read_values(admin_db, kind="customer", record_id=customer.id)["vip"] is True
    # anonymizing the customer removes the values
    customers.anonymize_customer(admin_db, ref=number)
    assert custom_fields.read_values(admin_db, kind="customer", record_id=customer.id) == {}


def test_a_removed_field_takes_its_values_and_filters_with_it(
    client: TestClient, shop: dict[str, str], admin_db
) -> None:
    admin = bearer(shop["admin"])
    client.post("/api/v1/items", json={"sku": "COAT", "name": "Coat", "custom_fields": {"season": "autumn"}},
                headers=admin)  # fmt: skip
    assert client.delete("/api/v1/custom-fields/item/season", headers=admin).status_code == 204
    assert client.get("/api/v1/items/COAT", headers=admin).json()["custom_fields"] == {}
    assert _errors(client.get("/api/v1/items?custom.season=autumn", headers=admin)) == ["custom.season"]


FUZZ_VALUES: list[Any] = [
    "\x00", "a\x00b", "x" * 256, "x" * 100_000, 2**63, -(2**63) - 1, 2**200, 10**30, -1.5, 1e308, float("inf"),
    "9" * 40, "1e400", "NaN", "-Infinity", "0x10", "\uff12\uff10", "\u0663", [], {}, [1], {"a": 1}, True,
    "2027-13-01", "99999-01-01", "🙂" * 300, "'; DROP TABLE items; --", "\ud800",
]  # fmt: skip


@pytest.mark.parametrize("kind", ["item", "order"])
def test_no_value_or_filter_is_a_server_error(
    client: TestClient, shop: dict[str, str], admin_db, kind: str
) -> None:
    # given every type of field on the kind
    admin = bearer(shop["admin"])
    for type_ in ("text", "number", "decimal", "date", "boolean", "choice"):
        extra = {"choices": ["a"]} if type_ == "choice" else {}
        client.post("/api/v1/custom-fields", headers=admin,
                    json={"kind": kind, "name": f"f_{type_}", "label": type_, "type": type_, **extra})  # fmt: skip
    rng = random.Random(20)
    values = FUZZ_VALUES + ["".join(chr(rng.randrange(1, 0x2FFFF)) for _ in range(rng.randrange(1, 600)))
                            for _ in range(10)]  # fmt: skip
    client.post("/api/v1/items", json={"sku": "FUZZ", "name": "Fuzz"}, headers=admin)
    web = bearer(shop["web"])
    placed = client.post("/api/v1/orders", json=ORDER, headers=web).json()["number"]
    target = (
        "/api/v1/items/FUZZ/custom-fields" if kind == "item" else f"/api/v1/orders/{placed}/custom-fields"
    )
    listing = "/api/v1/items" if kind == "item" else "/api/v1/orders"
    for value in values:
        for type_ in ("text", "number", "decimal", "date", "boolean", "choice"):
            # when the value is sent (raw JSON: a lone surrogate or infinity must not crash the encoder either)
            try:
                response = client.put(target, json={"custom_fields": {f"f_{type_}": value}}, headers=admin)
            except ValueError:
                continue  # not representable as JSON: the client cannot send it
            # then it is stored or refused with a problem naming it — never a 500
            assert response.status_code in (200, 422), (type_, repr(value)[:60], response.text)
            if response.status_code == 422:
                assert response.json()["errors"][0]["field"] in (f"custom_fields.f_{type_}", "custom_fields")
            if isinstance(value, str | int) and not isinstance(value, bool):
                found = client.get(listing, params={f"custom.f_{type_}": str(value)[:2000]}, headers=admin)
                assert found.status_code in (200, 422), (type_, repr(value)[:60], found.text)
