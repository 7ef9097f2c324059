"""The console's screens in a real browser: the hold queue by role, the dashboard moving without a reload, the global
search finding a customer by a phone typed another way, and what every page owes a screen reader. The tests save
screenshots of the main screens to docs/screenshots/ (shown in the README)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from ordersmith.customers import service as customers
from ordersmith.orders import service as orders
from tests.browser.conftest import LOADED, SCREEN_TIME, SCREENSHOTS, save_screenshot
from tests.builders import (
    DEFAULT_PASSWORD,
    channel,
    make_api_key,
    make_order_shop,
    make_user,
    order_request,
    place_paid,
)
from tests.support.server import Server

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


def sign_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("form[action='/login'] button[type=submit], main button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    save_screenshot(page, SCREENSHOTS / f"{name}.png")


def a_shop_with_a_held_order(uow) -> orders.Order:  # type: ignore[no-untyped-def]
    make_order_shop(uow)
    ann = customers.create_customer(
        uow,
        details=customers.Details(
            first_name="Ann",
            last_name="Buyer",
            emails=["ann@example.com"],
            phones=[customers.Phone("+14155550132", "mobile")],
        ),
    )
    orders.place_order(uow, channel=channel(uow), request=order_request(("MUG", 2), customer=ann.number))
    placed = orders.place_order(
        uow, channel=channel(uow, "phone"), request=order_request(("TEE", 1), ("MUG", 1), customer=ann.number)
    ).order
    return orders.hold_order(uow, ref=placed.number, note="customer asked us to wait")


def test_a_manager_releases_a_held_order_from_the_queue_and_an_agent_cannot(
    page, server: Server, fixture_uow
) -> None:
    held = a_shop_with_a_held_order(fixture_uow)
    make_user(fixture_uow, role="agent", email="agent@example.com")
    make_user(fixture_uow, role="manager", email="manager@example.com")
    # an agent sees the queue but no decision, and a forged release is refused
    sign_in(page, "agent@example.com")
    page.goto("/holds")
    row = page.locator(f"tr.hold-row[data-number='{held.number}']")
    assert row.count() == 1 and "manual" in row.inner_text()
    assert page.locator("form[action$='/release']").count() == 0
    token = page.get_attribute("meta[name=csrf-token]", "content")
    refused = page.request.post(
        f"/orders/{held.number}/release", form={"note": "trying", "csrf_token": token or ""}
    )
    assert refused.status == 403
    assert orders.get_order(fixture_uow, ref=held.number).status == "on_hold"
    page.goto(f"/orders/{held.number}")
    assert "released or cancelled by a manager" in page.inner_text("main")
    page.context.clear_cookies()
    # the manager releases it with a note
    sign_in(page, "manager@example.com")
    page.goto("/holds")
    shot(page, "hold-queue")
    page.fill(
        f"tr[data-number='{held.number}'] form[action$='/release'] input[name=note]", "spoke to Ann: ship it"
    )
    page.click(f"tr[data-number='{held.number}'] form[action$='/release'] button")
    page.wait_for_url(f"{server.url}/holds")
    assert page.locator(f"tr.hold-row[data-number='{held.number}']").count() == 0
    assert orders.get_order(fixture_uow, ref=held.number).status == "released"
    page.goto(f"/orders/{held.number}")
    assert "order.released" in page.inner_text("#timeline-title + ol")
    shot(page, "order-detail")


def test_the_dashboard_counts_an_order_placed_through_the_api_without_a_reload(
    page, server: Server, fixture_uow
) -> None:
    make_order_shop(fixture_uow)
    # the weeks before, at fixed times (the dashboard's chart and its "against last week" read them)
    for days, code, sku in ((1, "web", "TEE"), (2, "phone", "MUG"), (3, "web", "MUG"), (7, "web", "TEE"),
                            (7, "phone", "TEE"), (12, "web", "MUG"), (20, "phone", "TEE")):  # fmt: skip
        orders.place_order(
            fixture_uow,
            channel=channel(fixture_uow, code),
            request=order_request((sku, 1), placed_at=SCREEN_TIME - timedelta(days=days, hours=days % 5)),
        )
    make_user(fixture_uow, role="manager", email="manager@example.com")
    key = make_api_key(fixture_uow, scopes=["orders:write"], channel="web", name="web").secret
    sign_in(page, "manager@example.com")
    page.goto("/dashboard")
    page.wait_for_selector("#dashboard-status.live")
    page.wait_for_function(LOADED)  # the chart drawn from the history above, before the new order
    before = int(page.inner_text("#kpi-orders_today"))
    page.evaluate("window.notReloaded = true")
    # when the web shop places an order through the API
    response = httpx.post(
        f"{server.url}/api/v1/orders",
        headers={"Authorization": f"Bearer {key}"},
        json={"lines": [{"sku": "TEE", "quantity": 2}], "ship_tos": [ADDRESS]},
    )
    assert response.status_code == 201, response.text
    number = response.json()["number"]
    # then the counter and the live list change on the open page
    page.wait_for_selector(f"#kpi-orders_today:text-is('{before + 1}')")
    page.wait_for_selector(f"#latest a[href='/orders/{number}']")
    assert page.evaluate("window.notReloaded") is True
    assert page.inner_text("#kpi-revenue_today") == "$49.00"  # 2 x 20.00 + 5.00 shipping + 10 % tax on goods
    shot(page, "dashboard")


def test_an_agent_finds_a_customer_by_a_phone_typed_another_way_and_opens_the_360(
    page, server: Server, fixture_uow
) -> None:
    a_shop_with_a_held_order(fixture_uow)
    make_user(fixture_uow, role="agent", email="agent@example.com")
    sign_in(page, "agent@example.com")
    page.goto("/orders")
    page.keyboard.press("/")  # one keystroke away, from any page
    page.keyboard.type("(415) 555-0132")
    option = page.locator("#search-results a[role=option]").first
    option.wait_for()
    assert "Ann Buyer" in option.inner_text()
    shot(page, "search")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/customers/**")
    main = page.inner_text("main")
    assert "Ann Buyer" in main and "lifetime value" in main
    assert page.locator("#customer-orders tbody tr").count() == 2
    assert page.locator("#customer-returns").count() == 0  # no returns yet
    # a note in one step
    page.fill("form[action$='/notes'] input[name=body]", "called about the held order")
    page.click("form[action$='/notes'] button")
    page.wait_for_selector("#customer-timeline li:has-text('called about the held order')")
    shot(page, "customer-360")


def test_every_page_has_a_title_one_main_landmark_and_a_label_for_every_control(
    page, server: Server, fixture_uow
) -> None:
    held = a_shop_with_a_held_order(fixture_uow)
    make_user(fixture_uow, role="admin", email="admin@example.com")
    sign_in(page, "admin@example.com")
    customer = orders.get_order(fixture_uow, ref=held.number).customer_number
    pages = [
        "/",
        "/dashboard",
        "/orders",
        f"/orders/{held.number}",
        "/holds",
        "/customers?q=Ann",
        f"/customers/{customer}",
        "/search?q=Ann",
        "/events",
        "/admin/users",
        "/admin/api-keys",
        "/account/security",
        "/stock?sku=TEE",
        "/purchasing",
        "/phone-order",
        "/admin/webhooks",
        "/admin/channels",
        "/admin/crm",
    ]
    for path in pages:
        page.goto(path)
        assert page.title().strip() and "Ordersmith" in page.title(), path
        assert page.locator("main").count() == 1, path
        unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll(
            'input:not([type=hidden]):not([type=submit]), select, textarea')).filter(el => {
              if (el.closest('label')) return false;
              if (el.id && document.querySelector('label[for="' + el.id + '"]')) return false;
              return !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby');
            }).map(el => el.name || el.id || el.outerHTML.slice(0, 60))""")
        assert unlabelled == [], (path, unlabelled)
    page.goto("/orders")
    shot(page, "orders")


