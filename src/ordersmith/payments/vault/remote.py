"""The vault service seen from Ordersmith's processes (`ORDERSMITH_VAULT_URL` set): the same calls as the
in-process `Vault`, each one a signed HTTP request. These processes hold neither the vault's keys nor its
database."""

from __future__ import annotations

import json
from typing import Any

import httpx

from ordersmith.kernel.clock import utcnow
from ordersmith.payments import rules
from ordersmith.payments.gateways.port import RevealedCard
from ordersmith.payments.vault import signing
from ordersmith.payments.vault.store import CardToken
from ordersmith.platform import tls


class VaultUnavailable(RuntimeError):
    """The vault service did not answer (or answered something unexpected)."""


class RemoteVault:
    def __init__(self, url: str, secret: str, *, timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:  # fmt: skip
        self._client = httpx.Client(
            verify=tls.client_context(), base_url=url.rstrip("/"), timeout=timeout_s, transport=transport
        )
        self._secret = secret

    def _call(self, method: str, path: str, body: dict[str, Any] | None, actor: str) -> httpx.Response:
        content = json.dumps(body).encode() if body is not None else b""
        headers = {signing.HEADER: signing.sign(self._secret, method, path, content, int(utcnow().timestamp())),
                   "X-Vault-Actor": actor, "Content-Type": "application/json"}  # fmt: skip
        try:
            response = self._client.request(method, path, content=content, headers=headers)
        except httpx.HTTPError as lost:
            raise VaultUnavailable(f"the vault service did not answer ({type(lost).__name__})") from None
        if response.status_code == 401:
            raise VaultUnavailable(
                "the vault service refused our signature (check ORDERSMITH_VAULT_SERVICE_SECRET)"
            )
        return response

    def tokenize(
        self, *, number: str, exp_month: int, exp_year: int, holder: str = "", actor: str, cvc: str = ""
    ) -> CardToken:
        body = {"number": number, "exp_month": exp_month, "exp_year": exp_year, "holder": holder, "cvc": cvc}
        response = self._call("POST", "/vault/v1/cards", body, actor)
        if response.status_code == 422:
            raise rules.CardInvalid(str(response.json().get("reason", "number_invalid")))
        if response.status_code != 201:
            raise VaultUnavailable(f"the vault service answered {response.status_code}")
        return CardToken(**response.json())

    def card(self, token: str) -> CardToken | None:
        response = self._call("GET", f"/vault/v1/cards/{token}", None, "ordersmith")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise VaultUnavailable(f"the vault service answered {response.status_code}")
        return CardToken(**response.json())

    def reveal_card(self, token: str, *, actor: str, purpose: str) -> RevealedCard:
        response = self._call("POST", "/vault/v1/reveal", {"token": token, "purpose": purpose}, actor)
        if response.status_code == 404:
            raise LookupError("no such card token")
        if response.status_code != 200:
            raise VaultUnavailable(f"the vault service answered {response.status_code}")
        found = response.json()
        return RevealedCard(
            str(found["number"]), int(found["exp_month"]), int(found["exp_year"]), str(found["cvc"])
        )

    def dispose(self) -> None:
        self._client.close()
