"""Shippo, over its REST API with httpx — the documented JSON formats, not the vendor SDK.

Requests carry `Authorization: ShippoToken <key>`. Rates come from `POST /shipments` (`address_from`,
`address_to`, `parcels`, `async: false`); parcels go in Shippo's own metric units (`distance_unit: "mm"`,
`mass_unit: "g"`), so no conversion rounds them. A label is `POST /transactions` with the rate's `object_id` and
`label_file_type` `PDF_4x6` or `ZPLII`; its `label_url` is downloaded through the same client. Void is `POST
/refunds` with the transaction; tracking is `GET /tracks/{carrier}/{tracking_number}`; addresses are checked
with `POST /addresses` and `validate: true`.

Ids this adapter hands out: `Rate.service` is the service level token (e.g. `usps_priority`); `Rate.rate_id`
and `Label.label_id` are `<carrier token>|<Shippo object id>` (the carrier token, e.g. `usps`, is what
`/tracks` needs). Void and track need the `label_id`.

Webhooks (`track_updated`): Shippo's documented protections are an IP allowlist, a self-generated token in the
webhook URL's query (`?token=…`), and HMAC that Shippo provisions per account on request (header
`Shippo-Auth-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`). This adapter requires whichever
secrets are configured — the URL token (`query["token"]`, compared in constant time) and/or the HMAC, with a
5-minute tolerance — and refuses every webhook when neither is configured.

Not covered: manifests (Shippo's need a carrier account and an origin address object of their own).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import httpx

from ordersmith.fulfillment.carriers import signing
from ordersmith.fulfillment.carriers.addresses import street_check, street_form
from ordersmith.fulfillment.carriers.base import (
    Address,
    AddressCheck,
    CarrierRejected,
    CarrierUnavailable,
    Label,
    LabelRequest,
    Manifest,
    Parcel,
    Rate,
    RateRequest,
    Service,
    SignatureInvalid,
    TrackingEvent,
    TrackingStatus,
)
from ordersmith.fulfillment.carriers.http import JsonApi, moment, money_of, segment, webhook_events
from ordersmith.kernel.clock import Clock, system_clock

log = logging.getLogger(__name__)

SHIPPO_API = "https://api.goshippo.com"
SIGNATURE_HEADER = "Shippo-Auth-Signature"
LABEL_FILE_TYPES = {"pdf": "PDF_4x6", "zpl": "ZPLII"}
STATUSES: dict[str, TrackingStatus] = {
    "PRE_TRANSIT": "pre_transit",
    "TRANSIT": "in_transit",
    "DELIVERED": "delivered",
    "RETURNED": "returned",
    "FAILURE": "exception",
}


def read_error(status: int, body: Any) -> tuple[str, str]:
    """Shippo's 4xx bodies: `{"detail": "…"}`, or field names mapped to lists of messages."""
    reason = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(
        status, "invalid_request"
    )
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return reason, str(body["detail"])
    if isinstance(body, dict) and body:
        parts = []
        for field, problems in body.items():
            texts = problems if isinstance(problems, list) else [problems]
            parts.append(f"{field}: {'; '.join(str(t) for t in texts)}")
        return reason, ", ".join(parts)
    return reason, f"answered {status}"


def carrier_token(provider: str) -> str:
    """Shippo's carrier token from a rate's provider name (`USPS` -> `usps`, `DHL Express` -> `dhl_express`)."""
    return provider.strip().lower().replace(" ", "_")


def _parcel(parcel: Parcel) -> dict[str, str]:
    return {
        "length": str(parcel.length_mm),
        "width": str(parcel.width_mm),
        "height": str(parcel.height_mm),
        "distance_unit": "mm",
        "weight": str(parcel.weight_g),
        "mass_unit": "g",
    }


def _split(opaque: str, what: str) -> tuple[str, str]:
    token, _, object_id = opaque.partition("|")
    if not token or not object_id:
        raise CarrierRejected(f"{what}_required", f"shippo needs the {what} this adapter gave (carrier|id)")
    return token, object_id


def _messages(answer: Mapping[str, Any]) -> str:
    return "; ".join(
        str(m.get("text", m)) if isinstance(m, dict) else str(m) for m in answer.get("messages") or []
    )


