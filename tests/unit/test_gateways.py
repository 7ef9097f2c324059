"""The gateway adapters: the sandbox processor (in-process and over loopback HTTP with injected faults), and the
Stripe and Authorize.Net adapters against transport stubs that answer as their documented APIs do."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from ordersmith.kernel.money import Money
from ordersmith.payments.gateways import (
    CardSource,
    GatewayRejected,
    GatewayUnavailable,
    RevealedCard,
    SignatureInvalid,
)
from ordersmith.payments.gateways.authorizenet import AuthorizeNetGateway
from ordersmith.payments.gateways.sandbox import SandboxGateway, SandboxProcessor
from ordersmith.payments.gateways.sandbox_http import HttpSandboxGateway, SandboxServer
from ordersmith.payments.gateways.stripe_gateway import StripeGateway

CARDS = {
    "vtok_visa": "4242424242424242",
    "vtok_declined": "4000000000000002",
    "vtok_nsf": "4000000000009995",
    "vtok_slow": "4000000000000556",
}


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def reveal(token: str, purpose: str) -> RevealedCard:
    return RevealedCard(CARDS[token], 12, 2031, "123")


@pytest.fixture
def processor(tmp_path: Path) -> SandboxProcessor:
    return SandboxProcessor(tmp_path / "sandbox.db", webhook_secret="whsec_test")


# --- the sandbox processor ----------------------------------------------------------------------------------------


def test_the_sandbox_answers_by_test_card_and_never_keeps_the_number(processor: SandboxProcessor) -> None:
    gateway = SandboxGateway(processor, reveal)
    approved = gateway.authorize(source=CardSource("vtok_visa"), amount=usd("10.00"), idempotency_key="a1")
    declined = gateway.authorize(source=CardSource("vtok_nsf"), amount=usd("10.00"), idempotency_key="a2")
    assert (approved.approved, approved.brand, approved.last_four) == (True, "visa", "4242")
    assert (declined.approved, declined.reason_code) == (False, "insufficient_funds")
    hosted = gateway.authorize(
        source=CardSource("pm_card_chargeDeclined"), amount=usd("1.00"), idempotency_key="a3"
    )
    assert (hosted.approved, hosted.reason_code) == (False, "card_declined")
    raw = Path(processor.path).read_bytes()
    assert b"4242424242424242" not in raw and b"4000000000009995" not in raw


def test_the_sandbox_captures_in_parts_never_beyond_the_authorization_and_dedupes_by_key(
    processor: SandboxProcessor,
) -> None:
    gateway = SandboxGateway(processor, reveal)
    auth = gateway.authorize(source=CardSource("vtok_visa"), amount=usd("50.00"), idempotency_key="a1")
    gateway.capture(reference=auth.reference, amount=usd("20.00"), idempotency_key="c1")
    gateway.capture(
        reference=auth.reference, amount=usd("20.00"), idempotency_key="c1"
    )  # the same key: replayed
    gateway.capture(reference=auth.reference, amount=usd("30.00"), idempotency_key="c2")
    with pytest.raises(GatewayRejected) as over:
        gateway.capture(reference=auth.reference, amount=usd("0.01"), idempotency_key="c3")
    assert over.value.reason_code == "amount_too_large"
    assert [op["amount"] for op in processor.operations(auth.reference, "capture")] == [2000, 3000]
    gateway.refund(reference=auth.reference, amount=usd("50.00"), idempotency_key="r1")
    with pytest.raises(GatewayRejected):
        gateway.refund(reference=auth.reference, amount=usd("0.01"), idempotency_key="r2")


def test_an_authorization_expires_after_seven_days(processor: SandboxProcessor) -> None:
    gateway = SandboxGateway(processor, reveal)
    auth = gateway.authorize(source=CardSource("vtok_visa"), amount=usd("5.00"), idempotency_key="a1")
    processor.clock_offset_s = 7 * 24 * 3600 + 1
    with pytest.raises(GatewayRejected) as expired:
        gateway.capture(reference=auth.reference, amount=usd("5.00"), idempotency_key="c1")
    assert expired.value.reason_code == "authorization_expired"


def test_a_slow_cards_answer_is_lost_for_a_minute_then_the_same_key_learns_the_one_charge(
    processor: SandboxProcessor,
) -> None:
    gateway = SandboxGateway(processor, reveal)
    for _ in range(2):
        with pytest.raises(GatewayUnavailable):
            gateway.authorize(source=CardSource("vtok_slow"), amount=usd("5.00"), idempotency_key="a1")
    processor.clock_offset_s = 61
    learned = gateway.authorize(source=CardSource("vtok_slow"), amount=usd("5.00"), idempotency_key="a1")
    assert learned.approved and processor.charge(learned.reference) is not None
    import sqlite3

    with sqlite3.connect(processor.path) as conn:
        assert conn.execute("SELECT count(*) FROM charges").fetchone()[0] == 1


def test_sandbox_webhooks_verify_their_signature_and_timestamp(processor: SandboxProcessor) -> None:
    gateway = SandboxGateway(processor, reveal)
    payload = {
        "id": "evt_1",
        "type": "charge.captured",
        "data": {"reference": "ch_1", "amount_minor": 100, "currency": "USD"},
    }
    headers, body = processor.signed_webhook(payload)
    event = gateway.parse_webhook(headers=headers, body=body)
    assert (event.kind, event.reference, event.amount) == ("captured", "ch_1", usd("1.00"))
    with pytest.raises(SignatureInvalid):
        gateway.parse_webhook(headers=headers, body=body + b" ")
    stale_headers, stale_body = processor.signed_webhook(payload, at=time.time() - 3600)
    with pytest.raises(SignatureInvalid):
        gateway.parse_webhook(headers=stale_headers, body=stale_body)
    with pytest.raises(SignatureInvalid):
        gateway.parse_webhook(headers={}, body=body)


# --- the sandbox over loopback HTTP, with faults ------------------------------------------------------------------


@pytest.fixture
def server(processor: SandboxProcessor) -> Iterator[SandboxServer]:
    running = SandboxServer(processor).start()
    yield running
    running.stop()


def arm(server: SandboxServer, operation: str, fault: str, delay_s: float = 0) -> None:
    httpx.post(
        f"{server.url}/_sandbox/faults", json={"operation": operation, "fault": fault, "delay_s": delay_s}
    )


def test_a_response_lost_after_capture_is_retried_with_the_same_key_and_captures_once(
    server: SandboxServer, processor: SandboxProcessor
) -> None:
    gateway = HttpSandboxGateway(server.url, reveal, timeout_s=2)
    auth = gateway.authorize(source=CardSource("vtok_visa"), amount=usd("40.00"), idempotency_key="a1")
    # given the network loses the answer after the processor captured
    arm(server, "capture", "lose_response")
    with pytest.raises(GatewayUnavailable):
        gateway.capture(reference=auth.reference, amount=usd("40.00"), idempotency_key="cap-1")
    assert len(processor.operations(auth.reference, "capture")) == 1  # it did capture
    # when the caller repeats with the same key
    again = gateway.capture(reference=auth.reference, amount=usd("40.00"), idempotency_key="cap-1")
    # then the answer is the first capture, and nothing was taken twice
    assert again.approved and len(processor.operations(auth.reference, "capture")) == 1


def test_a_reset_connection_and_a_timeout_are_outcomes_unknown_never_a_decline(
    server: SandboxServer, processor: SandboxProcessor
) -> None:
    gateway = HttpSandboxGateway(server.url, reveal, timeout_s=0.5)
    arm(server, "authorize", "reset")
    with pytest.raises(GatewayUnavailable):
        gateway.authorize(source=CardSource("vtok_visa"), amount=usd("5.00"), idempotency_key="a1")
    arm(server, "authorize", "delay", delay_s=1.5)
    with pytest.raises(GatewayUnavailable):
        gateway.authorize(source=CardSource("vtok_visa"), amount=usd("5.00"), idempotency_key="a2")
    time.sleep(1.5)  # the slow request completes at the processor meanwhile
    replayed = gateway.authorize(source=CardSource("vtok_visa"), amount=usd("5.00"), idempotency_key="a2")
    assert replayed.approved
    import sqlite3

    with sqlite3.connect(processor.path) as conn:
        assert conn.execute("SELECT count(*) FROM charges").fetchone()[0] == 1  # the reset one never arrived
    declined = gateway.authorize(source=CardSource("vtok_declined"), amount=usd("5.00"), idempotency_key="a3")
    assert (declined.approved, declined.reason_code) == (False, "card_declined")
    with pytest.raises(GatewayRejected):
        gateway.void(reference="ch_nope", idempotency_key="v1")


# --- Stripe, against a stub of its documented API -------------------------------------------------------------------


class StripeStub:
    """PaymentIntents as Stripe documents them: form-encoded requests, JSON answers, 402 for card errors, the
    Idempotency-Key header honoured."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, list[str]], dict[str, str]]] = []
        self.seen: dict[str, httpx.Response] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        key = request.headers.get("Idempotency-Key", "")
        self.requests.append((request.method, request.url.path, form, dict(request.headers)))
        if key and key in self.seen:
            return self.seen[key]
        response = self._answer(request.url.path, form)
        if key:
            self.seen[key] = response
        return response

    def _answer(self, path: str, form: dict[str, list[str]]) -> httpx.Response:
        if path == "/v1/payment_intents":
            amount = int(form["amount"][0])
            method = form.get("payment_method", ["pm_from_card_data"])[0]
            number = form.get("payment_method_data[card][number]", [""])[0]
            if method == "pm_card_chargeDeclined" or number == "4000000000000002":
                return httpx.Response(
                    402,
                    json={
                        "error": {
                            "type": "card_error",
                            "code": "card_declined",
                            "decline_code": "generic_decline",
                            "message": "Your card was declined.",
                            "payment_intent": {"id": "pi_declined", "object": "payment_intent"},
                        }
                    },
                )
            return httpx.Response(
                200,
                json={
                    "id": "pi_123",
                    "object": "payment_intent",
                    "amount": amount,
                    "amount_capturable": amount,
                    "amount_received": 0,
                    "currency": "usd",
                    "status": "requires_capture",
                    "latest_charge": "ch_123",
                    "capture_method": form["capture_method"][0],
                },
            )
        if path == "/v1/payment_intents/pi_123/capture":
            return httpx.Response(
                200,
                json={
                    "id": "pi_123",
                    "object": "payment_intent",
                    "amount": 5000,
                    "amount_received": int(form["amount_to_capture"][0]),
                    "currency": "usd",
                    "status": "succeeded",
                    "latest_charge": "ch_123",
                },
            )
        if path == "/v1/payment_intents/pi_123/cancel":
            return httpx.Response(
                200,
                json={
                    "id": "pi_123",
                    "object": "payment_intent",
                    "amount": 5000,
                    "amount_capturable": 0,
                    "currency": "usd",
                    "status": "canceled",
                },
            )
        if path == "/v1/refunds":
            return httpx.Response(
                200,
                json={
                    "id": "re_1",
                    "object": "refund",
                    "amount": int(form["amount"][0]),
                    "payment_intent": form["payment_intent"][0],
                    "status": "succeeded",
                    "currency": "usd",
                },
            )
        if path == "/v1/payment_intents/pi_timeout":
            raise httpx.ReadTimeout("stub: no answer")
        return httpx.Response(
            404,
            json={
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "message": "No such object",
                }
            },
        )


