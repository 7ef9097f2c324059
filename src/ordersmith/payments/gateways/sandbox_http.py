"""The sandbox processor over loopback HTTP — a separate service, as a real processor is — and the adapter that
calls it. Tests inject faults the network makes: a connection reset before the request is read, a response lost
after the processor acted, a slow answer past the adapter's timeout.

Wire format (JSON): `POST /v1/authorizations {card, amount_minor, currency, capture}`,
`POST /v1/charges/{ref}/capture {amount_minor}`, `POST /v1/charges/{ref}/void`,
`POST /v1/charges/{ref}/refunds {amount_minor}`, `GET /v1/charges/{ref}`; every POST carries `Idempotency-Key`.
Refusals answer 409 `{"error": {"code", "message"}}`. `POST /_sandbox/faults {operation, fault, times, delay_s}`
arms a fault; `POST /_sandbox/clock {advance_s}` moves the processor's clock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from ordersmith.kernel.clock import utcnow
from ordersmith.kernel.money import Money
from ordersmith.payments.gateways.port import (
    CardSource,
    GatewayRejected,
    GatewayResult,
    GatewayUnavailable,
    Reveal,
    WebhookEvent,
)
from ordersmith.payments.gateways.sandbox import SandboxProcessor, _result, read_webhook
from ordersmith.platform import tls


class _Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, list[tuple[str, float]]] = {}

    def arm(self, operation: str, fault: str, times: int, delay_s: float) -> None:
        with self._lock:
            self._armed.setdefault(operation, []).extend([(fault, delay_s)] * times)

    def take(self, operation: str) -> tuple[str, float] | None:
        with self._lock:
            queue = self._armed.get(operation)
            return queue.pop(0) if queue else None


class SandboxServer:
    """The processor behind a loopback HTTP server, in a thread (`start`/`stop`) or as a process
    (`ordersmith sandbox-gateway`)."""

    def __init__(self, processor: SandboxProcessor, host: str = "127.0.0.1", port: int = 0) -> None:
        self.processor = processor
        self.faults = _Faults()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return  # the card number is in the body, never in the path; and tests run quiet

            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                if len(parts) == 3 and parts[:2] == ["v1", "charges"]:
                    charge = server.processor.charge(parts[2])
                    self._send(200 if charge else 404, charge or {"error": {"code": "resource_missing"}})
                else:
                    self._send(404, {"error": {"code": "not_found"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                key = self.headers.get("Idempotency-Key", "")
                parts = self.path.strip("/").split("/")
                if parts[0] == "_sandbox":
                    self._control(parts, body)
                    return
                operation = parts[-1] if parts[:2] == ["v1", "charges"] else parts[-1].rstrip("s")
                fault = server.faults.take(
                    {"authorization": "authorize", "refunds": "refund"}.get(operation, operation)
                )
                if fault and fault[0] == "reset":
                    self._drop()
                    return
                if fault and fault[0] == "delay":
                    time.sleep(fault[1])
                try:
                    answer = self._operate(parts, body, key)
                except GatewayRejected as refused:
                    self._send(409, {"error": {"code": refused.reason_code, "message": str(refused)}})
                    return
                except LookupError:
                    self._send(404, {"error": {"code": "not_found"}})
                    return
                if (fault and fault[0] == "lose_response") or answer.pop("lost", False):
                    self._drop()
                    return
                self._send(200, answer)

            def _operate(self, parts: list[str], body: dict[str, Any], key: str) -> dict[str, Any]:
                p = server.processor
                if parts == ["v1", "authorizations"]:
                    return p.authorize(
                        card=str(body["card"]),
                        amount_minor=int(body["amount_minor"]),
                        currency=str(body["currency"]),
                        idempotency_key=key,
                        capture=bool(body.get("capture")),
                    )
                if len(parts) == 4 and parts[:2] == ["v1", "charges"]:
                    reference, action = parts[2], parts[3]
                    if action == "capture":
                        return p.capture(
                            reference=reference, amount_minor=int(body["amount_minor"]), idempotency_key=key
                        )
                    if action == "void":
                        return p.void(reference=reference, idempotency_key=key)
                    if action == "refunds":
                        return p.refund(
                            reference=reference, amount_minor=int(body["amount_minor"]), idempotency_key=key
                        )
                raise LookupError(self.path)

            def _control(self, parts: list[str], body: dict[str, Any]) -> None:
                if parts == ["_sandbox", "faults"]:
                    server.faults.arm(
                        str(body["operation"]),
                        str(body["fault"]),
                        int(body.get("times", 1)),
                        float(body.get("delay_s", 0)),
                    )
                elif parts == ["_sandbox", "clock"]:
                    server.processor.clock_offset_s += float(body["advance_s"])
                else:
                    self._send(404, {"error": {"code": "not_found"}})
                    return
                self._send(204, None)

            def _send(self, status: int, payload: Any) -> None:
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _drop(self) -> None:
                self.close_connection = True
                self.wfile.flush()
                self.connection.close()

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-gateway", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class HttpSandboxGateway:
    """The sandbox processor over HTTP, with explicit timeouts. A timeout, reset or lost answer raises
    `GatewayUnavailable` (outcome unknown); it is never retried here — the caller repeats with the same key."""

    name = "sandbox"

    def __init__(
        self,
        base_url: str,
        reveal: Reveal,
        *,
        webhook_secret: str = "",
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            verify=tls.client_context(),
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5)),
            transport=transport,
        )
        self._reveal = reveal
        self.webhook_secret = webhook_secret

    def close(self) -> None:
        self._client.close()

    def _post(self, path: str, body: Mapping[str, Any], key: str) -> GatewayResult:
        try:
            response = self._client.post(path, json=dict(body), headers={"Idempotency-Key": key})
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as lost:
            raise GatewayUnavailable(
                f"the sandbox processor did not answer ({type(lost).__name__})"
            ) from None
        if response.status_code == 409:
            error = response.json()["error"]
            raise GatewayRejected(str(error["code"]), str(error.get("message", "")))
        if response.status_code != 200:
            raise GatewayUnavailable(f"the sandbox processor answered {response.status_code}")
        return _result(response.json())

    def authorize(
        self, *, source: CardSource, amount: Money, idempotency_key: str, capture: bool = False
    ) -> GatewayResult:
        card = self._reveal(source.token, "authorize").number if source.in_vault else source.token
        body = {"card": card, "amount_minor": amount.minor, "currency": amount.currency, "capture": capture}
        del card
        return self._post("/v1/authorizations", body, idempotency_key)

    def capture(self, *, reference: str, amount: Money, idempotency_key: str) -> GatewayResult:
        return self._post(f"/v1/charges/{reference}/capture", {"amount_minor": amount.minor}, idempotency_key)

    def void(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        return self._post(f"/v1/charges/{reference}/void", {}, idempotency_key)

    def refund(
        self, *, reference: str, amount: Money, idempotency_key: str, last_four: str = ""
    ) -> GatewayResult:
        return self._post(f"/v1/charges/{reference}/refunds", {"amount_minor": amount.minor}, idempotency_key)

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        return read_webhook(self.name, self.webhook_secret, headers, body, utcnow().timestamp())
