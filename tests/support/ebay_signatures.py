"""eBay's side of its digital signatures, for the loopback stubs: a request to an API eBay requires signatures on for
an EU or UK seller is checked as eBay documents it — the `x-ebay-signature-key` header present, `Content-Digest` equal
to the body's SHA-256, `Signature-Input` naming the components eBay signs with a `created` time, and `Signature`
verifying over the RFC 9421 signature base with the seller's public key — and refused with eBay's error otherwise
(215120 "Signature validation failed"; 215113 for a `created` time that is not within five minutes)."""

from __future__ import annotations

import base64
import hashlib
import re
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from tests.support.http_stub import Seen

_INPUT = re.compile(r'^sig1=\(((?:"[^"]+"\s?)+)\);created=(\d+)$')
_SIGNATURE = re.compile(r"^sig1=:([A-Za-z0-9+/=]+):$")
WANTED = ("x-ebay-signature-key", "@method", "@path", "@authority")


def refusal(seen: Seen, public_key: ed25519.Ed25519PublicKey | rsa.RSAPublicKey) -> tuple[int, str] | None:
    """None when `seen` carries a valid signature; else eBay's error id and message."""
    headers = seen.headers
    jwe = headers.get("x-ebay-signature-key", "")
    matched = _INPUT.match(headers.get("signature-input", ""))
    signature = _SIGNATURE.match(headers.get("signature", ""))
    if not jwe or matched is None or signature is None:
        return 215120, "Signature validation failed: the signature headers are missing or malformed"
    names = re.findall(r'"([^"]+)"', matched.group(1))
    if any(name not in names for name in WANTED) or (seen.body and "content-digest" not in names):
        return 215120, "Signature validation failed: a required component is not signed"
    if abs(time.time() - int(matched.group(2))) > 300:
        return 215113, "Invalid timestamp in signature parameters"
    if seen.body:
        digest = base64.b64encode(hashlib.sha256(seen.body).digest()).decode()
        if headers.get("content-digest") != f"sha-256=:{digest}:":
            return 215120, "Signature validation failed: the content digest does not match the payload"
    values = {
        "content-digest": headers.get("content-digest", ""),
        "x-ebay-signature-key": jwe,
        "@method": seen.method.upper(),
        "@path": seen.path,
        "@authority": headers.get("host", "").lower(),
    }
    if any(name not in values for name in names):
        return 215120, "Signature validation failed: an unknown component is signed"
    lines = [f'"{name}": {values[name]}' for name in names]
    lines.append(f'"@signature-params": ({matched.group(1)});created={matched.group(2)}')
    base, raw = "\n".join(lines).encode(), base64.b64decode(signature.group(1))
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(raw, base)
        else:
            public_key.verify(raw, base, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return 215120, "Signature validation failed"
    return None
