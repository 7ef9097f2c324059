"""One API vocabulary (issue 17, "API consistency found on the way"): reason codes, references by id or number,
a duplicate return line named as a field, a kit's components, and list filters that refuse what they do not
know instead of ignoring it. Every refusal also proves that nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.orders import service as orders
from tests.api.conftest import bearer
from tests.builders import make_order_shop, make_vendor, sent_purchase_order

ADDRESS = {"ref": "main", "name": "Ann Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
           "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip


@pytest.fixture
def shop(admin_db) -> None:  # type: ignore[no-untyped-def]
    make_order_shop(admin_db)


def _call(client: TestClient, key: str, method: str, url: str, body: dict[str, Any] | None = None,
          expect: int = 200) -> Any:  # fmt: skip
    response = client.request(method, url, json=body, headers=bearer(key))
    assert response.status_code == expect, response.text
    return response.json()


def _fields(problem: dict[str, Any]) -> list[str]:
    return [e["field"] for e in problem["errors"]]


def _order(client: TestClient, key: str, *lines: tuple[str, int]) -> dict[str, Any]:
    body = {"channel": "web", "lines": [{"sku": s, "quantity": q} for s, q in lines], "ship_tos": [ADDRESS]}
    return _call(client, key, "POST", "/api/v1/orders", body, 201)  # type: ignore[no-any-return]


def test_a_duplicate_line_in_a_return_is_a_422_naming_the_field_and_changes_nothing(
    client: TestClient, admin_key: str, admin_db, shop
) -> None:
    # given a shipped order of two tees and a mug
    order = _order(client, admin_key, ("TEE", 2), ("MUG", 1))
    _call(client, admin_key, "POST", f"/api/v1/orders/{order['number']}/shipments", {})
    # when a return names line 1 twice
    body = {"lines": [{"line_no": 1, "quantity": 1, "reason": "damaged"},
                      {"line_no": 1, "quantity": 1, "reason": "wrong_size"}]}  # fmt: skip
    problem = _call(client, admin_key, "POST", f"/api/v1/orders/{order['number']}/returns", body, 422)
    # then the second mention is named, and no return exists
    assert problem["code"] == "validation_failed" and _fields(problem) == ["lines.1.line_no"]
    assert orders.get_order(admin_db, ref=order["number"]).version == 2  # placed, shipped: nothing since
    first = _call(client, admin_key, "POST", f"/api/v1/orders/{order['number']}/returns",
                  {"lines": [{"line_no": 1, "quantity": 2, "reason": "damaged"}]}, 201)  # fmt: skip
    assert first["number"] == "R-000001"  # the refused return took no number


def test_a_return_reads_by_its_number_or_its_id(client: TestClient, admin_key: str, shop) -> None:
    order = _order(client, admin_key, ("TEE", 1))
    _call(client, admin_key, "POST", f"/api/v1/orders/{order['id']}/shipments", {})
    rma = _call(client, admin_key, "POST", f"/api/v1/orders/{order['id']}/returns",
                {"lines": [{"line_no": 1, "quantity": 1, "reason": "damaged"}]}, 201)  # fmt: skip
    by_number = _call(client, admin_key, "GET", f"/api/v1/returns/{rma['number'].lower()}")
    by_id = _call(client, admin_key, "GET", f"/api/v1/returns/{rma['id']}")
    assert by_number == by_id and by_id["lines"][0]["reason"] == "damaged"


def test_a_purchase_order_is_reached_by_its_number_or_its_id(client: TestClient, admin_key: str, admin_db,
                                                              shop) -> None:  # fmt: skip
    make_vendor(admin_db, code="ACME")
    po = sent_purchase_order(admin_db, vendor="ACME", location="EAST", lines=[("TEE", 5)])
    by_number = _call(client, admin_key, "GET", f"/api/v1/purchase-orders/{po.number}")
    by_id = _call(client, admin_key, "GET", f"/api/v1/purchase-orders/{po.id}")
    assert by_number == by_id and by_id["number"] == po.number
    # an action by id acts on the same PO
    cancelled = _call(client, admin_key, "POST", f"/api/v1/purchase-orders/{po.id}/cancel", {})
    assert cancelled["number"] == po.number and cancelled["status"] == "cancelled"


def test_a_stock_adjustment_stores_damaged_and_still_accepts_the_former_damage(
    client: TestClient, admin_key: str, admin_db, shop
) -> None:
    tee = catalog.get_item(admin_db, sku="TEE")
    for reason in ("damaged", "damage"):
        _call(client, admin_key, "POST", "/api/v1/stock/adjustments",
              {"sku": "TEE", "location": "EAST", "quantity": -1, "reason": reason}, 201)  # fmt: skip
    reasons = [m.reason for m in inventory.recent_movements(admin_db, item_id=tee.id, limit=2)]
    assert reasons == ["damaged", "damaged"]
    # an unknown reason is refused and moves nothing
    problem = _call(client, admin_key, "POST", "/api/v1/stock/adjustments",
                    {"sku": "TEE", "location": "EAST", "quantity": -1, "reason": "broken"}, 422)  # fmt: skip
    assert _fields(problem) == ["reason"]
    assert inventory.get_availability(admin_db, sku="TEE").on_hand == 21  # 23 less the two damaged


def test_a_kit_reads_with_its_components(client: TestClient, admin_key: str, shop) -> None:
    kit = _call(client, admin_key, "GET", "/api/v1/items/set")
    assert kit["kind"] == "kit"
    assert kit["components"] == [{"sku": "MUG", "quantity": 2}, {"sku": "TEE", "quantity": 1}]
    assert _call(client, admin_key, "GET", "/api/v1/items/TEE")["components"] == []


def test_orders_filter_by_fulfillment_status(client: TestClient, admin_key: str, shop) -> None:
    # given an allocated order and a backordered one (two lamps in stock, three wanted in all)
    allocated = _order(client, admin_key, ("LAMP", 2))
    backordered = _order(client, admin_key, ("LAMP", 1))
    # when the list is filtered
    page = _call(client, admin_key, "GET", "/api/v1/orders?fulfillment_status=backordered")
    # then only the backordered one is listed
    assert [o["number"] for o in page["items"]] == [backordered["number"]]
    page = _call(client, admin_key, "GET", "/api/v1/orders?fulfillment_status=allocated&status=released")
    assert [o["number"] for o in page["items"]] == [allocated["number"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("fulfillment_status=lost", "query.fulfillment_status"),
        ("status=open", "query.status"),
        ("fulfilment_status=backordered", "query.fulfilment_status"),  # misspelt: never silently ignored
        ("limit=5&colour=red", "query.colour"),
    ],
)
def test_an_unknown_filter_or_filter_value_is_a_422_naming_it(
    client: TestClient, admin_key: str, shop, query: str, field: str
) -> None:
    _order(client, admin_key, ("TEE", 1))
    problem = _call(client, admin_key, "GET", f"/api/v1/orders?{query}", expect=422)
    assert problem["code"] == "validation_failed" and _fields(problem) == [field]


def test_every_operation_refuses_an_unknown_query_parameter(
    client: TestClient, admin_key: str, admin_db, shop
) -> None:
    for url in ("/api/v1/customers?qq=ann", "/api/v1/items?state=active", "/api/v1/items/TEE?expand=all",
                "/api/v1/purchase-orders?sort=number"):  # fmt: skip
        problem = _call(client, admin_key, "GET", url, expect=422)
        assert len(_fields(problem)) == 1 and _fields(problem)[0].startswith("query."), url
    # a filter with a closed vocabulary refuses a value outside it, naming the parameter
    for url in ("/api/v1/items?status=gone", "/api/v1/purchase-orders?status=open"):
        assert _fields(_call(client, admin_key, "GET", url, expect=422)) == ["query.status"], url
    # a write with an unknown parameter is refused before it changes anything
    problem = _call(client, admin_key, "POST", "/api/v1/stock/adjustments?dry_run=true",
                    {"sku": "TEE", "location": "EAST", "quantity": 5}, 422)  # fmt: skip
    assert _fields(problem) == ["query.dry_run"]
    assert inventory.get_availability(admin_db, sku="TEE").on_hand == 23
