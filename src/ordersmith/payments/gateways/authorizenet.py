"""Authorize.Net, through its JSON API (`POST …/xml/v1/request.api`, `createTransactionRequest`) over httpx.

Transactions: `authOnlyTransaction` (or `authCaptureTransaction`), `priorAuthCaptureTransaction` (partial capture
of an authorization), `voidTransaction`, `refundTransaction` (needs the card's last four, which the
authorization's answer gave us as `accountNumber`). `transactionResponse.responseCode` is 1 approved, 2 declined,
3 error, 4 held for review; the reason is `errors[0].errorCode`. Answers begin with a byte-order mark.

Authorize.Net has no idempotency header: the key goes out as `refId` (its first 20 characters) and
`duplicateWindow` makes the processor refuse the same transaction again within ten minutes (error 11), which the
adapter reports as `duplicate_transaction` — the first attempt's outcome then comes with its webhook.
Webhooks are signed `X-ANET-Signature: sha512=<HMAC-SHA512 of the body under the signature key>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

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

SANDBOX_URL = "https://apitest.authorize.net/xml/v1/request.api"
PRODUCTION_URL = "https://api.authorize.net/xml/v1/request.api"
ACCEPT_DESCRIPTOR = "COMMON.ACCEPT.INAPP.PAYMENT"
WEBHOOK_KINDS = {
    "net.authorize.payment.authorization.created": "authorized",
    "net.authorize.payment.authcapture.created": "captured",
    "net.authorize.payment.priorAuthCapture.created": "captured",
    "net.authorize.payment.capture.created": "captured",
    "net.authorize.payment.refund.created": "refunded",
    "net.authorize.payment.void.created": "voided",
}


class AuthorizeNetGateway:
    name = "authorizenet"

    def __init__(
        self,
        *,
        login_id: str,
        transaction_key: str,
        signature_key: str,
        reveal: Reveal,
        url: str = SANDBOX_URL,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._auth = {"name": login_id, "transactionKey": transaction_key}
        self._signature_key = signature_key
        self._reveal = reveal
        self._url = url
        self._client = httpx.Client(
            verify=tls.client_context(),
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5)),
            transport=transport,
        )

    def _send(self, transaction: dict[str, Any], key: str, amount: Money) -> GatewayResult:
        transaction["transactionSettings"] = {
            "setting": [{"settingName": "duplicateWindow", "settingValue": "600"}]
        }
        body = {
            "createTransactionRequest": {
                "merchantAuthentication": self._auth,
                "refId": key[:20],
                "transactionRequest": transaction,
            }
        }
        try:
            response = self._client.post(
                self._url, content=json.dumps(body), headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as lost:
            raise GatewayUnavailable(f"Authorize.Net did not answer ({type(lost).__name__})") from None
        if response.status_code != 200:
            raise GatewayUnavailable(f"Authorize.Net answered HTTP {response.status_code}")
        answer = json.loads(response.content.decode("utf-8-sig"))
        result = answer.get("transactionResponse") or {}
        errors = result.get("errors") or []
        code = str(errors[0].get("errorCode", "")) if errors else ""
        response_code = str(result.get("responseCode", ""))
        if response_code == "1":
            reference = str(result.get("refTransID") or result.get("transId"))
            account = str(result.get("accountNumber", ""))
            return GatewayResult(
                approved=True,
                reference=reference,
                amount=amount,
                transaction=str(result.get("transId")),
                avs=str(result.get("avsResultCode", "")),
                cvc=str(result.get("cvvResultCode", "")),
                brand=str(result.get("accountType", "")).lower(),
                last_four=account[-4:],
            )
        if code == "11":
            raise GatewayRejected(
                "duplicate_transaction", "the same transaction was sent within the duplicate window"
            )
        if response_code in ("2", "4"):
            return GatewayResult(
                approved=False,
                reference=str(result.get("transId", "")),
                amount=amount,
                reason_code=f"anet_{code or response_code}",
                message=str(errors[0].get("errorText", "")) if errors else "held for review",
            )
        message = answer.get("messages", {}).get("message", [{}])[0]
        raise GatewayRejected(
            f"anet_{code or message.get('code', 'error')}",
            str((errors[0].get("errorText") if errors else None) or message.get("text", "")),
        )

    @staticmethod
    def _amount(amount: Money) -> str:
        return str(
            amount.amount.quantize(Decimal(1).scaleb(-2)) if amount.currency != "JPY" else amount.amount
        )

    def authorize(
        self, *, source: CardSource, amount: Money, idempotency_key: str, capture: bool = False
    ) -> GatewayResult:
        if source.in_vault:
            card = self._reveal(source.token, "authorize at authorize.net")
            payment: dict[str, Any] = {
                "creditCard": {
                    "cardNumber": card.number,
                    "expirationDate": f"{card.exp_year:04d}-{card.exp_month:02d}",
                    **({"cardCode": card.cvc} if card.cvc else {}),
                }
            }
            del card
        else:
            payment = {"opaqueData": {"dataDescriptor": ACCEPT_DESCRIPTOR, "dataValue": source.token}}
        transaction = {
            "transactionType": "authCaptureTransaction" if capture else "authOnlyTransaction",
            "amount": self._amount(amount),
            "currencyCode": amount.currency,
            "payment": payment,
        }
        return self._send(transaction, idempotency_key, amount)

    def capture(self, *, reference: str, amount: Money, idempotency_key: str) -> GatewayResult:
        result = self._send(
            {
                "transactionType": "priorAuthCaptureTransaction",
                "amount": self._amount(amount),
                "refTransId": reference,
            },
            idempotency_key,
            amount,
        )
        return GatewayResult(**{**result.__dict__, "reference": reference})

    def void(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        result = self._send(
            {"transactionType": "voidTransaction", "refTransId": reference},
            idempotency_key,
            Money.zero("USD"),
        )
        return GatewayResult(**{**result.__dict__, "reference": reference})

    def refund(
        self, *, reference: str, amount: Money, idempotency_key: str, last_four: str = ""
    ) -> GatewayResult:
        last_four = last_four or "XXXX"
        result = self._send(
            {
                "transactionType": "refundTransaction",
                "amount": self._amount(amount),
                "payment": {"creditCard": {"cardNumber": last_four, "expirationDate": "XXXX"}},
                "refTransId": reference,
            },
            idempotency_key,
            amount,
        )
        return GatewayResult(**{**result.__dict__, "reference": reference})

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        given = lowered.get("x-anet-signature", "")
        if not self._signature_key:
            raise SignatureInvalid("no Authorize.Net signature key is configured")
        if not given.lower().startswith("sha512="):
            raise SignatureInvalid("missing X-ANET-Signature")
        expected = hmac.new(self._signature_key.encode(), body, hashlib.sha512).hexdigest()
        if not hmac.compare_digest(expected.upper(), given[7:].strip().upper()):
            raise SignatureInvalid("the signature does not match")
        try:
            event = json.loads(body)
            payload = event["payload"]
            amount = payload.get("authAmount")
            return WebhookEvent(
                gateway=self.name,
                event_id=str(event["notificationId"]),
                raw_type=str(event["eventType"]),
                kind=WEBHOOK_KINDS.get(str(event["eventType"]), "other"),
                reference=str(payload["id"]),
                amount=Money(Decimal(str(amount)), "USD") if amount is not None else None,
            )
        except (ValueError, KeyError, TypeError) as bad:
            raise SignatureInvalid("the signed body is not an Authorize.Net notification") from bad
