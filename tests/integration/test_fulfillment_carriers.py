"""Fulfillment with the sandbox carrier and the documents, on both databases: rate shopping, labels bought once
(claims; faults buy nothing), voids, tracking by signed webhook and by polling, the end-of-day manifest, and the
packing slip, invoices and pick list as PDFs that parse."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from ordersmith.catalog import service as catalog
from ordersmith.fulfillment import carriers
from ordersmith.fulfillment import service as fulfillment
from ordersmith.fulfillment.carriers.sandbox import SandboxCarrier
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import Conflict, ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from tests.builders import channel, make_order_shop, order_request, ship_to

DOCK = {"name": "Shipping dock", "company": "Demo Outfitters", "line1": "200 Harbor Way", "city": "Boston",
        "region": "MA", "postal_code": "02110", "country": "US", "phone": "617-555-0100"}  # fmt: skip


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 12, 1, 15, tzinfo=UTC))  # a Tuesday afternoon


@pytest.fixture
def sandbox(settings: Settings, clock: FixedClock) -> SandboxCarrier:
    return SandboxCarrier(settings.sandbox_carrier_path, webhook_secret="whsec_test", clock=clock)


@pytest.fixture
def shop(db: Database, settings: Settings, uow: UnitOfWork, sandbox: SandboxCarrier) -> UnitOfWork:
    fulfillment.setup_fulfillment(db, settings, carriers={"sandbox": sandbox})
    make_order_shop(uow)
    fulfillment.set_dock(uow, location="EAST", address=DOCK)
    return uow


def packed(uow: UnitOfWork, *lines: tuple[str, int], **fields: object) -> tuple[orders.Order, str]:
    order = orders.place_order(uow, channel=channel(uow), request=order_request(*lines, **fields)).order
    fulfillment.sync_order(uow, order_id=order.id)
    (shipment,) = fulfillment.order_shipments(uow, order_id=str(order.id))
    fulfillment.pick_shipment(uow, ref=shipment.number)
    fulfillment.pack_shipment(uow, ref=shipment.number, all_units=True,
                              packages=[fulfillment.PackageSpec(800, 300, 200, 100)])  # fmt: skip
    return order, shipment.number


def labels_bought(sandbox: SandboxCarrier) -> int:
    import sqlite3

    with sqlite3.connect(sandbox.path) as conn:
        return int(conn.execute("SELECT count(*) FROM labels").fetchone()[0])


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_rate_shopping_picks_the_cheapest_service_that_keeps_the_promise(shop: UnitOfWork):
    _, number = packed(shop, ("TEE", 2))
    ground = fulfillment.rate_shipment(shop, ref=number)
    assert ground.chosen is not None and ground.chosen.service == "ground"
    assert ground.chosen.amount == min(r.amount for r in ground.rates)
    # an overnight promise leaves only the overnight service
    from decimal import Decimal

    from ordersmith.kernel.money import Money
    from ordersmith.pricing import service as pricing

    pricing.create_shipping_method(shop, code="overnight", name="Overnight", kind="flat",
                                   flat=Money(Decimal("25.00"), "USD"))  # fmt: skip
    _, fast = packed(shop, ("TEE", 1), ship_tos=[ship_to(method="overnight")])
    quote = fulfillment.rate_shipment(shop, ref=fast)
    assert quote.chosen is not None and quote.chosen.service == "overnight"


def test_labels_are_bought_once_and_the_label_carries_the_tracking_number(shop: UnitOfWork, sandbox):
    # given a packed shipment
    _, number = packed(shop, ("TEE", 2))
    # when its labels are bought (rate shopped)
    labelled = fulfillment.buy_labels(shop, ref=number)
    # then its package has a label and the shipment a tracking number from the carrier
    (package,) = labelled.packages
    assert (package.status, package.carrier, package.service) == ("labelled", "sandbox", "ground")
    assert labelled.tracking_number == package.tracking_number and package.tracking_number.startswith("SBX")
    label_format, content = fulfillment.label_of(shop, ref=number)
    assert label_format == "pdf" and package.tracking_number in text_of(content)
    # and a second purchase is refused and buys nothing
    with pytest.raises(Conflict, match="has its label"):
        fulfillment.buy_labels(shop, ref=number)
    assert labels_bought(sandbox) == 1


def test_a_carrier_refusal_buys_nothing_and_leaves_the_package_ready_for_another_try(
    shop: UnitOfWork, sandbox
):
    _, number = packed(shop, ("TEE", 1), ship_tos=[ship_to(postal_code="00000")])
    with pytest.raises(carriers.CarrierRejected):
        fulfillment.buy_labels(shop, ref=number, service="ground")
    (package,) = fulfillment.get_shipment(shop, ref=number).packages
    assert (package.status, package.tracking_number, labels_bought(sandbox)) == ("open", "", 0)


def test_a_voided_label_can_be_bought_again_as_zpl(shop: UnitOfWork, sandbox):
    _, number = packed(shop, ("TEE", 1))
    first = fulfillment.buy_labels(shop, ref=number, service="two_day").tracking_number
    voided = fulfillment.void_labels(shop, ref=number)
    assert [p.status for p in voided.packages] == ["open"] and voided.tracking_number == ""
    again = fulfillment.buy_labels(shop, ref=number, service="ground", label_format="zpl")
    assert again.tracking_number != first
    label_format, content = fulfillment.label_of(shop, ref=number)
    assert label_format == "zpl" and content.startswith(b"^XA") and again.tracking_number.encode() in content


def test_a_signed_webhook_delivers_the_shipment_once_and_a_forged_one_changes_nothing(
    shop: UnitOfWork, sandbox: SandboxCarrier, clock: FixedClock
):
    # given a shipped parcel, three days later
    _, number = packed(shop, ("TEE", 1))
    tracking = fulfillment.buy_labels(shop, ref=number).tracking_number
    fulfillment.ship_shipment(shop, ref=number)
    clock.advance(timedelta(days=8))
    headers, body = sandbox.signed_webhook(tracking)
    # a forged one is refused, and nothing moves
    with pytest.raises(carriers.SignatureInvalid):
        fulfillment.receive_webhook(shop, carrier="sandbox", headers={"Sandbox-Signature": "t=1,v1=00"},
                                    body=body, query={})  # fmt: skip
    assert fulfillment.get_shipment(shop, ref=number).status == "shipped"
    # when the carrier's signed notification arrives
    applied = fulfillment.receive_webhook(shop, carrier="sandbox", headers=headers, body=body, query={})
    # then the shipment is delivered, and the same notification again changes nothing
    delivered = fulfillment.get_shipment(shop, ref=number)
    assert applied >= 1 and delivered.status == "delivered" and delivered.delivered_at is not None
    assert fulfillment.receive_webhook(shop, carrier="sandbox", headers=headers, body=body, query={}) == 0
    assert [e.kind for e in delivered.timeline].count("shipment.delivered") == 1


def test_polling_moves_a_parcel_to_exception_when_the_carrier_reports_one(shop, sandbox, clock):
    _, number = packed(shop, ("TEE", 1), ship_tos=[ship_to(postal_code="99999")])
    fulfillment.buy_labels(shop, ref=number, service="ground")
    fulfillment.ship_shipment(shop, ref=number)
    assert fulfillment.poll_tracking(shop) >= 1  # pre-transit: on its timeline only
    assert fulfillment.get_shipment(shop, ref=number).status == "shipped"
    clock.advance(timedelta(days=3))
    fulfillment.poll_tracking(shop)
    assert fulfillment.get_shipment(shop, ref=number).status == "exception"


def test_the_end_of_day_manifest_lists_what_shipped_once(shop: UnitOfWork, clock: FixedClock):
    _, one = packed(shop, ("TEE", 1))
    _, two = packed(shop, ("MUG", 1))  # ships from WEST: not on EAST's manifest
    numbers = []
    for number in (one,):
        numbers.append(fulfillment.buy_labels(shop, ref=number).tracking_number)
        fulfillment.ship_shipment(shop, ref=number)
    shop_uow = shop
    manifest = fulfillment.close_day(
        shop_uow, location="EAST", carrier="sandbox", day=datetime.now(UTC).date()
    )
    assert manifest.tracking_numbers == numbers
    with pytest.raises(Conflict, match="waits for a manifest"):
        fulfillment.close_day(shop_uow, location="EAST", carrier="sandbox", day=datetime.now(UTC).date())
    del two


def test_labels_need_a_dock_and_a_packed_shipment(shop: UnitOfWork):
    order = orders.place_order(shop, channel=channel(shop), request=order_request(("MUG", 1))).order
    fulfillment.sync_order(shop, order_id=order.id)
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    with pytest.raises(Conflict, match="pack it first"):
        fulfillment.buy_labels(shop, ref=shipment.number)
    fulfillment.pick_shipment(shop, ref=shipment.number)
    fulfillment.pack_shipment(shop, ref=shipment.number, all_units=True)
    with pytest.raises(Conflict, match="no ship-from address"):
        fulfillment.buy_labels(shop, ref=shipment.number)  # WEST has no dock


def test_the_packing_slip_shows_the_lines_gift_message_personalization_and_return_code(shop: UnitOfWork):
    from ordersmith.orders.service import LineRequest

    request = order_request(("TEE", 2))
    request = type(request)(**{**request.__dict__, "lines": [
        LineRequest(sku="TEE", quantity=2, gift_message="Happy birthday, Sam!"),
        LineRequest(sku="TOWEL", quantity=1, personalization={"initials": "ABC"})]})  # fmt: skip
    order = orders.place_order(shop, channel=channel(shop), request=request).order
    fulfillment.sync_order(shop, order_id=order.id)
    (shipment,) = fulfillment.order_shipments(shop, order_id=str(order.id))
    text = text_of(fulfillment.packing_slip_pdf(shop, ref=shipment.number))
    for expected in ("TEE", "TOWEL", "Happy birthday, Sam!", "ABC", order.number, shipment.number,
                     "Ann Buyer", "1 Market St"):  # fmt: skip
        assert expected in text, expected
    assert fulfillment.packing_slip_pdf(shop, ref=shipment.number) == fulfillment.packing_slip_pdf(
        shop, ref=shipment.number
    )


def test_the_customer_invoice_shows_the_total_and_customs_need_each_item_s_facts(shop: UnitOfWork):
    _, number = packed(shop, ("TEE", 2))
    order = orders.get_order(shop, ref=number.split("-")[0])
    assert f"{order.total.amount}" in text_of(fulfillment.customer_invoice_pdf(shop, ref=number))
    with pytest.raises(Conflict, match="does not leave"):
        fulfillment.commercial_invoice_pdf(shop, ref=number)
    # a parcel to Canada needs its items' HS codes
    abroad = ship_to(country="CA", region="ON", postal_code="M5V 2T6", city="Toronto")
    _, export = packed(shop, ("MUG", 1), ship_tos=[abroad])
    fulfillment.set_dock(
        shop, location="WEST", address={**DOCK, "city": "Reno", "region": "NV", "postal_code": "89501"}
    )
    with pytest.raises(ValidationFailed, match=r"items\.MUG"):
        fulfillment.commercial_invoice_pdf(shop, ref=export)
    catalog.create_item(shop, sku="MUG-EXPORT", name="Mug (export)", hs_code="6912.00", country_of_origin="us",
                        weight_g=400)  # fmt: skip
    assert catalog.get_item(shop, sku="MUG-EXPORT").country_of_origin == "US"


def test_a_pick_list_prints_its_stops_in_walk_order(shop: UnitOfWork):
    fulfillment.put_bin(shop, location="EAST", code="A-01", walk_sequence=5)
    fulfillment.assign_bin(shop, location="EAST", sku="TEE", bin_code="A-01")
    order = orders.place_order(shop, channel=channel(shop), request=order_request(("TEE", 3))).order
    fulfillment.sync_order(shop, order_id=order.id)
    wave = fulfillment.build_wave(shop, location="EAST", filters=fulfillment.WaveFilters())
    text = text_of(fulfillment.pick_list_pdf(shop, ref=wave.number))
    assert wave.number in text and "A-01" in text and "TEE" in text and order.number in text


def test_the_carrier_checks_a_shipment_s_address_and_changes_nothing(shop: UnitOfWork):
    _, good = packed(shop, ("TEE", 1))
    assert fulfillment.check_address(shop, ref=good).valid
    _, bad = packed(shop, ("TEE", 1), ship_tos=[ship_to(postal_code="00000")])
    check = fulfillment.check_address(shop, ref=bad)
    assert not check.valid and check.messages
    assert fulfillment.get_shipment(shop, ref=bad).status == "packed"
