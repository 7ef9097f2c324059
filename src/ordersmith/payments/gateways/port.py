"""The gateway port: what Ordersmith asks of a card processor, whoever it is (the sandbox, Stripe, Authorize.Net).

Every call carries an idempotency key: the same key sent again returns the first outcome and never moves money
twice. Timeouts are explicit. An adapter raises `GatewayUnavailable` when the outcome is unknown (timeout, reset
connection, response lost) — the caller may repeat the call with the same key to learn it — and returns a
`GatewayResult` whenever the processor answered, approved or not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ordersmith.kernel.money import Money


@dataclass(frozen=True)
class CardSource:
    """What pays: a vault token (`vtok_…`, revealed only inside the adapter) or a token the gateway issued itself
    (a web shop's hosted fields: a Stripe PaymentMethod `pm_…`, an Authorize.Net Accept nonce)."""

    token: str

    @property
    def in_vault(self) -> bool:
        return self.token.startswith("vtok_")


@dataclass(frozen=True)
class RevealedCard:
    """A card as an adapter sends it to its processor — held in memory for one call, never stored or logged."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str = ""  # kept by the vault only until the first authorization

    def __repr__(self) -> str:
        return f"RevealedCard(****{self.number[-4:]}, {self.exp_month:02d}/{self.exp_year})"


Reveal = Callable[
    [str, str], RevealedCard
]  # (vault token, purpose) -> the card; each call audited by the vault


@dataclass(frozen=True)
class GatewayResult:
    """The processor's answer. `reference` names the authorization (the charge, the PaymentIntent, the transId)
    that later captures, voids and refunds point at; `transaction` names this operation's own record."""

    approved: bool
    reference: str
    amount: Money
    transaction: str = ""
    reason_code: str = ""  # the processor's decline or error code, e.g. card_declined, insufficient_funds
    message: str = ""
    avs: str = ""
    cvc: str = ""
    brand: str = ""
    last_four: str = ""


class GatewayUnavailable(Exception):
    """The outcome is unknown (timeout, reset, lost response): repeat with the same idempotency key to learn it."""


class GatewayRejected(Exception):
    """The processor refused the request itself (nothing to capture, more than authorized, an unknown reference);
    the outcome is known and nothing moved."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code


class SignatureInvalid(Exception):
    """A webhook whose signature does not verify under the configured secret."""


@dataclass(frozen=True)
class WebhookEvent:
    """A verified notification from a gateway, reduced to what payments acts on."""

    gateway: str
    event_id: str
    kind: str  # authorized | captured | refunded | voided | failed | other
    reference: str  # the authorization it concerns
    amount: Money | None = None
    raw_type: str = ""
    details: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable  # plugins' adapters are checked when loaded (docs/guides/plugins.md)
class Gateway(Protocol):
    """A card processor. `name` is stored with every payment so later calls go to the same processor."""

    name: str

    def authorize(
        self, *, source: CardSource, amount: Money, idempotency_key: str, capture: bool = False
    ) -> GatewayResult:
        """Hold `amount` on the card (and take it at once when `capture`)."""
        ...

    def capture(self, *, reference: str, amount: Money, idempotency_key: str) -> GatewayResult:
        """Take part or all of what is still authorized; may be called several times."""
        ...

    def void(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        """Release what is authorized and not captured."""
        ...

    def refund(
        self, *, reference: str, amount: Money, idempotency_key: str, last_four: str = ""
    ) -> GatewayResult:
        """Give back part or all of what was captured; may be called several times."""
        ...

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify a notification's signature and read it.

        Raises:
            SignatureInvalid: the signature is missing, stale or wrong.
        """
        ...