class ShippoCarrier:
    name = "shippo"

    def __init__(
        self,
        *,
        api_key: str,
        webhook_token: str = "",
        webhook_hmac_secret: str = "",
        base_url: str = SHIPPO_API,
        timeout_s: float = 10.0,
        clock: Clock = system_clock,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._api = JsonApi(
            carrier=self.name,
            base_url=base_url,
            auth_headers={"Authorization": f"ShippoToken {api_key}"},
            read_error=read_error,
            timeout_s=timeout_s,
            transport=transport,
        )
        self._webhook_token = webhook_token
        self._webhook_hmac_secret = webhook_hmac_secret
        self._clock = clock

    def __repr__(self) -> str:
        return "ShippoCarrier()"

    def services(self) -> list[Service]:
        """Shippo's services depend on the carrier accounts linked to it; they appear in `rates`."""
        return []

    # --- rates and labels ---------------------------------------------------------------------------------------

    def _shipment(self, ship_from: Address, ship_to: Address, parcels: list[Parcel], ship_on: date) -> Any:
        body = {
            "address_from": street_form(ship_from),
            "address_to": street_form(ship_to),
            "parcels": [_parcel(p) for p in parcels],
            "shipment_date": datetime(ship_on.year, ship_on.month, ship_on.day, 12, tzinfo=UTC).isoformat(),
            "async": False,
        }
        return self._api.call("POST", "/shipments", body=body)

    def _rate(self, raw: Mapping[str, Any]) -> Rate | None:
        days = raw.get("estimated_days")
        if days is None:
            log.info("shippo rate %s has no transit time; left out", raw.get("object_id"))
            return None
        return Rate(
            carrier=self.name,
            service=str(raw["servicelevel"]["token"]),
            amount=money_of(self.name, raw["amount"], raw.get("currency")),
            delivery_days=int(days),
            estimated_delivery_on=None,
            rate_id=f"{carrier_token(str(raw['provider']))}|{raw['object_id']}",
        )

    def rates(self, request: RateRequest) -> list[Rate]:
        if not request.parcels or any(p.weight_g <= 0 for p in request.parcels):
            raise CarrierRejected("weight_required", "every parcel needs a weight above 0 g")
        shipment = self._shipment(request.ship_from, request.ship_to, request.parcels, request.ship_on)
        rates = (self._rate(raw) for raw in shipment.get("rates") or [])
        return [rate for rate in rates if rate is not None]

    def _chosen(self, request: LabelRequest) -> Rate:
        if request.rate is not None and request.rate.carrier == self.name:
            return request.rate
        today = self._clock.now().date()
        quoted = self.rates(RateRequest(request.ship_from, request.ship_to, [request.parcel], today))
        for rate in quoted:
            if rate.service == request.service_code:
                return rate
        raise CarrierRejected("unknown_service", f"shippo offers no {request.service_code!r} for this parcel")

    def buy_label(self, request: LabelRequest) -> Label:
        if request.parcel.weight_g <= 0:
            raise CarrierRejected("weight_required", "a label needs the parcel's weight (above 0 g)")
        rate = self._chosen(request)
        token, rate_object_id = _split(rate.rate_id, "rate_id")
        body = {
            "rate": rate_object_id,
            "label_file_type": LABEL_FILE_TYPES[request.label_format],
            "metadata": request.reference,
            "async": False,
        }
        transaction = self._api.call("POST", "/transactions", body=body)
        status = transaction.get("status")
        if status == "ERROR":
            raise CarrierRejected("label_failed", f"shippo: {_messages(transaction) or 'the label failed'}")
        if status != "SUCCESS" or not transaction.get("label_url"):
            raise CarrierUnavailable(f"shippo's label is not ready (status {status})")
        return Label(
            carrier=self.name,
            service=rate.service,
            tracking_number=str(transaction["tracking_number"]),
            amount=rate.amount,
            label_format=request.label_format,
            content=self._api.download(str(transaction["label_url"])),
            label_id=f"{token}|{transaction['object_id']}",
        )

    def void_label(self, *, tracking_number: str, label_id: str = "") -> None:
        _, transaction_id = _split(label_id, "label_id")
        refund = self._api.call("POST", "/refunds", body={"transaction": transaction_id, "async": False})
        if refund.get("status") == "ERROR":
            raise CarrierRejected("void_rejected", f"shippo refused to refund {tracking_number}")

    # --- tracking -----------------------------------------------------------------------------------------------

    def track(self, *, tracking_number: str, label_id: str = "") -> list[TrackingEvent]:
        token, _ = _split(label_id, "label_id")
        path = f"/tracks/{segment(token, 'carrier')}/{segment(tracking_number, 'tracking_number')}"
        return self._events(self._api.call("GET", path))

    def _events(self, track: Mapping[str, Any]) -> list[TrackingEvent]:
        number = str(track["tracking_number"])
        history = track.get("tracking_history") or [track.get("tracking_status")]
        events = []
        for scan in history:
            if not isinstance(scan, dict) or scan.get("status") not in STATUSES:
                continue  # UNKNOWN: nothing scanned yet
            status = STATUSES[str(scan["status"])]
            substatus = scan.get("substatus") or {}
            if status == "in_transit" and substatus.get("code") == "out_for_delivery":
                status = "out_for_delivery"
            at = moment(scan["status_date"])
            event_id = str(scan.get("object_id") or f"{number}-{scan['status']}-{at.isoformat()}")
            events.append(TrackingEvent(number, status, str(scan.get("status_details") or ""), at, event_id))
        return sorted(events, key=lambda e: e.at)

    def _authenticate(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]) -> None:
        if not self._webhook_token and not self._webhook_hmac_secret:
            raise SignatureInvalid("no webhook token or HMAC secret is configured for shippo")
        if self._webhook_token:
            signing.check_token(self._webhook_token, query.get("token", ""))
        if self._webhook_hmac_secret:
            header = signing.lowered(headers).get(SIGNATURE_HEADER.lower(), "")
            signing.verify(self._webhook_hmac_secret, header, body, now_s=self._clock.now().timestamp())

    def parse_webhook(
        self, *, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> list[TrackingEvent]:
        self._authenticate(headers, body, query or {})
        return webhook_events(body, "a shippo track_updated event", self._track_events)

    def _track_events(self, payload: Any) -> list[TrackingEvent]:
        return self._events(payload["data"]) if payload.get("event") == "track_updated" else []

    # --- addresses and manifests --------------------------------------------------------------------------------

    def validate_address(self, address: Address) -> AddressCheck:
        answer = self._api.call("POST", "/addresses", body={**street_form(address), "validate": True})
        results = answer.get("validation_results") or {}
        messages = [
            str(m.get("text", m)) if isinstance(m, dict) else str(m) for m in results.get("messages") or []
        ]
        return street_check(answer, address, valid=bool(results.get("is_valid")), messages=messages)

    def manifest(
        self, *, tracking_numbers: list[str], ship_on: date, label_ids: list[str] | None = None
    ) -> Manifest:
        raise CarrierRejected(
            "manifest_not_supported", "Shippo manifests need a carrier account and origin address object"
        )
