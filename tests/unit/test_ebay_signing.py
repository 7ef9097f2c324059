"""eBay's digital signatures (RFC 9421 message signatures, RFC 9530 digests) as `ebay_signing` makes them: the
digest of RFC 9530's own example, the signature base's lines in order, Ed25519 and RSA keys in eBay's base64
PKCS#8 form or PEM, and keys it cannot sign with refused without showing them."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from ordersmith.channels.connectors import ebay_signing

URL = "https://api.ebay.com/sell/fulfillment/v1/order/26-08000-00002/issue_refund"


def _pkcs8(key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, pem: bool) -> str:
    encoding = serialization.Encoding.PEM if pem else serialization.Encoding.DER
    raw = key.private_bytes(encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return raw.decode() if pem else base64.b64encode(raw).decode()


def test_the_content_digest_is_rfc_9530_s_example() -> None:
    example = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    assert ebay_signing.content_digest(b'{"hello": "world"}') == example


@pytest.mark.parametrize("pem", [False, True])
def test_an_ed25519_signature_verifies_over_the_documented_base(pem: bool) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    body = b'{"reasonForRefund":"OTHER"}'
    made = ebay_signing.headers(ebay_signing.private_key(_pkcs8(key, pem)), "JWE", method="POST", url=URL,
                                body=body, created=1_700_000_000)  # fmt: skip
    params = '("content-digest" "x-ebay-signature-key" "@method" "@path" "@authority");created=1700000000'
    assert made["Signature-Input"] == f"sig1={params}"
    assert made["x-ebay-signature-key"] == "JWE" and made["x-ebay-enforce-signature"] == "true"
    base = "\n".join([
        f'"content-digest": {ebay_signing.content_digest(body)}',
        '"x-ebay-signature-key": JWE',
        '"@method": POST',
        '"@path": /sell/fulfillment/v1/order/26-08000-00002/issue_refund',
        '"@authority": api.ebay.com',
        f'"@signature-params": {params}',
    ]).encode()  # fmt: skip
    signature = base64.b64decode(made["Signature"].removeprefix("sig1=:").removesuffix(":"))
    key.public_key().verify(signature, base)  # raises if not


def test_a_call_without_a_body_signs_no_digest_and_a_port_is_part_of_the_authority() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    made = ebay_signing.headers(ebay_signing.private_key(_pkcs8(key, False)), "JWE", method="post",
                                url="http://127.0.0.1:8123/post-order/v2/cancellation/5/approve", body=None,
                                created=1)  # fmt: skip
    assert "Content-Digest" not in made
    params = '("x-ebay-signature-key" "@method" "@path" "@authority");created=1'
    assert made["Signature-Input"] == f"sig1={params}"
    base = (
        '"x-ebay-signature-key": JWE\n"@method": POST\n"@path": /post-order/v2/cancellation/5/approve\n'
        f'"@authority": 127.0.0.1:8123\n"@signature-params": {params}'
    ).encode()
    signature = base64.b64decode(made["Signature"].removeprefix("sig1=:").removesuffix(":"))
    key.public_key().verify(signature, base, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not base64 at all!",
        base64.b64encode(b"not a key").decode(),
        _pkcs8(ec.generate_private_key(ec.SECP256R1()), True),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    ],
)
def test_a_key_it_cannot_sign_with_is_refused_without_being_shown(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        ebay_signing.private_key(text)
    assert (text not in str(refused.value)) or not text
