"""Payment tables: the tenders of each order (`payments`) and their append-only transaction log, gift cards and
their ledger, invoices on account with the payments applied to them, each customer's open balance on account, and
the gateway notifications already handled.

Invariants (CHECK constraints, so no code path can break them): captured ≤ authorized, refunded ≤ captured, every
amount ≥ 0; a gift card's balance never below zero; an invoice never paid beyond its total; the open balance on
account never below zero. Tables owned by an order carry `order_id` in their primary key (Citus co-location).
No table here holds a card number: cards are vault tokens, brand and last four.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class PaymentRow(Base):
    __tablename__ = "payments"
    __table_args__ = (
        sa.CheckConstraint(
            "authorized_minor >= 0 AND captured_minor >= 0 AND refunded_minor >= 0 AND amount_minor >= 0",
            name="ck_payments_amounts",
        ),
        sa.CheckConstraint("captured_minor <= authorized_minor", name="ck_payments_captured"),
        sa.CheckConstraint("refunded_minor <= captured_minor", name="ck_payments_refunded"),
        sa.Index("ix_payments_id", "id"),
        sa.Index("ix_payments_reference", "gateway", "reference"),
        sa.Index("ix_payments_check_status", "method", "check_status"),
        # One wallet payment (a PayPal order id) pays one tender, once: a verified reference cannot pay twice.
        sa.Index(
            "ux_payments_wallet_reference",
            "method",
            "reference",
            unique=True,
            sqlite_where=sa.text("method = 'paypal' AND status <> 'failed'"),
            postgresql_where=sa.text("method = 'paypal' AND status <> 'failed'"),
        ),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int]  # the tender's place in the order's payment instructions
    method: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20))
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)  # what this tender is to pay
    authorized_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    captured_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refunded_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    gateway: Mapped[str] = mapped_column(
        sa.String(20), default=""
    )  # "" for tenders Ordersmith settles itself
    reference: Mapped[str] = mapped_column(sa.String(100), default="")  # the gateway's authorization
    token: Mapped[str] = mapped_column(
        sa.String(200), default=""
    )  # vault or gateway token; never a card number
    brand: Mapped[str] = mapped_column(sa.String(20), default="")
    last_four: Mapped[str] = mapped_column(sa.String(4), default="")
    gift_card_id: Mapped[uuid.UUID | None]
    customer_id: Mapped[uuid.UUID | None]  # on account: whose balance it is
    check_number: Mapped[str] = mapped_column(sa.String(40), default="")
    check_bank: Mapped[str] = mapped_column(sa.String(100), default="")
    check_status: Mapped[str] = mapped_column(
        sa.String(20), default=""
    )  # received | deposited | cleared | bounced
    reason_code: Mapped[str] = mapped_column(sa.String(60), default="")  # the last decline's
    expires_at: Mapped[datetime | None]  # when the authorization lapses
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class PaymentTransactionRow(Base):
    """One gateway or ledger operation on a payment. Append-only: a pending row gets its outcome once (pending →
    approved | declined | failed), nothing else is ever updated."""

    __tablename__ = "payment_transactions"
    __table_args__ = (
        sa.UniqueConstraint(
            "order_id", "payment_id", "kind", "idempotency_key", name="uq_payment_transactions_key"
        ),
        sa.Index("ix_payment_transactions_payment", "payment_id", "at"),
        sa.Index("ix_payment_transactions_pending", "outcome", "at"),
        sa.Index("ix_payment_transactions_transaction_ref", "transaction_reference"),
        sa.Index("ix_payment_transactions_gateway_ref", "gateway_reference"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    payment_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(
        sa.String(20)
    )  # authorization | capture | void | refund | webhook | check_*
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    outcome: Mapped[str] = mapped_column(sa.String(20))  # pending | approved | declined | failed
    idempotency_key: Mapped[str] = mapped_column(sa.String(200))
    gateway_reference: Mapped[str] = mapped_column(sa.String(100), default="")
    transaction_reference: Mapped[str] = mapped_column(sa.String(100), default="")
    reason_code: Mapped[str] = mapped_column(sa.String(60), default="")
    reason: Mapped[str] = mapped_column(sa.String(500), default="")  # a refund's reason
    return_id: Mapped[uuid.UUID | None]
    actor: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class GiftCardRow(Base):
    __tablename__ = "gift_cards"
    __table_args__ = (
        sa.CheckConstraint("balance_minor >= 0", name="ck_gift_cards_balance"),
        sa.Index("ix_gift_cards_customer", "customer_id"),
        # The expiry job reads only active cards that have an expiry date; the liability check only cards that
        # hold value (ADR 0030).
        sa.Index(
            "ix_gift_cards_expiring",
            "expires_on",
            sqlite_where=sa.text("status = 'active' AND expires_on IS NOT NULL"),
            postgresql_where=sa.text("status = 'active' AND expires_on IS NOT NULL"),
        ),
        sa.Index(
            "ix_gift_cards_outstanding",
            "kind",
            "currency",
            "balance_minor",
            sqlite_where=sa.text("balance_minor > 0 AND status <> 'inactive'"),
            postgresql_where=sa.text("balance_minor > 0 AND status <> 'inactive'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code_digest: Mapped[str] = mapped_column(
        sa.String(64), unique=True
    )  # keyed hash: the code is a bearer secret
    last_four: Mapped[str] = mapped_column(sa.String(4))
    kind: Mapped[str] = mapped_column(sa.String(20))  # gift_card | store_credit
    status: Mapped[str] = mapped_column(sa.String(20))  # inactive | active | expired | void
    currency: Mapped[str] = mapped_column(sa.String(3))
    balance_minor: Mapped[int] = mapped_column(sa.BigInteger)
    initial_minor: Mapped[int] = mapped_column(sa.BigInteger)
    customer_id: Mapped[uuid.UUID | None]
    sold_on_order: Mapped[uuid.UUID | None]
    expires_on: Mapped[date | None]
    issued_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class GiftCardLedgerRow(Base):
    """Every change to a gift card's balance, append-only; the balance always equals the sum of its rows."""

    __tablename__ = "gift_card_ledger"
    __table_args__ = (sa.Index("ix_gift_card_ledger_card", "gift_card_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    gift_card_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(
        sa.String(20)
    )  # issued | activated | redeemed | reloaded | refunded | voided
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)  # signed: + in, - out
    balance_after_minor: Mapped[int] = mapped_column(sa.BigInteger)
    order_id: Mapped[uuid.UUID | None]
    payment_id: Mapped[uuid.UUID | None]
    actor: Mapped[str] = mapped_column(sa.String(200))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    at: Mapped[datetime]


