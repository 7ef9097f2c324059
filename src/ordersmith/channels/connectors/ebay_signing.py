"""eBay's digital signatures for EU- and UK-domiciled sellers: the calls that move a seller's money (the Fulfillment
API's `issue_refund`, the Post-Order API's cancellation create and approve; the Finances API) must carry an HTTP
message signature (RFC 9421) made with a keypair from eBay's Key Management API (`createSigningKey`), or eBay
refuses them for such a seller. Other calls, and calls for other sellers, may carry one: eBay ignores it.

Headers sent: `x-ebay-signature-key` (the keypair's `jwe`, as eBay returned it), `Content-Digest` (RFC 9530,
`sha-256` of the body, when there is one), `Signature-Input` (`sig1=("content-digest" "x-ebay-signature-key"
"@method" "@path" "@authority");created=<unix seconds>`) and `Signature` (`sig1=:<base64>:`) over the signature
base those components make (RFC 9421 §2.5), and `x-ebay-enforce-signature: true` so that eBay checks it for any
seller (a mistake shows at once, not only for the first EU seller). Ed25519 keys sign as `ed25519`; RSA keys as
`rsa-v1_5-sha256`. The private key is taken as eBay's `privateKey` (base64 of PKCS#8 DER) or as a PEM block; it is
a sealed credential of the connector (`signing_private_key`, with `signing_key_jwe`) and never logged.

Invariant: pure functions of their arguments; nothing here touches the network or the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

SIGNED = ("content-digest", "x-ebay-signature-key", "@method", "@path", "@authority")
JWE_FIELD = "signing_key_jwe"
KEY_FIELD = "signing_private_key"
SigningKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def private_key(text: str) -> SigningKey:
    """The signing key from eBay's `privateKey` (base64 PKCS#8 DER) or a PEM block. Raises ValueError (saying
    what is wrong, never the key) when it is neither, or is not an Ed25519 or RSA key."""
    raw = text.strip()
    try:
        if raw.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(raw.encode(), password=None)
        else:
            key = serialization.load_der_private_key(base64.b64decode(raw, validate=True), password=None)
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as exc:
        raise ValueError(
            "not a private key: give eBay's privateKey (base64 PKCS#8) or a PEM block without a passphrase"
        ) from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise ValueError("eBay signs with Ed25519 or RSA keys only")
    return key


def content_digest(body: bytes) -> str:
    """RFC 9530's `Content-Digest` of `body`, SHA-256."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"


def signature_base(components: Mapping[str, str], params: str) -> bytes:
    """RFC 9421's signature base: each covered component on a line of its own (`"name": value`), then the
    signature parameters."""
    lines = [f'"{name}": {value}' for name, value in components.items()]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode()


def components_of(method: str, url: str, headers: Mapping[str, str]) -> dict[str, str]:
    """The covered components of a request, in the order they are signed (`content-digest` only when the request
    has a body). `url` is the absolute URL the request goes to; `headers` hold the digest and the JWE."""
    parts = urlsplit(url)
    authority = (parts.hostname or "").lower()
    if parts.port is not None and (parts.scheme, parts.port) not in (("https", 443), ("http", 80)):
        authority = f"{authority}:{parts.port}"
    lowered = {k.lower(): v for k, v in headers.items()}
    found = {
        "content-digest": lowered.get("content-digest", ""),
        "x-ebay-signature-key": lowered.get("x-ebay-signature-key", ""),
        "@method": method.upper(),
        "@path": parts.path or "/",
        "@authority": authority,
    }
    return {name: found[name] for name in SIGNED if name != "content-digest" or found[name]}


def params_of(components: Mapping[str, str], created: int) -> str:
    return "(" + " ".join(f'"{name}"' for name in components) + f");created={created}"


def sign(key: SigningKey, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def headers(
    key: SigningKey, jwe: str, *, method: str, url: str, body: bytes | None, created: int
) -> dict[str, str]:
    """The headers that sign a request to `url` with `body` (None or empty: no body), made at `created` (unix
    seconds)."""
    made = {"x-ebay-signature-key": jwe, "x-ebay-enforce-signature": "true"}
    if body:
        made["Content-Digest"] = content_digest(body)
    components = components_of(method, url, made)
    params = params_of(components, created)
    signature = base64.b64encode(sign(key, signature_base(components, params))).decode()
    made["Signature-Input"] = f"sig1={params}"
    made["Signature"] = f"sig1=:{signature}:"
    return made