def stripe_gateway(stub: Any) -> StripeGateway:
    return StripeGateway(
        api_key="sk_test_stub",
        webhook_secret="whsec_stub",
        reveal=reveal,
        transport=httpx.MockTransport(stub),
    )


def test_stripe_authorizes_a_hosted_fields_token_with_manual_capture_and_the_idempotency_key() -> None:
    stub = StripeStub()
    gateway = stripe_gateway(stub)
    result = gateway.authorize(
        source=CardSource("pm_card_visa"), amount=usd("50.00"), idempotency_key="auth-1"
    )
    assert (result.approved, result.reference) == (True, "pi_123")
    method, path, form, headers = stub.requests[0]
    assert (method, path) == ("POST", "/v1/payment_intents")
    assert form["amount"] == ["5000"] and form["currency"] == ["usd"] and form["capture_method"] == ["manual"]
    assert form["payment_method"] == ["pm_card_visa"] and form["confirm"] == ["true"]
    assert headers["idempotency-key"] == "auth-1"
    assert headers["authorization"] == "Bearer sk_test_stub"


def test_stripe_sends_a_vault_card_as_card_data_and_reads_a_402_as_a_decline() -> None:
    stub = StripeStub()
    gateway = stripe_gateway(stub)
    declined = gateway.authorize(source=CardSource("vtok_declined"), amount=usd("5.00"), idempotency_key="a2")
    assert (declined.approved, declined.reason_code, declined.reference) == (
        False,
        "generic_decline",
        "pi_declined",
    )
    form = stub.requests[0][2]
    assert form["payment_method_data[card][number]"] == ["4000000000000002"]
    assert form["payment_method_data[card][exp_month]"] == ["12"]


