"""The till in Chromium against a real server, on SQLite and PostgreSQL, with Playwright's offline mode: the till's
page is kept by its service worker and its catalog slice in IndexedDB, so with the network gone it opens again and
rings up sales by scanner (a keyboard typing the code and Enter) and touch; it queues them with their own ids and,
reconnected, sends them exactly once: three sales that can be filled are three orders, a fourth whose stock went
meanwhile is flagged for the store manager (on the manager's list), and the same queue sent again changes nothing.
Online, a sale is priced by the server and placed at once, its receipt printable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.channels.pos import service as pos
from ordersmith.channels.pos.tables import PosSaleRow
from ordersmith.orders.tables import OrderRow
from ordersmith.platform.db import Database
from tests.browser.conftest import SCREENSHOTS, save_screenshot
from tests.browser.test_console_screens import sign_in
from tests.builders import make_user
from tests.support.pos_shop import make_pos_shop
from tests.support.server import Server

TABLET = {"width": 1024, "height": 768}


def rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    with db.session() as session:
        return [tuple(r) for r in session.execute(sa.text(sql))]


def scan(page: Any, code: str) -> None:
    page.locator("#scan").focus()
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def pay_cash(page: Any, received: str) -> None:
    page.click("#pay-cash")
    page.fill("#cash-received", received)
    page.click("#cash-panel button[type=submit]")
    page.wait_for_function("() => document.getElementById('till').dataset.due === '0'")


UNITS = "Array.from(document.querySelectorAll('#cart-lines .count')).reduce((a, e) => a + parseInt(e.textContent), 0)"


def ring_up(page: Any, codes: list[str], received: str) -> None:
    for n, code in enumerate(codes, start=1):
        scan(page, code)
        page.wait_for_function(f"() => ({UNITS}) === {n}")
    pay_cash(page, received)
    page.click("#complete")
    page.wait_for_function("() => document.getElementById('cart-lines').children.length === 0")


def till_clock(page: Any, clock_offset: timedelta) -> None:
    """The browser's clock set to the server's (shifted) one, as a till's clock agrees with the store's server."""
    page.clock.install(time=datetime.now(UTC) + clock_offset)


def test_three_sales_rung_up_offline_sync_exactly_once_and_a_sale_whose_stock_went_is_flagged(
    page: Any, server: Server, fixture_uow: Any, browser_db: Database, clock_offset: timedelta, chromium: Any
) -> None:
    # given a store with a till (3 tees, 5 mugs, 4 caps in store), an open shift and a clerk at a tablet
    make_pos_shop(fixture_uow)
    make_user(fixture_uow, role="store", email="clerk@example.com")
    make_user(fixture_uow, role="manager", email="boss@example.com")
    shift = pos.open_shift(fixture_uow, principal=None, register="R1", opening_float="100.00")
    till_clock(page, clock_offset)
    page.set_viewport_size(TABLET)
    sign_in(page, "clerk@example.com")
    page.wait_for_url("**/pos")
    # the till keeps its catalog and its page: once the service worker controls it, it opens without the network
    page.wait_for_selector("#till[data-catalog=ready][data-worker=ready][data-started=yes]")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_selector("#till[data-catalog=ready][data-started=yes]")
    page.context.set_offline(True)
    reopened = page.reload()
    assert reopened is not None and reopened.from_service_worker
    page.wait_for_selector("#till[data-started=yes][data-online=no]")
    assert "Offline" in page.locator("#network").text_content()
    # when four sales are rung up offline: a tee, two caps (one scanned by its UPC), a mug, then three caps
    ring_up(page, ["TEE"], "50")
    ring_up(page, ["012345678905", "CAP"], "30")
    ring_up(page, ["mug"], "20")
    ring_up(page, ["CAP", "CAP", "CAP"], "50")
    page.wait_for_function("() => document.getElementById('till').dataset.waiting === '4'")
    queued = page.evaluate("window.ordersmithTill.records('R1')")
    assert sorted(r["state"] for r in queued) == ["queued"] * 4
    assert all(r["body"]["offline"] and r["body"]["shift"] == str(shift.id) for r in queued)
    assert rows(browser_db, "SELECT count(*) FROM orders") == [(0,)]
    save_screenshot(page, SCREENSHOTS / "pos-offline.png", TABLET)
    # and the network comes back
    page.context.set_offline(False)
    page.wait_for_function("() => document.getElementById('till').dataset.waiting === '0'", timeout=30_000)
    # then three orders, each once, carried out of the store; the fourth sale is flagged: its caps were sold
    placed = rows(browser_db, "SELECT channel, fulfillment, store, status FROM orders")
    assert sorted(placed) == [("till", "taken", "STORE1", "shipped")] * 3
    flagged = pos.list_flagged(fixture_uow, principal=None, store="STORE1").items
    assert [(f.reason, f.offline, f.cash_received.amount) for f in flagged] == [("stock_gone", True, 50)]
    assert rows(browser_db, "SELECT count(*) FROM pos_sales WHERE status = 'placed'") == [(3,)]
    page.wait_for_selector(f"#recent-lines tr[data-sale='{flagged[0].id}'][data-state=flagged]")
    # the drawer counted all four sales' cash: 100 + 50 + 30 + 20 + 50, less the change given
    drawer = pos.get_shift(fixture_uow, principal=None, shift_id=shift.id)
    assert (drawer.sales, drawer.cash_in.amount) == (4, 150)
    # when the same queue is sent again, as it was
    again = page.evaluate(
        """async (records) => {
             const me = await (await fetch('/api/v1/me')).json();
             const out = [];
             for (const r of records) {
               const answer = await fetch('/api/v1/pos/sales', {
                 method: 'POST', credentials: 'same-origin', body: JSON.stringify(r.body),
                 headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token}});
               const replayed = answer.headers.get('Idempotent-Replayed');
               out.push(answer.status + ' ' + (replayed || (await answer.json()).code));
             }
             return out;
           }""",
        queued,
    )
    # then nothing new: the three orders' first answers replayed, the flag answered again
    assert sorted(again) == ["201 true", "201 true", "201 true", "409 pos_sale_flagged"]
    assert rows(browser_db, "SELECT count(*) FROM orders") == [(3,)]
    with browser_db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(PosSaleRow)) == 4
        assert session.scalar(sa.select(sa.func.count()).select_from(OrderRow)) == 3
    # and the store manager sees the flagged sale on the list
    manager = chromium.new_context(base_url=server.url)
    boss = manager.new_page()
    sign_in(boss, "boss@example.com")
    boss.goto("/pos/flagged")
    row = boss.locator(f"tr.flagged-row[data-sale='{flagged[0].id}']")
    assert "stock gone" in row.text_content()
    manager.close()


def test_online_a_sale_is_priced_by_the_server_placed_at_once_and_its_receipt_shows_the_change(
    page: Any, server: Server, fixture_uow: Any, browser_db: Database, clock_offset: timedelta
) -> None:
    make_pos_shop(fixture_uow)
    make_user(fixture_uow, role="store", email="clerk@example.com")
    till_clock(page, clock_offset)
    page.set_viewport_size(TABLET)
    sign_in(page, "clerk@example.com")
    page.wait_for_selector("#till[data-catalog=ready][data-started=yes][data-online=yes]")
    # two tees, one with the + button, priced by the server (22.00 each with California's tax)
    scan(page, "TEE")
    page.wait_for_selector("#cart-lines tr[data-sku=TEE]")
    page.click("#cart-lines tr[data-sku=TEE] button[aria-label='More Tee']")
    page.wait_for_function(
        "() => document.getElementById('priced-by').textContent.startsWith('Priced by the server')"
    )
    assert page.locator("#t-total").text_content() == "$44.00"
    # 50 in cash: 6.00 change due, shown before the sale is completed
    page.click("#pay-cash")
    page.click("[data-quick='50']")
    assert page.locator("#change-due").text_content() == "6.00"
    page.click("#cash-panel button[type=submit]")
    save_screenshot(page, SCREENSHOTS / "pos-till.png", TABLET)
    page.click("#complete")
    page.wait_for_selector("#outcome.ok a.receipt-link")
    assert "Change due 6.00" in page.locator("#outcome").text_content()
    assert rows(browser_db, "SELECT count(*) FROM orders") == [(1,)]
    page.click("#outcome a.receipt-link")
    page.wait_for_selector("#receipt[data-status=placed]")
    assert page.locator("#receipt-total").text_content().strip() == "$44.00"
    assert page.locator("#receipt-change").text_content().strip() == "$6.00"


def test_endless_aisle_an_item_the_store_lacks_is_sold_for_delivery_from_the_warehouse(
    page: Any, server: Server, fixture_uow: Any, browser_db: Database, clock_offset: timedelta
) -> None:
    make_pos_shop(fixture_uow)
    make_user(fixture_uow, role="store", email="clerk@example.com")
    till_clock(page, clock_offset)
    page.set_viewport_size(TABLET)
    sign_in(page, "clerk@example.com")
    page.wait_for_selector("#till[data-catalog=ready][data-started=yes][data-online=yes]")
    # a lamp: none in this store; the till says where there are some
    scan(page, "LAMP")
    page.wait_for_selector("#cart-lines tr[data-sku=LAMP] .badge.warn")
    page.click("#cart-lines tr[data-sku=LAMP] button[aria-label='Where else Lamp is']")
    page.wait_for_function("() => document.getElementById('elsewhere').textContent.includes('EAST 2')")
    # shipped to the customer instead: priced by the server with ground shipping
    page.check("#deliver")
    for field, value in (
        ("#d-name", "Ann Buyer"),
        ("#d-line1", "1 Market St"),
        ("#d-city", "San Francisco"),
        ("#d-region", "CA"),
        ("#d-postal", "94105"),
    ):
        page.fill(field, value)
    page.locator("#d-method").dispatch_event("change")
    page.wait_for_function("() => document.getElementById('t-total').textContent === '$93.00'")
    pay_cash(page, "100")
    page.click("#complete")
    page.wait_for_selector("#outcome.ok a.receipt-link")
    assert rows(browser_db, "SELECT channel, fulfillment, store FROM orders") == [("till", "ship", None)]
