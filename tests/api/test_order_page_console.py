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