def test_stripe_captures_partially_voids_and_refunds() -> None:
    stub = StripeStub()
    gateway = stripe_gateway(stub)
    captured = gateway.capture(reference="pi_123", amount=usd("20.00"), idempotency_key="c1")
    assert captured.approved and stub.requests[-1][2]["amount_to_capture"] == ["2000"]
    assert stub.requests[-1][2]["final_capture"] == ["false"]
    assert gateway.void(reference="pi_123", idempotency_key="v1").approved
    refund = gateway.refund(reference="pi_123", amount=usd("5.00"), idempotency_key="r1")
    assert (refund.approved, refund.transaction) == (True, "re_1")
    with pytest.raises(GatewayRejected) as missing:
        gateway.capture(reference="pi_nope", amount=usd("1.00"), idempotency_key="c2")
    assert missing.value.reason_code == "resource_missing"


def test_stripe_without_an_answer_is_an_unknown_outcome() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("stub: no answer")

    with pytest.raises(GatewayUnavailable):
        stripe_gateway(timeout).capture(reference="pi_123", amount=usd("1.00"), idempotency_key="c1")


def stripe_signature(body: bytes, secret: str, at: int) -> str:
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def test_stripe_webhooks_are_verified_with_the_stripe_signature_scheme() -> None:
    gateway = stripe_gateway(StripeStub())
    body = json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": 1,
            "data": {
                "object": {
                    "id": "pi_123",
                    "object": "payment_intent",
                    "amount_received": 5000,
                    "currency": "usd",
                }
            },
        }
    ).encode()
    now = int(time.time())
    event = gateway.parse_webhook(
        headers={"Stripe-Signature": stripe_signature(body, "whsec_stub", now)}, body=body
    )
    assert (event.kind, event.reference, event.amount) == ("captured", "pi_123", usd("50.00"))
    with pytest.raises(SignatureInvalid):
        gateway.parse_webhook(
            headers={"Stripe-Signature": stripe_signature(body, "whsec_other", now)}, body=body
        )
    with pytest.raises(SignatureInvalid):
        gateway.parse_webhook(
            headers={"Stripe-Signature": stripe_signature(body, "whsec_stub", now - 3600)}, body=body
        )


