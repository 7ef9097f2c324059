"""Verifying a PayPal tender through payments' wiring (`verify_wallet`), on SQLite and PostgreSQL: the configured
sandbox wallet, a PayPal wallet whose service is down, and the refusals before any call out."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.payments import service as payments
from ordersmith.payments.wallets.paypal import PayPalWallet
from ordersmith.payments.wallets.sandbox import SandboxWallet, sandbox_paid_order
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def test_a_paid_sandbox_paypal_order_verifies_through_the_configured_wallet(
    db: Database, settings: Settings, uow: UnitOfWork
) -> None:
    # given
    wired = payments.setup_payments(db, settings)
    reference = sandbox_paid_order(settings, usd("64.10"))
    # when
    check = payments.verify_wallet(uow, method="paypal", reference=reference, amount=usd("64.10"))
    # then
    assert isinstance(wired.wallet, SandboxWallet) and wired.wallet.path == settings.sandbox_wallet_path
    assert check == payments.WalletCheck(True, True, reference, "", "buyer@sandbox.example")


def test_an_unpaid_or_short_sandbox_paypal_order_is_not_verified(
    db: Database, settings: Settings, uow: UnitOfWork
) -> None:
    # given
    wallet = SandboxWallet(settings.sandbox_wallet_path)
    payments.setup_payments(db, settings, wallet=wallet)
    unpaid = wallet.create_order(usd("64.10"))
    paid = sandbox_paid_order(settings, usd("64.10"))
    # when
    checks = [
        payments.verify_wallet(uow, method="paypal", reference=unpaid, amount=usd("64.10")),
        payments.verify_wallet(uow, method="paypal", reference=paid, amount=usd("64.11")),
    ]
    # then
    assert [(c.verified, c.reason) for c in checks] == [(False, "not_completed"), (False, "amount_mismatch")]


def test_verify_wallet_refuses_a_method_that_is_not_a_wallet(
    db: Database, settings: Settings, uow: UnitOfWork
) -> None:
    # given
    payments.setup_payments(db, settings)
    # when / then
    with pytest.raises(ValidationFailed) as raised:
        payments.verify_wallet(uow, method="card", reference="5O190127TN364715T", amount=usd("1.00"))
    assert raised.value.detail == "method: 'card' is not a wallet method"


def test_verify_wallet_is_never_called_inside_a_transaction(
    db: Database, settings: Settings, uow: UnitOfWork
) -> None:
    # given
    payments.setup_payments(db, settings)
    reference = sandbox_paid_order(settings, usd("5.00"))
    # when / then
    with uow, pytest.raises(AssertionError, match="never inside a transaction"):
        payments.verify_wallet(uow, method="paypal", reference=reference, amount=usd("5.00"))


def test_a_paypal_that_does_not_answer_is_a_503_wallet_unavailable(
    db: Database, settings: Settings, uow: UnitOfWork
) -> None:
    # given
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("stub: connection refused")

    wallet = PayPalWallet(client_id="id", client_secret="secret", transport=httpx.MockTransport(down))
    payments.setup_payments(db, settings, wallet=wallet)
    # when / then
    with pytest.raises(payments.WalletUnavailable) as raised:
        payments.verify_wallet(uow, method="paypal", reference="5O190127TN364715T", amount=usd("5.00"))
    assert (raised.value.status, raised.value.code, raised.value.detail) == (
        503,
        "wallet_unavailable",
        "PayPal did not answer (ConnectError)",
    )
