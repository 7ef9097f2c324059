"""Webhook signatures shared by the adapters: the `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">` scheme
(the sandbox's and Shippo's), and a constant-time token check. Invariant: every comparison is constant-time and
a signature older or newer than the tolerance is refused, so a captured webhook cannot be replayed later."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from ordersmith.fulfillment.carriers.base import SignatureInvalid

TOLERANCE_S = 300


def sign(secret: str, body: bytes, stamp: int) -> str:
    """The header value for `body` signed at unix time `stamp`."""
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, now_s: float, tolerance_s: int = TOLERANCE_S) -> None:
    """Check a `t=…,v1=…` header over `body`.

    Raises:
        SignatureInvalid: no secret configured, a missing or malformed header, a stale timestamp, no match.
    """
    if not secret:
        raise SignatureInvalid("no webhook secret is configured for this carrier")
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v.strip() for k, v in parts if k.strip() == "t"]
    signatures = [v.strip() for k, v in parts if k.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        raise SignatureInvalid("missing or malformed signature header")
    stamp = int(stamps[0])
    if abs(now_s - stamp) > tolerance_s:
        raise SignatureInvalid("the signature's timestamp is outside the tolerance")
    expected = sign(secret, body, stamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureInvalid("no signature matches")


def check_token(expected: str, given: str) -> None:
    """A shared secret token (e.g. in the webhook URL), compared in constant time.

    Raises:
        SignatureInvalid: no token configured, or the given one does not match.
    """
    if not expected:
        raise SignatureInvalid("no webhook token is configured for this carrier")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise SignatureInvalid("the webhook token does not match")


def lowered(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with lower-case names (HTTP header names are case-insensitive)."""
    return {k.lower(): v for k, v in headers.items()}
