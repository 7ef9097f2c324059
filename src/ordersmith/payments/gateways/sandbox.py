"""The sandbox processor: a card processor of our own that behaves like a real one, for development, demos and
tests — never for real money. It keeps its books in its own small SQLite file (so `serve` and `worker` processes
see the same authorizations), answers by the test card used, dedupes every call by idempotency key, expires
authorizations, and signs its webhooks.

`SandboxGateway` reaches it in-process; `sandbox_http` serves it over loopback HTTP, where tests inject faults.

Test cards (any future expiry, any CVC):

| number | outcome |
|---|---|
| 4242 4242 4242 4242, 5555 5555 5555 4444, 3782 822463 10005 | approved |
| 4000 0000 0000 0002 | declined `card_declined` |
| 4000 0000 0000 9995 | declined `insufficient_funds` |
| 4000 0000 0000 0127 | declined `incorrect_cvc` |
| 4000 0000 0000 0010 | declined `avs_mismatch` |
| 4000 0000 0000 0069 | declined `expired_card` |
| 4000 0000 0000 0119 | declined `processing_error` |
| 4000 0000 0000 0556 | approved, but answers in the first minute are lost (a timeout); later the same key learns it |

Gateway tokens (as a web shop's hosted fields would send): `pm_card_visa` approves, `pm_card_chargeDeclined`
and `pm_card_chargeDeclinedInsufficientFunds` decline, `pm_card_timeout` loses the answer.

Invariant: the processor never stores a card number — only its brand and last four digits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ordersmith.kernel.clock import utcnow
from ordersmith.kernel.money import Money
from ordersmith.payments import rules
from ordersmith.payments.gateways.port import (
    CardSource,
    GatewayRejected,
    GatewayResult,
    GatewayUnavailable,
    Reveal,
    SignatureInvalid,
    WebhookEvent,
)
from ordersmith.platform.files import private_file

AUTHORIZATION_LIFETIME_S = 7 * 24 * 3600
SIGNATURE_TOLERANCE_S = 300
SIGNATURE_HEADER = "Sandbox-Signature"
LOST_ANSWER_S = 60  # a slow card's answers are lost for this long after its first attempt

DECLINES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000127": "incorrect_cvc",
    "4000000000000010": "avs_mismatch",
    "4000000000000069": "expired_card",
    "4000000000000119": "processing_error",
}
TIMEOUT_CARD = "4000000000000556"
GATEWAY_TOKENS = {
    "pm_card_visa": ("visa", "4242", ""),
    "pm_card_mastercard": ("mastercard", "4444", ""),
    "pm_card_chargeDeclined": ("visa", "0002", "card_declined"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995", "insufficient_funds"),
    "pm_card_timeout": ("visa", "0556", "timeout"),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS charges (
  id TEXT PRIMARY KEY, currency TEXT NOT NULL, authorized INTEGER NOT NULL, captured INTEGER NOT NULL,
  refunded INTEGER NOT NULL, status TEXT NOT NULL, brand TEXT NOT NULL, last_four TEXT NOT NULL,
  authorized_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS operations (
  id TEXT PRIMARY KEY, charge_id TEXT NOT NULL, kind TEXT NOT NULL, amount INTEGER NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, response TEXT NOT NULL);
"""


