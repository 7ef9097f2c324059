"""The phone-order screen in Chromium, as an agent uses it all day: keyboard first (Alt+C, Enter, Alt+R, Alt+P), the
quote beside the lines following every change without a reload, the place button and the total in view without
scrolling at 1280 x 800, a coupon that does not apply named beside the coupon while the quote stays."""

from __future__ import annotations

from decimal import Decimal

from ordersmith.customers import service as customers
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.pricing import service as pricing
from ordersmith.pricing.service import PromotionInput
from tests.browser.test_console_screens import shot, sign_in
from tests.builders import make_order_shop, make_user
from tests.support.server import Server


def a_caller_with_a_default_ship_to(uow) -> customers.Customer:  # type: ignore[no-untyped-def]
    make_order_shop(uow)
    make_user(uow, role="agent", email="agent@example.com")
    return customers.create_customer(
        uow,
        details=customers.Details(
            first_name="Ann",
            last_name="Buyer",
            phones=[customers.Phone("+14155550132", "mobile")],
            addresses=[
                customers.Address(kind="ship_to", name="Ann Buyer", line1="1 Market St", city="San Francisco",
                                  region="CA", postal_code="94105", country="US", is_default=True)
            ],
        ),
    )  # fmt: skip


def in_view(page, selector: str) -> bool:  # type: ignore[no-untyped-def]
    box = page.locator(selector).bounding_box()
    viewport = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


def test_an_agent_places_a_three_line_order_for_two_recipients_by_keyboard_without_scrolling(
    page, server: Server, fixture_uow
) -> None:
    # given a caller with a default ship-to, and an agent at a 1280 x 800 screen
    ann = a_caller_with_a_default_ship_to(fixture_uow)
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "agent@example.com")
    page.goto("/phone-order")
    page.evaluate("window.notReloaded = true")
    # the caller gives a phone number, typed the way the agent hears it; Enter picks the match
    page.keyboard.press("Alt+C")
    page.keyboard.type("415.555.0132")
    page.locator("#customer-matches button.choice").first.wait_for()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#customer-card[data-number='{ann.number}']")
    assert page.input_value("#customer") == ann.number
    assert page.input_value("input[name=ship-0-line1]") == "1 Market St"
    page.select_option("#channel", "phone")
    # three lines: Enter in a line goes on to a new one
    page.wait_for_function("document.activeElement && document.activeElement.name === 'line-0-sku'")
    page.keyboard.type("TEE")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement && document.activeElement.name === 'line-1-sku'")
    page.keyboard.type("MUG")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement && document.activeElement.name === 'line-2-sku'")
    page.keyboard.type("TOWEL")
    page.keyboard.press("Tab")
    page.wait_for_selector("input[name=line-2-p-initials]")
    page.fill("input[name=line-2-p-initials]", "ABC")
    # a second recipient, added with a key; the mugs go to them
    page.keyboard.press("Alt+R")
    page.wait_for_function("document.activeElement && document.activeElement.name === 'ship-1-name'")
    for value in ("Bob Friend", "200 Spring St", "Los Angeles", "CA", "90012"):
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    page.select_option("select[name=line-1-ship_to]", "B")
    assert "available" in page.inner_text("fieldset.line[data-index='0'] .line-facts")
    # the card goes to the vault; only "Visa ····4242" comes back on the screen
    page.fill("#card-number", "4242 4242 4242 4242")
    page.fill("#card-month", "12")
    page.fill("#card-year", "2031")
    page.fill("#card-cvc", "123")
    page.click("#card-store")
    page.wait_for_selector("#card-chosen:has-text('Visa ····4242')")
    assert page.input_value("#card-number") == ""
    assert "vtok_" not in page.inner_text("main")
    # then the quote beside the lines: 20 + 2 x 10 + 15 + 5.00 monogram, 2 x 5.00 shipping, 10 % tax on goods
    page.wait_for_selector("#quote-total:has-text('$76.00')")
    assert page.inner_text("fieldset.line[data-index='1'] .line-price") == "$20.00"
    assert page.inner_text("#place-total") == "$76.00"
    # the whole order, the total and the place button on one 1280 x 800 screen
    page.evaluate("window.scrollTo(0, 0)")
    assert in_view(page, "#place-order") and in_view(page, "#quote-total") and in_view(page, "#recipients")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert page.evaluate("window.notReloaded") is True
    shot(page, "phone-order")
    # the explanation numbers the lines as the form does
    page.click("#quote-why summary")
    assert page.inner_text("#quote-lines tr[data-line='3']").split()[:2] == ["3", "TOWEL"]
    assert "Line 3 · surcharge · personalization: $5.00" in page.inner_text("#quote-why")
    # Alt+P places it
    page.keyboard.press("Alt+P")
    page.wait_for_url("**/orders/*?placed=1")
    number = page.inner_text("#placed").split()[1]
    assert page.locator("#payments tbody tr").first.inner_text().startswith("card ····4242")
    order = orders.get_order(fixture_uow, ref=number)
    assert [(line.sku, line.quantity, line.ship_to) for line in order.lines] == [
        ("TEE", 1, "A"),
        ("MUG", 2, "B"),
        ("TOWEL", 1, "A"),
    ]
    assert order.lines[2].personalization == {"initials": "ABC"}
    assert order.channel == "phone" and order.customer_number == ann.number


def test_a_coupon_that_does_not_apply_is_named_beside_the_coupon_while_the_quote_stays(
    page, server: Server, fixture_uow
) -> None:
    # given a five-dollar coupon
    a_caller_with_a_default_ship_to(fixture_uow)
    pricing.create_promotion(fixture_uow, promotion=PromotionInput(
        code="FIVEOFF", name="$5 off", kind="order_amount_off", amount=Money(Decimal("5.00"), "USD"),
        coupon_required=True))  # fmt: skip
    pricing.create_coupon(fixture_uow, code="five", promotion="FIVEOFF", max_uses=10, per_customer_limit=1)
    sign_in(page, "agent@example.com")
    page.goto("/phone-order")
    page.fill("input[name=ship-0-name]", "Ann Buyer")
    page.fill("input[name=ship-0-line1]", "1 Market St")
    page.fill("input[name=ship-0-region]", "CA")
    page.fill("input[name=line-0-sku]", "TEE")
    page.keyboard.press("Tab")
    page.wait_for_selector("#quote-total:has-text('$27.00')")
    # when the agent types a good coupon and one that does not exist
    page.keyboard.press("Alt+K")
    page.keyboard.type("FIVE, NOPE")
    # then the bad one is named with its reason, and the quote keeps the good one
    page.wait_for_selector("#coupon-note:has-text('NOPE not applied: no such coupon')")
    page.wait_for_selector("#quote-total:has-text('$21.50')")
    assert "FIVE " not in page.inner_text("#coupon-note")
    # and a quantity typed changes the line's price and the total without a reload
    page.fill("input[name=line-0-quantity]", "3")
    page.wait_for_selector("#quote-total:has-text('$65.50')")
    assert page.inner_text("fieldset.line[data-index='0'] .line-price") == "$55.00"  # its share of the $5 off
