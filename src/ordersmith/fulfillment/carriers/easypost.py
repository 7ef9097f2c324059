"""EasyPost, over its REST API (v2) with httpx — the documented JSON formats, not the vendor SDK.

Requests: HTTP Basic auth with the API key as user name. Rates come from `POST /shipments` (one shipment per
parcel: addresses, and the parcel in inches and ounces, rounded up to a tenth); a label is `POST
/shipments/{id}/buy` with `{"rate": {"id": …}}`, then `GET /shipments/{id}/label?file_format=PDF|ZPL` for the
document, downloaded through the same client; void is `POST /shipments/{id}/refund`; tracking reads the
shipment's `Tracker` (`GET /trackers?tracking_code=…`, created with `POST /trackers` when missing); addresses are
checked with `POST /addresses` and `verify`; a manifest is a `ScanForm` (`POST /scan_forms`).

Ids this adapter hands out: `Rate.rate_id` is `<shipment id>|<rate id>` (several parcels: one pair per parcel,
comma-separated); `Label.label_id` is the shipment id; `Rate.service` is `<CARRIER>:<service>`, e.g.
`USPS:Priority`. A rate without a transit time is left out: a delivery promise could not be checked against it.

Webhooks: an `Event` whose body is signed with the webhook secret — header `X-Hmac-Signature:
hmac-sha256-hex=<hex HMAC-SHA256 of the body>` (the secret NFKD-normalized, as EasyPost's libraries do). The
signature covers no timestamp, so staleness cannot be checked from it; a replayed event repeats events whose
`event_id` a consumer already has.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
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
from ordersmith.fulfillment.carriers.units import inches, ounces
from ordersmith.kernel.clock import Clock, system_clock

log = logging.getLogger(__name__)

EASYPOST_API = "https://api.easypost.com/v2"
SIGNATURE_HEADER = "X-Hmac-Signature"
SIGNATURE_PREFIX = "hmac-sha256-hex="

STATUSES: dict[str, TrackingStatus] = {
    "unknown": "pre_transit",
    "pre_transit": "pre_transit",
    "in_transit": "in_transit",
    "available_for_pickup": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "delivered": "delivered",
    "return_to_sender": "returned",
    "failure": "exception",
    "cancelled": "exception",
    "error": "exception",
}


def read_error(status: int, body: Any) -> tuple[str, str]:
    """EasyPost's error body `{"error": {"code", "message", "errors": [{"field", "message"} | str]}}`."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return f"http_{status}", f"answered {status}"
    code = str(error.get("code") or f"http_{status}")
    details = []
    for item in error.get("errors") or []:
        if isinstance(item, dict):
            details.append(f"{item.get('field', '')}: {item.get('message', '')}")
        else:
            details.append(str(item))
    message = str(error.get("message") or code) + (f" ({'; '.join(details)})" if details else "")
    reason = "address_invalid" if code.startswith("ADDRESS.") else code.lower().replace(".", "_")
    return reason, message


def _parcel(parcel: Parcel) -> dict[str, object]:
    return {
        "length": inches(parcel.length_mm),
        "width": inches(parcel.width_mm),
        "height": inches(parcel.height_mm),
        "weight": ounces(parcel.weight_g),
    }


def _day(text: object) -> date | None:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).date() if text else None


