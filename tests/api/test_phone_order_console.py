"""The console's phone order form through the ASGI app, on SQLite and PostgreSQL: it is checked by the API's own
model, so what the API refuses the console refuses too — as a 422 re-rendering the form with the problem, never a
500 — and a refused form writes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ordersmith.customers.tables import CustomerRow
from ordersmith.orders.tables import OrderRow
from ordersmith.payments.tables import PaymentRow
from tests.api.conftest import login
from tests.builders import make_order_shop


def _form(csrf: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "channel": "phone",
        "first_name": "Ann",
        "last_name": "Buyer",
        "ship-0-ref": "A",
        "ship-0-name": "Ann Buyer",
        "ship-0-line1": "1 Market St",
        "ship-0-city": "San Francisco",
        "ship-0-region": "CA",
        "ship-0-postal_code": "94105",
        "ship-0-country": "US",
        "ship-0-method": "ground",
        "line-0-sku": "TEE",
        "line-0-quantity": "2",
        "line-0-ship_to": "A",
    } | fields


def _counts(admin_db: Any) -> tuple[int, int, int]:
    with admin_db:
        return tuple(  # type: ignore[return-value]
            int(admin_db.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
            for table in (OrderRow, PaymentRow, CustomerRow)
        )


@pytest.fixture
def csrf(client: TestClient, admin_db: Any) -> str:
    make_order_shop(admin_db)
    return login(client, admin_db)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"line-0-quantity": "abc"}, "lines.0.quantity: Input should be a valid integer"),
        ({"line-0-quantity": "1.5"}, "lines.0.quantity: Input should be a valid integer"),
        ({"line-0-quantity": "10^30"}, "lines.0.quantity: Input should be a valid integer"),
        (
            {"line-0-quantity": "1" + "0" * 30},
            "lines.0.quantity: Input should be less than or equal to 100000",
        ),
        ({"pay-0-method": "check", "pay-0-reference": "101", "pay-0-amount": "NaN"}, "payments.0.amount: "),
        ({"pay-0-method": "check", "pay-0-reference": "101", "pay-0-amount": "sNaN"}, "payments.0.amount: "),
        (
            {"pay-0-method": "check", "pay-0-reference": "101", "pay-0-amount": "Infinity"},
            "payments.0.amount: ",
        ),
        (
            {"line-0-gift_message": "x" * 501},
            "lines.0.gift_message: String should have at most 500 characters",
        ),
        ({"ship-0-country": "USA"}, "ship_tos.0.country: String should match pattern"),
        ({"ship-0-name": "N" * 5000}, "ship_tos.0.name: String should have at most 200 characters"),
        ({"first_name": "N" * 5000}, "new_customer.first_name: String should have at most 100 characters"),
    ],
    ids=[
        "quantity-abc",
        "quantity-1.5",
        "quantity-10^30",
        "quantity-1e30-digits",
        "amount-NaN",
        "amount-sNaN",
        "amount-Infinity",
        "gift-message-501",
        "country-USA",
        "ship-to-name-5000",
        "customer-name-5000",
    ],
)
def test_the_phone_order_form_refuses_what_the_api_refuses_with_a_422_and_writes_nothing(
    client: TestClient, admin_db: Any, csrf: str, fields: dict[str, str], problem: str
) -> None:
    # given
    before = _counts(admin_db)

    # when
    response = client.post("/phone-order", data=_form(csrf, **fields), follow_redirects=False)

    # then
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "The order was not placed:" in response.text
    assert problem in response.text
    assert _counts(admin_db) == before


def test_the_phone_order_form_still_places_a_valid_order(
    client: TestClient, admin_db: Any, csrf: str
) -> None:
    # given
    before = _counts(admin_db)

    # when
    response = client.post("/phone-order", data=_form(csrf), follow_redirects=False)

    # then
    assert response.status_code == 303
    assert response.headers["location"].startswith("/orders/")
    assert _counts(admin_db) == (before[0] + 1, before[1], before[2] + 1)


def _quote(client: TestClient, csrf: str, **fields: str) -> Any:
    return client.post("/phone-order/quote", data=_form(csrf, **fields))


def _with_coupon(admin_db: Any) -> None:
    from decimal import Decimal

    from ordersmith.kernel.money import Money
    from ordersmith.pricing import service as pricing
    from ordersmith.pricing.service import PromotionInput

    pricing.create_promotion(admin_db, promotion=PromotionInput(
        code="FIVEOFF", name="$5 off", kind="order_amount_off", amount=Money(Decimal("5.00"), "USD"),
        coupon_required=True))  # fmt: skip
    pricing.create_coupon(admin_db, code="five", promotion="FIVEOFF", max_uses=10, per_customer_limit=1)


def test_the_live_quote_is_rendered_by_the_server_with_lines_numbered_as_on_the_form(
    client: TestClient, admin_db: Any, csrf: str
) -> None:
    # given three lines typed on rows 1, 2 and 4 (row 3 left empty) for two recipients
    fields = {
        "line-1-sku": "MUG", "line-1-quantity": "2", "line-1-ship_to": "B",
        "line-2-sku": "", "line-2-quantity": "1",
        "line-3-sku": "TEE", "line-3-quantity": "1", "line-3-ship_to": "A",
        "ship-1-ref": "B", "ship-1-name": "Bob Friend", "ship-1-line1": "200 Spring St", "ship-1-city": "Los Angeles",
        "ship-1-region": "CA", "ship-1-postal_code": "90012", "ship-1-country": "US", "ship-1-method": "ground",
    }  # fmt: skip
    before = _counts(admin_db)

    # when
    response = _quote(client, csrf, **fields)

    # then 2 x 20 + 2 x 10 + 20 = 80 of goods, 2 x 5.00 shipping, 10 % tax on goods
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" not in response.text
    assert '<tr data-line="1"><td>1</td><td>TEE</td><td class="num">2</td>' in response.text
    assert '<tr data-line="2"><td>2</td><td>MUG</td><td class="num">2</td>' in response.text
    assert '<tr data-line="4"><td>4</td><td>TEE</td><td class="num">1</td>' in response.text
    assert '<tr id="quote-total"><th scope="row">Total</th><td class="num">$98.00</td></tr>' in response.text
    assert _counts(admin_db) == before


def test_a_coupon_that_does_not_apply_is_named_beside_the_coupon_with_its_reason_while_the_quote_stays(
    client: TestClient, admin_db: Any, csrf: str
) -> None:
    # given a coupon that exists and one that does not
    _with_coupon(admin_db)

    # when
    response = _quote(client, csrf, coupons="FIVE, NOPE")

    # then the unknown one is set aside with its reason and the order priced with the good one
    assert response.status_code == 200
    assert '<ul id="coupon-note" class="error coupon-note" role="status">' in response.text
    assert "<li><strong>NOPE</strong> not applied: no such coupon</li>" in response.text
    assert "FIVE</strong>" not in response.text
    # 2 x 20.00 - 5.00, 5.00 shipping, 10 % tax on the discounted goods
    assert '<th scope="row">Discounts</th><td class="num">-$5.00</td>' in response.text
    assert '<tr id="quote-total"><th scope="row">Total</th><td class="num">$43.50</td></tr>' in response.text


def test_a_quote_that_cannot_be_priced_says_why_and_a_quote_without_the_csrf_token_is_refused(
    client: TestClient, admin_db: Any, csrf: str
) -> None:
    # when
    unknown = _quote(client, csrf, **{"line-0-sku": "NOSUCH"})
    forged = client.post("/phone-order/quote", data=_form("not-the-token"))

    # then
    assert unknown.status_code == 422
    assert "lines.0.sku: no item with SKU &#39;NOSUCH&#39;" in unknown.text
    assert 'id="quote-total"' not in unknown.text
    assert forged.status_code == 403
    assert 'id="quote-total"' not in forged.text


def test_update_quote_re_renders_the_screen_with_the_quote_and_places_nothing(
    client: TestClient, admin_db: Any, csrf: str
) -> None:
    # given
    before = _counts(admin_db)

    # when
    response = client.post("/phone-order", data=_form(csrf, intent="quote"), follow_redirects=False)

    # then
    assert response.status_code == 200
    assert '<tr id="quote-total"><th scope="row">Total</th><td class="num">$49.00</td></tr>' in response.text
    assert 'name="line-0-sku" class="line-sku" list="item-suggestions" value="TEE"' in response.text
    assert _counts(admin_db) == before


def test_the_screen_draws_as_many_lines_and_recipients_as_the_form_held_after_a_refusal(
    client: TestClient, admin_db: Any, csrf: str
) -> None:
    # given five lines for three recipients, one line with a quantity of 1.5
    fields = {f"line-{n}-sku": "TEE" for n in range(5)} | {
        f"line-{n}-ship_to": "ABC"[n % 3] for n in range(5)
    }
    for n, ref in enumerate("BC", start=1):
        fields |= {f"ship-{n}-ref": ref, f"ship-{n}-name": f"Friend {ref}", f"ship-{n}-line1": "1 Main St",
                   f"ship-{n}-city": "Fresno", f"ship-{n}-region": "CA", f"ship-{n}-postal_code": "93650"}  # fmt: skip
    fields["line-4-quantity"] = "1.5"
    before = _counts(admin_db)

    # when
    response = client.post("/phone-order", data=_form(csrf, **fields), follow_redirects=False)

    # then
    assert response.status_code == 422
    assert "lines.4.quantity: Input should be a valid integer" in response.text
    assert len(re.findall(r'<fieldset class="line po-row" data-index="\d+"', response.text)) == 5
    assert len(re.findall(r'<fieldset class="recipient po-row" data-index="\d+"', response.text)) == 3
    assert '<option value="C" selected>To C</option>' in response.text
    assert _counts(admin_db) == before


def test_a_card_from_the_vault_is_shown_as_its_brand_and_last_four_never_its_number_or_token(
    client: TestClient, admin_db: Any, csrf: str
) -> None:
    # given a card the agent stored through the vault's form
    stored = client.post(
        "/vault/v1/cards",
        json={"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"},
        headers={"X-CSRF-Token": csrf},
    )
    assert stored.status_code == 201, stored.text
    token = stored.json()["token"]
    before = _counts(admin_db)

    # when the form comes back refused (a country of three letters)
    response = client.post(
        "/phone-order",
        data=_form(csrf, **{"pay-0-method": "card", "pay-0-token": token, "ship-0-country": "USA"}),
        follow_redirects=False,
    )

    # then
    assert response.status_code == 422
    assert (
        '<p class="card-chosen" id="card-chosen" aria-live="polite"><strong>Visa ····4242</strong></p>'
        in (response.text)
    )
    assert f'<input type="hidden" name="pay-0-token" id="pay-0-token" value="{token}">' in response.text
    assert response.text.count(token) == 1
    assert "4242424242424242" not in response.text and "4242 4242 4242 4242" not in response.text
    assert _counts(admin_db) == before


def test_picking_a_customer_shows_consent_credit_holds_recent_orders_and_their_default_ship_to(
    client: TestClient, admin_db: Any, csrf: str
) -> None:
    # given a customer who opted out of catalogs, with a default ship-to and an order on hold
    from ordersmith.customers import service as customers
    from ordersmith.orders import service as orders
    from tests.builders import channel, order_request

    ann = customers.create_customer(admin_db, details=customers.Details(
        first_name="Ann", last_name="Buyer", do_not_mail=True, addresses=[
            customers.Address(kind="ship_to", name="Ann at work", line1="9 Pier St", city="Oakland",
                              region="CA", postal_code="94607", country="US", is_default=True)]))  # fmt: skip
    placed = orders.place_order(admin_db, channel=channel(admin_db, "phone"),
                                request=order_request(("MUG", 1), customer=ann.number)).order  # fmt: skip
    orders.hold_order(admin_db, ref=placed.number, note="asked to wait")

    # when
    response = client.get(f"/phone-order/customer?ref={ann.number}")
    unknown = client.get("/phone-order/customer?ref=C-999999")

    # then
    assert response.status_code == 200
    assert f'data-number="{ann.number}"' in response.text
    assert 'data-ship-name="Ann at work" data-ship-line1="9 Pier St"' in response.text
    assert 'data-ship-postal-code="94607"' in response.text
    assert (
        '<span class="consent warn" id="customer-consent">Consent: no catalogs · e-mail ✓ · calls ✓</span>'
        in (response.text)
    )
    assert f'On hold: <a href="/orders/{placed.number}">{placed.number}</a>' in response.text
    assert f'Recent: <a href="/orders/{placed.number}">{placed.number}</a> $16.00' in response.text
    assert unknown.status_code == 404 and "No such customer." in unknown.text
