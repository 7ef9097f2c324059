"""The sandbox wallet: a PayPal of our own that behaves like the real one, for development, demos and tests —
never for real money. It keeps its books in its own small SQLite file (mode 0600, so `serve` and `worker`
processes see the same orders), issues PayPal-shaped order ids (17 upper-case letters and digits), and answers
`verify` by the same rules as `PayPalWallet`: only an order that is completed and captured for exactly the
amount verifies.

A sandbox order's life: `create_order` (the buyer has approved it: status APPROVED, nothing captured), then
`complete` (the shop captures it: status COMPLETED, the whole amount captured). `sandbox_paid_order(settings,
amount)` does both: the reference a demo or a test puts in a `{"method": "paypal", "reference": …}` tender.

The books open on first use, so wiring payments creates no file until a PayPal tender is asked about.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import string
import threading
from collections.abc import Callable
from pathlib import Path

from ordersmith.kernel.clock import utcnow
from ordersmith.kernel.money import Money
from ordersmith.payments.wallets.port import WalletCheck, is_order_id, judge, not_found
from ordersmith.platform.settings import Settings

_ALPHABET = string.ascii_uppercase + string.digits
SANDBOX_PAYER = "buyer@sandbox.example"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS wallet_orders (
  id TEXT PRIMARY KEY, currency TEXT NOT NULL, amount_minor INTEGER NOT NULL, status TEXT NOT NULL,
  captured_minor INTEGER NOT NULL, payer TEXT NOT NULL, created_at REAL NOT NULL, completed_at REAL);
"""


class SandboxWallet:
    """The sandbox wallet's books and rules. Thread- and process-safe: each write is one `BEGIN IMMEDIATE`
    transaction on its own SQLite file."""

    name = "sandbox"

    def __init__(self, path: str | Path, *, now: Callable[[], float] | None = None) -> None:
        self.path = str(path)
        self._now = now or (lambda: utcnow().timestamp())
        self._local = threading.local()
        self._ready = False
        self._ready_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SandboxWallet({self.path!r})"

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._ready_lock:
            if not self._ready and self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))  # before SQLite makes it 0644
                os.chmod(self.path, 0o600)  # also a file an older version made
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")  # its -wal and -shm files take the database file's mode
            conn.row_factory = sqlite3.Row
            if not self._ready:
                conn.executescript(_SCHEMA)
                self._ready = self.path != ":memory:"  # every in-memory connection is a database of its own
        self._local.conn = conn
        return conn

    def create_order(self, amount: Money, *, payer: str = SANDBOX_PAYER) -> str:
        """A new order the buyer has approved (status APPROVED, nothing captured yet); returns its id."""
        if amount.amount <= 0:
            raise ValueError("a sandbox PayPal order needs a positive amount")
        reference = "".join(secrets.choice(_ALPHABET) for _ in range(17))
        self._connection().execute(
            "INSERT INTO wallet_orders VALUES (?, ?, ?, 'APPROVED', 0, ?, ?, NULL)",
            (reference, amount.currency, amount.minor, payer, self._now()),
        )
        return reference

    def complete(self, reference: str) -> None:
        """Capture the whole of an approved order (status COMPLETED), as the shop does at PayPal.

        Raises:
            LookupError: no such sandbox order.
            ValueError: the order is already captured.
        """
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT status FROM wallet_orders WHERE id = ?", (reference,)).fetchone()
            if row is None:
                raise LookupError(f"no sandbox PayPal order {reference!r}")
            if row["status"] != "APPROVED":
                raise ValueError(f"sandbox PayPal order {reference} is {row['status']}, not APPROVED")
            conn.execute(
                "UPDATE wallet_orders SET status = 'COMPLETED', captured_minor = amount_minor, completed_at = ? "
                "WHERE id = ?",
                (self._now(), reference),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def verify(self, *, reference: str, amount: Money) -> WalletCheck:
        if not is_order_id(reference):
            return not_found(reference)
        row = self._connection().execute("SELECT * FROM wallet_orders WHERE id = ?", (reference,)).fetchone()
        if row is None:
            return not_found(reference)
        captured = int(row["captured_minor"])
        return judge(
            reference,
            amount,
            completed=row["status"] == "COMPLETED",
            captures=[Money.from_minor(captured, str(row["currency"]))] if captured else [],
            payer=str(row["payer"]),
        )


def sandbox_paid_order(settings: Settings, amount: Money) -> str:
    """A completed sandbox PayPal order for exactly `amount`, in the books `settings.sandbox_wallet_path` names:
    the reference a demo or a test puts in a `{"method": "paypal", "reference": …}` tender.

    Raises:
        ValueError: the configured wallet is not the sandbox (the reference would never verify).
    """
    if settings.wallet != "sandbox":
        raise ValueError("ORDERSMITH_WALLET is not the sandbox: a sandbox PayPal order would never verify")
    wallet = SandboxWallet(settings.sandbox_wallet_path)
    reference = wallet.create_order(amount)
    wallet.complete(reference)
    return reference
