"""Policies set in the console instead of code (hold thresholds per currency and channel, return window and fee),
through the HTTP API on SQLite and PostgreSQL: managers read them, only admins change them, a change is audited
with before and after and applies to the very next order; a bad value is named and changes nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ordersmith.orders import service as orders
from ordersmith.platform import audit, policies
from tests.api.conftest import bearer, login
from tests.builders import make_api_key, make_order_shop

ADDRESS = {"ref": "main", "name": "Ann Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
           "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip
THRESHOLDS = {"thresholds": [
    {"currency": "USD", "channel": "", "high_value": "750.00", "first_order_limit": "1500.00"},
    {"currency": "USD", "channel": "web", "high_value": "750.00", "first_order_limit": "10.00"},
]}  # fmt: skip


def _order(n: int) -> dict[str, object]:
    return {"lines": [{"sku": "TEE", "quantity": 1}], "ship_tos": [ADDRESS | {"line1": f"{n} Market St"}]}


def test_a_threshold_set_by_an_admin_holds_the_very_next_order_of_its_channel_only(
    client: TestClient, admin_db
) -> None:
    # given a web and a phone channel whose first orders of $27 pass the default $1,500 limit
    make_order_shop(admin_db)
    web, phone = (bearer(make_api_key(admin_db, scopes=["orders:write"], channel=c, name=c).secret)
                  for c in ("web", "phone"))  # fmt: skip
    assert client.post("/api/v1/orders", json=_order(1), headers=web).json()["status"] == "released"
    # when an admin lowers the web channel's first-order limit to $10
    admin = bearer(make_api_key(admin_db, name="admin").secret)
    changed = client.put("/api/v1/settings/orders.hold_thresholds", json={"value": THRESHOLDS}, headers=admin)
    assert (
        changed.status_code == 200 and changed.json()["changed"] is True and changed.headers["ETag"] == '"1"'
    )
    # then the next web order is held for review, and the phone channel's is not
    held = client.post("/api/v1/orders", json=_order(2), headers=web).json()
    assert held["status"] == "on_hold" and [h["reason"] for h in held["holds"]] == ["fraud_first_order"]
    assert client.post("/api/v1/orders", json=_order(3), headers=phone).json()["status"] == "released"
    # and the change is audited with what it was before
    entry = audit.list_audit(admin_db, object_type="policy").items[0]
    assert entry.action == "policy.changed" and entry.object_id == "orders.hold_thresholds"
    assert entry.before == policies.get_policy(admin_db, key="orders.hold_thresholds").default
    assert entry.after == THRESHOLDS


def test_only_an_admin_changes_a_policy_and_a_refusal_changes_nothing(client: TestClient, admin_db) -> None:
    # given a manager signed in: the policies read, with their defaults
    csrf = login(client, admin_db, role="manager")
    listed = client.get("/api/v1/settings", headers={"X-CSRF-Token": csrf}).json()
    assert {p["key"]: p["value"] for p in listed}["orders.returns"] == {
        "window_days": 60,
        "restocking_fee_percent": 0,
    }
    # when the manager changes one: refused, unchanged
    body = {"value": {"window_days": 30, "restocking_fee_percent": 10}}
    refused = client.put("/api/v1/settings/orders.returns", json=body, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403
    assert policies.get_policy(admin_db, key="orders.returns").changed is False
    # an admin's bad values are named, unchanged
    admin = bearer(make_api_key(admin_db, name="admin").secret)
    bad = client.put("/api/v1/settings/orders.returns", headers=admin,
                     json={"value": {"window_days": -1, "restocking_fee_percent": "10"}})  # fmt: skip
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.json()["errors"]) == [
        "value.restocking_fee_percent",
        "value.window_days",
    ]
    thresholds = {"thresholds": [{"currency": "US", "high_value": "1", "first_order_limit": "1"},
                                 {"currency": "EUR", "high_value": "x", "first_order_limit": "1e99"}]}  # fmt: skip
    bad = client.put("/api/v1/settings/orders.hold_thresholds", json={"value": thresholds}, headers=admin)
    assert sorted(e["field"] for e in bad.json()["errors"]) == [
        "value.thresholds.0.currency",
        "value.thresholds.1.first_order_limit",
        "value.thresholds.1.high_value",
    ]
    assert client.get("/api/v1/settings/nope", headers=admin).status_code == 404
    assert audit.list_audit(admin_db, object_type="policy").items == []
    # a good one is applied; If-Match with a stale version is refused
    assert (
        client.put(
            "/api/v1/settings/orders.returns", json=body, headers=admin | {"If-Match": '"0"'}
        ).status_code
        == 200
    )
    stale = client.put("/api/v1/settings/orders.returns", json=body, headers=admin | {"If-Match": '"0"'})
    assert stale.status_code == 412
    assert orders.return_policy(admin_db).restocking_fee_percent == 10
    assert orders.return_policy(admin_db).window.days == 30


def test_the_policies_screen_saves_an_admins_change_and_names_a_bad_input(
    client: TestClient, admin_db
) -> None:
    # given an admin signed in to the console
    csrf = login(client, admin_db, role="admin")
    page = client.get("/admin/settings")
    assert page.status_code == 200 and 'name="t0_currency"' in page.text and 'value="USD"' in page.text
    # when a threshold row's amount is not an amount
    bad = client.post("/admin/settings/orders.hold_thresholds", data={
        "csrf_token": csrf, "version": "0", "t0_currency": "USD", "t0_channel": "", "t0_high_value": "lots",
        "t0_first_order_limit": "1500.00"})  # fmt: skip
    # then it is marked on that input, what was typed kept, and nothing changed
    assert bad.status_code == 422
    assert 'id="orders.hold_thresholds-t0_high_value-error"' in bad.text and 'value="lots"' in bad.text
    assert policies.get_policy(admin_db, key="orders.hold_thresholds").changed is False
    # a good change (one row for EUR on the phone channel added) is saved
    saved = client.post("/admin/settings/orders.hold_thresholds", data={
        "csrf_token": csrf, "version": "0", "t0_currency": "USD", "t0_high_value": "750.00",
        "t0_first_order_limit": "1500.00", "t3_currency": "eur", "t3_channel": "phone", "t3_high_value": "10",
        "t3_first_order_limit": "20"})  # fmt: skip
    assert saved.status_code == 200 and "Saved" in saved.text
    assert policies.current(admin_db, "orders.hold_thresholds")["thresholds"][1] == {
        "currency": "EUR", "channel": "phone", "high_value": "10.00", "first_order_limit": "20.00"}  # fmt: skip
    returns = client.post("/admin/settings/orders.returns", data={
        "csrf_token": csrf, "version": "0", "window_days": "30", "restocking_fee_percent": "101"})  # fmt: skip
    assert returns.status_code == 422 and 'id="orders.returns-restocking_fee_percent-error"' in returns.text
    # a manager reads the screen without forms to save
    client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    login(client, admin_db, role="manager")
    read = client.get("/admin/settings")
    assert read.status_code == 200 and "Save the thresholds" not in read.text and "phone" in read.text
