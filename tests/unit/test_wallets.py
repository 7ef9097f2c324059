"""The wallet adapters: PayPal's Orders v2 API against a transport stub that answers as PayPal documents it (the
OAuth2 token call and "Show order details"), and the sandbox wallet on its own SQLite books."""

from __future__ import annotations

import base64
import logging
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from ordersmith.kernel.money import Money
from ordersmith.payments.wallets import WalletCheck, WalletUnavailable, build_wallet, is_order_id
from ordersmith.payments.wallets.paypal import PayPalWallet
from ordersmith.payments.wallets.sandbox import SandboxWallet, sandbox_paid_order
from ordersmith.platform.settings import Settings

CLIENT_ID, CLIENT_SECRET = "AbC-client-id", "EfG-client-secret-never-logged"
ORDER = "5O190127TN364715T"
TOKEN = "A21AAFake-access-token"


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def paypal_order(
    order_id: str = ORDER,
    *,
    status: str = "COMPLETED",
    captures: list[tuple[str, str, str]] | None = None,
) -> dict[str, Any]:
    """An order as `GET /v2/checkout/orders/{id}` documents it; `captures` are (status, value, currency_code)."""
    taken = [("COMPLETED", "100.00", "USD")] if captures is None else captures
    return {
        "id": order_id,
        "intent": "CAPTURE",
        "status": status,
        "payment_source": {"paypal": {"email_address": "buyer@example.com", "account_id": "QYR5Z8XDVJNXQ"}},
        "purchase_units": [
            {
                "reference_id": "default",
                "amount": {"currency_code": "USD", "value": "100.00"},
                "payments": {
                    "captures": [
                        {
                            "id": f"3C679366HH90839{n}",
                            "status": capture_status,
                            "amount": {"currency_code": currency, "value": value},
                            "final_capture": True,
                        }
                        for n, (capture_status, value, currency) in enumerate(taken)
                    ]
                },
            }
        ],
        "payer": {"email_address": "buyer@example.com", "payer_id": "QYR5Z8XDVJNXQ"},
        "links": [{"href": f"https://api-m.sandbox.paypal.com/v2/checkout/orders/{order_id}", "rel": "self"}],
    }


class PayPalStub:
    """PayPal's two documented calls: the client-credentials token and "Show order details"."""

    def __init__(self, orders: dict[str, Any] | None = None, *, expires_in: int = 32400) -> None:
        self.orders: dict[str, Any] = orders or {}
        self.expires_in = expires_in
        self.requests: list[tuple[str, str]] = []
        self.tokens_issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.raw_path.decode()))
        if request.url.path == "/v1/oauth2/token":
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            form = parse_qs(request.content.decode())
            if request.headers.get("authorization") != expected or form != {
                "grant_type": ["client_credentials"]
            }:
                return httpx.Response(
                    401, json={"error": "invalid_client", "error_description": "Client Authentication failed"}
                )
            self.tokens_issued += 1
            return httpx.Response(
                200,
                json={
                    "scope": "https://uri.paypal.com/services/payments/payment",
                    "access_token": f"{TOKEN}-{self.tokens_issued}",
                    "token_type": "Bearer",
                    "app_id": "APP-80W284485P519543T",
                    "expires_in": self.expires_in,
                    "nonce": "2026-12-05T18:00:00Zabc",
                },
            )
        if request.method == "GET" and request.url.path.startswith("/v2/checkout/orders/"):
            if request.headers.get("authorization") != f"Bearer {TOKEN}-{self.tokens_issued}":
                return httpx.Response(
                    401, json={"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed"}
                )
            answer = self.orders.get(request.url.path.rsplit("/", 1)[1])
            if isinstance(answer, Exception):
                raise answer
            if isinstance(answer, int):
                return httpx.Response(
                    answer, json={"name": "INTERNAL_SERVER_ERROR", "debug_id": "90957fca61718"}
                )
            if answer is None:
                return httpx.Response(
                    404,
                    json={
                        "name": "RESOURCE_NOT_FOUND",
                        "details": [
                            {
                                "issue": "INVALID_RESOURCE_ID",
                                "description": "Specified resource ID does not exist.",
                            }
                        ],
                        "message": "The specified resource does not exist.",
                        "debug_id": "f4d5cb5e3bd51",
                    },
                )
            return httpx.Response(200, json=answer)
        return httpx.Response(404, json={"name": "RESOURCE_NOT_FOUND"})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def paypal(stub: PayPalStub, clock: Clock | None = None) -> PayPalWallet:
    return PayPalWallet(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        transport=httpx.MockTransport(stub),
        monotonic=clock or Clock(),
    )


