"""The drop-ship API through the ASGI app, on SQLite and PostgreSQL: the open drop-ship shipments are listed with
their vendor, PO and ship-to; the vendor's confirmation by call (tracking number) or by CSV (all rows or none, each
error naming its row and column) ships them once; callers without the scope are refused and change nothing; a
channel key cannot reach the vendor's routes and sees only its own channel's drop-ship shipments."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordersmith.fulfillment import service as fulfillment
from ordersmith.orders import service as orders
from ordersmith.platform.access import CHANNEL_KEY_SCOPES
from ordersmith.platform.settings import Settings
from ordersmith.purchasing import service as purchasing
from tests.api.conftest import bearer
from tests.builders import channel, make_api_key, make_drop_ship_item, make_order_shop, order_request


@pytest.fixture
def vendor_floor(client: TestClient, admin_db: Any, admin_key: str, settings: Settings) -> dict[str, Any]:
    """Two orders whose sofas ACME ships to the customer: two from the web shop (one with a tee from our stock),
    one from the call center; each routed to a drop-ship shipment and PO."""
    fulfillment.setup_fulfillment(admin_db.db, settings)
    make_order_shop(admin_db)
    make_drop_ship_item(admin_db)
    placed: dict[str, orders.Order] = {}
    for name, code, lines in (
        ("web", "web", (("SOFA", 2),)),
        ("mixed", "web", (("TEE", 1), ("SOFA", 1))),
        ("phone", "phone", (("SOFA", 1),)),
    ):
        order = orders.place_order(
            admin_db, channel=channel(admin_db, code), request=order_request(*lines)
        ).order
        fulfillment.sync_order(admin_db, order_id=order.id)  # what the relay does after the order's commit
        placed[name] = order
    return {"uow": admin_db, "admin": bearer(admin_key), "orders": placed}


def drop_of(uow: Any, order: orders.Order) -> fulfillment.Shipment:
    (found,) = [
        s
        for s in fulfillment.order_shipments(uow, order_id=str(order.id))
        if s.kind == "drop_ship" and s.status == "pending"
    ]
    return found


def po_number(uow: Any, order: orders.Order) -> str:
    detail = fulfillment.get_shipment(uow, ref=drop_of(uow, order).number).timeline[0].detail
    return str(detail["purchase_order"])


def snapshot(uow: Any, floor: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    """Each order's status and version, and its drop-ship PO's status and version: what a refusal must not move."""
    rows = []
    for order in floor["orders"].values():
        got = orders.get_order(uow, ref=order.number)
        rows.append((got.number, got.status, str(got.version), sum(line.shipped for line in got.lines)))
    for po in purchasing.list_purchase_orders(uow, vendor="ACME").items:
        rows.append((po.number, po.status, str(po.version), po.lines[0].received))
    return sorted(rows)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_the_open_drop_ships_are_listed_with_their_vendor_po_order_and_ship_to(
    client: TestClient, vendor_floor: dict[str, Any]
) -> None:
    uow = vendor_floor["uow"]
    listed = _ok(client.get("/api/v1/drop-ship", headers=vendor_floor["admin"]))
    expected = sorted(
        (o.number, o.channel, po_number(uow, o), drop_of(uow, o).units)
        for o in vendor_floor["orders"].values()
    )
    assert sorted(
        (d["order_number"], d["channel"], d["purchase_order"], d["units"]) for d in listed["items"]
    ) == [(number, ch, po, units) for number, ch, po, units in expected]
    assert {
        (d["vendor"], d["status"], d["address"]["name"], d["address"]["city"]) for d in listed["items"]
    } == {("ACME", "pending", "Ann Buyer", "San Francisco")}
    web = vendor_floor["orders"]["web"]
    (mine,) = [d for d in listed["items"] if d["order_number"] == web.number]
    assert mine["lines"] == [{"line": 1, "sku": "SOFA", "name": "Sofa", "quantity": 2}]
    # one vendor's
    acme = _ok(client.get("/api/v1/drop-ship?vendor=acme", headers=vendor_floor["admin"]))["items"]
    other = _ok(client.get("/api/v1/drop-ship?vendor=OTHER", headers=vendor_floor["admin"]))["items"]
    assert (len(acme), other) == (3, [])
    # newest first, a page at a time
    first = _ok(client.get("/api/v1/drop-ship?limit=2", headers=vendor_floor["admin"]))
    rest = _ok(
        client.get(f"/api/v1/drop-ship?limit=2&cursor={first['next_cursor']}", headers=vendor_floor["admin"])
    )
    assert [d["number"] for d in first["items"] + rest["items"]] == [d["number"] for d in listed["items"]]
    assert rest["next_cursor"] is None


def test_a_vendor_confirms_by_api_with_its_tracking_number_and_a_second_confirmation_is_refused(
    client: TestClient, vendor_floor: dict[str, Any]
) -> None:
    uow, admin = vendor_floor["uow"], vendor_floor["admin"]
    order = vendor_floor["orders"]["mixed"]
    number, po = drop_of(uow, order).number, po_number(uow, order)
    # when the vendor confirms the PO with its tracking number
    shipped = _ok(
        client.post(
            f"/api/v1/drop-ship/{po}/confirm", json={"tracking": "1ZACME", "carrier": "ups"}, headers=admin
        )
    )
    # then the shipment shipped with that number, the order shipped the sofa, the PO closed
    assert (shipped["number"], shipped["status"], shipped["tracking_number"], shipped["carrier"]) == (
        number,
        "shipped",
        "1ZACME",
        "ups",
    )
    got = orders.get_order(uow, ref=order.number)
    assert (got.status, [(line.sku, line.shipped) for line in got.lines]) == (
        "partially_shipped",
        [("TEE", 0), ("SOFA", 1)],
    )
    assert purchasing.get_purchase_order(uow, number=po).status == "closed"
    seen = _ok(client.get(f"/api/v1/shipments/{number}", headers=admin))
    assert (seen["tracking_number"], seen["timeline"][-1]["kind"]) == ("1ZACME", "shipment.shipped")
    assert number not in [d["number"] for d in _ok(client.get("/api/v1/drop-ship", headers=admin))["items"]]
    # and a second confirmation (by the shipment's number) is a 409 naming the state, and changes nothing
    before = snapshot(uow, vendor_floor)
    again = client.post(f"/api/v1/drop-ship/{number}/confirm", json={"tracking": "OTHER"}, headers=admin)
    assert (again.status_code, again.json()["code"], again.json()["state"]) == (
        409,
        "illegal_transition",
        "shipped",
    )
    assert snapshot(uow, vendor_floor) == before
    assert fulfillment.get_shipment(uow, ref=number).tracking_number == "1ZACME"


def test_a_partial_confirmation_leaves_the_rest_open_and_bad_lines_are_refused_naming_the_field(
    client: TestClient, vendor_floor: dict[str, Any]
) -> None:
    uow, admin = vendor_floor["uow"], vendor_floor["admin"]
    order = vendor_floor["orders"]["web"]  # two sofas on line 1
    number = drop_of(uow, order).number
    before = snapshot(uow, vendor_floor)
    for lines, field in (({"7": 1}, "lines.7"), ({"1": 3}, "lines.1")):
        refused = client.post(
            f"/api/v1/drop-ship/{number}/confirm", json={"tracking": "T1", "lines": lines}, headers=admin
        )
        assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, field)
    blank = client.post(f"/api/v1/drop-ship/{number}/confirm", json={"tracking": ""}, headers=admin)
    assert (blank.status_code, blank.json()["errors"][0]["field"]) == (422, "tracking")
    unknown = client.post("/api/v1/drop-ship/PO-999999/confirm", json={"tracking": "T1"}, headers=admin)
    assert unknown.status_code == 404
    assert snapshot(uow, vendor_floor) == before
    # when the vendor ships one of the two
    _ok(
        client.post(
            f"/api/v1/drop-ship/{number}/confirm", json={"tracking": "T1", "lines": {"1": 1}}, headers=admin
        )
    )
    # then the other waits on a new shipment of the same PO
    rest = drop_of(uow, order)
    assert (rest.number, rest.units, rest.status) == (f"{order.number}-2", 1, "pending")
    assert (
        po_number(uow, order)
        == fulfillment.get_shipment(uow, ref=number).timeline[0].detail["purchase_order"]
    )


def test_a_csv_upload_confirms_every_row_at_once(client: TestClient, vendor_floor: dict[str, Any]) -> None:
    uow, admin = vendor_floor["uow"], vendor_floor["admin"]
    web, phone = vendor_floor["orders"]["web"], vendor_floor["orders"]["phone"]
    text = (
        "shipment,po_number,tracking,carrier,line,quantity\n"
        f"{drop_of(uow, web).number},,T-WEB,ups,1,2\n"
        f",{po_number(uow, phone)},T-PHONE,fedex,,\n"
    )
    counts = _ok(
        client.post(
            "/api/v1/drop-ship/confirmations",
            content=text.encode(),
            headers=admin | {"Content-Type": "text/csv"},
        )
    )
    assert counts == {"rows": 2, "shipments": 2, "units": 3}
    assert [orders.get_order(uow, ref=o.number).status for o in (web, phone)] == ["shipped", "shipped"]
    listed = _ok(client.get("/api/v1/drop-ship", headers=admin))["items"]
    assert [d["order_number"] for d in listed] == [vendor_floor["orders"]["mixed"].number]


def test_a_csv_as_json_with_one_bad_row_confirms_nothing_and_names_each_row_and_column(
    client: TestClient, vendor_floor: dict[str, Any]
) -> None:
    uow, admin = vendor_floor["uow"], vendor_floor["admin"]
    web, mixed = vendor_floor["orders"]["web"], vendor_floor["orders"]["mixed"]
    before = snapshot(uow, vendor_floor)
    text = (
        "po_number,tracking,carrier,line,quantity\n"
        f"{po_number(uow, web)},T1,ups,,\n"  # good
        f"{po_number(uow, mixed)},,ups,,\n"  # no tracking
        "PO-999999,T3,ups,,\n"  # no such PO
        f"{po_number(uow, mixed)},T4,ups,9,1\n"  # no line 9 on it
    )
    refused = client.post("/api/v1/drop-ship/confirmations", json={"csv": text}, headers=admin)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == [
        "rows.3.tracking",
        "rows.4.po_number",
        "rows.5.line",
    ]
    assert snapshot(uow, vendor_floor) == before
    assert len(_ok(client.get("/api/v1/drop-ship", headers=admin))["items"]) == 3
    # and bodies that are no CSV at all name the csv field
    for body, kind in (
        (b'{"text": "x"}', "application/json"),
        (b"\xff\xfe po", "text/csv"),
        (b"tracking\nT1\n", "text/csv"),
        (b"po_number,tracking\n", "text/csv"),
    ):
        bad = client.post(
            "/api/v1/drop-ship/confirmations", content=body, headers=admin | {"Content-Type": kind}
        )
        assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "csv"), body
    assert snapshot(uow, vendor_floor) == before


def test_callers_without_the_scope_are_refused_and_nothing_changes(
    client: TestClient, vendor_floor: dict[str, Any]
) -> None:
    uow = vendor_floor["uow"]
    number = drop_of(uow, vendor_floor["orders"]["web"]).number
    reader = bearer(make_api_key(uow, scopes=["fulfillment:read", "warehouse:read"], name="reader").secret)
    agent = bearer(make_api_key(uow, scopes=["fulfillment:read", "orders:read"], name="agent").secret)
    before = snapshot(uow, vendor_floor)
    text = f"shipment,tracking\n{number},T1\n"
    assert client.get("/api/v1/drop-ship", headers=reader).status_code == 200
    assert client.get("/api/v1/drop-ship", headers=agent).status_code == 403
    for headers in (reader, agent, {}):
        confirm = client.post(f"/api/v1/drop-ship/{number}/confirm", json={"tracking": "T1"}, headers=headers)
        upload = client.post("/api/v1/drop-ship/confirmations", json={"csv": text}, headers=headers)
        assert (confirm.status_code, upload.status_code) == ((403, 403) if headers else (401, 401))
    assert snapshot(uow, vendor_floor) == before
    assert fulfillment.get_shipment(uow, ref=number).status == "pending"


def test_a_channel_key_sees_only_its_own_drop_ship_shipments_and_cannot_confirm(
    client: TestClient, vendor_floor: dict[str, Any]
) -> None:
    uow = vendor_floor["uow"]
    web_key = bearer(make_api_key(uow, scopes=sorted(CHANNEL_KEY_SCOPES), channel="web", name="web").secret)
    mine = drop_of(uow, vendor_floor["orders"]["web"]).number
    theirs = drop_of(uow, vendor_floor["orders"]["phone"]).number
    # its own drop-ship shipment, tracking and all, is there; the call center's answers as an unknown one does
    assert _ok(client.get(f"/api/v1/shipments/{mine}", headers=web_key))["kind"] == "drop_ship"
    listed = _ok(client.get("/api/v1/shipments?location=VENDOR:ACME", headers=web_key))["items"]
    assert sorted(s["order_number"] for s in listed) == sorted(
        o.number for k, o in vendor_floor["orders"].items() if k != "phone"
    )
    a = client.get(f"/api/v1/shipments/{theirs}", headers=web_key)
    b = client.get("/api/v1/shipments/999999-1", headers=web_key)
    assert (a.status_code, b.status_code) == (404, 404)
    assert a.json()["detail"].replace(theirs, "x") == b.json()["detail"].replace("999999-1", "x")
    # the vendor's routes are staff work: refused, nothing changes
    before = snapshot(uow, vendor_floor)
    assert client.get("/api/v1/drop-ship", headers=web_key).status_code == 403
    for number in (mine, theirs):
        confirm = client.post(f"/api/v1/drop-ship/{number}/confirm", json={"tracking": "T1"}, headers=web_key)
        assert confirm.status_code == 403
    csv = {"csv": f"shipment,tracking\n{mine},T\n"}
    upload = client.post("/api/v1/drop-ship/confirmations", json=csv, headers=web_key)
    assert upload.status_code == 403
    assert snapshot(uow, vendor_floor) == before
