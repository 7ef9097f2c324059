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


MAX_ATTRIBUTES = 100  # a channel order's free-form attributes kept for mapping to custom fields
MAX_ATTRIBUTE_NAME = 100


def _attribute_text(value: Any) -> str | None:
    """A scalar attribute value as text (`true`/`false` for booleans); None for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Decimal):
        return str(value)
    return None


def attributes(raw: Any, *, name_key: str, value_key: str, private_prefix: str = "") -> dict[str, str]:
    """A channel's free-form order attributes as name -> text (Shopify's `note_attributes` `{name, value}`,
    WooCommerce's `meta_data` `{key, value}`). Optional by nature: a malformed entry, a value that is not a scalar,
    a name starting with `private_prefix` (WooCommerce's hidden `_` meta) is left out, never refused."""
    found: dict[str, str] = {}
    if not isinstance(raw, list):
        return found
    for entry in raw:
        if len(found) >= MAX_ATTRIBUTES:
            break
        if not isinstance(entry, Mapping):
            continue
        name, value = entry.get(name_key), _attribute_text(entry.get(value_key))
        if not isinstance(name, str) or not name or len(name) > MAX_ATTRIBUTE_NAME or value is None:
            continue
        if private_prefix and name.startswith(private_prefix):
            continue
        found.setdefault(name, value)
    return found


def scalars(payload: Mapping[str, Any]) -> dict[str, str]:
    """A channel order's own top-level scalar fields as attributes (Amazon's `PurchaseOrderNumber`, `IsPrime`;
    eBay's `salesRecordReference`, `buyerCheckoutNotes`)."""
    found: dict[str, str] = {}
    for name, value in payload.items():
        text_value = _attribute_text(value)
        if text_value is not None and isinstance(name, str) and len(name) <= MAX_ATTRIBUTE_NAME:
            found[name] = text_value
        if len(found) >= MAX_ATTRIBUTES:
            break
    return found


def object_attributes(payload: Mapping[str, Any], name: str) -> dict[str, str]:
    """The scalar entries of an object field (the generic shape's `attributes`); anything else left out."""
    raw = payload.get(name)
    return scalars(raw) if isinstance(raw, Mapping) else {}
