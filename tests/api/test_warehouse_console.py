"""The warehouse's console screens through the ASGI app, on SQLite and PostgreSQL, signed in as the warehouse role:
every screen renders with its data, a wave goes from built to shipped through the forms, a wrong scan is refused on
the page (409) and changes nothing, a form without the CSRF token is refused and changes nothing, and a role
without the scope is turned away."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordersmith.catalog import service as catalog
from ordersmith.fulfillment import service as fulfillment
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform.settings import Settings
from ordersmith.pricing import service as pricing
from tests.api.conftest import login
from tests.builders import channel, make_order_shop, order_request, stock

GTIN = "4006381333931"  # the boots' barcode (a valid EAN-13)
DOCK = {"name": "Shipping dock", "company": "Demo Outfitters", "line1": "200 Harbor Way", "city": "Boston",
        "region": "MA", "postal_code": "02110", "country": "US", "phone": "617-555-0100"}  # fmt: skip


def placed(uow: Any, *lines: tuple[str, int]) -> orders.Order:
    order = orders.place_order(uow, channel=channel(uow), request=order_request(*lines)).order
    fulfillment.sync_order(uow, order_id=order.id)  # what the relay does after the order's commit
    return order


@pytest.fixture
def floor(client: TestClient, admin_db: Any, settings: Settings) -> dict[str, Any]:
    """A shop whose EAST warehouse ships with the sandbox carrier, bins on the walk, two released orders, and the
    client signed in as the warehouse role."""
    fulfillment.setup_fulfillment(
        admin_db.db, settings
    )  # the fixtures' own Database, as the app does for its own
    make_order_shop(admin_db)
    catalog.create_item(admin_db, sku="BOOT", name="Boot", divisions=["web"], weight_g=900, barcodes=[GTIN])
    pricing.create_price_list(admin_db, code="boots", name="Boots", currency="USD",
                              prices=[pricing.PriceEntry("BOOT", Money(Decimal("60.00"), "USD"))])  # fmt: skip
    stock(admin_db, sku="BOOT", location="EAST", quantity=5)
    fulfillment.set_dock(admin_db, location="EAST", address=DOCK)
    for code, walk, sku in (("A-01-1", 20, "TEE"), ("B-07-2", 10, "BOOT")):
        fulfillment.put_bin(admin_db, location="EAST", code=code, walk_sequence=walk, zone=code[0])
        fulfillment.assign_bin(admin_db, location="EAST", sku=sku, bin_code=code)
    boots = placed(admin_db, ("BOOT", 2), ("TEE", 1))
    tees = placed(admin_db, ("TEE", 3))
    csrf = login(client, admin_db, role="warehouse")
    return {"csrf": csrf, "boots": boots, "tees": tees, "uow": admin_db}


def shipment_of(uow: Any, order: orders.Order) -> fulfillment.Shipment:
    (shipment,) = fulfillment.order_shipments(uow, order_id=str(order.id))
    return fulfillment.get_shipment(uow, ref=shipment.number)


def build(client: TestClient, csrf: str, **fields: str) -> str:
    response = client.post(
        "/warehouse/waves",
        data={"csrf_token": csrf, "location": "EAST", "max_orders": "10"} | fields,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    number = response.headers["location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"W-\d{6}", number)
    return number


def test_the_warehouse_role_lands_on_its_home_screen_with_the_work_per_location(
    client: TestClient, floor: dict[str, Any]
) -> None:
    # when the warehouse user opens the console
    home = client.get("/", follow_redirects=False)
    # then it lands on the warehouse's home, which counts both shipments as waiting at EAST
    assert (home.status_code, home.headers["location"]) == (303, "/warehouse")
    page = client.get("/warehouse")
    assert page.status_code == 200
    row = re.search(r'<tr data-location="EAST">(.*?)</tr>', page.text, re.S)
    assert row is not None
    assert re.findall(r'class="num[^"]*">(?:<a [^>]*>)?(\d+)', row.group(1)) == [
        "2", "0", "0", "0", "0", "0", "0", "0"
    ]  # fmt: skip
    assert '<a href="/warehouse" aria-current="page">Warehouse</a>' in page.text


def test_a_wave_goes_from_built_to_shipped_through_the_console(
    client: TestClient, floor: dict[str, Any]
) -> None:
    csrf, uow = floor["csrf"], floor["uow"]
    boots = shipment_of(uow, floor["boots"])
    # given a wave built from the form, of the boots' shipment only (multi-line)
    number = build(client, csrf, max_orders="1")
    wave_page = client.get(f"/warehouse/waves/{number}")
    assert wave_page.status_code == 200
    assert boots.number in wave_page.text and "<strong>T01</strong>" in wave_page.text
    assert f'action="/api/v1/waves/{number}/pick-lists.pdf"' in wave_page.text
    # its pick list prints as a PDF with the console's session
    pdf = client.get(f"/api/v1/waves/{number}/pick-lists.pdf?pickers=1&picker=1")
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    # the pick screen walks the boots' bin before the tees'
    pick = client.get(f"/warehouse/waves/{number}/pick")
    assert pick.status_code == 200
    assert re.findall(r'<span class="bin">([^<]+)</span>', pick.text) == ["B-07-2", "A-01-1"]
    # when the picker confirms the tote
    picked = client.post(
        f"/warehouse/waves/{number}/pick/{boots.number}", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert picked.status_code == 200 and f"Shipment {boots.number} is picked." in picked.text
    assert "Nothing is left to pick" in picked.text
    # and the packer scans both boots by their barcode and the tee by its SKU
    for code in (GTIN, GTIN, "tee"):
        scanned = client.post(f"/warehouse/pack/{boots.number}/scan", data={"csrf_token": csrf, "code": code})
        assert scanned.status_code == 200, re.findall(r"Refused:</strong>(.*?)<", scanned.text)
        assert f"Packed 1 \N{MULTIPLICATION SIGN} {code}" in scanned.text
    assert 'id="pack-form"' in scanned.text and "every unit is packed" in scanned.text
    # packs into one weighed package, buys the label
    packed = client.post(
        f"/warehouse/pack/{boots.number}/pack",
        data={
            "csrf_token": csrf,
            "weight_g": "2100",
            "length_mm": "400",
            "width_mm": "300",
            "height_mm": "150",
        },
    )
    assert packed.status_code == 200 and 'id="label-form"' in packed.text
    labelled = client.post(f"/warehouse/pack/{boots.number}/labels", data={"csrf_token": csrf})
    assert labelled.status_code == 200, re.findall(r'class="scan-refused"[^>]*>(.*?)</p>', labelled.text)
    tracking = fulfillment.get_shipment(uow, ref=boots.number).tracking_number
    assert tracking.startswith("SBX") and f'<code class="tracking">{tracking}</code>' in labelled.text
    assert "sandbox ground" in labelled.text
    # prints the packing slip and the label with the console's session
    for link in (
        f"/api/v1/shipments/{boots.number}/documents/packing-slip",
        f"/api/v1/shipments/{boots.number}/documents/label?package=1",
    ):
        assert f'href="{link}"' in labelled.text.replace("&amp;", "&")
        document = client.get(link)
        assert (document.status_code, document.headers["content-type"]) == (200, "application/pdf")
    # then ships it
    shipped = client.post(f"/warehouse/pack/{boots.number}/ship", data={"csrf_token": csrf})
    assert shipped.status_code == 200 and f"Shipment {boots.number} shipped." in shipped.text
    after = fulfillment.get_shipment(uow, ref=boots.number)
    assert (after.status, after.tracking_number) == ("shipped", tracking)
    assert fulfillment.get_wave(uow, ref=number).status == "done"
    # the shipment's page and the order's page show the tracking number
    page = client.get(f"/warehouse/shipments/{boots.number}")
    assert page.status_code == 200 and tracking in page.text and "shipment.shipped" in page.text
    order_page = client.get(f"/orders/{floor['boots'].number}")
    assert order_page.status_code == 200
    assert f'<tr data-shipment="{boots.number}">' in order_page.text and tracking in order_page.text
    # and closing the day lists its parcel on the manifest
    manifest = client.post(
        "/warehouse/manifests", data={"csrf_token": csrf, "location": "EAST", "carrier": "sandbox"}
    )
    assert manifest.status_code == 200 and f'<code class="tracking">{tracking}</code>' in manifest.text
    again = client.post(
        "/warehouse/manifests", data={"csrf_token": csrf, "location": "EAST", "carrier": "sandbox"}
    )
    assert again.status_code == 409 and "waits for a manifest" in again.text


def test_a_wrong_scan_and_one_too_many_are_refused_on_the_page_and_change_nothing(
    client: TestClient, floor: dict[str, Any]
) -> None:
    csrf, uow = floor["csrf"], floor["uow"]
    tees = shipment_of(uow, floor["tees"])
    fulfillment.pick_shipment(uow, ref=tees.number)
    before = fulfillment.get_shipment(uow, ref=tees.number)
    # a boot is not on the tees' shipment
    wrong = client.post(f"/warehouse/pack/{tees.number}/scan", data={"csrf_token": csrf, "code": GTIN})
    assert wrong.status_code == 409
    assert f"<strong>Refused:</strong> {GTIN} is not on shipment {tees.number}" in wrong.text
    assert '<audio class="cue" src="data:audio/wav;base64,' in wrong.text
    assert fulfillment.get_shipment(uow, ref=tees.number).version == before.version
    # three tees pack; a fourth is one too many
    for _ in range(3):
        assert client.post(
            f"/warehouse/pack/{tees.number}/scan", data={"csrf_token": csrf, "code": "TEE"}
        ).is_success
    fourth = client.post(f"/warehouse/pack/{tees.number}/scan", data={"csrf_token": csrf, "code": "TEE"})
    assert fourth.status_code == 409 and "every picked unit of TEE is packed already (3)" in fourth.text
    assert [(line.picked, line.packed) for line in fulfillment.get_shipment(uow, ref=tees.number).lines] == [
        (3, 3)
    ]
    # a label cannot be bought before packing, and the refusal is a page, not a 500
    early = client.post(f"/warehouse/pack/{tees.number}/labels", data={"csrf_token": csrf})
    assert early.status_code == 409 and "pack it first" in early.text


def test_forms_without_the_csrf_token_are_refused_and_change_nothing(
    client: TestClient, floor: dict[str, Any]
) -> None:
    uow = floor["uow"]
    tees = shipment_of(uow, floor["tees"])
    # no wave is built
    refused = client.post("/warehouse/waves", data={"location": "EAST", "max_orders": "10"})
    assert refused.status_code == 403
    assert fulfillment.list_waves(uow).items == []
    # a scan with a wrong token packs nothing
    fulfillment.pick_shipment(uow, ref=tees.number)
    before = fulfillment.get_shipment(uow, ref=tees.number)
    forged = client.post(f"/warehouse/pack/{tees.number}/scan", data={"csrf_token": "forged", "code": "TEE"})
    assert forged.status_code == 403
    assert fulfillment.get_shipment(uow, ref=tees.number) == before
    # nor is the shipment cancelled
    cancel = client.post(f"/warehouse/shipments/{tees.number}/cancel", data={"reason": "test"})
    assert cancel.status_code == 403 and fulfillment.get_shipment(uow, ref=tees.number).status == "picked"


def test_a_short_pick_opens_a_count_task_that_the_counts_screen_records(
    client: TestClient, floor: dict[str, Any]
) -> None:
    csrf, uow = floor["csrf"], floor["uow"]
    tees = shipment_of(uow, floor["tees"])
    number = build(client, csrf)
    # the short form offers the shipment's lines
    form = client.get(f"/warehouse/waves/{number}/pick?short={tees.number}")
    assert form.status_code == 200 and 'name="found-1"' in form.text
    # more than the line holds is refused, and nothing moves
    too_many = client.post(
        f"/warehouse/waves/{number}/pick/{tees.number}",
        data={"csrf_token": csrf, "short": "1", "found-1": "9"},
    )
    assert too_many.status_code == 422 and "between 0 and the 3 unit(s) to pick" in too_many.text
    assert fulfillment.get_shipment(uow, ref=tees.number).status == "picking"
    # when the picker found two of the three tees
    short = client.post(
        f"/warehouse/waves/{number}/pick/{tees.number}",
        data={"csrf_token": csrf, "short": "1", "found-1": "2"},
        follow_redirects=False,
    )
    assert short.status_code == 303
    assert fulfillment.get_shipment(uow, ref=tees.number).units == 2
    # then a count task for the tees' bin is open, and recording the count closes it
    counts = client.get("/warehouse/counts?location=EAST")
    (task,) = fulfillment.list_count_tasks(uow, location="EAST").items
    assert counts.status_code == 200 and f'data-task="{task.id}"' in counts.text and "A-01-1" in counts.text
    bad = client.post(f"/warehouse/counts/{task.id}", data={"csrf_token": csrf, "counted": "many"})
    assert bad.status_code == 422 and "counted: a whole number" in bad.text
    done = client.post(f"/warehouse/counts/{task.id}", data={"csrf_token": csrf, "counted": "4"})
    assert done.status_code == 200 and "No open count task." in done.text
    assert fulfillment.list_count_tasks(uow, location="EAST").items == []


def test_every_list_and_report_screen_renders_with_its_data(
    client: TestClient, floor: dict[str, Any]
) -> None:
    csrf, uow = floor["csrf"], floor["uow"]
    tees = shipment_of(uow, floor["tees"])
    number = build(client, csrf)
    waves = client.get("/warehouse/waves")
    assert waves.status_code == 200 and f'href="/warehouse/waves/{number}"' in waves.text
    assert 'name="single_line"' in waves.text and 'value="ground"' in waves.text
    listed = client.get("/warehouse/shipments?status=picking&location=EAST")
    assert listed.status_code == 200
    assert re.findall(r'<tr data-shipment="([^"]+)">', listed.text) == sorted(
        [tees.number, shipment_of(uow, floor["boots"]).number], reverse=True
    )
    assert 'data-shipment="' not in client.get("/warehouse/shipments?status=packed").text
    page = client.get(f"/warehouse/shipments/{tees.number}")
    assert page.status_code == 200 and "shipment.picking" in page.text and 'id="cancel-shipment"' in page.text
    station = client.get(f"/warehouse/pack?shipment={tees.number}")
    assert station.status_code == 200 and "comes to the pack station once it is picked" in station.text
    unknown = client.get("/warehouse/pack?shipment=NOPE")
    assert unknown.status_code == 404 and "no shipment" in unknown.text
    assert client.get("/warehouse/waves/W-999999").status_code == 404
    report = client.get("/warehouse/productivity?location=EAST&days=7")
    assert report.status_code == 200 and 'id="pickers"' in report.text and "fill rate" in report.text
    assert client.get("/warehouse/productivity?location=EAST&days=400").status_code == 422
    manifests = client.get("/warehouse/manifests")
    assert manifests.status_code == 200 and "Close the day: EAST · sandbox" in manifests.text
    # cancelling the wave from its page gives its shipments back
    cancelled = client.post(f"/warehouse/waves/{number}/cancel", data={"csrf_token": csrf})
    assert cancelled.status_code == 200 and fulfillment.get_wave(uow, ref=number).status == "cancelled"
    assert fulfillment.get_shipment(uow, ref=tees.number).status == "pending"


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("marketing", "/warehouse", 403),
        ("agent", "/warehouse", 403),
        ("agent", "/warehouse/waves", 403),
        ("agent", "/warehouse/pack", 403),
        ("readonly", "/warehouse/counts", 403),
        ("marketing", "/warehouse/shipments", 403),
        ("agent", "/warehouse/shipments", 200),
    ],
)
def test_a_role_without_the_scope_is_turned_away(
    client: TestClient, admin_db: Any, role: str, path: str, status: int
) -> None:
    # signed out: the login page
    assert client.get(path, follow_redirects=False).headers["location"] == f"/login?next={path}"
    login(client, admin_db, role=role)
    response = client.get(path)
    assert response.status_code == status
    assert ("Warehouse</a>" in response.text) is False  # the navigation offers it only to whom it may open


def test_an_agent_cannot_build_a_wave_and_nothing_is_built(client: TestClient, admin_db: Any) -> None:
    make_order_shop(admin_db)
    placed(admin_db, ("TEE", 1))
    csrf = login(client, admin_db, role="agent")
    response = client.post("/warehouse/waves", data={"csrf_token": csrf, "location": "EAST"})
    assert response.status_code == 403 and fulfillment.list_waves(admin_db).items == []
