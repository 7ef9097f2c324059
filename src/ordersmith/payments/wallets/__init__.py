"""Wallets behind one port (`port.Wallet`): the sandbox and PayPal. `build_wallet` picks the configured one. A
wallet collects the money itself; Ordersmith only verifies, by reference, that it was collected in full."""

from __future__ import annotations

from ordersmith.payments.wallets.port import (
    AMOUNT_MISMATCH,
    CURRENCY_MISMATCH,
    NOT_COMPLETED,
    NOT_FOUND,
    UNAVAILABLE,
    Wallet,
    WalletCheck,
    WalletUnavailable,
    is_order_id,
)
from ordersmith.platform.settings import Settings

WALLET_METHODS = frozenset({"paypal"})  # tender methods a wallet verifies


def build_wallet(settings: Settings) -> Wallet:
    """The wallet `settings.wallet` names."""
    if settings.wallet == "paypal":
        from ordersmith.payments.wallets.paypal import PayPalWallet

        return PayPalWallet(
            client_id=settings.paypal_client_id,
            client_secret=settings.paypal_client_secret.get_secret_value(),
            base_url=settings.paypal_base_url,
            timeout_s=settings.gateway_timeout_s,
        )
    from ordersmith.payments.wallets.sandbox import SandboxWallet

    return SandboxWallet(settings.sandbox_wallet_path)


__all__ = [
    "AMOUNT_MISMATCH",
    "CURRENCY_MISMATCH",
    "NOT_COMPLETED",
    "NOT_FOUND",
    "UNAVAILABLE",
    "WALLET_METHODS",
    "Wallet",
    "WalletCheck",
    "WalletUnavailable",
    "build_wallet",
    "is_order_id",
]