class InvoiceRow(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        sa.CheckConstraint("paid_minor >= 0 AND paid_minor <= total_minor", name="ck_invoices_paid"),
        sa.Index("ix_invoices_customer", "customer_id", "issued_on"),
        sa.Index("ix_invoices_status", "status", "due_on"),
        sa.Index("ix_invoices_customer_open", "customer_id", "status", "due_on"),
        # The overdue job reads only open invoices it has not flagged yet, by due date (ADR 0030).
        sa.Index(
            "ix_invoices_due_unflagged",
            "due_on",
            sqlite_where=sa.text("status = 'open' AND overdue_on IS NULL"),
            postgresql_where=sa.text("status = 'open' AND overdue_on IS NULL"),
        ),
        sa.CheckConstraint(
            "written_off_minor >= 0 AND written_off_minor <= paid_minor", name="ck_invoices_written_off"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(index=True)
    order_number: Mapped[str] = mapped_column(sa.String(20))
    payment_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID]
    customer_number: Mapped[str] = mapped_column(sa.String(20))
    terms: Mapped[str] = mapped_column(sa.String(40))
    currency: Mapped[str] = mapped_column(sa.String(3))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(
        sa.JSON
    )  # sku, name, quantity, unit price, amount, tax
    merchandise_minor: Mapped[int] = mapped_column(sa.BigInteger)
    shipping_minor: Mapped[int] = mapped_column(sa.BigInteger)
    tax_minor: Mapped[int] = mapped_column(sa.BigInteger)
    total_minor: Mapped[int] = mapped_column(sa.BigInteger)
    paid_minor: Mapped[int] = mapped_column(
        sa.BigInteger, default=0
    )  # settled: paid, credited or written off
    written_off_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    status: Mapped[str] = mapped_column(sa.String(20))  # open | paid | written_off | void
    issued_on: Mapped[date]
    due_on: Mapped[date]
    overdue_on: Mapped[date | None]  # the day the overdue job found it past due (NULL: not, or not yet)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)


class InvoicePaymentRow(Base):
    __tablename__ = "invoice_payments"

    invoice_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    method: Mapped[str] = mapped_column(sa.String(20))  # check | transfer | card | cash | credit |
    # unapplied_cash (a customer's credit applied) | write_off
    reference: Mapped[str] = mapped_column(sa.String(100), default="")
    received_on: Mapped[date]
    actor: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime]


class AccountBalanceRow(Base):
    """What a customer owes on account (authorized, not yet paid): checked against the credit limit with one
    conditional UPDATE, so two orders at once cannot both pass a limit only one of them fits."""

    __tablename__ = "account_balances"
    __table_args__ = (sa.CheckConstraint("open_minor >= 0", name="ck_account_balances_open"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    open_minor: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[datetime]


class GatewayNotificationRow(Base):
    """A gateway notification already handled (webhooks are delivered at least once)."""

    __tablename__ = "gateway_notifications"

    gateway: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    reference: Mapped[str] = mapped_column(sa.String(100))
    received_at: Mapped[datetime]
