"""What every payment use case shares: the wiring (gateway, vault, policies) kept with the database, the typed
payment and transaction views, the transaction log, and the order's payment status derived from its tenders."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ordersmith.kernel.errors import Conflict, NotFound, OrdersmithError
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.payments import rules
from ordersmith.payments.gateways import Gateway, RevealedCard, build_gateway
from ordersmith.payments.tables import PaymentRow, PaymentTransactionRow
from ordersmith.payments.vault import CardVault, open_vault
from ordersmith.payments.wallets import Wallet, build_wallet
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings

# --- errors -------------------------------------------------------------------------------------------------------


class PaymentDeclined(OrdersmithError):
    code = "payment_declined"
    status = 402
    title = "Payment declined"


class GatewayTimedOut(OrdersmithError):
    code = "gateway_unavailable"
    status = 503
    title = "The payment processor did not answer"


class RefundExceedsRefundable(Conflict):
    code = "refund_exceeds_refundable"
    title = "More than can be refunded"


class CaptureExceedsAuthorized(Conflict):
    code = "capture_exceeds_authorized"
    title = "More than is authorized"


class GiftCardBalanceInsufficient(Conflict):
    code = "gift_card_balance_insufficient"
    title = "Not enough on the gift card"


class TooManyRequests(OrdersmithError):
    code = "too_many_requests"
    status = 429
    title = "Too many requests"


# --- wiring ---------------------------------------------------------------------------------------------------------


class RateLimit:
    """At most `per_minute` calls per caller in any sliding minute (in this process)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, caller: str) -> None:
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(caller, deque())
            while calls and calls[0] <= now - 60:
                calls.popleft()
            if len(calls) >= self.per_minute:
                raise TooManyRequests("too many balance checks: wait a minute", retry_after_s=60)
            calls.append(now)


@dataclass
class Payments:
    """The payment wiring of one database: the gateway cards go to, the vault, the wallet that verifies PayPal
    tenders, and the policies."""

    gateway: Gateway
    vault: CardVault
    wallet: Wallet
    capture: str  # on_shipment | at_once
    decline: str  # refuse | hold
    code_secret: bytes  # keys the gift-card code digest
    balance_checks: RateLimit
    check_hold_above: Decimal | None = None  # a check above this holds its order until it clears
    credit_hold_overdue_days: int = 0  # an invoice this many days past due holds new orders on account

    def digest(self, code: str) -> str:
        return hmac.new(self.code_secret, code.encode(), hashlib.sha256).hexdigest()


_KEY = "payments"


def setup_payments(
    db: Database,
    settings: Settings,
    *,
    vault: CardVault | None = None,
    gateway: Gateway | None = None,
    wallet: Wallet | None = None,
) -> Payments:
    """Wire payments for `db` (once per process; the API, the worker, the CLI and tests call it at start)."""
    wired_vault = vault or open_vault(settings)

    def reveal(token: str, purpose: str) -> RevealedCard:
        return wired_vault.reveal_card(token, actor=f"gateway:{settings.payment_gateway}", purpose=purpose)

    wired = Payments(
        gateway=gateway or build_gateway(settings, reveal),
        vault=wired_vault,
        wallet=wallet or build_wallet(settings),
        capture=settings.payment_capture,
        decline=settings.payment_decline,
        code_secret=hashlib.sha256(
            b"gift-card-codes|" + settings.secret_key.get_secret_value().encode()
        ).digest(),
        balance_checks=RateLimit(settings.gift_card_balance_checks_per_minute),
        check_hold_above=settings.check_hold_above,
        credit_hold_overdue_days=settings.credit_hold_overdue_days,
    )
    db.caches[_KEY] = wired
    return wired


def wiring(uow: UnitOfWork) -> Payments:
    wired = uow.db.caches.get(_KEY)
    if wired is None:
        raise RuntimeError("payments are not set up for this database: call setup_payments at start")
    return wired  # type: ignore[no-any-return]


# --- views ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transaction:
    id: uuid.UUID
    kind: str
    amount: Money
    outcome: str
    gateway_reference: str
    transaction_reference: str
    reason_code: str
    reason: str
    idempotency_key: str
    return_id: uuid.UUID | None
    actor: str
    at: datetime


@dataclass(frozen=True)
class Payment:
    id: uuid.UUID
    order_id: uuid.UUID
    seq: int
    method: str
    status: str
    amount: Money
    authorized: Money
    captured: Money
    refunded: Money
    gateway: str
    reference: str
    brand: str
    last_four: str
    gift_card_id: uuid.UUID | None
    check_number: str
    check_bank: str
    check_status: str
    reason_code: str
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    transactions: tuple[Transaction, ...] = ()

    @property
    def capturable(self) -> Money:
        return self.authorized - self.captured

    @property
    def refundable(self) -> Money:
        return self.captured - self.refunded


def to_transaction(row: PaymentTransactionRow) -> Transaction:
    return Transaction(
        id=row.id,
        kind=row.kind,
        amount=Money.from_minor(row.amount_minor, row.currency),
        outcome=row.outcome,
        gateway_reference=row.gateway_reference,
        transaction_reference=row.transaction_reference,
        reason_code=row.reason_code,
        reason=row.reason,
        idempotency_key=row.idempotency_key,
        return_id=row.return_id,
        actor=row.actor,
        at=row.at,
    )


