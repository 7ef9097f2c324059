"""One HTTP call to a channel's REST API, its answer sorted the way every sync needs: a network error or a 5xx is
worth retrying, a 429 is a wait (`Retry-After`, else the caller's estimate), any other 4xx is the channel refusing
what was sent (permanent). Invariant: nothing here touches the database."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from ordersmith.channels.connectors.base import CallFailed, CallReport, RateLimited

MAX_WAIT_S = 3600.0


def exact_json(value: Any) -> bytes:
    """`value` as compact JSON in which a Decimal is written as its own literal (`Decimal("19.99")` -> `19.99`,
    `Decimal("21.50")` -> `21.50`), never through a float. A float is refused: money is never one, and an API that
    documents a number for an amount gets exactly the amount."""
    return _encode(value).encode()


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("a float has no place in a channel's payload: use Decimal")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value)


class TokenCache:
    """Access tokens by key (a hash of token URL, client and refresh token), each until a minute before it
    expires; per process, shared by its threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        with self._lock:
            held = self._held.get(key)
            return held[0] if held and held[1] > time.monotonic() else None

    def put(self, key: str, token: str, expires_in_s: float) -> None:
        with self._lock:
            self._held[key] = (token, time.monotonic() + max(0.0, expires_in_s - 60))

    def drop(self, key: str) -> None:
        with self._lock:
            self._held.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._held.clear()


def retry_after_s(value: str | None, default: float) -> float:
    """A `Retry-After` in seconds (the HTTP-date form is not used by these channels), bounded."""
    try:
        return max(0.0, min(float(value), MAX_WAIT_S)) if value else default
    except ValueError:
        return default


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    channel: str,
    report: CallReport,
    wait_s: float = 2.0,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request; answer the response when it is a 2xx, else raise what its status means."""
    report.calls += 1
    try:
        response = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise CallFailed(f"{channel} did not answer: {type(exc).__name__}") from exc
    if response.status_code == 429:
        raise RateLimited(
            f"{channel} answered 429",
            retry_after_s=retry_after_s(response.headers.get("Retry-After"), wait_s),
        )
    if response.status_code >= 500:
        raise CallFailed(f"{channel} answered {response.status_code}", status=response.status_code)
    if response.status_code >= 400:
        raise CallFailed(
            f"{channel} refused {method} {url.split('?')[0]} ({response.status_code}): {response.text[:300]}",
            permanent=True,
            status=response.status_code,
        )
    return response


def json_body(response: httpx.Response, channel: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise CallFailed(f"{channel} answered something that is not JSON") from None
