"""Each role's home through the console, on SQLite and PostgreSQL: where a role lands after signing in and what
its worklist shows — the agent's phone order and recent customers and orders, the manager's holds and today's
figures, the other roles' screens with their counts."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ordersmith.customers import service as customers
from ordersmith.orders import service as orders
from tests.api.conftest import login
from tests.builders import DEFAULT_PASSWORD, channel, make_order_shop, make_user, order_request


def _sign_in_form(client: TestClient, email: str) -> str:
    response = client.post(
        "/login", data={"email": email, "password": DEFAULT_PASSWORD, "next": "/"}, follow_redirects=False
    )
    assert response.status_code == 303
    return str(response.headers["location"])


def _held_order(admin_db: Any) -> orders.Order:
    make_order_shop(admin_db)
    placed = orders.place_order(admin_db, channel=channel(admin_db), request=order_request(("TEE", 1))).order
    return orders.hold_order(admin_db, ref=placed.number, note="customer asked us to wait")


def test_an_agent_lands_on_a_phone_order_home_with_the_customers_they_opened_and_their_last_call(
    client: TestClient, admin_db: Any
) -> None:
    # given a customer with a logged call, and an agent who opens their 360
    make_order_shop(admin_db)
    ann = customers.create_customer(admin_db, details=customers.Details(first_name="Ann", last_name="Buyer"))
    customers.add_note(admin_db, ref=ann.number, body="asked about the blue mug", kind="call")
    make_user(admin_db, role="agent", email="agent@example.com")
    assert _sign_in_form(client, "agent@example.com") == "/"
    before = client.get("/")
    assert client.get(f"/customers/{ann.number}").status_code == 200
    # when the agent goes home
    home = client.get("/")
    # then a big New phone order, and Ann with her last call and a one-click new order for her
    assert (
        before.status_code == 200
        and 'id="new-phone-order"' in before.text
        and "No customers opened" in before.text
    )
    assert "Sales channels" not in home.text
    row = home.text[home.text.index(f'<tr data-number="{ann.number}">') :].split("</tr>")[0]
    assert "Ann Buyer" in row and "call" in row and "asked about the blue mug" in row
    assert f'href="/phone-order?customer={ann.number}"' in row


def test_the_orders_an_agent_places_by_phone_are_on_their_home_and_not_on_another_agents(
    client: TestClient, admin_db: Any
) -> None:
    # given an agent who places a phone order
    make_order_shop(admin_db)
    csrf = login(client, admin_db, role="agent")
    form = {"csrf_token": csrf, "channel": "phone", "first_name": "Ann", "last_name": "Buyer", "ship-0-ref": "A",
            "ship-0-name": "Ann Buyer", "ship-0-line1": "1 Market St", "ship-0-city": "San Francisco",
            "ship-0-region": "CA", "ship-0-postal_code": "94105", "ship-0-country": "US", "ship-0-method": "ground",
            "line-0-sku": "TEE", "line-0-quantity": "2", "line-0-ship_to": "A"}  # fmt: skip
    placed = client.post("/phone-order", data=form, follow_redirects=False)
    assert placed.status_code == 303
    number = placed.headers["location"].split("/")[2].split("?")[0]
    order = orders.get_order(admin_db, ref=number)
    # when they go home
    home = client.get("/")
    # then the order and its customer are listed
    mine = home.text[home.text.index('id="recent-orders"') :]
    assert f'<tr data-number="{number}">' in mine and f'href="/customers/{order.customer_number}"' in mine
    assert f'<tr data-number="{order.customer_number}">' in home.text
    # and another agent signing in on the same browser sees none of it
    client.post("/logout", data={"csrf_token": csrf})
    make_user(admin_db, role="agent", email="second@example.com")
    _sign_in_form(client, "second@example.com")
    other = client.get("/")
    assert number not in other.text and "No orders placed yet" in other.text


def test_a_manager_lands_on_holds_and_todays_figures(client: TestClient, admin_db: Any) -> None:
    # given a held order
    held = _held_order(admin_db)
    make_user(admin_db, role="manager", email="boss@example.com")
    # when the manager signs in
    assert _sign_in_form(client, "boss@example.com") == "/"
    home = client.get("/")
    # then the oldest holds, the figures and the way to the dashboard and the exceptions
    assert home.status_code == 200
    holds = home.text[home.text.index('id="home-holds"') :].split("</table>")[0]
    assert f'<tr data-number="{held.number}">' in holds and "customer asked us to wait" in holds
    assert 'href="/dashboard"' in home.text and 'href="/warehouse/shipments?status=exception"' in home.text
    assert "No carrier has reported a problem" in home.text


def test_a_managers_home_lists_a_shipment_the_carrier_reported_a_problem_with(
    client: TestClient, admin_db: Any
) -> None:
    # given a shipped parcel the carrier reports an exception for
    from datetime import UTC, datetime

    from ordersmith.fulfillment import service as fulfillment
    from ordersmith.fulfillment.carriers.base import TrackingEvent

    make_order_shop(admin_db)
    order = orders.place_order(admin_db, channel=channel(admin_db), request=order_request(("TEE", 1))).order
    fulfillment.sync_order(admin_db, order_id=order.id)
    (shipment,) = fulfillment.order_shipments(admin_db, order_id=str(order.id))
    fulfillment.pick_shipment(admin_db, ref=shipment.number)
    fulfillment.pack_shipment(
        admin_db, ref=shipment.number, all_units=True, packages=[fulfillment.PackageSpec(800, 300, 200, 100)]
    )
    fulfillment.ship_shipment(admin_db, ref=shipment.number, tracking="1ZEXCEPTION1", carrier="sandbox")
    problem = TrackingEvent("1ZEXCEPTION1", "exception", "address not found", datetime.now(UTC), "event-1")
    fulfillment.record_tracking(admin_db, carrier="sandbox", events=[problem])
    login(client, admin_db, role="manager")
    # when the manager goes home
    home = client.get("/")
    # then the shipment is listed with its order and tracking number, and counted
    listed = home.text[home.text.index('id="home-exceptions"') :].split("</table>")[0]
    row = listed[listed.index(f'<tr data-shipment="{shipment.number}">') :].split("</tr>")[0]
    assert f'href="/orders/{order.number}"' in row and "1ZEXCEPTION1" in row
    assert '<a href="/warehouse/shipments?status=exception">1</a>' in home.text


def test_marketing_sees_the_screens_it_may_open_with_their_counts(client: TestClient, admin_db: Any) -> None:
    # given a held order
    _held_order(admin_db)
    for role, may, may_not in (
        (
            "marketing",
            ["/orders", "/holds", "/customers", "/stock", "/marketing"],
            ["/purchasing", "/phone-order"],
        ),
    ):
        client.cookies.clear()
        make_user(admin_db, role=role, email=f"{role}@example.com")
        # when they sign in
        assert _sign_in_form(client, f"{role}@example.com") == "/"
        home = client.get("/")
        # then each screen they may open is a tile, with its count; no other screen is
        assert home.status_code == 200
        for href in may:
            assert f'data-href="{href}"' in home.text, (role, href)
        for href in may_not:
            assert f'data-href="{href}"' not in home.text, (role, href)
        holds = home.text[home.text.index('data-href="/holds"') :].split("</li>")[0]
        assert '<span class="value">1</span> orders on hold' in holds


def test_an_accountant_lands_on_the_books_with_every_books_screen_in_reach(
    client: TestClient, admin_db: Any
) -> None:
    # given an accountant (the books' own screens are tested in tests/api/test_books_console.py)
    make_user(admin_db, role="accountant", email="books@example.com")
    # when they sign in
    assert _sign_in_form(client, "books@example.com") == "/"
    home = client.get("/")
    # then the home is the books' worklist, with the books' screens in reach and no screen they may not open
    assert home.status_code == 200 and 'id="books-kpis"' in home.text
    for href in ("/finance/receivables", "/finance/journal", "/finance/statements", "/finance/periods",
                 "/payables/exceptions", "/orders", "/customers"):  # fmt: skip
        assert f'href="{href}"' in home.text, href
    for href in ("/admin/users", "/warehouse", "/marketing"):
        assert f'href="{href}"' not in home.text, href


def test_the_warehouse_lands_on_its_floor_and_nobody_signed_in_lands_on_the_login(
    client: TestClient, admin_db: Any
) -> None:
    make_user(admin_db, role="warehouse", email="dock@example.com")
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"
    _sign_in_form(client, "dock@example.com")
    assert client.get("/", follow_redirects=False).headers["location"] == "/warehouse"
