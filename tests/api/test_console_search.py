"""The console's search and customer screens through the ASGI app, on SQLite and PostgreSQL: the exact phone
number first, and phones as people read them (`(303) 555-0167`), never raw E.164."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from ordersmith.customers import service as customers
from ordersmith.customers.service import Details, Phone
from tests.api.conftest import login


def test_the_console_search_ranks_the_exact_number_first_and_shows_phones_formatted(
    client: TestClient, admin_db: Any
) -> None:
    # given a caller and someone whose number shares its last seven digits, and a customer abroad
    caller = customers.create_customer(admin_db, details=Details(first_name="Zoe", last_name="Young",
                                                                 phones=[Phone("303 555 0167")]))  # fmt: skip
    other = customers.create_customer(admin_db, details=Details(first_name="Abe", last_name="Adams",
                                                                phones=[Phone("720-555-0167")]))  # fmt: skip
    abroad = customers.create_customer(admin_db, details=Details(first_name="Ian", last_name="Hill",
                                                                 phones=[Phone("+44 20 7946 0958")]))  # fmt: skip
    login(client, admin_db, role="agent")
    # when the agent types the caller's whole number
    results = client.get("/search/results", params={"q": "(303) 555-0167"})
    assert results.status_code == 200
    # then the caller is the first customer, and every phone reads as dialled
    found = re.findall(r'href="/customers/(C-\d+)"', results.text)
    assert found == [caller.number, other.number]
    assert "(303) 555-0167" in results.text and "(720) 555-0167" in results.text
    assert "+1303" not in results.text and "+1720" not in results.text
    page = client.get("/customers", params={"q": "hill"})
    assert "+44 20 7946 0958" in page.text and "+442079460958" not in page.text
    customer = client.get(f"/customers/{caller.number}")
    assert (
        customer.status_code == 200
        and "(303) 555-0167" in customer.text
        and "+13035550167" not in customer.text
    )
    assert abroad.number in client.get("/search", params={"q": "+44 20 7946 0958"}).text


def test_the_api_keeps_phones_in_e164(client: TestClient, admin_db: Any, admin_key: str) -> None:
    made = customers.create_customer(admin_db, details=Details(first_name="Zoe", last_name="Young",
                                                               phones=[Phone("303 555 0167")]))  # fmt: skip
    got = client.get(f"/api/v1/customers/{made.number}", headers={"Authorization": f"Bearer {admin_key}"})
    assert [p["number"] for p in got.json()["phones"]] == ["+13035550167"]
