"""Custom fields in the console, on SQLite and PostgreSQL: an admin defines them (a refusal marks the input it
names and defines nothing; a manager reads the screen but has no forms), and a record's page edits its values (a bad
value is shown again beside its input, and nothing is saved)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ordersmith.catalog import service as catalog
from ordersmith.customers import service as customers
from ordersmith.orders import service as orders
from ordersmith.platform import custom_fields
from tests.api.conftest import login
from tests.builders import channel, make_order_shop, order_request


def _define(admin_db) -> None:  # type: ignore[no-untyped-def]
    custom_fields.create_definition(admin_db, kind="customer", name="loyalty_id", label="Loyalty card",
                                    type="text", max_length=8)  # fmt: skip
    custom_fields.create_definition(admin_db, kind="customer", name="joined_on", label="Joined", type="date")
    custom_fields.create_definition(
        admin_db, kind="order", name="gift_wrap", label="Gift wrap", type="boolean"
    )
    custom_fields.create_definition(admin_db, kind="item", name="season", label="Season", type="choice",
                                    choices=["spring", "autumn"])  # fmt: skip


def test_an_admin_defines_a_field_and_a_bad_one_is_named_on_its_input(client: TestClient, admin_db) -> None:
    # given an admin signed in
    csrf = login(client, admin_db, role="admin")
    # when a choice field without choices is sent
    bad = client.post("/admin/custom-fields", data={"csrf_token": csrf, "kind": "item", "name": "season",
                                                    "label": "Season", "type": "choice", "choices": ""})  # fmt: skip
    # then the form comes back marked on that input, and nothing is defined
    assert bad.status_code == 422
    assert 'id="define-choices-error"' in bad.text and 'value="season"' in bad.text
    assert custom_fields.list_definitions(admin_db) == []
    # with choices it is defined, and listed
    good = client.post("/admin/custom-fields", data={"csrf_token": csrf, "kind": "item", "name": "season",
                                                     "label": "Season", "type": "choice",
                                                     "choices": "spring, autumn"}, follow_redirects=True)  # fmt: skip
    assert good.status_code == 200 and 'data-field="item.season"' in good.text
    assert [d.choices for d in custom_fields.list_definitions(admin_db)] == [("spring", "autumn")]
    # a removal needs the name typed
    kept = client.post("/admin/custom-fields/item/season/delete", data={"csrf_token": csrf, "confirm": "x"})
    assert kept.status_code == 422 and len(custom_fields.list_definitions(admin_db)) == 1
    client.post("/admin/custom-fields/item/season/delete", data={"csrf_token": csrf, "confirm": "season"})
    assert custom_fields.list_definitions(admin_db) == []


def test_a_manager_reads_the_fields_but_cannot_change_them(client: TestClient, admin_db) -> None:
    _define(admin_db)
    csrf = login(client, admin_db, role="manager")
    page = client.get("/admin/custom-fields")
    assert page.status_code == 200 and "Loyalty card" in page.text and 'id="define"' not in page.text
    refused = client.post("/admin/custom-fields", data={"csrf_token": csrf, "kind": "item", "name": "x",
                                                        "label": "X", "type": "text"})  # fmt: skip
    assert refused.status_code == 403 and len(custom_fields.list_definitions(admin_db)) == 4


def test_a_customer_order_and_item_page_edit_their_values(client: TestClient, admin_db) -> None:
    # given fields, a customer, an order and an item
    _define(admin_db)
    make_order_shop(admin_db)
    number = customers.create_customer(admin_db, details=customers.Details(first_name="Rosa")).number
    placed = orders.place_order(
        admin_db, channel=channel(admin_db, "web"), request=order_request(("TEE", 1))
    ).order
    csrf = login(client, admin_db, role="manager")
    # when a bad date and a too-long card number are saved on the customer's page
    page = client.get(f"/customers/{number}")
    assert page.status_code == 200 and 'name="cf_loyalty_id"' in page.text
    bad = client.post(f"/custom-values/customer/{number}", data={
        "csrf_token": csrf, "cf_loyalty_id": "TOO-LONG-1", "cf_joined_on": "2026-02-30"})  # fmt: skip
    # then both inputs are marked, what was typed kept, and nothing saved
    assert bad.status_code == 422
    assert 'id="custom-values-cf_loyalty_id-error"' in bad.text and 'value="TOO-LONG-1"' in bad.text
    customer = customers.get_customer(admin_db, ref=number)
    assert custom_fields.read_values(admin_db, kind="customer", record_id=customer.id) == {}
    # good values are saved and shown on the page
    saved = client.post(f"/custom-values/customer/{number}", data={
        "csrf_token": csrf, "cf_loyalty_id": "L-1", "cf_joined_on": "2026-02-28"}, follow_redirects=True)  # fmt: skip
    assert (
        saved.status_code == 200
        and "Custom fields saved." in saved.text
        and 'value="2026-02-28"' in saved.text
    )
    assert custom_fields.read_values(admin_db, kind="customer", record_id=customer.id) == {
        "loyalty_id": "L-1", "joined_on": "2026-02-28"}  # fmt: skip
    # the order's and the item's pages too
    client.post(f"/custom-values/order/{placed.number}", data={"csrf_token": csrf, "cf_gift_wrap": "true"})
    assert orders.order_values(admin_db, order_id=placed.id) == {"gift_wrap": True}
    assert 'option value="true" selected' in client.get(f"/orders/{placed.number}").text
    client.post("/custom-values/item/TEE", data={"csrf_token": csrf, "cf_season": "autumn"})
    tee = catalog.get_item(admin_db, sku="TEE")
    assert custom_fields.read_values(admin_db, kind="item", record_id=tee.id) == {"season": "autumn"}
    assert 'option value="autumn" selected' in client.get("/stock?sku=TEE").text


def test_an_agent_sees_an_items_values_without_a_form(client: TestClient, admin_db) -> None:
    _define(admin_db)
    make_order_shop(admin_db)
    catalog.set_custom_fields(admin_db, sku="TEE", values={"season": "spring"})
    csrf = login(client, admin_db, role="agent")
    page = client.get("/stock?sku=TEE")
    assert page.status_code == 200 and "spring" in page.text and 'id="custom-values"' not in page.text
    refused = client.post("/custom-values/item/TEE", data={"csrf_token": csrf, "cf_season": "autumn"})
    assert refused.status_code == 403
    tee = catalog.get_item(admin_db, sku="TEE")
    assert custom_fields.read_values(admin_db, kind="item", record_id=tee.id) == {"season": "spring"}
