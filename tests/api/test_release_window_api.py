"""A channel's edit window through the HTTP API, on SQLite and PostgreSQL: set by staff with
`sales_channels:write`, refused out of range (nothing changes), shown on the channel and on the pending order."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ordersmith.platform import sales_channels
from tests.api.conftest import bearer
from tests.api.test_payments_api import ADDRESS, LINES
from tests.builders import make_api_key, make_order_shop


@pytest.fixture
def keys(admin_db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    make_order_shop(admin_db)  # its phone channel bills later: an order without a tender is released
    return {
        "admin": make_api_key(admin_db, name="admin").secret,
        "phone": make_api_key(
            admin_db, scopes=["orders:write", "orders:read"], channel="phone", name="p"
        ).secret,
        "clerk": make_api_key(admin_db, scopes=["sales_channels:read"], name="clerk").secret,
    }


def _phone(client: TestClient, keys: dict[str, str]) -> dict[str, object]:
    listed = client.get("/api/v1/sales-channels", params={"limit": 50}, headers=bearer(keys["admin"])).json()
    return next(c for c in listed["items"] if c["code"] == "phone")


def test_staff_set_a_channel_edit_window_and_its_orders_wait_pending_until_it_ends(
    client: TestClient, keys: dict[str, str]
) -> None:
    # given the phone channel, released at once so far
    phone = _phone(client, keys)
    assert phone["release_after_s"] == 0
    # when an administrator gives it a 15-minute edit window
    changed = client.patch(
        f"/api/v1/sales-channels/{phone['id']}", json={"release_after_s": 900}, headers=bearer(keys["admin"])
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["release_after_s"] == 900
    # then an order the phone channel places is pending, with the time it will be released
    placed = client.post(
        "/api/v1/orders", json={"lines": LINES, "ship_tos": [ADDRESS]}, headers=bearer(keys["phone"])
    )
    assert placed.status_code == 201, placed.text
    order = client.get(f"/api/v1/orders/{placed.json()['number']}", headers=bearer(keys["phone"])).json()
    assert order["status"] == "pending" and order["release_at"] is not None


@pytest.mark.parametrize("seconds", [-1, 86_401, "soon"])
def test_an_edit_window_out_of_range_is_a_422_naming_it_and_changes_nothing(
    client: TestClient, keys: dict[str, str], seconds: object
) -> None:
    # given the phone channel
    phone = _phone(client, keys)
    # when an administrator sends a window that is not 0 to 86,400 seconds
    refused = client.patch(
        f"/api/v1/sales-channels/{phone['id']}",
        json={"release_after_s": seconds},
        headers=bearer(keys["admin"]),
    )
    # then it is refused naming the field, and the channel is as it was
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "release_after_s"
    assert _phone(client, keys) == phone


def test_a_caller_without_sales_channels_write_cannot_change_the_window(
    client: TestClient, keys: dict[str, str], admin_db
) -> None:  # type: ignore[no-untyped-def]
    # given the phone channel
    phone = _phone(client, keys)
    # when a key that may only read channels sets the window
    refused = client.patch(
        f"/api/v1/sales-channels/{phone['id']}", json={"release_after_s": 600}, headers=bearer(keys["clerk"])
    )
    # then it is forbidden and nothing changed
    assert refused.status_code == 403
    assert sales_channels._load_channel(admin_db, code="phone").release_after_s == 0  # type: ignore[union-attr]
