"""The EasyPost adapter against a loopback HTTP stub that answers in EasyPost's documented v2 formats."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from ordersmith.fulfillment.carriers import (
    Address,
    CarrierRejected,
    CarrierUnavailable,
    LabelRequest,
    Parcel,
    RateRequest,
    SignatureInvalid,
    TrackingEvent,
)
from ordersmith.fulfillment.carriers.easypost import EasyPostCarrier
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.money import Money
from tests.support.http_stub import Answer, Handler, Seen, StubApi, serving

API_KEY = "EZTK_secret_test_key_123"
WEBHOOK_SECRET = "whsec_ezp"
BOSTON = Address("Warehouse", "1 Main St", "Boston", "MA", "02110", "US", company="Ordersmith")
SEATTLE = Address("Ann Lee", "9 Elm St", "Seattle", "WA", "98101", "US")
BOX = Parcel(weight_g=1200, length_mm=300, width_mm=200, height_mm=100)
PDF_BYTES = b"%PDF-1.4 easypost label"
ZPL_BYTES = b"^XA^BCN,100,Y,N,N^FD9400100000000000000001^FS^XZ"
TRACKING = "9400100000000000000001"
BASIC = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()

ADDRESS_ERROR = {
    "error": {
        "code": "ADDRESS.VERIFY.FAILURE",
        "message": "Address not found",
        "errors": [{"field": "street1", "message": "House number is missing", "suggestion": None}],
    }
}
TRACKER = {
    "id": "trk_1",
    "object": "Tracker",
    "tracking_code": TRACKING,
    "status": "in_transit",
    "shipment_id": "shp_1",
    "carrier": "USPS",
    "tracking_details": [
        {
            "object": "TrackingDetail",
            "message": "Arrived at USPS Facility",
            "status": "in_transit",
            "datetime": "2026-03-03T08:10:00Z",
        },
        {
            "object": "TrackingDetail",
            "message": "Shipping Label Created",
            "status": "pre_transit",
            "datetime": "2026-03-02T15:00:00Z",
        },
    ],
}


def _rates(shipment_id: str) -> list[dict[str, object]]:
    base = {"object": "Rate", "currency": "USD", "shipment_id": shipment_id}
    return [
        {
            **base,
            "id": "rate_usps",
            "carrier": "USPS",
            "service": "Priority",
            "rate": "7.58",
            "delivery_days": 2,
            "delivery_date": "2026-03-04T00:00:00Z",
        },
        {
            **base,
            "id": "rate_ups",
            "carrier": "UPS",
            "service": "Ground",
            "rate": "9.10",
            "delivery_days": 5,
            "delivery_date": None,
        },
        {
            **base,
            "id": "rate_lso",
            "carrier": "LSO",
            "service": "Economy",
            "rate": "3.00",
            "delivery_days": None,
        },
    ]


def authorized(handler: Handler) -> Handler:
    def check(seen: Seen) -> Answer:
        if seen.headers.get("authorization") != BASIC:
            return Answer(
                401, {"error": {"code": "APIKEY.REQUIRED", "message": "API key required", "errors": []}}
            )
        return handler(seen)

    return check


def create_shipment(seen: Seen) -> Answer:
    shipment = seen.json["shipment"]
    if shipment["to_address"]["zip"] == "00000":
        return Answer(422, ADDRESS_ERROR)
    if shipment["to_address"]["zip"] == "55555":
        return Answer(200, {"id": "shp_slow", "rates": []}, delay_s=1.0)
    if shipment["to_address"]["zip"] == "50000":
        return Answer(503, {"error": {"code": "INTERNAL_SERVER_ERROR", "message": "try later", "errors": []}})
    return Answer(200, {"id": "shp_1", "object": "Shipment", "rates": _rates("shp_1")})


def buy(seen: Seen) -> Answer:
    assert seen.json == {"rate": {"id": "rate_usps"}}
    return Answer(
        200,
        {
            "id": "shp_1",
            "tracking_code": TRACKING,
            "selected_rate": {
                "id": "rate_usps",
                "carrier": "USPS",
                "service": "Priority",
                "rate": "7.58",
                "currency": "USD",
            },
            "postage_label": {"label_url": "https://example.invalid/label.png"},
        },
    )


def label(seen: Seen) -> Answer:
    key = "label_pdf_url" if seen.query["file_format"] == "PDF" else "label_zpl_url"
    name = "label.pdf" if key == "label_pdf_url" else "label.zpl"
    return Answer(200, {"id": "shp_1", "postage_label": {key: f"{seen.storage_url}/files/{name}"}})


def refund(seen: Seen) -> Answer:
    status = "rejected" if seen.path.endswith("shp_moving/refund") else "submitted"
    return Answer(200, {"id": "shp_1", "refund_status": status})


def verify_address(seen: Seen) -> Answer:
    sent = seen.json
    assert sent["verify"] is True
    success = sent["address"]["street1"] != "1 Nowhere Rd"
    return Answer(
        200,
        {
            "id": "adr_1",
            "name": sent["address"]["name"],
            "company": "",
            "street1": "9 ELM ST",
            "street2": "",
            "city": "SEATTLE",
            "state": "WA",
            "zip": "98101-1234",
            "country": "US",
            "verifications": {
                "delivery": {
                    "success": success,
                    "errors": []
                    if success
                    else [{"code": "E.ADDRESS.NOT_FOUND", "message": "Address not found"}],
                }
            },
        },
    )


def scan_form(seen: Seen) -> Answer:
    assert seen.json == {"shipments": [{"id": "shp_1"}]}
    return Answer(
        200,
        {
            "id": "sf_1",
            "object": "ScanForm",
            "status": "created",
            "tracking_codes": [TRACKING],
            "form_url": f"{seen.storage_url}/files/scan_form.pdf",
            "created_at": "2026-03-02T18:00:00Z",
        },
    )


@pytest.fixture
def stub() -> Iterator[StubApi]:
    api = StubApi()
    api.route("POST", "/v2/shipments", authorized(create_shipment))
    api.route("POST", "/v2/shipments/shp_1/buy", authorized(buy))
    api.route("GET", "/v2/shipments/shp_1/label", authorized(label))
    api.route("POST", r"/v2/shipments/shp_\w+/refund", authorized(refund))
    api.route("GET", "/v2/trackers", authorized(lambda seen: Answer(200, {"trackers": [TRACKER]})))
    api.route("POST", "/v2/addresses", authorized(verify_address))
    api.route("POST", "/v2/scan_forms", authorized(scan_form))
    api.route("GET", "/files/label.pdf", lambda seen: Answer(200, PDF_BYTES, "application/pdf"))
    api.route("GET", "/files/label.zpl", lambda seen: Answer(200, ZPL_BYTES, "text/plain"))
    api.route(
        "GET", "/files/scan_form.pdf", lambda seen: Answer(200, b"%PDF-1.4 scan form", "application/pdf")
    )
    with serving(api):
        yield api


@pytest.fixture
def easypost(stub: StubApi) -> EasyPostCarrier:
    return EasyPostCarrier(
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        base_url=stub.url() + "/v2",
        timeout_s=0.3,
        clock=FixedClock(datetime(2026, 3, 2, 15, tzinfo=UTC)),
    )


def test_rates_come_from_a_shipment_sent_in_inches_and_ounces(
    easypost: EasyPostCarrier, stub: StubApi
) -> None:
    # given a 1.2 kg box of 300 x 200 x 100 mm
    # when rated
    rates = easypost.rates(RateRequest(BOSTON, SEATTLE, [BOX], date(2026, 3, 2)))
    # then the shipment went with basic auth, the addresses and the parcel rounded up to tenths
    sent = stub.requests("POST", "/v2/shipments")[0]
    assert sent.headers["authorization"] == BASIC
    assert sent.json["shipment"]["parcel"] == {"length": 11.9, "width": 7.9, "height": 4.0, "weight": 42.4}
    assert sent.json["shipment"]["to_address"] == {
        "name": "Ann Lee",
        "company": "",
        "street1": "9 Elm St",
        "street2": "",
        "city": "Seattle",
        "state": "WA",
        "zip": "98101",
        "country": "US",
        "phone": "",
    }
    # and the rates with a transit time came back as Money, the one without left out
    assert [(r.service, r.amount, r.delivery_days, r.estimated_delivery_on, r.rate_id) for r in rates] == [
        ("UPS:Ground", Money("9.10", "USD"), 5, None, "shp_1|rate_ups"),
        ("USPS:Priority", Money("7.58", "USD"), 2, date(2026, 3, 4), "shp_1|rate_usps"),
    ]


def test_a_pdf_label_is_bought_for_the_quoted_rate_and_downloaded_without_the_key(
    easypost: EasyPostCarrier, stub: StubApi
) -> None:
    # given a quoted USPS Priority rate
    quoted = easypost.rates(RateRequest(BOSTON, SEATTLE, [BOX], date(2026, 3, 2)))
    rate = next(r for r in quoted if r.service == "USPS:Priority")
    # when its label is bought
    label = easypost.buy_label(LabelRequest(BOSTON, SEATTLE, BOX, "S-1001", rate=rate))
    # then the rate was bought, the PDF fetched and downloaded from storage without credentials
    assert stub.requests("GET", "/v2/shipments/shp_1/label")[0].query == {"file_format": "PDF"}
    assert "authorization" not in stub.requests("GET", "/files/label.pdf")[0].headers
    assert (label.tracking_number, label.service, label.amount) == (
        TRACKING,
        "USPS:Priority",
        Money("7.58", "USD"),
    )
    assert (label.label_format, label.content, label.label_id) == ("pdf", PDF_BYTES, "shp_1")


def test_a_zpl_label_for_a_service_code_rates_first_then_buys(
    easypost: EasyPostCarrier, stub: StubApi
) -> None:
    label = easypost.buy_label(
        LabelRequest(BOSTON, SEATTLE, BOX, "S-1002", service="USPS:Priority", label_format="zpl")
    )
    assert stub.requests("POST", "/v2/shipments")[0].json["shipment"]["reference"] == "S-1002"
    assert stub.requests("GET", "/v2/shipments/shp_1/label")[0].query == {"file_format": "ZPL"}
    assert (label.label_format, label.content) == ("zpl", ZPL_BYTES)


def test_an_unknown_service_is_refused_and_nothing_is_bought(
    easypost: EasyPostCarrier, stub: StubApi
) -> None:
    with pytest.raises(CarrierRejected) as refused:
        easypost.buy_label(LabelRequest(BOSTON, SEATTLE, BOX, "S-1003", service="FedEx:Overnight"))
    assert refused.value.reason_code == "unknown_service"
    assert stub.requests("POST", "/v2/shipments/shp_1/buy") == []


def test_a_label_for_a_parcel_without_weight_is_refused_before_calling(
    easypost: EasyPostCarrier, stub: StubApi
) -> None:
    with pytest.raises(CarrierRejected) as refused:
        easypost.buy_label(
            LabelRequest(BOSTON, SEATTLE, Parcel(0, 100, 100, 100), "S-1", service="USPS:Priority")
        )
    assert refused.value.reason_code == "weight_required"
    assert stub.seen == []


def test_a_422_address_error_becomes_a_rejection_with_easypost_s_message(
    easypost: EasyPostCarrier, caplog: pytest.LogCaptureFixture
) -> None:
    # given a destination EasyPost cannot find
    nowhere = Address("Nobody", "1 Void St", "Nowhere", "NY", "00000", "US")
    # when rated
    with caplog.at_level(logging.DEBUG), pytest.raises(CarrierRejected) as refused:
        easypost.rates(RateRequest(BOSTON, nowhere, [BOX], date(2026, 3, 2)))
    # then the documented error body is read, and the API key is nowhere in the error or the log
    assert refused.value.reason_code == "address_invalid"
    assert refused.value.detail == "easypost: Address not found (street1: House number is missing)"
    assert API_KEY not in str(refused.value) and API_KEY not in caplog.text
    assert BASIC.split()[1] not in caplog.text


def test_a_slow_answer_is_a_timeout(easypost: EasyPostCarrier) -> None:
    slow = Address("Ann Lee", "9 Elm St", "Slowtown", "IA", "55555", "US")
    with pytest.raises(CarrierUnavailable, match="did not answer in time"):
        easypost.rates(RateRequest(BOSTON, slow, [BOX], date(2026, 3, 2)))


def test_a_5xx_answer_is_unavailable(easypost: EasyPostCarrier) -> None:
    broken = Address("Ann Lee", "9 Elm St", "Ames", "IA", "50000", "US")
    with pytest.raises(CarrierUnavailable, match="answered 503"):
        easypost.rates(RateRequest(BOSTON, broken, [BOX], date(2026, 3, 2)))


def test_a_wrong_api_key_is_a_rejection_that_does_not_repeat_the_key(stub: StubApi) -> None:
    wrong = EasyPostCarrier(api_key="EZTK_wrong", base_url=stub.url() + "/v2", timeout_s=0.3)
    with pytest.raises(CarrierRejected) as refused:
        wrong.rates(RateRequest(BOSTON, SEATTLE, [BOX], date(2026, 3, 2)))
    assert refused.value.reason_code == "apikey_required"
    assert "EZTK_wrong" not in str(refused.value)
    assert "EZTK_wrong" not in repr(wrong)


def test_void_refunds_the_shipment_found_through_its_tracker(
    easypost: EasyPostCarrier, stub: StubApi
) -> None:
    easypost.void_label(tracking_number=TRACKING)
    assert stub.requests("GET", "/v2/trackers")[0].query == {"tracking_code": TRACKING}
    assert len(stub.requests("POST", "/v2/shipments/shp_1/refund")) == 1


def test_a_refund_easypost_rejects_is_a_rejection(easypost: EasyPostCarrier) -> None:
    with pytest.raises(CarrierRejected) as refused:
        easypost.void_label(tracking_number=TRACKING, label_id="shp_moving")
    assert refused.value.reason_code == "void_rejected"


def test_tracking_reads_the_tracker_s_details_oldest_first(easypost: EasyPostCarrier) -> None:
    events = easypost.track(tracking_number=TRACKING)
    assert [(e.status, e.detail, e.at) for e in events] == [
        ("pre_transit", "Shipping Label Created", datetime(2026, 3, 2, 15, 0, tzinfo=UTC)),
        ("in_transit", "Arrived at USPS Facility", datetime(2026, 3, 3, 8, 10, tzinfo=UTC)),
    ]
    assert [e.event_id for e in easypost.track(tracking_number=TRACKING)] == [e.event_id for e in events]


def _event_body() -> bytes:
    event = {"object": "Event", "id": "evt_1", "description": "tracker.updated", "result": TRACKER}
    return json.dumps(event).encode()


def test_a_webhook_with_a_valid_hmac_signature_is_read(easypost: EasyPostCarrier) -> None:
    # given an event signed as EasyPost signs it
    body = _event_body()
    signature = "hmac-sha256-hex=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    # when parsed
    events = easypost.parse_webhook(headers={"X-Hmac-Signature": signature}, body=body)
    # then the tracker's events come out
    assert [e.status for e in events] == ["pre_transit", "in_transit"]
    assert all(isinstance(e, TrackingEvent) for e in events)


def test_a_webhook_with_a_forged_signature_is_refused(easypost: EasyPostCarrier) -> None:
    body = _event_body()
    forged = "hmac-sha256-hex=" + hmac.new(b"guess", body, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureInvalid):
        easypost.parse_webhook(headers={"X-Hmac-Signature": forged}, body=body)
    with pytest.raises(SignatureInvalid):
        easypost.parse_webhook(headers={}, body=body)


def test_address_verification_returns_easypost_s_corrected_address(easypost: EasyPostCarrier) -> None:
    check = easypost.validate_address(SEATTLE)
    assert check.valid is True
    assert check.corrected == Address("Ann Lee", "9 ELM ST", "SEATTLE", "WA", "98101-1234", "US")


def test_an_address_easypost_cannot_deliver_to_is_invalid(easypost: EasyPostCarrier) -> None:
    check = easypost.validate_address(Address("Ann Lee", "1 Nowhere Rd", "Seattle", "WA", "98101", "US"))
    assert (check.valid, check.corrected, check.messages) == (False, None, ["Address not found"])


def test_a_manifest_is_a_scan_form_of_the_labels_shipments(easypost: EasyPostCarrier) -> None:
    manifest = easypost.manifest(tracking_numbers=[TRACKING], ship_on=date(2026, 3, 2), label_ids=["shp_1"])
    assert (manifest.manifest_id, manifest.tracking_numbers) == ("sf_1", [TRACKING])
    assert manifest.content == b"%PDF-1.4 scan form"
    assert manifest.created_at == datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def test_an_id_that_is_not_easypost_s_never_reaches_a_url_path(
    easypost: EasyPostCarrier, stub: StubApi
) -> None:
    with pytest.raises(CarrierRejected) as refused:
        easypost.void_label(tracking_number=TRACKING, label_id="../addresses")
    assert refused.value.reason_code == "invalid_label_id"
    assert stub.seen == []
