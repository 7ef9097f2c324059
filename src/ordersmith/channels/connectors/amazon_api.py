"""Calls to one seller's Selling Partner API, shared by the Amazon connector (`amazon`) and its feeds
(`amazon_feeds`): the Login with Amazon token, kept in this process until shortly before it expires and refreshed
once when refused; a Restricted Data Token where buyer data is read; `x-amzn-RateLimit-Limit` kept for the health
read; a 429 waited out in the call when the wait is short (one request's worth at that rate), else raised as
`RateLimited` for the job to come back later; an operation called in a loop (`patchListingsItem`, one SKU a call)
paced beforehand at its documented rate (`PACER`), so a push of forty listings waits its turn instead of drawing
a 429 on every call past the burst. Invariant: nothing here touches the database."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from ordersmith.channels.connectors.base import Access, CallFailed, CallReport, RateLimited
from ordersmith.channels.connectors.http import TokenCache, exact_json, retry_after_s
from ordersmith.platform import tls

TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105 - an endpoint, not a secret
ORDERS = "/orders/v0/orders"
RDT = "/tokens/2021-03-01/restrictedDataToken"
RATE_HEADER = "x-amzn-RateLimit-Limit"
INLINE_WAIT_S = 2.0  # a 429 asking for no longer than this is waited out in the call
INLINE_TRIES = 3

TOKENS = TokenCache()


class Pacer:
    """Token buckets per seller and operation, shared by this process's threads: `take` reserves the next slot at
    the operation's rate and answers how long to wait for it (0 when a token is there). The rate starts at the
    documented default and follows `x-amzn-RateLimit-Limit` when Amazon states one; a 429 empties the bucket (the
    account's limit is shared with other applications and processes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], list[float]] = {}  # rate, burst, level, at
        self.now: Callable[[], float] = time.monotonic
        self.sleep: Callable[[float], None] = time.sleep

    def take(self, key: str, operation: str, rate: float, burst: float) -> float:
        with self._lock:  # the clock read under the lock: a thread never refills from a moment another passed
            now = self.now()
            bucket = self._buckets.setdefault((key, operation), [rate, burst, burst, now])
            rate, burst = bucket[0], bucket[1]
            level = min(burst, bucket[2] + (now - bucket[3]) * rate) - 1
            bucket[2], bucket[3] = level, now
            return 0.0 if level >= 0 else -level / rate

    def give_back(self, key: str, operation: str) -> None:
        """A reserved slot not used (the wait was too long to take in the call)."""
        with self._lock:
            bucket = self._buckets.get((key, operation))
            if bucket:
                bucket[2] += 1

    def learn(self, key: str, operation: str, rate: float | None, *, throttled: bool = False) -> None:
        with self._lock:
            bucket = self._buckets.get((key, operation))
            if bucket is None:
                return
            if rate:
                bucket[0] = rate
            if throttled:
                bucket[2], bucket[3] = min(bucket[2], 0.0), self.now()

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


PACER = Pacer()
# Documented default usage plans (rate a second, burst) of the operations called once per listing in a loop.
PACED = {"patchListingsItem": (5.0, 5.0)}


def required(access: Access, name: str) -> str:
    value = str(access.config.get(name) or "")
    if not value:
        raise CallFailed(f"the connector has no {name}", permanent=True)
    return value


def amazon_time(iso: str) -> str:
    """ISO 8601 in UTC with a Z, as the SP-API takes it."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Session:
    """Calls to one seller's SP-API as that seller: the LWA token (refreshed once when refused), a Restricted
    Data Token where buyer data is read, short 429s waited out at the rate Amazon states."""

    def __init__(self, access: Access, report: CallReport) -> None:
        self.access = access
        self.report = report
        endpoint = required(access, "endpoint").rstrip("/")
        self.client = httpx.Client(
            verify=tls.client_context(),
            base_url=endpoint,
            headers={"Accept": "application/json", "User-Agent": "Ordersmith/1.0 (Language=Python)"},
            timeout=access.timeout_s,
            transport=access.transport,
        )
        credentials = access.credentials
        self.key = hashlib.sha256(
            "\0".join(
                (
                    str(access.config.get("token_url") or TOKEN_URL),
                    credentials.get("client_id", ""),
                    credentials.get("refresh_token", ""),
                )
            ).encode()
        ).hexdigest()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    # --- tokens ---------------------------------------------------------------------------------------------

    def access_token(self) -> str:
        held = TOKENS.get(self.key)
        if held:
            return held
        credentials = self.access.credentials
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credentials.get("refresh_token", ""),
            "client_id": credentials.get("client_id", ""),
            "client_secret": credentials.get("client_secret", ""),
        }
        if not all(form.values()):
            raise CallFailed("the connector lacks client_id, client_secret or refresh_token", permanent=True)
        self.report.calls += 1
        try:
            response = self.client.post(str(self.access.config.get("token_url") or TOKEN_URL), data=form)
        except httpx.HTTPError as exc:
            raise CallFailed(f"Login with Amazon did not answer: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise RateLimited(
                f"Login with Amazon answered {response.status_code}",
                retry_after_s=retry_after_s(response.headers.get("Retry-After"), 30.0),
            )
        body = _json(response)
        if response.status_code >= 400 or not isinstance(body, Mapping) or not body.get("access_token"):
            error = body.get("error") if isinstance(body, Mapping) else None
            raise CallFailed(
                f"Login with Amazon refused the refresh token ({response.status_code} {error})",
                permanent=True,
            )
        TOKENS.put(self.key, str(body["access_token"]), float(body.get("expires_in") or 3600))
        return str(body["access_token"])

    def restricted_token(self, method: str, path: str) -> str:
        key = f"{self.key}:rdt:{method}:{path}"
        held = TOKENS.get(key)
        if held:
            return held
        resource = {"method": method, "path": path, "dataElements": ["buyerInfo", "shippingAddress"]}
        body = self.call("POST", RDT, json={"restrictedResources": [resource]})
        token = body.get("restrictedDataToken") if isinstance(body, Mapping) else None
        if not token:
            raise CallFailed("Amazon's Tokens API answered no restrictedDataToken")
        TOKENS.put(key, str(token), float(body.get("expiresIn") or 3600))
        return str(token)

    # --- calls ----------------------------------------------------------------------------------------------

    def call(
        self, method: str, path: str, *, restricted: bool = False, paced: str | None = None, **kwargs: Any
    ) -> Any:
        """One SP-API operation; its JSON answer (None for 204). A `json` body is encoded by `exact_json`, so an
        amount given as a Decimal reaches Amazon as exactly that number. `paced` names an operation of `PACED`:
        the call waits for its slot at that rate first (raised as `RateLimited` when the wait is long)."""
        headers: dict[str, str] = {}
        if "json" in kwargs:
            kwargs["content"] = exact_json(kwargs.pop("json"))
            headers["Content-Type"] = "application/json"
        refreshed = False
        for _ in range(INLINE_TRIES + 1):
            token = self.restricted_token(method, path) if restricted else self.access_token()
            if paced:
                self._wait_turn(paced)
            self.report.calls += 1
            try:
                response = self.client.request(
                    method, path, headers=headers | {"x-amz-access-token": token}, **kwargs
                )
            except httpx.HTTPError as exc:
                raise CallFailed(f"Amazon did not answer: {type(exc).__name__}") from exc
            rate = _rate(response)
            if rate:
                self.report.rate_limit = {RATE_HEADER: rate, "operation": f"{method} {path.split('/')[1]}"}
            if paced:
                PACER.learn(self.key, paced, rate, throttled=response.status_code == 429)
            if response.status_code in (401, 403) and not refreshed:
                TOKENS.drop(self.key)  # expired or revoked: one fresh token, then a refusal is final
                TOKENS.drop(f"{self.key}:rdt:{method}:{path}")
                refreshed = True
                continue
            if response.status_code == 429:
                wait = 1.0 / rate if rate else None
                wait = retry_after_s(response.headers.get("Retry-After"), wait or 60.0)
                if wait > INLINE_WAIT_S:
                    raise RateLimited(f"Amazon throttled {method} {path}", retry_after_s=wait)
                if not paced:  # a paced call waits for its next slot at the top of the loop
                    time.sleep(wait)
                continue
            if response.status_code >= 500:
                raise CallFailed(f"Amazon answered {response.status_code}", status=response.status_code)
            if response.status_code >= 400:
                raise CallFailed(
                    f"Amazon refused {method} {path} ({response.status_code}): {response.text[:300]}",
                    permanent=True,
                    status=response.status_code,
                )
            return None if response.status_code == 204 or not response.content else _json(response)
        raise RateLimited(f"Amazon kept throttling {method} {path}", retry_after_s=INLINE_WAIT_S * 2)

    def _wait_turn(self, operation: str) -> None:
        wait = PACER.take(self.key, operation, *PACED[operation])
        if wait > INLINE_WAIT_S:
            PACER.give_back(self.key, operation)
            raise RateLimited(f"Amazon's {operation} rate is used up for now", retry_after_s=wait)
        if wait > 0:
            PACER.sleep(wait)

    def order_items(self, amazon_order_id: str) -> list[dict[str, Any]]:
        """Every item of the order (`getOrderItems`, page by page)."""
        path = f"{ORDERS}/{quote(amazon_order_id, safe='')}/orderItems"
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            answer = self.call("GET", path, params={"NextToken": token} if token else None)
            body = answer.get("payload") if isinstance(answer, Mapping) else None
            if not isinstance(body, Mapping):
                raise CallFailed(f"Amazon's getOrderItems answer for {amazon_order_id} has no payload")
            items += [i for i in body.get("OrderItems") or [] if isinstance(i, dict)]
            token = body.get("NextToken")
            if not token:
                return items


def _rate(response: httpx.Response) -> float | None:
    try:
        value = float(response.headers.get(RATE_HEADER) or 0)
    except ValueError:
        return None
    return value if value > 0 else None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise CallFailed(f"Amazon answered something that is not JSON ({response.status_code})") from None
