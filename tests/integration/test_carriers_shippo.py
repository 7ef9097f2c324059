"""The Shippo adapter against a loopback HTTP stub that answers in Shippo's documented formats."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

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
from ordersmith.fulfillment.carriers.shippo import ShippoCarrier
from ordersmith.fulfillment.carriers.signing import sign
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.money import Money
from tests.support.http_stub import Answer, Handler, Seen, StubApi, serving

API_KEY = "shippo_test_0123456789abcdef"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
BOSTON = Address("Warehouse", "1 Main St", "Boston", "MA", "02110", "US", company="Ordersmith")
SEATTLE = Address("Ann Lee", "9 Elm St", "Seattle", "WA", "98101", "US")
BOX = Parcel(weight_g=1200, length_mm=300, width_mm=200, height_mm=100)
TRACKING = "9205500000000000000001"
PDF_BYTES = b"%PDF-1.4 shippo label"
TRACK = {
    "carrier": "usps",
    "tracking_number": TRACKING,
    "tracking_status": {
        "object_id": "ts_3",
        "status": "TRANSIT",
        "status_details": "Out for delivery",
        "status_date": "2026-03-04T07:00:00Z",
        "substatus": {"code": "out_for_delivery"},
    },
    "tracking_history": [
        {
            "object_id": "ts_1",
            "status": "PRE_TRANSIT",
            "status_details": "Label created",
            "status_date": "2026-03-02T15:00:00Z",
        },
        {
            "object_id": "ts_2",
            "status": "TRANSIT",
            "status_details": "Accepted at USPS Origin Facility",
            "status_date": "2026-03-03T09:30:00Z",
            "substatus": {"code": "package_accepted"},
        },
        {
            "object_id": "ts_3",
            "status": "TRANSIT",
            "status_details": "Out for delivery",
            "status_date": "2026-03-04T07:00:00Z",
            "substatus": {"code": "out_for_delivery"},
        },
    ],
}


def authorized(handler: Handler) -> Handler:
    def check(seen: Seen) -> Answer:
        if seen.headers.get("authorization") != f"ShippoToken {API_KEY}":
            return Answer(401, {"detail": "Invalid token."})
        return handler(seen)

    return check


def create_shipment(seen: Seen) -> Answer:
    zip_code = seen.json["address_to"]["zip"]
    if zip_code == "00000":
        return Answer(
            400, {"address_to": ["The address 1 Void St, Nowhere NY 00000 could not be validated."]}
        )
    if zip_code == "55555":
        return Answer(200, {"object_id": "shp_slow", "rates": []}, delay_s=1.0)
    if zip_code == "50000":
        return Answer(502, b"<html>Bad Gateway</html>", "text/html")
    rate = {
        "object_id": "r_usps",
        "amount": "7.58",
        "currency": "USD",
        "provider": "USPS",
        "servicelevel": {"name": "Priority Mail", "token": "usps_priority"},
        "estimated_days": 2,
        "duration_terms": "Delivery in 1 to 3 business days",
    }
    rates = [
        rate,
        {
            **rate,
            "object_id": "r_ups",
            "amount": "9.1",
            "provider": "UPS",
            "servicelevel": {"name": "Ground", "token": "ups_ground"},
            "estimated_days": 5,
        },
        {
            **rate,
            "object_id": "r_mystery",
            "amount": "2.00",
            "estimated_days": None,
            "servicelevel": {"name": "Mystery", "token": "usps_mystery"},
        },
    ]
    return Answer(201, {"object_id": "shp_a", "status": "SUCCESS", "rates": rates, "messages": []})


def transaction(seen: Seen) -> Answer:
    if seen.json["rate"] == "r_ups":
        return Answer(
            201,
            {
                "object_id": "tx_err",
                "status": "ERROR",
                "tracking_number": "",
                "messages": [{"source": "UPS", "code": "", "text": "Parcel too heavy"}],
            },
        )
    return Answer(
        201,
        {
            "object_id": "tx_1",
            "status": "SUCCESS",
            "tracking_number": TRACKING,
            "messages": [],
            "label_url": f"{seen.storage_url}/files/label.pdf",
            "rate": seen.json["rate"],
        },
    )


def address(seen: Seen) -> Answer:
    sent = seen.json
    valid = sent["street1"] != "1 Nowhere Rd"
    messages = [] if valid else [{"source": "USPS", "code": "Address Not Found", "text": "Address not found"}]
    return Answer(
        201,
        {
            **sent,
            "object_id": "adr_1",
            "street1": sent["street1"].upper(),
            "city": sent["city"].upper(),
            "zip": "98101-1234",
            "validation_results": {"is_valid": valid, "messages": messages},
        },
    )


@pytest.fixture
def stub() -> Iterator[StubApi]:
    api = StubApi()
    api.route("POST", "/shipments", authorized(create_shipment))
    api.route("POST", "/transactions", authorized(transaction))
    api.route(
        "POST", "/refunds", authorized(lambda seen: Answer(201, {"object_id": "rf_1", "status": "QUEUED"}))
    )
    api.route("GET", f"/tracks/usps/{TRACKING}", authorized(lambda seen: Answer(200, TRACK)))
    api.route("POST", "/addresses", authorized(address))
    api.route("GET", "/files/label.pdf", lambda seen: Answer(200, PDF_BYTES, "application/pdf"))
    with serving(api):
        yield api


def shippo_at(stub: StubApi, *, webhook_token: str = "", webhook_hmac_secret: str = "") -> ShippoCarrier:
    return ShippoCarrier(
        api_key=API_KEY,
        webhook_token=webhook_token,
        webhook_hmac_secret=webhook_hmac_secret,
        base_url=stub.url(),
        timeout_s=0.3,
        clock=FixedClock(NOW),
    )


@pytest.fixture
def shippo(stub: StubApi) -> ShippoCarrier:
    return shippo_at(stub, webhook_token="tok_url_secret")


def test_rates_come_from_a_shipment_sent_in_millimetres_and_grams(
    shippo: ShippoCarrier, stub: StubApi
) -> None:
    # given a 1.2 kg box of 300 x 200 x 100 mm
    # when rated
    rates = shippo.rates(RateRequest(BOSTON, SEATTLE, [BOX], date(2026, 3, 2)))
    # then the shipment went with the ShippoToken, synchronously, in Shippo's metric units (no rounding)
    sent = stub.requests("POST", "/shipments")[0]
    assert sent.headers["authorization"] == f"ShippoToken {API_KEY}"
    assert sent.json["async"] is False
    assert sent.json["parcels"] == [
        {
            "length": "300",
            "width": "200",
            "height": "100",
            "distance_unit": "mm",
            "weight": "1200",
            "mass_unit": "g",
        }
    ]
    assert sent.json["address_from"]["street1"] == "1 Main St"
    # and the rates with a transit time came back as Money; the one without is left out
    assert [(r.service, r.amount, r.delivery_days, r.rate_id) for r in rates] == [
        ("usps_priority", Money("7.58", "USD"), 2, "usps|r_usps"),
        ("ups_ground", Money("9.10", "USD"), 5, "ups|r_ups"),
    ]


def test_a_label_is_a_transaction_for_the_rate_downloaded_without_the_token(
    shippo: ShippoCarrier, stub: StubApi
) -> None:
    # given the quoted USPS Priority rate
    rate = shippo.rates(RateRequest(BOSTON, SEATTLE, [BOX], date(2026, 3, 2)))[0]
    # when its label is bought as a 4x6 PDF
    label = shippo.buy_label(LabelRequest(BOSTON, SEATTLE, BOX, "S-1001", rate=rate))
    # then the transaction named the rate, and the label came from storage without the API token
    assert stub.requests("POST", "/transactions")[0].json == {
        "rate": "r_usps",
        "label_file_type": "PDF_4x6",
        "metadata": "S-1001",
        "async": False,
    }
    assert "authorization" not in stub.requests("GET", "/files/label.pdf")[0].headers
    assert (label.tracking_number, label.service, label.amount) == (
        TRACKING,
        "usps_priority",
        Money("7.58", "USD"),
    )
    assert (label.content, label.label_id) == (PDF_BYTES, "usps|tx_1")


def test_a_zpl_label_for_a_service_code_asks_for_zplii(shippo: ShippoCarrier, stub: StubApi) -> None:
    label = shippo.buy_label(
        LabelRequest(BOSTON, SEATTLE, BOX, "S-1002", service="usps_priority", label_format="zpl")
    )
    assert stub.requests("POST", "/transactions")[0].json["label_file_type"] == "ZPLII"
    assert label.label_format == "zpl"


def test_a_transaction_shippo_answers_with_error_is_a_rejection(shippo: ShippoCarrier) -> None:
    with pytest.raises(CarrierRejected) as refused:
        shippo.buy_label(LabelRequest(BOSTON, SEATTLE, BOX, "S-1003", service="ups_ground"))
    assert refused.value.reason_code == "label_failed"
    assert refused.value.detail == "shippo: Parcel too heavy"


def test_an_unknown_service_is_refused_and_nothing_is_bought(shippo: ShippoCarrier, stub: StubApi) -> None:
    with pytest.raises(CarrierRejected) as refused:
        shippo.buy_label(LabelRequest(BOSTON, SEATTLE, BOX, "S-1004", service="fedex_overnight"))
    assert refused.value.reason_code == "unknown_service"
    assert stub.requests("POST", "/transactions") == []


def test_a_label_for_a_parcel_without_weight_is_refused_before_calling(
    shippo: ShippoCarrier, stub: StubApi
) -> None:
    with pytest.raises(CarrierRejected) as refused:
        shippo.buy_label(
            LabelRequest(BOSTON, SEATTLE, Parcel(0, 100, 100, 100), "S-1", service="usps_priority")
        )
    assert refused.value.reason_code == "weight_required"
    assert stub.seen == []


def test_a_400_field_error_becomes_a_rejection_with_shippo_s_message(
    shippo: ShippoCarrier, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = Address("Nobody", "1 Void St", "Nowhere", "NY", "00000", "US")
    with caplog.at_level(logging.DEBUG), pytest.raises(CarrierRejected) as refused:
        shippo.rates(RateRequest(BOSTON, nowhere, [BOX], date(2026, 3, 2)))
    assert refused.value.reason_code == "invalid_request"
    assert refused.value.detail == (
        "shippo: address_to: The address 1 Void St, Nowhere NY 00000 could not be validated."
    )
    assert API_KEY not in str(refused.value) and API_KEY not in caplog.text


def test_a_slow_answer_is_a_timeout(shippo: ShippoCarrier) -> None:
    slow = Address("Ann Lee", "9 Elm St", "Slowtown", "IA", "55555", "US")
    with pytest.raises(CarrierUnavailable, match="did not answer in time"):
        shippo.rates(RateRequest(BOSTON, slow, [BOX], date(2026, 3, 2)))


def test_a_bad_gateway_page_is_unavailable(shippo: ShippoCarrier) -> None:
    broken = Address("Ann Lee", "9 Elm St", "Ames", "IA", "50000", "US")
    with pytest.raises(CarrierUnavailable, match="answered 502"):
        shippo.rates(RateRequest(BOSTON, broken, [BOX], date(2026, 3, 2)))


def test_a_wrong_token_is_a_rejection_that_does_not_repeat_it(stub: StubApi) -> None:
    wrong = ShippoCarrier(api_key="shippo_test_wrong", base_url=stub.url(), timeout_s=0.3)
    with pytest.raises(CarrierRejected) as refused:
        wrong.rates(RateRequest(BOSTON, SEATTLE, [BOX], date(2026, 3, 2)))
    assert (refused.value.reason_code, refused.value.detail) == ("unauthorized", "shippo: Invalid token.")
    assert "shippo_test_wrong" not in repr(wrong)


def test_void_asks_for_a_refund_of_the_transaction(shippo: ShippoCarrier, stub: StubApi) -> None:
    shippo.void_label(tracking_number=TRACKING, label_id="usps|tx_1")
    assert stub.requests("POST", "/refunds")[0].json == {"transaction": "tx_1", "async": False}


def test_void_without_the_label_id_is_refused(shippo: ShippoCarrier, stub: StubApi) -> None:
    with pytest.raises(CarrierRejected) as refused:
        shippo.void_label(tracking_number=TRACKING)
    assert refused.value.reason_code == "label_id_required"
    assert stub.seen == []


def test_tracking_reads_the_history_with_out_for_delivery_from_its_substatus(shippo: ShippoCarrier) -> None:
    events = shippo.track(tracking_number=TRACKING, label_id="usps|tx_1")
    assert [(e.status, e.at, e.event_id) for e in events] == [
        ("pre_transit", datetime(2026, 3, 2, 15, 0, tzinfo=UTC), "ts_1"),
        ("in_transit", datetime(2026, 3, 3, 9, 30, tzinfo=UTC), "ts_2"),
        ("out_for_delivery", datetime(2026, 3, 4, 7, 0, tzinfo=UTC), "ts_3"),
    ]


def _webhook_body() -> bytes:
    return json.dumps({"event": "track_updated", "test": True, "data": TRACK}).encode()


def test_a_webhook_with_the_url_token_is_read(shippo: ShippoCarrier) -> None:
    events = shippo.parse_webhook(headers={}, body=_webhook_body(), query={"token": "tok_url_secret"})
    assert [e.event_id for e in events] == ["ts_1", "ts_2", "ts_3"]


def test_a_webhook_with_a_wrong_or_missing_url_token_is_refused(shippo: ShippoCarrier) -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        shippo.parse_webhook(headers={}, body=_webhook_body(), query={"token": "guess"})
    with pytest.raises(SignatureInvalid, match="does not match"):
        shippo.parse_webhook(headers={}, body=_webhook_body())


def test_an_authenticated_body_that_is_not_a_track_event_is_refused_not_a_crash(
    shippo: ShippoCarrier,
) -> None:
    for body in (b"[1, 2]", b"not json", json.dumps({"event": "track_updated", "data": []}).encode()):
        with pytest.raises(SignatureInvalid, match="not a shippo track_updated event"):
            shippo.parse_webhook(headers={}, body=body, query={"token": "tok_url_secret"})
    other = json.dumps({"event": "transaction_created", "data": {}}).encode()
    assert shippo.parse_webhook(headers={}, body=other, query={"token": "tok_url_secret"}) == []


def test_webhooks_are_refused_when_no_secret_is_configured(stub: StubApi) -> None:
    with pytest.raises(SignatureInvalid, match="no webhook token or HMAC secret"):
        shippo_at(stub).parse_webhook(headers={}, body=_webhook_body(), query={"token": ""})


def test_a_webhook_with_a_valid_hmac_signature_is_read(stub: StubApi) -> None:
    shippo = shippo_at(stub, webhook_hmac_secret="hmac_secret")
    body = _webhook_body()
    header = sign("hmac_secret", body, int(NOW.timestamp()) - 60)
    events = shippo.parse_webhook(headers={"Shippo-Auth-Signature": header}, body=body)
    assert [e.status for e in events] == ["pre_transit", "in_transit", "out_for_delivery"]


def test_a_webhook_with_a_forged_or_stale_hmac_signature_is_refused(stub: StubApi) -> None:
    shippo = shippo_at(stub, webhook_hmac_secret="hmac_secret")
    body = _webhook_body()
    forged = sign("guess", body, int(NOW.timestamp()))
    stale = sign("hmac_secret", body, int((NOW - timedelta(minutes=6)).timestamp()))
    with pytest.raises(SignatureInvalid, match="no signature matches"):
        shippo.parse_webhook(headers={"Shippo-Auth-Signature": forged}, body=body)
    with pytest.raises(SignatureInvalid, match="outside the tolerance"):
        shippo.parse_webhook(headers={"Shippo-Auth-Signature": stale}, body=body)


def test_address_validation_returns_shippo_s_cleaned_address(shippo: ShippoCarrier, stub: StubApi) -> None:
    check = shippo.validate_address(SEATTLE)
    assert stub.requests("POST", "/addresses")[0].json["validate"] is True
    assert check.valid is True
    assert check.corrected == Address("Ann Lee", "9 ELM ST", "SEATTLE", "WA", "98101-1234", "US")


def test_an_address_shippo_cannot_find_is_invalid(shippo: ShippoCarrier) -> None:
    check = shippo.validate_address(Address("Ann Lee", "1 Nowhere Rd", "Seattle", "WA", "98101", "US"))
    assert (check.valid, check.corrected, check.messages) == (False, None, ["Address not found"])


def test_manifests_are_not_supported_through_shippo(shippo: ShippoCarrier, stub: StubApi) -> None:
    with pytest.raises(CarrierRejected) as refused:
        shippo.manifest(tracking_numbers=[TRACKING], ship_on=date(2026, 3, 2), label_ids=["usps|tx_1"])
    assert refused.value.reason_code == "manifest_not_supported"
    assert stub.seen == []