def test_a_manager_authorizes_a_return_and_refunds_it_as_store_credit(
    page, server: Server, fixture_uow, browser_db, tmp_path: Path
) -> None:
    from ordersmith.payments import service as payments
    from ordersmith.platform.settings import Settings

    # the server's own vault and sandbox files (tests/support/server.py puts them beside its log)
    settings = Settings(
        vault_database_url=f"sqlite:///{tmp_path}/vault.db",
        sandbox_gateway_path=str(tmp_path / "sandbox_gateway.db"),
        sandbox_carrier_path=str(tmp_path / "sandbox_carrier.db"),
        _env_file=None,
    )  # type: ignore[call-arg]
    wired = payments.setup_payments(browser_db, settings)
    make_order_shop(fixture_uow)
    token = wired.vault.tokenize(number="4242424242424242", exp_month=12, exp_year=2031, actor="test").token
    ann = customers.create_customer(
        fixture_uow, details=customers.Details(first_name="Ann", last_name="Buyer")
    )
    order = place_paid(
        fixture_uow,
        channel=channel(fixture_uow),
        request=order_request(
            ("TEE", 2), customer=ann.number, payments=[orders.PaymentRequest(method="card", token=token)]
        ),
    ).order
    orders.record_shipment(fixture_uow, ref=order.number, tracking="1Z")
    payments.capture_shipped(fixture_uow, order_id=order.id)
    make_user(fixture_uow, role="manager", email="manager@example.com")
    sign_in(page, "manager@example.com")
    page.goto(f"/orders/{order.number}")
    page.fill("input[name=return-1-quantity]", "1")
    page.select_option("select[name=return-1-reason]", "changed_mind")
    page.click("form[action$='/returns'] button")
    page.wait_for_selector("#rma")
    assert "R-" in page.inner_text("#rma")
    page.fill("form[action$='/refunds'] input[name=amount]", "10.00")
    page.fill("form[action$='/refunds'] input[name=reason]", "return: changed mind")
    page.check("form[action$='/refunds'] input[name=to_store_credit]")
    page.click("form[action$='/refunds'] button")
    page.wait_for_selector("#refunded")
    code = page.inner_text("#refunded strong")
    assert len(code.replace("-", "")) == 16 and code not in page.url
    assert payments.balance(fixture_uow, code=code, caller="test").balance.amount == 10
    assert "refund" in page.inner_text("#payments")
    page.goto(f"/customers/{ann.number}")
    assert "R-" in page.inner_text("#customer-returns")


