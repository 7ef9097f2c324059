"""The order policies a retailer sets in the console (`platform.policies`): the fraud-hold thresholds per currency,
and per channel where one differs, and the return policy (window, restocking fee). Defaults are the values that
were code constants before.

Read through the policies' cache: capture reads no row for them (the configuration's version rides on the API
key's check, `platform.config_cache`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ordersmith.kernel.errors import FieldError, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import rules
from ordersmith.platform import policies
from ordersmith.platform.db import UnitOfWork

HOLDS, RETURNS = "orders.hold_thresholds", "orders.returns"
MOST_THRESHOLDS = 200
_DEFAULT_THRESHOLDS = [
    {"currency": "USD", "channel": "", "high_value": "750.00", "first_order_limit": "1500.00"},
    {"currency": "EUR", "channel": "", "high_value": "700.00", "first_order_limit": "1400.00"},
    {"currency": "GBP", "channel": "", "high_value": "600.00", "first_order_limit": "1200.00"},
]


def _amount(text: Any, currency: str, field: str, errors: list[FieldError]) -> str:
    try:
        value = Money(Decimal(str(text)), currency)
    except (InvalidOperation, ValueError, TypeError, ArithmeticError):
        errors.append(FieldError(field, "an amount, e.g. 750.00"))
        return ""
    if value.amount < 0 or value.amount >= Decimal("1e13"):
        errors.append(FieldError(field, "from 0 to 9,999,999,999,999"))
        return ""
    return str(value.amount)


def _check_thresholds(value: Mapping[str, Any]) -> dict[str, Any]:
    rows = value.get("thresholds")
    if not isinstance(rows, list) or len(rows) > MOST_THRESHOLDS:
        raise ValidationFailed.on("value.thresholds", f"a list of at most {MOST_THRESHOLDS} thresholds")
    errors: list[FieldError] = []
    checked, seen = [], set()
    for n, row in enumerate(rows):
        at = f"value.thresholds.{n}"
        if not isinstance(row, dict):
            errors.append(FieldError(at, "currency, channel, high_value and first_order_limit"))
            continue
        currency, channel = (
            str(row.get("currency", "")).strip().upper(),
            str(row.get("channel") or "").strip(),
        )
        if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
            errors.append(FieldError(f"{at}.currency", "a three-letter ISO 4217 code"))
            continue
        if len(channel) > 40 or not channel.isprintable():
            errors.append(FieldError(f"{at}.channel", "a channel's code (or empty: every channel)"))
            continue
        if (currency, channel) in seen:
            errors.append(
                FieldError(f"{at}.currency", f"{currency} {channel or 'for every channel'} is listed twice")
            )
            continue
        seen.add((currency, channel))
        high = _amount(row.get("high_value"), currency, f"{at}.high_value", errors)
        first = _amount(row.get("first_order_limit"), currency, f"{at}.first_order_limit", errors)
        checked.append(
            {"currency": currency, "channel": channel, "high_value": high, "first_order_limit": first}
        )
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    return {"thresholds": checked}


def _check_returns(value: Mapping[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    window, fee = value.get("window_days"), value.get("restocking_fee_percent")
    if isinstance(window, bool) or not isinstance(window, int) or not 0 <= window <= 3650:
        errors.append(FieldError("value.window_days", "whole days from the order's placing, 0 to 3650"))
    if isinstance(fee, bool) or not isinstance(fee, int) or not 0 <= fee <= 100:
        errors.append(FieldError("value.restocking_fee_percent", "a whole percentage, 0 to 100"))
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    return {"window_days": window, "restocking_fee_percent": fee}


policies.register(policies.PolicySpec(
    HOLDS, "Fraud-hold thresholds",
    "Per currency (and per channel where one differs): a billing/shipping country mismatch above the high value, "
    "and a first order above the first-order limit, hold the order for review. A currency not listed is not "
    "screened; marketplaces and stores never are.",
    {"thresholds": _DEFAULT_THRESHOLDS}, _check_thresholds,
))  # fmt: skip
policies.register(policies.PolicySpec(
    RETURNS, "Returns",
    "How many days after an order is placed its goods may be returned, and the restocking fee kept (a percentage "
    "of the goods' refund) when the return is not the retailer's fault.",
    {"window_days": 60, "restocking_fee_percent": 0}, _check_returns,
))  # fmt: skip


def _thresholds(uow: UnitOfWork) -> dict[tuple[str, str], rules.HoldPolicy]:
    def build() -> dict[tuple[str, str], rules.HoldPolicy]:
        rows = policies.current(uow, HOLDS)["thresholds"]
        return {(r["currency"], r["channel"]): rules.HoldPolicy(
            high_value=Money(Decimal(r["high_value"]), r["currency"]),
            first_order_limit=Money(Decimal(r["first_order_limit"]), r["currency"])) for r in rows}  # fmt: skip

    # Built once per configuration version (policies.current is itself cached: no statement when it stands).
    return policies.derived(uow, "orders.hold_policies", build)


def hold_policy(uow: UnitOfWork, *, currency: str, channel: str) -> rules.HoldPolicy | None:
    """The fraud-hold thresholds for an order in `currency` from `channel`: the channel's own, else the currency's;
    None: not screened."""
    found = _thresholds(uow)
    return found.get((currency, channel)) or found.get((currency, ""))


def return_policy(uow: UnitOfWork) -> rules.ReturnPolicy:
    """The return window and restocking fee set now."""
    value = policies.current(uow, RETURNS)
    return rules.ReturnPolicy(window=timedelta(days=value["window_days"]),
                              restocking_fee_percent=value["restocking_fee_percent"])  # fmt: skip
