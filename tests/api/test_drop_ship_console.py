"""The console's drop-ship screen through the ASGI app, on SQLite and PostgreSQL, signed in as the warehouse role:
open drop-ship shipments listed by vendor with their PO, order, ship-to and lines; one confirmed from its form with
the vendor's carrier and tracking number; many from a CSV upload (a bad row confirms nothing and lists each error
by row and column); a form without the CSRF token, or a role without the scope, is refused and changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordersmith.fulfillment import service as fulfillment
from ordersmith.orders import service as orders
from ordersmith.platform.settings import Settings
from tests.api.conftest import login
from tests.builders import channel, make_drop_ship_item, make_order_shop, order_request


@pytest.fixture
def floor(client: TestClient, admin_db: Any, settings: Settings) -> dict[str, Any]:
    """Sofas ACME ships and beds BEDCO ships, three orders routed to their drop-ship shipments, and the client
    signed in as the warehouse role."""
    fulfillment.setup_fulfillment(admin_db.db, settings)
    make_order_shop(admin_db)
    make_drop_ship_item(admin_db)
    make_drop_ship_item(admin_db, vendor="BEDCO", sku="BED", cost="200.00", price="450.00")
    placed = []
    for code, lines in (
        ("web", (("SOFA", 2),)),
        ("phone", (("BED", 1), ("TEE", 1))),
        ("web", (("SOFA", 1),)),
    ):
        order = orders.place_order(
            admin_db, channel=channel(admin_db, code), request=order_request(*lines)
        ).order
        fulfillment.sync_order(admin_db, order_id=order.id)  # what the relay does after the order's commit
        placed.append(order)
    csrf = login(client, admin_db, role="warehouse")
    return {"csrf": csrf, "uow": admin_db, "orders": placed}


def drop_of(uow: Any, order: orders.Order) -> fulfillment.Shipment:
    (found,) = [s for s in fulfillment.order_shipments(uow, order_id=str(order.id)) if s.kind == "drop_ship"]
    return found


def statuses(uow: Any, floor: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (o.number, orders.get_order(uow, ref=o.number).status, drop_of(uow, o).status)
        for o in floor["orders"]
    ]


def test_the_screen_lists_open_drop_ships_by_vendor_with_order_ship_to_and_lines(
    client: TestClient, floor: dict[str, Any]
) -> None:
    uow = floor["uow"]
    page = client.get("/warehouse/drop-ship")
    assert page.status_code == 200
    assert '<a href="/warehouse/drop-ship" aria-current="page">Drop-ship</a>' in page.text
    assert re.findall(r'data-vendor="([^"]+)"', page.text) == ["ACME", "BEDCO"]
    acme = page.text[page.text.index('data-vendor="ACME"') : page.text.index('data-vendor="BEDCO"')]
    sofas, bed = floor["orders"][0], floor["orders"][1]
    assert re.findall(r'<tr data-shipment="([^"]+)"', acme) == [
        drop_of(uow, floor["orders"][0]).number,
        drop_of(uow, floor["orders"][2]).number,
    ]
    assert f'<a href="/orders/{sofas.number}">{sofas.number}</a>' in acme
    assert "Ann Buyer" in acme and "San Francisco CA 94105 US" in acme
    assert "2 \N{MULTIPLICATION SIGN} <code>SOFA</code> Sofa" in acme
    bedco = page.text[page.text.index('data-vendor="BEDCO"') :]
    assert "1 \N{MULTIPLICATION SIGN} <code>BED</code> Bed" in bedco and "TEE" not in bedco
    po = fulfillment.get_shipment(uow, ref=drop_of(uow, bed).number).timeline[0].detail["purchase_order"]
    assert f'<a href="/purchasing/{po}">{po}</a>' in bedco
    # one vendor at a time
    only = client.get("/warehouse/drop-ship?vendor=BEDCO")
    assert re.findall(r'data-vendor="([^"]+)"', only.text) == ["BEDCO"]


def test_a_shipment_is_confirmed_from_its_form_and_a_bad_one_is_shown_and_changes_nothing(
    client: TestClient, floor: dict[str, Any]
) -> None:
    csrf, uow = floor["csrf"], floor["uow"]
    first = drop_of(uow, floor["orders"][0]).number
    before = statuses(uow, floor)
    # a blank tracking number is refused on the page, the carrier typed kept
    blank = client.post(
        f"/warehouse/drop-ship/{first}/confirm", data={"csrf_token": csrf, "carrier": "ups", "tracking": " "}
    )
    assert blank.status_code == 422 and "tracking number is needed" in blank.text
    assert 'value="ups"' in blank.text and statuses(uow, floor) == before
    # when the vendor's tracking number is typed
    done = client.post(
        f"/warehouse/drop-ship/{first}/confirm",
        data={"csrf_token": csrf, "carrier": "ups", "tracking": "1ZSOFA"},
        follow_redirects=True,
    )
    # then the shipment shipped, the order too, and it left the list
    assert done.status_code == 200 and f"Shipment {first} is confirmed as shipped." in done.text
    assert f'data-shipment="{first}"' not in done.text
    shipped = fulfillment.get_shipment(uow, ref=first)
    assert (shipped.status, shipped.tracking_number, shipped.carrier) == ("shipped", "1ZSOFA", "ups")
    assert orders.get_order(uow, ref=floor["orders"][0].number).status == "shipped"
    # and a second confirmation says why, changing nothing
    again = client.post(f"/warehouse/drop-ship/{first}/confirm", data={"csrf_token": csrf, "tracking": "X"})
    assert again.status_code == 409 and "shipped" in again.text
    assert fulfillment.get_shipment(uow, ref=first).tracking_number == "1ZSOFA"


def test_a_csv_upload_confirms_all_rows_or_none_listing_each_bad_row(
    client: TestClient, floor: dict[str, Any]
) -> None:
    csrf, uow = floor["csrf"], floor["uow"]
    numbers = [drop_of(uow, o).number for o in floor["orders"]]
    before = statuses(uow, floor)
    bad = f"shipment,tracking,carrier\n{numbers[0]},T1,ups\n{numbers[1]},,fedex\nNOPE-1,T3,ups\n"
    refused = client.post(
        "/warehouse/drop-ship/confirmations",
        data={"csrf_token": csrf},
        files={"csv_file": ("acme.csv", bad.encode(), "text/csv")},
    )
    assert refused.status_code == 422 and "nothing was applied" in refused.text
    assert re.findall(r"<li><code>(rows\.\d+\.\w+)</code>", refused.text) == [
        "rows.3.tracking",
        "rows.4.shipment",
    ]
    assert statuses(uow, floor) == before
    # a file that is not UTF-8, or nothing at all, is refused too
    latin = client.post(
        "/warehouse/drop-ship/confirmations",
        data={"csrf_token": csrf},
        files={"csv_file": ("x.csv", "shipment,tracking\nÄ,1\n".encode("latin-1"), "text/csv")},
    )
    empty = client.post("/warehouse/drop-ship/confirmations", data={"csrf_token": csrf, "csv_text": ""})
    assert (latin.status_code, empty.status_code) == (422, 422) and statuses(uow, floor) == before
    # when the corrected rows are pasted
    good = "\n".join(["shipment,tracking,carrier", *(f"{n},T{i},ups" for i, n in enumerate(numbers))])
    done = client.post("/warehouse/drop-ship/confirmations", data={"csrf_token": csrf, "csv_text": good})
    # then all three shipped
    assert done.status_code == 200 and "confirmed 3 shipment(s), 4 unit(s)" in done.text
    assert [fulfillment.get_shipment(uow, ref=n).status for n in numbers] == ["shipped"] * 3
    assert 'id="no-drop-ships"' in done.text


def test_forms_without_the_csrf_token_or_the_scope_are_refused_and_change_nothing(
    client: TestClient, floor: dict[str, Any], admin_db: Any
) -> None:
    uow = floor["uow"]
    first = drop_of(uow, floor["orders"][0]).number
    before = statuses(uow, floor)
    forged = client.post(
        f"/warehouse/drop-ship/{first}/confirm", data={"csrf_token": "forged", "tracking": "T1"}
    )
    upload = client.post(
        "/warehouse/drop-ship/confirmations",
        data={"csrf_token": "", "csv_text": f"shipment,tracking\n{first},T\n"},
    )
    assert (forged.status_code, upload.status_code) == (403, 403)
    # an agent may neither open the screen nor confirm
    csrf = login(client, admin_db, role="agent")
    assert client.get("/warehouse/drop-ship").status_code == 403
    refused = client.post(
        f"/warehouse/drop-ship/{first}/confirm", data={"csrf_token": csrf, "tracking": "T1"}
    )
    assert refused.status_code == 403
    assert statuses(uow, floor) == before
    # a manager sees it in the warehouse's navigation
    login(client, admin_db, role="manager")
    assert 'href="/warehouse/drop-ship"' in client.get("/warehouse").text
