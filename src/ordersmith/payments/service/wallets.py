"""Wallet tenders: asking the configured wallet whether a PayPal payment was really collected, in full.

Invariant: the wallet is asked outside any transaction (a call out never holds a database transaction open).
"""

from __future__ import annotations

import logging

from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.payments.service._common import wiring
from ordersmith.payments.wallets import WALLET_METHODS, WalletCheck
from ordersmith.platform.db import UnitOfWork

log = logging.getLogger(__name__)


def verify_wallet(uow: UnitOfWork, *, method: str, reference: str, amount: Money) -> WalletCheck:
    """Ask the configured wallet whether it collected exactly `amount` under `reference`.

    Call it before opening the transaction that records the tender, and accept the tender only when the answer
    is `verified`. Verification does not consume the reference: the caller records it under a unique
    constraint so one PayPal order never pays two tenders.

    Args:
        uow: the caller's unit of work, not yet begun (the wallet is reached through its database's wiring).
        method: the tender's method; only "paypal" is a wallet method.
        reference: the wallet's own id for the payment (a PayPal order id: 17 upper-case letters and digits).
        amount: exactly what the tender must have collected, currency included.

    Returns:
        The wallet's answer: `verified`, or a `reason` among not_found, not_completed, amount_mismatch and
        currency_mismatch. A malformed reference is `not_found` and never reaches the wallet.

    Raises:
        ValidationFailed: `method` is not a wallet method.
        WalletUnavailable: the wallet could not be asked (a 503; the outcome is unknown, ask again later).
    """
    assert not uow.active, "verify_wallet calls out: never inside a transaction"
    if method not in WALLET_METHODS:
        raise ValidationFailed.on("method", f"{method!r} is not a wallet method")
    wallet = wiring(uow).wallet
    check = wallet.verify(reference=reference, amount=amount)
    if not check.verified:
        log.info("wallet %s did not verify %r for %s: %s", wallet.name, reference[:40], amount, check.reason)
    return check
