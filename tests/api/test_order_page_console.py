"""The order page through the console, on SQLite and PostgreSQL: the timeline in words, each moment once; why
the stock came from where it did; a pending order's edit window."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ordersmith.orders import service as orders
from ordersmith.platform import sales_channels
from ordersmith.platform.access import SCOPES, Principal
from tests.api.conftest import login
from tests.builders import channel, make_order_shop, order_request

STAFF = Principal(kind="user", id=None, label="admin", scopes=frozenset(SCOPES), role="admin")


def test_the_order_page_tells_its_story_in_words(client: TestClient, admin_db) -> None:  # type: ignore[no-untyped-def]
    # given a web order released at once, then held and released by a manager
    make_order_shop(admin_db)
    order = orders.place_order(
        admin_db, channel=channel(admin_db, "web"), request=order_request(("TEE", 2))
    ).order
    orders.hold_order(admin_db, ref=order.number, note="checking the address")
    orders.release_order(admin_db, ref=order.number, note="address confirmed")
    login(client, admin_db, role="agent")
    # when an agent opens it
    page = client.get(f"/orders/{order.number}")
    # then the timeline says what happened, once each, and why its stock came from where it did
    assert page.status_code == 200
    timeline = page.text[page.text.index('id="timeline-title"') :]
    assert "Placed through the web (2 units," in timeline
    assert "Held: held by hand" in timeline
    assert timeline.count("Released from hold (held by hand): “address confirmed”") == 1
    assert 'id="allocation"' in page.text


def test_a_phone_order_in_its_edit_window_says_when_it_will_be_released(client: TestClient, admin_db) -> None:  # type: ignore[no-untyped-def]
    # given the phone channel keeps orders 15 minutes before release
    make_order_shop(admin_db)
    phone = channel(admin_db, "phone")
    sales_channels.update_sales_channel(
        admin_db, principal=STAFF, channel_id=phone.id, expected_version=None, release_after_s=900
    )
    order = orders.place_order(
        admin_db, channel=channel(admin_db, "phone"), request=order_request(("MUG", 1))
    ).order
    login(client, admin_db, role="agent")
    # when the agent opens it
    page = client.get(f"/orders/{order.number}")
    # then the page says it is pending in its edit window and when it will be released
    assert page.status_code == 200 and 'id="edit-window"' in page.text
    assert order.release_at is not None and order.release_at.strftime("%Y-%m-%d %H:%M") in page.text


def test_the_orders_list_names_customers_downloads_the_filtered_list_and_acts_on_ticked_orders(
    client: TestClient, admin_db
) -> None:  # type: ignore[no-untyped-def]
    # given three web orders, one for a known customer, and a manager signed in
    from ordersmith.customers import service as customers

    make_order_shop(admin_db)
    buyer = customers.create_customer(admin_db, details=customers.Details(first_name="Ana", last_name="Ruiz"))
    web = channel(admin_db, "web")
    placed = [
        orders.place_order(
            admin_db, channel=web, request=order_request(("TEE", 1), customer=buyer.number)
        ).order,
        orders.place_order(admin_db, channel=web, request=order_request(("MUG", 1))).order,
        orders.place_order(
            admin_db, channel=channel(admin_db, "phone"), request=order_request(("MUG", 2))
        ).order,
    ]
    csrf = login(client, admin_db, role="manager")
    # when the list is opened, the web orders downloaded, and two ticked orders held with a note
    listing = client.get("/orders")
    exported = client.get("/orders/export.csv", params={"channel": "web"})
    held = client.post("/orders/bulk", data={"csrf_token": csrf, "action": "hold", "note": "address check",
                                             "pick": [placed[0].number, placed[2].number]})  # fmt: skip
    # then the customer's name stands beside the number, the CSV has exactly the web orders, and both are held
    assert "Ana Ruiz" in listing.text and 'name="pick"' in listing.text
    rows = exported.text.strip().splitlines()
    assert rows[0].startswith("number,placed_at,channel") and len(rows) == 3
    assert {row.split(",")[0] for row in rows[1:]} == {placed[0].number, placed[1].number}
    assert held.status_code == 200 and "2 order(s) held" in held.text
    assert [orders.get_order(admin_db, ref=o.number).status for o in placed] == [
        "on_hold",
        "released",
        "on_hold",
    ]


def test_a_bulk_action_without_its_note_is_refused_per_order_and_an_agent_cannot_act_in_bulk(
    client: TestClient, admin_db
) -> None:  # type: ignore[no-untyped-def]
    make_order_shop(admin_db)
    order = orders.place_order(
        admin_db, channel=channel(admin_db, "web"), request=order_request(("TEE", 1))
    ).order
    csrf = login(client, admin_db, role="manager")
    refused = client.post("/orders/bulk", data={"csrf_token": csrf, "action": "hold", "pick": order.number})
    assert "0 order(s) held; not held: " + order.number in refused.text
    assert orders.get_order(admin_db, ref=order.number).status == "released"
    client.cookies.clear()
    agent_csrf = login(client, admin_db, role="agent")
    assert 'name="pick"' not in client.get("/orders").text
    forbidden = client.post("/orders/bulk", data={"csrf_token": agent_csrf, "action": "cancel", "note": "x",
                                                  "pick": order.number})  # fmt: skip
    assert forbidden.status_code == 403
    assert orders.get_order(admin_db, ref=order.number).status == "released"


def _shipped_order_with_a_monogram(admin_db) -> orders.Order:  # type: ignore[no-untyped-def]
    """Two tees, a mug and a monogrammed towel (personalized: never returnable), all shipped."""
    make_order_shop(admin_db)
    lines = [orders.LineRequest(sku="TEE", quantity=2), orders.LineRequest(sku="MUG", quantity=1),
             orders.LineRequest(sku="TOWEL", quantity=1, personalization={"initials": "ABC"})]  # fmt: skip
    order = orders.place_order(
        admin_db, channel=channel(admin_db, "web"), request=order_request(lines=lines)
    ).order
    orders.record_shipment(admin_db, ref=order.number, tracking="1Z")
    return order


def test_the_return_form_offers_only_what_can_still_come_back(client: TestClient, admin_db) -> None:  # type: ignore[no-untyped-def]
    # given both tees already on a return
    order = _shipped_order_with_a_monogram(admin_db)
    orders.authorize_return(
        admin_db, order_ref=order.number, lines=[orders.ReturnLineRequest(1, 2, "damaged")]
    )
    login(client, admin_db, role="manager")
    # when the manager opens the order
    page = client.get(f"/orders/{order.number}")
    # then only the mug is offered, at most one unit, and the page says why the others are not
    assert page.status_code == 200
    form = page.text[page.text.index('id="return-form"') :]
    assert 'name="return-2-quantity"' in form and 'max="1" id="return-2-quantity"' in form
    assert 'name="return-1-quantity"' not in form and 'name="return-3-quantity"' not in form
    assert "Not offered: line 1 TEE (already on a return), line 3 TOWEL (personalized)." in form


def test_an_exchange_starts_from_the_order_page_and_the_order_links_its_return_and_exchange_order(
    client: TestClient, admin_db
) -> None:  # type: ignore[no-untyped-def]
    # given a shipped order and a manager on its page
    order = _shipped_order_with_a_monogram(admin_db)
    csrf = login(client, admin_db, role="manager")
    # when the mug is sent back for a tee
    answer = client.post(f"/orders/{order.number}/returns", follow_redirects=False, data={
        "csrf_token": csrf, "return-2-quantity": "1", "return-2-reason": "changed_mind",
        "return-2-exchange_sku": "tee"})  # fmt: skip
    # then the return is authorized with the exchange, and the order page links to it
    assert answer.status_code == 303 and answer.headers["location"] == f"/orders/{order.number}?rma=R-000001"
    rma = orders.get_return(admin_db, ref="R-000001")
    assert [(line.line_no, line.quantity, line.exchange_sku) for line in rma.lines] == [(2, 1, "TEE")]
    page = client.get(f"/orders/{order.number}")
    assert '<a href="/returns/R-000001">R-000001</a>' in page.text
    assert "placed when the return is received" in page.text
    assert (
        client.get("/returns/r-000001").text.count(f'<a href="/orders/{order.number}" id="return-order">')
        == 1
    )
    # and once the mug is received, the exchange order is linked both ways
    orders.receive_return(admin_db, ref=rma.number, location="EAST")
    exchange = orders.get_order(
        admin_db, ref=str(orders.get_return(admin_db, ref=rma.number).exchange_order_id)
    )
    page = client.get(f"/orders/{order.number}")
    assert f'<a href="/orders/{exchange.number}">{exchange.number}</a>' in page.text
    back = client.get(f"/orders/{exchange.number}")
    assert f'<a href="/orders/{order.number}" id="exchange-for">order {order.number}</a>' in back.text
    assert (
        f'<a href="/orders/{exchange.number}" id="return-exchange">' in client.get("/returns/R-000001").text
    )


def test_an_exchange_for_an_unknown_sku_is_refused_and_authorizes_nothing(
    client: TestClient, admin_db
) -> None:  # type: ignore[no-untyped-def]
    # given
    order = _shipped_order_with_a_monogram(admin_db)
    csrf = login(client, admin_db, role="manager")
    # when
    answer = client.post(f"/orders/{order.number}/returns", data={
        "csrf_token": csrf, "return-2-quantity": "1", "return-2-reason": "wrong_size",
        "return-2-exchange_sku": "NOSUCH"})  # fmt: skip
    # then
    assert answer.status_code == 422 and "NOSUCH" in answer.text
    assert orders.order_returns(admin_db, order_id=order.id) == []
    assert 'name="return-2-quantity"' in answer.text
