"""Setting stores and registers up in the console, on SQLite and PostgreSQL: a manager sets a store up and adds a
register; a bad form is shown again with the reason beside the input it names and nothing written; a clerk at a
till (role `store`) may not open the screen or post to it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ordersmith.channels.pos import service as pos
from ordersmith.platform import sales_channels
from ordersmith.platform.db import Database
from tests.api.conftest import login
from tests.api.test_pos_api import counts
from tests.builders import make_order_shop
from tests.support.pos_shop import STORE_ADDRESS, make_pos_shop


def _shop(admin_db: Any) -> None:
    make_order_shop(admin_db)
    sales_channels.create_sales_channel(
        admin_db, code="till", name="Tills", kind="pos", division="store", currency="USD"
    )


def test_a_manager_sets_a_store_and_a_register_up_and_a_bad_form_is_named_and_writes_nothing(
    client: TestClient, admin_db: Any, db: Database
) -> None:
    # given a store location and a POS channel, and a manager signed in
    _shop(admin_db)
    csrf = login(client, admin_db, role="manager")
    page = client.get("/pos/setup")
    assert page.status_code == 200 and 'id="new-store"' in page.text and "STORE1" in page.text
    before = counts(db)
    # when the store is sent with a three-letter country, then with a channel that is not a POS channel
    form = {"csrf_token": csrf, "form": "new-store", "location": "STORE1", "channel": "till", **STORE_ADDRESS}
    bad = client.post("/pos/setup/stores", data=form | {"country": "USA"})
    assert bad.status_code == 422 and 'id="new-store-country-error"' in bad.text and 'value="USA"' in bad.text
    bad = client.post("/pos/setup/stores", data=form | {"channel": "web"})
    assert bad.status_code == 422 and 'id="new-store-channel-error"' in bad.text
    assert counts(db) == before
    # then a good one is set up, and shown with its own form
    done = client.post("/pos/setup/stores", data=form, follow_redirects=True)
    assert done.status_code == 200 and "Store STORE1 saved" in done.text and 'id="store-STORE1"' in done.text
    assert [s.location for s in pos.list_stores(admin_db, principal=None)] == ["STORE1"]
    # its name changed through its own form
    renamed = client.post("/pos/setup/stores", data=form | {"form": "store-STORE1", "name": "Main street"})
    assert renamed.status_code == 200 and "Store STORE1 saved" in renamed.text
    assert pos.list_stores(admin_db, principal=None)[0].name == "Main street"
    # a register with a bad code is named; a good one is added
    bad = client.post("/pos/setup/registers", data={"csrf_token": csrf, "code": "R 1", "store": "STORE1",
                                                    "name": "Front"})  # fmt: skip
    assert bad.status_code == 422 and 'id="new-register-code-error"' in bad.text
    assert pos.list_registers(admin_db, principal=None) == []
    added = client.post("/pos/setup/registers", data={"csrf_token": csrf, "code": "R1", "store": "STORE1",
                                                      "name": "Front"}, follow_redirects=True)  # fmt: skip
    assert added.status_code == 200 and 'data-register="R1"' in added.text
    twice = client.post("/pos/setup/registers", data={"csrf_token": csrf, "code": "R1", "store": "STORE1",
                                                      "name": "Again"})  # fmt: skip
    assert twice.status_code == 409 and [r.name for r in pos.list_registers(admin_db, principal=None)] == [
        "Front"
    ]


def test_a_clerk_may_not_set_tills_up(client: TestClient, admin_db: Any, db: Database) -> None:
    _shop(admin_db)
    csrf = login(client, admin_db, role="store")
    assert client.get("/pos/setup").status_code == 403
    before = counts(db)
    refused = client.post("/pos/setup/stores", data={"csrf_token": csrf, "location": "STORE1", "channel": "till",
                                                     **STORE_ADDRESS})  # fmt: skip
    assert refused.status_code == 403 and counts(db) == before


def test_a_manager_renames_closes_and_opens_a_register_and_a_refusal_is_shown_on_its_form(
    client: TestClient, admin_db: Any, db: Database
) -> None:
    # given a store's register with an open shift, and a manager signed in
    make_pos_shop(admin_db)
    pos.open_shift(admin_db, principal=None, register="R1", opening_float="20.00")
    csrf = login(client, admin_db, role="manager")
    page = client.get("/pos/setup")
    assert 'id="register-R1"' in page.text and "Close the register" in page.text
    # when it is renamed
    renamed = client.post("/pos/setup/registers/R1", data={"csrf_token": csrf, "name": "Side till"},
                          follow_redirects=True)  # fmt: skip
    assert renamed.status_code == 200 and "Register R1 saved" in renamed.text
    # then closing it with its shift open is refused on its own form, and nothing changes
    before = counts(db)
    refused = client.post("/pos/setup/registers/R1", data={"csrf_token": csrf, "active": "false"})
    assert refused.status_code == 409 and 'id="register-R1-problem"' in refused.text
    assert counts(db) == before and pos.get_register(admin_db, code="R1", principal=None).active
    # an empty name is named beside its input
    empty = client.post("/pos/setup/registers/R1", data={"csrf_token": csrf, "name": ""})
    assert empty.status_code == 422 and 'id="register-R1-name-error"' in empty.text
    # with the shift closed it closes, and opens again
    shift = pos.get_register(admin_db, code="R1", principal=None).open_shift
    assert shift is not None
    pos.close_shift(admin_db, principal=None, shift_id=shift, counted="20.00")
    closed = client.post("/pos/setup/registers/R1", data={"csrf_token": csrf, "active": "false"},
                         follow_redirects=True)  # fmt: skip
    assert "Register R1 closed" in closed.text and "Open the register" in closed.text
    assert not pos.get_register(admin_db, code="R1", principal=None).active
    opened = client.post("/pos/setup/registers/R1", data={"csrf_token": csrf, "active": "true"},
                         follow_redirects=True)  # fmt: skip
    assert "Register R1 opened" in opened.text
    register = pos.get_register(admin_db, code="R1", principal=None)
    assert (register.name, register.active) == ("Side till", True)
    # a clerk may not change it
    clerk_csrf = login(client, admin_db, role="store")
    denied = client.post("/pos/setup/registers/R1", data={"csrf_token": clerk_csrf, "active": "false"})
    assert denied.status_code == 403 and pos.get_register(admin_db, code="R1", principal=None).active
