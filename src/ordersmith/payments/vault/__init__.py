"""The card vault: the only place a card number exists, encrypted, in its own database under its own keys
(`crypto` seals, `store` keeps). In-process by default; with `ORDERSMITH_VAULT_URL` set, Ordersmith's processes
reach the vault service (`service_app`, `ordersmith vault serve`) through `remote.RemoteVault` and hold neither
its keys nor its database. Gateway adapters are the only callers of `reveal_card`."""

from __future__ import annotations

from typing import Protocol

from ordersmith.payments.gateways.port import RevealedCard
from ordersmith.payments.vault.store import CardToken, Vault, VaultKeys
from ordersmith.platform.settings import Settings


class CardVault(Protocol):
    """What Ordersmith asks of the vault, in-process or as a service."""

    def tokenize(
        self, *, number: str, exp_month: int, exp_year: int, holder: str = "", actor: str, cvc: str = ""
    ) -> CardToken: ...

    def card(self, token: str) -> CardToken | None: ...

    def reveal_card(self, token: str, *, actor: str, purpose: str) -> RevealedCard: ...

    def dispose(self) -> None: ...


def keys_from(settings: Settings) -> VaultKeys:
    """The vault's keys from settings: the current key under its id, and any previous ones still configured."""
    found = {settings.vault_key_id: settings.vault_key.get_secret_value()}
    for part in settings.vault_previous_keys.get_secret_value().split(";"):
        if "=" in part:
            key_id, secret = part.split("=", 1)
            found.setdefault(key_id.strip(), secret.strip())
    return VaultKeys(current_id=settings.vault_key_id, secrets=found,
                     fingerprint_secret=settings.vault_fingerprint_key.get_secret_value())  # fmt: skip


def open_vault(settings: Settings) -> CardVault:
    """The vault service when `vault_url` is set, else the vault in this process on its own database."""
    if settings.vault_url:
        from ordersmith.payments.vault.remote import RemoteVault

        return RemoteVault(settings.vault_url, settings.vault_service_secret.get_secret_value())
    return Vault(settings.vault_database_url, keys_from(settings))


__all__ = ["CardToken", "CardVault", "Vault", "VaultKeys", "keys_from", "open_vault"]
