"""Landed costs and the costing policy in the accountant's console, through the ASGI app on SQLite and PostgreSQL:
a charge entered against a PO's receipts and its split, the policy for every item and for one. Forms are checked by
the API's own models (`LandedCostIn`, `CostingPolicyIn`, `ItemCostingPolicyIn`): a refusal names the field beside
it and writes nothing (row counts); a role without `finance:write` gets no form and its POST is refused."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.finance import service as finance
from tests.api.conftest import login
from tests.api.test_books_console_forms import csrf, field_error
from tests.api.test_costing_api import _journal, counts, received


def _charge(token: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "kind": "freight",
        "basis": "units",
        "amount": "9.00",
        "currency": "USD",
    } | fields


def test_a_landed_cost_is_entered_against_a_po_and_its_split_shown_and_refusals_write_nothing(
    client: TestClient, admin_db, db
):
    # given 10 mugs at 2.00 and 4 lamps at 5.00 received on a PO, and an accountant signed in
    po, receipt = received(admin_db)
    login(client, admin_db, role="accountant")
    form = client.get("/finance/costing")
    assert form.status_code == 200 and 'id="landed-cost"' in form.text
    token = csrf(form.text)
    before = counts(db)
    url = "/finance/costing/landed-costs"
    # when a malformed amount, an unknown kind, a receipt that is no id, an unknown PO or a forged form is sent
    malformed = client.post(url, data=_charge(token, amount="9,00", purchase_order=po))
    kind = client.post(url, data=_charge(token, kind="gold", purchase_order=po))
    not_an_id = client.post(url, data=_charge(token, receipts="R-1"))
    unknown_po = client.post(url, data=_charge(token, purchase_order="P-999999"))
    forged = client.post(url, data=_charge("forged", purchase_order=po))
    # then each is refused beside its field, what was typed stays, and nothing was written
    assert (
        malformed.status_code == 422
        and field_error(malformed.text, "amount")
        and 'value="9,00"' in malformed.text
    )
    assert kind.status_code == 422 and field_error(kind.text, "kind")
    assert not_an_id.status_code == 422 and field_error(not_an_id.text, "receipts")
    assert (
        unknown_po.status_code == 422
        and field_error(unknown_po.text, "purchase_order") == "no purchase order 'P-999999'"
    )
    assert forged.status_code == 403
    assert counts(db) == before
    # when 9.00 of freight is entered against the receipt, split by units
    done = client.post(url, data=_charge(token, receipts=receipt, reference="UPS 88"), follow_redirects=False)
    assert done.status_code == 303
    finance.replay_outbox(admin_db)  # the ledger posts it after commit
    # then its page shows the split: 10 of 14 units → 6.43, 4 → 2.57, all on stock, the averages raised
    shown = client.get(done.headers["location"])
    assert 'id="done"' in shown.text
    lines = shown.text.split('id="charge-lines"')[1].split("</tbody>")[0]
    mug = lines.split("<code>MUG</code>")[1].split("</tr>")[0]
    lamp = lines.split("<code>LAMP</code>")[1].split("</tr>")[0]
    assert "$6.43" in mug and "$2.00 → $2.64" in mug
    assert "$2.57" in lamp and "$5.00 → $5.64" in lamp
    assert "yes: $9.00 to stock, $0.00 to goods sold" in shown.text
    assert counts(db)["finance_landed_costs"] == before["finance_landed_costs"] + 1
    # and the charge is listed, filtered by its PO
    number = re.findall(r"Landed cost (LC-\d+)", shown.text)[0]
    assert (
        f'<tr data-charge="{number}">' in client.get("/finance/costing", params={"purchase_order": po}).text
    )


def test_the_costing_policy_is_set_for_every_item_and_for_one_and_refusals_write_nothing(
    client: TestClient, admin_db, db
):
    received(admin_db)
    login(client, admin_db, role="accountant")
    token = csrf(client.get("/finance/costing").text)
    before = counts(db)
    # when a choice that is none, an unknown SKU, no SKU, or a forged form is sent
    bad_choice = client.post("/finance/costing/policy", data={"csrf_token": token, "by_location": "maybe"})
    unknown = client.post(
        "/finance/costing/policy/items", data={"csrf_token": token, "sku": "NOPE", "item_by_location": "item"}
    )
    no_sku = client.post(
        "/finance/costing/policy/items", data={"csrf_token": token, "item_by_location": "item"}
    )
    forged = client.post("/finance/costing/policy", data={"csrf_token": "forged", "by_location": "location"})
    # then refused beside the field, nothing written
    assert bad_choice.status_code == 422 and field_error(bad_choice.text, "by_location")
    assert unknown.status_code == 404 and field_error(unknown.text, "sku")
    assert no_sku.status_code == 422 and field_error(no_sku.text, "sku")
    assert forged.status_code == 403
    assert counts(db) == before
    # when every item is costed per location, then the lamp per item again
    every = client.post(
        "/finance/costing/policy",
        data={"csrf_token": token, "by_location": "location"},
        follow_redirects=False,
    )
    assert every.status_code == 303
    lamp = client.post(
        "/finance/costing/policy/items",
        data={"csrf_token": token, "sku": "LAMP", "item_by_location": "item"},
        follow_redirects=False,
    )
    assert lamp.status_code == 303
    # then the policy says so, and the switch seeded per-location rows for the mug only
    shown = client.get(lamp.headers["location"])
    assert 'id="policy-everyone">per location<' in shown.text
    assert '<li data-sku="LAMP"><code>LAMP</code>: per item</li>' in shown.text
    assert finance.costing_policy(admin_db).items == {"LAMP": False}
    assert counts(db)["finance_location_costs"] == before["finance_location_costs"] + 1


def test_an_agent_gets_no_costing_screen_and_its_posts_are_refused(client: TestClient, admin_db, db):
    po, _ = received(admin_db)
    token = login(client, admin_db, role="agent")
    before = counts(db)
    assert client.get("/finance/costing").status_code == 403
    assert (
        client.post("/finance/costing/landed-costs", data=_charge(token, purchase_order=po)).status_code
        == 403
    )
    assert (
        client.post(
            "/finance/costing/policy", data={"csrf_token": token, "by_location": "location"}
        ).status_code
        == 403
    )
    entries = _journal(db)
    assert (
        client.post("/finance/costing/true-up", data={"csrf_token": token, "account": "5100"}).status_code
        == 403
    )
    assert counts(db) == before and _journal(db) == entries


def test_the_subledger_is_shown_against_the_inventory_account_and_an_upgrade_s_drift_trued_up_once(
    client: TestClient, admin_db, db
):
    # given the mugs and lamps posted, then the mugs' value seeded 0.03 above the inventory account (an upgrade)
    received(admin_db)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE finance_item_costs SET value_minor = value_minor + 3 WHERE sku = 'MUG'"))
    login(client, admin_db, role="accountant")
    page = client.get("/finance/costing")
    assert 'id="inventory-reconciliation"' in page.text and 'id="true-up"' in page.text
    token = csrf(page.text)
    entries = _journal(db)
    # when the inventory account itself, or a forged form, is sent
    itself = client.post("/finance/costing/true-up", data={"csrf_token": token, "account": "1300"})
    forged = client.post("/finance/costing/true-up", data={"csrf_token": "forged", "account": "5100"})
    # then refused beside the field (and 403), nothing posted
    assert itself.status_code == 422 and "inventory account" in field_error(itself.text, "account")
    assert forged.status_code == 403
    assert _journal(db) == entries
    # when it is trued up against shrinkage
    done = client.post(
        "/finance/costing/true-up", data={"csrf_token": token, "account": "5100"}, follow_redirects=False
    )
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    # then one entry, the difference gone and no form left
    assert "trued up: 0.03 USD to the inventory account" in shown.text
    assert _journal(db) == entries + 1
    assert 'id="true-up"' not in shown.text
    assert re.search(r'<tr data-currency="USD">.*?0\.00</td></tr>', shown.text)
