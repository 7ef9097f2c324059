"""A channel order's attributes into our order custom fields (the connector's `custom_fields` setting: the channel's
attribute name -> our order field). Each mapped value is checked by the custom fields' own rules, one by one,
against the fields as they are now: a value a field refuses (too long, not a choice, not a number) or a field that
no longer exists is not kept — the order is imported without it and the channel order says why (`last_error`),
because an attribute never stops an order from shipping. Required order fields are not enforced on channel
orders: a channel cannot be asked for what it does not send."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ordersmith.channels import rules
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform import custom_fields
from ordersmith.platform.db import UnitOfWork

MAX_MAPPED = 50


def mapping(config: Mapping[str, Any]) -> dict[str, str]:
    raw = config.get("custom_fields")
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def plan_values(
    uow: UnitOfWork, config: Mapping[str, Any], parsed: rules.ChannelOrder
) -> tuple[dict[str, str], list[str]]:
    """The mapped values the order's fields take, and why each other mapped attribute was not kept."""
    wanted = rules.custom_values(parsed.attributes, mapping(config))
    kept: dict[str, str] = {}
    refused: list[str] = []
    for field, (attribute, value) in wanted.items():
        try:
            custom_fields.check_values(uow, kind="order", values={field: value}, creating=False)
        except ValidationFailed as exc:
            reason = exc.errors[0].message if exc.errors else str(exc)
            refused.append(f"attribute {attribute!r} not kept in custom field {field!r}: {reason}")
            continue
        kept[field] = value
    return kept, refused


def write_values(uow: UnitOfWork, *, order_id: Any, values: Mapping[str, str]) -> None:
    """Store the kept values on the new order, inside its transaction (checked again by the fields current there: a
    field changed meanwhile refuses, the order's transaction rolls back and the import is tried again)."""
    if not values:
        return
    checked = custom_fields.check_values(uow, kind="order", values=values, creating=False)
    custom_fields.write_values(uow, kind="order", record_id=order_id, checked=checked)
