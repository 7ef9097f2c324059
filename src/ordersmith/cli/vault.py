"""`ordersmith vault …`: the card vault's key rotation and what each key wraps; `ordersmith sandbox-gateway`."""

from __future__ import annotations

from typing import Annotated

import typer

from ordersmith.cli._common import _settings, app, command, fail, out
from ordersmith.payments.vault import Vault, keys_from

vault_app = typer.Typer(help="The card vault: key rotation.", no_args_is_help=True)
app.add_typer(vault_app, name="vault")


def _vault() -> Vault:
    settings = _settings()
    return Vault(settings.vault_database_url, keys_from(settings))


@vault_app.command("rotate-key")
@command
def rotate_key() -> None:
    """Re-wrap every stored card's data key under the current key (ORDERSMITH_VAULT_KEY / _KEY_ID); the old key
    stays configured in ORDERSMITH_VAULT_PREVIOUS_KEYS until this has run. No card number is decrypted."""
    vault = _vault()
    try:
        count = vault.rotate(actor="cli")
        out.print(
            f"{count} card(s) re-wrapped under {vault.keys.current_id}; by key now: {vault.key_ids() or 'none'}"
        )
    finally:
        vault.dispose()


@vault_app.command("status")
@command
def status() -> None:
    """How many stored cards each key wraps."""
    vault = _vault()
    try:
        out.print(f"current key {vault.keys.current_id}; cards by key: {vault.key_ids() or 'none'}")
    finally:
        vault.dispose()


@app.command("sandbox-gateway")
@command
def sandbox_gateway(
    port: Annotated[int, typer.Option(help="loopback port")] = 8111,
) -> None:
    """Run the sandbox card processor as its own loopback HTTP service (for ORDERSMITH_PAYMENT_GATEWAY=sandbox_http):
    test cards approve, decline or lose their answer as documented in `payments.gateways.sandbox`. Never real money."""
    from ordersmith.payments.gateways.sandbox import SandboxProcessor
    from ordersmith.payments.gateways.sandbox_http import SandboxServer

    settings = _settings()
    processor = SandboxProcessor(
        settings.sandbox_gateway_path, webhook_secret=settings.sandbox_webhook_secret.get_secret_value()
    )
    server = SandboxServer(processor, "127.0.0.1", port)
    out.print(f"sandbox processor on {server.url} (books in {settings.sandbox_gateway_path}); Ctrl-C to stop")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()


@vault_app.command("serve")
@command
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on (the vault's own host)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8200,
) -> None:
    """Run the vault as its own service: the only process holding the vault's keys and database. Ordersmith's
    processes reach it with ORDERSMITH_VAULT_URL and sign every request with ORDERSMITH_VAULT_SERVICE_SECRET."""
    import uvicorn

    from ordersmith.payments.vault.service_app import create_vault_app
    from ordersmith.platform.settings import DEV_VAULT_KEY

    settings = _settings()
    if settings.is_production and settings.vault_service_secret.get_secret_value().startswith(DEV_VAULT_KEY):
        fail("ORDERSMITH_VAULT_SERVICE_SECRET must be set to a random value in production", 2)
    out.print(f"vault service on http://{host}:{port}/ (cards in {settings.vault_database_url})")
    uvicorn.run(create_vault_app(settings), host=host, port=port, log_level="warning")
