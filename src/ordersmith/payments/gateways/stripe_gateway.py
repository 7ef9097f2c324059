"""Stripe, through the `stripe` package's PaymentIntents API (manual capture, multicapture where the card allows).

Transport: the package's requests go through `HttpxTransport`, an httpx client with explicit timeouts and no
automatic retries (a retry is the caller's, with the same idempotency key). Tests give it an httpx transport stub
that answers as Stripe's documented API does; nothing calls Stripe live in tests.

A vault token is sent as `payment_method_data[card]` (raw card data: the merchant account must be enabled for it);
a web shop's hosted-fields token (`pm_…`) is sent as `payment_method` and the card never touches Ordersmith.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import stripe

from ordersmith.kernel.money import Money
from ordersmith.payments.gateways.port import (
    CardSource,
    GatewayRejected,
    GatewayResult,
    GatewayUnavailable,
    Reveal,
    SignatureInvalid,
    WebhookEvent,
)
from ordersmith.platform import tls

WEBHOOK_KINDS = {
    "payment_intent.amount_capturable_updated": "authorized",
    "payment_intent.succeeded": "captured",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "voided",
    "charge.refunded": "refunded",
    "charge.dispute.created": "disputed",
    "charge.dispute.closed": "dispute_closed",
}


class HttpxTransport(stripe.HTTPClient):
    """The stripe package's HTTP client seam, over httpx (sync), with an optional transport for tests."""

    name = "ordersmith-httpx"

    def __init__(self, timeout_s: float, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__()
        self._client = httpx.Client(
            verify=tls.client_context(),
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5)),
            transport=transport,
        )

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        try:
            response = self._client.request(
                method.upper(), url, headers=dict(headers or {}), content=post_data
            )
        except httpx.HTTPError as lost:
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                f"Stripe did not answer ({type(lost).__name__})"
            ) from None
        return response.text, response.status_code, dict(response.headers)

    def close(self) -> None:
        self._client.close()


