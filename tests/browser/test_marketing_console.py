"""The marketer's console in a real browser: from the marketing home, make a campaign with a drop and its key codes
(a test and a control cell), read the results per key code with their chart and download them as XLSX, build a
segment, count a list pull's funnel with a suppression file uploaded, pull it and download the mail file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl

from ordersmith.marketing import service as marketing
from ordersmith.orders import service as orders
from tests.browser.test_console_screens import shot, sign_in
from tests.builders import channel, make_order_shop, make_user, order_request
from tests.integration.test_marketing_lists import add_customer
from tests.support.server import Server

SUPPRESSION = b"name,line1,postal_code,country,email\n,,,,cy@example.com\n"


def _make_code(page, code: str, segment: str, quantity: str, price_list: str = "") -> None:  # type: ignore[no-untyped-def]
    page.fill("#new-code input[name=code]", code)
    page.fill("#new-code input[name=segment]", segment)
    page.fill("#new-code input[name=quantity_mailed]", quantity)
    page.select_option("#new-code select[name=price_list]", price_list)
    page.fill("#new-code input[name=expected_response_pct]", "2.5")
    page.click("#new-code button[type=submit]")
    page.wait_for_selector(f"tr[data-code='{code}']")


def test_a_marketer_makes_a_campaign_with_codes_reads_its_results_and_pulls_a_list_to_a_download(
    page, server: Server, fixture_uow
) -> None:
    # given a shop, four customers around San Francisco (one said no to mail) and one in New York, and a marketer
    make_order_shop(fixture_uow)
    add_customer(fixture_uow, "Ann Buyer", postal_code="94105", email="ann@example.com")
    add_customer(fixture_uow, "Bo Buyer", postal_code="94110", line1="2 Mission St", email="bo@example.com")
    add_customer(fixture_uow, "Cy Buyer", postal_code="94117", line1="3 Haight St", email="cy@example.com")
    add_customer(fixture_uow, "Di Buyer", postal_code="94123", line1="4 Union St", email="di@example.com")
    add_customer(fixture_uow, "No Mail", postal_code="94107", line1="5 King St", do_not_mail=True)
    add_customer(fixture_uow, "Ed East", postal_code="10001", line1="1 Broadway")
    make_user(fixture_uow, role="marketing", email="marketing@example.com")
    sign_in(page, "marketing@example.com")
    # when the marketer goes from their home to the campaigns and makes one with its first drop
    page.click("#screens a[href='/campaigns']")
    page.fill("#new-campaign input[name=code]", "S26")
    page.fill("#new-campaign input[name=name]", "Spring 2026 book")
    page.select_option("#new-campaign select[name=kind]", "catalog")
    page.fill("#new-campaign input[name=drop_code]", "D1")
    page.fill("#new-campaign input[name=in_home_on]", "2026-01-05")
    page.fill("#new-campaign input[name=quantity_mailed]", "1000")
    page.fill("#new-campaign input[name=cost_per_piece]", "0.62")
    page.fill("#new-campaign input[name=creative]", "cover A")
    page.click("#new-campaign button[type=submit]")
    page.wait_for_url("**/campaigns/S26?**")
    # and a test cell's key code offering the retail price list, then a control cell's
    _make_code(page, "S26T", "house 0-12m test", "900", "USD")
    _make_code(page, "S26C", "house 0-12m control", "100")
    # then the drop shows both codes, and the campaign is stored as made
    assert page.locator("#drop-D1 p.muted").inner_text() == "1,000 of 1,000 pieces keyed to a code."
    (drop,) = marketing.get_campaign(fixture_uow, code="S26").drops
    assert (drop.quantity_mailed, str(drop.cost_per_piece.amount), drop.creative) == (1000, "0.62", "cover A")
    assert marketing.get_source_code(fixture_uow, code="S26T").price_list == "USD"
    page.evaluate("() => window.scrollTo(0, 0)")
    shot(page, "campaign")
    # when two orders come in keyed with the test cell's code, and the results per key code are opened
    for _ in range(2):
        request = order_request(("MUG", 1), source_code="S26T")
        orders.place_order(fixture_uow, channel=channel(fixture_uow), request=request)
    page.click("a:has-text('per key code')")
    page.wait_for_selector("#results")
    # then the chart is drawn and the table holds the code's orders
    page.wait_for_function("() => document.querySelector('figure.chart img').complete")
    assert page.evaluate("() => document.querySelector('figure.chart img').naturalWidth") == 800
    test_row = page.locator("#results tbody tr", has_text="S26T")
    assert "house 0-12m test" in test_row.inner_text()
    shot(page, "campaign-results")
    # and the XLSX download holds the same figures
    with page.expect_download() as download:
        page.click("#download-xlsx")
    sheet = openpyxl.load_workbook(
        io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True
    ).active
    by_code = {row[0]: row for row in sheet.iter_rows(values_only=True)}
    header = by_code["Source code"]
    assert by_code["S26T"][header.index("Orders (keyed)")] in (2, "2")
    # when a segment of San Francisco is built
    page.goto("/segments")
    page.fill("#segment-rules", json.dumps({"field": "postal_prefix", "op": "starts_with", "value": ["941"]}))
    page.wait_for_selector("#live-count:has-text('5 customers match now')")
    page.fill("input[name=code]", "SF")
    page.fill("input[name=name]", "San Francisco")
    page.click("#segment-form button[type=submit]")
    page.wait_for_url("**/segments?edit=SF**")
    # and a list is pulled from it: 75/25 test/control, a suppression file, the funnel counted first
    page.click("nav[aria-label=Marketing] a:has-text('List pulls')")
    page.select_option("#pull select[name=segment]", "SF")
    page.fill("#pull input[name='cell-0-key_code']", "S26T")
    page.fill("#pull input[name='cell-0-percent']", "75")
    page.fill("#pull input[name='cell-1-key_code']", "S26C")
    page.fill("#pull input[name='cell-1-percent']", "25")
    page.set_input_files(
        "#pull input[name=suppression_file]",
        files=[{"name": "dma.csv", "mimeType": "text/csv", "buffer": SUPPRESSION}],
    )
    page.click("#count-funnel")
    page.wait_for_selector("#preview")
    # then each step of the funnel is counted before anything is stored
    remaining = {
        row.get_attribute("data-step"): row.locator("td").nth(1).inner_text()
        for row in page.locator("#preview-funnel tbody tr").all()
    }
    assert (remaining["selected"], remaining["do_not_mail"], remaining["suppression_file"]) == ("5", "4", "3")
    assert remaining["household"] == "3"
    assert page.locator("#suppression-kept").is_visible()
    assert marketing.list_extractions(fixture_uow).items == []
    shot(page, "list-pull")
    # when the list is pulled (the counted suppression file rides along) and its mail file downloaded
    page.click("#pull-list")
    page.wait_for_url("**/extractions/*?done=pulled")
    with page.expect_download() as download:
        page.click("#download-csv")
    names = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    # then it holds the three names left, each with its cell's key code
    assert sorted(n["name"] for n in names) == ["Ann Buyer", "Bo Buyer", "Di Buyer"]
    assert sorted(n["key_code"] for n in names) == ["S26C", "S26T", "S26T"]
    (pull,) = marketing.list_extractions(fixture_uow).items
    assert pull.names == 3