def to_payment(row: PaymentRow, transactions: list[PaymentTransactionRow] | None = None) -> Payment:
    def m(minor: int) -> Money:
        return Money.from_minor(minor, row.currency)

    return Payment(
        id=row.id,
        order_id=row.order_id,
        seq=row.seq,
        method=row.method,
        status=row.status,
        amount=m(row.amount_minor),
        authorized=m(row.authorized_minor),
        captured=m(row.captured_minor),
        refunded=m(row.refunded_minor),
        gateway=row.gateway,
        reference=row.reference,
        brand=row.brand,
        last_four=row.last_four,
        gift_card_id=row.gift_card_id,
        check_number=row.check_number,
        check_bank=row.check_bank,
        check_status=row.check_status,
        reason_code=row.reason_code,
        expires_at=row.expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        transactions=tuple(to_transaction(t) for t in transactions or ()),
    )


def payment_row(uow: UnitOfWork, payment_id: uuid.UUID | str, *, lock: bool = False) -> PaymentRow:
    """The payment by id (404 otherwise); `lock` takes its row lock (PostgreSQL)."""
    try:
        wanted = uuid.UUID(str(payment_id))
    except ValueError:
        raise NotFound(f"no payment {payment_id!r}") from None
    query = sa.select(PaymentRow).where(PaymentRow.id == wanted)
    if lock:
        query = query.with_for_update()
    row = uow.session.scalar(query)
    if row is None:
        raise NotFound(f"no payment {payment_id!r}")
    return row


def payments_of(uow: UnitOfWork, order_id: uuid.UUID) -> list[PaymentRow]:
    return list(
        uow.session.scalars(
            sa.select(PaymentRow).where(PaymentRow.order_id == order_id).order_by(PaymentRow.seq)
        )
    )


def transactions_of(uow: UnitOfWork, order_id: uuid.UUID) -> dict[uuid.UUID, list[PaymentTransactionRow]]:
    found: dict[uuid.UUID, list[PaymentTransactionRow]] = {}
    rows = uow.session.scalars(
        sa.select(PaymentTransactionRow)
        .where(PaymentTransactionRow.order_id == order_id)
        .order_by(PaymentTransactionRow.at, PaymentTransactionRow.id)
    )
    for row in rows:
        found.setdefault(row.payment_id, []).append(row)
    return found


# --- the log and the status -----------------------------------------------------------------------------------------


def log(
    uow: UnitOfWork,
    payment: PaymentRow,
    kind: str,
    amount_minor: int,
    outcome: str,
    *,
    key: str = "",
    gateway_reference: str = "",
    transaction_reference: str = "",
    reason_code: str = "",
    reason: str = "",
    return_id: uuid.UUID | None = None,
) -> PaymentTransactionRow:
    """Append a transaction to the payment's log (an outcome already known; see `gateway_calls` for pending)."""
    row = PaymentTransactionRow(
        order_id=payment.order_id,
        id=new_id(),
        payment_id=payment.id,
        kind=kind,
        amount_minor=amount_minor,
        currency=payment.currency,
        outcome=outcome,
        idempotency_key=key or f"auto:{new_id()}",
        gateway_reference=gateway_reference,
        transaction_reference=transaction_reference,
        reason_code=reason_code,
        reason=reason[:500],
        return_id=return_id,
        actor=uow.actor.label,
        at=uow.now(),
        resolved_at=uow.now() if outcome != "pending" else None,
    )
    uow.add_at_commit(row)  # written with the transaction's other rows, or before anything reads them
    return row


def tender_status(row: PaymentRow) -> str:
    """One tender's status from its amounts."""
    if row.status in ("failed", "voided", "pending_review") and row.captured_minor == 0:
        return row.status
    if row.refunded_minor:
        return "refunded" if row.refunded_minor >= row.captured_minor else "partially_refunded"
    if row.captured_minor:
        return "captured" if row.captured_minor >= row.amount_minor else "partially_captured"
    if row.authorized_minor:
        return "authorized"
    return row.status


def touch(uow: UnitOfWork, row: PaymentRow) -> None:
    row.status = tender_status(row)
    row.updated_at = uow.now()
    row.version += 1


def refresh_order_status(uow: UnitOfWork, order_id: uuid.UUID, *, total: Money | None = None) -> str:
    """Derive the order's payment status from its tenders and record it on the order."""
    rows = payments_of(uow, order_id)
    if total is None:
        total = orders.get_order(uow, ref=str(order_id)).total
    zero = Money.zero(total.currency)
    live = [r for r in rows if r.status not in ("failed", "voided")]

    def summed(name: str) -> Money:
        return sum((Money.from_minor(getattr(r, name), r.currency) for r in live), zero)

    status = rules.payment_status(
        total,
        summed("authorized_minor"),
        summed("captured_minor"),
        summed("refunded_minor"),
        failed=any(r.status == "failed" for r in rows),
    )
    orders.set_payment_status(uow, order_id=order_id, status=status, detail={})
    return status


def emit(uow: UnitOfWork, kind: str, payment: PaymentRow, amount_minor: int, **extra: Any) -> None:
    uow.emit(
        kind,
        {
            "payment_id": str(payment.id),
            "order_id": str(payment.order_id),
            "method": payment.method,
            "amount": str(Money.from_minor(amount_minor, payment.currency).amount),
            "currency": payment.currency,
            **extra,
        },
    )
