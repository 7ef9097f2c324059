"""`ordersmith vault …`: the card vault's key rotation and what each key wraps."""

from __future__ import annotations

import typer

from ordersmith.cli._common import _settings, app, command, out
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
