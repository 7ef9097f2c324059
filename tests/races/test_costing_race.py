"""Landed-cost charges under concurrency, through a real server on SQLite and PostgreSQL (ADR 0041): eight identical
charges sent at once under one idempotency key make one charge; six different charges at once are all made and all
posted, each exactly once, and the items' moving averages come out as if they had arrived one by one; an item
switched to per-location cost while charges post loses no value; the inventory subledger still equals the
inventory account."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.finance import service as finance
from ordersmith.inventory import service as inventory
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork
from ordersmith.purchasing import service as purchasing
from tests.builders import make_api_key, make_location, make_vendor
from tests.races.test_fulfillment_race import codes, rows, settled, staff
from tests.races.test_payment_race import race
from tests.support.server import running_server

pytestmark = pytest.mark.slow


@pytest.fixture
def books(uow: UnitOfWork) -> tuple[str, str]:
    """10 mugs at 2.00 and 10 lamps at 5.00 received on one receipt, 4 of the mugs lost since (6 costed in). Returns
    a key holding the finance scopes and the receipt's id."""
    finance.ensure_chart(uow)
    make_location(uow, code="EAST")
    catalog.create_item(uow, sku="MUG", name="Mug", divisions=["web"], weight_g=300)
    catalog.create_item(uow, sku="LAMP", name="Lamp", divisions=["web"], weight_g=2000)
    make_vendor(uow, code="ACME")
    usd = {"MUG": Money(Decimal("2.00"), "USD"), "LAMP": Money(Decimal("5.00"), "USD")}
    lines = [purchasing.NewLine(sku, 10, unit_cost=cost) for sku, cost in usd.items()]
    po = purchasing.create_purchase_order(uow, vendor="ACME", location="EAST", lines=lines)
    purchasing.approve(uow, number=po.number)
    purchasing.send(uow, number=po.number)
    purchasing.receive(
        uow, number=po.number, lines=[purchasing.ReceivedLine(sku=s, quantity=10) for s in usd]
    )
    inventory.adjust_stock(uow, sku="MUG", location="EAST", quantity=-4, reason="damaged")
    key = make_api_key(uow, name="books", scopes=["finance:read", "finance:write"]).secret
    return key, str(purchasing.receipts_of(uow, number=po.number)[0].id)


def charge(receipt: str, amount: str, reference: str) -> dict[str, object]:
    return {
        "kind": "freight",
        "basis": "units",
        "amount": {"amount": amount, "currency": "USD"},
        "receipts": [receipt],
        "reference": reference,
    }


def test_racing_landed_cost_charges_are_made_once_per_key_and_each_posted_once(
    db_url: str, uow: UnitOfWork, books: tuple[str, str], tmp_path: Path
) -> None:
    key, receipt = books
    auth = {"Authorization": f"Bearer {key}"}
    with running_server(db_url, tmp_path / "server.log") as server, staff(server.url, key) as client:
        url = server.url
        settled(uow)  # the receipt and the loss are posted: 6 mugs (12.00) and 10 lamps (50.00) in stock
        # when eight identical 10.00 charges arrive at once under one idempotency key
        same = race(
            8,
            lambda c, i: c.post(
                f"{url}/api/v1/landed-costs",
                json=charge(receipt, "10.00", "BOL-1"),
                headers={**auth, "Idempotency-Key": "bol-1"},
            ),
        )
        # and six different charges (1.00 … 6.00) at once, each under its own key
        different = race(
            6,
            lambda c, i: c.post(
                f"{url}/api/v1/landed-costs",
                json=charge(receipt, f"{i + 1}.00", f"BOL-{i + 2}"),
                headers={**auth, "Idempotency-Key": f"bol-{i + 2}"},
            ),
        )
        settled(uow)
        listed = client.get("/api/v1/landed-costs", params={"limit": 20}).json()["items"]
        valuation = client.get("/api/v1/inventory-valuation").json()
    # then the eight made one charge and all eight got its answer
    assert codes(same) == Counter({(201, ""): 8}), [a.text for a in same]
    assert len({a.json()["number"] for a in same}) == 1
    # and the six made six charges
    assert codes(different) == Counter({(201, ""): 6}), [a.text for a in different]
    assert len(listed) == 7
    assert rows(uow, "SELECT count(*), sum(amount_minor) FROM finance_landed_costs") == [(7, 3100)]
    # and each was posted exactly once: half of each on the mugs (6 of their 10 in stock: 60 % to inventory,
    # 40 % to cost of goods sold), half on the lamps (all in stock)
    assert rows(
        uow, "SELECT rule, count(*) FROM journal_entries WHERE rule = 'landed_cost.recorded' GROUP BY rule"
    ) == [("landed_cost.recorded", 7)]
    by_charge = {c["reference"]: (c["posted"], c["inventory"]["amount"], c["cogs"]["amount"]) for c in listed}
    assert by_charge["BOL-1"] == (True, "8.00", "2.00")
    assert by_charge["BOL-7"] == (True, "4.80", "1.20")
    # and the averages are as if the charges had come one by one: mugs 12.00 + 3.00 + 6.30 over 6 units,
    # lamps 50.00 + 5.00 + 10.50 over 10
    assert rows(
        uow, "SELECT sku, units, value_minor, average_cost_minor FROM finance_item_costs ORDER BY sku"
    ) == [
        ("LAMP", 10, 6550, 655),
        ("MUG", 6, 2130, 355),
    ]
    # and the inventory subledger equals the inventory account
    assert [(c["subledger"]["amount"], c["difference"]["amount"]) for c in valuation["reconciliation"]] == [
        ("86.80", "0.00")
    ]
    assert finance.unposted_amount(uow, currency="USD").is_zero()


