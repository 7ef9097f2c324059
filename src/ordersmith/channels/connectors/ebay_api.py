"""Calls to one seller's eBay APIs as that seller, shared by the eBay connector (`ebay`) and its Post-Order
cancellations (`ebay_post_order`): an OAuth user access token, obtained from the seller's refresh token at
`/identity/v1/oauth2/token` (HTTP Basic with the app's client id and secret) and kept in this process until shortly
before it expires (a 401 drops it and fetches one more); calls within one run spaced to the connector's
`max_calls_per_s`; a 429 waited out here when short, else raised as `RateLimited`. Errors come as
`{"errors": [{"errorId", "message"}]}`. A call that moves the seller's money (`signed=True`) carries eBay's digital
signature when the connector holds a signing key (`ebay_signing`: required for EU and UK sellers). Invariant:
nothing here touches the database."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from ordersmith.channels.connectors import ebay_signing
from ordersmith.channels.connectors.base import Access, CallFailed, CallReport, RateLimited
from ordersmith.channels.connectors.http import TokenCache, retry_after_s
from ordersmith.kernel.clock import utcnow
from ordersmith.platform import tls

ENDPOINT = "https://api.ebay.com"
TOKEN_PATH = "/identity/v1/oauth2/token"  # noqa: S105 - an endpoint, not a secret
INLINE_WAIT_S = 2.0
INLINE_TRIES = 3
DEFAULT_WAIT_S = 60.0  # eBay's 429 may carry no Retry-After; its call limits reset over minutes to a day
DEFAULT_CALLS_PER_S = 5

TOKENS = TokenCache()


def errors(body: Any) -> str:
    """eBay's `{"errors": [{"errorId", "message"}]}` in one line (the Post-Order API's `{"error": [...]}` too)."""
    errors = (body.get("errors") or body.get("error")) if isinstance(body, Mapping) else None
    if not isinstance(errors, list) or not errors:
        return "no error detail"
    return "; ".join(f"{e.get('errorId')} {e.get('message')}" for e in errors if isinstance(e, Mapping))[:300]


class Session:
    """Calls to one seller's eBay APIs as that seller: the user access token (refreshed once when refused),
    calls spaced to `max_calls_per_s`, short 429s waited out."""

    def __init__(self, access: Access, report: CallReport) -> None:
        self.access = access
        self.report = report
        self.endpoint = str(access.config.get("endpoint") or ENDPOINT).rstrip("/")
        self.client = httpx.Client(
            verify=tls.client_context(),
            base_url=self.endpoint,
            headers={"Accept": "application/json"},
            timeout=access.timeout_s,
            transport=access.transport,
        )
        credentials = access.credentials
        self.key = hashlib.sha256(
            "\0".join(
                (self.endpoint, credentials.get("client_id", ""), credentials.get("refresh_token", ""))
            ).encode()
        ).hexdigest()
        self.gap_s = 1.0 / max(1, int(access.config.get("max_calls_per_s") or DEFAULT_CALLS_PER_S))
        self.last_call = 0.0
        self._signer: tuple[ebay_signing.SigningKey, str] | None = None

    def signer(self) -> tuple[ebay_signing.SigningKey, str] | None:
        """The connector's signing key and its JWE, when it holds them (None: calls go unsigned)."""
        credentials = self.access.credentials
        jwe, text = credentials.get(ebay_signing.JWE_FIELD, ""), credentials.get(ebay_signing.KEY_FIELD, "")
        if not (jwe and text):
            return None
        if self._signer is None:
            try:
                self._signer = (ebay_signing.private_key(text), jwe)
            except ValueError as exc:
                raise CallFailed(f"the connector's signing key cannot sign: {exc}", permanent=True) from None
        return self._signer

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def _pace(self) -> None:
        """Wait until `gap_s` has passed since the last call's answer came back (not since it left: a slow answer
        must not let two calls reach eBay closer together than the connector's rate)."""
        wait = self.last_call + self.gap_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def access_token(self) -> str:
        held = TOKENS.get(self.key)
        if held:
            return held
        credentials = self.access.credentials
        client_id, secret = credentials.get("client_id", ""), credentials.get("client_secret", "")
        refresh = credentials.get("refresh_token", "")
        if not (client_id and secret and refresh):
            raise CallFailed("the connector lacks client_id, client_secret or refresh_token", permanent=True)
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        self.report.calls += 1
        try:
            response = self.client.post(
                TOKEN_PATH,
                data={"grant_type": "refresh_token", "refresh_token": refresh},
                headers={"Authorization": f"Basic {basic}"},
            )
        except httpx.HTTPError as exc:
            raise CallFailed(f"eBay's token endpoint did not answer: {type(exc).__name__}") from exc
        if response.status_code == 429:
            raise RateLimited(
                "eBay's token endpoint answered 429",
                retry_after_s=retry_after_s(response.headers.get("Retry-After"), DEFAULT_WAIT_S),
            )
        if response.status_code >= 500:
            raise CallFailed(
                f"eBay's token endpoint answered {response.status_code}", status=response.status_code
            )
        body = _json(response)
        if response.status_code >= 400 or not isinstance(body, Mapping) or not body.get("access_token"):
            error = body.get("error") if isinstance(body, Mapping) else None
            raise CallFailed(
                f"eBay refused the refresh token ({response.status_code} {error})", permanent=True
            )
        TOKENS.put(self.key, str(body["access_token"]), float(body.get("expires_in") or 7200))
        return str(body["access_token"])

    def call(
        self, method: str, path: str, *, scheme: str = "Bearer", signed: bool = False, **kwargs: Any
    ) -> Any:
        """One call; its JSON answer (None when it has no body). `scheme` prefixes the token in `Authorization`
        (the Post-Order API takes an OAuth token as `IAF`); `headers` are sent besides; `signed`: a call eBay
        requires a digital signature on for EU and UK sellers, signed when the connector holds a signing key."""
        extra = dict(kwargs.pop("headers", None) or {})
        signer = self.signer() if signed else None
        if signer is not None and "json" in kwargs:  # the body is signed as sent: serialised here, once
            kwargs["content"] = json.dumps(kwargs.pop("json"), separators=(",", ":")).encode()
            extra.setdefault("Content-Type", "application/json")
        refreshed = False
        for _ in range(INLINE_TRIES + 1):
            token = self.access_token()
            self._pace()
            if signer is not None:  # made again on each attempt: eBay checks when it was created
                created = int(utcnow().timestamp())
                extra |= ebay_signing.headers(signer[0], signer[1], method=method, url=f"{self.endpoint}{path}",
                                              body=kwargs.get("content"), created=created)  # fmt: skip
            self.report.calls += 1
            try:
                response = self.client.request(
                    method, path, headers=extra | {"Authorization": f"{scheme} {token}"}, **kwargs
                )
            except httpx.HTTPError as exc:
                raise CallFailed(f"eBay did not answer: {type(exc).__name__}") from exc
            finally:
                self.last_call = time.monotonic()
            if response.status_code == 401 and not refreshed:
                TOKENS.drop(self.key)  # expired or revoked: one fresh token, then a refusal is final
                refreshed = True
                continue
            if response.status_code == 429:
                wait = retry_after_s(response.headers.get("Retry-After"), DEFAULT_WAIT_S)
                self.report.rate_limit = {
                    "throttled": f"{method} {path.split('?')[0]}",
                    "retry_after_s": wait,
                }
                if wait > INLINE_WAIT_S:
                    raise RateLimited(
                        f"eBay throttled {method} {path}: {errors(_maybe_json(response))}",
                        retry_after_s=wait,
                    )
                time.sleep(wait)
                continue
            if response.status_code >= 500:
                raise CallFailed(
                    f"eBay answered {response.status_code}: {errors(_maybe_json(response))}",
                    status=response.status_code,
                )
            if response.status_code >= 400:
                raise CallFailed(
                    f"eBay refused {method} {path} ({response.status_code}): {errors(_maybe_json(response))}",
                    permanent=True,
                    status=response.status_code,
                )
            return _json(response) if response.content else None
        raise RateLimited(f"eBay kept throttling {method} {path}", retry_after_s=INLINE_WAIT_S * 2)


def _maybe_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise CallFailed(f"eBay answered something that is not JSON ({response.status_code})") from None
