"""Opaque cursors for keyset pagination: `?limit=50&cursor=…` → `{"items": [...], "next_cursor": …}`."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ordersmith.kernel.errors import ValidationFailed

T = TypeVar("T")

MAX_LIMIT = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(*values: str) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str]:
    """Decode a cursor made by encode_cursor, raising ValidationFailed on anything malformed."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed.on("cursor", "malformed cursor") from exc
    if not (isinstance(values, list) and len(values) == arity and all(isinstance(v, str) for v in values)):
        raise ValidationFailed.on("cursor", "malformed cursor")
    return values


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed.on("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit
