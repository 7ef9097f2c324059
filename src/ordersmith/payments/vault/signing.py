"""Requests between Ordersmith's processes and a separate vault service are signed with a shared secret:
`X-Vault-Signature: t=<unix time>,v1=<HMAC-SHA256 of "<t>.<METHOD>.<path>." + body>` — a request cannot be forged,
altered or replayed after five minutes. The vault service accepts nothing else."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Vault-Signature"
TOLERANCE_S = 300


def sign(secret: str, method: str, path: str, body: bytes, at: int) -> str:
    digest = hmac.new(
        secret.encode(), f"{at}.{method.upper()}.{path}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"t={at},v1={digest}"


def verify(secret: str, header: str, method: str, path: str, body: bytes, now: float) -> bool:
    """Whether `header` signs this request under `secret` within the tolerance."""
    if not secret:
        return False
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp = fields.get("t", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > TOLERANCE_S:
        return False
    expected = sign(secret, method, path, body, int(stamp)).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))
