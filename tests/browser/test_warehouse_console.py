"""The warehouse's day in a real browser (Chromium) against a real server, on SQLite and PostgreSQL: a warehouse user
lands on the warehouse's home, builds a wave, prints its pick list, picks on the narrow pick screen, packs by
scanning barcodes with the keyboard (as a USB scanner types) — a wrong item is refused on screen — buys the label,
prints the packing slip and ships; the order's page then shows the tracking number. Screenshots of the screens go
to docs/screenshots/."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ordersmith.catalog import service as catalog
from ordersmith.fulfillment import service as fulfillment
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform.settings import Settings
from ordersmith.pricing import service as pricing
from tests.browser.conftest import SCREENSHOTS, save_screenshot
from tests.browser.test_console_screens import shot, sign_in
from tests.builders import channel, make_order_shop, make_user, order_request, stock
from tests.support.server import Server

HANDHELD = {"width": 390, "height": 844}  # the pick screen is a handheld's

GTIN = "4006381333931"
DOCK = {"name": "Shipping dock", "company": "Demo Outfitters", "line1": "200 Harbor Way", "city": "Boston",
        "region": "MA", "postal_code": "02110", "country": "US", "phone": "617-555-0100"}  # fmt: skip
UNLABELLED = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]):not([type=submit]), select, textarea')).filter(el => {
      if (el.closest('label')) return false;
      if (el.id && document.querySelector('label[for="' + el.id + '"]')) return false;
      return !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby');
    }).map(el => el.name || el.id || el.outerHTML.slice(0, 60))"""


def a_warehouse_with_an_order(uow: Any, settings: Settings) -> orders.Order:
    fulfillment.setup_fulfillment(uow.db, settings)
    make_order_shop(uow)
    catalog.create_item(uow, sku="BOOT", name="Boot", divisions=["web"], weight_g=900, barcodes=[GTIN])
    pricing.create_price_list(uow, code="boots", name="Boots", currency="USD",
                              prices=[pricing.PriceEntry("BOOT", Money(Decimal("60.00"), "USD"))])  # fmt: skip
    stock(uow, sku="BOOT", location="EAST", quantity=5)
    fulfillment.set_dock(uow, location="EAST", address=DOCK)
    for code, walk, sku in (("A-01-1", 20, "TEE"), ("B-07-2", 10, "BOOT")):
        fulfillment.put_bin(uow, location="EAST", code=code, walk_sequence=walk, zone=code[0])
        fulfillment.assign_bin(uow, location="EAST", sku=sku, bin_code=code)
    order = orders.place_order(
        uow, channel=channel(uow), request=order_request(("BOOT", 2), ("TEE", 1))
    ).order
    fulfillment.sync_order(uow, order_id=order.id)
    make_user(uow, role="warehouse", email="floor@example.com")
    return order