def test_two_agents_edit_one_customer_and_the_second_sees_the_conflict(
    page, server: Server, fixture_uow
) -> None:
    held = a_shop_with_a_held_order(fixture_uow)
    number = orders.get_order(fixture_uow, ref=held.number).customer_number
    make_user(fixture_uow, role="agent", email="first@example.com")
    make_user(fixture_uow, role="agent", email="second@example.com")
    other = page.context.browser.new_context(base_url=server.url).new_page()
    for who, tab in (("first@example.com", page), ("second@example.com", other)):
        sign_in(tab, who)
        tab.goto(f"/customers/{number}")
        tab.click("#edit-profile summary")
    # the first agent saves a new company name
    page.fill("#edit-profile input[name=company]", "Buyer & Co")
    page.click("#edit-profile button")
    page.wait_for_url("**?saved=1")
    # the second, still on the old version, saves too: refused, the stored value shown, nothing overwritten
    other.fill("#edit-profile input[name=last_name]", "Buyer-Smith")
    other.click("#edit-profile button")
    other.wait_for_selector("#customer-error")
    assert "Someone else changed this customer" in other.inner_text("#customer-error")
    assert "Buyer & Co" in other.inner_text("main")
    stored = customers.get_customer(fixture_uow, ref=number)
    assert (stored.company, stored.last_name) == ("Buyer & Co", "Buyer")
    other.context.close()


def test_the_warehouse_moves_stock_and_receives_a_po_that_only_a_manager_approves(
    page, server: Server, fixture_uow
) -> None:
    from decimal import Decimal

    from ordersmith.inventory import service as inventory
    from ordersmith.kernel.money import Money
    from ordersmith.purchasing import service as purchasing
    from tests.builders import make_vendor

    make_order_shop(fixture_uow)
    make_vendor(fixture_uow, code="ACME")
    draft = purchasing.create_purchase_order(
        fixture_uow,
        vendor="ACME",
        location="EAST",
        lines=[purchasing.NewLine("MUG", 12, unit_cost=Money(Decimal("4.00"), "USD"))],
    )
    make_user(fixture_uow, role="warehouse", email="dock@example.com")
    make_user(fixture_uow, role="manager", email="manager@example.com")
    sign_in(page, "dock@example.com")
    # stock: look up, transfer two tees from EAST to WEST
    page.goto("/stock?sku=TEE")
    before = inventory.get_availability(fixture_uow, sku="TEE")
    page.select_option("form[action='/stock/transfer'] select[name=from_location]", "EAST")
    page.select_option("form[action='/stock/transfer'] select[name=to_location]", "WEST")
    page.fill("form[action='/stock/transfer'] input[name=quantity]", "2")
    page.click("form[action='/stock/transfer'] button")
    page.wait_for_selector("#movements td:has-text('transfer')")
    by_location = {
        loc.location: loc.on_hand for loc in inventory.get_availability(fixture_uow, sku="TEE").locations
    }
    assert by_location["EAST"] == {loc.location: loc.on_hand for loc in before.locations}["EAST"] - 2
    shot(page, "stock")
    # the warehouse cannot approve the draft PO; the manager can
    page.goto(f"/purchasing/{draft.number}")
    assert page.locator("form[action$='/approve']").count() == 0
    page.context.clear_cookies()
    sign_in(page, "manager@example.com")
    page.goto(f"/purchasing/{draft.number}")
    page.click("form[action$='/approve'] button")
    page.click("form[action$='/send'] button")
    page.fill("input[name=receive-1]", "12")
    page.fill("input[name=reference]", "ASN-77")
    page.click("form[action$='/receive'] button[type=submit]")
    page.wait_for_selector("h1 .badge:has-text('received')")
    assert purchasing.get_purchase_order(fixture_uow, number=draft.number).status == "received"


