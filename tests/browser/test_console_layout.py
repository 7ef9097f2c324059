"""The console's layout in a real browser, for every role: each lands on its home; every page it may open fits a
1280x800 screen without scrolling sideways, with the search box usable and Sign out inside the viewport, and fills
a 1920x1080 screen (no narrow column); and axe-core (shipped inside the `axe-playwright-python` package, never from
a CDN) finds no serious or critical accessibility violation on any page. On the way the walk saves every screen the
admin opens, and each role's home, at 1440 px to docs/screenshots/screens/: the server's clock stands still at
SCREEN_TIME and the shop was made at fixed times, so a screenshot changes only when its screen does.

The layout is the shell's, the same on any database: SQLite only, one server and one browser for the module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from ordersmith.customers import service as customers
from ordersmith.kernel.clock import FixedClock
from ordersmith.orders import service as orders
from ordersmith.platform.db import Actor, Database
from tests.browser.conftest import SCREEN_TIME, SCREENSHOTS, save_screenshot
from tests.builders import DEFAULT_PASSWORD, channel, make_order_shop, make_user, make_vendor, order_request
from tests.support import databases
from tests.support.server import Server, running_server

ROLES = ("admin", "manager", "agent", "warehouse", "accountant", "marketing", "readonly", "store")
HOMES = {  # where each role lands after signing in, and what marks its home
    "admin": ("/", "#home-holds-title"),
    "manager": ("/", "#home-holds-title"),
    "agent": ("/", "#new-phone-order"),
    "warehouse": ("/warehouse", "h1"),
    "accountant": ("/", "#books-kpis"),
    "marketing": ("/", "#screens"),
    "readonly": ("/", "#screens"),
    "store": ("/pos", "#till"),
}
WAREHOUSE_PAGES = (
    "/warehouse/waves",
    "/warehouse/pack",
    "/warehouse/shipments",
    "/warehouse/counts",
    "/warehouse/manifests",
    "/warehouse/productivity",
    "/warehouse/drop-ship",
)
SMALL = {"width": 1280, "height": 800}
LARGE = {"width": 1920, "height": 1080}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    """A server over a shop with a held order, its customer, a draft PO and a user of every role."""
    folder = tmp_path_factory.mktemp("layout")
    url = databases.fresh_sqlite(folder)
    db = Database(url)
    uow = db.unit_of_work(Actor.system("fixture"), clock=FixedClock(SCREEN_TIME - timedelta(hours=2)))
    make_order_shop(uow)
    from ordersmith.channels.pos import service as pos
    from ordersmith.platform import sales_channels

    sales_channels.create_sales_channel(
        uow, code="till", name="Tills", kind="pos", division="store", currency="USD"
    )
    pos.put_store(
        uow,
        location="STORE1",
        settings=pos.StoreSettings(
            channel="till",
            name="Ordersmith SF",
            line1="865 Market St",
            city="San Francisco",
            region="CA",
            postal_code="94103",
            country="US",
        ),
    )
    pos.create_register(uow, code="R1", store="STORE1", name="Front till")
    ann = customers.create_customer(
        uow,
        details=customers.Details(
            first_name="Ann",
            last_name="Buyer",
            emails=["ann@example.com"],
            phones=[customers.Phone("+14155550132", "mobile")],
        ),
    )
    placed = orders.place_order(
        uow, channel=channel(uow, "phone"), request=order_request(("TEE", 1), ("MUG", 1), customer=ann.number)
    ).order
    orders.hold_order(uow, ref=placed.number, note="customer asked us to wait")
    from decimal import Decimal

    from ordersmith.kernel.money import Money
    from ordersmith.purchasing import service as purchasing

    make_vendor(uow, code="ACME")
    po = purchasing.create_purchase_order(
        uow,
        vendor="ACME",
        location="EAST",
        lines=[purchasing.NewLine("MUG", 12, unit_cost=Money(Decimal("4.00"), "USD"))],
    )
    for role in ROLES:
        make_user(uow, role=role, email=f"{role}@example.com")
    details = {"order": placed.number, "customer": ann.number, "po": po.number}
    with running_server(url, folder / "server.log", clock_frozen_at=SCREEN_TIME.isoformat()) as server:
        yield server, details
    db.dispose()


@pytest.fixture(scope="module")
def browser(shop: tuple[Server, dict[str, str]], chromium: Any) -> Any:
    return chromium  # the run's one Chromium, once the module's server is up


def _pages_of(page: Any, details: dict[str, str]) -> list[str]:
    """The home, every screen in this role's top bar, and the detail pages its screens lead to."""
    nav = page.eval_on_selector_all("header nav a", "links => links.map(a => a.getAttribute('href'))")
    pages = ["/", *nav, "/account/security", "/search?q=Ann"]
    if "/orders" in nav:
        pages += [f"/orders/{details['order']}", f"/customers/{details['customer']}", "/customers?q=Ann"]
    if "/stock" in nav:
        pages.append("/stock?sku=TEE")
    if "/purchasing" in nav:
        pages.append(f"/purchasing/{details['po']}")
    if "/warehouse" in nav:
        pages += list(WAREHOUSE_PAGES)
    if "/pos" in nav:
        pages += ["/pos/shifts", "/pos/returns"]
    if "/marketing" in nav:
        pages.append("/marketing/price-lists/USD")  # a price list's own page, where its prices are edited
    return list(dict.fromkeys(pages))


