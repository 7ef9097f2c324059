"""Drop-ship under concurrency, through a real server on SQLite and PostgreSQL: six confirmations of one drop-ship
shipment at once (a vendor's system retrying, a person typing it in) ship its line once, confirm the PO once and
touch no stock."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from ordersmith.catalog import service as catalog
from ordersmith.inventory import service as inventory
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork
from ordersmith.pricing import service as pricing
from ordersmith.purchasing import service as purchasing
from tests.builders import make_api_key, make_order_shop, make_vendor
from tests.races.test_fulfillment_race import codes, payloads, place, rows, settled, shipments_of, staff
from tests.races.test_payment_race import race
from tests.support.server import running_server

pytestmark = pytest.mark.slow


@pytest.fixture
def shop(uow: UnitOfWork) -> str:
    """The order shop plus a sofa its vendor ACME ships straight to the customer. Returns a staff key."""
    make_order_shop(uow)
    make_vendor(uow, code="ACME")
    catalog.create_item(uow, sku="SOFA", name="Sofa", kind="drop_ship", divisions=["web"], weight_g=40000)
    purchasing.set_vendor_item(uow, vendor="ACME", sku="SOFA", vendor_sku="AC-SOFA",
                               cost=Money(Decimal("120.00"), "USD"), preferred=True)  # fmt: skip
    pricing.create_price_list(uow, code="sofas", name="Sofas", currency="USD",
                              prices=[pricing.PriceEntry("SOFA", Money(Decimal("300.00"), "USD"))])  # fmt: skip
    return make_api_key(uow, name="staff").secret


def test_six_confirmations_of_one_drop_ship_ship_its_line_once(
    db_url: str, uow: UnitOfWork, shop: str, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {shop}"}
    with running_server(db_url, tmp_path / "server.log") as server, staff(server.url, shop) as client:
        # given an order of two sofas, routed by the relay to ACME on a drop-ship shipment and PO
        order = place(client, server.url, [("SOFA", 2)])
        (shipment,) = shipments_of(client, server.url, order["number"])
        number = shipment["number"]
        assert (shipment["location"], shipment["status"], shipment["units"]) == ("VENDOR:ACME", "pending", 2)
        settled(uow)
        (listed,) = client.get("/api/v1/drop-ship").json()["items"]
        po_number = listed["purchase_order"]
        # when six confirmations arrive at once
        answers = race(6, lambda c, i: c.post(f"{server.url}/api/v1/drop-ship/{number}/confirm", headers=auth,
                                              json={"tracking": f"AC{i:03d}", "carrier": "ups"}))  # fmt: skip
        settled(uow)
        after = client.get(f"/api/v1/shipments/{number}").json()
        order_after = client.get(f"/api/v1/orders/{order['id']}").json()
        po = client.get(f"/api/v1/purchase-orders/{po_number}").json()
        still_open = client.get("/api/v1/drop-ship").json()["items"]
    # then one moved it; the five others were refused naming its state
    assert codes(answers) == Counter({(200, ""): 1, (409, "illegal_transition"): 5}), [
        a.text for a in answers
    ]
    winner = next(a.json() for a in answers if a.status_code == 200)
    assert (after["status"], after["tracking_number"]) == ("shipped", winner["tracking_number"])
    assert [(line["status"], line["quantity"]) for line in after["lines"]] == [("shipped", 2)]
    # and the line shipped once, the PO confirmed once and closed, no stock moved anywhere
    assert (order_after["status"], order_after["lines"][0]["shipped"]) == ("shipped", 2)
    assert [p["to"] for p in payloads(uow, "order.shipped")] == ["shipped"]
    assert [p["tracking_number"] for p in payloads(uow, "shipment.shipped")] == [winner["tracking_number"]]
    assert (po["status"], po["lines"][0]["received"], po["lines"][0]["cancelled"]) == ("closed", 2, 0)
    assert len(payloads(uow, "po.drop_ship_confirmed")) == 1
    assert rows(uow, "SELECT count(*) FROM stock_movements WHERE reason <> 'receipt'") == [(0,)]
    assert still_open == []
    assert inventory.verify(uow) == []
