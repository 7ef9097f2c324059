"""PayPal, through its REST Orders v2 API: is a PayPal order ours, completed, and captured for exactly the amount?

Two documented calls over httpx, nothing else:

- `POST /v1/oauth2/token` with HTTP basic auth (client id and secret) and `grant_type=client_credentials`
  answers `{"access_token", "token_type": "Bearer", "expires_in": seconds, ...}`. The token is kept and reused
  until `TOKEN_MARGIN_S` before it expires (or until PayPal answers 401 to it: then one fresh token, one retry).
- `GET /v2/checkout/orders/{id}` with `Authorization: Bearer <token>` answers the order: `status` (CREATED,
  SAVED, APPROVED, VOIDED, COMPLETED, PAYER_ACTION_REQUIRED), `purchase_units[].payments.captures[]` each with
  `status` (COMPLETED, PENDING, DECLINED, REFUNDED, PARTIALLY_REFUNDED, FAILED) and `amount` `{"currency_code",
  "value"}` (a decimal string), and the payer's e-mail at `payment_source.paypal.email_address` (older answers:
  `payer.email_address`). An unknown id answers 404 `RESOURCE_NOT_FOUND`.

Only COMPLETED captures count as collected: a refunded or pending capture is not money the shop holds. An order
of another merchant is refused by PayPal with 403, read here as `not_found`. Timeouts, refused connections, 5xx,
429 and refused credentials raise `WalletUnavailable`; no retry here (the caller asks again later).

The client secret and the access token are never logged, never put in an error message, never in a repr.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from ordersmith.kernel.money import Money
from ordersmith.payments.wallets.port import (
    AMOUNT_MISMATCH,
    WalletCheck,
    WalletUnavailable,
    is_order_id,
    judge,
    not_found,
)
from ordersmith.platform import tls

log = logging.getLogger(__name__)

SANDBOX_URL = "https://api-m.sandbox.paypal.com"
LIVE_URL = "https://api-m.paypal.com"
TOKEN_MARGIN_S = 300  # renew a token this long before PayPal says it expires


class PayPalWallet:
    """PayPal orders, verified with the shop's REST app credentials (`client_id`, `client_secret`)."""

    name = "paypal"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        base_url: str = SANDBOX_URL,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = (client_id, client_secret)
        self._client = httpx.Client(
            verify=tls.client_context(),
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5)),
            transport=transport,
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )
        self._monotonic = monotonic
        self._token = ""
        self._token_until = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PayPalWallet({self._client.base_url!s})"

    def close(self) -> None:
        self._client.close()

    def verify(self, *, reference: str, amount: Money) -> WalletCheck:
        if not is_order_id(reference):
            return not_found(reference)  # never sent: nothing a customer typed reaches the URL
        response = self._get_order(reference, self._access_token())
        if response.status_code == 401:  # revoked or expired early: one fresh token, one more try
            self._forget_token()
            response = self._get_order(reference, self._access_token())
        if response.status_code in (403, 404):
            if response.status_code == 403:
                log.warning(
                    "PayPal refused access to order %s (another merchant's, or a missing scope)", reference
                )
            return not_found(reference)
        if response.status_code != 200:
            raise WalletUnavailable(f"PayPal answered {response.status_code} for order {reference}")
        return _read_order(reference, amount, _json(response))

    # --- the two calls -------------------------------------------------------------------------------------------

    def _send(self, request: Callable[[], httpx.Response]) -> httpx.Response:
        try:
            return request()
        except (
            httpx.HTTPError
        ) as lost:  # the exception's text may hold the URL, never a credential; keep it out
            raise WalletUnavailable(f"PayPal did not answer ({type(lost).__name__})") from None

    def _get_order(self, reference: str, token: str) -> httpx.Response:
        return self._send(
            lambda: self._client.get(
                f"/v2/checkout/orders/{reference}", headers={"Authorization": f"Bearer {token}"}
            )
        )

    def _access_token(self) -> str:
        with self._lock:
            if self._token and self._monotonic() < self._token_until:
                return self._token
            asked_at = self._monotonic()
            response = self._send(
                lambda: self._client.post(
                    "/v1/oauth2/token",
                    auth=httpx.BasicAuth(*self._credentials),
                    data={"grant_type": "client_credentials"},
                )
            )
            if response.status_code != 200:
                raise WalletUnavailable(f"PayPal refused the token request ({response.status_code})")
            answer = _json(response)
            token, expires_in = answer.get("access_token"), answer.get("expires_in")
            if not isinstance(token, str) or not token or not isinstance(expires_in, int):
                raise WalletUnavailable("PayPal's token answer is not readable")
            self._token = token
            self._token_until = asked_at + max(0, expires_in - TOKEN_MARGIN_S)
            return token

    def _forget_token(self) -> None:
        with self._lock:
            self._token, self._token_until = "", 0.0


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        raise WalletUnavailable("PayPal's answer is not JSON") from None
    if not isinstance(answer, dict):
        raise WalletUnavailable("PayPal's answer is not a JSON object")
    return answer


def _read_order(reference: str, amount: Money, order: dict[str, Any]) -> WalletCheck:
    """Judge an order as `GET /v2/checkout/orders/{id}` documents it."""
    if order.get("id") != reference:
        raise WalletUnavailable("PayPal answered about another order")
    captures: list[Money] = []
    inexact = False
    try:
        for unit in order.get("purchase_units") or []:
            for capture in ((unit.get("payments") or {}).get("captures")) or []:
                if capture.get("status") != "COMPLETED":
                    continue
                value = Decimal(str(capture["amount"]["value"]))
                collected = Money(value, str(capture["amount"]["currency_code"]))
                inexact = inexact or collected.amount != value  # more decimals than the currency has
                captures.append(collected)
    except (AttributeError, KeyError, TypeError, ValueError, InvalidOperation):
        raise WalletUnavailable("PayPal's order answer is not readable") from None
    check = judge(
        reference,
        amount,
        completed=order.get("status") == "COMPLETED",
        captures=captures,
        payer=_payer(order),
    )
    if check.verified and inexact:  # rounding made it equal; what PayPal holds is not exactly the amount
        return replace(check, verified=False, reason=AMOUNT_MISMATCH)
    return check


def _payer(order: dict[str, Any]) -> str:
    source = order.get("payment_source")
    paypal = source.get("paypal") if isinstance(source, dict) else None
    for holder in (paypal, order.get("payer")):
        if isinstance(holder, dict) and isinstance(holder.get("email_address"), str):
            return str(holder["email_address"])
    return ""
