"""All configuration in one object, read from `ORDERSMITH_*` environment variables and an optional `.env`.

Invariant: with `ORDERSMITH_ENV=production`, start-up refuses any development default for a secret.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordersmith.kernel.clock import Clock, FixedClock, ShiftedClock

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused in production
DEV_VAULT_KEY = "dev-insecure-vault-key-change-me"


class ProductionMisconfigured(RuntimeError):
    """Raised at start-up when production would run with a development secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERSMITH_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///var/ordersmith.db"
    # A read replica (PostgreSQL streaming standby) that reports and exports read instead of the primary.
    reports_database_url: str | None = None
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    vault_key: SecretStr = SecretStr(DEV_VAULT_KEY)
    vault_key_id: str = Field(
        default="k1", pattern=r"^[A-Za-z0-9_-]{1,40}$"
    )  # names `vault_key` in stored records
    # Keys being rotated away from, "id=secret;id=secret": records under them stay readable until re-wrapped.
    vault_previous_keys: SecretStr = SecretStr("")
    vault_fingerprint_key: SecretStr = SecretStr(
        DEV_VAULT_KEY + "-fingerprint"
    )  # finds a card again; never rotated
    vault_database_url: str = "sqlite:///var/vault.db"
    # The vault as its own service (`ordersmith vault serve`): its URL (https in production) and the secret that
    # signs every request to it. Unset: the vault runs inside each process on `vault_database_url`.
    vault_url: str | None = None
    vault_service_secret: SecretStr = SecretStr(DEV_VAULT_KEY + "-service")

    # Payments: which processor cards go to, and how orders are paid.
    payment_gateway: Literal["sandbox", "sandbox_http", "stripe", "authorizenet"] = "sandbox"
    payment_capture: Literal["on_shipment", "at_once"] = "on_shipment"
    payment_decline: Literal["refuse", "hold"] = (
        "refuse"  # a declined card: no order (402), or the order held
    )
    gateway_timeout_s: float = Field(default=10.0, gt=0, le=120)
    sandbox_gateway_path: str = "var/sandbox_gateway.db"  # the sandbox processor's own books
    sandbox_gateway_url: str = "http://127.0.0.1:8111"  # for payment_gateway=sandbox_http
    sandbox_webhook_secret: SecretStr = SecretStr(DEV_VAULT_KEY + "-sandbox-webhooks")
    stripe_api_key: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    authorizenet_login_id: str = ""
    authorizenet_transaction_key: SecretStr = SecretStr("")
    authorizenet_signature_key: SecretStr = SecretStr("")
    authorizenet_url: str = "https://apitest.authorize.net/xml/v1/request.api"
    # Wallets: who verifies a PayPal tender's reference (the sandbox, or PayPal's REST Orders v2 API).
    wallet: Literal["sandbox", "paypal"] = "sandbox"
    sandbox_wallet_path: str = "var/sandbox_wallet.db"  # the sandbox wallet's own books
    paypal_client_id: str = ""
    paypal_client_secret: SecretStr = SecretStr("")
    paypal_base_url: str = (
        "https://api-m.sandbox.paypal.com"  # PayPal's sandbox; live: https://api-m.paypal.com
    )
    gift_card_balance_checks_per_minute: int = Field(default=10, ge=1)
    # Receivables: an invoice more than this many days past due holds the customer's new orders on account
    # (0: any day past due).
    credit_hold_overdue_days: int = Field(default=0, ge=0, le=3650)
    # Settlements: a card capture or refund that no imported settlement has matched this many days after it is
    # listed (and flagged by the daily job) as unsettled.
    unsettled_after_days: int = Field(default=5, ge=1, le=365)
    # Carriers (fulfillment): the sandbox carrier (its own books in a file) and EasyPost / Shippo when their keys
    # are set; a location ships with the carrier its dock names.
    sandbox_carrier: bool = True
    sandbox_carrier_path: str = "var/sandbox_carrier.db"
    sandbox_carrier_webhook_secret: SecretStr = SecretStr(DEV_VAULT_KEY + "-sandbox-carrier")
    easypost_api_key: SecretStr = SecretStr("")
    easypost_webhook_secret: SecretStr = SecretStr("")
    easypost_base_url: str = "https://api.easypost.com/v2"
    shippo_api_key: SecretStr = SecretStr("")
    shippo_webhook_token: SecretStr = SecretStr("")
    shippo_webhook_hmac_secret: SecretStr = SecretStr("")
    shippo_base_url: str = "https://api.goshippo.com"
    carrier_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # What packing slips and invoices print as the retailer's own: its name and where a customer starts a return.
    retailer_name: str = "Ordersmith Demo Outfitters"
    returns_url: str = "http://127.0.0.1:8000/returns"
    # A check received above this amount (in the order's currency) holds the order until the check clears;
    # below it, the order is released on receipt. Unset: never held for a check.
    check_hold_above: Decimal | None = Field(default=Decimal("1000.00"), ge=0)
    nats_url: str | None = None
    nats_stream: str = "ORDERSMITH"
    bind_host: str = "127.0.0.1"
    bind_port: int = 8000

    db_pool_size: int = 20
    # Requests served at once (the thread pool that runs the synchronous endpoints); more queue in the event loop.
    request_threads: int = Field(default=12, ge=1, le=1000)
    sqlite_busy_timeout_ms: int = 30_000
    max_body_bytes: int = 1_048_576

    session_idle_minutes: int = 30
    # Seconds added to the wall clock of every unit of work (kernel.clock.ShiftedClock): browser tests set it so
    # that the console's screenshots show the same times on every run. Refused in production.
    clock_offset_s: float = 0.0
    # A clock that stands still at this instant (kernel.clock.FixedClock) for every unit of work: the browser tests'
    # walk of every screen sets it, so that its screenshots read the same instant however long the walk takes.
    # Refused in production.
    clock_frozen_at: datetime | None = None
    # Argon2id's cost: `standard` (argon2-cffi's defaults: 64 MiB, 3 passes, 4 lanes) everywhere people sign in;
    # `test` (1 MiB, 1 pass) lets the test suite create and sign in thousands of users. Refused in production.
    argon2_cost: Literal["standard", "test"] = "standard"
    session_cookie_secure: bool | None = None  # None: secure in production, not in development
    api_key_cache_s: float = 5.0  # how long a resolved API key is trusted before it is read again
    lockout_threshold: int = 10
    lockout_minutes: int = 15

    idempotency_ttl_hours: int = 24

    # Plugins (docs/guides/plugins.md): besides the installed `ordersmith.plugins` entry points, these
    # "module:object" references, comma-separated. `plugins_entry_points=false` loads only these.
    plugins: str = ""
    plugins_entry_points: bool = True
    # How long one plugin hold rule may take inside the order write before it is skipped (and counted).
    plugin_hold_budget_ms: int = Field(default=100, ge=1, le=5_000)
    # A plugin's payment gateway (by the name it registered) instead of `payment_gateway`.
    payment_gateway_plugin: str = ""

    relay_enabled: bool = True
    relay_poll_interval_ms: int = 200
    relay_batch_window_ms: int = (
        25  # after a wake-up, gather commits this long and dispatch them as one batch
    )
    webhook_max_attempts: int = 8
    webhook_backoff_base_s: float = 2.0
    webhook_timeout_s: float = 10.0
    jobs_enabled: bool = True
    # How long a worker holds a claimed job before another may take it over (a crashed worker's job restarts then).
    job_lease_s: int = Field(default=300, ge=1, le=86_400)
    # Job threads per process (`serve` and `worker`): more than one lets a slow job (a channel push waiting out a
    # rate limit) run beside the others instead of in front of them; each thread claims one job at a time.
    job_threads: int = Field(default=4, ge=1, le=32)
    # Marketing: how often every buyer's RFM scores are recomputed from the stored purchase facts (ADR 0037).
    rfm_scoring_every_s: int = Field(default=3600, ge=60, le=86_400)
    # Bulk imports: the largest file accepted (refused above it with a clear message), and rows per transaction.
    import_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    # E-mail (scheduled reports): ORDERSMITH_SMTP_URL `smtp://user:password@host:port`, `smtps://…` (TLS from the
    # start) or `smtp+starttls://…`; or host and port (and a user and password) one by one. Unset: nothing is
    # e-mailed (a scheduled report records that it could not be sent).
    smtp_url: SecretStr = SecretStr("")
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_from: str = "Ordersmith <ordersmith@localhost>"
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=120)
    import_chunk_rows: int = Field(default=1000, ge=1, le=100_000)
    # Where bulk export files are written (each 0600, the folder 0700) and downloaded from.
    exports_path: str = "var/exports"
    # Accounting packages the journal is pushed to through their APIs (finance: `qbo` and `bc` exports). QuickBooks
    # Online: an Intuit app's client id and secret, the company (realm) id, and the refresh token of its first
    # connection; Intuit rotates refresh tokens, so the latest one is kept sealed in the database after first use.
    qbo_client_id: str = ""
    qbo_client_secret: SecretStr = SecretStr("")
    qbo_refresh_token: SecretStr = SecretStr("")
    qbo_realm_id: str = ""
    qbo_base_url: str = (
        "https://quickbooks.api.intuit.com"  # sandbox: https://sandbox-quickbooks.api.intuit.com
    )
    qbo_token_url: str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"  # noqa: S105 - a URL
    qbo_minor_version: int = Field(default=75, ge=1, le=999)
    # QuickBooks wants a customer on every accounts receivable line and a vendor on every accounts payable line: the
    # display names of the customer and vendor that stand for Ordersmith's (e.g. "Ordersmith customers").
    qbo_customer: str = ""
    qbo_vendor: str = ""
    # Dynamics 365 Business Central: a Microsoft Entra app (client credentials) with API access to the
    # environment, the company's id and the id of the general journal (batch) the lines go to.
    bc_tenant_id: str = ""
    bc_environment: str = "production"
    bc_client_id: str = ""
    bc_client_secret: SecretStr = SecretStr("")
    bc_company_id: str = ""
    bc_journal_id: str = ""
    bc_base_url: str = ""  # default: https://api.businesscentral.dynamics.com/v2.0/{tenant}/{environment}
    bc_token_url: str = ""  # default: https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token
    bc_scope: str = "https://api.businesscentral.dynamics.com/.default"
    ledger_timeout_s: float = Field(default=30.0, gt=0, le=300)
    ledger_backoff_s: float = Field(
        default=2.0, ge=0, le=60
    )  # first wait after a 429 or 5xx, doubled per retry
    sse_keepalive_s: float = 15.0

    demo_admin_password: SecretStr = Field(default=SecretStr("ordersmith-admin"))
    demo_orders: int = Field(
        default=5000, ge=0, description="orders `demo load` generates (a year of history)"
    )
    demo_customers: int = Field(default=1000, ge=1, description="customers `demo load` creates")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def cookie_secure(self) -> bool:
        return self.is_production if self.session_cookie_secure is None else self.session_cookie_secure

    @property
    def dialect(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"

    def test_clock(self) -> Clock | None:
        """The clock these settings put in place of the wall clock (tests only; refused in production), or None."""
        if self.clock_frozen_at is not None:
            return FixedClock(self.clock_frozen_at)
        if self.clock_offset_s:
            return ShiftedClock(timedelta(seconds=self.clock_offset_s))
        return None

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> Settings:
        if not self.is_production:
            return self
        problems = []
        if (
            self.secret_key.get_secret_value() == DEV_SECRET_KEY
            or len(self.secret_key.get_secret_value()) < 32
        ):
            problems.append("ORDERSMITH_SECRET_KEY must be set to a random value of at least 32 characters")
        if self.vault_url:  # the vault's keys live on the vault's host only
            if self.vault_service_secret.get_secret_value().startswith(DEV_VAULT_KEY):
                problems.append("ORDERSMITH_VAULT_SERVICE_SECRET must be set to a random value")
        else:
            if (
                self.vault_key.get_secret_value() == DEV_VAULT_KEY
                or len(self.vault_key.get_secret_value()) < 32
            ):
                problems.append(
                    "ORDERSMITH_VAULT_KEY must be set to a random value of at least 32 characters"
                )
            if self.vault_fingerprint_key.get_secret_value().startswith(DEV_VAULT_KEY):
                problems.append("ORDERSMITH_VAULT_FINGERPRINT_KEY must be set to a random value")
        if self.payment_gateway.startswith("sandbox"):
            problems.append("ORDERSMITH_PAYMENT_GATEWAY cannot be the sandbox in production")
        if self.payment_gateway == "stripe" and not (
            self.stripe_api_key.get_secret_value() and self.stripe_webhook_secret.get_secret_value()
        ):
            problems.append("ORDERSMITH_STRIPE_API_KEY and ORDERSMITH_STRIPE_WEBHOOK_SECRET must be set")
        if self.payment_gateway == "authorizenet" and not (
            self.authorizenet_login_id
            and self.authorizenet_transaction_key.get_secret_value()
            and self.authorizenet_signature_key.get_secret_value()
        ):
            problems.append("the ORDERSMITH_AUTHORIZENET_* credentials and signature key must be set")
        if self.wallet == "sandbox":
            problems.append("ORDERSMITH_WALLET cannot be the sandbox in production")
        if self.sandbox_carrier:
            problems.append(
                "ORDERSMITH_SANDBOX_CARRIER must be false in production (labels would not be real)"
            )
        if self.wallet == "paypal":
            if not (self.paypal_client_id and self.paypal_client_secret.get_secret_value()):
                problems.append("ORDERSMITH_PAYPAL_CLIENT_ID and ORDERSMITH_PAYPAL_CLIENT_SECRET must be set")
            if not self.paypal_base_url.startswith("https://") or "sandbox" in self.paypal_base_url:
                problems.append("ORDERSMITH_PAYPAL_BASE_URL must be PayPal's live https URL in production")
        if self.session_cookie_secure is False:
            problems.append("ORDERSMITH_SESSION_COOKIE_SECURE cannot be false in production")
        if self.clock_offset_s:
            problems.append("ORDERSMITH_CLOCK_OFFSET_S must be 0 in production (the clock is the real one)")
        if self.clock_frozen_at is not None:
            problems.append(
                "ORDERSMITH_CLOCK_FROZEN_AT must be unset in production (the clock is the real one)"
            )
        if self.argon2_cost != "standard":
            problems.append("ORDERSMITH_ARGON2_COST must be standard in production")
        if problems:
            raise ProductionMisconfigured("refusing to start in production: " + "; ".join(problems))
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
