"""The sandbox carrier: prices by zone and weight, real labels, clocked tracking, signed webhooks, faults."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest

from ordersmith.fulfillment.carriers import (
    Address,
    CarrierRejected,
    CarrierUnavailable,
    LabelRequest,
    Parcel,
    RateRequest,
    SignatureInvalid,
)
from ordersmith.fulfillment.carriers.sandbox import (
    SIGNATURE_HEADER,
    SandboxCarrier,
    billable_weight_g,
    check_digit,
    zone,
)
from ordersmith.fulfillment.carriers.units import grams, inches, ounces
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.money import Money

MONDAY_3PM = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
BOSTON = Address("Warehouse", "1 Main St", "Boston", "MA", "02110", "US", company="Ordersmith")
SEATTLE = Address("Ann Lee", "9 Elm St", "Seattle", "WA", "98101", "US")
NEWARK = Address("Bo Kim", "5 Oak Ave", "Newark", "NJ", "07102", "US")
PARIS = Address("Chloé Martin", "3 rue de Rivoli", "Paris", "", "75001", "FR")
BOX = Parcel(weight_g=1200, length_mm=300, width_mm=200, height_mm=100)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_3PM)


@pytest.fixture
def carrier(tmp_path: Path, clock: FixedClock) -> SandboxCarrier:
    return SandboxCarrier(tmp_path / "carrier.db", webhook_secret="whsec_test", clock=clock)


def label_request(**changes: object) -> LabelRequest:
    fields: dict[str, object] = {
        "ship_from": BOSTON,
        "ship_to": SEATTLE,
        "parcel": BOX,
        "reference": "S-1001",
        "service": "ground",
    }
    fields.update(changes)
    return LabelRequest(**fields)  # type: ignore[arg-type]


def amounts(carrier: SandboxCarrier, request: RateRequest) -> dict[str, Money]:
    return {rate.service: rate.amount for rate in carrier.rates(request)}


# --- rates --------------------------------------------------------------------------------------------------------


def test_zones_grow_with_the_distance_between_zip_prefixes() -> None:
    assert zone("02110", "02134") == 1
    assert zone("10001", "30301") == 2
    assert zone("02110", "98101") == 8


def test_domestic_rates_price_every_service_by_zone_and_weight(carrier: SandboxCarrier) -> None:
    # given a 1.2 kg box (three 500 g steps) from Boston to Seattle (zone 8) and to Newark (zone 1)
    far = RateRequest(BOSTON, SEATTLE, [BOX], date(2026, 3, 2))
    near = RateRequest(BOSTON, NEWARK, [BOX], date(2026, 3, 2))
    # when rated
    # then base + zone fee + weight steps, in USD
    assert amounts(carrier, far) == {
        "ground": Money("13.90", "USD"),
        "two_day": Money("27.80", "USD"),
        "overnight": Money("56.10", "USD"),
    }
    assert amounts(carrier, near) == {
        "ground": Money("9.70", "USD"),
        "two_day": Money("19.40", "USD"),
        "overnight": Money("38.60", "USD"),
    }


def test_rates_promise_delivery_in_business_days(carrier: SandboxCarrier) -> None:
    # given a Friday ship date
    request = RateRequest(BOSTON, SEATTLE, [BOX], date(2026, 3, 6))
    # when rated
    rates = {
        rate.service: (rate.delivery_days, rate.estimated_delivery_on) for rate in carrier.rates(request)
    }
    # then weekends are skipped
    assert rates == {
        "ground": (5, date(2026, 3, 13)),
        "two_day": (2, date(2026, 3, 10)),
        "overnight": (1, date(2026, 3, 9)),
    }


def test_a_light_bulky_box_is_billed_by_its_dimensional_weight(carrier: SandboxCarrier) -> None:
    # given a 100 g box of 40 x 30 x 25 cm (30 000 cm3 / 5000 = 6 kg)
    pillow = Parcel(weight_g=100, length_mm=400, width_mm=300, height_mm=250)
    # when rated into zone 1
    ground = amounts(carrier, RateRequest(BOSTON, NEWARK, [pillow], date(2026, 3, 2)))["ground"]
    # then twelve 500 g steps are charged: 7.00 + 12 x 0.90
    assert billable_weight_g(pillow) == 6000
    assert ground == Money("17.80", "USD")


def test_a_dense_box_is_billed_by_its_actual_weight() -> None:
    assert billable_weight_g(Parcel(weight_g=5000, length_mm=100, width_mm=100, height_mm=100)) == 5000


def test_several_parcels_are_priced_each_and_added(carrier: SandboxCarrier) -> None:
    request = RateRequest(BOSTON, NEWARK, [BOX, BOX], date(2026, 3, 2))
    assert amounts(carrier, request)["ground"] == Money("19.40", "USD")


def test_international_parcels_get_only_the_international_services(carrier: SandboxCarrier) -> None:
    request = RateRequest(BOSTON, PARIS, [BOX], date(2026, 3, 2))
    assert amounts(carrier, request) == {
        "intl_economy": Money("37.50", "USD"),
        "intl_express": Money("72.00", "USD"),
    }


# --- labels -------------------------------------------------------------------------------------------------------


def test_a_pdf_label_is_a_4x6_page_showing_the_tracking_number(carrier: SandboxCarrier) -> None:
    # given a ground label request
    # when the label is bought
    label = carrier.buy_label(label_request())
    # then it is a one-page 4 x 6 in PDF with the tracking number, the service and the reference
    pdf = pypdf.PdfReader(io.BytesIO(label.content))
    text = pdf.pages[0].extract_text()
    assert label.tracking_number == "SBX000000000017"
    assert (label.carrier, label.service, label.label_format) == ("sandbox", "ground", "pdf")
    assert label.amount == Money("13.90", "USD")
    assert len(pdf.pages) == 1
    assert (pdf.pages[0].mediabox.width, pdf.pages[0].mediabox.height) == (288, 432)
    assert "TRACKING # SBX000000000017" in text
    assert "SANDBOX GROUND" in text
    assert "Ref: S-1001" in text


def test_a_zpl_label_prints_a_code_128_barcode_of_the_tracking_number(carrier: SandboxCarrier) -> None:
    label = carrier.buy_label(label_request(label_format="zpl"))
    zpl = label.content.decode("ascii")
    assert zpl.startswith("^XA\n")
    assert zpl.endswith("^XZ\n")
    assert "^PW812\n^LL1218\n" in zpl
    assert f"^BCN,200,Y,N,N^FD{label.tracking_number}^FS" in zpl


def test_a_label_bought_for_a_quoted_rate_uses_that_rate_s_service(carrier: SandboxCarrier) -> None:
    overnight = next(
        r
        for r in carrier.rates(RateRequest(BOSTON, SEATTLE, [BOX], date(2026, 3, 2)))
        if r.service == "overnight"
    )
    label = carrier.buy_label(label_request(rate=overnight, service=""))
    assert (label.service, label.amount) == ("overnight", Money("56.10", "USD"))


def test_tracking_numbers_follow_a_counter_kept_in_the_sandbox_file(
    tmp_path: Path, clock: FixedClock
) -> None:
    # given a label bought by one process
    first = SandboxCarrier(tmp_path / "carrier.db", clock=clock).buy_label(label_request())
    # when another process on the same file buys the next
    second = SandboxCarrier(tmp_path / "carrier.db", clock=clock).buy_label(label_request())
    # then the numbers follow each other, each SBX + 11 digits + a check digit
    assert (first.tracking_number, second.tracking_number) == ("SBX000000000017", "SBX000000000024")
    assert second.tracking_number[-1] == check_digit(second.tracking_number[3:-1])
    assert (tmp_path / "carrier.db").stat().st_mode & 0o777 == 0o600


# --- void ---------------------------------------------------------------------------------------------------------


def test_a_label_not_yet_moving_is_voided_and_stops_tracking(
    carrier: SandboxCarrier, clock: FixedClock
) -> None:
    # given a label bought an hour ago
    label = carrier.buy_label(label_request())
    clock.advance(timedelta(hours=1))
    # when it is voided, twice (a retry after a lost answer), and the days pass
    carrier.void_label(tracking_number=label.tracking_number)
    carrier.void_label(tracking_number=label.tracking_number)
    clock.advance(timedelta(days=10))
    # then it never moves
    assert [e.status for e in carrier.track(tracking_number=label.tracking_number)] == ["pre_transit"]


def test_a_label_in_transit_cannot_be_voided_and_keeps_moving(
    carrier: SandboxCarrier, clock: FixedClock
) -> None:
    # given a label picked up (a day has passed)
    label = carrier.buy_label(label_request())
    clock.advance(timedelta(days=1))
    # when it is voided
    with pytest.raises(CarrierRejected) as refused:
        carrier.void_label(tracking_number=label.tracking_number)
    # then the carrier refuses and nothing changed: it is still delivered on time
    assert refused.value.reason_code == "label_in_transit"
    clock.advance(timedelta(days=10))
    assert carrier.track(tracking_number=label.tracking_number)[-1].status == "delivered"


def test_an_unknown_label_cannot_be_voided(carrier: SandboxCarrier) -> None:
    with pytest.raises(CarrierRejected) as refused:
        carrier.void_label(tracking_number="SBX999999999990")
    assert refused.value.reason_code == "label_not_found"


# --- tracking and webhooks ----------------------------------------------------------------------------------------


def test_tracking_advances_with_the_clock(carrier: SandboxCarrier, clock: FixedClock) -> None:
    # given a ground label bought on Monday at 15:00
    number = carrier.buy_label(label_request()).tracking_number
    seen = []
    # when tracked at once, a day later, and after the fifth business day
    for step in (timedelta(0), timedelta(days=1), timedelta(days=6)):
        clock.advance(step)
        seen.append([(e.status, e.at) for e in carrier.track(tracking_number=number)])
    # then label created, then in transit, then out for delivery and delivered the next Monday
    created = MONDAY_3PM
    assert seen[0] == [("pre_transit", created)]
    assert seen[1] == [("pre_transit", created), ("in_transit", created + timedelta(days=1))]
    assert seen[2] == [
        ("pre_transit", created),
        ("in_transit", created + timedelta(days=1)),
        ("out_for_delivery", datetime(2026, 3, 9, 11, 0, tzinfo=UTC)),
        ("delivered", datetime(2026, 3, 9, 15, 0, tzinfo=UTC)),
    ]


def test_tracking_event_ids_are_stable_between_polls(carrier: SandboxCarrier, clock: FixedClock) -> None:
    number = carrier.buy_label(label_request()).tracking_number
    clock.advance(timedelta(days=1))
    first = [e.event_id for e in carrier.track(tracking_number=number)]
    clock.advance(timedelta(hours=1))
    assert [e.event_id for e in carrier.track(tracking_number=number)] == first
    assert first == [f"{number}-pre_transit", f"{number}-in_transit"]


def test_a_parcel_to_99999_ends_in_a_delivery_exception(carrier: SandboxCarrier, clock: FixedClock) -> None:
    # given a parcel to the fault postal code
    stuck = Address("Ann Lee", "9 Elm St", "Juneau", "AK", "99999", "US")
    number = carrier.buy_label(label_request(ship_to=stuck)).tracking_number
    # when ten days pass
    clock.advance(timedelta(days=10))
    # then it went into transit and then into an exception, never delivered
    events = carrier.track(tracking_number=number)
    assert [e.status for e in events] == ["pre_transit", "in_transit", "exception"]
    assert events[-1].detail == "Delivery exception: address not accessible"


def test_a_signed_webhook_is_read_into_tracking_events(carrier: SandboxCarrier, clock: FixedClock) -> None:
    number = carrier.buy_label(label_request()).tracking_number
    clock.advance(timedelta(days=1))
    headers, body = carrier.signed_webhook(number)
    events = carrier.parse_webhook(headers=headers, body=body)
    assert events == carrier.track(tracking_number=number)


def test_a_webhook_with_a_forged_signature_is_refused(carrier: SandboxCarrier) -> None:
    number = carrier.buy_label(label_request()).tracking_number
    headers, body = carrier.signed_webhook(number)
    forged = body.replace(b"pre_transit", b"delivered")
    with pytest.raises(SignatureInvalid, match="no signature matches"):
        carrier.parse_webhook(headers=headers, body=forged)


def test_a_webhook_without_a_signature_is_refused(carrier: SandboxCarrier) -> None:
    number = carrier.buy_label(label_request()).tracking_number
    _, body = carrier.signed_webhook(number)
    with pytest.raises(SignatureInvalid, match="missing or malformed"):
        carrier.parse_webhook(headers={}, body=body)


def test_a_webhook_signed_more_than_five_minutes_ago_is_refused(carrier: SandboxCarrier) -> None:
    number = carrier.buy_label(label_request()).tracking_number
    headers, body = carrier.signed_webhook(number, at=MONDAY_3PM - timedelta(minutes=5, seconds=1))
    with pytest.raises(SignatureInvalid, match="outside the tolerance"):
        carrier.parse_webhook(headers=headers, body=body)


def test_a_webhook_signed_within_five_minutes_is_accepted(carrier: SandboxCarrier) -> None:
    number = carrier.buy_label(label_request()).tracking_number
    headers, body = carrier.signed_webhook(number, at=MONDAY_3PM - timedelta(minutes=5))
    assert [
        e.status
        for e in carrier.parse_webhook(
            headers={SIGNATURE_HEADER.upper(): headers[SIGNATURE_HEADER]}, body=body
        )
    ] == ["pre_transit"]


# --- faults on purpose --------------------------------------------------------------------------------------------


def test_postal_code_00000_is_an_invalid_address_everywhere(carrier: SandboxCarrier) -> None:
    nowhere = Address("Nobody", "1 Void St", "Nowhere", "NY", "00000", "US")
    for call in (
        lambda: carrier.rates(RateRequest(BOSTON, nowhere, [BOX], date(2026, 3, 2))),
        lambda: carrier.buy_label(label_request(ship_to=nowhere)),
        lambda: carrier.validate_address(nowhere),
    ):
        with pytest.raises(CarrierRejected) as refused:
            call()
        assert refused.value.reason_code == "address_invalid"


def test_a_fault_timeout_reference_is_a_timeout_and_buys_nothing(carrier: SandboxCarrier) -> None:
    # given a label request whose reference asks for a timeout
    # when it is bought
    with pytest.raises(CarrierUnavailable, match="FAULT-TIMEOUT"):
        carrier.buy_label(label_request(reference="S-1001 FAULT-TIMEOUT"))
    # then no label was recorded: the next one still gets the first number
    assert carrier.buy_label(label_request()).tracking_number == "SBX000000000017"


def test_a_fault_timeout_address_line_times_out_rates(carrier: SandboxCarrier) -> None:
    slow = Address("Ann Lee", "FAULT-TIMEOUT", "Seattle", "WA", "98101", "US")
    with pytest.raises(CarrierUnavailable):
        carrier.rates(RateRequest(BOSTON, slow, [BOX], date(2026, 3, 2)))


def test_a_label_for_a_parcel_without_weight_is_refused(carrier: SandboxCarrier) -> None:
    with pytest.raises(CarrierRejected) as refused:
        carrier.buy_label(label_request(parcel=Parcel(0, 100, 100, 100)))
    assert refused.value.reason_code == "weight_required"
    assert refused.value.status == 422
    assert refused.value.extra == {"reason_code": "weight_required"}


@pytest.mark.parametrize(
    ("service", "ship_to"), [("teleport", SEATTLE), ("ground", PARIS), ("intl_express", SEATTLE)]
)
def test_a_service_the_sandbox_does_not_offer_there_is_refused(
    carrier: SandboxCarrier, service: str, ship_to: Address
) -> None:
    with pytest.raises(CarrierRejected) as refused:
        carrier.buy_label(label_request(service=service, ship_to=ship_to))
    assert refused.value.reason_code == "unknown_service"


# --- addresses and manifests --------------------------------------------------------------------------------------


def test_a_clean_us_address_is_valid_as_it_is(carrier: SandboxCarrier) -> None:
    check = carrier.validate_address(SEATTLE)
    assert (check.valid, check.corrected, check.messages) == (True, None, [])


def test_an_address_differing_only_in_case_and_spacing_comes_back_corrected(carrier: SandboxCarrier) -> None:
    sloppy = Address("Ann  Lee", " 9 Elm  St ", "Seattle", "wa", "981011234", "us")
    check = carrier.validate_address(sloppy)
    assert check.valid is True
    assert check.corrected == Address("Ann Lee", "9 Elm St", "Seattle", "WA", "98101-1234", "US")


@pytest.mark.parametrize(
    ("postal_code", "region", "message"),
    [
        ("9810", "WA", "a US ZIP code has 5 or 9 digits"),
        ("981011", "WA", "a US ZIP code has 5 or 9 digits"),
        ("98101", "XX", "XX is not a US state code"),
    ],
)
def test_a_malformed_us_address_is_invalid(
    carrier: SandboxCarrier, postal_code: str, region: str, message: str
) -> None:
    check = carrier.validate_address(Address("Ann", "9 Elm St", "Seattle", region, postal_code, "US"))
    assert (check.valid, check.corrected, check.messages) == (False, None, [message])


def test_a_manifest_lists_the_day_s_labels(carrier: SandboxCarrier) -> None:
    numbers = [carrier.buy_label(label_request(reference=f"S-{n}")).tracking_number for n in (1, 2)]
    manifest = carrier.manifest(tracking_numbers=numbers, ship_on=date(2026, 3, 2))
    text = pypdf.PdfReader(io.BytesIO(manifest.content)).pages[0].extract_text()
    assert (manifest.carrier, manifest.manifest_id, manifest.created_at) == (
        "sandbox",
        "SBXM00000001",
        MONDAY_3PM,
    )
    assert manifest.tracking_numbers == numbers
    assert all(number in text for number in numbers)
    assert "Parcels: 2" in text


def test_a_voided_label_cannot_be_manifested(carrier: SandboxCarrier) -> None:
    number = carrier.buy_label(label_request()).tracking_number
    carrier.void_label(tracking_number=number)
    with pytest.raises(CarrierRejected) as refused:
        carrier.manifest(tracking_numbers=[number], ship_on=date(2026, 3, 2))
    assert refused.value.reason_code == "label_voided"


def test_weights_and_lengths_convert_up_to_the_next_tenth() -> None:
    assert ounces(1000) == Decimal("35.3")  # 35.2739...
    assert ounces(28) == Decimal("1.0")  # 0.987...
    assert inches(254) == Decimal("10.0")
    assert inches(255) == Decimal("10.1")
    assert grams(Decimal("16")) == 454  # 453.59...
