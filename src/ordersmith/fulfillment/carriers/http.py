"""The JSON-over-HTTPS client the EasyPost and Shippo adapters share: one httpx client with explicit timeouts and
no automatic retries, the one place HTTP failures become port errors, and how both read an answer's times and
amounts and an authenticated webhook's body.

Invariant: the API key never appears in an error or a log line — errors carry the carrier's own message, the
method and the path, never the headers or the full URL with credentials; and a label or form is downloaded
through the same client (same timeouts), with the API key sent only to the API's own host.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from ordersmith.fulfillment.carriers.base import (
    CarrierRejected,
    CarrierUnavailable,
    SignatureInvalid,
    TrackingEvent,
)
from ordersmith.kernel.money import Money, exact_money
from ordersmith.platform import tls

log = logging.getLogger(__name__)

_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,100}")

ErrorReader = Callable[[int, Any], tuple[str, str]]  # (status, parsed body) -> (reason_code, message)


def encode_json(value: object) -> str:
    """JSON text of a request body whose numbers may be Decimals: a Decimal is written as its own digits (a JSON
    number, `Decimal("10.20")` as `10.20`), never through a float, so what the carrier reads is exactly the amount
    or measure computed here.

    Raises:
        TypeError: a value JSON cannot carry (a non-finite Decimal among them).
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"not JSON serializable: {value}")
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{encode_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(encode_json(v) for v in value) + "]"
    if value is None or isinstance(value, (str, int, float)):  # bool is an int
        return json.dumps(value, allow_nan=False)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def moment(text: object) -> datetime:
    """An ISO 8601 time a carrier sent (`Z` or an offset; none: UTC), in UTC."""
    at = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def money_of(carrier: str, amount: object, currency: object) -> Money:
    """An amount a carrier sent as text (USD when it names no currency).

    Raises:
        CarrierUnavailable: it is not money (the answer cannot be trusted).
    """
    try:
        return exact_money(str(amount), str(currency or "USD"))
    except ValueError:
        raise CarrierUnavailable(f"{carrier} sent an amount that is not money: {amount!r}") from None


def webhook_events(body: bytes, what: str, read: Callable[[Any], list[TrackingEvent]]) -> list[TrackingEvent]:
    """The tracking events `read` finds in an authenticated webhook body (parsed JSON); a body that is not
    `what` it claims to be is refused like a forged one.

    Raises:
        SignatureInvalid: not JSON, or not the event's shape.
    """
    try:
        return read(json.loads(body))
    except (ValueError, KeyError, TypeError, AttributeError) as bad:
        raise SignatureInvalid(f"the authenticated body is not {what}") from bad


def segment(value: str, what: str) -> str:
    """An id that goes into a URL path: letters, digits, `_` and `-` only, so no stored or typed value can
    change which resource is asked for.

    Raises:
        CarrierRejected: anything else (`invalid_<what>`).
    """
    if not _SEGMENT.fullmatch(value):
        raise CarrierRejected(f"invalid_{what}", f"{what} {value[:40]!r} is not an id this carrier issues")
    return value


class JsonApi:
    """A carrier's REST API at `base_url`, authenticated by `auth_headers`."""

    def __init__(
        self,
        *,
        carrier: str,
        base_url: str,
        auth_headers: Mapping[str, str],
        read_error: ErrorReader,
        timeout_s: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.carrier = carrier
        self._api_host = urlsplit(base_url).netloc
        self._auth = dict(auth_headers)
        self._read_error = read_error
        self._client = httpx.Client(
            verify=tls.client_context(),
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def call(
        self, method: str, path: str, *, body: object = None, params: Mapping[str, str] | None = None
    ) -> Any:
        """One request; the parsed JSON answer.

        Raises:
            CarrierUnavailable: no answer, a timeout, a 5xx or 429, or an answer that is not JSON.
            CarrierRejected: any other 4xx, with the carrier's reason and message.
        """
        content = None if body is None else encode_json(body).encode()
        headers = {**self._auth, "Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self._client.request(method, path, content=content, params=params, headers=headers)
        except httpx.TimeoutException:
            log.warning("%s %s %s timed out", self.carrier, method, path)
            raise CarrierUnavailable(f"{self.carrier} did not answer in time") from None
        except httpx.HTTPError as lost:
            log.warning("%s %s %s failed: %s", self.carrier, method, path, type(lost).__name__)
            raise CarrierUnavailable(f"{self.carrier} could not be reached ({type(lost).__name__})") from None
        return self._answer(method, path, response)

    def _answer(self, method: str, path: str, response: httpx.Response) -> Any:
        try:
            parsed: Any = response.json() if response.content else {}
        except ValueError:
            parsed = None
        status = response.status_code
        if status >= 500 or status == 429:
            log.warning("%s %s %s answered %s", self.carrier, method, path, status)
            raise CarrierUnavailable(f"{self.carrier} answered {status}")
        if status >= 400:
            reason, message = self._read_error(status, parsed)
            log.info("%s %s %s refused: %s %s", self.carrier, method, path, status, reason)
            raise CarrierRejected(reason, f"{self.carrier}: {message}")
        if parsed is None or status >= 300:
            raise CarrierUnavailable(f"{self.carrier} answered {status} with something that is not JSON")
        return parsed

    def download(self, url: str) -> bytes:
        """A document (label, scan form) the carrier links to. The API key goes only to the API's own host;
        pre-signed storage URLs get no credentials.

        Raises:
            CarrierUnavailable: it could not be fetched.
        """
        same_host = urlsplit(url).netloc == self._api_host
        headers = self._auth if same_host else {}
        try:
            response = self._client.get(url, headers=headers)
        except httpx.HTTPError as lost:
            raise CarrierUnavailable(
                f"{self.carrier}'s document could not be fetched ({type(lost).__name__})"
            ) from None
        if response.status_code != 200 or not response.content:
            raise CarrierUnavailable(f"{self.carrier}'s document answered {response.status_code}")
        return response.content
