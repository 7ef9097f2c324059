"""The POS API and its console screens through the ASGI app, on SQLite and PostgreSQL: setting a store's till up, a
sale in exactly once (sent again: the first order, replayed), an offline sale flagged (409 naming its reason) and
worked by the manager, shifts over HTTP, refusals that name the field and change nothing, a POS channel's key kept
to its own stores, who may do what, the till's page, its service worker, receipts and the manager's list."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.channels.pos.tables import PosRegisterRow, PosSaleRow, PosShiftRow, PosStoreRow
from ordersmith.orders.tables import OrderRow
from ordersmith.platform import sales_channels
from ordersmith.platform.access import CHANNEL_KEY_SCOPES, ROLE_SCOPES
from ordersmith.platform.db import Database
from ordersmith.platform.tables import AuditRow
from tests.api.conftest import bearer, login
from tests.builders import make_api_key, make_order_shop
from tests.support.pos_shop import STORE_ADDRESS, make_pos_shop, sale_body


def counts(db: Database) -> tuple[int, ...]:
    with db.session() as session:
        return tuple(
            int(session.scalar(sa.select(sa.func.count()).select_from(m)) or 0)
            for m in (OrderRow, PosSaleRow, PosShiftRow, PosStoreRow, PosRegisterRow)
        )


def key(admin_db: Any, role: str, channel: str | None = None) -> dict[str, str]:
    scopes = sorted(ROLE_SCOPES[role] & CHANNEL_KEY_SCOPES if channel else ROLE_SCOPES[role])
    return bearer(make_api_key(admin_db, scopes=scopes, name=f"{role}-{channel}", channel=channel).secret)


def test_a_manager_sets_a_store_s_till_up_and_a_bad_store_is_refused_naming_the_field(
    client: TestClient, admin_db: Any, db: Database
):
    make_order_shop(admin_db)
    sales_channels.create_sales_channel(
        admin_db, code="till", name="Tills", kind="pos", division="store", currency="USD"
    )
    manager = key(admin_db, "manager")
    before = counts(db)
    for location, body, field in [
        ("EAST", {"channel": "till", **STORE_ADDRESS}, "location"),
        ("STORE1", {"channel": "web", **STORE_ADDRESS}, "channel"),
        ("STORE1", {"channel": "till", **STORE_ADDRESS, "method": "teleport"}, "method"),
        ("STORE1", {"channel": "till", **STORE_ADDRESS, "country": "USA"}, "country"),
    ]:
        refused = client.put(f"/api/v1/pos/stores/{location}", json=body, headers=manager)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field]
    assert counts(db) == before
    # when it is set up, with a register
    store = client.put(
        "/api/v1/pos/stores/STORE1", json={"channel": "till", **STORE_ADDRESS}, headers=manager
    )
    register = client.post(
        "/api/v1/pos/registers", json={"code": "R1", "store": "STORE1", "name": "Front"}, headers=manager
    )
    # then the register names its store, channel and address, and the free carry-out method exists
    assert store.status_code == 200 and register.status_code == 201, register.text
    assert (register.json()["store"]["channel"], register.json()["store"]["method"]) == ("till", "carry_out")
    listed = client.get("/api/v1/pos/registers", headers=key(admin_db, "store"))
    assert [r["code"] for r in listed.json()] == ["R1"]
    again = client.post(
        "/api/v1/pos/registers", json={"code": "R1", "store": "STORE1", "name": "x"}, headers=manager
    )
    assert again.status_code == 409
    # a clerk may not set tills up
    assert (
        client.put(
            "/api/v1/pos/stores/STORE1",
            json={"channel": "till", **STORE_ADDRESS},
            headers=key(admin_db, "store"),
        ).status_code
        == 403
    )


def test_a_sale_sent_three_times_is_one_order_and_the_resends_replay_it(
    client: TestClient, admin_db: Any, db: Database
):
    make_pos_shop(admin_db)
    clerk = key(admin_db, "store")
    body = sale_body(("TEE", 1), ("CAP", 2))
    first = client.post("/api/v1/pos/sales", json=body, headers=clerk)
    again = client.post("/api/v1/pos/sales", json=body, headers=clerk)
    other_clerk = client.post(
        "/api/v1/pos/sales", json={**body, "offline": True}, headers=key(admin_db, "manager")
    )
    assert first.status_code == 201, first.text
    order = first.json()["order"]
    assert (order["channel"], order["fulfillment"], order["status"], order["total"]["amount"]) == (
        "till",
        "taken",
        "shipped",
        "49.50",
    )
    assert first.json()["sale"]["change_given"]["amount"] == "28.00"
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json()["order"]["id"] == order["id"]
    assert other_clerk.json()["order"]["id"] == order["id"]
    assert counts(db)[:2] == (1, 1)
    got = client.get(f"/api/v1/pos/sales/{body['id']}", headers=clerk).json()
    assert (got["status"], got["order_number"]) == ("placed", order["number"])


def test_an_offline_sale_that_cannot_be_filled_is_flagged_and_the_manager_works_it(
    client: TestClient, admin_db: Any, db: Database
):
    make_pos_shop(admin_db)
    clerk, manager = key(admin_db, "store"), key(admin_db, "manager")
    body = sale_body(
        ("CAP", 9), offline=True, tenders=[{"method": "cash", "received": "200.00", "change": "76.25"}]
    )
    # when it is sent, twice
    answers = [client.post("/api/v1/pos/sales", json=body, headers=clerk) for _ in range(2)]
    # then both answer the flag, with the reason; one row, no order
    for answer in answers:
        assert answer.status_code == 409, answer.text
        problem = answer.json()
        assert (problem["code"], problem["reason"], problem["sale"]) == (
            "pos_sale_flagged",
            "stock_gone",
            body["id"],
        )
    assert counts(db)[:2] == (0, 1)
    flagged = client.get("/api/v1/pos/flagged-sales", headers=manager).json()["items"]
    assert [(s["id"], s["reason"], s["cash_received"]["amount"]) for s in flagged] == [
        (body["id"], "stock_gone", "200.00")
    ]
    # a clerk does not work flags; placing it still short is refused and it stays flagged
    assert client.get("/api/v1/pos/flagged-sales", headers=clerk).status_code == 403
    short = client.post(f"/api/v1/pos/flagged-sales/{body['id']}/place", headers=manager)
    assert (short.status_code, short.json()["code"]) == (409, "insufficient_stock")
    # resolving needs a note; with one, it leaves the list
    assert (
        client.post(f"/api/v1/pos/flagged-sales/{body['id']}/resolve", json={}, headers=manager).status_code
        == 422
    )
    done = client.post(
        f"/api/v1/pos/flagged-sales/{body['id']}/resolve", json={"note": "stock written off"}, headers=manager
    )
    assert (done.status_code, done.json()["status"]) == (200, "resolved")
    assert client.get("/api/v1/pos/flagged-sales", headers=manager).json()["items"] == []
    assert client.post("/api/v1/pos/sales", json=body, headers=clerk).json()["sale_status"] == "resolved"


def test_malformed_sales_are_refused_naming_the_field_and_change_nothing(
    client: TestClient, admin_db: Any, db: Database
):
    make_pos_shop(admin_db)
    clerk = key(admin_db, "store")
    before = counts(db)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "TEE", "quantity": 0}]}, "lines.0.quantity"),
        ({"tenders": [{"method": "cheque"}]}, "tenders.0.method"),
        ({"tenders": [{"method": "cash", "received": 50}]}, "tenders.0.received"),
        ({"id": "not-a-uuid"}, "id"),
        ({"rung_at": "2026-01-01T10:00:00"}, "rung_at"),
        ({"register": "NOPE!"}, "register"),
        ({"price": "1.00"}, "price"),
        (
            {"tenders": [{"method": "card", "amount": "22.00", "token": "vtok_x"}], "offline": True},
            "tenders.0.method",
        ),
        ({"tenders": [{"method": "cash", "received": "9.00", "change": "10.00"}]}, "tenders.0.change"),
    ]
    for fields, field in cases:
        refused = client.post("/api/v1/pos/sales", json={**sale_body(("TEE", 1)), **fields}, headers=clerk)
        assert refused.status_code == 422, (fields, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == [field], fields
    unknown = client.post(
        "/api/v1/pos/sales", json={**sale_body(("TEE", 1)), "register": "R9"}, headers=clerk
    )
    assert unknown.status_code == 404
    assert counts(db) == before


def test_a_pos_channel_s_key_sees_only_its_own_stores_and_others_answer_as_unknown(
    client: TestClient, admin_db: Any, db: Database
):
    make_pos_shop(admin_db)
    sales_channels.create_sales_channel(
        admin_db, code="till-2", name="Other", kind="pos", division="store", currency="USD"
    )
    own, other = key(admin_db, "store", channel="till"), key(admin_db, "store", channel="till-2")
    body = sale_body(("TEE", 1))
    assert client.post("/api/v1/pos/sales", json=body, headers=other).status_code == 404
    assert counts(db)[0] == 0
    assert client.post("/api/v1/pos/sales", json=body, headers=own).status_code == 201
    for path in (
        "/api/v1/pos/registers/R1",
        f"/api/v1/pos/sales/{body['id']}",
        "/api/v1/pos/registers/R1/catalog",
    ):
        assert client.get(path, headers=other).status_code == 404, path
        assert client.get(path, headers=own).status_code == 200, path
    assert client.get("/api/v1/pos/registers", headers=other).json() == []


def test_a_shift_over_http_opens_counts_sales_and_closes_with_its_difference(
    client: TestClient, admin_db: Any, db: Database
):
    make_pos_shop(admin_db)
    clerk = key(admin_db, "store")
    opened = client.post("/api/v1/pos/registers/R1/shifts", json={"opening_float": "50.00"}, headers=clerk)
    assert opened.status_code == 201, opened.text
    shift = opened.json()["id"]
    twice = client.post("/api/v1/pos/registers/R1/shifts", json={"opening_float": "50.00"}, headers=clerk)
    assert (twice.status_code, twice.json()["code"]) == (409, "shift_open")
    assert (
        client.post("/api/v1/pos/sales", json=sale_body(("TEE", 1), shift=shift), headers=clerk).status_code
        == 201
    )
    bad = client.post(f"/api/v1/pos/shifts/{shift}/close", json={"counted": "-1"}, headers=clerk)
    assert [e["field"] for e in bad.json()["errors"]] == ["counted"]
    stale = client.post(
        f"/api/v1/pos/shifts/{shift}/close", json={"counted": "72.00"}, headers={**clerk, "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    closed = client.post(f"/api/v1/pos/shifts/{shift}/close", json={"counted": "72.00"}, headers=clerk).json()
    assert (closed["expected_at_close"]["amount"], closed["difference"]["amount"]) == ("72.00", "0.00")
    listed = client.get("/api/v1/pos/registers/R1/shifts", headers=clerk).json()["items"]
    assert [(s["id"], s["status"]) for s in listed] == [(shift, "closed")]


def test_the_catalog_slice_lookup_and_quote_over_http(client: TestClient, admin_db: Any):
    make_pos_shop(admin_db)
    clerk = key(admin_db, "store")
    page = client.get("/api/v1/pos/registers/R1/catalog?limit=2", headers=clerk).json()
    assert len(page["items"]) <= 2 and page["next_cursor"]
    cap = client.get("/api/v1/pos/registers/R1/lookup?scan=012345678905", headers=clerk).json()
    assert (cap["sku"], cap["price"]["amount"], cap["tax_rate"], cap["free"]) == ("CAP", "12.50", "0.1", 4)
    assert client.get("/api/v1/pos/registers/R1/lookup?scan=ZZZ", headers=clerk).status_code == 404
    quote = client.post(
        "/api/v1/pos/quote", json={"register": "R1", "lines": [{"sku": "CAP", "quantity": 2}]}, headers=clerk
    )
    assert (quote.status_code, quote.json()["total"]["amount"]) == (200, "27.50")


def test_the_till_its_service_worker_a_receipt_and_the_manager_s_screens_render(
    client: TestClient, admin_db: Any, db: Database
):
    make_pos_shop(admin_db)
    login(client, admin_db, role="store")
    till = client.get("/pos")
    assert till.status_code == 200 and 'id="till"' in till.text and 'value="R1"' in till.text
    worker = client.get("/pos/service-worker.js")
    assert worker.status_code == 200 and worker.headers["service-worker-allowed"] == "/pos"
    assert "javascript" in worker.headers["content-type"]
    body = sale_body(("TEE", 1))
    me = client.get("/api/v1/me").json()
    assert (
        client.post("/api/v1/pos/sales", json=body, headers={"X-CSRF-Token": me["csrf_token"]}).status_code
        == 201
    )
    receipt = client.get(f"/pos/receipts/{body['id']}")
    assert receipt.status_code == 200 and "$22.00" in receipt.text and "$28.00" in receipt.text
    assert client.get("/pos/flagged").status_code == 403  # the manager's
    assert client.get("/pos/shifts?register=R1").status_code == 200
    assert client.get("/", follow_redirects=False).headers["location"] == "/pos"
    login(client, admin_db, role="manager")
    assert client.get("/pos/flagged").status_code == 200
    assert client.get(f"/pos/receipts/{uuid.uuid4()}").status_code == 404


def test_a_return_at_the_till_over_http_and_on_the_console_and_the_stock_elsewhere(
    client: TestClient, admin_db: Any, db: Database
):
    make_pos_shop(admin_db)
    clerk = key(admin_db, "store")
    sold = client.post(
        "/api/v1/pos/sales",
        json=sale_body(("MUG", 3), tenders=[{"method": "cash", "received": "33.00"}]),
        headers=clerk,
    ).json()
    number = sold["order"]["number"]
    # over the API: one mug back, refunded in cash
    done = client.post(
        "/api/v1/pos/returns",
        headers=clerk,
        json={
            "register": "R1",
            "order": number,
            "lines": [{"line_no": 1, "quantity": 1, "reason": "damaged"}],
        },
    )
    assert done.status_code == 201, done.text
    assert (done.json()["refunded"]["amount"], done.json()["cash_out"]["amount"]) == ("11.00", "11.00")
    refused = client.post(
        "/api/v1/pos/returns",
        headers=clerk,
        json={
            "register": "R1",
            "order": number,
            "lines": [{"line_no": 1, "quantity": 5, "reason": "damaged"}],
        },
    )
    assert [e["field"] for e in refused.json()["errors"]] == ["lines.0.quantity"]
    assert (
        client.post(
            "/api/v1/pos/returns",
            headers=key(admin_db, "readonly"),
            json={
                "register": "R1",
                "order": number,
                "lines": [{"line_no": 1, "quantity": 1, "reason": "damaged"}],
            },
        ).status_code
        == 403
    )
    # on the console: the order's lines, then one more mug back as store credit
    csrf = login(client, admin_db, role="store")
    page = client.get(f"/pos/returns?order={number}")
    assert page.status_code == 200 and 'name="quantity-1"' in page.text
    taken = client.post(
        "/pos/returns",
        data={
            "csrf_token": csrf,
            "order": number,
            "register_code": "R1",
            "quantity-1": "1",
            "reason-1": "wrong_item",
            "refund_to": "store_credit",
        },
    )
    assert taken.status_code == 201 and 'id="store-credit"' in taken.text, taken.text
    # what other locations hold, for an endless-aisle delivery
    lamps = client.get("/api/v1/pos/registers/R1/availability?sku=LAMP", headers=clerk).json()
    assert (lamps["here"], lamps["elsewhere"]) == (0, [{"location": "EAST", "available": 2}])


def test_a_receipt_is_e_mailed_through_the_configured_mail_server_and_a_bad_address_is_refused(
    client: TestClient, admin_db: Any, settings: Any
):
    from pydantic import SecretStr

    from tests.integration.test_scheduled_reports import Controller, Inbox, _free_port

    make_pos_shop(admin_db)
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app: Any = client.app
    app.state.settings = settings.model_copy(update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{port}")})
    try:
        csrf = login(client, admin_db, role="store")
        body = sale_body(("CAP", 1))
        assert client.post("/api/v1/pos/sales", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
        page = client.get(f"/pos/receipts/{body['id']}")
        assert 'id="email-receipt"' in page.text
        # a bad address: refused, nothing sent
        bad = client.post(f"/pos/receipts/{body['id']}/email", data={"csrf_token": csrf, "email": "a@b, c@d"})
        assert bad.status_code == 422 and inbox.messages == []
        sent = client.post(
            f"/pos/receipts/{body['id']}/email",
            data={"csrf_token": csrf, "email": "ann@example.com"},
            follow_redirects=False,
        )
        assert sent.status_code == 303
    finally:
        controller.stop()
        app.state.settings = settings
    ((to, message),) = inbox.messages
    assert to == ["ann@example.com"] and message["Subject"].startswith("Your receipt from Ordersmith SF")
    text = message.get_content()
    assert "1 x Cap" in text and "13.75" in text and "Change" in text


def test_a_register_is_renamed_closed_while_no_shift_is_open_and_opened_again(
    client: TestClient, admin_db: Any, db: Database
):
    # given a store's register with an open shift, a manager and a clerk
    make_pos_shop(admin_db)
    manager, clerk = key(admin_db, "manager"), key(admin_db, "store")
    shift = client.post("/api/v1/pos/registers/R1/shifts", json={"opening_float": "50.00"}, headers=manager)
    assert shift.status_code == 201, shift.text
    before = counts(db)
    # when it is renamed
    renamed = client.patch("/api/v1/pos/registers/R1", json={"name": "  Side till "}, headers=manager)
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["active"]) == ("Side till", True)
    # refusals change nothing: closing with the shift open (409 naming it), an empty name, a clerk, unknown fields
    open_shift = client.patch("/api/v1/pos/registers/R1", json={"active": False}, headers=manager)
    assert (open_shift.status_code, open_shift.json()["code"]) == (409, "shift_open")
    assert open_shift.json()["shift"] == shift.json()["id"]
    empty = client.patch("/api/v1/pos/registers/R1", json={"name": ""}, headers=manager)
    assert empty.status_code == 422 and [e["field"] for e in empty.json()["errors"]] == ["name"]
    assert client.patch("/api/v1/pos/registers/R1", json={"active": False}, headers=clerk).status_code == 403
    extra = client.patch("/api/v1/pos/registers/R1", json={"store": "EAST"}, headers=manager)
    assert extra.status_code == 422
    assert client.patch("/api/v1/pos/registers/NOPE", json={"name": "x"}, headers=manager).status_code == 404
    got = client.get("/api/v1/pos/registers/R1", headers=clerk).json()
    assert (got["name"], got["active"], got["open_shift"]) == ("Side till", True, shift.json()["id"])
    # then, the shift closed, the register closes: no shift opens and no sale is taken there
    closed_shift = client.post(f"/api/v1/pos/shifts/{shift.json()['id']}/close", json={"counted": "50.00"},
                               headers=manager)  # fmt: skip
    assert closed_shift.status_code == 200, closed_shift.text
    closed = client.patch("/api/v1/pos/registers/R1", json={"active": False}, headers=manager)
    assert (closed.status_code, closed.json()["active"]) == (200, False)
    refused_shift = client.post("/api/v1/pos/registers/R1/shifts", json={"opening_float": "50.00"},
                                headers=manager)  # fmt: skip
    assert refused_shift.status_code == 422 and refused_shift.json()["errors"][0]["field"] == "register"
    refused_sale = client.post("/api/v1/pos/sales", json=sale_body(("TEE", 1)), headers=clerk)
    assert refused_sale.status_code == 422, refused_sale.text
    assert counts(db) == before
    # but a sale the till handed over offline before it heard of the close is taken (never lost), and sent again
    # it answers its order
    offline = sale_body(("TEE", 1), offline=True)
    taken = client.post("/api/v1/pos/sales", json=offline, headers=clerk)
    assert taken.status_code == 201, taken.text
    again = client.post("/api/v1/pos/sales", json=offline, headers=clerk)
    assert again.status_code in (200, 201) and again.json()["order"]["id"] == taken.json()["order"]["id"]
    before = counts(db)
    # opened again, it sells
    assert client.patch("/api/v1/pos/registers/R1", json={"active": True}, headers=manager).json()["active"]
    assert client.post("/api/v1/pos/sales", json=sale_body(("TEE", 1)), headers=clerk).status_code == 201
    # each change is audited with before and after
    with db.session() as session:
        changes = session.scalars(
            sa.select(AuditRow).where(AuditRow.action == "pos.register_changed").order_by(AuditRow.id)
        ).all()
    assert [(c.before["active"], c.after["active"]) for c in changes] == [
        (True, True),
        (True, False),
        (False, True),
    ]


def test_a_till_s_channel_key_cannot_change_a_register(client: TestClient, admin_db: Any, db: Database):
    make_pos_shop(admin_db)
    till = key(admin_db, "store", channel="till")
    answer = client.patch("/api/v1/pos/registers/R1", json={"active": False}, headers=till)
    assert answer.status_code == 403
    assert client.get("/api/v1/pos/registers/R1", headers=till).json()["active"] is True
