"""Vendors, purchase orders, receipts and replenishment through the HTTP API: roles, problem+json, and
refusals that change nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.builders import make_api_key


def _post(client: TestClient, key: str, url: str, body: dict | None = None, expect: int = 201) -> dict:
    response = client.post(url, json=body, headers=bearer(key))
    assert response.status_code == expect, response.text
    return response.json()


def _catalog(client: TestClient, key: str) -> None:
    for sku in ("TEE", "MUG"):
        _post(client, key, "/api/v1/items", {"sku": sku, "name": sku, "divisions": ["web"]})
    _post(client, key, "/api/v1/locations", {"code": "DC", "name": "Main DC", "kind": "warehouse"})
    _post(client, key, "/api/v1/vendors", {"code": "ACME", "name": "Acme Textiles", "lead_time_days": 7,
                                           "over_receipt_pct": 10, "email": "orders@acme.example"})  # fmt: skip
    for sku, cost in (("TEE", "4.20"), ("MUG", "2.05")):
        body = {
            "sku": sku,
            "vendor_sku": f"A-{sku}",
            "cost": {"amount": cost, "currency": "USD"},
            "pack_size": 2,
        }
        response = client.put("/api/v1/vendors/ACME/items", headers=bearer(key), json=body)
        assert response.status_code == 200, response.text


def test_a_po_is_drafted_by_the_warehouse_approved_by_a_manager_and_received_in_parts(
    client: TestClient, admin_db
):
    admin = make_api_key(admin_db, name="admin").secret
    _catalog(client, admin)
    warehouse = make_api_key(admin_db, name="wh", scopes=["purchasing:read", "purchasing:write"]).secret
    manager = make_api_key(admin_db, name="mgr", scopes=["purchasing:read", "purchasing:approve"]).secret
    lines = [{"sku": "TEE", "quantity": 10}, {"sku": "MUG", "quantity": 4}]
    po = _post(
        client, warehouse, "/api/v1/purchase-orders", {"vendor": "ACME", "location": "DC", "lines": lines}
    )
    number = po["number"]
    assert po["status"] == "draft" and po["total"] == {"amount": "50.20", "currency": "USD"}
    assert po["lines"][0]["unit_cost"] == {"amount": "4.20", "currency": "USD"}
    # the warehouse may not approve its own PO: 403, and the PO stays a draft
    refused = client.post(f"/api/v1/purchase-orders/{number}/approve", headers=bearer(warehouse))
    assert refused.status_code == 403
    assert (
        client.get(f"/api/v1/purchase-orders/{number}", headers=bearer(manager)).json()["status"] == "draft"
    )
    assert (
        _post(client, manager, f"/api/v1/purchase-orders/{number}/approve", expect=200)["status"]
        == "approved"
    )
    assert _post(client, warehouse, f"/api/v1/purchase-orders/{number}/send", expect=200)["status"] == "sent"
    part = _post(client, warehouse, f"/api/v1/purchase-orders/{number}/receipts",
                 {"lines": [{"sku": "TEE", "quantity": 6}], "reference": "ASN-77"})  # fmt: skip
    assert part["status"] == "partially_received" and part["lines"][0]["open"] == 4
    # 10 ordered + 10% = 11: another 6 would make 12
    over = client.post(f"/api/v1/purchase-orders/{number}/receipts", headers=bearer(warehouse),
                       json={"lines": [{"sku": "TEE", "quantity": 6}]})  # fmt: skip
    assert over.status_code == 409 and over.headers["content-type"] == "application/problem+json"
    assert over.json()["code"] == "over_receipt" and over.json()["allowed"] == 5
    stock = client.get("/api/v1/availability/TEE", headers=bearer(admin)).json()
    assert stock["on_hand"] == 6
    closed = _post(
        client, manager, f"/api/v1/purchase-orders/{number}/cancel", {"reason": "short shipped"}, 200
    )
    assert closed["status"] == "closed"
    again = client.post(f"/api/v1/purchase-orders/{number}/send", headers=bearer(warehouse))
    assert again.status_code == 409 and again.json()["state"] == "closed"
    listed = client.get(
        "/api/v1/purchase-orders", params={"status": "closed"}, headers=bearer(manager)
    ).json()
    assert [p["number"] for p in listed["items"]] == [number]


def test_bad_purchase_orders_name_the_field_and_create_nothing(client: TestClient, admin_key: str):
    _catalog(client, admin_key)
    cases = [
        ({"vendor": "ACME", "location": "DC", "lines": []}, 422, "lines"),
        ({"vendor": "ACME", "location": "DC", "lines": [{"sku": "TEE", "quantity": 0}]}, 422, "lines.0.quantity"),
        ({"vendor": "ACME", "location": "DC", "lines": [{"sku": "TEE", "quantity": 1,
          "unit_cost": {"amount": "1.00", "currency": "EUR"}}]}, 422, "lines.0.unit_cost.currency"),
        ({"vendor": "ACME", "location": "DC", "lines": [{"sku": "NOPE", "quantity": 1}]}, 404, None),
        ({"vendor": "NOBODY", "location": "DC", "lines": [{"sku": "TEE", "quantity": 1}]}, 404, None),
        ({"vendor": "ACME", "location": "DC", "lines": [{"sku": "TEE", "quantity": 1}], "rush": True}, 422, "rush"),
    ]  # fmt: skip
    for body, status, field in cases:
        response = client.post("/api/v1/purchase-orders", json=body, headers=bearer(admin_key))
        assert response.status_code == status, (body, response.text)
        if field:
            assert response.json()["errors"][0]["field"] == field, response.text
    assert client.get("/api/v1/purchase-orders", headers=bearer(admin_key)).json()["items"] == []


def test_replenishment_suggestions_become_draft_pos(client: TestClient, admin_key: str):
    _catalog(client, admin_key)
    for sku in ("TEE", "MUG"):
        rule = client.put(f"/api/v1/replenishment/rules/{sku}/DC", headers=bearer(admin_key),
                          json={"method": "min_max", "min_qty": 3, "max_qty": 9})  # fmt: skip
        assert rule.status_code == 200, rule.text
    bad = client.put("/api/v1/replenishment/rules/TEE/DC", headers=bearer(admin_key),
                     json={"method": "min_max", "min_qty": 5, "max_qty": 2})  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "max_qty"
    suggested = client.get("/api/v1/replenishment/suggestions", headers=bearer(admin_key)).json()
    assert [(s["sku"], s["vendor"], s["quantity"]) for s in suggested] == [
        ("MUG", "ACME", 10),
        ("TEE", "ACME", 10),
    ]
    orders = _post(client, admin_key, "/api/v1/replenishment/orders", {})
    assert [(po["vendor"], po["status"], len(po["lines"])) for po in orders] == [("ACME", "draft", 2)]
    assert client.get("/api/v1/replenishment/suggestions", headers=bearer(admin_key)).json() == []


def test_a_reorder_point_rule_can_be_saved_through_the_api(client: TestClient, admin_key: str):
    # given an item and a location
    _catalog(client, admin_key)
    # when a reorder-point rule is put with a minimum and no maximum
    response = client.put("/api/v1/replenishment/rules/MUG/DC", headers=bearer(admin_key),
                          json={"method": "reorder_point", "min_qty": 5, "reorder_qty": 20})  # fmt: skip
    # then it is saved
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["method"], body["min_qty"], body["max_qty"], body["reorder_qty"]) == (
        "reorder_point",
        5,
        0,
        20,
    )


def test_a_buyer_orders_chosen_suggestions_and_reads_a_pos_receipts(client: TestClient, admin_key: str):
    # given suggestions for TEE and MUG at the DC
    _catalog(client, admin_key)
    for sku in ("TEE", "MUG"):
        client.put(f"/api/v1/replenishment/rules/{sku}/DC", headers=bearer(admin_key),
                   json={"method": "min_max", "min_qty": 3, "max_qty": 9})  # fmt: skip
    # when one line names a SKU that is not suggested, nothing is made
    chosen = [{"sku": "TEE", "location": "DC"}, {"sku": "CAP", "location": "DC"}]
    refused = client.post("/api/v1/replenishment/orders", headers=bearer(admin_key), json={"lines": chosen})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "lines.1"
    assert client.get("/api/v1/purchase-orders", headers=bearer(admin_key)).json()["items"] == []
    # when the buyer orders only TEE, at 12 units
    [po] = _post(client, admin_key, "/api/v1/replenishment/orders",
                 {"lines": [{"sku": "TEE", "location": "DC", "quantity": 12}]})  # fmt: skip
    # then the draft holds 12 tees, and MUG is still suggested
    assert [(line["sku"], line["ordered"]) for line in po["lines"]] == [("TEE", 12)]
    suggested = client.get("/api/v1/replenishment/suggestions", headers=bearer(admin_key)).json()
    assert [s["sku"] for s in suggested] == ["MUG"]
    # and once approved, sent and received, its receipt is listed with its delivery note
    number = po["number"]
    for action in ("approve", "send"):
        _post(client, admin_key, f"/api/v1/purchase-orders/{number}/{action}", expect=200)
    assert client.get(f"/api/v1/purchase-orders/{number}/receipts", headers=bearer(admin_key)).json() == []
    _post(client, admin_key, f"/api/v1/purchase-orders/{number}/receipts",
          {"lines": [{"sku": "TEE", "quantity": 5}], "reference": "ASN-9"})  # fmt: skip
    [receipt] = client.get(f"/api/v1/purchase-orders/{number}/receipts", headers=bearer(admin_key)).json()
    assert (receipt["reference"], receipt["location"], receipt["lines"]) == (
        "ASN-9",
        "DC",
        [{"line": 1, "sku": "TEE", "quantity": 5}],
    )


def test_the_purchasing_screen_orders_only_the_ticked_suggestions(
    client: TestClient, admin_key: str, admin_db
):
    # given suggestions for TEE and MUG, and a manager signed in to the console
    from tests.api.conftest import login

    _catalog(client, admin_key)
    for sku in ("TEE", "MUG"):
        client.put(f"/api/v1/replenishment/rules/{sku}/DC", headers=bearer(admin_key),
                   json={"method": "min_max", "min_qty": 3, "max_qty": 9})  # fmt: skip
    csrf = login(client, admin_db, role="manager")
    page = client.get("/purchasing")
    assert page.status_code == 200 and 'value="TEE@DC"' in page.text and "ACME: all suggested" in page.text
    # when the buyer unticks MUG and orders 8 tees
    form = {"csrf_token": csrf, "pick": "TEE@DC", "quantity-TEE@DC": "8"}
    made = client.post("/purchasing/from-suggestions", data=form, follow_redirects=False)
    # then one draft for 8 tees is made, and a non-number quantity is refused with nothing made
    assert made.status_code == 303, made.text
    [po] = client.get("/api/v1/purchase-orders", headers=bearer(admin_key)).json()["items"]
    assert [(line["sku"], line["ordered"]) for line in po["lines"]] == [("TEE", 8)]
    bad = client.post("/purchasing/from-suggestions", data={"csrf_token": csrf, "pick": "MUG@DC",
                                                            "quantity-MUG@DC": "ten"})  # fmt: skip
    assert bad.status_code == 422 and "whole number" in bad.text
    assert len(client.get("/api/v1/purchase-orders", headers=bearer(admin_key)).json()["items"]) == 1
