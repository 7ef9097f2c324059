"""Pure checkout rules: who may say an order is paid, and which payment holds a new order calls for.

Invariant: money Ordersmith did not see collected (cash, a marketplace's settlement, a wallet) is believed only
from the caller entitled to say so; an order with nothing collected, received or authorized is not released for
fulfillment unless it is billed later (payment terms, or a channel configured to bill later).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ordersmith.kernel.money import Money

CASH_SCOPE = "payments:cash"
CHECK_SCOPE = "payments:check"
# Channels where a check is how people pay: mail orders, the phone, a store's till, trade accounts. A web shop or a
# marketplace never receives one, so their keys cannot say one was received (it would release the order).
CHECK_CHANNEL_KINDS = frozenset({"catalog", "call_center", "pos", "wholesale"})
IMPORT_SCOPE = "orders:import"
PRIORITY_SCOPE = "orders:priority"
WALLETS = ("paypal",)


@dataclass(frozen=True)
class Caller:
    """What checkout needs to know of who is calling and through which channel."""

    channel_kind: str
    scopes: frozenset[str]
    bills_later: bool = False  # the channel collects payment itself later (configured on the channel)
    channel_bound: bool = False  # a channel's own key: it names only that channel's customers


def tender_refusal(method: str, caller: Caller) -> str | None:
    """Why `caller` may not declare money collected by `method` (None: it may). Wallets are checked by their
    adapter (the reference verified), not here."""
    if method == "cash" and not (caller.channel_kind == "pos" or CASH_SCOPE in caller.scopes):
        return f"cash is taken at a store's till: a POS channel, or staff with the {CASH_SCOPE} scope"
    if method == "marketplace" and caller.channel_kind != "marketplace":
        return "only a marketplace channel says a marketplace collected the payment"
    if method == "check" and not (caller.channel_kind in CHECK_CHANNEL_KINDS or CHECK_SCOPE in caller.scopes):
        return (
            "a check is received by mail, by phone, at a till or from a trade account: such a channel, or staff "
            f"with the {CHECK_SCOPE} scope"
        )
    return None


@dataclass(frozen=True)
class Outcome:
    """What a tender came to, for the hold rules below."""

    method: str
    part: Money
    declined: bool = False
    unknown: bool = False


@dataclass(frozen=True)
class Policy:
    decline: str  # refuse | hold
    check_hold_above: Money | None  # a check above this holds the order until it clears


def payment_holds(
    outcomes: Sequence[Outcome], *, total: Money, policy: Policy, bills_later: bool
) -> list[tuple[str, str]]:
    """The holds a new order's payment calls for, as (reason, note). An order on account is decided by the credit
    rule (its own hold), not here."""
    found: list[tuple[str, str]] = []
    if any(o.unknown for o in outcomes):
        found.append(
            ("payment_review", "the processor's answer to the card authorization was lost; it is asked again")
        )
    declined = [o for o in outcomes if o.declined]
    if declined and policy.decline == "hold":
        found.append(("payment_declined", "a card was declined: add another tender"))
    limit = policy.check_hold_above
    checks = [o.part for o in outcomes if o.method == "check"]
    if checks and limit is not None:
        received = sum(
            checks, Money.zero(limit.currency)
        )  # all of them: splitting a check must not avoid the hold
        if received > limit:
            found.append(
                ("check_clearance", f"{received} in checks (above {limit}) is held until they clear")
            )
    live = [o for o in outcomes if not o.declined and not o.unknown and not o.part.is_zero()]
    if not total.is_zero() and not live and not found and not bills_later:
        found.append(("pending_payment", "nothing collected, received or authorized yet: add a tender"))
    return found


def request_refusal(
    *, placed_at_given: bool, placed_in_future: bool, priority: int, scopes: frozenset[str]
) -> tuple[str, str] | None:
    """(field, why) when the caller sets what only imports and staff may: `placed_at` drives the return window
    and `priority` the backorder queue."""
    if placed_at_given and IMPORT_SCOPE not in scopes:
        return (
            "placed_at",
            f"only an import or migration (scope {IMPORT_SCOPE}) sets when an order was placed",
        )
    if placed_in_future:
        return "placed_at", "an order cannot be placed in the future"
    if priority and not (IMPORT_SCOPE in scopes or PRIORITY_SCOPE in scopes):
        return (
            "priority",
            f"only staff with the {PRIORITY_SCOPE} scope (or an import) set an order's priority",
        )
    return None