def scan(page: Any, code: str) -> None:
    """What a keyboard-wedge scanner does: type the code into whatever has the focus, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_a_warehouse_user_takes_an_order_from_wave_to_shipped(
    page: Any, server: Server, fixture_uow: Any, settings: Settings
) -> None:
    order = a_warehouse_with_an_order(fixture_uow, settings)
    (shipment,) = fulfillment.order_shipments(fixture_uow, order_id=str(order.id))
    # the warehouse role lands on its home screen, which counts the shipment as waiting at EAST
    sign_in(page, "floor@example.com")
    assert page.url == f"{server.url}/warehouse"
    assert page.inner_text("#work tr[data-location=EAST] td >> nth=0") == "1"
    shot(page, "warehouse-home")
    # it builds a wave of ground shipments
    page.click("text=Build a wave")
    page.select_option("#build-wave select[name=location]", "EAST")
    page.check("#build-wave input[name=methods][value=ground]")
    page.click("#build-wave button[type=submit]")
    page.wait_for_url(f"{server.url}/warehouse/waves/W-*")
    wave = page.url.rsplit("/", 1)[1]
    assert page.inner_text(f"#wave-shipments tr[data-shipment='{shipment.number}'] td >> nth=0") == "T01"
    shot(page, "warehouse-wave")
    # and opens its pick list: a PDF, served with the console's session
    with page.context.expect_event("response", lambda r: "pick-lists.pdf" in r.url) as printed:
        page.click("#print-pick-list button")
    assert printed.value.status == 200 and printed.value.headers["content-type"] == "application/pdf"
    # the picker walks the boots' bin first on the narrow pick screen, then confirms the tote
    page.click("#pick-screen")
    page.set_viewport_size(HANDHELD)
    bins = page.locator("#stops .bin").all_inner_texts()
    assert bins == ["B-07-2", "A-01-1"]
    save_screenshot(page, SCREENSHOTS / "warehouse-pick.png", viewport=HANDHELD)
    page.click(f".tote[data-shipment='{shipment.number}'] button")
    page.wait_for_selector(f"text=Shipment {shipment.number} is picked.")
    # at the pack station the packer opens the shipment and scans: a mug is refused on screen
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto("/warehouse/pack")
    page.wait_for_selector("input[name=shipment]:focus")  # a scanner types into whatever has the focus
    scan(page, shipment.number)
    page.wait_for_selector("#scan:focus")
    page.evaluate("window.notReloaded = true")
    scan(page, "MUG")
    refusal = page.wait_for_selector("#refusal")
    assert f"MUG is not on shipment {shipment.number}" in refusal.inner_text()
    shot(page, "warehouse-pack-refused")
    # the two boots by their barcode and the tee by its SKU pack, without reloading the page
    for code in (GTIN, GTIN, "TEE"):
        page.wait_for_selector("#scan:focus")
        scan(page, code)
        page.wait_for_selector(f"#confirmation:has-text('{code}')")
    page.wait_for_selector("#pack-form")
    assert page.locator(".lines td.packed").all_inner_texts() == ["2", "1"]
    assert page.evaluate("window.notReloaded") is True
    # weighs and packs, buys the label
    page.fill("#pack-form input[name=weight_g]", "2100")
    page.click("#pack-form button")
    page.click("#label-form button")
    summary = page.wait_for_selector("#label-summary")
    tracking = page.inner_text("#label-summary code.tracking")
    assert tracking.startswith("SBX") and "sandbox ground" in summary.inner_text()
    shot(page, "warehouse-pack-labelled")
    # prints the packing slip (a PDF) and ships
    with page.context.expect_event("response", lambda r: "packing-slip" in r.url) as slip:
        page.click("#packing-slip")
    assert slip.value.status == 200 and slip.value.headers["content-type"] == "application/pdf"
    page.click("#ship-form button")
    page.wait_for_selector(f"text=Shipment {shipment.number} shipped.")
    assert fulfillment.get_shipment(fixture_uow, ref=shipment.number).status == "shipped"
    assert fulfillment.get_wave(fixture_uow, ref=wave).status == "done"
    # the order's page shows the shipment with its tracking number
    page.goto(f"/orders/{order.number}")
    row = page.inner_text(f"#order-shipments tr[data-shipment='{shipment.number}']")
    assert tracking in row and "shipped" in row
    # and every warehouse screen has a title, one main landmark and a label for each control
    for path in ["/warehouse", "/warehouse/waves", f"/warehouse/waves/{wave}", f"/warehouse/waves/{wave}/pick",
                 "/warehouse/pack", f"/warehouse/pack?shipment={shipment.number}", "/warehouse/shipments",
                 f"/warehouse/shipments/{shipment.number}", "/warehouse/counts", "/warehouse/manifests",
                 "/warehouse/productivity"]:  # fmt: skip
        page.goto(path)
        assert "Ordersmith" in page.title() and page.locator("main").count() == 1, path
        assert page.evaluate(UNLABELLED) == [], path
    page.goto(f"/warehouse/shipments/{shipment.number}")
    shot(page, "warehouse-shipment")