# --- Authorize.Net, against a stub of its documented JSON API -------------------------------------------------------


class AnetStub:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)["createTransactionRequest"]
        self.requests.append(body)
        transaction = body["transactionRequest"]
        kind = transaction["transactionType"]
        card = transaction.get("payment", {}).get("creditCard", {}).get("cardNumber", "")
        if kind == "authOnlyTransaction" and card == "4000000000000002":
            answer = {
                "transactionResponse": {
                    "responseCode": "2",
                    "transId": "0",
                    "accountNumber": "XXXX0002",
                    "errors": [{"errorCode": "2", "errorText": "This transaction has been declined."}],
                },
                "refId": body["refId"],
                "messages": {
                    "resultCode": "Error",
                    "message": [{"code": "E00027", "text": "The transaction was unsuccessful."}],
                },
            }
        else:
            answer = {
                "transactionResponse": {
                    "responseCode": "1",
                    "authCode": "ABC123",
                    "avsResultCode": "Y",
                    "cvvResultCode": "P",
                    "transId": "60000000001",
                    "refTransID": transaction.get("refTransId", ""),
                    "accountNumber": "XXXX4242",
                    "accountType": "Visa",
                    "messages": [{"code": "1", "description": "This transaction has been approved."}],
                },
                "refId": body["refId"],
                "messages": {"resultCode": "Ok", "message": [{"code": "I00001", "text": "Successful."}]},
            }
        return httpx.Response(
            200, content=b"\xef\xbb\xbf" + json.dumps(answer).encode()
        )  # a BOM, as it sends


def anet(stub: AnetStub) -> AuthorizeNetGateway:
    return AuthorizeNetGateway(
        login_id="login",
        transaction_key="tkey",
        signature_key="ABCDEF0123",
        reveal=reveal,
        transport=httpx.MockTransport(stub),
    )