# --- PayPal ------------------------------------------------------------------------------------------------------


def test_paypal_verifies_a_completed_order_captured_for_exactly_the_amount() -> None:
    # given
    stub = PayPalStub({ORDER: paypal_order()})
    # when
    check = paypal(stub).verify(reference=ORDER, amount=usd("100.00"))
    # then
    assert check == WalletCheck(True, True, ORDER, "", "buyer@example.com")
    assert stub.requests == [("POST", "/v1/oauth2/token"), ("GET", f"/v2/checkout/orders/{ORDER}")]


def test_paypal_adds_up_the_completed_captures_of_every_purchase_unit() -> None:
    # given
    order = paypal_order(captures=[("COMPLETED", "60.00", "USD")])
    order["purchase_units"].append(
        {
            "payments": {
                "captures": [{"status": "COMPLETED", "amount": {"currency_code": "USD", "value": "40.00"}}]
            }
        }
    )
    stub = PayPalStub({ORDER: order})
    # when
    check = paypal(stub).verify(reference=ORDER, amount=usd("100.00"))
    # then
    assert (check.verified, check.reason) == (True, "")


def test_paypal_refuses_an_approved_order_that_was_never_captured() -> None:
    # given
    stub = PayPalStub({ORDER: paypal_order(status="APPROVED", captures=[])})
    # when
    check = paypal(stub).verify(reference=ORDER, amount=usd("100.00"))
    # then
    assert check == WalletCheck(False, False, ORDER, "not_completed", "buyer@example.com")


def test_paypal_refuses_an_order_whose_only_capture_is_pending_or_refunded() -> None:
    # given
    stub = PayPalStub(
        {
            ORDER: paypal_order(captures=[("PENDING", "100.00", "USD")]),
            "7XK40117GV6383024": paypal_order("7XK40117GV6383024", captures=[("REFUNDED", "100.00", "USD")]),
        }
    )
    wallet = paypal(stub)
    # when
    pending = wallet.verify(reference=ORDER, amount=usd("100.00"))
    refunded = wallet.verify(reference="7XK40117GV6383024", amount=usd("100.00"))
    # then
    assert (pending.verified, pending.captured, pending.reason) == (False, False, "not_completed")
    assert (refunded.verified, refunded.captured, refunded.reason) == (False, False, "not_completed")


def test_paypal_refuses_a_capture_of_another_amount_or_currency() -> None:
    # given
    euro_order = "8MC585209K746392H"
    stub = PayPalStub(
        {
            ORDER: paypal_order(captures=[("COMPLETED", "99.99", "USD")]),
            euro_order: paypal_order(euro_order, captures=[("COMPLETED", "100.00", "EUR")]),
        }
    )
    wallet = paypal(stub)
    # when
    short = wallet.verify(reference=ORDER, amount=usd("100.00"))
    euros = wallet.verify(reference=euro_order, amount=usd("100.00"))
    # then
    assert short == WalletCheck(False, True, ORDER, "amount_mismatch", "buyer@example.com")
    assert euros == WalletCheck(False, True, euro_order, "currency_mismatch", "buyer@example.com")


def test_paypal_refuses_a_captured_value_that_only_rounds_to_the_amount() -> None:
    # given
    stub = PayPalStub({ORDER: paypal_order(captures=[("COMPLETED", "100.004", "USD")])})
    # when
    check = paypal(stub).verify(reference=ORDER, amount=usd("100.00"))
    # then
    assert (check.verified, check.reason) == (False, "amount_mismatch")


