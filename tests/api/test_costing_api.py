"""Inventory costing through the ASGI app (ADR 0041): a landed-cost charge entered once per idempotency key and
read back posted, refusals as problem+json naming the field with nothing changed, the valuation and the costing
policy, a vendor bill's freight line; who may do any of it (an agent: 403; a channel-bound key: 404, nothing)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.catalog import service as catalog
from ordersmith.finance import service as finance
from ordersmith.kernel.money import Money
from ordersmith.platform.access import CHANNEL_KEY_SCOPES
from ordersmith.platform.db import Database
from ordersmith.purchasing import service as purchasing
from tests.api.conftest import bearer, login
from tests.builders import make_api_key, make_channel, make_location, make_vendor

TABLES = (
    "finance_landed_costs",
    "finance_landed_cost_lines",
    "finance_costing_policies",
    "finance_location_costs",
)


def counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t: int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()) for t in TABLES}


def received(uow) -> tuple[str, str]:
    """10 mugs (300 g) at 2.00 and 4 lamps (no weight) at 5.00 received at EAST, posted: (PO, receipt id)."""
    finance.ensure_chart(uow)
    make_location(uow, code="EAST")
    catalog.create_item(uow, sku="MUG", name="Mug", divisions=["web"], weight_g=300)
    catalog.create_item(uow, sku="LAMP", name="Lamp", divisions=["web"])
    make_vendor(uow, code="ACME")
    lines = [
        purchasing.NewLine("MUG", 10, unit_cost=Money(Decimal("2.00"), "USD")),
        purchasing.NewLine("LAMP", 4, unit_cost=Money(Decimal("5.00"), "USD")),
    ]
    po = purchasing.create_purchase_order(uow, vendor="ACME", location="EAST", lines=lines)
    purchasing.approve(uow, number=po.number)
    purchasing.send(uow, number=po.number)
    wanted = [
        purchasing.ReceivedLine(sku="MUG", quantity=10),
        purchasing.ReceivedLine(sku="LAMP", quantity=4),
    ]
    purchasing.receive(uow, number=po.number, lines=wanted)
    finance.replay_outbox(uow)
    return po.number, str(purchasing.receipts_of(uow, number=po.number)[0].id)


def charge(receipt: str, amount: str = "9.00", **more: object) -> dict[str, object]:
    return {
        "kind": "freight",
        "basis": "value",
        "amount": {"amount": amount, "currency": "USD"},
        "receipts": [receipt],
        **more,
    }


def test_an_accountant_enters_a_landed_cost_once_per_idempotency_key_and_reads_it_posted(
    client: TestClient, admin_db, db
):
    # given 20.00 of mugs and 20.00 of lamps received, and an accountant signed in
    po, receipt = received(admin_db)
    csrf = {"X-CSRF-Token": login(client, admin_db, role="accountant")}
    # when 9.01 of freight is entered, and the same request is sent again with its key
    key = {"Idempotency-Key": "freight-77", **csrf}
    first = client.post("/api/v1/landed-costs", json=charge(receipt, "9.01", reference="BOL-77"), headers=key)
    again = client.post("/api/v1/landed-costs", json=charge(receipt, "9.01", reference="BOL-77"), headers=key)
    other = client.post("/api/v1/landed-costs", json=charge(receipt, "1.00"), headers=key)
    # then one charge was made, split 4.51 / 4.50 by value (equal values: the odd cent to the earlier line), the
    # repeat replayed it, and the key reused for another body is a conflict
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["number"], body["posted"], body["purchase_orders"], body["reference"]) == (
        "LC-000001",
        False,
        [po],
        "BOL-77",
    )
    assert [(x["sku"], x["basis_amount"], x["allocated"]["amount"]) for x in body["lines"]] == [
        ("MUG", 2000, "4.51"),
        ("LAMP", 2000, "4.50"),
    ]
    assert (again.status_code, again.headers.get("Idempotent-Replayed"), again.json()) == (201, "true", body)
    assert other.status_code == 409, other.text
    assert counts(db)["finance_landed_costs"] == 1
    # when the ledger has posted it
    finance.replay_outbox(admin_db)
    read = client.get(f"/api/v1/landed-costs/{body['number']}", headers=csrf).json()
    assert (read["posted"], read["inventory"], read["cogs"]) == (
        True,
        {"amount": "9.01", "currency": "USD"},
        {"amount": "0.00", "currency": "USD"},
    )
    assert [(x["average_before"]["amount"], x["average_after"]["amount"]) for x in read["lines"]] == [
        ("2.00", "2.45"),
        ("5.00", "6.13"),
    ]
    entry = client.get(f"/api/v1/journal/{read['entry_id']}", headers=csrf).json()
    assert [(x["account_code"], x["debit"]["amount"], x["credit"]["amount"]) for x in entry["lines"]] == [
        ("1300", "9.01", "0.00"),
        ("2060", "0.00", "9.01"),
    ]
    # and it is listed, also by its purchase order, and by id
    assert [c["number"] for c in client.get("/api/v1/landed-costs", headers=csrf).json()["items"]] == [
        "LC-000001"
    ]
    listed = client.get("/api/v1/landed-costs", params={"purchase_order": po}, headers=csrf).json()["items"]
    assert [c["number"] for c in listed] == ["LC-000001"]
    assert client.get(f"/api/v1/landed-costs/{body['id']}", headers=csrf).json()["number"] == "LC-000001"
    assert client.get("/api/v1/landed-costs/LC-000009", headers=csrf).status_code == 404


def test_a_bad_landed_cost_is_refused_as_problem_json_naming_the_field_and_changes_nothing(
    client: TestClient, admin_db, db
):
    po, receipt = received(admin_db)
    key = bearer(make_api_key(admin_db, scopes=["finance:read", "finance:write"], name="books").secret)
    before = counts(db)
    for body, field in [
        (charge(receipt, basis="weight"), "basis"),  # the lamps have no weight
        (charge(str(uuid.UUID(int=5))), "receipts.0"),
        (charge(receipt, purchase_order=po), "receipts"),
        (charge(receipt, "0.00"), "amount"),
        ({**charge(receipt), "amount": {"amount": "5.00", "currency": "EUR"}}, "amount.currency"),
        (charge(receipt, kind="insurance"), "kind"),
        (charge(receipt, reference="x" * 81), "reference"),
        (charge(receipt, "1.001"), "amount"),
    ]:
        refused = client.post("/api/v1/landed-costs", json=body, headers=key)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in refused.json()["errors"]], (field, refused.text)
    assert counts(db) == before


def test_the_valuation_and_the_costing_policy_through_the_api(client: TestClient, admin_db, db):
    # given the mugs and lamps at EAST, costed per item
    received(admin_db)
    key = bearer(make_api_key(admin_db, scopes=["finance:read", "finance:write"], name="books").secret)
    assert client.get("/api/v1/costing-policy", headers=key).json() == {"by_location": False, "items": {}}
    # when the mugs switch to per location
    switched = client.put("/api/v1/costing-policy/items/mug", json={"by_location": True}, headers=key)
    # then EAST starts at the mugs' average with their units and value
    assert switched.status_code == 200, switched.text
    assert switched.json() == {
        "policy": {"by_location": False, "items": {"MUG": True}},
        "switched": [
            {
                "sku": "MUG",
                "by_location": True,
                "units": 10,
                "value": {"amount": "20.00", "currency": "USD"},
                "locations": [
                    {
                        "location": "EAST",
                        "units": 10,
                        "value": {"amount": "20.00", "currency": "USD"},
                        "average": {"amount": "2.00", "currency": "USD"},
                    }
                ],
            }
        ],
    }
    # and the valuation shows both, EAST's total and the subledger equal to the inventory account
    valuation = client.get("/api/v1/inventory-valuation", headers=key).json()
    assert [
        (r["sku"], r["location"], r["basis"], r["units"], r["value"]["amount"]) for r in valuation["rows"]
    ] == [
        ("LAMP", "EAST", "item", 4, "20.00"),
        ("MUG", "EAST", "location", 10, "20.00"),
    ]
    assert valuation["locations"] == [
        {"location": "EAST", "currency": "USD", "units": 14, "value": {"amount": "40.00", "currency": "USD"}}
    ]
    assert [
        (c["subledger"]["amount"], c["control"]["amount"], c["difference"]["amount"])
        for c in valuation["reconciliation"]
    ] == [("40.00", "40.00", "0.00")]
    only = client.get(
        "/api/v1/inventory-valuation", params={"sku": "LAMP", "location": "EAST"}, headers=key
    ).json()
    assert [r["sku"] for r in only["rows"]] == ["LAMP"]
    # and everyone's switch, a null for everyone, and an unknown item
    assert client.put("/api/v1/costing-policy", json={"by_location": True}, headers=key).json()["policy"] == {
        "by_location": True,
        "items": {"MUG": True},
    }
    refused = client.put("/api/v1/costing-policy", json={"by_location": None}, headers=key)
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "by_location")
    assert (
        client.put("/api/v1/costing-policy/items/NOPE", json={"by_location": True}, headers=key).status_code
        == 404
    )


def test_a_vendor_bill_with_a_freight_line_through_the_api(client: TestClient, admin_db, db):
    po, _receipt = received(admin_db)
    key = bearer(make_api_key(admin_db, scopes=["payables:read", "payables:write"], name="ap").secret)
    lines = [
        {"po_line": 1, "quantity": 10, "unit_price": "2.00"},
        {"kind": "freight", "quantity": 1, "unit_price": "7.50"},
    ]
    made = client.post(
        "/api/v1/vendor-bills",
        json={"purchase_order": po, "vendor_invoice": "INV-1", "billed_on": "2026-11-02", "lines": lines},
        headers=key,
    )
    assert made.status_code == 201, made.text
    bill = made.json()
    assert (
        bill["status"],
        bill["total"]["amount"],
        bill["charges"]["amount"],
        bill["variance"]["amount"],
    ) == (
        "matched",
        "27.50",
        "7.50",
        "0.00",
    )
    assert [(x["kind"], x["po_line"]) for x in bill["lines"]] == [("goods", 1), ("freight", 0)]
    goods_without_line = {
        "purchase_order": po,
        "vendor_invoice": "INV-2",
        "billed_on": "2026-11-02",
        "lines": [{"quantity": 1, "unit_price": "2.00"}],
    }
    refused = client.post("/api/v1/vendor-bills", json=goods_without_line, headers=key)
    assert (refused.status_code, [e["field"] for e in refused.json()["errors"]]) == (422, ["lines.0.po_line"])


def test_an_agent_is_refused_and_a_channel_bound_key_finds_no_costing(client: TestClient, admin_db, db):
    _po, receipt = received(admin_db)
    staff = bearer(make_api_key(admin_db, scopes=["finance:read", "finance:write"], name="books").secret)
    made = client.post("/api/v1/landed-costs", json=charge(receipt), headers=staff).json()
    # a warehouse clerk and an agent hold no finance scope
    login(client, admin_db, role="warehouse")
    assert client.post("/api/v1/landed-costs", json=charge(receipt)).status_code == 403
    client.cookies.clear()
    login(client, admin_db, role="agent")
    assert client.get("/api/v1/landed-costs").status_code == 403
    client.cookies.clear()
    # a channel's key, even one holding everything a channel key may hold, finds nothing: 404 everywhere
    make_channel(admin_db, code="shop", kind="web")
    key = bearer(make_api_key(admin_db, scopes=sorted(CHANNEL_KEY_SCOPES), channel="shop").secret)
    before = counts(db)
    for method, path, body in [
        ("GET", "/api/v1/landed-costs", None),
        ("GET", f"/api/v1/landed-costs/{made['number']}", None),
        ("POST", "/api/v1/landed-costs", charge(receipt)),
        ("GET", "/api/v1/inventory-valuation", None),
        ("GET", "/api/v1/costing-policy", None),
        ("PUT", "/api/v1/costing-policy", {"by_location": True}),
        ("PUT", "/api/v1/costing-policy/items/MUG", {"by_location": True}),
        ("POST", "/api/v1/inventory-valuation/true-up", {"account": "5100"}),
    ]:
        response = client.request(method, path, headers=key, json=body)
        assert response.status_code == 404, (path, response.text)
        assert made["number"] not in response.text
    assert counts(db) == before


def _journal(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT COUNT(*) FROM journal_entries")).scalar_one())


def test_an_upgraded_database_s_rounding_drift_is_trued_up_once_and_a_bad_account_posts_nothing(
    client: TestClient, admin_db, db
):
    # given the mugs and lamps posted (40.00 on both sides), then the drift an upgrade seeds: the mugs' value at
    # units times an old average, 0.07 above what the inventory account holds
    received(admin_db)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE finance_item_costs SET value_minor = value_minor + 7 WHERE value_minor = 2000 "
                             "AND units = 10 AND average_cost_minor = 200"))  # fmt: skip
    key = bearer(make_api_key(admin_db, scopes=["finance:read", "finance:write"], name="books").secret)
    (check,) = client.get("/api/v1/inventory-valuation", headers=key).json()["reconciliation"]
    assert (check["subledger"]["amount"], check["control"]["amount"]) == ("40.07", "40.00")
    entries = _journal(db)
    # when the true-up names no account, an unknown one, or the inventory account itself
    for body, field in (({}, "account"), ({"account": "9999"}, "account"), ({"account": "1300"}, "account"),
                        ({"account": "5100\x00"}, "account")):  # fmt: skip
        refused = client.post("/api/v1/inventory-valuation/true-up", json=body, headers=key)
        # then it is refused naming the account, and nothing is posted
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"].endswith(field)
    assert _journal(db) == entries
    # when it goes to inventory shrinkage
    done = client.post("/api/v1/inventory-valuation/true-up", json={"account": "5100"}, headers=key)
    # then one entry debits the inventory account 0.07 against 5100, and the two agree
    assert done.status_code == 200, done.text
    (entry,) = done.json()["entries"]
    assert (entry["currency"], entry["amount"], entry["account"]) == (
        "USD",
        {"amount": "0.07", "currency": "USD"},
        "5100",
    )
    posted = finance.get_entry(admin_db, entry_id=uuid.UUID(entry["entry_id"]))
    assert posted.rule == "inventory_true_up"
    assert sorted((x.account_code, x.debit.minor, x.credit.minor) for x in posted.lines) == [
        ("1300", 7, 0),
        ("5100", 0, 7),
    ]
    (check,) = client.get("/api/v1/inventory-valuation", headers=key).json()["reconciliation"]
    assert check["difference"]["amount"] == "0.00"
    # and a second true-up finds nothing to post
    again = client.post("/api/v1/inventory-valuation/true-up", json={"account": "5100"}, headers=key)
    assert (again.status_code, again.json()) == (200, {"entries": []})
    assert _journal(db) == entries + 1
    # and a reader (finance:read only) may not post it
    reader = bearer(make_api_key(admin_db, scopes=["finance:read"], name="reader").secret)
    assert (
        client.post(
            "/api/v1/inventory-valuation/true-up", json={"account": "5100"}, headers=reader
        ).status_code
        == 403
    )
