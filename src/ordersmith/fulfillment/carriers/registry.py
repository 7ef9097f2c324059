"""Which carriers run, and with what credentials: `CarrierConfig` (filled by the integrator from settings) and
`carriers_from`, which builds one adapter per configured carrier. Invariant: a carrier appears only when its
credentials are set (the sandbox needs only its file), so nothing calls a carrier with an empty API key."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from ordersmith.fulfillment.carriers.base import Carrier
from ordersmith.fulfillment.carriers.easypost import EASYPOST_API, EasyPostCarrier
from ordersmith.fulfillment.carriers.sandbox import SandboxCarrier
from ordersmith.fulfillment.carriers.shippo import SHIPPO_API, ShippoCarrier
from ordersmith.kernel.clock import Clock, system_clock
from ordersmith.platform import plugins


@dataclass(frozen=True)
class CarrierConfig:
    """Credentials and endpoints for every carrier. Secrets have no defaults; empty means "not configured"."""

    sandbox_path: str = ""
    sandbox_webhook_secret: str = ""
    easypost_api_key: str = ""
    easypost_webhook_secret: str = ""
    easypost_base_url: str = EASYPOST_API
    shippo_api_key: str = ""
    shippo_webhook_token: str = ""  # the `?token=` Shippo's webhook URL carries
    shippo_webhook_hmac_secret: str = ""  # when Shippo has provisioned HMAC signing for the account
    shippo_base_url: str = SHIPPO_API
    timeout_s: float = 10.0

    def __repr__(self) -> str:  # never print a key
        configured = [
            name
            for name, value in (
                ("sandbox", self.sandbox_path),
                ("easypost", self.easypost_api_key),
                ("shippo", self.shippo_api_key),
            )
            if value
        ]
        return f"CarrierConfig(configured={configured}, timeout_s={self.timeout_s})"


def carriers_from(
    config: CarrierConfig, *, clock: Clock = system_clock, transport: httpx.BaseTransport | None = None
) -> dict[str, Carrier]:
    """The configured carriers by name (`sandbox`, `easypost`, `shippo`)."""
    carriers: dict[str, Carrier] = {}
    if config.sandbox_path:
        carriers["sandbox"] = SandboxCarrier(
            config.sandbox_path, webhook_secret=config.sandbox_webhook_secret, clock=clock
        )
    if config.easypost_api_key:
        carriers["easypost"] = EasyPostCarrier(
            api_key=config.easypost_api_key,
            webhook_secret=config.easypost_webhook_secret,
            base_url=config.easypost_base_url,
            timeout_s=config.timeout_s,
            clock=clock,
            transport=transport,
        )
    if config.shippo_api_key:
        carriers["shippo"] = ShippoCarrier(
            api_key=config.shippo_api_key,
            webhook_token=config.shippo_webhook_token,
            webhook_hmac_secret=config.shippo_webhook_hmac_secret,
            base_url=config.shippo_base_url,
            timeout_s=config.timeout_s,
            clock=clock,
            transport=transport,
        )
    for contribution in plugins.contributions("carrier"):  # docs/guides/plugins.md
        if contribution.name in carriers:
            plugins.log.error(
                "plugin carrier %s ignored: a built-in carrier has that name", contribution.name
            )
            continue
        carrier = plugins.guarded(contribution, contribution.value, what="building the carrier")
        if carrier is None:
            continue
        if not isinstance(carrier, Carrier):
            contribution.failed(f"{type(carrier).__name__} is not a Carrier")
            plugins.log.error("plugin carrier %s ignored: not a Carrier", contribution.name)
            continue
        carriers[contribution.name] = carrier
    return carriers
