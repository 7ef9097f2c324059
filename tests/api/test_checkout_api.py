"""Checkout through the HTTP API, on SQLite and PostgreSQL: who may say an order is paid, what a caller may set,
orders that wait for their payment, gift cards on existing orders and in their own currency only, checks above the
limit, verified PayPal payments — and every refusal changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.kernel.money import Money
from ordersmith.orders.tables import OrderRow
from ordersmith.payments.tables import GiftCardRow, PaymentRow
from ordersmith.payments.wallets.sandbox import sandbox_paid_order
from ordersmith.platform import sales_channels
from ordersmith.platform.settings import Settings
from tests.api.conftest import bearer
from tests.api.test_payments_api import ADDRESS, LINES, SHOP_SCOPES, post, tokenize
from tests.builders import make_api_key, make_order_shop


@pytest.fixture
def keys(admin_db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    make_order_shop(admin_db)
    # Channels that collect their payment (the test shop's own channels bill later).
    for code, kind in (("shop", "web"), ("till", "pos"), ("market", "marketplace"), ("post", "catalog")):
        sales_channels.create_sales_channel(
            admin_db, code=code, name=code, kind=kind, division="web", currency="USD"
        )
    return {
        code: make_api_key(admin_db, scopes=SHOP_SCOPES, channel=code, name=code).secret
        for code in ("shop", "till", "market", "post")
    } | {
        "admin": make_api_key(admin_db, name="admin").secret,
        "importer": make_api_key(
            admin_db, scopes=[*SHOP_SCOPES, "orders:import"], channel="shop", name="imp"
        ).secret,
    }


def _counts(admin_db) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with admin_db:
        return (
            int(admin_db.session.scalar(sa.select(sa.func.count()).select_from(OrderRow)) or 0),
            int(admin_db.session.scalar(sa.select(sa.func.count()).select_from(PaymentRow)) or 0),
            int(admin_db.session.scalar(sa.select(sa.func.sum(GiftCardRow.balance_minor))) or 0),
        )


def _order(payments: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"lines": LINES, "ship_tos": [ADDRESS], "payments": payments, **extra}


@pytest.mark.parametrize(
    ("key", "body", "field"),
    [
        ("shop", _order([{"method": "cash"}]), "payments.0.method"),
        ("shop", _order([{"method": "marketplace", "reference": "S-1"}]), "payments.0.method"),
        ("shop", _order([{"method": "check", "reference": "1001"}]), "payments.0.method"),
        ("till", _order([{"method": "marketplace", "reference": "S-1"}]), "payments.0.method"),
        ("shop", _order([{"method": "paypal", "reference": "5O190127TN364715T"}]), "payments.0.reference"),
        ("shop", _order([{"method": "paypal"}]), "payments.0.reference"),
        ("shop", _order([{"method": "card", "token": "x"}], priority=100), "priority"),
        ("shop", _order([{"method": "card", "token": "x"}], placed_at="1970-01-01T00:00:00Z"), "placed_at"),
        (
            "importer",
            _order([{"method": "card", "token": "x"}], placed_at="2999-01-01T00:00:00Z"),
            "placed_at",
        ),
    ],
    ids=[
        "cash-from-web",
        "marketplace-from-web",
        "check-from-web",
        "marketplace-from-pos",
        "unverified-paypal",
        "paypal-no-id",
        "priority-from-channel",
        "placed_at-from-channel",
        "placed_at-in-future",
    ],
)
def test_a_caller_cannot_declare_money_collected_or_set_what_only_imports_and_staff_may(
    client: TestClient, keys: dict[str, str], admin_db, key: str, body: dict[str, Any], field: str
) -> None:
    # given what exists before
    before = _counts(admin_db)
    # when the caller sends it
    problem = post(client, keys[key], "/api/v1/orders", body, 422)
    # then it is refused naming the field, and nothing changed
    assert problem["errors"][0]["field"] == field, problem
    assert _counts(admin_db) == before


def test_cash_from_a_till_and_a_marketplace_payment_from_a_marketplace_are_collected(
    client: TestClient, keys: dict[str, str]
) -> None:
    # when a POS channel takes cash and a marketplace says it collected
    at_till = post(client, keys["till"], "/api/v1/orders", _order([{"method": "cash"}]), 201)
    market = post(
        client, keys["market"], "/api/v1/orders", _order([{"method": "marketplace", "reference": "S-1"}]), 201
    )
    # then both are paid and released
    assert (at_till["status"], at_till["payment_status"]) == ("released", "captured")
    assert (market["status"], market["payment_status"]) == ("released", "captured")


def test_an_order_with_nothing_collected_waits_on_hold_until_a_gift_card_added_by_its_code_pays_it(
    client: TestClient, keys: dict[str, str], admin_db
) -> None:
    # given an order of a collecting channel placed without a tender
    order = post(client, keys["shop"], "/api/v1/orders", _order([]), 201)
    assert (order["status"], order["payment_status"]) == ("on_hold", "pending")
    assert [h["reason"] for h in order["holds"]] == ["pending_payment"]
    code = post(client, keys["admin"], "/api/v1/gift-cards", {"amount": "100.00"}, 201)["code"]
    # when a gift card is added to it by its code
    payment = post(client, keys["shop"], f"/api/v1/orders/{order['id']}/payments",
                   {"method": "gift_card", "token": code}, 201)  # fmt: skip
    # then it pays the order, which is released
    assert (payment["method"], payment["captured"]["amount"]) == ("gift_card", "60.00")
    after = client.get(f"/api/v1/orders/{order['id']}", headers=bearer(keys["shop"])).json()
    assert (after["status"], after["payment_status"]) == ("released", "captured")
    # and a second tender finds nothing unpaid, and changes nothing
    before = _counts(admin_db)
    refused = post(client, keys["shop"], f"/api/v1/orders/{order['id']}/payments",
                   {"method": "gift_card", "token": code}, 422)  # fmt: skip
    assert refused["errors"][0] == {"field": "amount", "message": "0.00 USD of the order is unpaid"}
    assert _counts(admin_db) == before


def test_a_gift_card_pays_only_orders_in_its_own_currency(
    client: TestClient, keys: dict[str, str], admin_db
) -> None:
    # given a EUR gift card and a USD order waiting for its payment
    code = post(client, keys["admin"], "/api/v1/gift-cards", {"amount": "50.00", "currency": "EUR"}, 201)[
        "code"
    ]
    order = post(client, keys["shop"], "/api/v1/orders", _order([]), 201)
    before = _counts(admin_db)
    # when the EUR card is offered for a new USD order, or added to the waiting one
    new = post(client, keys["shop"], "/api/v1/orders", _order([{"method": "gift_card", "token": code}]), 422)
    added = post(client, keys["shop"], f"/api/v1/orders/{order['id']}/payments",
                 {"method": "gift_card", "token": code}, 422)  # fmt: skip
    # then both are refused naming the card, and nothing changed (the card keeps its 50.00)
    assert new["errors"][0]["field"] == "payments.0.token" and "EUR" in new["errors"][0]["message"]
    assert added["errors"][0]["field"] == "payments.0.token"
    assert _counts(admin_db) == before


def test_a_check_is_received_not_captured_and_one_above_the_limit_holds_the_order_until_it_clears(
    client: TestClient, keys: dict[str, str]
) -> None:
    # when a small check and a check above the limit (1,000.00) pay two orders
    small = post(
        client, keys["post"], "/api/v1/orders", _order([{"method": "check", "reference": "1001"}]), 201
    )
    big_body = {"lines": [{"sku": "LAMP", "quantity": 15}], "ship_tos": [ADDRESS],
                "payments": [{"method": "check", "reference": "1002"}]}  # fmt: skip
    big = post(client, keys["post"], "/api/v1/orders", big_body, 201)
    # then the small one is released with its check received (authorized, not captured)
    assert (small["status"], small["payment_status"]) == ("released", "authorized")
    payments = client.get(f"/api/v1/orders/{small['id']}/payments", headers=bearer(keys["post"])).json()
    assert (payments[0]["check_status"], payments[0]["captured"]["amount"]) == ("received", "0.00")
    # and the big one waits for its check to clear
    assert Decimal(big["total"]["amount"]) > Decimal("1000.00")
    assert (big["status"], [h["reason"] for h in big["holds"]]) == ("on_hold", ["check_clearance"])


def test_a_paypal_payment_is_accepted_only_once_paypal_confirms_it_and_pays_one_order(
    client: TestClient, keys: dict[str, str], settings: Settings, admin_db
) -> None:
    # given a PayPal order completed for the order's total at the (sandbox) wallet
    reference = sandbox_paid_order(settings, Money(Decimal("60.00"), "USD"))
    # when it pays an order
    order = post(
        client, keys["shop"], "/api/v1/orders", _order([{"method": "paypal", "reference": reference}]), 201
    )
    # then the order is paid and released
    assert (order["status"], order["payment_status"]) == ("released", "captured")
    # and the same PayPal payment cannot pay a second order; nothing changes
    before = _counts(admin_db)
    again = client.post("/api/v1/orders", json=_order([{"method": "paypal", "reference": reference}]),
                        headers=bearer(keys["shop"]))  # fmt: skip
    assert again.status_code == 409, again.text
    assert _counts(admin_db) == before


def test_a_card_tender_beyond_what_is_unpaid_is_refused_and_changes_nothing(
    client: TestClient, keys: dict[str, str], admin_db
) -> None:
    # given an order paid half by card
    token = tokenize(client, keys["shop"])
    order = post(client, keys["shop"], "/api/v1/orders", _order([]), 201)
    post(client, keys["shop"], f"/api/v1/orders/{order['id']}/payments",
         {"method": "card", "token": token, "amount": "30.00"}, 201)  # fmt: skip
    before = _counts(admin_db)
    # when a tender for more than the rest is added
    refused = post(client, keys["shop"], f"/api/v1/orders/{order['id']}/payments",
                   {"method": "card", "token": token, "amount": "30.01"}, 422)  # fmt: skip
    # then it is refused with what is unpaid, and nothing changed
    assert refused["errors"][0]["message"] == "30.00 USD of the order is unpaid"
    assert _counts(admin_db) == before


def test_an_importer_sets_when_an_order_was_placed(client: TestClient, keys: dict[str, str]) -> None:
    order = post(client, keys["importer"], "/api/v1/orders",
                 _order([], placed_at="2026-01-02T03:04:05Z", priority=7), 201)  # fmt: skip
    assert (order["placed_at"], order["priority"]) == ("2026-01-02T03:04:05Z", 7)


def test_a_channel_key_cannot_add_a_tender_to_another_channels_order(
    client: TestClient, keys: dict[str, str], admin_db
) -> None:
    order = post(client, keys["till"], "/api/v1/orders", _order([]), 201)
    before = _counts(admin_db)
    answer = client.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "check", "reference": "7"},
                         headers=bearer(keys["shop"]))  # fmt: skip
    assert answer.status_code == 404, answer.text
    assert _counts(admin_db) == before


def test_staff_with_the_cash_scope_take_cash_and_an_agent_without_it_cannot(
    client: TestClient, keys: dict[str, str], admin_db
) -> None:
    cashier = make_api_key(admin_db, scopes=["orders:write", "payments:cash"], name="cashier").secret
    clerk = make_api_key(admin_db, scopes=["orders:write"], name="clerk").secret
    body = _order([{"method": "cash"}], channel="shop")
    assert post(client, cashier, "/api/v1/orders", body, 201)["payment_status"] == "captured"
    before = _counts(admin_db)
    assert post(client, clerk, "/api/v1/orders", body, 422)["errors"][0]["field"] == "payments.0.method"
    assert _counts(admin_db) == before


def test_only_the_billing_scope_lets_a_channel_bill_later_and_a_refusal_changes_nothing(
    client: TestClient, keys: dict[str, str], admin_db
) -> None:
    # given a key that manages channels but not billing
    manager = make_api_key(
        admin_db, scopes=["sales_channels:read", "sales_channels:write"], name="mgr"
    ).secret
    body = {"code": "b2b", "name": "B2B", "kind": "wholesale", "division": "web", "bills_later": True}
    # when it creates a channel that bills later, or switches the collecting shop to billing later
    created = client.post("/api/v1/sales-channels", json=body, headers=bearer(manager))
    shop = next(c for c in client.get("/api/v1/sales-channels", headers=bearer(keys["admin"]),
                                      params={"limit": 200}).json()["items"] if c["code"] == "shop")  # fmt: skip
    patched = client.patch(f"/api/v1/sales-channels/{shop['id']}", json={"bills_later": True},
                           headers=bearer(manager))  # fmt: skip
    # then both are refused naming the scope, and nothing changed
    assert (created.status_code, patched.status_code) == (403, 403)
    assert created.json()["required_scope"] == "sales_channels:billing"
    after = client.get(f"/api/v1/sales-channels/{shop['id']}", headers=bearer(keys["admin"])).json()
    assert (after["bills_later"], after["version"]) == (False, shop["version"])
    codes = [
        c["code"] for c in client.get("/api/v1/sales-channels", headers=bearer(keys["admin"])).json()["items"]
    ]
    assert "b2b" not in codes
    # and with the scope it is done
    done = client.post("/api/v1/sales-channels", json=body, headers=bearer(keys["admin"]))
    assert (done.status_code, done.json()["bills_later"]) == (201, True)


def test_a_check_above_the_limit_added_to_a_waiting_order_keeps_it_held_until_the_check_clears(
    client: TestClient, keys: dict[str, str]
) -> None:
    # given an order above the check limit, waiting for its payment
    order = post(client, keys["post"], "/api/v1/orders",
                 {"lines": [{"sku": "LAMP", "quantity": 15}], "ship_tos": [ADDRESS], "payments": []}, 201)  # fmt: skip
    # when a check pays it
    post(
        client,
        keys["post"],
        f"/api/v1/orders/{order['id']}/payments",
        {"method": "check", "reference": "77"},
        201,
    )
    # then it no longer waits for a payment, but for the check to clear
    after = client.get(f"/api/v1/orders/{order['id']}", headers=bearer(keys["post"])).json()
    active = [h["reason"] for h in after["holds"] if h["status"] == "active"]
    assert (after["status"], after["payment_status"], active) == (
        "on_hold",
        "authorized",
        ["check_clearance"],
    )


def test_checks_split_into_pieces_below_the_limit_still_hold_the_order_until_they_clear(
    client: TestClient, keys: dict[str, str]
) -> None:
    # given an order above the check limit (1,000.00), paid by two checks of less than it each
    lamps = {"lines": [{"sku": "LAMP", "quantity": 15}], "ship_tos": [ADDRESS]}
    checks = [
        {"method": "check", "reference": "1", "amount": "700.00"},
        {"method": "check", "reference": "2"},
    ]
    split = post(client, keys["post"], "/api/v1/orders", {**lamps, "payments": checks}, 201)
    # and the same order waiting for its payment, then paid by two checks added one after the other
    waiting = post(client, keys["post"], "/api/v1/orders", {**lamps, "payments": []}, 201)
    url = f"/api/v1/orders/{waiting['id']}/payments"
    post(client, keys["post"], url, {"method": "check", "reference": "3", "amount": "700.00"}, 201)
    post(client, keys["post"], url, {"method": "check", "reference": "4"}, 201)
    # then both wait for their checks to clear
    assert (split["status"], [h["reason"] for h in split["holds"]]) == ("on_hold", ["check_clearance"])
    after = client.get(f"/api/v1/orders/{waiting['id']}", headers=bearer(keys["post"])).json()
    active = [h["reason"] for h in after["holds"] if h["status"] == "active"]
    assert (after["status"], active) == ("on_hold", ["check_clearance"])
