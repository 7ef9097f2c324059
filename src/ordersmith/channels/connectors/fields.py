"""Reading a channel's JSON strictly: each helper names the field it refuses (`lines.0.quantity`), so a bad
payload is dead-lettered with a reason a person can act on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ordersmith.kernel.errors import ValidationFailed

MAX_TEXT = 200


def section(payload: Mapping[str, Any], name: str, path: str, *, required: bool = True) -> Mapping[str, Any]:
    value = payload.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationFailed.on(path, "must be an object")
    return value


def items(payload: Mapping[str, Any], name: str, path: str) -> Sequence[Any]:
    value = payload.get(name)
    if not isinstance(value, list) or not value:
        raise ValidationFailed.on(path, "must be a non-empty list")
    return value


def text(
    payload: Mapping[str, Any], name: str, path: str, *, required: bool = False, max_length: int = MAX_TEXT
) -> str:
    value = payload.get(name)
    if value is None or value == "":
        if required:
            raise ValidationFailed.on(path, "is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationFailed.on(path, "must be a string")
    value = str(value).strip()
    if "\x00" in value:
        raise ValidationFailed.on(path, "must not contain NUL characters")
    if len(value) > max_length:
        raise ValidationFailed.on(path, f"at most {max_length} characters")
    return value


def integer(payload: Mapping[str, Any], name: str, path: str, *, low: int = 1, high: int = 1_000_000) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed.on(path, f"must be a whole number from {low} to {high}")
    return value


def decimal(payload: Mapping[str, Any], name: str, path: str, *, ratio: bool = False) -> Decimal | None:
    """A decimal given as a string (money: never a JSON float); a `ratio` (a tax rate) may be a JSON number, read
    through its shortest text form (0.0825 → Decimal("0.0825"))."""
    value = payload.get(name)
    if value is None or value == "":
        return None
    accepted: tuple[type, ...] = (str, int, float) if ratio else (str, int)
    if isinstance(value, bool) or not isinstance(value, accepted):
        raise ValidationFailed.on(path, 'must be a decimal string such as "19.99"')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed.on(path, 'must be a decimal string such as "19.99"') from None
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 12:
        raise ValidationFailed.on(path, "must be a finite amount below 10^12")
    return amount


def timestamp(payload: Mapping[str, Any], name: str, path: str, *, required: bool = True) -> datetime | None:
    value = payload.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValidationFailed.on(path, "must be an ISO 8601 date-time with its offset")
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed.on(path, "must be an ISO 8601 date-time with its offset") from None
    if stamp.tzinfo is None:
        raise ValidationFailed.on(path, "must carry its UTC offset")
    return stamp.astimezone(UTC)