class SandboxProcessor:
    """The processor's books and rules. Thread- and process-safe: each call is one `BEGIN IMMEDIATE` transaction
    on the sandbox's own SQLite file."""

    def __init__(self, path: str | Path, *, webhook_secret: str = "", now: Callable[[], float] | None = None):
        self.path = str(path)
        if self.path != ":memory:":
            private_file(Path(self.path))  # the processor's books, owner-only (0600, its folder 0700)
        self.webhook_secret = webhook_secret
        self._now = now or (lambda: utcnow().timestamp())
        self.clock_offset_s = 0.0  # tests move the processor's clock to expire authorizations
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)  # its own transaction

    def now(self) -> float:
        return self._now() + self.clock_offset_s

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # a sandbox: durable across crashes, not power loss
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, kind: object, *_: object) -> None:
            self.conn.execute("ROLLBACK" if kind else "COMMIT")

    def _begin(self) -> SandboxProcessor._Tx:
        return SandboxProcessor._Tx(self._connection())

    # --- the operations --------------------------------------------------------------------------------------

    def _replayed(self, conn: sqlite3.Connection, key: str) -> dict[str, Any] | None:
        row = conn.execute("SELECT response FROM idempotency WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row["response"]))

    def _remember(self, conn: sqlite3.Connection, key: str, answer: dict[str, Any]) -> dict[str, Any]:
        conn.execute("INSERT INTO idempotency (key, response) VALUES (?, ?)", (key, json.dumps(answer)))
        return answer

    def authorize(
        self, *, card: str, amount_minor: int, currency: str, idempotency_key: str, capture: bool = False
    ) -> dict[str, Any]:
        """Authorize (and with `capture`, take) an amount on a card number or sandbox gateway token. The answer
        is a dict: approved, reference, reason_code, brand, last_four, lost (the caller must not see it)."""
        with self._begin() as conn:
            replay = self._replayed(conn, "authorize:" + idempotency_key)
            if replay is not None:  # the first answer again; a slow card's stays lost for its first minute
                return {**replay, "lost": self.now() < float(replay.get("lost_until", 0))}
            if card in GATEWAY_TOKENS:
                brand, last_four, outcome = GATEWAY_TOKENS[card]
            elif card.isdigit() and rules.luhn_valid(card):
                brand = rules.card_brand(card) or "unknown"
                last_four = card[-4:]
                outcome = "timeout" if card == TIMEOUT_CARD else DECLINES.get(card, "")
            else:
                brand, last_four, outcome = "unknown", "", "invalid_card"
            reference = "ch_" + secrets.token_hex(12)
            answer: dict[str, Any] = {
                "approved": outcome in ("", "timeout"),
                "reference": reference,
                "reason_code": "" if outcome == "timeout" else outcome,
                "brand": brand,
                "last_four": last_four,
                "amount_minor": amount_minor,
                "currency": currency,
                "transaction": reference,
            }
            if answer["approved"]:
                now = self.now()
                conn.execute(
                    "INSERT INTO charges VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
                    (
                        reference,
                        currency,
                        amount_minor,
                        amount_minor if capture else 0,
                        "captured" if capture else "authorized",
                        brand,
                        last_four,
                        now,
                        now + AUTHORIZATION_LIFETIME_S,
                    ),
                )
                conn.execute(
                    "INSERT INTO operations VALUES (?, ?, ?, ?, ?)",
                    (reference, reference, "authorization" if not capture else "sale", amount_minor, now),
                )
            if outcome == "timeout":
                answer["lost_until"] = self.now() + LOST_ANSWER_S
            self._remember(conn, "authorize:" + idempotency_key, answer)
        return {**answer, "lost": outcome == "timeout"}

    def _charge(self, conn: sqlite3.Connection, reference: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM charges WHERE id = ?", (reference,)).fetchone()
        if row is None:
            raise GatewayRejected("resource_missing", f"no such charge {reference}")
        return row  # type: ignore[no-any-return]

    def _operate(
        self, kind: str, reference: str, key: str, change: Callable[[sqlite3.Connection, sqlite3.Row], int]
    ) -> dict[str, Any]:
        """One operation on a charge: the first answer under `key` again, or `change` (which checks the charge,
        updates it and returns the amount moved) recorded as an operation and remembered under the key."""
        with self._begin() as conn:
            replay = self._replayed(conn, f"{kind}:{key}")
            if replay is not None:
                return replay
            charge = self._charge(conn, reference)
            amount = change(conn, charge)
            transaction = f"{kind[:3]}_{secrets.token_hex(12)}"
            conn.execute(
                "INSERT INTO operations VALUES (?, ?, ?, ?, ?)",
                (transaction, reference, kind, amount, self.now()),
            )
            answer = {
                "approved": True,
                "reference": reference,
                "transaction": transaction,
                "amount_minor": amount,
                "currency": charge["currency"],
                "reason_code": "",
            }
            return self._remember(conn, f"{kind}:{key}", answer)

    def capture(self, *, reference: str, amount_minor: int, idempotency_key: str) -> dict[str, Any]:
        def take(conn: sqlite3.Connection, charge: sqlite3.Row) -> int:
            if charge["status"] == "voided":
                raise GatewayRejected("charge_voided", "the authorization was voided")
            if charge["captured"] == 0 and charge["expires_at"] < self.now():
                raise GatewayRejected("authorization_expired", "the authorization has expired")
            if amount_minor <= 0 or charge["captured"] + amount_minor > charge["authorized"]:
                raise GatewayRejected("amount_too_large", "more than is authorized and not captured")
            conn.execute(
                "UPDATE charges SET captured = captured + ?, status = 'captured' WHERE id = ?",
                (amount_minor, reference),
            )
            return amount_minor

        return self._operate("capture", reference, idempotency_key, take)

    def void(self, *, reference: str, idempotency_key: str) -> dict[str, Any]:
        def release(conn: sqlite3.Connection, charge: sqlite3.Row) -> int:
            if (
                charge["status"] not in ("authorized", "captured")
                or charge["authorized"] == charge["captured"]
            ):
                raise GatewayRejected("nothing_to_void", "nothing authorized is left to release")
            conn.execute(
                "UPDATE charges SET authorized = captured, status = CASE WHEN captured = 0 THEN 'voided' "
                "ELSE status END WHERE id = ?",
                (reference,),
            )
            return int(charge["authorized"] - charge["captured"])

        return self._operate("void", reference, idempotency_key, release)

    def refund(self, *, reference: str, amount_minor: int, idempotency_key: str) -> dict[str, Any]:
        def give_back(conn: sqlite3.Connection, charge: sqlite3.Row) -> int:
            if amount_minor <= 0 or charge["refunded"] + amount_minor > charge["captured"]:
                raise GatewayRejected("amount_too_large", "more than was captured and not refunded")
            conn.execute("UPDATE charges SET refunded = refunded + ? WHERE id = ?", (amount_minor, reference))
            return amount_minor

        return self._operate("refund", reference, idempotency_key, give_back)

    # --- what tests and the operator read ----------------------------------------------------------------------

    def charge(self, reference: str) -> dict[str, Any] | None:
        row = self._connection().execute("SELECT * FROM charges WHERE id = ?", (reference,)).fetchone()
        return None if row is None else dict(row)

    def operations(self, reference: str, kind: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM operations WHERE charge_id = ? AND (? IS NULL OR kind = ?) ORDER BY at"
        params = (reference, kind, kind)
        return [dict(r) for r in self._connection().execute(sql, params).fetchall()]

    # --- webhooks ------------------------------------------------------------------------------------------------

    def signed_webhook(
        self, payload: Mapping[str, Any], *, at: float | None = None
    ) -> tuple[dict[str, str], bytes]:
        """A webhook as the sandbox sends it: the body and its `Sandbox-Signature` header (HMAC-SHA256 over
        `<timestamp>.<body>`, the scheme Stripe uses)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        stamp = int(at if at is not None else self.now())
        digest = hmac.new(
            self.webhook_secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        return {SIGNATURE_HEADER: f"t={stamp},v1={digest}"}, body


def verify_signature(secret: str, header: str, body: bytes, now: float, tolerance_s: int) -> None:
    """Check a `t=…,v1=…` HMAC-SHA256 signature over `<t>.<body>` (Stripe's scheme, also the sandbox's).

    Raises:
        SignatureInvalid: no secret configured, a malformed or missing header, a stale timestamp, no matching v1.
    """
    if not secret:
        raise SignatureInvalid("no webhook secret is configured for this gateway")
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k.strip() == "t"]
    signatures = [v.strip() for k, v in parts if k.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit() or not signatures:
        raise SignatureInvalid("malformed signature header")
    stamp = int(stamps[0])
    if abs(now - stamp) > tolerance_s:
        raise SignatureInvalid("the signature's timestamp is outside the tolerance")
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureInvalid("no signature matches")


def _result(answer: Mapping[str, Any]) -> GatewayResult:
    return GatewayResult(
        approved=bool(answer["approved"]),
        reference=str(answer["reference"]),
        amount=Money.from_minor(int(answer["amount_minor"]), str(answer["currency"])),
        transaction=str(answer.get("transaction", "")),
        reason_code=str(answer.get("reason_code", "")),
        brand=str(answer.get("brand", "")),
        last_four=str(answer.get("last_four", "")),
    )


WEBHOOK_KINDS = {
    "charge.authorized": "authorized",
    "charge.captured": "captured",
    "charge.refunded": "refunded",
    "charge.voided": "voided",
    "charge.failed": "failed",
    "charge.dispute.created": "disputed",
    "charge.dispute.closed": "dispute_closed",
}


def read_webhook(
    gateway: str, secret: str, headers: Mapping[str, str], body: bytes, now: float
) -> WebhookEvent:
    """Verify and read a sandbox webhook: `{"id", "type", "data": {"reference", "amount_minor", "currency"}}`; a
    dispute's also carries `dispute` (its id), `fee_minor`, `reason` and, once closed, `status` (won | lost)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    verify_signature(secret, lowered.get(SIGNATURE_HEADER.lower(), ""), body, now, SIGNATURE_TOLERANCE_S)
    try:
        payload = json.loads(body)
        data = payload["data"]
        amount = (
            Money.from_minor(int(data["amount_minor"]), str(data["currency"]))
            if "amount_minor" in data
            else None
        )
        return WebhookEvent(
            gateway=gateway,
            event_id=str(payload["id"]),
            raw_type=str(payload["type"]),
            kind=WEBHOOK_KINDS.get(str(payload["type"]), "other"),
            reference=str(data["reference"]),
            amount=amount,
            details={k: str(data[k]) for k in ("dispute", "fee_minor", "reason", "status") if k in data},
        )
    except (ValueError, KeyError, TypeError) as bad:
        raise SignatureInvalid("the signed body is not a sandbox event") from bad


class SandboxGateway:
    """The sandbox processor in-process. Card numbers come from the vault (`reveal`, audited) only here."""

    name = "sandbox"

    def __init__(self, processor: SandboxProcessor, reveal: Reveal) -> None:
        self.processor = processor
        self._reveal = reveal

    def authorize(
        self, *, source: CardSource, amount: Money, idempotency_key: str, capture: bool = False
    ) -> GatewayResult:
        card = self._reveal(source.token, "authorize").number if source.in_vault else source.token
        answer = self.processor.authorize(
            card=card,
            amount_minor=amount.minor,
            currency=amount.currency,
            idempotency_key=idempotency_key,
            capture=capture,
        )
        del card
        if answer["lost"]:
            raise GatewayUnavailable("the sandbox processor's answer was lost (test card 4000000000000556)")
        return _result(answer)

    def capture(self, *, reference: str, amount: Money, idempotency_key: str) -> GatewayResult:
        return _result(
            self.processor.capture(
                reference=reference, amount_minor=amount.minor, idempotency_key=idempotency_key
            )
        )

    def void(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        return _result(self.processor.void(reference=reference, idempotency_key=idempotency_key))

    def refund(
        self, *, reference: str, amount: Money, idempotency_key: str, last_four: str = ""
    ) -> GatewayResult:
        return _result(
            self.processor.refund(
                reference=reference, amount_minor=amount.minor, idempotency_key=idempotency_key
            )
        )

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        return read_webhook(self.name, self.processor.webhook_secret, headers, body, self.processor.now())


def result_dict(result: GatewayResult) -> dict[str, Any]:
    """A result as JSON-friendly values (the HTTP sandbox's wire format)."""
    answer = asdict(result)
    answer["amount_minor"], answer["currency"] = result.amount.minor, result.amount.currency
    del answer["amount"]
    return answer
