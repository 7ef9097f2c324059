"""The wallet port: what Ordersmith asks of a wallet (PayPal today) about a payment the customer made there.

A wallet payment is collected by the wallet, not by Ordersmith: the customer approves it at PayPal and the shop
captures it there. Ordersmith only asks, by the wallet's reference, whether that money was really collected and
is exactly the amount the order expects. `verify` answers `WalletCheck(verified=True)` only then; every other
answer names a short machine reason. A wallet that cannot be reached raises `WalletUnavailable` (a 503): the
outcome is unknown, never a refusal of the customer.

Invariant: a reference that is not shaped like the wallet's own ids is refused as `not_found` before any call
out, so nothing a customer typed reaches a URL path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ordersmith.kernel.errors import OrdersmithError
from ordersmith.kernel.money import Money

NOT_FOUND = "not_found"
NOT_COMPLETED = "not_completed"
AMOUNT_MISMATCH = "amount_mismatch"
CURRENCY_MISMATCH = "currency_mismatch"
UNAVAILABLE = "unavailable"  # the code WalletUnavailable carries; adapters raise it rather than return it

_ORDER_ID = re.compile(r"[A-Z0-9]{17}")


def is_order_id(reference: str) -> bool:
    """Whether `reference` is shaped like a PayPal order id: exactly 17 upper-case letters and digits."""
    return isinstance(reference, str) and _ORDER_ID.fullmatch(reference) is not None


@dataclass(frozen=True)
class WalletCheck:
    """The wallet's answer about one reference. `captured` says money was collected there (even when it is not
    the expected amount); `verified` says it was collected and is exactly the expected amount and currency."""

    verified: bool
    captured: bool
    reference: str
    reason: str  # "" when verified; otherwise not_found | not_completed | amount_mismatch | currency_mismatch
    payer: str = ""  # the payer's e-mail address at the wallet, when it tells


class WalletUnavailable(OrdersmithError):
    """The wallet did not answer usefully (timeout, refused connection, a 5xx, refused credentials): whether the
    money was collected is unknown. Ask again later; never record the tender as paid or as refused."""

    code = "wallet_unavailable"
    status = 503
    title = "The wallet did not answer"


class Wallet(Protocol):
    """A wallet. `name` is what a payment records so later questions go to the same wallet."""

    name: str

    def verify(self, *, reference: str, amount: Money) -> WalletCheck:
        """Whether the wallet collected exactly `amount` under `reference`.

        Raises:
            WalletUnavailable: the wallet could not be asked.
        """
        ...


def judge(
    reference: str, amount: Money, *, completed: bool, captures: Sequence[Money], payer: str = ""
) -> WalletCheck:
    """The check for a record the wallet has: `completed` is the record's own status, `captures` the amounts it
    collected (completed captures only). Pure: both adapters read their records and decide here."""
    if not completed or not captures:
        return WalletCheck(False, bool(captures), reference, NOT_COMPLETED, payer)
    if any(capture.currency != amount.currency for capture in captures):
        return WalletCheck(False, True, reference, CURRENCY_MISMATCH, payer)
    collected = sum(captures, Money.zero(amount.currency))
    if collected != amount:
        return WalletCheck(False, True, reference, AMOUNT_MISMATCH, payer)
    return WalletCheck(True, True, reference, "", payer)


def not_found(reference: str) -> WalletCheck:
    return WalletCheck(False, False, reference, NOT_FOUND)