class EasyPostCarrier:
    name = "easypost"

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str = "",
        base_url: str = EASYPOST_API,
        timeout_s: float = 10.0,
        clock: Clock = system_clock,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        token = base64.b64encode(f"{api_key}:".encode()).decode()
        self._api = JsonApi(
            carrier=self.name,
            base_url=base_url,
            auth_headers={"Authorization": f"Basic {token}"},
            read_error=read_error,
            timeout_s=timeout_s,
            transport=transport,
        )
        self._webhook_secret = webhook_secret
        self._clock = clock

    def __repr__(self) -> str:
        return "EasyPostCarrier()"

    def services(self) -> list[Service]:
        """EasyPost's services depend on the carrier accounts linked to it; they appear in `rates`."""
        return []

    # --- rates and labels ---------------------------------------------------------------------------------------

    def _shipment(self, ship_from: Address, ship_to: Address, parcel: Parcel, reference: str = "") -> Any:
        body: dict[str, Any] = {
            "shipment": {
                "from_address": street_form(ship_from),
                "to_address": street_form(ship_to),
                "parcel": _parcel(parcel),
            }
        }
        if reference:
            body["shipment"]["reference"] = reference
        return self._api.call("POST", "/shipments", body=body)

    def _rate(self, raw: Mapping[str, Any], shipment_id: str) -> Rate | None:
        days = raw.get("delivery_days") or raw.get("est_delivery_days")
        if days is None:
            log.info(
                "easypost rate %s %s has no transit time; left out", raw.get("carrier"), raw.get("service")
            )
            return None
        return Rate(
            carrier=self.name,
            service=f"{raw['carrier']}:{raw['service']}",
            amount=money_of(self.name, raw["rate"], raw.get("currency")),
            delivery_days=int(days),
            estimated_delivery_on=_day(raw.get("delivery_date")),
            rate_id=f"{shipment_id}|{raw['id']}",
        )

    def _parcel_rates(self, ship_from: Address, ship_to: Address, parcel: Parcel) -> dict[str, Rate]:
        shipment = self._shipment(ship_from, ship_to, parcel)
        rates = (self._rate(raw, str(shipment["id"])) for raw in shipment.get("rates") or [])
        return {rate.service: rate for rate in rates if rate is not None}

    def rates(self, request: RateRequest) -> list[Rate]:
        if not request.parcels or any(p.weight_g <= 0 for p in request.parcels):
            raise CarrierRejected("weight_required", "every parcel needs a weight above 0 g")
        per_parcel = [self._parcel_rates(request.ship_from, request.ship_to, p) for p in request.parcels]
        common = set(per_parcel[0]).intersection(*per_parcel[1:])
        combined = []
        for service in sorted(common):
            quotes = [rates[service] for rates in per_parcel]
            total = quotes[0].amount
            for quote in quotes[1:]:
                total = total + quote.amount
            combined.append(
                Rate(
                    carrier=self.name,
                    service=service,
                    amount=total,
                    delivery_days=max(q.delivery_days for q in quotes),
                    estimated_delivery_on=quotes[0].estimated_delivery_on,
                    rate_id=",".join(q.rate_id for q in quotes),
                )
            )
        return combined

    def _chosen(self, request: LabelRequest) -> tuple[str, str]:
        """The (shipment id, rate id) to buy: the quoted one for a single parcel, else a fresh quote."""
        if (
            request.rate is not None
            and request.rate.rate_id.count("|") == 1
            and "," not in request.rate.rate_id
        ):
            shipment_id, rate_id = request.rate.rate_id.split("|")
            return segment(shipment_id, "rate_id"), rate_id
        shipment = self._shipment(request.ship_from, request.ship_to, request.parcel, request.reference)
        for raw in shipment.get("rates") or []:
            if f"{raw['carrier']}:{raw['service']}" == request.service_code:
                return segment(str(shipment["id"]), "shipment_id"), str(raw["id"])
        raise CarrierRejected(
            "unknown_service", f"easypost offers no {request.service_code!r} for this parcel"
        )

    def buy_label(self, request: LabelRequest) -> Label:
        if request.parcel.weight_g <= 0:
            raise CarrierRejected("weight_required", "a label needs the parcel's weight (above 0 g)")
        shipment_id, rate_id = self._chosen(request)
        bought = self._api.call("POST", f"/shipments/{shipment_id}/buy", body={"rate": {"id": rate_id}})
        selected = bought.get("selected_rate") or {}
        file_format = "PDF" if request.label_format == "pdf" else "ZPL"
        printed = self._api.call(
            "GET", f"/shipments/{shipment_id}/label", params={"file_format": file_format}
        )
        postage = printed.get("postage_label") or {}
        url = postage.get("label_pdf_url" if file_format == "PDF" else "label_zpl_url")
        if not url:
            raise CarrierUnavailable(f"easypost gave no {file_format} label for {shipment_id}")
        return Label(
            carrier=self.name,
            service=f"{selected.get('carrier', '')}:{selected.get('service', '')}",
            tracking_number=str(bought["tracking_code"]),
            amount=money_of(self.name, selected.get("rate"), selected.get("currency")),
            label_format=request.label_format,
            content=self._api.download(str(url)),
            label_id=shipment_id,
        )

    def _tracker(self, tracking_number: str) -> Any:
        found = self._api.call("GET", "/trackers", params={"tracking_code": tracking_number})
        trackers = found.get("trackers") or []
        if trackers:
            return trackers[0]
        return self._api.call("POST", "/trackers", body={"tracker": {"tracking_code": tracking_number}})

    def _shipment_id(self, tracking_number: str, label_id: str) -> str:
        if label_id:
            return segment(label_id, "label_id")
        shipment_id = self._tracker(tracking_number).get("shipment_id")
        if not shipment_id:
            raise CarrierRejected("label_not_found", f"easypost has no shipment for {tracking_number}")
        return segment(str(shipment_id), "label_id")

    def void_label(self, *, tracking_number: str, label_id: str = "") -> None:
        shipment_id = self._shipment_id(tracking_number, label_id)
        refunded = self._api.call("POST", f"/shipments/{shipment_id}/refund")
        status = refunded.get("refund_status")
        if status in ("rejected", "not_applicable"):
            raise CarrierRejected("void_rejected", f"easypost refund of {tracking_number} is {status}")

    # --- tracking -----------------------------------------------------------------------------------------------

    def track(self, *, tracking_number: str, label_id: str = "") -> list[TrackingEvent]:
        return self._events(self._tracker(tracking_number))

    def _events(self, tracker: Mapping[str, Any]) -> list[TrackingEvent]:
        number = str(tracker["tracking_code"])
        events = []
        for detail in tracker.get("tracking_details") or []:
            at = moment(detail["datetime"])
            status = STATUSES.get(str(detail.get("status")), "in_transit")
            message = str(detail.get("message") or detail.get("status_detail") or status)
            fingerprint = f"{number}|{detail.get('status')}|{at.isoformat()}|{message}".encode()
            events.append(
                TrackingEvent(
                    number, status, message, at, "ep_" + hashlib.sha256(fingerprint).hexdigest()[:32]
                )
            )
        return sorted(events, key=lambda e: e.at)

    def parse_webhook(
        self, *, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> list[TrackingEvent]:
        if not self._webhook_secret:
            raise SignatureInvalid("no webhook secret is configured for easypost")
        given = signing.lowered(headers).get(SIGNATURE_HEADER.lower(), "")
        secret = unicodedata.normalize("NFKD", self._webhook_secret).encode()
        expected = SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not given or not hmac.compare_digest(expected.encode(), given.strip().encode()):
            raise SignatureInvalid("the X-Hmac-Signature does not match")
        return webhook_events(body, "an easypost tracker event", self._tracker_events)

    def _tracker_events(self, event: Any) -> list[TrackingEvent]:
        return self._events(event["result"]) if str(event["description"]).startswith("tracker.") else []

    # --- addresses and manifests --------------------------------------------------------------------------------

    def validate_address(self, address: Address) -> AddressCheck:
        answer = self._api.call("POST", "/addresses", body={"address": street_form(address), "verify": True})
        delivery = (answer.get("verifications") or {}).get("delivery") or {}
        messages = [
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in delivery.get("errors") or []
        ]
        return street_check(answer, address, valid=bool(delivery.get("success")), messages=messages)

    def manifest(
        self, *, tracking_numbers: list[str], ship_on: date, label_ids: list[str] | None = None
    ) -> Manifest:
        ids = label_ids or [self._shipment_id(number, "") for number in tracking_numbers]
        form = self._api.call("POST", "/scan_forms", body={"shipments": [{"id": i} for i in ids]})
        if form.get("status") == "failed" or not form.get("form_url"):
            raise CarrierRejected("manifest_failed", f"easypost: {form.get('message') or 'no scan form'}")
        return Manifest(
            carrier=self.name,
            manifest_id=str(form["id"]),
            tracking_numbers=[str(t) for t in form.get("tracking_codes") or tracking_numbers],
            content=self._api.download(str(form["form_url"])),
            created_at=moment(form["created_at"]) if form.get("created_at") else self._clock.now(),
        )
