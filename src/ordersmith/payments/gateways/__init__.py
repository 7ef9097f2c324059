"""Card processors behind one port (`port.Gateway`): the sandbox (in-process or over loopback HTTP), Stripe and
Authorize.Net. `build_gateway` picks the configured one; a payment remembers which gateway took it."""

from __future__ import annotations

from ordersmith.payments.gateways.port import (
    CardSource,
    Gateway,
    GatewayRejected,
    GatewayResult,
    GatewayUnavailable,
    Reveal,
    RevealedCard,
    SignatureInvalid,
    WebhookEvent,
)
from ordersmith.platform import plugins
from ordersmith.platform.settings import Settings


def build_gateway(settings: Settings, reveal: Reveal) -> Gateway:
    """The gateway `settings.payment_gateway` names, wired to the vault's `reveal`."""
    if settings.payment_gateway_plugin:  # docs/guides/plugins.md
        return _plugin_gateway(settings, reveal)
    timeout_s = settings.gateway_timeout_s
    if settings.payment_gateway == "stripe":
        from ordersmith.payments.gateways.stripe_gateway import StripeGateway

        return StripeGateway(
            api_key=settings.stripe_api_key.get_secret_value(),
            webhook_secret=settings.stripe_webhook_secret.get_secret_value(),
            reveal=reveal,
            timeout_s=timeout_s,
        )
    if settings.payment_gateway == "authorizenet":
        from ordersmith.payments.gateways.authorizenet import AuthorizeNetGateway

        return AuthorizeNetGateway(
            login_id=settings.authorizenet_login_id,
            transaction_key=settings.authorizenet_transaction_key.get_secret_value(),
            signature_key=settings.authorizenet_signature_key.get_secret_value(),
            reveal=reveal,
            url=settings.authorizenet_url,
            timeout_s=timeout_s,
        )
    secret = settings.sandbox_webhook_secret.get_secret_value()
    if settings.payment_gateway == "sandbox_http":
        from ordersmith.payments.gateways.sandbox_http import HttpSandboxGateway

        return HttpSandboxGateway(
            settings.sandbox_gateway_url, reveal, webhook_secret=secret, timeout_s=timeout_s
        )
    from ordersmith.payments.gateways.sandbox import SandboxGateway, SandboxProcessor

    return SandboxGateway(SandboxProcessor(settings.sandbox_gateway_path, webhook_secret=secret), reveal)


def _plugin_gateway(settings: Settings, reveal: Reveal) -> Gateway:
    """The plugin gateway `settings.payment_gateway_plugin` names. Unlike other contributions there is nothing to
    fall back to (cards must not quietly go to another processor), so one that is missing or fails to build
    stops the start-up with a message saying which."""
    name = settings.payment_gateway_plugin
    found = next((c for c in plugins.contributions("payment_gateway") if c.name == name), None)
    if found is None:
        raise RuntimeError(
            f"ORDERSMITH_PAYMENT_GATEWAY_PLUGIN={name}: no loaded plugin registered that gateway"
        )
    gateway = found.value(settings, reveal)
    if not isinstance(gateway, Gateway):
        raise RuntimeError(f"plugin gateway {name}: {type(gateway).__name__} is not a Gateway")
    return gateway


__all__ = [
    "CardSource",
    "Gateway",
    "GatewayRejected",
    "GatewayResult",
    "GatewayUnavailable",
    "Reveal",
    "RevealedCard",
    "SignatureInvalid",
    "WebhookEvent",
    "build_gateway",
]
