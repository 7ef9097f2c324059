"""Orders through the HTTP API: capture with its explanation, refusals as problem+json that change nothing,
idempotent intake, object-level authorization of channel keys, holds by role, edits with If-Match, returns."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordersmith.inventory import service as inventory
from ordersmith.orders import service as orders
from tests.api.conftest import bearer, login
from tests.builders import make_api_key, make_order_shop

ADDRESS = {"ref": "main", "name": "Ann Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
           "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip
ORDER = {"lines": [{"sku": "TEE", "quantity": 2}, {"sku": "MUG", "quantity": 1}], "ship_tos": [ADDRESS]}

ORDER_SCOPES = ["orders:read", "orders:write", "returns:write", "customers:read"]


@pytest.fixture
def keys(admin_db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    make_order_shop(admin_db)
    return {code: make_api_key(admin_db, scopes=ORDER_SCOPES, channel=code, name=code).secret
            for code in ("web", "phone", "amazon")}  # fmt: skip


def _post(client: TestClient, key: str, url: str, body: dict[str, Any], expect: int = 201,
          headers: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    response = client.post(url, json=body, headers=bearer(key) | (headers or {}))
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def _tees(admin_db) -> int:  # type: ignore[no-untyped-def]
    return inventory.get_availability(admin_db, sku="TEE", division="web").available


def test_a_channel_places_an_order_and_gets_it_back_priced_and_reserved(
    client: TestClient, keys, admin_db
) -> None:
    # when the web shop's key posts an order
    order = _post(client, keys["web"], "/api/v1/orders", ORDER)
    # then it is the web channel's, priced with its explanation, each line held
    assert order["channel"] == "web" and order["status"] == "released"
    assert order["total"] == {"amount": "60.00", "currency": "USD"}  # 50 + 5 shipping + 10 % tax on goods
    assert {a["kind"] for a in order["pricing"]["adjustments"]} == {"price", "shipping", "tax"}
    assert [(line["sku"], line["state"], line["allocations"][0]["location"]) for line in order["lines"]] == [
        ("TEE", "reserved", "WEST"),
        ("MUG", "reserved", "WEST"),
    ]
    # and it reads back by number, with its ETag
    got = client.get(f"/api/v1/orders/{order['number']}", headers=bearer(keys["web"]))
    assert got.status_code == 200 and got.headers["ETag"] == '"1"' and got.json()["id"] == order["id"]


def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(
    client: TestClient, keys, admin_db
) -> None:
    cases = [
        ({**ORDER, "lines": [{"sku": "NOPE", "quantity": 1}]}, "lines.0.sku"),
        ({**ORDER, "lines": [{"sku": "TEE", "quantity": 0}]}, "lines.0.quantity"),
        ({**ORDER, "lines": [{"sku": "TEE", "quantity": 1, "unit_price": "0.01"}]}, "lines.unit_price"),
        ({**ORDER, "total": {"amount": "1.00", "currency": "USD"}}, "total"),
        ({**ORDER, "customer": "C-999999"}, "customer"),
        ({**ORDER, "lines": [{"sku": "TEE", "quantity": 1, "ship_to": "elsewhere"}]}, "lines.0.ship_to"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/orders", json=body, headers=bearer(keys["web"]))
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in response.json()["errors"]], (field, response.json())
    # nothing was written or held
    assert orders.list_orders(admin_db).items == [] and _tees(admin_db) == 20


def test_no_stock_for_a_line_is_a_409_naming_it(client: TestClient, keys, admin_db) -> None:
    body = {**ORDER, "lines": [{"sku": "MUG", "quantity": 1}, {"sku": "TEE", "quantity": 99}]}
    response = client.post("/api/v1/orders", json=body, headers=bearer(keys["web"]))
    assert response.status_code == 409 and response.json()["code"] == "insufficient_stock"
    assert response.json()["lines"] == [{"line": 2, "sku": "TEE", "requested": 99, "available": 20}]
    assert inventory.get_availability(admin_db, sku="MUG", division="web").available == 20


def test_a_channel_order_sent_again_answers_with_the_first(client: TestClient, keys, admin_db) -> None:
    body = {**ORDER, "external_id": "AMZ-1"}
    first = _post(client, keys["amazon"], "/api/v1/orders", body)
    again = client.post("/api/v1/orders", json=body, headers=bearer(keys["amazon"]))
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    # and with an Idempotency-Key the first response is replayed
    keyed = _post(client, keys["web"], "/api/v1/orders", ORDER, headers={"Idempotency-Key": "k-1"})
    replay = client.post(
        "/api/v1/orders", json=ORDER, headers=bearer(keys["web"]) | {"Idempotency-Key": "k-1"}
    )
    assert replay.status_code == 201 and replay.json()["id"] == keyed["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(orders.list_orders(admin_db).items) == 2 and _tees(admin_db) == 16


def test_a_channel_key_cannot_write_or_read_another_channels_orders(
    client: TestClient, keys, admin_db
) -> None:
    # a web key naming the phone channel is refused, and nothing is written
    refused = client.post("/api/v1/orders", json={**ORDER, "channel": "phone"}, headers=bearer(keys["web"]))
    assert refused.status_code == 403
    assert orders.list_orders(admin_db).items == [] and _tees(admin_db) == 20
    # a phone order is invisible to the web key: read, list, cancel, hold, timeline all refused
    phone = _post(client, keys["phone"], "/api/v1/orders", ORDER)
    number = phone["number"]
    assert client.get(f"/api/v1/orders/{number}", headers=bearer(keys["web"])).status_code == 404
    assert client.get(f"/api/v1/orders/{number}/timeline", headers=bearer(keys["web"])).status_code == 404
    cancel = client.post(f"/api/v1/orders/{number}/cancel", json={"reason": "x"}, headers=bearer(keys["web"]))
    assert cancel.status_code == 404
    listed = client.get("/api/v1/orders", headers=bearer(keys["web"])).json()
    assert listed["items"] == []
    assert client.get("/api/v1/orders?channel=phone", headers=bearer(keys["web"])).json()["items"] == []
    # and the refused cancel changed nothing
    assert orders.get_order(admin_db, ref=number).status == "released" and _tees(admin_db) == 18


def test_holds_are_placed_by_agents_and_released_only_by_managers(client: TestClient, keys, admin_db) -> None:
    order = _post(client, keys["phone"], "/api/v1/orders", ORDER)
    csrf = login(client, admin_db, role="agent")
    headers = {"X-CSRF-Token": csrf}
    held = client.post(
        f"/api/v1/orders/{order['number']}/hold", json={"note": "check the address"}, headers=headers
    )
    assert held.status_code == 200 and held.json()["status"] == "on_hold"
    queue = client.get("/api/v1/holds", headers=headers).json()
    assert [(h["order_number"], h["reason"]) for h in queue] == [(order["number"], "manual")]
    # an agent cannot release or cancel a held order
    release = client.post(f"/api/v1/orders/{order['number']}/release", json={"note": "ok"}, headers=headers)
    assert release.status_code == 403
    cancel = client.post(f"/api/v1/orders/{order['number']}/cancel", json={"reason": "x"}, headers=headers)
    assert cancel.status_code == 403
    assert orders.get_order(admin_db, ref=order["number"]).status == "on_hold" and _tees(admin_db) == 18
    # a manager can
    client.post("/api/v1/auth/logout", headers=headers)
    manager = {"X-CSRF-Token": login(client, admin_db, role="manager")}
    released = client.post(
        f"/api/v1/orders/{order['number']}/release", json={"note": "verified"}, headers=manager
    )
    assert released.status_code == 200 and released.json()["status"] == "released"


def test_an_edit_needs_if_match_and_refuses_a_stale_version(client: TestClient, keys, admin_db) -> None:
    order = _post(client, keys["phone"], "/api/v1/orders", {**ORDER, "release": False})
    url = f"/api/v1/orders/{order['number']}"
    patch = {"lines": [{"line_no": 1, "quantity": 4}]}
    assert client.patch(url, json=patch, headers=bearer(keys["phone"])).status_code == 428
    assert orders.get_order(admin_db, ref=order["number"]).version == 1 and _tees(admin_db) == 18  # unchanged
    ok = client.patch(url, json=patch, headers=bearer(keys["phone"]) | {"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["lines"][0]["quantity"] == 4 and ok.headers["ETag"] == '"2"'
    stale = client.patch(url, json={"lines": [{"line_no": 1, "quantity": 1}]},
                         headers=bearer(keys["phone"]) | {"If-Match": '"1"'})  # fmt: skip
    assert stale.status_code == 412 and _tees(admin_db) == 16
    priced = client.patch(url, json={"lines": [{"line_no": 1, "price": "1.00"}]},
                          headers=bearer(keys["phone"]) | {"If-Match": '"2"'})  # fmt: skip
    assert priced.status_code == 422
    after = orders.get_order(admin_db, ref=order["number"])
    assert (after.version, after.lines[0].quantity, _tees(admin_db)) == (
        2,
        4,
        16,
    )  # the refused edit changed nothing


def test_a_quote_prices_without_placing(client: TestClient, keys, admin_db) -> None:
    quote = _post(client, keys["web"], "/api/v1/orders/quote", ORDER, expect=200)
    assert quote["total"] == {"amount": "60.00", "currency": "USD"}
    assert orders.list_orders(admin_db).items == [] and _tees(admin_db) == 20


def test_a_return_is_authorized_and_received_by_the_warehouse(
    client: TestClient, keys, admin_db, admin_key
) -> None:
    order = _post(client, keys["web"], "/api/v1/orders", ORDER)
    _post(client, admin_key, f"/api/v1/orders/{order['number']}/shipments", {}, expect=200)
    rma = _post(client, keys["web"], f"/api/v1/orders/{order['number']}/returns",
                {"lines": [{"line_no": 1, "quantity": 1, "reason": "wrong_size"}]})  # fmt: skip
    assert rma["status"] == "authorized" and rma["refund_due"] == {"amount": "22.00", "currency": "USD"}
    # the channel's key may not receive goods
    refused = client.post(f"/api/v1/returns/{rma['number']}/receive", json={"location": "EAST"},
                          headers=bearer(keys["web"]))  # fmt: skip
    assert refused.status_code == 403
    assert (
        orders.get_return(admin_db, ref=rma["number"]).status == "authorized"
    )  # nothing received, nothing restocked
    assert inventory.get_availability(admin_db, sku="TEE").on_hand == 21
    received = _post(
        client, admin_key, f"/api/v1/returns/{rma['number']}/receive", {"location": "EAST"}, expect=200
    )
    assert received["status"] == "received" and received["lines"][0]["disposition"] == "restock"
    timeline = client.get(f"/api/v1/orders/{order['number']}/timeline", headers=bearer(keys["web"])).json()
    assert "return.received" in [e["kind"] for e in timeline]


def test_a_backorder_is_released_in_real_time_when_stock_arrives(
    client: TestClient, keys, admin_db, admin_key
) -> None:
    # given an order for 5 lamps with 2 in stock: 3 wait
    order = _post(client, keys["web"], "/api/v1/orders", {**ORDER, "lines": [{"sku": "LAMP", "quantity": 5}]})
    assert order["lines"][0]["backordered"] == 3
    # when 3 lamps are received (an adjustment through the API)
    _post(client, admin_key, "/api/v1/stock/adjustments",
          {"sku": "LAMP", "location": "WEST", "quantity": 3, "reason": "receipt"}, expect=201)  # fmt: skip
    # then, with no one asking, the relay gives them to the order
    import time

    deadline = time.monotonic() + 10
    line: dict[str, Any] = {}
    while time.monotonic() < deadline:
        line = client.get(f"/api/v1/orders/{order['number']}", headers=bearer(keys["web"])).json()["lines"][0]
        if line["backordered"] == 0:
            break
        time.sleep(0.05)
    assert (line["reserved"], line["backordered"], line["state"]) == (5, 0, "reserved")
    assert [a["location"] for a in line["allocations"]] == ["EAST", "WEST"]