class StripeGateway:
    name = "stripe"

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        reveal: Reveal,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key, http_client=HttpxTransport(timeout_s, transport), max_network_retries=0
        )
        self._webhook_secret = webhook_secret
        self._reveal = reveal

    def _call(self, call: Any) -> Any:
        try:
            answer = call()
            return answer.to_dict() if hasattr(answer, "to_dict") else answer
        except stripe.CardError as declined:
            return declined
        except (stripe.APIConnectionError, stripe.RateLimitError) as lost:
            raise GatewayUnavailable(str(lost.user_message or lost)) from None
        except stripe.APIError as failed:  # Stripe's 5xx: the outcome is not known
            raise GatewayUnavailable(str(failed.user_message or failed)) from None
        except stripe.StripeError as refused:
            raise GatewayRejected(
                str(refused.code or "invalid_request"), str(refused.user_message or refused)
            ) from None

    def authorize(
        self, *, source: CardSource, amount: Money, idempotency_key: str, capture: bool = False
    ) -> GatewayResult:
        params: dict[str, Any] = {
            "amount": amount.minor,
            "currency": amount.currency.lower(),
            "confirm": True,
            "capture_method": "automatic" if capture else "manual",
            "payment_method_types": ["card"],
            "payment_method_options": {"card": {"request_multicapture": "if_available"}},
        }
        if source.in_vault:
            card = self._reveal(source.token, "authorize at stripe")
            params["payment_method_data"] = {
                "type": "card",
                "card": {
                    "number": card.number,
                    "exp_month": card.exp_month,
                    "exp_year": card.exp_year,
                    **({"cvc": card.cvc} if card.cvc else {}),
                },
            }
            del card
        else:
            params["payment_method"] = source.token
        answer = self._call(
            lambda: self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        )
        if isinstance(answer, stripe.CardError):
            error = answer.error
            intent = getattr(error, "payment_intent", None) if error else None
            return GatewayResult(
                approved=False,
                reference=str(intent["id"]) if intent else "",
                amount=amount,
                reason_code=str((error.decline_code if error else None) or answer.code or "declined"),
                message=str(answer.user_message or ""),
            )
        approved = answer["status"] in ("requires_capture", "succeeded", "processing")
        details = (answer.get("payment_method_details") or {}) if hasattr(answer, "get") else {}
        return GatewayResult(
            approved=approved,
            reference=str(answer["id"]),
            amount=amount,
            transaction=str(answer.get("latest_charge") or answer["id"]),
            reason_code="" if approved else str(answer["status"]),
            brand=str((details.get("card") or {}).get("brand", "")),
        )

    def capture(self, *, reference: str, amount: Money, idempotency_key: str) -> GatewayResult:
        answer = self._call(
            lambda: self._client.v1.payment_intents.capture(
                reference,
                params={"amount_to_capture": amount.minor, "final_capture": False},
                options={"idempotency_key": idempotency_key},
            )
        )
        if isinstance(answer, stripe.CardError):
            return GatewayResult(
                approved=False, reference=reference, amount=amount, reason_code=str(answer.code or "declined")
            )
        return GatewayResult(
            approved=True,
            reference=reference,
            amount=amount,
            transaction=str(answer.get("latest_charge") or reference),
        )

    def void(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        answer = self._call(
            lambda: self._client.v1.payment_intents.cancel(
                reference,
                params={"cancellation_reason": "requested_by_customer"},
                options={"idempotency_key": idempotency_key},
            )
        )
        amount = Money.from_minor(
            int(answer["amount_capturable"] or answer["amount"]), str(answer["currency"]).upper()
        )
        return GatewayResult(
            approved=answer["status"] == "canceled", reference=reference, amount=amount, transaction=reference
        )

    def refund(
        self, *, reference: str, amount: Money, idempotency_key: str, last_four: str = ""
    ) -> GatewayResult:
        answer = self._call(
            lambda: self._client.v1.refunds.create(
                params={"payment_intent": reference, "amount": amount.minor},
                options={"idempotency_key": idempotency_key},
            )
        )
        approved = answer["status"] in ("succeeded", "pending")
        return GatewayResult(
            approved=approved,
            reference=reference,
            amount=amount,
            transaction=str(answer["id"]),
            reason_code="" if approved else str(answer.get("failure_reason") or answer["status"]),
        )

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        if not self._webhook_secret:
            raise SignatureInvalid("no Stripe webhook secret is configured")
        try:
            event = stripe.Webhook.construct_event(
                body, lowered.get("stripe-signature", ""), self._webhook_secret, tolerance=300
            )
        except (stripe.SignatureVerificationError, ValueError) as forged:
            raise SignatureInvalid(str(forged)) from None
        event = event.to_dict()
        data = event["data"]["object"]
        reference = str(data.get("payment_intent") or data["id"])
        minor = data.get("amount_received") or data.get("amount_refunded") or data.get("amount")
        amount = Money.from_minor(int(minor), str(data["currency"]).upper()) if minor is not None else None
        return WebhookEvent(
            gateway=self.name,
            event_id=str(event["id"]),
            raw_type=str(event["type"]),
            kind=WEBHOOK_KINDS.get(str(event["type"]), "other"),
            reference=reference,
            amount=amount,
            details={"created": str(event.get("created", ""))} | _dispute_details(data),
        )


def _dispute_details(data: Mapping[str, Any]) -> dict[str, str]:
    """What a Dispute object says (`charge.dispute.*`): its id, the charge, reason, status and the fee its balance
    transactions took (Stripe's dispute fee, in minor units), for payments to pass on."""
    if str(data.get("object", "")) != "dispute":
        return {}
    fees = sum(
        int(t.get("fee") or 0) for t in data.get("balance_transactions") or [] if isinstance(t, Mapping)
    )
    return {
        "dispute": str(data["id"]),
        "charge": str(data.get("charge") or ""),
        "reason": str(data.get("reason") or ""),
        "status": str(data.get("status") or ""),
        "fee_minor": str(max(fees, 0)),
    }