def test_paypal_reads_an_unknown_order_as_not_found() -> None:
    # given
    stub = PayPalStub({})
    # when
    check = paypal(stub).verify(reference=ORDER, amount=usd("100.00"))
    # then
    assert check == WalletCheck(False, False, ORDER, "not_found")


@pytest.mark.parametrize(
    "reference",
    [
        "5o190127tn364715t",
        "5O190127TN364715",
        "5O190127TN364715TX",
        "../../v1/oauth2/token",
        "5O190127TN36471/T",
        "",
    ],
)
def test_paypal_refuses_a_malformed_reference_without_calling_out(reference: str) -> None:
    # given
    stub = PayPalStub({ORDER: paypal_order()})
    # when
    check = paypal(stub).verify(reference=reference, amount=usd("100.00"))
    # then
    assert check == WalletCheck(False, False, reference, "not_found")
    assert stub.requests == []


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("stub: refused"), httpx.ReadTimeout("stub: no answer"), 500, 503]
)
def test_paypal_that_fails_or_does_not_answer_raises_wallet_unavailable(failure: Exception | int) -> None:
    # given
    stub = PayPalStub({ORDER: failure})
    # when / then
    with pytest.raises(WalletUnavailable) as raised:
        paypal(stub).verify(reference=ORDER, amount=usd("100.00"))
    assert (raised.value.code, raised.value.status) == ("wallet_unavailable", 503)


def test_paypal_that_refuses_the_credentials_raises_wallet_unavailable_and_never_says_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given
    stub = PayPalStub({ORDER: paypal_order()})
    wallet = PayPalWallet(
        client_id=CLIENT_ID, client_secret="wrong-secret", transport=httpx.MockTransport(stub)
    )
    # when
    with caplog.at_level(logging.DEBUG), pytest.raises(WalletUnavailable) as raised:
        wallet.verify(reference=ORDER, amount=usd("100.00"))
    # then
    assert str(raised.value) == "PayPal refused the token request (401)"
    assert "wrong-secret" not in caplog.text + repr(wallet)
    assert stub.requests == [("POST", "/v1/oauth2/token")]


def test_paypal_reuses_its_token_until_shortly_before_it_expires() -> None:
    # given
    clock = Clock()
    stub = PayPalStub({ORDER: paypal_order()}, expires_in=3600)
    wallet = paypal(stub, clock)
    # when
    wallet.verify(reference=ORDER, amount=usd("100.00"))
    clock.now += 3600 - 300 - 1
    wallet.verify(reference=ORDER, amount=usd("100.00"))
    reused = stub.tokens_issued
    clock.now += 1
    wallet.verify(reference=ORDER, amount=usd("100.00"))
    # then
    assert (reused, stub.tokens_issued) == (1, 2)
    assert [path for _, path in stub.requests].count("/v1/oauth2/token") == 2


def test_paypal_asks_for_a_new_token_once_when_its_token_is_refused() -> None:
    # given
    stub = PayPalStub({ORDER: paypal_order()})
    wallet = paypal(stub)
    wallet.verify(reference=ORDER, amount=usd("100.00"))
    stub.tokens_issued += 1  # PayPal revoked the token it gave
    # when
    check = wallet.verify(reference=ORDER, amount=usd("100.00"))
    # then
    assert check.verified is True
    assert [path for _, path in stub.requests] == [
        "/v1/oauth2/token",
        f"/v2/checkout/orders/{ORDER}",
        f"/v2/checkout/orders/{ORDER}",
        "/v1/oauth2/token",
        f"/v2/checkout/orders/{ORDER}",
    ]


def test_paypal_order_ids_are_seventeen_upper_case_letters_and_digits() -> None:
    assert [
        is_order_id(r) for r in (ORDER, "5O190127TN364715", "5o190127TN364715T", "5O190127TN364715T\n")
    ] == [
        True,
        False,
        False,
        False,
    ]


# --- the sandbox ---------------------------------------------------------------------------------------------------


