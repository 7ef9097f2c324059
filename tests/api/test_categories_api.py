"""Merchandise categories through the HTTP API: the tree, moving a subtree, items and styles in categories, and the
`purchased_category` segment rule; every refusal is a problem naming the field and changes nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import bearer
from tests.builders import make_api_key


def _tree(client: TestClient, key: str) -> list[tuple[str, str | None, str, bool]]:
    found = client.get("/api/v1/categories", headers=bearer(key))
    assert found.status_code == 200
    return [(c["code"], c["parent"], c["path"], c["active"]) for c in found.json()]


def _add(client: TestClient, key: str, code: str, parent: str | None = None) -> dict:
    response = client.post(
        "/api/v1/categories", json={"code": code, "name": code.title(), "parent": parent}, headers=bearer(key)
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_tree_is_built_moved_and_read_with_etags(client: TestClient, admin_key: str):
    # given
    _add(client, admin_key, "apparel")
    tops = _add(client, admin_key, "tops", parent="APPAREL")
    _add(client, admin_key, "TEES", parent="tops")
    _add(client, admin_key, "HOME")
    assert (tops["code"], tops["path"], tops["depth"], tops["version"]) == ("TOPS", "APPAREL/TOPS", 1, 1)
    # when TOPS moves under HOME, If-Match its ETag
    etag = client.get("/api/v1/categories/tops", headers=bearer(admin_key)).headers["ETag"]
    moved = client.patch(
        "/api/v1/categories/TOPS", json={"parent": "HOME"}, headers={**bearer(admin_key), "If-Match": etag}
    )
    # then the subtree moved and the ETag moved on
    assert moved.status_code == 200 and moved.headers["ETag"] == '"2"'
    assert _tree(client, admin_key) == [
        ("APPAREL", None, "APPAREL", True),
        ("HOME", None, "HOME", True),
        ("TOPS", "HOME", "HOME/TOPS", True),
        ("TEES", "TOPS", "HOME/TOPS/TEES", True),
    ]
    # and to the top level with an explicit null; a PATCH without parent leaves it where it is
    top = client.patch("/api/v1/categories/TEES", json={"parent": None}, headers=bearer(admin_key)).json()
    assert (top["parent"], top["path"]) == (None, "TEES")
    renamed = client.patch("/api/v1/categories/TOPS", json={"name": "Tops"}, headers=bearer(admin_key)).json()
    assert (renamed["name"], renamed["path"]) == ("Tops", "HOME/TOPS")


def test_refused_category_requests_name_the_field_and_change_nothing(client: TestClient, admin_key: str):
    # given
    _add(client, admin_key, "HOME")
    _add(client, admin_key, "KITCHEN", parent="HOME")
    before = _tree(client, admin_key)
    headers = bearer(admin_key)
    # when / then
    cases = [
        (client.post, "/api/v1/categories", {"code": "a b", "name": "Space"}, 422, "code"),
        (
            client.post,
            "/api/v1/categories",
            {"code": "GARDEN", "name": "Garden", "parent": "NOPE"},
            422,
            "parent",
        ),
        (client.post, "/api/v1/categories", {"code": "GARDEN", "name": ""}, 422, "name"),
        (client.post, "/api/v1/categories", {"code": "kitchen", "name": "Again"}, 409, None),
        (client.patch, "/api/v1/categories/HOME", {"parent": "KITCHEN"}, 422, "parent"),
        (client.patch, "/api/v1/categories/HOME", {"parent": "HOME\u0000"}, 422, "parent"),
        (client.patch, "/api/v1/categories/NOPE", {"name": "Nope"}, 404, None),
    ]
    for call, path, body, status, field in cases:
        response = call(path, json=body, headers=headers)
        assert response.status_code == status, (path, body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        if field:
            assert response.json()["errors"][0]["field"] == field, response.json()
    stale = client.patch(
        "/api/v1/categories/HOME", json={"name": "Stale"}, headers={**headers, "If-Match": '"9"'}
    )
    assert stale.status_code == 412
    huge = client.patch(  # digits beyond any version (and past int()'s 4,300-digit limit): a precondition, not a 500
        "/api/v1/categories/HOME",
        json={"name": "Huge"},
        headers={**headers, "If-Match": '"' + "9" * 5000 + '"'},
    )
    assert huge.status_code == 412 and huge.headers["content-type"].startswith("application/problem+json")
    assert _tree(client, admin_key) == before


def test_items_and_styles_are_put_in_categories_and_listed_by_them(client: TestClient, admin_key: str):
    # given
    headers = bearer(admin_key)
    _add(client, admin_key, "APPAREL")
    _add(client, admin_key, "TOPS", parent="APPAREL")
    _add(client, admin_key, "KITCHEN")
    mug = client.post(
        "/api/v1/items", json={"sku": "MUG-1", "name": "Mug", "category": "kitchen"}, headers=headers
    )
    assert mug.status_code == 201 and mug.json()["category"] == "KITCHEN"
    style = client.post(
        "/api/v1/styles",
        json={
            "code": "POLO",
            "name": "Polo",
            "axes": [{"name": "size", "values": ["S", "M"]}],
            "category": "TOPS",
        },
        headers=headers,
    )
    assert style.status_code == 201 and style.json()["category"] == "TOPS"
    # when the style moves to APPAREL and a plain item joins TOPS
    moved = client.put("/api/v1/styles/polo/category", json={"category": "APPAREL"}, headers=headers)
    client.post("/api/v1/items", json={"sku": "TEE-1", "name": "Tee"}, headers=headers)
    tee = client.put("/api/v1/items/tee-1/category", json={"category": "TOPS"}, headers=headers)
    # then
    assert moved.status_code == 200 and moved.json()["category"] == "APPAREL"
    assert tee.status_code == 200 and tee.json()["category"] == "TOPS"
    listed = client.get("/api/v1/items", params={"category": "apparel"}, headers=headers).json()["items"]
    assert [(i["sku"], i["category"]) for i in listed] == [
        ("POLO-M", "APPAREL"),
        ("POLO-S", "APPAREL"),
        ("TEE-1", "TOPS"),
    ]
    # and a variant refuses a category of its own, changing nothing
    refused = client.put("/api/v1/items/POLO-M/category", json={"category": "KITCHEN"}, headers=headers)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "category"
    assert client.get("/api/v1/items/POLO-M", headers=headers).json()["category"] == "APPAREL"
    cleared = client.put("/api/v1/items/MUG-1/category", json={"category": None}, headers=headers)
    assert cleared.json()["category"] is None


def test_a_key_without_catalog_write_reads_categories_but_cannot_change_them(
    client: TestClient, admin_key: str, admin_db
):
    # given
    _add(client, admin_key, "HOME")
    client.post("/api/v1/items", json={"sku": "MUG-1", "name": "Mug"}, headers=bearer(admin_key))
    reader = make_api_key(admin_db, scopes=["catalog:read"], name="reader").secret
    before = _tree(client, admin_key)
    # when / then
    assert _tree(client, reader) == before
    for call, path, body in (
        (client.post, "/api/v1/categories", {"code": "GARDEN", "name": "Garden"}),
        (client.patch, "/api/v1/categories/HOME", {"active": False}),
        (client.put, "/api/v1/items/MUG-1/category", {"category": "HOME"}),
    ):
        assert call(path, json=body, headers=bearer(reader)).status_code == 403
    assert _tree(client, admin_key) == before
    assert client.get("/api/v1/items/MUG-1", headers=bearer(admin_key)).json()["category"] is None


def test_a_segment_may_select_buyers_by_category(client: TestClient, admin_key: str):
    # given
    _add(client, admin_key, "HOME")
    rules = {"field": "purchased_category", "op": "in", "value": ["HOME"]}
    # when
    counted = client.post("/api/v1/segments/count", json={"rules": rules}, headers=bearer(admin_key))
    wrong = client.post(
        "/api/v1/segments/count",
        json={"rules": {"field": "purchased_category", "op": "starts_with", "value": ["HO"]}},
        headers=bearer(admin_key),
    )
    # then
    assert counted.status_code == 200 and counted.json() == {"customers": 0}
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "rules.op"
