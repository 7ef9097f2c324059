"""The card vault: the only place a card number exists, encrypted, in its own database under its own keys
(`crypto` seals, `store` keeps). Gateway adapters are the only callers of `Vault.reveal`."""

from ordersmith.payments.vault.store import CardToken, Vault, VaultKeys
from ordersmith.platform.settings import Settings


def keys_from(settings: Settings) -> VaultKeys:
    """The vault's keys from settings: the current key under its id, and any previous ones still configured."""
    found = {settings.vault_key_id: settings.vault_key.get_secret_value()}
    for part in settings.vault_previous_keys.get_secret_value().split(";"):
        if "=" in part:
            key_id, secret = part.split("=", 1)
            found.setdefault(key_id.strip(), secret.strip())
    return VaultKeys(current_id=settings.vault_key_id, secrets=found,
                     fingerprint_secret=settings.vault_fingerprint_key.get_secret_value())  # fmt: skip


__all__ = ["CardToken", "Vault", "VaultKeys", "keys_from"]
