"""Line-level source codes through the ASGI app on SQLite and PostgreSQL: an order line's `source_code` is checked
like the order's (a bad one is a problem naming the line's field, and nothing is written), prices the line with its
offer, and shows on the order and in the results per key code."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.kernel.money import Money
from ordersmith.platform.db import Database
from ordersmith.pricing import service as pricing
from tests.api.conftest import bearer
from tests.api.test_marketing_api import CAMPAIGN, CODE, fall_book
from tests.api.test_payments_api import ADDRESS
from tests.builders import make_order_shop


def rows(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def test_an_order_line_keyed_with_another_code_is_priced_with_its_offer_and_a_bad_one_is_refused(
    client: TestClient, admin_key, admin_db, db
):
    # given the fall book's code F26H1 (tees at 18) and a gift book code GIFT1 whose list prices mugs at 7
    make_order_shop(admin_db)
    fall_book(admin_db)
    pricing.create_price_list(
        admin_db,
        code="GIFTBOOK",
        name="Gift book",
        currency="USD",
        offer_only=True,
        prices=[pricing.PriceEntry("MUG", Money(Decimal("7.00"), "USD"))],
    )
    client.post("/api/v1/campaigns", json=CAMPAIGN, headers=bearer(admin_key))
    client.post("/api/v1/source-codes", json=CODE, headers=bearer(admin_key))
    gift = {
        **CODE,
        "code": "gift1",
        "segment": "gift book",
        "quantity_mailed": 5000,
        "price_list": "GIFTBOOK",
    }
    assert client.post("/api/v1/source-codes", json=gift, headers=bearer(admin_key)).status_code == 201
    order = {"ship_tos": [ADDRESS], "channel": "phone", "source_code": "F26H1"}
    # when an order's mug line carries a typo, then a text too long to be a code
    for code, status in (("TYPO-NOPE", 422), ("X" * 41, 422)):
        lines = [{"sku": "TEE", "quantity": 2}, {"sku": "MUG", "quantity": 1, "source_code": code}]
        refused = client.post("/api/v1/orders", json={**order, "lines": lines}, headers=bearer(admin_key))
        # then it is a problem naming that line's field, and nothing is written
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == ["lines.1.source_code"]
    assert (rows(db, "orders"), rows(db, "order_lines"), rows(db, "customers")) == (0, 0, 0)
    # when the mug line carries the gift book's code
    lines = [{"sku": "TEE", "quantity": 2}, {"sku": "MUG", "quantity": 1, "source_code": "gift1"}]
    keyed = client.post("/api/v1/orders", json={**order, "lines": lines}, headers=bearer(admin_key))
    # then the tee is the fall book's, the mug the gift book's, and each line shows the code it counts under
    assert keyed.status_code == 201, keyed.text
    body = keyed.json()
    assert body["source_code"] == "F26H1"
    assert [
        (x["sku"], x["unit_price"]["amount"], x["price_list"], x["source_code"], x["own_source_code"])
        for x in body["lines"]
    ] == [("TEE", "18.00", "FALLBOOK", "F26H1", None), ("MUG", "7.00", "GIFTBOOK", "GIFT1", "GIFT1")]
    again = client.get(f"/api/v1/orders/{body['id']}", headers=bearer(admin_key)).json()
    assert [x["source_code"] for x in again["lines"]] == ["F26H1", "GIFT1"]
    # and the results count the mug's demand under GIFT1 and the tees' under F26H1, each one order
    results = client.get("/api/v1/reports/source-codes", headers=bearer(admin_key)).json()["rows"]
    assert [(r["source_code"], r["orders"], r["gross_demand"], r["matched_orders"]) for r in results] == [
        ("F26H1", 1, "36.00", 0),
        ("GIFT1", 1, "7.00", 0),
    ]
    # and nothing is costed yet (nothing shipped): COGS and the margin are empty, never a guess
    assert [(r["cogs"], r["contribution_margin"], r["uncosted_units"]) for r in results] == [
        (None, None, 2),
        (None, None, 1),
    ]
