"""Price lists through the console's Offers screen, on SQLite and PostgreSQL: a new list with its first price, its
name, priority, groups, channels and dates changed, a SKU's price added, changed and removed — checked by the API's
own schemas, made by the same pricing use cases, CSRF-checked and for `pricing:write` only; a refused form names
the field and changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from ordersmith.pricing import service as pricing
from tests.api.conftest import login
from tests.builders import make_order_shop

NEW = {"code": "vip", "name": "VIP prices", "currency": "USD", "priority": "5", "customer_groups": "vip, staff",
       "channels": "", "starts_at": "", "ends_at": "", "sku": "TEE", "unit_price": "9.50",
       "min_quantity": "1"}  # fmt: skip


def _prices(admin_db: Any, code: str = "VIP") -> list[tuple[str, int, Decimal]]:
    return [(p.sku, p.min_quantity, p.unit_price.amount) for p in pricing.list_prices(admin_db, code=code)]


def test_a_price_list_is_made_retargeted_and_its_prices_added_changed_and_removed(
    client: TestClient, admin_db
):  # type: ignore[no-untyped-def]
    # given the marketing team signed in, on a shop selling tees and lamps
    make_order_shop(admin_db)
    csrf = login(client, admin_db, role="marketing")
    # when they make a VIP list with the tee at 9.50
    made = client.post("/marketing/price-lists", data=NEW | {"csrf_token": csrf}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"].startswith("/marketing/price-lists/VIP")
    view = pricing.get_price_list(admin_db, code="VIP")
    assert (view.priority, view.customer_groups, view.prices) == (5, ["staff", "vip"], 1)
    # and add a lamp price, a tee break from 10 units, then change the tee's single-unit price
    for sku, price, qty in (("LAMP", "30.00", "1"), ("TEE", "8.00", "10"), ("TEE", "9.00", "1")):
        done = client.post("/marketing/price-lists/VIP/prices", data={"csrf_token": csrf, "sku": sku,
                           "unit_price": price, "min_quantity": qty}, follow_redirects=False)  # fmt: skip
        assert done.status_code == 303, done.text
    assert sorted(_prices(admin_db)) == [("LAMP", 1, Decimal("30.00")), ("TEE", 1, Decimal("9.00")),
                                         ("TEE", 10, Decimal("8.00"))]  # fmt: skip
    # and remove the tee's 10-unit break, and retarget and re-date the list
    removed = client.post("/marketing/price-lists/VIP/prices/remove", follow_redirects=False,
                          data={"csrf_token": csrf, "sku": "TEE", "min_quantity": "10"})  # fmt: skip
    saved = client.post("/marketing/price-lists/vip", data={"csrf_token": csrf, "name": "Very important",
                        "priority": "7", "customer_groups": "", "channels": "web",
                        "starts_at": "2030-01-01T00:00", "ends_at": ""}, follow_redirects=False)  # fmt: skip
    assert removed.status_code == saved.status_code == 303
    assert sorted(_prices(admin_db)) == [("LAMP", 1, Decimal("30.00")), ("TEE", 1, Decimal("9.00"))]
    view = pricing.get_price_list(admin_db, code="VIP")
    assert (view.name, view.priority, view.customer_groups, view.channels) == (
        "Very important",
        7,
        [],
        ["web"],
    )
    assert view.starts_at is not None and view.starts_at.year == 2030 and view.ends_at is None
    # then the list's page shows its prices, and the offers page links to it
    page = client.get("/marketing/price-lists/VIP")
    assert page.status_code == 200 and "<code>LAMP</code>" in page.text and "30.00" in page.text
    assert '<a href="/marketing/price-lists/VIP">' in client.get("/marketing").text
    assert "<code>LAMP</code>" not in client.get("/marketing/price-lists/VIP", params={"sku": "TEE"}).text


def test_a_refused_price_list_form_names_the_field_and_changes_nothing(client: TestClient, admin_db):  # type: ignore[no-untyped-def]
    # given a VIP list with the tee at 9.50
    make_order_shop(admin_db)
    csrf = login(client, admin_db, role="marketing")
    assert client.post("/marketing/price-lists", data=NEW | {"csrf_token": csrf}).status_code == 200
    before = (pricing.list_price_lists(admin_db), _prices(admin_db))
    # when a new list has a price that is not an amount, a list's end comes before its start, a price is finer
    # than a cent, a SKU is unknown, a removal names no such price, and a form comes without its CSRF token
    bad_new = client.post(
        "/marketing/price-lists", data=NEW | {"csrf_token": csrf, "code": "b2b", "unit_price": "abc"}
    )
    bad_dates = client.post("/marketing/price-lists/VIP", data={"csrf_token": csrf, "name": "VIP", "priority": "5",
                            "starts_at": "2030-02-01T00:00", "ends_at": "2030-01-01T00:00"})  # fmt: skip
    bad_priority = client.post("/marketing/price-lists/VIP", data={"csrf_token": csrf, "name": "VIP",
                               "priority": "5000"})  # fmt: skip
    bad_cents = client.post("/marketing/price-lists/VIP/prices",
                            data={"csrf_token": csrf, "sku": "TEE", "unit_price": "9.505"})  # fmt: skip
    unknown = client.post("/marketing/price-lists/VIP/prices",
                          data={"csrf_token": csrf, "sku": "NOPE", "unit_price": "1.00"})  # fmt: skip
    no_such = client.post("/marketing/price-lists/VIP/prices/remove",
                          data={"csrf_token": csrf, "sku": "TEE", "min_quantity": "10"})  # fmt: skip
    forged = client.post("/marketing/price-lists/VIP/prices/remove", data={"csrf_token": "x", "sku": "TEE"})
    # then each is refused with the field it names, and nothing changed
    assert (bad_new.status_code, bad_dates.status_code, bad_priority.status_code, bad_cents.status_code) == (
        422, 422, 422, 422)  # fmt: skip
    assert "prices.0.unit_price.amount" in bad_new.text and 'id="offers-error"' in bad_new.text
    assert "ends_at" in bad_dates.text and 'id="price-list-error"' in bad_dates.text
    assert "priority" in bad_priority.text and "unit_price" in bad_cents.text
    assert unknown.status_code == no_such.status_code == 404 and "NOPE" in unknown.text
    assert forged.status_code == 403
    assert client.get("/marketing/price-lists/NOPE").status_code == 404
    assert (pricing.list_price_lists(admin_db), _prices(admin_db)) == before  # no B2B list, VIP as it was


def test_only_pricing_writers_change_price_lists(client: TestClient, admin_db):  # type: ignore[no-untyped-def]
    # given an agent signed in (may quote, may not set prices)
    make_order_shop(admin_db)
    csrf = login(client, admin_db, role="agent")
    before = pricing.list_price_lists(admin_db)
    # when they try to make a price list or set a price, then it is forbidden and nothing changed
    assert client.post("/marketing/price-lists", data=NEW | {"csrf_token": csrf}).status_code == 403
    price = {"csrf_token": csrf, "sku": "TEE", "unit_price": "0.01"}
    assert client.post(f"/marketing/price-lists/{before[0].code}/prices", data=price).status_code == 403
    assert pricing.list_price_lists(admin_db) == before
