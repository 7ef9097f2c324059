"""Items, locations, stock and reservations through the HTTP API, refusals included (each changes nothing)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import bearer


def _setup(client: TestClient, key: str) -> None:
    assert client.post("/api/v1/items", json={"sku": "TEE-M", "name": "Tee", "divisions": ["web"]},
                       headers=bearer(key)).status_code == 201  # fmt: skip
    assert client.post("/api/v1/locations", json={"code": "WH1", "name": "Main", "kind": "warehouse"},
                       headers=bearer(key)).status_code == 201  # fmt: skip
    response = client.post("/api/v1/stock/adjustments", json={"sku": "TEE-M", "location": "WH1", "quantity": 5,
                                                                "reason": "receipt"}, headers=bearer(key))  # fmt: skip
    assert response.status_code == 201 and response.json()["available"] == 5


def _availability(client: TestClient, key: str) -> dict:
    return client.get("/api/v1/availability/tee-m", params={"division": "web"}, headers=bearer(key)).json()


def test_reserve_release_and_read_availability(client: TestClient, admin_key: str):
    _setup(client, admin_key)
    held = client.post("/api/v1/reservations", json={"key": "cart-1", "sku": "TEE-M", "quantity": 2, "division": "web"},
                       headers=bearer(admin_key))  # fmt: skip
    assert held.status_code == 201
    assert held.json()["lines"] == [{"location": "WH1", "quantity": 2, "sku": "TEE-M"}]
    availability = _availability(client, admin_key)
    assert (availability["on_hand"], availability["reserved"], availability["available"]) == (5, 2, 3)
    assert availability["locations"][0]["location"] == "WH1"
    released = client.post("/api/v1/reservations/cart-1/release", headers=bearer(admin_key))
    assert released.json()["status"] == "released"
    assert _availability(client, admin_key)["available"] == 5
    assert client.get("/api/v1/stock/verify", headers=bearer(admin_key)).json() == []


def test_too_many_units_is_409_insufficient_stock_with_the_available_quantity(
    client: TestClient, admin_key: str
):
    _setup(client, admin_key)
    response = client.post("/api/v1/reservations", json={"key": "big", "sku": "TEE-M", "quantity": 6},
                           headers=bearer(admin_key))  # fmt: skip
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock" and response.json()["available"] == 5
    assert _availability(client, admin_key)["reserved"] == 0
    assert client.get("/api/v1/reservations/big", headers=bearer(admin_key)).status_code == 404


def test_bad_stock_requests_are_refused_and_change_nothing(client: TestClient, admin_key: str):
    _setup(client, admin_key)
    before = _availability(client, admin_key)
    cases = [
        ({"sku": "TEE-M", "location": "WH1", "quantity": -6}, 409, "negative_stock"),
        ({"sku": "NOPE", "location": "WH1", "quantity": 1}, 404, "not_found"),
        ({"sku": "TEE-M", "location": "NOWHERE", "quantity": 1}, 404, "not_found"),
        ({"sku": "TEE-M", "location": "WH1", "quantity": 0}, 422, "validation_failed"),
        ({"sku": "TEE-M", "location": "WH1", "quantity": 1, "reason": "magic"}, 422, "validation_failed"),
    ]
    for body, status, code in cases:
        response = client.post("/api/v1/stock/adjustments", json=body, headers=bearer(admin_key))
        assert (response.status_code, response.json()["code"]) == (status, code), body
    for body in ({"key": "k", "sku": "TEE-M", "quantity": 0}, {"key": "k", "sku": "TEE-M", "quantity": -1}):
        response = client.post("/api/v1/reservations", json=body, headers=bearer(admin_key))
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "quantity"
    assert _availability(client, admin_key) == before
    assert client.get("/api/v1/stock/verify", headers=bearer(admin_key)).json() == []


def test_a_duplicate_sku_or_location_is_409(client: TestClient, admin_key: str):
    _setup(client, admin_key)
    dup = client.post("/api/v1/items", json={"sku": "tee-m", "name": "Other"}, headers=bearer(admin_key))
    assert dup.status_code == 409 and dup.json()["code"] == "already_exists"
    loc = client.post("/api/v1/locations", json={"code": "WH1", "name": "x", "kind": "warehouse"},
                      headers=bearer(admin_key))  # fmt: skip
    assert loc.status_code == 409
    assert [i["sku"] for i in client.get("/api/v1/items", headers=bearer(admin_key)).json()["items"]] == [
        "TEE-M"
    ]


def test_a_new_division_can_be_added_once(client: TestClient, admin_key: str):
    created = client.post(
        "/api/v1/divisions", json={"code": "wholesale", "name": "Wholesale"}, headers=bearer(admin_key)
    )
    assert created.status_code == 201
    again = client.post(
        "/api/v1/divisions", json={"code": "wholesale", "name": "Again"}, headers=bearer(admin_key)
    )
    assert again.status_code == 409
    codes = [d["code"] for d in client.get("/api/v1/divisions", headers=bearer(admin_key)).json()]
    assert codes == ["catalog", "marketplace", "store", "web", "wholesale"]


def test_transfers_and_counts_through_the_api_refuse_without_changing_anything(
    client: TestClient, admin_key: str
):
    _setup(client, admin_key)
    assert client.post("/api/v1/locations", json={"code": "STORE", "name": "Store", "kind": "store"},
                       headers=bearer(admin_key)).status_code == 201  # fmt: skip
    moved = client.post("/api/v1/stock/transfers", json={"sku": "TEE-M", "from_location": "WH1",
                        "to_location": "STORE", "quantity": 2}, headers=bearer(admin_key))  # fmt: skip
    assert moved.status_code == 201
    before = _availability(client, admin_key)
    too_many = client.post("/api/v1/stock/transfers", json={"sku": "TEE-M", "from_location": "WH1",
                           "to_location": "STORE", "quantity": 4}, headers=bearer(admin_key))  # fmt: skip
    assert too_many.status_code == 409 and too_many.json()["available"] == 3
    duplicate = client.post("/api/v1/stock/counts", json={"location": "WH1", "lines": [
        {"sku": "TEE-M", "counted": 1}, {"sku": "tee-m", "counted": 2}]}, headers=bearer(admin_key))  # fmt: skip
    assert duplicate.status_code == 422 and duplicate.json()["errors"][0]["field"] == "lines"
    assert _availability(client, admin_key) == before
    counted = client.post("/api/v1/stock/counts", json={"location": "WH1", "lines": [{"sku": "TEE-M", "counted": 1}]},
                          headers=bearer(admin_key))  # fmt: skip
    assert counted.status_code == 201 and counted.json() == [
        {"sku": "TEE-M", "counted": 1, "on_hand_before": 3, "variance": -2}
    ]
    assert client.get("/api/v1/stock/verify", headers=bearer(admin_key)).json() == []


MONOGRAM = {
    "code": "towel-monogram",
    "name": "Towel monogram",
    "non_returnable": True,
    "fields": [
        {"name": "initials", "kind": "text", "label": "Initials", "required": True, "max_length": 3,
         "characters": "monogram", "per_character": "2.50"},
        {"name": "thread", "kind": "thread_colour", "label": "Thread colour", "options": ["Navy", "Gold"],
         "surcharge": "1.00"},
    ],
}  # fmt: skip


def test_a_personalization_template_prices_and_checks_customer_values(client: TestClient, admin_key: str):
    created = client.post("/api/v1/personalization-templates", json=MONOGRAM, headers=bearer(admin_key))
    assert created.status_code == 201, created.text
    assert created.json()["fields"][0]["per_character"] == "2.50"
    quote = client.post("/api/v1/personalization-templates/towel-monogram/quote",
                        json={"values": {"initials": "AB", "thread": "Gold"}}, headers=bearer(admin_key))  # fmt: skip
    assert quote.json() == {"values": {"initials": "AB", "thread": "Gold"},
                            "surcharge": {"amount": "6.00", "currency": "USD"}, "non_returnable": True}  # fmt: skip
    bad = client.post("/api/v1/personalization-templates/towel-monogram/quote",
                      json={"values": {"initials": "abcd", "thread": "Pink"}}, headers=bearer(admin_key))  # fmt: skip
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["values.initials", "values.thread"]


def test_a_template_that_makes_no_sense_is_refused_and_not_stored(client: TestClient, admin_key: str):
    broken = {
        **MONOGRAM,
        "fields": [{"name": "initials", "kind": "text", "label": "Initials"}],
    }  # no max_length
    response = client.post("/api/v1/personalization-templates", json=broken, headers=bearer(admin_key))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "fields"
    assert (
        client.get("/api/v1/personalization-templates/towel-monogram", headers=bearer(admin_key)).status_code
        == 404
    )


def test_styles_through_the_api(client: TestClient, admin_key: str):
    body = {
        "code": "CHINO",
        "name": "Chino",
        "axes": [{"name": "waist", "values": ["30", "32"]}],
        "divisions": ["web"],
    }
    created = client.post("/api/v1/styles", json=body, headers=bearer(admin_key))
    assert created.status_code == 201
    assert [v["sku"] for v in created.json()["variants"]] == ["CHINO-30", "CHINO-32"]
    grown = client.post(
        "/api/v1/styles/chino/axes/waist/values", json={"value": "34"}, headers=bearer(admin_key)
    )
    assert grown.status_code == 201 and len(grown.json()["variants"]) == 3
    discontinued = client.post(
        "/api/v1/items/CHINO-30/status", json={"status": "discontinued"}, headers=bearer(admin_key)
    )
    assert discontinued.json()["status"] == "discontinued" and discontinued.json()["variant"] == {
        "waist": "30"
    }
    again = client.post("/api/v1/styles", json=body, headers=bearer(admin_key))
    assert again.status_code == 409
    assert len(client.get("/api/v1/items", headers=bearer(admin_key)).json()["items"]) == 3


def test_an_item_names_its_personalization_template(client: TestClient, admin_key: str):
    assert (
        client.post("/api/v1/personalization-templates", json=MONOGRAM, headers=bearer(admin_key)).status_code
        == 201
    )
    item = {"sku": "TOWEL-BATH", "name": "Bath towel", "personalization_template": "towel-monogram"}
    created = client.post("/api/v1/items", json=item, headers=bearer(admin_key))
    assert created.status_code == 201 and created.json()["personalization_template"] == "towel-monogram"
    unknown = client.post("/api/v1/items", json={**item, "sku": "TOWEL-HAND", "personalization_template": "nope"},
                          headers=bearer(admin_key))  # fmt: skip
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "personalization_template"
    assert client.get("/api/v1/items/TOWEL-HAND", headers=bearer(admin_key)).status_code == 404


def test_division_pools_are_set_per_level_and_shape_availability(client: TestClient, admin_key: str):
    _setup(client, admin_key)
    url = "/api/v1/stock/levels/TEE-M/WH1"
    settings = {"safety_stock": 1, "pools": [{"division": "catalog", "ring_fence": 2},
                                             {"division": "web", "buffer": 1}]}  # fmt: skip
    response = client.put(url, json=settings, headers=bearer(admin_key))
    assert response.status_code == 200, response.text
    level = response.json()["locations"][0]
    assert level["safety_stock"] == 1
    assert level["pools"] == [{"division": "catalog", "ring_fence": 2, "buffer": 0, "reserved": 0},
                              {"division": "web", "ring_fence": 0, "buffer": 1, "reserved": 0}]  # fmt: skip
    assert _availability(client, admin_key)["available"] == 5 - 1 - 2 - 1
    catalog = client.get(
        "/api/v1/availability/TEE-M", params={"division": "catalog"}, headers=bearer(admin_key)
    )
    assert catalog.json()["available"] == 5 - 1
    # refusals name the field and change nothing
    for body, field in [
        ({"pools": [{"division": "moon", "ring_fence": 1}]}, "pools.0.division"),
        ({"pools": [{"division": "web", "ring_fence": -1}]}, "pools.0.ring_fence"),
        ({"safety_stock": -1}, "safety_stock"),
    ]:
        refused = client.put(url, json=body, headers=bearer(admin_key))
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, refused.text
    assert client.put("/api/v1/stock/levels/NOPE/WH1", json={}, headers=bearer(admin_key)).status_code == 404
    assert _availability(client, admin_key)["available"] == 1