def test_an_admin_subscribes_a_webhook_sees_its_secret_once_and_switches_a_channel_off(
    page, server: Server, fixture_uow
) -> None:
    make_order_shop(fixture_uow)
    make_user(fixture_uow, role="admin", email="admin@example.com")
    sign_in(page, "admin@example.com")
    page.goto("/admin/webhooks")
    page.fill("input[name=url]", "https://erp.example.com/hooks/ordersmith")
    page.fill("input[name=event_types]", "order.*, payment.captured")
    page.click("form[action='/admin/webhooks'] button")
    assert "whsec_" in page.inner_text("#webhook-secret")
    page.goto("/admin/webhooks")
    assert page.locator("#webhook-secret").count() == 0  # shown once
    assert "erp.example.com" in page.inner_text("#subscriptions")
    page.goto("/admin/channels")
    row = page.locator("#channels tr:has(code:text-is('mail'))")
    row.locator("input[name=active]").uncheck()
    row.locator("button").click()
    page.wait_for_url(f"{server.url}/admin/channels")
    from ordersmith.platform import sales_channels
    from ordersmith.platform.access import SCOPES, Principal

    staff = Principal(kind="user", id=None, label="t", scopes=frozenset(SCOPES), role="admin")
    mail = [
        c
        for c in sales_channels.list_sales_channels(fixture_uow, principal=staff, limit=50).items
        if c.code == "mail"
    ]
    assert mail[0].active is False


def test_a_style_code_opens_a_size_and_colour_picker_that_fills_the_line(
    page, server: Server, fixture_uow
) -> None:
    from decimal import Decimal

    from ordersmith.catalog import styles
    from ordersmith.kernel.money import Money
    from ordersmith.pricing import service as pricing
    from tests.builders import stock

    make_order_shop(fixture_uow)
    styles.create_style(
        fixture_uow,
        code="POLO",
        name="Polo shirt",
        axes=[("colour", ["RED", "BLUE"]), ("size", ["S", "M", "L"])],
        divisions=["web", "catalog", "store"],
    )
    pricing.create_price_list(
        fixture_uow,
        code="polo",
        name="Polo",
        currency="USD",
        priority=5,
        prices=[pricing.PriceEntry("POLO-BLUE-M", Money(Decimal("30.00"), "USD"))],
    )
    stock(fixture_uow, sku="POLO-BLUE-M", location="EAST", quantity=4)
    make_user(fixture_uow, role="agent", email="agent@example.com")
    sign_in(page, "agent@example.com")
    page.goto("/phone-order")
    page.fill("input[name=line-0-sku]", "polo")
    page.keyboard.press("Tab")
    page.wait_for_selector("fieldset.line[data-index='0'] select.variant-axis[data-axis=colour]")
    page.select_option("fieldset.line[data-index='0'] select[data-axis=colour]", "BLUE")
    page.select_option("fieldset.line[data-index='0'] select[data-axis=size]", "M")
    page.wait_for_selector("fieldset.line[data-index='0'] .line-facts:has-text('4 available')")
    assert page.input_value("input[name=line-0-sku]") == "POLO-BLUE-M"
    # the stock screen looks a style up the same way: every variant with what is available
    page.goto("/stock?sku=POLO&division=catalog")
    rows = page.locator("#variants tbody tr")
    assert rows.count() == 6
    # the variants sit in the closed "Every variant" below the grid: their text, not what is rendered
    assert "4" in (page.locator("#variants tr:has-text('POLO-BLUE-M')").text_content() or "")


def test_an_agent_changes_a_pending_order_before_release_at_the_version_read(
    page, server: Server, fixture_uow
) -> None:
    make_order_shop(fixture_uow)
    pending = orders.place_order(
        fixture_uow, channel=channel(fixture_uow, "phone"), request=order_request(("TEE", 1), release=False)
    ).order
    make_user(fixture_uow, role="agent", email="agent@example.com")
    sign_in(page, "agent@example.com")
    page.goto(f"/orders/{pending.number}")
    page.fill("input[name=qty-1]", "3")
    page.fill("input[name=new_sku]", "MUG")
    page.click("#edit-order button")
    page.wait_for_url(f"{server.url}/orders/{pending.number}")
    changed = orders.get_order(fixture_uow, ref=pending.number)
    assert [(line.sku, line.quantity) for line in changed.lines] == [("TEE", 3), ("MUG", 1)]
    assert changed.total > pending.total and "$" in page.inner_text("#order-total")
    # a stale form (someone changed it meanwhile) is refused and changes nothing
    orders.edit_order(
        fixture_uow,
        ref=pending.number,
        expected_version=changed.version,
        changes=orders.OrderChanges(lines=[orders.LineChange(line_no=2, quantity=2)]),
    )
    page.fill("input[name=qty-1]", "1")
    page.click("#edit-order button")
    assert "changed" in page.inner_text(".error")
    assert orders.get_order(fixture_uow, ref=pending.number).lines[0].quantity == 3
