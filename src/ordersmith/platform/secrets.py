"""Password hashing (Argon2), high-entropy tokens, and symmetric encryption of small secrets (TOTP seeds)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Argon2id at argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes); the `test` cost exists for the test suite only
# (settings refuse it in production). A hash carries its own parameters, so either verifies the other's.
_COSTS: dict[str, PasswordHasher] = {
    "standard": PasswordHasher(),
    "test": PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
}
_hasher = _COSTS["standard"]


def use_argon2_cost(cost: str) -> None:
    """Hash new passwords at `cost` (`standard` or `test`): called at start-up from the settings."""
    global _hasher
    _hasher = _COSTS[cost]
    _dummy_hash.cache_clear()


@functools.cache
def _dummy_hash() -> str:
    """A valid hash of a random password, verified against when the user does not exist, so that a login for an
    unknown e-mail costs the same time as one for a known e-mail. Made on first use: an Argon2 hash costs ~150 ms,
    which every process start (each CLI call) would otherwise pay."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str = "", nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """SHA-256 of a high-entropy token: enough for random keys (no dictionary to attack), cheap per request."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def _aes_key(secret_key: str, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{secret_key}".encode()).digest()


def seal(secret_key: str, purpose: str, plaintext: str) -> str:
    """Encrypt a small secret with AES-GCM under a key derived from the settings' secret key."""
    nonce = os.urandom(12)
    sealed = AESGCM(_aes_key(secret_key, purpose)).encrypt(nonce, plaintext.encode(), purpose.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(secret_key: str, purpose: str, token: str) -> str:
    raw = base64.urlsafe_b64decode(token.encode())
    return AESGCM(_aes_key(secret_key, purpose)).decrypt(raw[:12], raw[12:], purpose.encode()).decode()


def sign(secret: str, message: bytes) -> str:
    """HMAC-SHA256 hex digest, as used for webhook signatures."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