def test_sandbox_order_verifies_once_completed_and_not_before(tmp_path: Path) -> None:
    # given
    wallet = SandboxWallet(tmp_path / "wallet.db")
    reference = wallet.create_order(usd("42.50"))
    before = wallet.verify(reference=reference, amount=usd("42.50"))
    # when
    wallet.complete(reference)
    after = wallet.verify(reference=reference, amount=usd("42.50"))
    # then
    assert is_order_id(reference)
    assert before == WalletCheck(False, False, reference, "not_completed", "buyer@sandbox.example")
    assert after == WalletCheck(True, True, reference, "", "buyer@sandbox.example")


def test_sandbox_refuses_another_amount_another_currency_and_an_unknown_or_malformed_reference(
    tmp_path: Path,
) -> None:
    # given
    wallet = SandboxWallet(tmp_path / "wallet.db")
    reference = wallet.create_order(usd("42.50"))
    wallet.complete(reference)
    # when
    checks = [
        wallet.verify(reference=reference, amount=usd("42.51")),
        wallet.verify(reference=reference, amount=Money(Decimal("42.50"), "EUR")),
        wallet.verify(reference=ORDER, amount=usd("42.50")),
        wallet.verify(reference="x' OR 1=1 --", amount=usd("42.50")),
    ]
    # then
    assert [(c.verified, c.captured, c.reason) for c in checks] == [
        (False, True, "amount_mismatch"),
        (False, True, "currency_mismatch"),
        (False, False, "not_found"),
        (False, False, "not_found"),
    ]


def test_sandbox_refuses_to_complete_an_order_twice_or_one_it_never_made(tmp_path: Path) -> None:
    # given
    wallet = SandboxWallet(tmp_path / "wallet.db")
    reference = wallet.create_order(usd("10.00"))
    wallet.complete(reference)
    # when / then
    with pytest.raises(ValueError, match="is COMPLETED, not APPROVED"):
        wallet.complete(reference)
    with pytest.raises(LookupError):
        wallet.complete(ORDER)
    assert wallet.verify(reference=reference, amount=usd("10.00")).verified is True


def test_sandbox_books_are_created_on_first_use_readable_by_their_owner_only(tmp_path: Path) -> None:
    # given
    path = tmp_path / "books" / "wallet.db"
    wallet = SandboxWallet(path)
    assert not path.exists()
    # when
    wallet.create_order(usd("1.00"))
    # then
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_sandbox_paid_order_is_a_completed_order_in_the_configured_books(tmp_path: Path) -> None:
    # given
    settings = Settings(sandbox_wallet_path=str(tmp_path / "wallet.db"), _env_file=None)  # type: ignore[call-arg]
    # when
    reference = sandbox_paid_order(settings, usd("19.99"))
    # then
    assert build_wallet(settings).verify(reference=reference, amount=usd("19.99")) == WalletCheck(
        True, True, reference, "", "buyer@sandbox.example"
    )


def test_sandbox_paid_order_is_refused_when_the_wallet_is_paypal(tmp_path: Path) -> None:
    # given
    path = tmp_path / "wallet.db"
    settings = Settings(wallet="paypal", sandbox_wallet_path=str(path), _env_file=None)  # type: ignore[call-arg]
    # when / then
    with pytest.raises(ValueError, match="ORDERSMITH_WALLET is not the sandbox"):
        sandbox_paid_order(settings, usd("19.99"))
    assert not path.exists()


def test_build_wallet_picks_paypal_with_the_configured_url_and_credentials() -> None:
    # given
    settings = Settings(
        wallet="paypal",
        paypal_client_id=CLIENT_ID,
        paypal_client_secret=CLIENT_SECRET,  # type: ignore[arg-type]
        paypal_base_url="https://api-m.paypal.com",
        _env_file=None,
    )  # type: ignore[call-arg]
    # when
    wallet = build_wallet(settings)
    # then
    assert (wallet.name, repr(wallet)) == ("paypal", "PayPalWallet(https://api-m.paypal.com)")