def test_switching_to_per_location_cost_while_charges_post_changes_no_value(
    db_url: str, uow: UnitOfWork, books: tuple[str, str], tmp_path: Path
) -> None:
    key, receipt = books
    auth = {"Authorization": f"Bearer {key}"}
    with running_server(db_url, tmp_path / "server.log") as server, staff(server.url, key) as client:
        url = server.url
        settled(uow)

        def send(c: httpx.Client, i: int) -> httpx.Response:
            if i == 3:  # the mugs switch to per location while the charges are made and posted
                return c.put(
                    f"{url}/api/v1/costing-policy/items/MUG", json={"by_location": True}, headers=auth
                )
            body = charge(receipt, f"{i + 1}.00", f"BOL-{i + 1}")
            return c.post(f"{url}/api/v1/landed-costs", json=body, headers=auth)

        answers = race(4, send)
        settled(uow)
        valuation = client.get("/api/v1/inventory-valuation").json()
    assert sorted(a.status_code for a in answers) == [200, 201, 201, 201], [a.text for a in answers]
    # then the mugs are costed at EAST with all the item holds: 12.00 + 0.30 + 0.60 + 0.90 over 6 units
    costs = rows(
        uow, "SELECT sku, units, value_minor, average_cost_minor FROM finance_item_costs ORDER BY sku"
    )
    assert costs == [("LAMP", 10, 5300, 530), ("MUG", 6, 1380, 230)]
    located = rows(
        uow, "SELECT sku, location, units, value_minor, average_cost_minor FROM finance_location_costs"
    )
    assert located == [("MUG", "EAST", 6, 1380, 230)]
    assert [(c["subledger"]["amount"], c["difference"]["amount"]) for c in valuation["reconciliation"]] == [
        ("66.80", "0.00")
    ]


def test_eight_true_ups_at_once_post_the_upgrade_s_drift_once(
    db_url: str, uow: UnitOfWork, books: tuple[str, str], tmp_path: Path
) -> None:
    key, _receipt = books
    auth = {"Authorization": f"Bearer {key}"}
    with running_server(db_url, tmp_path / "server.log") as server, staff(server.url, key) as client:
        url = server.url
        settled(uow)  # the receipt and the loss are posted: the subledger equals the inventory account
        # given the drift an upgrade seeds: the lamps' value 0.13 below what the inventory account holds
        with uow.db.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE finance_item_costs SET value_minor = value_minor - 13 WHERE sku = 'LAMP'")
            )
        # when eight accountants true it up at once
        answers = race(
            8,
            lambda c, i: c.post(
                f"{url}/api/v1/inventory-valuation/true-up", json={"account": "5100"}, headers=auth
            ),
        )
        valuation = client.get("/api/v1/inventory-valuation").json()
    # then all eight are answered, one of them with the one entry: 0.13 credited to the inventory account
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    posted = [e for a in answers for e in a.json()["entries"]]
    assert [(e["currency"], e["amount"]["amount"]) for e in posted] == [("USD", "-0.13")]
    assert rows(uow, "SELECT count(*) FROM journal_entries WHERE rule = 'inventory_true_up'") == [(1,)]
    # and the subledger equals the inventory account again
    assert [c["difference"]["amount"] for c in valuation["reconciliation"]] == ["0.00"]