def _screenshot_name(path: str, role: str) -> str:
    """`/` is the role's home (`home-agent`); any other page is named by its path (`orders-100001`, `search-q-Ann`)."""
    return f"home-{role}" if path == "/" else re.sub(r"[^A-Za-z0-9_]+", "-", path).strip("-")


DOWNLOAD = re.compile(r"\.(csv|xlsx|pdf|parquet|svg|png|zpl)\b|download|format=")


def _first_own_link(page: Any, screen: str) -> list[str]:
    """The first link on `screen` to a page under it (a report, an import, a PO…), downloads left out."""
    hrefs = page.eval_on_selector_all(
        f"main a[href^='{screen}/']", "links => links.map(a => a.getAttribute('href'))"
    )
    return [href for href in hrefs if not DOWNLOAD.search(href)][:1]


def _fits(page: Any, size: dict[str, int]) -> dict[str, Any]:
    return page.evaluate(
        """() => {
          const root = document.documentElement;
          const out = document.querySelector('#sign-out button').getBoundingClientRect();
          const widest = Array.from(document.querySelectorAll('main *'))
            .filter(el => el.getBoundingClientRect().right > root.clientWidth + 1)
            .slice(0, 3).map(el => el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className);
          return {scroll: root.scrollWidth, client: root.clientWidth, widest: widest,
                  signOut: [out.left, out.top, out.right, out.bottom],
                  search: document.getElementById('search-box').getBoundingClientRect().width,
                  main: document.querySelector('main').getBoundingClientRect().width,
                  handheld: document.querySelector('main').classList.contains('handheld')};
        }"""
    )


@pytest.mark.parametrize("role", ROLES)
def test_each_role_lands_on_its_home_and_every_page_fits_1280_fills_1920_and_passes_axe(
    role: str, shop: tuple[Server, dict[str, str]], browser: Any
) -> None:
    axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe()
    server, details = shop
    context = browser.new_context(base_url=server.url, viewport=SMALL)
    page = context.new_page()
    page.set_default_timeout(10_000)
    # signing in lands on the role's home
    page.goto("/login")
    page.fill("input[name=email]", f"{role}@example.com")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("form[action='/login'] button[type=submit], main button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    landing, marker = HOMES[role]
    assert page.url == f"{server.url}{landing}"
    assert page.locator(marker).first.is_visible()
    problems = []
    pages = _pages_of(page, details)
    for path in pages:  # grows: the admin also follows each screen's first link to one of its own pages
        page.set_viewport_size(SMALL)
        response = page.goto(path, wait_until="domcontentloaded")
        assert response is not None and response.status == 200, (role, path, response and response.status)
        if role == "admin" and path.count("/") == 1 and len(path) > 1 and "?" not in path:
            pages += [href for href in _first_own_link(page, path) if href not in pages]
        small = _fits(page, SMALL)
        left, top, right, bottom = small["signOut"]
        if small["scroll"] > small["client"]:
            problems.append(f"{path} at 1280: page {small['scroll']} px wide ({small['widest']})")
        if not (left >= 0 and right <= SMALL["width"] and top >= 0 and bottom <= SMALL["height"]):
            problems.append(f"{path} at 1280: Sign out at {small['signOut']}")
        if small["search"] < 160:
            problems.append(f"{path} at 1280: search box {small['search']} px")
        if role == "admin" or path == "/":  # every screen once, and each role's home
            save_screenshot(page, SCREENSHOTS / "screens" / f"{_screenshot_name(path, role)}.png")
        page.set_viewport_size(LARGE)
        large = _fits(page, LARGE)
        if large["scroll"] > large["client"]:
            problems.append(f"{path} at 1920: page {large['scroll']} px wide")
        if not large["handheld"] and large["main"] < 0.9 * LARGE["width"]:
            problems.append(f"{path} at 1920: main only {large['main']} px wide")
        if role == "admin" or path == "/":  # the admin opens every screen; the other roles' homes differ
            problems += [
                f"{path}: {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
                for v in axe.run(page).response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
    context.close()
    assert problems == [], (role, problems)
