"""Reports in a real browser: open a report, see its chart drawn (an image of the server's SVG, under the console's
strict Content Security Policy, with no violation), read the table, download the XLSX; every reports and exports
screen has a title, one main landmark and a label for every control."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import openpyxl

from ordersmith.orders import service as orders
from tests.browser.test_console_screens import shot, sign_in
from tests.builders import channel, make_order_shop, make_user, order_request
from tests.support.server import Server


def test_a_manager_opens_a_report_sees_its_chart_and_downloads_it_as_xlsx(
    page, server: Server, fixture_uow
) -> None:
    make_order_shop(fixture_uow)
    today = fixture_uow.now()  # the server's clock (tests/browser/conftest.py)
    for days, code in ((0, "web"), (1, "phone"), (2, "web")):
        orders.place_order(
            fixture_uow,
            channel=channel(fixture_uow, code),
            request=order_request(("TEE", 1), placed_at=today - timedelta(days=days)),
        )
    make_user(fixture_uow, role="manager", email="manager@example.com")
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in(page, "manager@example.com")
    # the catalogue, then one report
    page.goto("/reports")
    page.click("text=Sales by day and channel")
    page.wait_for_selector("#report-rows")
    # the chart is an image the browser drew (a broken image has no natural width)
    chart = page.locator("figure.chart img")
    chart.wait_for()
    page.wait_for_function("() => document.querySelector('figure.chart img').complete")
    assert page.evaluate("() => document.querySelector('figure.chart img').naturalWidth") == 800
    assert "Demand by period per channel" in chart.get_attribute("alt")
    assert page.locator("#report-rows tbody tr").count() == 3
    # a narrower range through the form
    page.fill("input[name=from]", today.date().isoformat())
    page.click("form[aria-label='Report parameters'] button")
    page.wait_for_selector("#report-rows caption:has-text('1 row')")
    shot(page, "report")
    # the XLSX download
    with page.expect_download() as download:
        page.click("text=Download XLSX")
    sheet = openpyxl.load_workbook(
        io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True
    ).active
    cells = list(sheet.iter_rows(values_only=True))
    assert cells[0][:2] == ("Period", "Channel") and cells[1][1] == "web" and len(cells) == 2
    # the dashboard's history chart draws too
    page.goto("/dashboard")
    page.wait_for_function("() => document.querySelector('figure.chart img').complete")
    assert page.evaluate("() => document.querySelector('figure.chart img').naturalWidth") == 800
    assert violations == []
    # every new screen owes a screen reader the same as the others
    for path in ("/reports", "/reports/sales_by_day_channel", "/reports/ar_aging", "/exports"):
        page.goto(path)
        assert page.title().strip() and "Ordersmith" in page.title(), path
        assert page.locator("main").count() == 1, path
        unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll(
            'input:not([type=hidden]):not([type=submit]), select, textarea')).filter(el => {
              if (el.closest('label')) return false;
              if (el.id && document.querySelector('label[for="' + el.id + '"]')) return false;
              return !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby');
            }).map(el => el.name || el.id)""")
        assert unlabelled == [], (path, unlabelled)
