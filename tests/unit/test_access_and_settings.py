import uuid

import pytest
from pydantic import SecretStr

from ordersmith.kernel.errors import Forbidden
from ordersmith.platform.access import ROLE_SCOPES, ROLES, SCOPES, Principal, check_scopes
from ordersmith.platform.settings import ProductionMisconfigured, Settings


@pytest.fixture(autouse=True)
def _production_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests build production settings from the environment: the suite's own test-only Argon2 cost
    (tests/conftest.py) is not part of it."""
    monkeypatch.delenv("ORDERSMITH_ARGON2_COST", raising=False)


def test_admin_has_every_scope_and_every_role_can_follow_events():
    assert ROLE_SCOPES["admin"] == frozenset(SCOPES)
    assert set(ROLE_SCOPES) == set(ROLES)
    assert all("events:read" in scopes for scopes in ROLE_SCOPES.values())


def test_only_admin_and_manager_read_the_audit_log():
    assert {role for role, scopes in ROLE_SCOPES.items() if "audit:read" in scopes} == {"admin", "manager"}


def test_unknown_scopes_are_refused():
    with pytest.raises(ValueError, match="orders:steal"):
        check_scopes(["orders:steal"])


def test_channel_bound_key_may_not_act_for_another_channel():
    own, other = uuid.uuid4(), uuid.uuid4()
    key = Principal(kind="api_key", id=uuid.uuid4(), label="k", scopes=frozenset(), channel_id=own)
    key.require_channel(own)
    with pytest.raises(Forbidden):
        key.require_channel(other)


def test_production_refuses_development_secrets():
    with pytest.raises(ProductionMisconfigured, match="ORDERSMITH_SECRET_KEY"):
        Settings(env="production", _env_file=None)  # type: ignore[call-arg]


def test_production_accepts_real_secrets_and_secures_cookies():
    settings = Settings(
        env="production",
        secret_key=SecretStr("s" * 40),
        vault_key=SecretStr("v" * 40),
        vault_fingerprint_key=SecretStr("f" * 40),
        payment_gateway="stripe",
        stripe_api_key=SecretStr("sk_live_x"),
        stripe_webhook_secret=SecretStr("whsec_x"),
        wallet="paypal",
        paypal_client_id="client-x",
        paypal_client_secret=SecretStr("secret-x"),
        paypal_base_url="https://api-m.paypal.com",
        sandbox_carrier=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    assert settings.cookie_secure is True


def test_production_refuses_the_sandbox_gateway_and_a_gateway_without_credentials():
    real = {"secret_key": SecretStr("s" * 40), "vault_key": SecretStr("v" * 40),
            "vault_fingerprint_key": SecretStr("f" * 40)}  # fmt: skip
    with pytest.raises(ProductionMisconfigured, match="ORDERSMITH_PAYMENT_GATEWAY"):
        Settings(env="production", **real, _env_file=None)  # type: ignore[call-arg,arg-type]
    with pytest.raises(ProductionMisconfigured, match="ORDERSMITH_STRIPE_API_KEY"):
        Settings(env="production", payment_gateway="stripe", **real, _env_file=None)  # type: ignore[call-arg,arg-type]


def test_production_refuses_the_sandbox_wallet_paypal_without_credentials_and_paypal_s_sandbox_url():
    # given
    real = {
        "secret_key": SecretStr("s" * 40),
        "vault_key": SecretStr("v" * 40),
        "vault_fingerprint_key": SecretStr("f" * 40),
        "payment_gateway": "stripe",
        "stripe_api_key": SecretStr("sk_live_x"),
        "stripe_webhook_secret": SecretStr("whsec_x"),
        "sandbox_carrier": False,
        "_env_file": None,
    }
    # when / then
    with pytest.raises(ProductionMisconfigured) as sandbox:
        Settings(env="production", **real)  # type: ignore[arg-type]
    with pytest.raises(ProductionMisconfigured) as bare:
        Settings(env="production", wallet="paypal", **real)  # type: ignore[arg-type]
    assert str(sandbox.value) == (
        "refusing to start in production: ORDERSMITH_WALLET cannot be the sandbox in production"
    )
    assert str(bare.value) == (
        "refusing to start in production: ORDERSMITH_PAYPAL_CLIENT_ID and ORDERSMITH_PAYPAL_CLIENT_SECRET must be "
        "set; ORDERSMITH_PAYPAL_BASE_URL must be PayPal's live https URL in production"
    )


def test_production_refuses_the_sandbox_carrier():
    real = {"secret_key": SecretStr("s" * 40), "vault_key": SecretStr("v" * 40),
            "vault_fingerprint_key": SecretStr("f" * 40), "payment_gateway": "stripe",
            "stripe_api_key": SecretStr("sk_live_x"), "stripe_webhook_secret": SecretStr("whsec_x"),
            "wallet": "paypal", "paypal_client_id": "id", "paypal_client_secret": SecretStr("x"),
            "paypal_base_url": "https://api-m.paypal.com", "_env_file": None}  # fmt: skip
    with pytest.raises(ProductionMisconfigured, match="ORDERSMITH_SANDBOX_CARRIER must be false"):
        Settings(env="production", **real)  # type: ignore[arg-type]
    assert not Settings(env="production", sandbox_carrier=False, **real).sandbox_carrier  # type: ignore[arg-type]


def test_wallet_defaults_to_the_sandbox_outside_production():
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.wallet, settings.sandbox_wallet_path, settings.paypal_base_url) == (
        "sandbox",
        "var/sandbox_wallet.db",
        "https://api-m.sandbox.paypal.com",
    )
    assert settings.paypal_client_secret.get_secret_value() == ""


def test_production_refuses_the_development_vault_fingerprint_key():
    with pytest.raises(ProductionMisconfigured, match="ORDERSMITH_VAULT_FINGERPRINT_KEY"):
        Settings(env="production", secret_key=SecretStr("s" * 40), vault_key=SecretStr("v" * 40),
                 _env_file=None)  # type: ignore[call-arg]  # fmt: skip


def test_development_defaults_to_embedded_sqlite():
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite:///var/ordersmith.db"
    assert settings.dialect == "sqlite"


def test_production_refuses_a_shifted_clock():
    with pytest.raises(ProductionMisconfigured, match="ORDERSMITH_CLOCK_OFFSET_S must be 0 in production"):
        Settings(env="production", clock_offset_s=3600.0, _env_file=None)  # type: ignore[call-arg]


def test_production_refuses_a_frozen_clock_and_tests_get_the_clock_they_ask_for():
    from datetime import UTC, datetime

    at = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    with pytest.raises(
        ProductionMisconfigured, match="ORDERSMITH_CLOCK_FROZEN_AT must be unset in production"
    ):
        Settings(env="production", clock_frozen_at=at, _env_file=None)  # type: ignore[call-arg]
    frozen = Settings(clock_frozen_at="2026-01-15T09:00:00+00:00", _env_file=None)  # type: ignore[call-arg]
    clock = frozen.test_clock()
    assert clock is not None and clock.now() == at == clock.now()
    assert Settings(_env_file=None).test_clock() is None  # type: ignore[call-arg]
