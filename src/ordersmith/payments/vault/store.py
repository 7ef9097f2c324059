"""The card vault's own storage: its own database (a separate SQLite file by default, its own URL in production),
its own tables and its own access log — nothing in Ordersmith's main database ever holds a card number.

Invariant: a card number is stored only sealed (see `crypto`); it is returned only by `reveal`, which writes an
access-log row naming who asked and why before it answers.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ordersmith.kernel.clock import Clock, SystemClock
from ordersmith.payments import rules
from ordersmith.payments.gateways.port import RevealedCard
from ordersmith.payments.vault import crypto
from ordersmith.platform.db import UTCDateTime
from ordersmith.platform.files import private_sqlite


class VaultBase(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


class VaultCardRow(VaultBase):
    __tablename__ = "vault_cards"

    token: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    nonce: Mapped[bytes] = mapped_column(sa.LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    fingerprint: Mapped[str] = mapped_column(sa.String(64), index=True)
    brand: Mapped[str] = mapped_column(sa.String(20))
    last_four: Mapped[str] = mapped_column(sa.String(4))
    exp_month: Mapped[int]
    exp_year: Mapped[int]
    holder: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime]


class VaultAccessRow(VaultBase):
    __tablename__ = "vault_access_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(sa.String(64), index=True)
    action: Mapped[str] = mapped_column(sa.String(20))  # tokenized | revealed | rewrapped
    actor: Mapped[str] = mapped_column(sa.String(200))
    purpose: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime]


@dataclass(frozen=True)
class CardToken:
    token: str
    brand: str
    last_four: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class VaultKeys:
    current_id: str
    secrets: dict[str, str]  # key id -> secret (the current one and any still being rotated away from)
    fingerprint_secret: str

    def kek(self, key_id: str) -> bytes:
        if key_id not in self.secrets:
            raise LookupError(f"vault key {key_id!r} is not configured")
        return crypto.key_encryption_key(self.secrets[key_id], key_id)


class Vault:
    """Tokenize, reveal (audited) and re-key card numbers in the vault's own database."""

    def __init__(self, url: str, keys: VaultKeys, clock: Clock | None = None) -> None:
        private_sqlite(url)  # the vault's file owner-only (0600, its folder 0700)
        self.engine = sa.create_engine(url)
        if url.startswith("sqlite"):
            # WAL: one fsync per commit (the access log is written on every reveal), readers never blocked.
            sa.event.listen(self.engine, "connect", lambda conn, _: conn.execute("PRAGMA journal_mode=WAL"))
        self._create_tables()
        self.keys = keys
        self.clock = clock or SystemClock()
        self._lock = threading.Lock()
        # A CVC lives only here, in this process's memory, until the first authorization takes it (or it lapses):
        # PCI DSS forbids storing it after authorization, so it never reaches a table.
        self._cvcs: dict[str, tuple[str, float]] = {}
        self._cvc_lock = threading.Lock()  # its own: tokenize holds `_lock` while it may hold a CVC

    def hold_cvc(self, token: str, cvc: str, ttl_s: float = 900.0) -> None:
        """Keep a card's CVC in memory for its first authorization (at most `ttl_s`)."""
        with self._cvc_lock:
            now = time.monotonic()
            self._cvcs = {t: v for t, v in self._cvcs.items() if v[1] > now}
            self._cvcs[token] = (cvc, now + ttl_s)

    def _take_cvc(self, token: str) -> str:
        with self._cvc_lock:
            cvc, until = self._cvcs.pop(token, ("", 0.0))
        return cvc if until > time.monotonic() else ""

    def reveal_card(self, token: str, *, actor: str, purpose: str) -> RevealedCard:
        """The card as a gateway adapter sends it (number, expiry, and the CVC once); audited like `reveal`.

        Raises:
            LookupError: no such token.
        """
        number, exp_month, exp_year = self._open(token, actor=actor, purpose=purpose)
        return RevealedCard(number, exp_month, exp_year, self._take_cvc(token))

    def _create_tables(self) -> None:
        """The vault's own small schema. Processes starting together (two workers) may each find a table missing
        and one of their CREATEs then fails: what matters is that the tables exist, so check again."""
        for attempt in range(10):
            try:
                VaultBase.metadata.create_all(self.engine)
                return
            except sa.exc.DBAPIError:
                if attempt == 9:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def dispose(self) -> None:
        self.engine.dispose()

    def _log(self, conn: sa.Connection, token: str, action: str, actor: str, purpose: str) -> None:
        row = {
            "token": token,
            "action": action,
            "actor": actor,
            "purpose": purpose[:200],
            "at": self.clock.now(),
        }
        conn.execute(sa.insert(cast(sa.Table, VaultAccessRow.__table__)), row)

    def tokenize(
        self, *, number: str, exp_month: int, exp_year: int, holder: str = "", actor: str, cvc: str = ""
    ) -> CardToken:
        """Store a card and return its token with what may be shown (brand, last four, expiry). The same card
        (number and expiry) tokenized again returns its existing token.

        Raises:
            rules.CardInvalid: a number or expiry that cannot be a card's (the reason, never the number).
        """
        today: date = self.clock.now().date()
        digits, facts = rules.check_card(number, exp_month, exp_year, today)
        print_ = crypto.fingerprint(f"{digits}|{exp_month}|{exp_year}", self.keys.fingerprint_secret)
        with self._lock, self.engine.begin() as conn:
            existing = conn.execute(
                sa.select(VaultCardRow.token).where(VaultCardRow.fingerprint == print_)
            ).scalar()
            if existing is not None:
                if cvc:
                    self.hold_cvc(existing, cvc)
                return CardToken(existing, facts.brand, facts.last_four, exp_month, exp_year)
            token = "vtok_" + secrets.token_urlsafe(24)
            sealed = crypto.seal(digits, token, self.keys.kek(self.keys.current_id), self.keys.current_id)
            conn.execute(
                sa.insert(cast(sa.Table, VaultCardRow.__table__)),
                {
                    "token": token,
                    "key_id": sealed.key_id,
                    "wrapped_key": sealed.wrapped_key,
                    "nonce": sealed.nonce,
                    "ciphertext": sealed.ciphertext,
                    "fingerprint": print_,
                    "brand": facts.brand,
                    "last_four": facts.last_four,
                    "exp_month": exp_month,
                    "exp_year": exp_year,
                    "holder": holder[:200],
                    "created_at": self.clock.now(),
                },
            )
            self._log(conn, token, "tokenized", actor, "")
        if cvc:
            self.hold_cvc(token, cvc)
        return CardToken(token, facts.brand, facts.last_four, exp_month, exp_year)

    def card(self, token: str) -> CardToken | None:
        """What may be shown about a token (None: no such token)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(VaultCardRow).where(VaultCardRow.token == token)).first()
        return (
            None
            if row is None
            else CardToken(row.token, row.brand, row.last_four, row.exp_month, row.exp_year)
        )

    def reveal(self, token: str, *, actor: str, purpose: str) -> str:
        """The card number, for a gateway adapter only; every call is written to the access log first.

        Raises:
            LookupError: no such token.
        """
        return self._open(token, actor=actor, purpose=purpose)[0]

    def _open(self, token: str, *, actor: str, purpose: str) -> tuple[str, int, int]:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(VaultCardRow).where(VaultCardRow.token == token)).first()
            if row is None:
                raise LookupError("no such card token")
            self._log(conn, token, "revealed", actor, purpose)
        sealed = crypto.Sealed(row.key_id, row.wrapped_key, row.nonce, row.ciphertext)
        return crypto.open_sealed(sealed, token, self.keys.kek(row.key_id)), row.exp_month, row.exp_year

    def rotate(self, *, actor: str, batch: int = 500) -> int:
        """Re-wrap every data key not yet under the current key-encryption key, a batch per transaction (the
        vault keeps serving: records under an old key stay readable while its secret is configured). Returns how
        many records were re-wrapped."""
        current = self.keys.current_id
        new_kek = self.keys.kek(current)
        done = 0
        while True:
            with self._lock, self.engine.begin() as conn:
                rows = conn.execute(
                    sa.select(
                        VaultCardRow.token,
                        VaultCardRow.key_id,
                        VaultCardRow.wrapped_key,
                        VaultCardRow.nonce,
                        VaultCardRow.ciphertext,
                    )
                    .where(VaultCardRow.key_id != current)
                    .limit(batch)
                ).all()
                for row in rows:
                    sealed = crypto.Sealed(row.key_id, row.wrapped_key, row.nonce, row.ciphertext)
                    fresh = crypto.rewrap(sealed, row.token, self.keys.kek(row.key_id), new_kek, current)
                    cards = cast(sa.Table, VaultCardRow.__table__)
                    conn.execute(
                        sa.update(cards)
                        .where(cards.c.token == row.token, cards.c.key_id == row.key_id)
                        .values(key_id=current, wrapped_key=fresh.wrapped_key)
                    )
                    self._log(conn, row.token, "rewrapped", actor, f"{row.key_id} -> {current}")
                done += len(rows)
            if len(rows) < batch:
                return done

    def key_ids(self) -> dict[str, int]:
        """How many records each key-encryption key wraps."""
        with self.engine.connect() as conn:
            return {
                k: int(n)
                for k, n in conn.execute(
                    sa.select(VaultCardRow.key_id, sa.func.count()).group_by(VaultCardRow.key_id)
                )
            }
