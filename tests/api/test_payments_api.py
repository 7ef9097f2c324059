"""Payments through the HTTP API: cards entered in the vault and paid with on an order, declines as 402 problems
that place nothing, split tender, captures and refunds with their refusals, gift cards (issue, balance with its
rate limit), checks, invoices, gateway webhooks (forged → 401), and who may do what."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.inventory import service as inventory
from ordersmith.orders.tables import OrderRow
from ordersmith.payments.tables import PaymentRow, PaymentTransactionRow
from tests.api.conftest import bearer, login
from tests.builders import make_api_key, make_order_shop

ADDRESS = {
    "ref": "main",
    "name": "Ann Buyer",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
    "method": "ground",
}
LINES = [{"sku": "TEE", "quantity": 2}, {"sku": "MUG", "quantity": 1}]  # 60.00 with shipping and tax
SHOP_SCOPES = [
    "orders:read",
    "orders:write",
    "payments:read",
    "payments:write",
    "gift_cards:balance",
    "vault:tokenize",
]


@pytest.fixture
def keys(admin_db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    make_order_shop(admin_db)
    return {
        "web": make_api_key(admin_db, scopes=SHOP_SCOPES, channel="web", name="web").secret,
        "amazon": make_api_key(admin_db, scopes=SHOP_SCOPES, channel="amazon", name="amazon").secret,
        "admin": make_api_key(admin_db, name="admin").secret,
        "capture_only": make_api_key(
            admin_db, scopes=["payments:read", "payments:capture"], name="cap"
        ).secret,
    }


def post(
    client: TestClient,
    key: str,
    url: str,
    body: dict[str, Any],
    expect: int,
    headers: dict[str, str] | None = None,
) -> Any:
    response = client.post(url, json=body, headers=bearer(key) | (headers or {}))
    assert response.status_code == expect, response.text
    return response.json() if response.content else None


def tokenize(client: TestClient, key: str, number: str = "4242 4242 4242 4242") -> str:
    card = post(
        client,
        key,
        "/vault/v1/cards",
        {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"},
        201,
    )
    return str(card["token"])


def card_order(client: TestClient, key: str, token: str, expect: int) -> Any:
    """The standard 60.00 order paid by one card."""
    body = {"lines": LINES, "ship_tos": [ADDRESS], "payments": [{"method": "card", "token": token}]}
    return post(client, key, "/api/v1/orders", body, expect)


def counts(admin_db) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with admin_db:
        orders_ = admin_db.session.scalar(sa.select(sa.func.count()).select_from(OrderRow))
        payments_ = admin_db.session.scalar(sa.select(sa.func.count()).select_from(PaymentRow))
        log = admin_db.session.scalar(sa.select(sa.func.count()).select_from(PaymentTransactionRow))
    tees = inventory.get_availability(admin_db, sku="TEE", division="web").available
    return int(orders_ or 0) + 1000 * int(payments_ or 0), int(log or 0), tees


def test_a_web_shop_pays_with_a_vault_card_and_reads_the_payment_back(client: TestClient, keys) -> None:
    token = tokenize(client, keys["web"])
    order = card_order(client, keys["web"], token, 201)
    assert order["payment_status"] == "authorized"
    (payment,) = client.get(f"/api/v1/orders/{order['number']}/payments", headers=bearer(keys["web"])).json()
    assert (payment["method"], payment["status"], payment["authorized"]["amount"]) == (
        "card",
        "authorized",
        "60.00",
    )
    assert (payment["brand"], payment["last_four"]) == ("visa", "4242")
    assert payment["transactions"][0]["kind"] == "authorization"
    # another channel's key cannot see it
    other = client.get(f"/api/v1/orders/{order['number']}/payments", headers=bearer(keys["amazon"]))
    assert other.status_code == 404


def test_a_declined_card_is_a_402_problem_with_the_reason_and_places_nothing(
    client: TestClient, keys, admin_db
) -> None:
    token = tokenize(client, keys["web"], "4000 0000 0000 9995")
    before = counts(admin_db)
    problem = card_order(client, keys["web"], token, 402)
    assert problem["code"] == "payment_declined" and problem["reason_code"] == "insufficient_funds"
    assert problem["errors"][0]["field"] == "payments.0"
    assert counts(admin_db) == before


def test_a_card_number_in_an_order_is_refused_and_never_echoed(client: TestClient, keys, admin_db) -> None:
    before = counts(admin_db)
    response = client.post(
        "/api/v1/orders",
        headers=bearer(keys["web"]),
        json={
            "lines": LINES,
            "ship_tos": [ADDRESS],
            "payments": [{"method": "card", "token": "4242424242424242"}],
        },
    )
    assert response.status_code == 422 and "4242424242424242" not in response.text
    assert response.json()["errors"][0]["field"] == "payments.0.token"
    assert counts(admin_db) == before


def test_split_tender_with_a_gift_card_and_its_balance_check(client: TestClient, keys) -> None:
    issued = post(client, keys["admin"], "/api/v1/gift-cards", {"amount": "25.00"}, 201)
    code = issued["code"]
    assert issued["card"]["balance"]["amount"] == "25.00" and issued["card"]["last_four"] == code[-4:]
    balance = client.get(f"/api/v1/gift-cards/{code}/balance", headers=bearer(keys["web"])).json()
    assert balance["balance"]["amount"] == "25.00"
    token = tokenize(client, keys["web"])
    order = post(
        client,
        keys["web"],
        "/api/v1/orders",
        {
            "lines": LINES,
            "ship_tos": [ADDRESS],
            "payments": [{"method": "gift_card", "token": code}, {"method": "card", "token": token}],
        },
        201,
    )
    gift, card = client.get(f"/api/v1/orders/{order['id']}/payments", headers=bearer(keys["web"])).json()
    assert (gift["captured"]["amount"], card["authorized"]["amount"]) == ("25.00", "35.00")
    assert client.get(f"/api/v1/gift-cards/{code}/balance", headers=bearer(keys["web"])).json()[
        "balance"
    ] == {"amount": "0.00", "currency": "USD"}


def test_a_gift_card_without_enough_is_a_409_with_its_balance_and_changes_nothing(
    client: TestClient, keys, admin_db
) -> None:
    code = post(client, keys["admin"], "/api/v1/gift-cards", {"amount": "5.00"}, 201)["code"]
    before = counts(admin_db)
    problem = post(
        client,
        keys["web"],
        "/api/v1/orders",
        {"lines": LINES, "ship_tos": [ADDRESS], "payments": [{"method": "gift_card", "token": code}]},
        409,
    )
    assert problem["code"] == "gift_card_balance_insufficient" and problem["balance"] == "5.00"
    assert counts(admin_db) == before


def test_balance_checks_are_rate_limited_per_caller_and_a_malformed_code_is_a_422(
    client: TestClient, keys
) -> None:
    assert client.get("/api/v1/gift-cards/NOT-A-CODE/balance", headers=bearer(keys["web"])).status_code == 422
    code = post(client, keys["admin"], "/api/v1/gift-cards", {"amount": "5.00"}, 201)["code"]
    answers = [
        client.get(f"/api/v1/gift-cards/{code}/balance", headers=bearer(keys["web"])).status_code
        for _ in range(10)
    ]
    assert answers.count(429) >= 1 and 200 in answers
    # another caller has its own allowance
    assert client.get(f"/api/v1/gift-cards/{code}/balance", headers=bearer(keys["amazon"])).status_code == 200


def test_capture_and_refund_refusals_are_problems_and_change_nothing(
    client: TestClient, keys, admin_db
) -> None:
    token = tokenize(client, keys["web"])
    order = card_order(client, keys["web"], token, 201)
    (payment,) = client.get(f"/api/v1/orders/{order['id']}/payments", headers=bearer(keys["web"])).json()
    url = f"/api/v1/payments/{payment['id']}"
    # a channel key may not capture; a refused call changes nothing
    post(client, keys["web"], f"{url}/capture", {}, 403)
    over = post(client, keys["capture_only"], f"{url}/capture", {"amount": "60.01"}, 409)
    assert over["code"] == "capture_exceeds_authorized" and over["capturable"] == "60.00"
    assert client.get(url, headers=bearer(keys["web"])).json()["captured"]["amount"] == "0.00"  # both refused
    captured = post(
        client,
        keys["capture_only"],
        f"{url}/capture",
        {"amount": "60.00"},
        200,
        headers={"Idempotency-Key": "cap-1"},
    )
    again = post(
        client,
        keys["capture_only"],
        f"{url}/capture",
        {"amount": "60.00"},
        200,
        headers={"Idempotency-Key": "cap-1"},
    )
    assert captured["captured"] == again["captured"] == {"amount": "60.00", "currency": "USD"}
    # refunds: the capture-only key may not; above the refundable amount → 409 with it
    post(client, keys["capture_only"], f"{url}/refund", {"amount": "1.00", "reason": "x"}, 403)
    before = counts(admin_db)
    too_much = post(client, keys["admin"], f"{url}/refund", {"amount": "60.01", "reason": "damaged"}, 409)
    assert too_much["code"] == "refund_exceeds_refundable" and too_much["refundable"] == "60.00"
    no_reason = post(client, keys["admin"], f"{url}/refund", {"amount": "1.00"}, 422)
    assert no_reason["errors"][0]["field"] == "reason"
    assert counts(admin_db) == before
    refunded = post(client, keys["admin"], f"{url}/refund", {"amount": "36.00", "reason": "damaged"}, 200)
    assert (refunded["status"], refunded["refundable"]["amount"]) == ("partially_refunded", "24.00")
    order_refund = post(
        client,
        keys["admin"],
        f"/api/v1/orders/{order['id']}/refunds",
        {"amount": "10.00", "reason": "late", "to_store_credit": True},
        200,
    )
    assert order_refund["store_credit"]["card"]["balance"]["amount"] == "10.00"
    assert client.get(f"/api/v1/orders/{order['id']}", headers=bearer(keys["web"])).json()[
        "payment_status"
    ] == ("partially_refunded")


def test_checks_are_deposited_and_bounced_by_accounts_receivable(client: TestClient, keys, admin_db) -> None:
    order = post(
        client,
        keys["admin"],
        "/api/v1/orders",
        {
            "channel": "phone",
            "lines": LINES,
            "ship_tos": [ADDRESS],
            "payments": [{"method": "check", "reference": "1042", "bank": "First"}],
            "new_customer": {"first_name": "Cal", "last_name": "Check"},
        },
        201,
    )
    (check,) = client.get(f"/api/v1/orders/{order['id']}/payments", headers=bearer(keys["admin"])).json()
    csrf = login(client, admin_db, role="agent")
    refused = client.post(
        f"/api/v1/checks/{check['id']}/bounce", json={"note": "NSF"}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 403
    client.cookies.clear()
    unchanged = client.get(f"/api/v1/payments/{check['id']}", headers=bearer(keys["admin"])).json()
    assert (unchanged["check_status"], unchanged["version"]) == ("received", check["version"])
    post(client, keys["admin"], f"/api/v1/checks/{check['id']}/deposit", {}, 200)
    bounced = post(client, keys["admin"], f"/api/v1/checks/{check['id']}/bounce", {"note": "NSF"}, 200)
    assert (bounced["check_status"], bounced["status"]) == ("bounced", "failed")
    held = client.get(f"/api/v1/orders/{order['id']}", headers=bearer(keys["admin"])).json()
    assert held["status"] == "on_hold"
    problem = post(client, keys["admin"], f"/api/v1/checks/{check['id']}/clear", {}, 409)
    assert problem["code"] == "illegal_transition" and problem["state"] == "bounced"


def test_invoices_on_account_are_listed_and_paid(client: TestClient, keys) -> None:
    customer = post(
        client,
        keys["admin"],
        "/api/v1/customers",
        {
            "kind": "business",
            "company": "Acme",
            "payment_terms": "net15",
            "credit_limit": {"amount": "500.00", "currency": "USD"},
        },
        201,
    )
    order = post(
        client,
        keys["admin"],
        "/api/v1/orders",
        {
            "channel": "phone",
            "customer": customer["number"],
            "lines": LINES,
            "ship_tos": [ADDRESS],
            "payments": [{"method": "on_account"}],
        },
        201,
    )
    post(client, keys["admin"], f"/api/v1/orders/{order['id']}/shipments", {"tracking": "1Z"}, 200)
    invoices: list[dict[str, Any]] = []
    import time

    for _ in range(100):  # the capture job runs after the shipment's event
        invoices = client.get(
            f"/api/v1/invoices?customer={customer['number']}", headers=bearer(keys["admin"])
        ).json()["items"]
        if invoices:
            break
        time.sleep(0.1)
    (invoice,) = invoices
    assert (invoice["total"]["amount"], invoice["terms"], invoice["status"]) == ("60.00", "net15", "open")
    over = post(
        client,
        keys["admin"],
        f"/api/v1/invoices/{invoice['number']}/payments",
        {"amount": "60.01", "method": "check"},
        409,
    )
    assert over["balance"] == "60.00"
    unpaid = client.get(f"/api/v1/invoices/{invoice['number']}", headers=bearer(keys["admin"])).json()
    assert (unpaid["paid"]["amount"], unpaid["payments"]) == ("0.00", [])  # the refusal applied nothing
    paid = post(
        client,
        keys["admin"],
        f"/api/v1/invoices/{invoice['number']}/payments",
        {"amount": "60.00", "method": "transfer", "reference": "wire 77"},
        200,
    )
    assert paid["status"] == "paid" and paid["payments"][0]["reference"] == "wire 77"


def test_a_forged_gateway_webhook_is_a_401_and_changes_nothing(client: TestClient, keys, admin_db) -> None:
    processor = client.app.state.db.caches["payments"].gateway.processor  # type: ignore[attr-defined]
    event = {"id": "evt_9", "type": "charge.captured", "data": {"reference": "ch_x", "currency": "USD"}}
    headers, body = processor.signed_webhook(event)
    before = counts(admin_db)
    forged = client.post(
        "/api/v1/payment-webhooks/sandbox", content=body.replace(b"ch_x", b"ch_y"), headers=headers
    )
    assert forged.status_code == 401 and forged.json()["code"] == "not_authenticated"
    assert client.post("/api/v1/payment-webhooks/sandbox", content=body).status_code == 401
    assert client.post("/api/v1/payment-webhooks/stripe", content=body, headers=headers).status_code == 404
    assert counts(admin_db) == before
    good = client.post("/api/v1/payment-webhooks/sandbox", content=body, headers=headers)
    assert good.status_code == 200 and good.json() == {"outcome": "unknown_reference"}


def test_a_tender_added_later_pays_what_is_unpaid_and_no_more(client: TestClient, keys) -> None:
    # an order placed without payment (a phone order paid later)
    order = post(
        client,
        keys["admin"],
        "/api/v1/orders",
        {"channel": "phone", "lines": LINES, "ship_tos": [ADDRESS], "release": False},
        201,
    )
    assert order["payment_status"] == "pending"
    token = tokenize(client, keys["admin"])
    url = f"/api/v1/orders/{order['id']}/payments"
    added = post(client, keys["admin"], url, {"method": "card", "token": token, "amount": "20.00"}, 201)
    assert (added["method"], added["authorized"]["amount"]) == ("card", "20.00")
    rest = post(client, keys["admin"], url, {"method": "card", "token": token}, 201)
    assert rest["authorized"]["amount"] == "40.00"
    nothing_left = post(client, keys["admin"], url, {"method": "card", "token": token}, 422)
    assert nothing_left["errors"][0]["field"] == "amount"
    assert len(client.get(url, headers=bearer(keys["admin"])).json()) == 2  # nothing was added
    after = client.get(f"/api/v1/orders/{order['id']}", headers=bearer(keys["admin"])).json()
    assert after["payment_status"] == "authorized"
    declined = tokenize(client, keys["admin"], "4000 0000 0000 0002")
    other = post(
        client,
        keys["admin"],
        "/api/v1/orders",
        {"channel": "phone", "lines": LINES, "ship_tos": [ADDRESS], "release": False},
        201,
    )
    problem = post(
        client,
        keys["admin"],
        f"/api/v1/orders/{other['id']}/payments",
        {"method": "card", "token": declined},
        402,
    )
    assert problem["reason_code"] == "card_declined"


def test_store_cash_and_marketplace_payments_are_taken_when_the_order_is_placed(
    client: TestClient, keys
) -> None:
    till = post(
        client,
        keys["admin"],
        "/api/v1/orders",
        {
            "channel": "store-1",
            "lines": [{"sku": "TEE", "quantity": 1}],
            "ship_tos": [ADDRESS],
            "payments": [{"method": "cash"}],
        },
        201,
    )
    market = post(
        client,
        keys["admin"],
        "/api/v1/orders",
        {
            "channel": "amazon",
            "lines": LINES,
            "ship_tos": [ADDRESS],
            "external_id": "112-0000001",
            "payments": [{"method": "marketplace", "reference": "settlement 42"}],
        },
        201,
    )
    for order in (till, market):
        assert order["payment_status"] == "captured"
        (payment,) = client.get(
            f"/api/v1/orders/{order['id']}/payments", headers=bearer(keys["admin"])
        ).json()
        assert payment["captured"] == order["total"]


def test_a_gift_card_sold_on_an_order_activates_once_the_order_is_paid(client: TestClient, keys) -> None:
    import time

    order = post(
        client,
        keys["admin"],
        "/api/v1/orders",
        {
            "channel": "phone",
            "lines": LINES,
            "ship_tos": [ADDRESS],
            "payments": [{"method": "card", "token": tokenize(client, keys["admin"])}],
            "new_customer": {"first_name": "Gift", "last_name": "Giver"},
        },
        201,
    )
    sold = post(
        client, keys["admin"], "/api/v1/gift-cards", {"amount": "50.00", "order": order["number"]}, 201
    )
    assert sold["card"]["status"] == "inactive"
    refused = post(
        client,
        keys["web"],
        "/api/v1/orders",
        {
            "lines": [{"sku": "MUG", "quantity": 1}],
            "ship_tos": [ADDRESS],
            "payments": [{"method": "gift_card", "token": sold["code"]}],
        },
        409,
    )
    assert refused["card_status"] == "inactive"
    # when the order ships, the card is captured (a job after the event) and the gift card comes alive
    post(client, keys["admin"], f"/api/v1/orders/{order['id']}/shipments", {"tracking": "1Z"}, 200)
    card_url = f"/api/v1/gift-cards/by-id/{sold['card']['id']}"
    status = ""
    for _ in range(100):
        status = client.get(card_url, headers=bearer(keys["admin"])).json()["status"]
        if status == "active":
            break
        time.sleep(0.1)
    assert status == "active"
    assert client.get(f"/api/v1/orders/{order['id']}", headers=bearer(keys["admin"])).json()[
        "payment_status"
    ] == ("captured")


def test_an_amount_finer_than_the_currency_or_in_other_digits_is_refused_and_issues_nothing(
    client: TestClient, keys
) -> None:
    # given no gift cards yet
    before = client.get("/api/v1/gift-cards", headers=bearer(keys["admin"])).json()
    # when amounts finer than the currency's minor unit, or written in Arabic-Indic digits, are sent
    cases = [
        (
            {"amount": "10.50", "currency": "JPY"},
            "JPY amounts take whole units only; 10.50 is finer than that",
        ),
        (
            {"amount": "10.005", "currency": "USD"},
            "USD amounts take at most 2 decimal places; 10.005 is finer than that",
        ),
    ]
    for body, message in cases:
        response = client.post("/api/v1/gift-cards", json=body, headers=bearer(keys["admin"]))
        # then each is a 422 naming the field and saying why
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [{"field": "amount", "message": message}]
    arabic = client.post(
        "/api/v1/gift-cards", json={"amount": "\u0661\u0662.\u0660\u0660"}, headers=bearer(keys["admin"])
    )
    assert arabic.status_code == 422 and [e["field"] for e in arabic.json()["errors"]] == ["amount"]
    # and nothing was issued, while an exact amount still is
    assert client.get("/api/v1/gift-cards", headers=bearer(keys["admin"])).json() == before
    issued = post(client, keys["admin"], "/api/v1/gift-cards", {"amount": "10", "currency": "JPY"}, 201)
    assert issued["card"]["balance"] == {"amount": "10", "currency": "JPY"}


def test_a_money_object_finer_than_its_currency_is_refused_naming_the_field(client: TestClient, keys) -> None:
    # given a customer with no credit limit
    created = post(
        client, keys["admin"], "/api/v1/customers", {"first_name": "Bo", "last_name": "Trade"}, 201
    )
    # when a credit limit of 100.001 USD is set
    response = client.patch(
        f"/api/v1/customers/{created['number']}",
        json={"credit_limit": {"amount": "100.001", "currency": "USD"}},
        headers=bearer(keys["admin"]),
    )
    # then it is refused naming the field, and the customer is unchanged
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {
            "field": "credit_limit",
            "message": "Value error, USD amounts take at most 2 decimal places; 100.001 is finer than that",
        }
    ]
    after = client.get(f"/api/v1/customers/{created['number']}", headers=bearer(keys["admin"])).json()
    assert after["credit_limit"] is None and after["version"] == created["version"]


def _returned_card_order(client: TestClient, keys) -> tuple[dict[str, Any], dict[str, Any], str]:  # type: ignore[no-untyped-def]
    """A card order of 60.00, captured and shipped, with a return of one tee: (order, return, payment url)."""
    order = card_order(client, keys["web"], tokenize(client, keys["web"]), 201)
    (payment,) = client.get(f"/api/v1/orders/{order['id']}/payments", headers=bearer(keys["web"])).json()
    url = f"/api/v1/payments/{payment['id']}"
    post(client, keys["capture_only"], f"{url}/capture", {"amount": "60.00"}, 200)
    post(client, keys["admin"], f"/api/v1/orders/{order['id']}/shipments", {}, 200)
    rma = post(client, keys["admin"], f"/api/v1/orders/{order['id']}/returns",
               {"lines": [{"line_no": 1, "quantity": 1, "reason": "damaged"}]}, 201)  # fmt: skip
    return order, rma, url


def test_a_refund_names_its_return_by_its_number_or_its_id(client: TestClient, keys, admin_db) -> None:
    # given a captured, shipped order with a return
    order, rma, url = _returned_card_order(client, keys)

    # when one refund names the return by its number (any case) and another by its id
    by_number = post(client, keys["admin"], f"{url}/refund", {"amount": "10.00", "return_id": rma["number"].lower()},
                     200)  # fmt: skip
    by_id = post(client, keys["admin"], f"/api/v1/orders/{order['number']}/refunds",
                 {"amount": "5.00", "return_id": rma["id"]}, 200)  # fmt: skip

    # then both refunds belong to the return
    assert by_number["transactions"][-1]["kind"] == "refund"
    assert by_number["transactions"][-1]["return_id"] == rma["id"]
    (refunded,) = by_id["payments"]
    assert refunded["refunded"]["amount"] == "15.00"
    assert [t["return_id"] for t in refunded["transactions"] if t["kind"] == "refund"] == [
        rma["id"],
        rma["id"],
    ]


@pytest.mark.parametrize(
    "return_ref", ["R-999999", "r-999999", "0190d6b2-0000-7000-8000-000000000000", "another"]
)
def test_a_refund_naming_an_unknown_return_or_another_orders_is_a_422_on_return_id_and_gives_nothing_back(
    client: TestClient, keys, admin_db, return_ref: str
) -> None:
    # given a captured, shipped order with a return, and another order's return
    order, _, url = _returned_card_order(client, keys)
    _, others, _ = _returned_card_order(client, keys)
    wanted = others["number"] if return_ref == "another" else return_ref
    before = counts(admin_db)

    # when
    on_payment = post(client, keys["admin"], f"{url}/refund", {"amount": "10.00", "return_id": wanted}, 422)
    on_order = post(client, keys["admin"], f"/api/v1/orders/{order['id']}/refunds",
                    {"amount": "10.00", "return_id": wanted}, 422)  # fmt: skip

    # then each names the field and the reference, and nothing was given back
    for problem in (on_payment, on_order):
        assert problem["code"] == "validation_failed"
        assert problem["errors"] == [{"field": "return_id", "message": f"no return {wanted!r} on this order"}]
    assert counts(admin_db) == before
    assert client.get(url, headers=bearer(keys["web"])).json()["refunded"]["amount"] == "0.00"
