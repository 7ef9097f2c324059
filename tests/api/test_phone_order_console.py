"""The console's phone order form through the ASGI app, on SQLite and PostgreSQL: it is checked by the API's own
model, so what the API refuses the console refuses too — as a 422 re-rendering the form with the problem, never a
500 — and a refused form writes nothing."""

from __future__ import annotations

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
