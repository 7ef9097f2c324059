"""The fulfillment API through the ASGI app, on SQLite and PostgreSQL: a shipment from wave to ship with documents
and labels, a channel key sees only its own channel's shipments, roles without the scope are refused and change
nothing, bad input is a problem naming the field and changes nothing, and a forged carrier webhook is a 401."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordersmith.fulfillment import service as fulfillment
from ordersmith.orders import service as orders
from ordersmith.platform.access import CHANNEL_KEY_SCOPES
from ordersmith.platform.settings import Settings
from tests.api.conftest import bearer
from tests.builders import channel, make_api_key, make_order_shop, order_request

DOCK = {"name": "Shipping dock", "line1": "200 Harbor Way", "city": "Boston", "region": "MA",
        "postal_code": "02110", "country": "US"}  # fmt: skip


@pytest.fixture
def floor(client: TestClient, admin_db: Any, admin_key: str, settings: Settings) -> dict[str, Any]:
    fulfillment.setup_fulfillment(admin_db.db, settings)
    make_order_shop(admin_db)
    placed = {}
    for code in ("web", "phone"):
        order = orders.place_order(
            admin_db, channel=channel(admin_db, code), request=order_request(("TEE", 1))
        )
        fulfillment.sync_order(admin_db, order_id=order.order.id)
        placed[code] = order.order
    return {"uow": admin_db, "admin": admin_key, "orders": placed}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return (
        response.json() if response.headers.get("content-type", "").startswith("application/json") else None
    )


def test_a_shipment_goes_from_wave_to_ship_with_its_documents_and_label(client: TestClient, floor):
    admin = bearer(floor["admin"])
    _ok(client.put("/api/v1/locations/EAST/dock", json={"address": DOCK}, headers=admin))
    wave = _ok(client.post("/api/v1/waves", json={"location": "EAST", "max_orders": 10}, headers=admin), 201)
    assert wave["shipments"] == 2
    (stretch,) = _ok(client.get(f"/api/v1/waves/{wave['number']}/pick-lists", headers=admin))
    assert [(s["sku"], s["quantity"]) for s in stretch["stops"]] == [("TEE", 2)]
    pdf = client.get(f"/api/v1/waves/{wave['number']}/pick-lists.pdf", headers=admin)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    number = f"{floor['orders']['web'].number}-1"
    _ok(client.post(f"/api/v1/shipments/{number}/pick", json={}, headers=admin))
    _ok(client.post(f"/api/v1/shipments/{number}/scan", json={"code": "TEE"}, headers=admin))
    _ok(
        client.post(f"/api/v1/shipments/{number}/pack", json={"packages": [{"weight_g": 300}]}, headers=admin)
    )
    quote = _ok(client.post("/api/v1/rates", json={"shipment": number}, headers=admin))
    assert quote["chosen"]["service"] == "ground" and quote["chosen"]["amount"]["currency"] == "USD"
    labelled = _ok(client.post(f"/api/v1/shipments/{number}/labels", json={}, headers=admin))
    label = client.get(f"/api/v1/shipments/{number}/documents/label", headers=admin)
    assert label.headers["content-type"] == "application/pdf"
    slip = client.get(f"/api/v1/shipments/{number}/documents/packing-slip", headers=admin)
    assert slip.status_code == 200 and slip.content.startswith(b"%PDF")
    shipped = _ok(client.post(f"/api/v1/shipments/{number}/ship", json={}, headers=admin))
    assert shipped["status"] == "shipped" and shipped["tracking_number"] == labelled["tracking_number"]
    again = client.post(f"/api/v1/shipments/{number}/ship", json={}, headers=admin)
    assert (again.status_code, again.json()["code"], again.json()["state"]) == (
        409,
        "illegal_transition",
        "shipped",
    )


def test_a_channel_key_sees_its_own_shipments_and_not_another_channel_s(client: TestClient, floor):
    web = make_api_key(floor["uow"], scopes=sorted(CHANNEL_KEY_SCOPES), channel="web", name="web").secret
    mine = _ok(client.get("/api/v1/shipments", headers=bearer(web)))["items"]
    assert [s["order_number"] for s in mine] == [floor["orders"]["web"].number]
    theirs = f"{floor['orders']['phone'].number}-1"
    unknown = "999999-1"
    a = client.get(f"/api/v1/shipments/{theirs}", headers=bearer(web))
    b = client.get(f"/api/v1/shipments/{unknown}", headers=bearer(web))
    assert (a.status_code, b.status_code) == (404, 404)
    assert a.json()["detail"].replace(theirs, "x") == b.json()["detail"].replace(unknown, "x")
    # and it may not build waves or read them
    assert client.post("/api/v1/waves", json={"location": "EAST"}, headers=bearer(web)).status_code == 403
    assert client.get("/api/v1/waves", headers=bearer(web)).status_code == 403


def test_a_role_without_the_scope_is_refused_and_nothing_changes(client: TestClient, floor):
    agent = make_api_key(floor["uow"], scopes=["fulfillment:read", "orders:read"], name="agent").secret
    number = f"{floor['orders']['web'].number}-1"
    assert client.post(f"/api/v1/shipments/{number}/pick", json={}, headers=bearer(agent)).status_code == 403
    assert (
        client.post(f"/api/v1/shipments/{number}/labels", json={}, headers=bearer(agent)).status_code == 403
    )
    assert fulfillment.get_shipment(floor["uow"], ref=number).status == "pending"


def test_bad_input_names_the_field_and_changes_nothing(client: TestClient, floor):
    admin = bearer(floor["admin"])
    number = f"{floor['orders']['web'].number}-1"
    _ok(client.post(f"/api/v1/shipments/{number}/pick", json={}, headers=admin))
    weightless = client.post(
        f"/api/v1/shipments/{number}/pack", json={"packages": [{"weight_g": 0}]}, headers=admin
    )
    assert weightless.status_code == 422 and weightless.json()["errors"][0]["field"] == "packages.0.weight_g"
    too_many = client.post(f"/api/v1/shipments/{number}/pick", json={"found": {"1": 5}}, headers=admin)
    assert too_many.status_code == 409  # picked already: the state is checked first
    wave = client.post("/api/v1/waves", json={"location": "EAST", "max_orders": 0}, headers=admin)
    assert wave.status_code == 422 and wave.json()["errors"][0]["field"] == "max_orders"
    nul = client.post(f"/api/v1/shipments/{number}/scan", json={"code": "TE\u0000E"}, headers=admin)
    assert nul.status_code in (400, 422)
    after = fulfillment.get_shipment(floor["uow"], ref=number)
    assert (after.status, after.packages, [line.packed for line in after.lines]) == ("picked", [], [0])


def test_a_forged_carrier_webhook_is_refused_and_changes_nothing(client: TestClient, floor):
    body = b'{"id":"x","type":"tracker.updated","data":{"tracking_number":"SBX1","events":[]}}'
    forged = client.post(
        "/api/v1/carrier-webhooks/sandbox", content=body, headers={"Sandbox-Signature": "t=1,v1=0"}
    )
    assert forged.status_code == 401 and forged.json()["code"] == "carrier_signature_invalid"
    assert client.post("/api/v1/carrier-webhooks/nope", content=body).status_code == 404
