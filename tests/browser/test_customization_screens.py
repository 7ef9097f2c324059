"""The customization screens in Chromium: custom fields (defined, then edited on a customer's page), the policies
and the stores-and-registers set-up — each with a title, one main landmark and a label for every control;
screenshots in docs/screenshots/ (custom-fields, policies, pos-setup)."""

from __future__ import annotations

from ordersmith.channels.pos import service as pos
from ordersmith.customers import service as customers
from ordersmith.platform import custom_fields, sales_channels
from tests.browser.test_console_screens import shot, sign_in
from tests.builders import make_order_shop, make_user
from tests.support.pos_shop import STORE_ADDRESS
from tests.support.server import Server

UNLABELLED = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]):not([type=submit]), select, textarea')).filter(el => {
      if (el.closest('label')) return false;
      if (el.id && document.querySelector('label[for="' + el.id + '"]')) return false;
      return !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby');
    }).map(el => el.name || el.id || el.outerHTML.slice(0, 60))"""


def test_an_admin_defines_a_field_fills_it_on_a_customer_and_sets_policies_and_tills_up(
    page, server: Server, fixture_uow
) -> None:
    # given a shop with a POS channel and store, a customer and an admin
    make_order_shop(fixture_uow)
    sales_channels.create_sales_channel(fixture_uow, code="till", name="Tills", kind="pos", division="store",
                                        currency="USD")  # fmt: skip
    pos.put_store(fixture_uow, location="STORE1", settings=pos.StoreSettings(channel="till", **STORE_ADDRESS))
    pos.create_register(fixture_uow, code="R1", store="STORE1", name="Front counter")
    custom_fields.create_definition(
        fixture_uow, kind="order", name="gift_wrap", label="Gift wrap", type="boolean"
    )
    number = customers.create_customer(
        fixture_uow, details=customers.Details(first_name="Ann", last_name="Buyer")
    )
    make_user(fixture_uow, role="admin", email="admin@example.com")
    sign_in(page, "admin@example.com")
    # when the admin defines a customer field on the screen
    page.goto("/admin/custom-fields")
    page.select_option("#define select[name=kind]", "customer")
    page.fill("#define input[name=name]", "loyalty_tier")
    page.fill("#define input[name=label]", "Loyalty tier")
    page.select_option("#define select[name=type]", "choice")
    page.fill("#define input[name=choices]", "silver, gold")
    page.click("#define button[type=submit]")
    page.wait_for_selector('[data-field="customer.loyalty_tier"]')
    shot(page, "custom-fields")
    # then it is edited on the customer's page
    page.goto(f"/customers/{number.number}")
    page.select_option("#custom-values select[name=cf_loyalty_tier]", "gold")
    page.click("#custom-values button[type=submit]")
    page.wait_for_selector("text=Custom fields saved.")
    assert custom_fields.read_values(fixture_uow, kind="customer", record_id=number.id) == {
        "loyalty_tier": "gold"
    }
    # and every new screen is labelled
    for path, name in (("/admin/custom-fields", None), ("/admin/settings", "policies"), ("/pos/setup", "pos-setup"),
                       (f"/customers/{number.number}", None)):  # fmt: skip
        page.goto(path)
        assert page.title().strip() and "Ordersmith" in page.title(), path
        assert page.locator("main").count() == 1, path
        assert page.evaluate(UNLABELLED) == [], path
        if name:
            shot(page, name)
