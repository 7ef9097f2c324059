"""Envelope encryption for card numbers: each record has its own random data key (AES-256-GCM); the data key is
stored wrapped (AES-256-GCM) by a key-encryption key named by a key id. Rotating the key-encryption key re-wraps
data keys only; the card's ciphertext never changes and the number is never decrypted to rotate.

Invariant: what is stored — key id, wrapped data key, nonce, ciphertext — reveals nothing without the
key-encryption key; the token is bound into both encryptions as associated data, so a ciphertext moved to another
token does not decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@dataclass(frozen=True)
class Sealed:
    key_id: str
    wrapped_key: bytes  # nonce (12) + AES-GCM(kek, data key)
    nonce: bytes  # for the card's ciphertext
    ciphertext: bytes


def key_encryption_key(secret: str, key_id: str) -> bytes:
    """The 256-bit key-encryption key derived (HKDF-SHA256) from a configured secret and its id."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"ordersmith-vault-kek:" + key_id.encode()
    ).derive(secret.encode())


def _wrap(kek: bytes, key_id: str, token: str, data_key: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, f"{key_id}|{token}".encode())


def _unwrap(kek: bytes, key_id: str, token: str, wrapped: bytes) -> bytes:
    return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], f"{key_id}|{token}".encode())


def seal(digits: str, token: str, kek: bytes, key_id: str) -> Sealed:
    """Encrypt a card number under a fresh data key, wrapped by `kek`."""
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    ciphertext = AESGCM(data_key).encrypt(nonce, digits.encode(), token.encode())
    return Sealed(
        key_id=key_id, wrapped_key=_wrap(kek, key_id, token, data_key), nonce=nonce, ciphertext=ciphertext
    )


def open_sealed(sealed: Sealed, token: str, kek: bytes) -> str:
    """The card number (raises cryptography's InvalidTag when the key or the token does not match)."""
    data_key = _unwrap(kek, sealed.key_id, token, sealed.wrapped_key)
    return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, token.encode()).decode()


def rewrap(sealed: Sealed, token: str, old_kek: bytes, new_kek: bytes, new_key_id: str) -> Sealed:
    """The same record with its data key wrapped by the new key-encryption key."""
    data_key = _unwrap(old_kek, sealed.key_id, token, sealed.wrapped_key)
    return Sealed(key_id=new_key_id, wrapped_key=_wrap(new_kek, new_key_id, token, data_key), nonce=sealed.nonce,
                  ciphertext=sealed.ciphertext)  # fmt: skip


def fingerprint(digits: str, secret: str) -> str:
    """A keyed hash of the number: finds the same card again without decrypting anything."""
    return hmac.new(secret.encode(), b"card:" + digits.encode(), hashlib.sha256).hexdigest()
