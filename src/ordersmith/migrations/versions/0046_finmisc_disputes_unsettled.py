"""Finance, issue 18 follow-ups (ADR 0040): card disputes (chargebacks) with their accounts and mapping rules, the
captures and refunds waiting for a processor's settlement (with the partial index the unsettled list and its daily
job read), settlement lines by the transaction they settle, and the QuickBooks Online customers ours map to.

Captures and refunds through a processor from the last 60 days that no settlement line matched are watched from
the upgrade on (older ones are history a person already reconciled by hand, or not at all: they are not listed).

Revision ID: 0046_finmisc
Revises: 0045_fincons
"""

import uuid
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from ordersmith.kernel.clock import utcnow
from ordersmith.platform.db import UTCDateTime

revision: str = "0046_finmisc"
down_revision: str | None = "0045_fincons"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Added to the default chart by this revision (finance.rules.DEFAULT_CHART / DEFAULT_MAPPINGS say the same).
_CHART = (
    ("1250", "Disputed card payments (chargebacks)", "asset"),
    ("6110", "Chargeback fees", "expense"),
    ("6150", "Chargeback losses", "expense"),
)
_MAPPINGS = (
    ("role", "disputes", "1250"),
    ("role", "dispute_fees", "6110"),
    ("role", "dispute_losses", "6150"),
)
_UNSETTLED = sa.text("settled_at IS NULL")


def _seed() -> None:
    bind = op.get_bind()
    accounts = sa.table(
        "finance_accounts",
        sa.column("id", sa.Uuid()),
        sa.column("code", sa.String()),
        sa.column("name", sa.String()),
        sa.column("type", sa.String()),
        sa.column("active", sa.Boolean()),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
        sa.column("version", sa.Integer()),
    )
    mappings = sa.table(
        "finance_account_mappings",
        sa.column("kind", sa.String()),
        sa.column("key", sa.String()),
        sa.column("account_code", sa.String()),
        sa.column("updated_at", UTCDateTime()),
    )
    have = set(bind.execute(sa.select(accounts.c.code)).scalars())
    at = utcnow()
    rows = [
        {"id": uuid.uuid5(uuid.NAMESPACE_OID, f"ordersmith.finance.account.{code}"), "code": code, "name": name,
         "type": kind, "active": True, "created_at": at, "updated_at": at, "version": 1}
        for code, name, kind in _CHART
        if code not in have
    ]  # fmt: skip
    if rows:
        op.bulk_insert(accounts, rows)
    mapped = {(r.kind, r.key) for r in bind.execute(sa.select(mappings.c.kind, mappings.c.key))}
    new = [
        {"kind": kind, "key": key, "account_code": code, "updated_at": at}
        for kind, key, code in _MAPPINGS
        if (kind, key) not in mapped
    ]
    if new:
        op.bulk_insert(mappings, new)


def _watch_recent() -> None:
    """Captures and refunds through a processor from the last 60 days that no settlement line matched."""
    since = utcnow() - timedelta(days=60)
    op.execute(
        sa.text(
            "INSERT INTO finance_settlement_watch (transaction_id, kind, order_id, payment_id, processor, reference,"
            " currency, amount_minor, at, settled_at, settlement, flagged_on)"
            " SELECT t.id, t.kind, t.order_id, t.payment_id, p.gateway,"
            " CASE WHEN t.transaction_reference <> '' THEN t.transaction_reference ELSE t.gateway_reference END,"
            " t.currency, t.amount_minor, t.at, NULL, NULL, NULL"
            " FROM payment_transactions t JOIN payments p ON p.order_id = t.order_id AND p.id = t.payment_id"
            " WHERE t.outcome = 'approved' AND t.at >= :since AND t.kind IN ('capture', 'refund')"
            " AND p.gateway <> '' AND t.amount_minor > 0"
            " AND NOT EXISTS (SELECT 1 FROM finance_settlement_lines l WHERE l.transaction_id = t.id"
            " AND l.status IN ('matched', 'amount_differs'))"
        ).bindparams(since=since)
    )


def upgrade() -> None:
    _seed()
    op.create_table(
        "finance_disputes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("processor", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("capture_reference", sa.String(length=100), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_returned_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=320), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "amount_minor > 0 AND fee_minor >= 0 AND fee_returned_minor >= 0",
            name="ck_finance_disputes_amounts",
        ),
        sa.CheckConstraint("status IN ('open', 'won', 'lost')", name="ck_finance_disputes_status"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("processor", "reference", name="uq_finance_disputes_reference"),
    )
    op.create_index("ix_finance_disputes_status", "finance_disputes", ["status", "opened_at", "id"])
    op.create_index("ix_finance_disputes_opened", "finance_disputes", ["opened_at", "id"])
    op.create_table(
        "finance_settlement_watch",
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("processor", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("settled_at", UTCDateTime(), nullable=True),
        sa.Column("settlement", sa.String(length=20), nullable=True),
        sa.Column("flagged_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("transaction_id"),
    )
    op.create_index(
        "ix_finance_settlement_watch_unsettled",
        "finance_settlement_watch",
        ["at", "transaction_id"],
        sqlite_where=_UNSETTLED,
        postgresql_where=_UNSETTLED,
    )
    unflagged = sa.text("settled_at IS NULL AND flagged_on IS NULL")
    op.create_index(
        "ix_finance_settlement_watch_unflagged",
        "finance_settlement_watch",
        ["at"],
        sqlite_where=unflagged,
        postgresql_where=unflagged,
    )
    op.create_index("ix_finance_settlement_lines_transaction", "finance_settlement_lines", ["transaction_id"])
    op.create_table(
        "ledger_customers",
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("customer_number", sa.String(length=20), nullable=False),
        sa.Column("remote_id", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=500), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("target", "customer_number"),
    )
    _watch_recent()


def downgrade() -> None:
    op.drop_table("ledger_customers")
    op.drop_index("ix_finance_settlement_lines_transaction", table_name="finance_settlement_lines")
    op.drop_index("ix_finance_settlement_watch_unflagged", table_name="finance_settlement_watch")
    op.drop_index("ix_finance_settlement_watch_unsettled", table_name="finance_settlement_watch")
    op.drop_table("finance_settlement_watch")
    op.drop_index("ix_finance_disputes_opened", table_name="finance_disputes")
    op.drop_index("ix_finance_disputes_status", table_name="finance_disputes")
    op.drop_table("finance_disputes")
    bind = op.get_bind()
    bind.execute(
        sa.text("DELETE FROM finance_account_mappings WHERE kind = 'role' AND key IN "
                "('disputes', 'dispute_fees', 'dispute_losses')")
    )  # fmt: skip