def test_authorize_net_authorizes_captures_refunds_and_voids_by_transaction_id() -> None:
    stub = AnetStub()
    gateway = anet(stub)
    auth = gateway.authorize(source=CardSource("vtok_visa"), amount=usd("50.00"), idempotency_key="auth-1")
    assert (auth.approved, auth.reference, auth.last_four, auth.avs) == (True, "60000000001", "4242", "Y")
    first = stub.requests[0]
    assert first["merchantAuthentication"] == {"name": "login", "transactionKey": "tkey"}
    assert first["transactionRequest"]["transactionType"] == "authOnlyTransaction"
    assert first["transactionRequest"]["amount"] == "50.00"
    assert first["transactionRequest"]["payment"]["creditCard"]["expirationDate"] == "2031-12"
    gateway.capture(reference=auth.reference, amount=usd("20.00"), idempotency_key="c1")
    assert stub.requests[-1]["transactionRequest"] == {
        **stub.requests[-1]["transactionRequest"],
        "transactionType": "priorAuthCaptureTransaction",
        "refTransId": "60000000001",
        "amount": "20.00",
    }
    gateway.refund(reference=auth.reference, amount=usd("5.00"), idempotency_key="r1", last_four="4242")
    assert stub.requests[-1]["transactionRequest"]["payment"]["creditCard"]["cardNumber"] == "4242"
    gateway.void(reference=auth.reference, idempotency_key="v1")
    assert stub.requests[-1]["transactionRequest"]["transactionType"] == "voidTransaction"
    hosted = gateway.authorize(
        source=CardSource("eyJhY2NlcHQiOiJub25jZSJ9"), amount=usd("1.00"), idempotency_key="a2"
    )
    assert hosted.approved
    assert stub.requests[-1]["transactionRequest"]["payment"] == {
        "opaqueData": {
            "dataDescriptor": "COMMON.ACCEPT.INAPP.PAYMENT",
            "dataValue": "eyJhY2NlcHQiOiJub25jZSJ9",
        }
    }


def test_authorize_net_reads_a_decline_and_verifies_webhooks_with_sha512() -> None:
    gateway = anet(AnetStub())
    declined = gateway.authorize(source=CardSource("vtok_declined"), amount=usd("5.00"), idempotency_key="a1")
    assert (declined.approved, declined.reason_code) == (False, "anet_2")
    body = json.dumps(
        {
            "notificationId": "n-1",
            "eventType": "net.authorize.payment.priorAuthCapture.created",
            "eventDate": "2026-11-28T20:00:00Z",
            "webhookId": "w-1",
            "payload": {
                "responseCode": 1,
                "authAmount": 20.0,
                "entityName": "transaction",
                "id": "60000000001",
            },
        }
    ).encode()
    signature = hmac.new(b"ABCDEF0123", body, hashlib.sha512).hexdigest().upper()
    event = gateway.parse_webhook(headers={"X-ANET-Signature": f"sha512={signature}"}, body=body)
    assert (event.kind, event.reference, event.amount) == ("captured", "60000000001", usd("20.00"))
    with pytest.raises(SignatureInvalid):
        gateway.parse_webhook(headers={"X-ANET-Signature": "sha512=" + "0" * 128}, body=body)


def test_a_stripe_dispute_notification_names_the_payment_intent_the_dispute_and_its_fee() -> None:
    # a Dispute object as Stripe documents it: the charge and PaymentIntent it disputes, its reason and status, and
    # the balance transaction that withdrew the amount with Stripe's fee
    gateway = stripe_gateway(StripeStub())
    dispute = {"id": "dp_1", "object": "dispute", "amount": 2200, "currency": "usd", "charge": "ch_9",
               "payment_intent": "pi_123", "reason": "fraudulent", "status": "needs_response",
               "balance_transactions": [{"id": "txn_1", "amount": -2200, "fee": 1500, "net": -3700}]}  # fmt: skip
    body = json.dumps({"id": "evt_2", "object": "event", "type": "charge.dispute.created", "created": 1,
                       "data": {"object": dispute}}).encode()  # fmt: skip
    now = int(time.time())
    event = gateway.parse_webhook(
        headers={"Stripe-Signature": stripe_signature(body, "whsec_stub", now)}, body=body
    )
    assert (event.kind, event.reference, event.amount) == ("disputed", "pi_123", usd("22.00"))
    assert {k: event.details[k] for k in ("dispute", "charge", "reason", "status", "fee_minor")} == {
        "dispute": "dp_1", "charge": "ch_9", "reason": "fraudulent", "status": "needs_response", "fee_minor": "1500",
    }  # fmt: skip
